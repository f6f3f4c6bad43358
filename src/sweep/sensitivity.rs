//! `rentree sensitivity`: which uncertain inputs drive an output, by Morris screening or Sobol indices.
//!
//! The inputs are the axes of the experiment's `[lhs]` table: each a dotted path with its range (`min`,
//! `max`, `integer`), the uncertainty of an assumption (an overload knee, a come-back delay, a timeout). The
//! method draws its own design over those ranges, in place of the Latin hypercube's samples:
//! - `morris` ([`crate::decide::morris`], Morris 1991 with Campolongo et al.'s μ*): `trajectories` paths of
//!   `d + 1` points on a grid of `levels`, one elementary effect per input and path; μ* ranks the inputs, σ
//!   says whether an input's effect depends on where it is taken (non-linearity or interaction);
//! - `sobol` ([`crate::decide::sobol`], Saltelli et al. 2010): `samples · (d + 2)` points; first-order and
//!   total indices (the share of the output's variance an input explains alone, and with its interactions),
//!   with bootstrap percentile intervals.
//!
//! Each point is a configuration run for the experiment's `replications` (common random numbers as the
//! experiment says) and the output at a point is the metric's mean over them, so the simulation's own noise
//! shrinks with replications rather than being read as an input's effect. Values of an `integer` input are
//! rounded, which moves Morris's steps slightly off their grid. The points are a sweep (the same part files,
//! `--resume` and `--jobs` byte-identity), and the folder holds its tables with `sensitivity.parquet` and the
//! analysis in the manifest; the plan's `experiment_sha256` hashes the file's text with the design's
//! description, so the runs of two designs never mix in one folder.

use super::experiment::{Experiment, RawRange};
use super::{execute, merge_with, plan_of, prepare, read_json, run_file, Addition, Note, Prepared, RunRecord, SweepInvocation};
use crate::decide::morris::{MorrisDesign, MorrisEffects};
use crate::decide::sobol::{SaltelliDesign, SobolIndices};
use crate::error::{Error, Result};
use crate::metrics::{Field, SummaryColumn};
use crate::world;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The table a sensitivity analysis adds to its folder.
pub const SENSITIVITY_TABLE: &str = "sensitivity.parquet";

/// The method and its design's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Morris elementary effects.
    Morris {
        /// Trajectories `r` (at least 2).
        trajectories: usize,
        /// Grid levels `p` (even, at least 2).
        levels: usize,
    },
    /// Sobol indices from a Saltelli design.
    Sobol {
        /// Base rows `N`: the design has `N · (d + 2)` points.
        samples: usize,
        /// Bootstrap resamples behind the intervals.
        bootstrap: usize,
    },
}

impl Method {
    /// The design's description, as hashed into the plan and written in the manifest.
    fn describe(&self, seed: u64) -> String {
        match self {
            Method::Morris { trajectories, levels } => format!("morris trajectories={trajectories} levels={levels} seed={seed}"),
            Method::Sobol { samples, bootstrap } => format!("sobol samples={samples} bootstrap={bootstrap} seed={seed}"),
        }
    }
}

/// Options of `rentree sensitivity`.
#[derive(Debug, Clone)]
pub struct SensitivityOptions {
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
    /// The output studied.
    pub metric: SummaryColumn,
    /// The method.
    pub method: Method,
    /// Run each stage as a Slurm job array instead of on local threads.
    pub cluster: Option<super::slurm::StageCluster>,
}

/// One input's sensitivity: Morris's effects or Sobol's indices (the other's fields `NaN`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSensitivity {
    /// The dotted path.
    pub input: String,
    /// Its range.
    pub min: f64,
    /// Its range.
    pub max: f64,
    /// Morris: mean elementary effect, in output units per the input's whole range.
    pub mu: f64,
    /// Morris: mean absolute elementary effect (the ranking measure).
    pub mu_star: f64,
    /// Morris: standard deviation of the effects.
    pub sigma: f64,
    /// Sobol: first-order index, with its interval.
    pub first_order: (f64, f64, f64),
    /// Sobol: total index, with its interval.
    pub total: (f64, f64, f64),
}

/// What a sensitivity analysis adds to its folder's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct SensitivityNote {
    /// The method and its design (also hashed into the plan's `experiment_sha256`).
    pub design: String,
    /// The metric.
    pub metric: String,
    /// Points of the design (configurations).
    pub points: usize,
    /// Replications per point.
    pub replications: u64,
    /// Sobol: the output's variance over the design; Morris: absent.
    pub variance: Option<f64>,
    /// Sobol: the intervals' confidence.
    pub confidence: Option<f64>,
}

/// What a sensitivity analysis did.
#[derive(Debug, Clone)]
pub struct SensitivityOutcome {
    /// Per input, in the `[lhs]` table's order.
    pub inputs: Vec<InputSensitivity>,
    /// The note written in the manifest.
    pub note: SensitivityNote,
    /// Runs executed by this invocation.
    pub executed: u64,
    /// Runs found already finished and skipped.
    pub skipped: u64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Files written (tables, then `manifest.json`).
    pub files: Vec<PathBuf>,
}

/// The confidence of Sobol's bootstrap intervals.
const CONFIDENCE: f64 = 0.95;

/// Runs the analysis of `options.metric` over the inputs of `experiment`'s `[lhs]` table.
pub fn sensitivity(experiment: &Experiment, options: &SensitivityOptions) -> Result<SensitivityOutcome> {
    let started = std::time::Instant::now();
    let path = &experiment.path;
    let ranges: Vec<(String, RawRange)> = match (&experiment.raw.lhs, experiment.raw.experiment.design.as_str()) {
        (Some(lhs), "lhs") => lhs.ranges.iter().map(|(p, r)| (p.clone(), r.clone())).collect(),
        (_, design) => {
            return Err(Error::Invalid {
                path: path.clone(),
                field: "experiment.design".into(),
                found: format!("{design:?}"),
                expected: "\"lhs\", whose [lhs] ranges are the uncertain inputs studied".into(),
            })
        }
    };
    let d = ranges.len();
    let seed = experiment.raw.experiment.seed;
    let argument = |flag: &str, e: String| Error::Argument { flag: flag.into(), found: format!("{:?}", options.method), expected: e };
    let points: Vec<Vec<f64>> = match options.method {
        Method::Morris { trajectories, levels } => {
            MorrisDesign::new(d, trajectories, levels, seed).map_err(|e| argument("--trajectories/--levels", e.to_string()))?.points()
        }
        Method::Sobol { samples, .. } => SaltelliDesign::new(d, samples, seed).map_err(|e| argument("--samples", e.to_string()))?.points(),
    };
    if points.len() > super::experiment::MAX_CONFIGS {
        return Err(argument(
            "--samples/--trajectories",
            format!("a design of at most {} points, not {}", super::experiment::MAX_CONFIGS, points.len()),
        ));
    }
    // The design as a zip over the inputs' values, point by point: an experiment of the same file.
    let mut raw = experiment.raw.clone();
    raw.experiment.design = "zip".into();
    raw.lhs = None;
    raw.grid = BTreeMap::new();
    for (i, (p, r)) in ranges.iter().enumerate() {
        let values = points
            .iter()
            .map(|u| {
                let x = r.min + (r.max - r.min) * u[i];
                if r.integer {
                    toml::Value::Integer(x.round() as i64)
                } else {
                    toml::Value::Float(x)
                }
            })
            .collect();
        raw.grid.insert(p.clone(), values);
    }
    let design = Experiment::from_raw(raw, path)?;
    let description = options.method.describe(seed);
    let out = &options.out;
    let Prepared { limits, sha, .. } = prepare(&design, out, options.resume, false, &options.budget, &description)?;
    let reps = vec![design.replications(); design.configs.len()];
    crate::output::write_json(&out.join("plan.json"), &plan_of(&design, &sha, &reps))?;
    let all: Vec<(usize, u64)> = (0..design.configs.len()).flat_map(|c| (0..reps[c]).map(move |r| (c, r))).collect();
    let todo: Vec<(usize, u64)> = all.iter().copied().filter(|&(c, r)| !run_file(out, c, r).exists()).collect();
    let skipped = (all.len() - todo.len()) as u64;
    let executed = execute(&design, out, &todo, options.jobs, options.progress, &limits, options.cluster.as_ref())?;
    // The output at each point: the metric's mean over the point's replications.
    let mut outputs = Vec::with_capacity(design.configs.len());
    for (c, &n) in reps.iter().enumerate() {
        let mut sum = 0.0;
        for r in 0..n {
            let record: RunRecord = read_json(&run_file(out, c, r))?;
            sum += record.metric(options.metric).ok_or_else(|| Error::Invalid {
                path: path.clone(),
                field: "--metric".into(),
                found: format!("{}, undefined in point {c}, replication {r}", options.metric),
                expected: "a summary column defined in every run (e.g. served_share_by_0900)".into(),
            })?;
        }
        outputs.push(sum / n as f64);
    }
    let nan3 = (f64::NAN, f64::NAN, f64::NAN);
    let estimate_error = |e: String| Error::Invalid {
        path: path.clone(),
        field: "--metric".into(),
        found: options.metric.to_string(),
        expected: format!("an output the method can analyse: {e}"),
    };
    let (inputs, variance): (Vec<InputSensitivity>, Option<f64>) = match options.method {
        Method::Morris { trajectories, levels } => {
            let design =
                MorrisDesign::new(d, trajectories, levels, seed).map_err(|e| argument("--trajectories/--levels", e.to_string()))?;
            let effects = MorrisEffects::estimate(&design, &outputs).map_err(|e| estimate_error(e.to_string()))?;
            let inputs = ranges
                .iter()
                .zip(&effects.inputs)
                .map(|((p, r), e)| InputSensitivity {
                    input: p.clone(),
                    min: r.min,
                    max: r.max,
                    mu: e.mu,
                    mu_star: e.mu_star,
                    sigma: e.sigma,
                    first_order: nan3,
                    total: nan3,
                })
                .collect();
            (inputs, None)
        }
        Method::Sobol { samples, bootstrap } => {
            let design = SaltelliDesign::new(d, samples, seed).map_err(|e| argument("--samples", e.to_string()))?;
            let indices =
                SobolIndices::estimate(&design, &outputs, bootstrap, CONFIDENCE, seed).map_err(|e| estimate_error(e.to_string()))?;
            let inputs = ranges
                .iter()
                .zip(&indices.inputs)
                .map(|((p, r), x)| InputSensitivity {
                    input: p.clone(),
                    min: r.min,
                    max: r.max,
                    mu: f64::NAN,
                    mu_star: f64::NAN,
                    sigma: f64::NAN,
                    first_order: (x.first_order.estimate, x.first_order.low, x.first_order.high),
                    total: (x.total.estimate, x.total.low, x.total.high),
                })
                .collect();
            (inputs, Some(indices.variance))
        }
    };
    let note = SensitivityNote {
        design: description,
        metric: options.metric.to_string(),
        points: design.configs.len(),
        replications: design.replications(),
        variance,
        confidence: variance.map(|_| CONFIDENCE),
    };
    let rows = inputs
        .iter()
        .map(|x| {
            let mut row: Vec<(String, Field)> =
                vec![("input".into(), Field::Str(x.input.clone())), ("min".into(), Field::F64(x.min)), ("max".into(), Field::F64(x.max))];
            match options.method {
                Method::Morris { .. } => {
                    row.push(("mu".into(), Field::F64(x.mu)));
                    row.push(("mu_star".into(), Field::F64(x.mu_star)));
                    row.push(("sigma".into(), Field::F64(x.sigma)));
                }
                Method::Sobol { .. } => {
                    for (name, (e, lo, hi)) in [("first_order", x.first_order), ("total", x.total)] {
                        row.push((name.into(), Field::F64(e)));
                        row.push((format!("{name}_lo"), Field::F64(lo)));
                        row.push((format!("{name}_hi"), Field::F64(hi)));
                    }
                }
            }
            row
        })
        .collect();
    let invocation = SweepInvocation::since(path, executed, skipped, options.jobs, started);
    let files = merge_with(
        out,
        Some(invocation),
        Some(Addition { name: SENSITIVITY_TABLE, rows, note: Note::Sensitivity(note.clone()), more: Vec::new() }),
    )?;
    Ok(SensitivityOutcome { inputs, note, executed, skipped, wall_s: started.elapsed().as_secs_f64(), files })
}
