//! The M/M/c benchmark: c = 50, lambda = 45/s, mu = 1/s, through `rentree::world::run` — the same code path
//! as `rentree run` (scenario file parsed, world built, events handled, summary and timeseries assembled),
//! reported in events per second.
//!
//! Run: `cargo bench --bench mmc`. The model is `models/textbook/mmc-bench.toml` with the horizon shortened
//! to 10,000 s (about 900,000 events) so criterion can take several samples.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rentree::scenario::{Override, Scenario};
use std::path::Path;

fn mmc(c: &mut Criterion) {
    let model = rentree::builtin::find("models/textbook/mmc-bench.toml").expect("built-in benchmark model");
    let horizon = Override::parse("scenario.horizon_s=10000.0").expect("valid override");
    let scenario = Scenario::from_toml(model.text, Path::new(model.path), &[horizon]).expect("valid model");
    let events = rentree::world::run(&scenario, 1, 0).expect("M/M/c runs").events;
    let mut group = c.benchmark_group("mmc");
    group.throughput(Throughput::Elements(events));
    group.bench_function("c50_lambda45_mu1", |b| b.iter(|| rentree::world::run(&scenario, 1, 0).expect("M/M/c runs")));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(8));
    targets = mmc
}
criterion_main!(benches);
