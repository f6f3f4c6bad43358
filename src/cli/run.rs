//! `rentree run`: one run of a scenario, its minute rows streamed to its results folder.

use super::{budget_with_rows, Outcome, RunArgs};
use anyhow::Context;
use rentree::output::{self, Manifest};
use rentree::world;
use rentree::world::budget::Rows;
use std::time::Instant;

/// Runs the scenario once and writes its results folder.
pub(super) fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let resolved = args.source.source()?;
    let (scenario, source) = (resolved.scenario()?, resolved.label().to_owned());
    let disk_bytes = args.max_disk.map(|mib| mib as f64 * 1024.0 * 1024.0).or_else(|| output::disk_available_bytes(&args.out));
    let limits = budget_with_rows(&args.budget, 1, (Rows::Disk, disk_bytes))?
        .check(&scenario)
        .map_err(|message| rentree::Error::TooLarge { path: source.clone().into(), message })?;
    // Fail on an unusable output directory before spending time simulating.
    output::ensure_dir(&args.out)?;
    let scale_warning = scenario.scale_warning();
    if let Some(w) = &scale_warning {
        eprintln!("warning: {source}: {w}");
    }
    let started = Instant::now();
    // The minute rows stream to spill files in the results folder as the run makes them, so that the memory
    // a run holds does not grow with its horizon.
    let (report, mut spills) = world::run_streamed(&scenario, args.seed, 0, &limits, |_| output::MinuteSpill::create(&args.out))
        .map_err(|e| e.into_error(source.clone().into(), ""))?;
    let wall_s = started.elapsed().as_secs_f64();
    let mut manifest = Manifest {
        rentree_version: env!("CARGO_PKG_VERSION").into(),
        run_id: String::new(),
        scenario: scenario.name.clone(),
        scenario_source: source.clone(),
        scenario_sha256: scenario.hash_hex(),
        overrides: args.source.overrides.clone(),
        seed: args.seed,
        scale: args.source.scale,
        replication: 0,
        horizon_s: scenario.horizon.as_secs_f64(),
        warmup_s: scenario.warmup.as_secs_f64(),
        events: report.events,
        wall_s,
        events_per_s: report.events as f64 / wall_s.max(1e-9),
        peak_rss_mib: output::peak_rss_mib(),
        faithful_scale: scenario.faithful_scale,
        scale_warning,
        files: Vec::new(),
    };
    let written = output::write_run(&args.out, &report, &mut spills, &mut manifest, args.format.into())
        .with_context(|| format!("writing results of {source}"))?;
    let s = &report.summary;
    if s.users > 0 {
        eprintln!(
            "{}: {} users, {} got in ({:.1}% by 9:00, {:.1}% by noon), p95 time to access {:.0} s, {:.2} requests per session, {} gave up",
            scenario.name,
            s.users,
            s.accessed,
            100.0 * s.served_share_by_0900,
            100.0 * s.served_share_by_1200,
            s.p95_time_to_access_s,
            s.amplification,
            s.gave_up
        );
    } else {
        eprintln!(
            "{}: {} arrivals, {} served, {} abandoned, {} blocked; mean wait {:.4} s, p95 {:.4} s; utilization {:.3}",
            scenario.name, s.arrivals, s.served, s.abandoned, s.blocked, s.mean_wait_s, s.p95_wait_s, s.utilization
        );
    }
    eprintln!("{} events in {:.2} s ({:.1} M events/s)", report.events, wall_s, manifest.events_per_s / 1e6);
    for p in written {
        println!("{}", p.display());
    }
    Ok(Outcome::Success)
}
