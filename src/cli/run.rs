//! `rentree run`: one run of a scenario, its minute rows streamed to its results folder.

use super::{budget_with_rows, Outcome, RunArgs};
use crate::output::{self, Manifest, MetricUncertainty, PosteriorNote};
use crate::scenario::{Scenario, Source};
use crate::sweep::calibrate::Posterior;
use crate::world;
use crate::world::budget::Rows;
use crate::world::{MinuteSink, SinkError};
use anyhow::Context;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Runs the scenario once and writes its results folder.
pub(super) fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let posterior = args.posterior.as_deref().map(Posterior::load).transpose()?;
    let mut resolved = args.source.source()?;
    let mut overrides = args.source.overrides.clone();
    if let Some(p) = &posterior {
        let median = p.median_overrides();
        overrides.extend(median.iter().map(|o| format!("{} (posterior median)", o.assignment)));
        resolved = resolved.with(median);
    }
    let (scenario, source) = (resolved.scenario()?, resolved.label().to_owned());
    let disk_bytes = args.max_disk.map(|mib| mib as f64 * 1024.0 * 1024.0).or_else(|| output::disk_available_bytes(&args.out));
    let limits = budget_with_rows(&args.budget, 1, (Rows::Disk, disk_bytes))?
        .check(&scenario)
        .map_err(|message| crate::Error::TooLarge { path: source.clone().into(), message })?;
    // Fail on an unusable output directory before spending time simulating.
    output::ensure_dir(&args.out)?;
    if let Some(w) = &scenario.scale_warning() {
        tell!("warning: {source}: {w}");
    }
    let started = Instant::now();
    let watch = Arc::new(Watch::new(&scenario, world::components(&scenario).len(), std::io::stderr().is_terminal()));
    // The minute rows stream to spill files in the results folder as the run makes them, so that the memory
    // a run holds does not grow with its horizon.
    let (report, watched) = world::run_streamed(&scenario, args.seed, 0, &limits, |k| {
        output::MinuteSpill::create(&args.out).map(|spill| Watched { inner: spill, component: k, watch: Arc::clone(&watch) })
    })
    .map_err(|e| e.into_error(source.clone().into(), ""))?;
    watch.bar.finish_and_clear();
    let mut spills: Vec<output::MinuteSpill> = watched.into_iter().map(|w| w.inner).collect();
    let wall_s = started.elapsed().as_secs_f64();
    let as_shipped = posterior.is_none() && args.source.variant.is_none() && args.source.overrides.is_empty();
    let mut manifest = manifest_of(&scenario, &resolved, overrides, args.seed, &report, wall_s, as_shipped);
    if let Some(p) = &posterior {
        manifest.posterior = Some(uncertainty(p, &args, &resolved, &report, &limits)?);
    }
    let written = output::write_run(&args.out, &report, &mut spills, &mut manifest, args.format.into())
        .with_context(|| format!("writing results of {source}"))?;
    let s = &report.summary;
    if s.users > 0 {
        tell!(
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
        tell!(
            "{}: {} arrivals, {} served, {} abandoned, {} blocked; mean wait {:.4} s, p95 {:.4} s; utilization {:.3}",
            scenario.name,
            s.arrivals,
            s.served,
            s.abandoned,
            s.blocked,
            s.mean_wait_s,
            s.p95_wait_s,
            s.utilization
        );
    }
    tell!("{} events in {:.2} s ({:.1} M events/s)", report.events, wall_s, manifest.events_per_s / 1e6);
    if let Some(note) = &manifest.posterior {
        let headline: &[&str] = if s.users > 0 {
            &["served_share_by_0900", "served_share_by_1200", "p95_time_to_access_s"]
        } else {
            &["mean_wait_s", "utilization"]
        };
        tell!(
            "over the calibration's posterior ({} draws on this run's streams; the simulation's own noise from {} replications at the median):",
            note.draws,
            note.noise_replications + 1
        );
        for m in note.metrics.iter().filter(|m| headline.contains(&m.metric.as_str())) {
            tell!(
                "  {}: {} (90% credible interval {} to {} over the calibrated unknowns; ± {} from the simulation's own noise, one sd)",
                m.metric,
                figure(m.value),
                figure(m.credible_lo),
                figure(m.credible_hi),
                figure(m.noise_sd)
            );
        }
    }
    if let Some(note) = &manifest.calibrated {
        let headline = ["accessed", "served_share_by_0900", "served_share_by_1200", "p95_time_to_access_s"];
        tell!(
            "calibrated to the day's reported figures ({}: {} posterior-predictive runs at scale {}), 90% intervals{}:",
            note.calibration,
            note.predictive_runs,
            note.calibration_scale,
            if args.source.scale == 1.0 { String::new() } else { format!(" (counts at this run's scale, {})", args.source.scale) }
        );
        for m in note.metrics.iter().filter(|m| headline.contains(&m.metric.as_str())) {
            let show = |x: f64| if m.metric.starts_with("served_share") { format!("{:.1}%", 100.0 * x) } else { figure(x) };
            tell!("  {}: {} here; calibrated {} to {} (median {})", m.metric, show(m.value), show(m.q05), show(m.q95), show(m.median));
        }
    }
    for p in written {
        say!("{}", p.display());
    }
    Ok(Outcome::Success)
}

/// The manifest of a run of `scenario` (resolved from `resolved`, with `overrides` as the manifest lists them)
/// that made `report` in `wall_s` seconds; without its `run_id` and `files`, which writing sets. A built-in
/// model run `as_shipped` (no variant, override or posterior: they change what was calibrated) quotes the
/// calibration shipped with it.
fn manifest_of(
    scenario: &Scenario,
    resolved: &Source,
    overrides: Vec<String>,
    seed: u64,
    report: &world::RunReport,
    wall_s: f64,
    as_shipped: bool,
) -> Manifest {
    let mut manifest = Manifest {
        rentree_version: env!("CARGO_PKG_VERSION").into(),
        run_id: String::new(),
        scenario: scenario.name.clone(),
        scenario_source: resolved.label().to_owned(),
        scenario_sha256: scenario.hash_hex(),
        overrides,
        seed,
        scale: resolved.scale(),
        replication: 0,
        horizon_s: scenario.horizon.as_secs_f64(),
        warmup_s: scenario.warmup.as_secs_f64(),
        events: report.events,
        wall_s,
        events_per_s: report.events as f64 / wall_s.max(1e-9),
        peak_rss_mib: output::peak_rss_mib(),
        faithful_scale: scenario.faithful_scale,
        scale_warning: scenario.scale_warning(),
        files: Vec::new(),
        posterior: None,
        calibrated: None,
    };
    if as_shipped {
        if let Some(shipped) = crate::sweep::calibrate::ShippedCalibration::for_scenario(resolved.text()) {
            manifest.calibrated = Some(shipped.note(resolved.scale(), |m| report.summary.value(m)));
        }
    }
    manifest
}

/// A run kept in memory with the manifest `rentree run` would write beside its tables: what the Python
/// package's `rentree.run` returns. [`Kept::write`] writes its folder with the command's own writer.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The run's report, its minute rows kept (not streamed to disk).
    pub report: world::RunReport,
    /// Its manifest, `run_id` that of the Parquet tables and `files` empty until written.
    pub manifest: Manifest,
}

impl Kept {
    /// Writes the run's folder as `rentree run --out DIR --format FORMAT` does; returns the paths written,
    /// the manifest last.
    pub fn write(&self, dir: &std::path::Path, format: output::Format) -> crate::Result<Vec<std::path::PathBuf>> {
        let mut manifest = self.manifest.clone();
        output::write_run(dir, &self.report, &mut [], &mut manifest, format)
    }

    /// The run's tables as the bytes of the Parquet files [`Kept::write`] writes, as (stem, bytes):
    /// `summary`, `timeseries` and, for scenarios with sessions, `access`.
    pub fn parquet_tables(&self) -> crate::Result<Vec<(&'static str, Vec<u8>)>> {
        let err = |e: polars::prelude::PolarsError| crate::Error::Write { path: "(memory)".into(), message: e.to_string() };
        output::run_tables(&self.report)
            .map_err(err)?
            .into_iter()
            .map(|(stem, mut df)| Ok((stem, output::parquet_bytes(&mut df, &self.manifest.run_id).map_err(err)?)))
            .collect()
    }
}

/// Runs the scenario `resolved` (its variant, overrides and scale applied; `overrides` as the manifest lists
/// them) once with master seed `seed`, keeping its rows in memory, within the memory available now: `rentree
/// run` without its files. `as_shipped` as for the manifest (no variant or override).
pub fn run_kept(resolved: &Source, overrides: Vec<String>, seed: u64, as_shipped: bool) -> anyhow::Result<Kept> {
    let scenario = resolved.scenario()?;
    let limits = budget_with_rows(&super::BudgetArgs::default(), 1, (Rows::Memory, None))?
        .check(&scenario)
        .map_err(|message| crate::Error::TooLarge { path: resolved.label().into(), message })?;
    let started = Instant::now();
    let report = world::run_with(&scenario, seed, 0, &limits).map_err(|e| e.into_error(resolved.label().into(), ""))?;
    let wall_s = started.elapsed().as_secs_f64();
    let mut manifest = manifest_of(&scenario, resolved, overrides, seed, &report, wall_s, as_shipped);
    manifest.run_id = output::run_id_of(&manifest, output::Format::Parquet);
    Ok(Kept { report, manifest })
}

/// What a run shows on a terminal while it runs (nothing when stderr is piped): the simulated clock, the
/// events handled so far, their rate, and the time left. The components of a run (groups of pools that share
/// nothing) advance side by side, some waiting for a thread: the clock shown is their mean, the events the sum
/// of all.
struct Watch {
    /// The bar, in simulated minutes up to the horizon (hidden when stderr is not a terminal).
    bar: indicatif::ProgressBar,
    /// Each component's simulated clock, whole seconds from t = 0.
    clock_s: Vec<AtomicU64>,
    /// Each component's events so far.
    events: Vec<AtomicU64>,
    /// Seconds after midnight of t = 0, for the clock shown.
    clock_start_s: f64,
    /// When the run started, for the event rate.
    started: Instant,
}

impl Watch {
    fn new(scenario: &crate::scenario::Scenario, components: usize, visible: bool) -> Watch {
        let horizon_min = (scenario.horizon.as_secs_f64() / 60.0).ceil() as u64;
        let bar = if visible {
            let b = indicatif::ProgressBar::new(horizon_min);
            b.set_style(indicatif::ProgressStyle::with_template("{bar:30} {msg}  ETA {eta}").expect("static progress template"));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        Watch {
            bar,
            clock_s: (0..components).map(|_| AtomicU64::new(0)).collect(),
            events: (0..components).map(|_| AtomicU64::new(0)).collect(),
            clock_start_s: scenario.clock_start_s,
            started: Instant::now(),
        }
    }

    /// Component `k` reached `now_s` after `events` events.
    fn update(&self, k: usize, now_s: f64, events: u64) {
        if self.bar.is_hidden() {
            return;
        }
        self.clock_s[k].store(now_s as u64, Ordering::Relaxed);
        self.events[k].store(events, Ordering::Relaxed);
        let clock_s = self.clock_s.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>() / self.clock_s.len().max(1) as u64;
        let total: u64 = self.events.iter().map(|e| e.load(Ordering::Relaxed)).sum();
        let rate = total as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let wall = (self.clock_start_s + clock_s as f64).round() as u64;
        self.bar.set_position(clock_s / 60);
        self.bar.set_message(format!(
            "{:02}:{:02}  {:.1} M events  {:.1} M/s",
            (wall / 3600) % 24,
            (wall / 60) % 60,
            total as f64 / 1e6,
            rate / 1e6
        ));
    }
}

/// A component's spill file, telling the [`Watch`] how far the component has got.
struct Watched<S> {
    inner: S,
    component: usize,
    watch: Arc<Watch>,
}

impl<S: MinuteSink> MinuteSink for Watched<S> {
    fn take(&mut self, rows: &[(u32, crate::metrics::MinuteRow)]) -> Result<(), SinkError> {
        self.inner.take(rows)
    }

    fn progress(&mut self, now_s: f64, events: u64) {
        self.watch.update(self.component, now_s, events);
    }
}

/// A figure with four significant digits.
fn figure(x: f64) -> String {
    if !x.is_finite() {
        return "undefined".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = (3 - x.abs().max(1e-12).log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.digits$}")
}

/// The runs of `run --posterior` beside the main one: `--draws` at posterior draws on the main run's streams
/// (common random numbers), and `--noise-replications` at the median on further streams; each summary
/// metric's credible interval over the first and its single-run noise over the second (with the main run).
fn uncertainty(
    posterior: &Posterior,
    args: &RunArgs,
    median: &Source,
    report: &world::RunReport,
    limits: &world::Limits,
) -> anyhow::Result<PosteriorNote> {
    use rayon::prelude::*;
    let base = args.source.source()?;
    let draws = posterior.draws(args.draws as usize, args.seed);
    let origin = |what: String| -> std::path::PathBuf { format!("--posterior {} ({what})", posterior.dir.display()).into() };
    // (scenario, replication) of every further run: the draws on replication 0, then the median's.
    let mut jobs = Vec::new();
    for (i, d) in draws.into_iter().enumerate() {
        let scenario = base.scenario_with(&d).map_err(|e| crate::Error::Invalid {
            path: posterior.dir.clone(),
            field: format!("--posterior (draw {i})"),
            found: e.to_string(),
            expected: "a calibration whose parameters are fields of this run's scenario".into(),
        })?;
        jobs.push((scenario, 0));
    }
    let at_median = median.scenario()?;
    for r in 1..=args.noise_replications {
        jobs.push((at_median.clone(), r));
    }
    let reports = jobs
        .par_iter()
        .map(|(scenario, r)| world::run_with(scenario, args.seed, *r, limits).map_err(|e| e.into_error(origin("runs".into()), "")))
        .collect::<Result<Vec<_>, _>>()?;
    let (at_draws, at_median) = reports.split_at(args.draws as usize);
    use crate::metrics::Column;
    let metrics = crate::metrics::SummaryColumn::metrics()
        .map(|m| {
            let value = report.summary.value(m).unwrap_or(f64::NAN);
            let over: Vec<(f64, f64)> =
                at_draws.iter().filter_map(|r| r.summary.value(m)).filter(|x| x.is_finite()).map(|x| (x, 1.0)).collect();
            let noise: Vec<f64> =
                std::iter::once(value).chain(at_median.iter().filter_map(|r| r.summary.value(m))).filter(|x| x.is_finite()).collect();
            let mean = noise.iter().sum::<f64>() / noise.len().max(1) as f64;
            let noise_sd = if noise.len() > 1 {
                (noise.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (noise.len() - 1) as f64).sqrt()
            } else {
                f64::NAN
            };
            MetricUncertainty {
                metric: m.name().to_owned(),
                value,
                credible_lo: crate::decide::abc::weighted_quantile(over.clone(), 0.05),
                credible_hi: crate::decide::abc::weighted_quantile(over, 0.95),
                noise_sd,
            }
        })
        .collect();
    Ok(PosteriorNote {
        calibration: posterior.dir.display().to_string(),
        calibration_run_id: posterior.run_id.clone(),
        draws: args.draws as usize,
        noise_replications: args.noise_replications as usize,
        metrics,
    })
}
