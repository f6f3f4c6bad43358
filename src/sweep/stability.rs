//! `rentree stability`: does each configuration come back by itself after a trigger, and how fast?
//!
//! The experiment's design gives the configurations (e.g. a grid of load × trigger size × policy), each one
//! carrying a trigger; its `[stability]` table names the platform judged, when the trigger ends, the
//! criterion of recovery and the overrides that remove the trigger. Every configuration runs beside its
//! *baseline twin* (the same configuration with those overrides) on the same random streams, so that the
//! twins differ by the trigger alone. A triggered run's recovery time is read against its twin minute by
//! minute ([`crate::decide::recovery`]); over the replications each configuration gets the share of runs
//! that never recovered within the horizon, the median recovery time, both with intervals, and a class:
//! stable, vulnerable (recovers, but later than `slow_s`) or metastable (does not recover).
//!
//! The runs are a sweep of the twins (configurations `0..n` triggered, `n..2n` their baselines, a
//! `stability_run` column telling them apart): the same part files, `--resume`, `--jobs` byte-identity and
//! Slurm stage. The folder holds the sweep's tables (the minute means of both twins are the recovery curves
//! the briefing draws) with `stability.parquet` (per configuration), `stability_runs.parquet` (each
//! triggered run's recovery time) and the study in the manifest.

use super::experiment::{Config, Experiment, RawStability};
use super::{merge_with, prepare, run_batch, Addition, Note, Prepared, RunRecord, SweepInvocation};
use crate::decide::recovery::{self, Criterion, Minute, Recovery, Verdict};
use crate::error::{Error, Result};
use crate::metrics::{Field, MinuteColumn};
use crate::scenario::Override;
use crate::world;
use serde::Serialize;
use std::path::PathBuf;

/// The table a stability study adds to its folder.
pub const STABILITY_TABLE: &str = "stability.parquet";

/// The table of each triggered run's recovery, one row per (configuration, replication).
pub const STABILITY_RUNS_TABLE: &str = "stability_runs.parquet";

/// The parameter column that tells a triggered run from its baseline twin.
pub const RUN_COLUMN: &str = "stability_run";

/// Options of `rentree stability`.
#[derive(Debug, Clone)]
pub struct StabilityOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Skip runs already written.
    pub resume: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// The budget of one run.
    pub budget: world::budget::Budget,
    /// Run the runs as a Slurm job array instead of on local threads.
    pub cluster: Option<super::slurm::StageCluster>,
}

/// One configuration's stability.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigStability {
    /// Configuration index (of the experiment's design).
    pub config: usize,
    /// Its label.
    pub label: String,
    /// Its parameters.
    pub params: Vec<(String, String)>,
    /// Recovery time of each replication, seconds after the removal (`None`: not recovered).
    pub times_s: Vec<Option<f64>>,
    /// The users the trigger sent to the orbit in each replication (the largest excess over the twin's).
    pub peak_excess_orbit: Vec<f64>,
    /// The users the trigger sent to the orbit: the largest excess of the run's orbit over its twin's, mean
    /// over replications.
    pub mean_peak_excess_orbit: f64,
    /// Minutes after the removal in which each replication was collapsed (goodput under `band` of its
    /// twin's while the twin served; [`recovery::collapsed_minutes`]).
    pub collapsed_min: Vec<usize>,
    /// Their mean over replications.
    pub mean_collapsed_min: f64,
    /// The summary and class.
    pub verdict: Verdict,
}

/// What a stability study adds to its folder's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct StabilityNote {
    /// The platform judged.
    pub platform: String,
    /// When the trigger ends, seconds from the start.
    pub removal_s: f64,
    /// The tolerance, a share.
    pub band: f64,
    /// Minutes in a row within the band.
    pub hold_minutes: usize,
    /// The longest recovery called stable, seconds.
    pub slow_s: f64,
    /// The overrides that make each configuration's baseline twin.
    pub baseline: Vec<String>,
    /// Configurations studied (each with its twin).
    pub configurations: usize,
    /// Replications per configuration.
    pub replications: u64,
    /// Configurations classed stable, vulnerable, metastable.
    pub stable: usize,
    /// See `stable`.
    pub vulnerable: usize,
    /// See `stable`.
    pub metastable: usize,
}

/// What a stability study did.
#[derive(Debug, Clone)]
pub struct StabilityOutcome {
    /// Per configuration, in design order.
    pub configs: Vec<ConfigStability>,
    /// The note written in the manifest.
    pub note: StabilityNote,
    /// Runs executed by this invocation.
    pub executed: u64,
    /// Runs found already finished and skipped.
    pub skipped: u64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Files written (tables, then `manifest.json`).
    pub files: Vec<PathBuf>,
}

/// The experiment of the twins: the design's configurations (triggered), then each one's baseline twin, each
/// validated (`rentree validate` calls it, so a baseline that breaks a scenario is found before any run).
pub fn twins(experiment: &Experiment, st: &RawStability) -> Result<Experiment> {
    let path = &experiment.path;
    let origin = format!("{}, [stability] baseline", path.display());
    let baseline: Vec<Override> = st.baseline.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
    let n = experiment.configs.len();
    let mut configs: Vec<Config> = Vec::with_capacity(2 * n);
    for c in &experiment.configs {
        let mut params = c.params.clone();
        params.push((RUN_COLUMN.into(), "triggered".into()));
        configs.push(Config { params, ..c.clone() });
    }
    for c in &experiment.configs {
        let overrides: Vec<Override> = c.overrides.iter().chain(&baseline).cloned().collect();
        let scenario = experiment.base.scenario_with(&overrides).map_err(|e| Error::Invalid {
            path: path.clone(),
            field: format!("stability.baseline (the twin of configuration {} ({}))", c.index, c.label),
            found: e.to_string(),
            expected: "overrides that leave a valid scenario once the configuration's own are applied".into(),
        })?;
        let mut params = c.params.clone();
        params.push((RUN_COLUMN.into(), "baseline".into()));
        configs.push(Config {
            index: n + c.index,
            label: format!("{} (baseline)", c.label),
            params,
            overrides,
            scenario,
            stream_offset: c.stream_offset,
        });
    }
    let mut param_names = experiment.param_names.clone();
    param_names.push(RUN_COLUMN.into());
    Ok(Experiment { configs, param_names, ..experiment.clone() })
}

/// The minutes of `platform` in a run's record.
fn minutes_of(record: &RunRecord, platform: &str) -> Vec<Minute> {
    let at = |c: MinuteColumn| super::TIMESERIES_METRICS.iter().position(|&m| m == c).expect("a timeseries metric");
    let (g, o) = (at(MinuteColumn::goodput), at(MinuteColumn::mean_orbit));
    record.timeseries.iter().filter(|(p, _, _)| p == platform).map(|(_, _, v)| Minute { goodput: v[g], orbit: v[o] }).collect()
}

/// Runs the stability study of `experiment` (which must have a `[stability]` table).
pub fn stability(experiment: &Experiment, options: &StabilityOptions) -> Result<StabilityOutcome> {
    let started = std::time::Instant::now();
    let path = &experiment.path;
    let Some(st) = experiment.raw.stability.clone() else {
        return Err(Error::Invalid {
            path: path.clone(),
            field: "stability".into(),
            found: "no [stability] table".into(),
            expected: "a [stability] table: the platform judged, removal_s, and the baseline overrides that remove the trigger".into(),
        });
    };
    let design = twins(experiment, &st)?;
    let n = experiment.configs.len();
    let hold_minutes = (st.hold_s / 60.0).ceil() as usize;
    let criterion = Criterion { from_minute: (st.removal_s / 60.0).ceil() as usize, band: st.band, hold_minutes };
    let baseline: Vec<String> = st.baseline.iter().map(|(p, v)| format!("{p}={v}")).collect();
    let description = format!(
        "stability platform={} removal_s={} band={} hold_minutes={hold_minutes} slow_s={} baseline={}",
        st.platform,
        st.removal_s,
        st.band,
        st.slow_s,
        baseline.join(";")
    );
    let out = &options.out;
    let Prepared { limits, sha, .. } = prepare(&design, out, options.resume, false, &options.budget, &description)?;
    // One batch: every run of every configuration and twin, in (configuration, replication) order.
    let reps_each = design.replications();
    let mut reps = vec![0; design.configs.len()];
    let batch: Vec<(usize, u64)> = (0..design.configs.len()).flat_map(|c| (0..reps_each).map(move |r| (c, r))).collect();
    let (records, executed, skipped) =
        run_batch(&design, out, &sha, &mut reps, &batch, (options.jobs, options.progress), &limits, options.cluster.as_ref())?;
    let record = |c: usize, r: u64| &records[c * reps_each as usize + r as usize];
    let mut configs = Vec::with_capacity(n);
    for c in &experiment.configs {
        let mut times_s = Vec::new();
        let mut peaks = Vec::new();
        let mut collapsed = Vec::new();
        for r in 0..reps_each {
            let (run, twin) = (minutes_of(record(c.index, r), &st.platform), minutes_of(record(n + c.index, r), &st.platform));
            peaks.push(recovery::peak_excess_orbit(&run, &twin));
            collapsed.push(recovery::collapsed_minutes(&run, &twin, &criterion));
            times_s.push(match recovery::recovery(&run, &twin, &criterion) {
                Recovery::At(m) => Some((m as f64 * 60.0 - st.removal_s).max(0.0)),
                Recovery::Censored => None,
            });
        }
        let verdict = recovery::verdict(&times_s, st.slow_s);
        configs.push(ConfigStability {
            config: c.index,
            label: c.label.clone(),
            params: c.params.clone(),
            times_s,
            mean_peak_excess_orbit: peaks.iter().sum::<f64>() / peaks.len() as f64,
            peak_excess_orbit: peaks,
            mean_collapsed_min: collapsed.iter().sum::<usize>() as f64 / collapsed.len() as f64,
            collapsed_min: collapsed,
            verdict,
        });
    }
    let count = |k: recovery::Class| configs.iter().filter(|c| c.verdict.class == k).count();
    let note = StabilityNote {
        platform: st.platform.clone(),
        removal_s: st.removal_s,
        band: st.band,
        hold_minutes,
        slow_s: st.slow_s,
        baseline,
        configurations: n,
        replications: design.replications(),
        stable: count(recovery::Class::Stable),
        vulnerable: count(recovery::Class::Vulnerable),
        metastable: count(recovery::Class::Metastable),
    };
    // Unbounded ends (past the horizon, or too few runs to bound a median) are written as NaN.
    let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
    let rows = configs
        .iter()
        .map(|c| {
            let v = &c.verdict;
            let mut row: Vec<(String, Field)> =
                vec![("config".into(), Field::U64(c.config as u64)), ("label".into(), Field::Str(c.label.clone()))];
            for (name, value) in &c.params {
                row.push((name.clone(), Field::Str(value.clone())));
            }
            row.push(("class".into(), Field::Str(v.class.name().into())));
            row.push(("replications".into(), Field::U64(v.runs as u64)));
            row.push(("not_recovered".into(), Field::U64(v.not_recovered as u64)));
            row.push(("p_not_recovered".into(), Field::F64(v.p_not_recovered.0)));
            row.push(("p_not_recovered_lo".into(), Field::F64(v.p_not_recovered.1)));
            row.push(("p_not_recovered_hi".into(), Field::F64(v.p_not_recovered.2)));
            row.push(("median_recovery_s".into(), Field::F64(finite(v.median_s.0))));
            row.push(("median_recovery_s_lo".into(), Field::F64(finite(v.median_s.1))));
            row.push(("median_recovery_s_hi".into(), Field::F64(finite(v.median_s.2))));
            row.push(("mean_recovery_s".into(), Field::F64(v.mean_recovered_s)));
            row.push(("mean_peak_excess_orbit".into(), Field::F64(c.mean_peak_excess_orbit)));
            row.push(("mean_collapsed_min".into(), Field::F64(c.mean_collapsed_min)));
            row
        })
        .collect();
    let run_rows = configs
        .iter()
        .flat_map(|c| {
            c.times_s.iter().zip(&c.peak_excess_orbit).zip(&c.collapsed_min).enumerate().map(move |(r, ((t, peak), collapsed))| {
                let mut row: Vec<(String, Field)> =
                    vec![("config".into(), Field::U64(c.config as u64)), ("label".into(), Field::Str(c.label.clone()))];
                for (name, value) in &c.params {
                    row.push((name.clone(), Field::Str(value.clone())));
                }
                row.push(("replication".into(), Field::U64(r as u64)));
                row.push(("recovered".into(), Field::U64(u64::from(t.is_some()))));
                // NaN (null) for a run censored at the horizon.
                row.push(("recovery_s".into(), Field::F64(t.unwrap_or(f64::NAN))));
                row.push(("peak_excess_orbit".into(), Field::F64(*peak)));
                row.push(("collapsed_min".into(), Field::U64(*collapsed as u64)));
                row
            })
        })
        .collect();
    let invocation = SweepInvocation::since(path, executed, skipped, options.jobs, started);
    let files = merge_with(
        out,
        Some(invocation),
        Some(Addition { name: STABILITY_TABLE, rows, note: Note::Stability(note.clone()), more: vec![(STABILITY_RUNS_TABLE, run_rows)] }),
    )?;
    Ok(StabilityOutcome { configs, note, executed, skipped, wall_s: started.elapsed().as_secs_f64(), files })
}
