//! Hold cost of the pending-event set (pop the earliest event, push one a random delay later) at 1k, 1M and
//! 10M pending events, for rentree's radix heap and for `std::collections::BinaryHeap` with the same FIFO
//! tie-break (a sequence number in the key), so the report shows the ratio at each size.
//!
//! Run: `cargo bench --bench queue`. Delays are exponential (mean 1 s in microseconds), drawn once up front
//! so the benchmark measures the queue, not the random number generator.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use rentree::engine::{EventQueue, SimTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

/// Pre-drawn delays in microseconds; a power of two so the index wraps with a mask.
const DELAYS: usize = 1 << 20;

fn delays() -> Vec<u64> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
    let exp = Exp::new(1e-6).expect("positive rate");
    (0..DELAYS).map(|_| exp.sample(&mut rng) as u64).collect()
}

/// A payload the size of a real event: the world's events are 8 bytes in the queue (`world::PackedEvent`).
type Payload = u64;

fn radix_prefilled(n: usize, d: &[u64]) -> EventQueue<Payload> {
    let mut q = EventQueue::new();
    for i in 0..n {
        q.push(SimTime(d[i % DELAYS]), i as u64);
    }
    q
}

fn heap_prefilled(n: usize, d: &[u64]) -> BinaryHeap<Reverse<(u64, u64, Payload)>> {
    let mut h = BinaryHeap::with_capacity(n + 1);
    for i in 0..n {
        h.push(Reverse((d[i % DELAYS], i as u64, i as u64)));
    }
    h
}

fn hold(c: &mut Criterion) {
    let d = delays();
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(1));
    for &n in &[1_000usize, 1_000_000, 10_000_000] {
        group.bench_with_input(BenchmarkId::new("radix_heap", n), &n, |b, &n| {
            let mut q = radix_prefilled(n, &d);
            let mut i = 0usize;
            b.iter(|| {
                let (t, e) = q.pop().expect("never empty");
                i = (i + 1) & (DELAYS - 1);
                q.push(SimTime(t.0 + d[i]), black_box(e));
            });
        });
        group.bench_with_input(BenchmarkId::new("std_binary_heap", n), &n, |b, &n| {
            let mut h = heap_prefilled(n, &d);
            let mut i = 0usize;
            let mut seq = n as u64;
            b.iter(|| {
                let Reverse((t, _, e)) = h.pop().expect("never empty");
                i = (i + 1) & (DELAYS - 1);
                seq += 1;
                h.push(Reverse((t + d[i], seq, black_box(e))));
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4)).warm_up_time(std::time::Duration::from_secs(1));
    targets = hold
}
criterion_main!(benches);
