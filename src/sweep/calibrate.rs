//! `rentree calibrate`: the unknowns of a scenario learnt from what was observed, with their uncertainty.
//!
//! A calibration file names a base scenario, the unknown parameters (dotted paths with bounded priors) and
//! the observations: per-minute series exported from monitoring (CSV or Parquet) and scalar figures with
//! their own uncertainty (a ministry's "500,000"). The method is ABC-SMC ([`crate::decide::abc`]):
//! populations of parameter values, each generation a batch of ordinary runs (one part file each, resumable,
//! the same bytes whatever `--jobs`, local threads or a Slurm job array), closer and closer to the
//! observations.
//!
//! ```toml
//! [calibration]
//! name = "ENT quota"
//! scenario = "../models/france-2021-04-06.toml"   # relative to this file, or "builtin:replay"
//! variant = "no-attack"                            # optional: a variant of the scenario to start from
//! set = { "platforms.cned.attacks" = [] }          # optional: overrides every run shares
//! scale = 0.1                                      # the scale of every run
//! seed = 1
//! particles = 200                                  # N, the population
//! keep = 0.5                                       # the share kept each generation (its quantile is ε)
//! min_acceptance = 0.05                            # stop when fewer new particles than this beat ε
//! min_epsilon_drop = 0.01                          # or when ε shrinks by less than 1% in a generation
//! distance = "prior"                               # statistics scaled on the prior predictive, or "adaptive"
//! max_generations = 20
//! predictive = 40                                  # posterior-predictive runs at the end
//! early_scale = 0.1                                # optional: the first generations at a reduced scale,
//! early_generations = 3                            # at least the scenario's measured faithful_scale
//!
//! [parameters]
//! "platforms.ent.admission.0.max_sessions" = { prior = "log-uniform", min = 3000, max = 30000, integer = true }
//! "platforms.pronote.pool.overload.knee" = { prior = "normal", mean = 0.9, sd = 0.1, min = 0.5, max = 1.5 }
//!
//! [[series]]                                       # per-minute observations
//! file = "ent-monitoring.csv"                      # columns: clock (HH:MM) or minute, platform, metrics
//! platform = "ent"                                 # optional: only this platform's rows
//! metrics = ["logins_ok", "active_sessions"]       # timeseries metrics, as rentree names them
//!
//! [targets]                                        # scalar figures: PLATFORM.METRIC = { value, sd }
//! "all.accessed_by_1000" = { value = 500000, sd = 150000 }
//! ```
//!
//! **Statistics and distance.** Every observed minute of every series metric, and every target, is a
//! statistic. Counts and levels of a run at a reduced scale are divided by the scale, so observations are
//! stated in real (national) units whatever the scale. A target's `sd` is its observation error: each
//! simulation's value is perturbed by a normal error of that size before it is compared (Wilkinson 2013,
//! "Approximate Bayesian computation (ABC) gives exact results under the assumption of model error",
//! *Statistical Applications in Genetics and Molecular Biology* 12(2):129–141), so the posterior accounts
//! for the figure's own uncertainty. The distance is Euclidean on standardised statistics: each is divided
//! by its scale (the median absolute deviation × 1.4826, its standard deviation where that is 0, else 1)
//! over the first generation's simulations, drawn from the prior (`distance = "prior"`, the default: the
//! prior predictive), or over the population each generation judges, its kept particles and its new ones
//! (`"adaptive"`, after Prangle 2017, "Adapting the ABC distance function", *Bayesian Analysis*
//! 12(1):289–309, the population re-scored each generation), and each series
//! weighs as much as one target however many minutes it has (each of its points weighs `weight / points`).
//! A simulated value that is undefined (a quantile of nothing) counts as five scales away.
//!
//! **Cheap fidelity first.** The first `early_generations` may run at `early_scale`, a reduced scale that
//! must be at least the base scenario's `faithful_scale` (the smallest scale the scale-bias measurements
//! found to agree with full scale); after them the population is simulated again at the target scale,
//! its distances and tolerance replaced ([`Abc::rescore`]), and every later generation, the final one
//! included, runs at the target scale.
//!
//! **Outputs.** `posterior.parquet` (every generation's population: particle, parameters, weight,
//! distance, the tolerance), `predictive.parquet` (for every observed point, the observation and the
//! posterior-predictive mean and 90% band from `predictive` fresh runs at posterior draws),
//! `calibrated.toml` (the base scenario with a `[variants.calibrated]` at the posterior median),
//! `posterior-draws.toml` (an experiment sweeping the same posterior draws, for `rentree sweep`), the plan
//! and the manifest (each generation's tolerance, acceptance and effective sample size, and each
//! parameter's posterior summary).

use super::experiment::{Config, Experiment, RawExperiment, RawSettings};
use super::{prepare, read_json, run_batch, Prepared, RunRecord, SweepInvocation, TIMESERIES_METRICS};
use crate::decide::abc::{weighted_quantile, Abc, AbcSpec, Parameter, Prior, Status, Stop};
use crate::engine::random::stream;
use crate::error::{Error, Result};
use crate::metrics::columns::parse_metric;
use crate::metrics::{Column, Field, MinuteColumn, SummaryColumn};
use crate::output;
use crate::scenario::{Override, Source};
use crate::world;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The table of every generation's population.
pub const POSTERIOR_TABLE: &str = "posterior.parquet";
/// The table of observations against the posterior predictive.
pub const PREDICTIVE_TABLE: &str = "predictive.parquet";
/// The base scenario with its calibrated variant.
pub const CALIBRATED_SCENARIO: &str = "calibrated.toml";
/// The experiment sweeping the posterior's draws.
pub const DRAWS_EXPERIMENT: &str = "posterior-draws.toml";
/// The name of the variant `calibrated.toml` adds.
pub const CALIBRATED_VARIANT: &str = "calibrated";

/// The share of the population in the predictive band and the credible intervals: 90%.
const BAND: (f64, f64) = (0.05, 0.95);
/// The standardised distance an undefined simulated value counts for.
const UNDEFINED_Z: f64 = 5.0;
/// MAD to standard deviation for a normal distribution.
const MAD_TO_SD: f64 = 1.4826;

/// The file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalibration {
    /// The settings.
    pub calibration: RawCalibrationSettings,
    /// The unknowns: dotted path → prior.
    #[serde(default)]
    pub parameters: BTreeMap<String, RawPrior>,
    /// Per-minute observations.
    #[serde(default)]
    pub series: Vec<RawSeries>,
    /// Scalar observations: `PLATFORM.METRIC` → value and uncertainty.
    #[serde(default)]
    pub targets: BTreeMap<String, RawTarget>,
}

/// `[calibration]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalibrationSettings {
    /// Name, shown in reports.
    pub name: String,
    /// What is calibrated and from what.
    #[serde(default)]
    pub description: String,
    /// Base scenario: a path relative to this file, or `builtin:replay` / `builtin:evening`.
    pub scenario: String,
    /// A variant of the base scenario to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Overrides every run shares (dotted path → value), applied after the variant's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, toml::Value>,
    /// Population and capacity scale of every run.
    #[serde(default = "one")]
    pub scale: f64,
    /// Master seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Particles per population.
    #[serde(default = "default_particles")]
    pub particles: usize,
    /// Share of the population kept each generation.
    #[serde(default = "default_keep")]
    pub keep: f64,
    /// Stop when the share of new particles within the previous tolerance is at most this.
    #[serde(default = "default_min_acceptance")]
    pub min_acceptance: f64,
    /// Stop when a generation shrinks the tolerance by less than this share of it (the simulator's noise).
    #[serde(default = "default_min_epsilon_drop")]
    pub min_epsilon_drop: f64,
    /// Stop after this many generations.
    #[serde(default = "default_max_generations")]
    pub max_generations: usize,
    /// Posterior-predictive runs, at draws from the final population.
    #[serde(default = "default_predictive")]
    pub predictive: usize,
    /// How each statistic is scaled in the distance: `prior` (default), by its spread over the prior
    /// predictive, or `adaptive`, by its spread over the population each generation judges (after Prangle
    /// 2017); see the README for what each gets right and wrong.
    #[serde(default = "default_distance")]
    pub distance: String,
    /// Cheap fidelity first: the first `early_generations` run at this reduced scale, which must be one the
    /// scale-bias measurements found faithful for the base scenario (its `faithful_scale`); the population is
    /// then simulated again at `scale` and the rest run there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_scale: Option<f64>,
    /// How many generations run at `early_scale`.
    #[serde(default)]
    pub early_generations: usize,
}

fn one() -> f64 {
    1.0
}
fn default_seed() -> u64 {
    1
}
fn default_particles() -> usize {
    200
}
fn default_keep() -> f64 {
    0.5
}
fn default_min_acceptance() -> f64 {
    0.05
}
fn default_distance() -> String {
    "prior".into()
}
fn default_min_epsilon_drop() -> f64 {
    0.01
}
fn default_max_generations() -> usize {
    20
}
fn default_predictive() -> usize {
    40
}

/// A parameter's prior as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrior {
    /// `uniform`, `log-uniform` or `normal`.
    pub prior: String,
    /// Lower bound (every prior is bounded).
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Normal: mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Normal: standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// Applied as an integer.
    #[serde(default)]
    pub integer: bool,
    /// Further fields that take the same value: one unknown written in several places (every cohort's
    /// come-back delay, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

/// `[[series]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeries {
    /// The file, relative to the calibration file: CSV (`.csv`) or Parquet.
    pub file: String,
    /// Only the rows of this platform (the file then needs no `platform` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The file's columns to compare, each a timeseries metric.
    pub metrics: Vec<String>,
    /// The weight of each of its metrics in the distance, against a target's 1.
    #[serde(default = "one")]
    pub weight: f64,
}

/// A scalar observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// The observed value, in real units; for an `onset_METRIC`, a clock time `"HH:MM"`.
    pub value: TargetValue,
    /// Its standard error (0: taken as exact), in the statistic's unit: seconds for an onset.
    #[serde(default)]
    pub sd: f64,
    /// For an `onset_METRIC`: the per-minute level, in real units, that the metric must exceed (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
}

/// A target's value: a number, or a clock time for an onset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetValue {
    /// A number in real units.
    Number(f64),
    /// A clock time, `"HH:MM"`.
    Clock(String),
}

/// What a statistic reads from a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A timeseries metric of one platform's minute.
    Minute {
        /// Platform (or dependency) name.
        platform: String,
        /// Minute index from the start of the run.
        minute: u64,
        /// The metric.
        metric: MinuteColumn,
    },
    /// A summary metric of a platform's row (or `"all"`), times its users for an `accessed_by_HHMM`.
    Summary {
        /// Platform name, or `"all"`.
        platform: String,
        /// The metric.
        metric: SummaryColumn,
        /// Multiplied by the row's users (a share turned into a count).
        times_users: bool,
    },
    /// The clock time (seconds since midnight) of the start of the first minute in which a platform's
    /// timeseries metric, in real units, exceeds a level: when a quota first refused, when timeouts began.
    Onset {
        /// Platform (or dependency) name.
        platform: String,
        /// The metric.
        metric: MinuteColumn,
        /// The level to exceed, per minute, in real units.
        above: f64,
        /// The run's clock at t = 0, seconds since midnight.
        clock_start_s: f64,
    },
}

/// One observed statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistic {
    /// Its name: `PLATFORM.METRIC` for a target, `PLATFORM.METRIC@HH:MM` for a series point.
    pub name: String,
    /// What it reads.
    pub reading: Reading,
    /// The observation.
    pub observed: f64,
    /// The observation's standard error (targets).
    pub sd: f64,
    /// Its weight in the distance.
    pub weight: f64,
    /// A count or level: divided by the scale to be compared in real units.
    pub scaled: bool,
    /// The clock time of a series point (`HH:MM`), empty for a target.
    pub clock: String,
}

/// A validated calibration.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The file as parsed.
    pub raw: RawCalibration,
    /// Where it came from.
    pub path: PathBuf,
    /// The unknowns, in the table's (sorted) order.
    pub parameters: Vec<Parameter>,
    /// The fields each parameter writes: its own path, then its `also` paths.
    pub fields: Vec<Vec<String>>,
    /// The observed statistics: series points (file by file, metric by metric, minute by minute), then
    /// targets.
    pub statistics: Vec<Statistic>,
    /// The procedure's settings.
    pub spec: AbcSpec,
    /// The runs' experiment: the base scenario (variant, `set`, scale) and the seed; its configurations are
    /// the particles, made as they are proposed.
    pub experiment: Experiment,
    /// SHA-256 of the observation files' bytes, in order.
    observations_sha: Vec<String>,
    /// Cheap fidelity first: the early generations' base scenario and scale.
    pub early: Option<Early>,
}

/// The early generations of a calibration, at a reduced scale measured to be faithful.
#[derive(Debug, Clone)]
pub struct Early {
    /// The base scenario at the early scale.
    pub base: Source,
    /// The early scale.
    pub scale: f64,
    /// How many generations run at it.
    pub generations: usize,
}

fn invalid(path: &Path, field: &str, found: impl ToString, expected: &str) -> Error {
    Error::Invalid { path: path.to_owned(), field: field.into(), found: found.to_string(), expected: expected.into() }
}

/// Whether the file at `path` is a calibration file (has a `[calibration]` table).
pub fn is_calibration(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| crate::scenario::source::has_table(&t, "calibration"))
}

/// `HH:MM` of `seconds` after midnight.
fn clock_text(seconds: f64) -> String {
    let m = (seconds / 60.0).round() as i64;
    format!("{:02}:{:02}", m.div_euclid(60).rem_euclid(24), m.rem_euclid(60))
}

/// An `onset_METRIC` target: when a platform's timeseries metric first exceeded `above` in a minute.
fn onset_target(
    path: &Path,
    field: &str,
    platform: &str,
    name: &str,
    t: &RawTarget,
    platforms: &[&str],
    clock_start_s: f64,
) -> Result<Statistic> {
    if !platforms.contains(&platform) {
        return Err(invalid(path, field, format!("platform {platform:?}"), &format!("one of {platforms:?} (an onset is one pool's)")));
    }
    let metric = parse_metric::<MinuteColumn>(name).map_err(|e| invalid(path, field, format!("{name:?}"), &e.expected()))?;
    if !TIMESERIES_METRICS.contains(&metric) {
        let names: Vec<&str> = TIMESERIES_METRICS.iter().map(|m| m.name()).collect();
        return Err(invalid(
            path,
            field,
            format!("onset of {name:?}"),
            &format!("the onset of a metric a run's part file keeps: one of {names:?}"),
        ));
    }
    let value_field = format!("{field}.value");
    let observed = match &t.value {
        TargetValue::Clock(c) => {
            crate::scenario::parse_clock(c.trim()).ok_or_else(|| invalid(path, &value_field, format!("{c:?}"), "a clock time \"HH:MM\""))?
        }
        TargetValue::Number(x) => {
            return Err(invalid(path, &value_field, x, "a clock time \"HH:MM\" (when the metric first exceeded `above`)"))
        }
    };
    if !(t.sd.is_finite() && t.sd >= 0.0) {
        return Err(invalid(path, &format!("{field}.sd"), t.sd, "an sd >= 0, in seconds"));
    }
    let above = t.above.unwrap_or(0.0);
    if !(above.is_finite() && above >= 0.0) {
        return Err(invalid(path, &format!("{field}.above"), above, "a level >= 0 per minute, in real units"));
    }
    Ok(Statistic {
        name: format!("{platform}.onset_{name}"),
        reading: Reading::Onset { platform: platform.to_owned(), metric, above, clock_start_s },
        observed,
        sd: t.sd,
        weight: 1.0,
        scaled: false,
        clock: String::new(),
    })
}

impl Calibration {
    /// Reads and validates the calibration at `path`, its base scenario and its observation files.
    pub fn load(path: &Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        let raw: RawCalibration =
            toml::from_str(&text).map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        Calibration::from_raw(raw, path)
    }

    /// Validates a parsed calibration.
    pub fn from_raw(raw: RawCalibration, path: &Path) -> Result<Calibration> {
        let s = &raw.calibration;
        if !(s.scale.is_finite() && s.scale > 0.0 && s.scale <= crate::scenario::MAX_SCALE) {
            return Err(invalid(path, "calibration.scale", s.scale, &format!("a number > 0 and at most {:e}", crate::scenario::MAX_SCALE)));
        }
        let spec = AbcSpec {
            particles: s.particles,
            keep: s.keep,
            min_acceptance: s.min_acceptance,
            min_epsilon_drop: s.min_epsilon_drop,
            max_generations: s.max_generations,
            seed: s.seed,
        };
        spec.check().map_err(|e| match e {
            crate::decide::abc::AbcError::Setting { field, found, expected } => {
                invalid(path, &format!("calibration.{field}"), found, &expected)
            }
            other => invalid(path, "calibration", other, "valid settings"),
        })?;
        if !["adaptive", "prior"].contains(&s.distance.as_str()) {
            return Err(invalid(path, "calibration.distance", format!("{:?}", s.distance), "\"adaptive\" or \"prior\""));
        }
        if !(1..=super::experiment::MAX_CONFIGS).contains(&s.predictive) {
            return Err(invalid(path, "calibration.predictive", s.predictive, "an integer from 1 to 100000"));
        }
        // The whole procedure's runs must fit the configuration limit of one folder.
        let most_runs = s.particles + (s.max_generations - 1) * (s.particles - spec.kept()) + s.predictive;
        if most_runs > super::experiment::MAX_CONFIGS {
            return Err(invalid(
                path,
                "calibration.max_generations",
                format!("{} generations of {} particles: up to {most_runs} runs", s.max_generations, s.particles),
                &format!("at most {} runs in all", super::experiment::MAX_CONFIGS),
            ));
        }
        let mut base = Source::named(&s.scenario, path, "calibration.scenario")?;
        if let Some(v) = &s.variant {
            base = base.variant(Some(v)).map_err(|e| match e {
                Error::Invalid { found, expected, .. } => Error::Invalid {
                    path: path.to_owned(),
                    field: "calibration.variant".into(),
                    found,
                    expected: format!("{expected} in {}", base_origin(&s.scenario, path)),
                },
                other => other,
            })?;
        }
        let origin = format!("{}, calibration.set", path.display());
        let common: Vec<Override> = s.set.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
        let base = base.with(common).scaled(s.scale);
        let scenario = base.scenario()?;
        let early = match (s.early_scale, s.early_generations) {
            (None, 0) => None,
            (None, n) => {
                return Err(invalid(path, "calibration.early_generations", n, "0 without an early_scale, or an early_scale beside it"));
            }
            (Some(e), n) => {
                if !(n >= 1 && n < s.max_generations) {
                    return Err(invalid(
                        path,
                        "calibration.early_generations",
                        n,
                        &format!(
                            "from 1 to max_generations − 1 ({}), so that the last generations run at the target scale",
                            s.max_generations - 1
                        ),
                    ));
                }
                let faithful = scenario.faithful_scale;
                if !(e.is_finite() && e > 0.0 && e < s.scale && faithful.is_some_and(|f| e >= f)) {
                    return Err(invalid(
                        path,
                        "calibration.early_scale",
                        e,
                        &match faithful {
                            Some(f) => format!(
                                "a scale below scale ({}) and at least the base scenario's faithful_scale ({f}), the smallest scale measured to agree with full scale: below it a reduced scale biases the statistics",
                                s.scale
                            ),
                            None => "no early scale: the base scenario states no faithful_scale, so no reduced scale was measured to leave its statistics unbiased".into(),
                        },
                    ));
                }
                Some(Early { base: base.clone().scaled(e), scale: e, generations: n })
            }
        };
        // Parameters: a prior each, and a value the scenario accepts at both ends of its range.
        if raw.parameters.is_empty() {
            return Err(invalid(path, "parameters", "no parameter", "at least one \"dotted.path\" = { prior = …, min = …, max = … }"));
        }
        let mut parameters = Vec::new();
        let mut fields: Vec<Vec<String>> = Vec::new();
        for (name, p) in &raw.parameters {
            let field = format!("parameters.\"{name}\"");
            let prior = match p.prior.as_str() {
                "uniform" | "log-uniform" if p.mean.is_some() || p.sd.is_some() => {
                    return Err(invalid(path, &field, "mean or sd", &format!("no mean or sd for a {} prior (only min and max)", p.prior)))
                }
                "uniform" => Prior::Uniform,
                "log-uniform" => Prior::LogUniform,
                "normal" => match (p.mean, p.sd) {
                    (Some(mean), Some(sd)) => Prior::Normal { mean, sd },
                    _ => {
                        return Err(invalid(path, &field, "a normal prior without mean or sd", "mean and sd (and min, max: bounds always)"))
                    }
                },
                other => {
                    return Err(invalid(
                        path,
                        &format!("{field}.prior"),
                        format!("{other:?}"),
                        "\"uniform\", \"log-uniform\" or \"normal\"",
                    ))
                }
            };
            let parameter = Parameter { name: name.clone(), prior, min: p.min, max: p.max, integer: p.integer };
            parameter.check().map_err(|e| invalid(path, &field, format!("min = {}, max = {}", p.min, p.max), &e.to_string()))?;
            let mut written = vec![name.clone()];
            for (j, other) in p.also.iter().enumerate() {
                if raw.parameters.contains_key(other) || fields.iter().chain([&written]).any(|f: &Vec<String>| f.contains(other)) {
                    return Err(invalid(
                        path,
                        &format!("{field}.also[{j}]"),
                        format!("{other:?}, written by another parameter or twice"),
                        "a field no other parameter writes",
                    ));
                }
                written.push(other.clone());
            }
            for (j, target) in written.iter().enumerate() {
                let at = if j == 0 { field.clone() } else { format!("{field}.also[{}]", j - 1) };
                for end in [p.min, p.max] {
                    let value = number(end, p.integer);
                    base.scenario_with(&[Override::set(&format!("{}, [parameters]", path.display()), target, &value)]).map_err(|e| {
                        invalid(
                            path,
                            &at,
                            e.to_string(),
                            "a field of the scenario that accepts every value of the prior's range (integer = true for a count)",
                        )
                    })?;
                }
            }
            parameters.push(parameter);
            fields.push(written);
        }
        let minutes = (scenario.horizon.as_secs_f64() / 60.0).ceil() as u64;
        let platforms: Vec<&str> =
            scenario.platforms.iter().map(|p| p.name.as_str()).chain(scenario.dependencies.iter().map(|d| d.name.as_str())).collect();
        let mut statistics = Vec::new();
        let mut observations_sha = Vec::new();
        let folder = path.parent().unwrap_or(Path::new("."));
        for (i, series) in raw.series.iter().enumerate() {
            let field = format!("series[{i}]");
            if !(series.weight.is_finite() && series.weight > 0.0) {
                return Err(invalid(path, &format!("{field}.weight"), series.weight, "a weight > 0"));
            }
            if series.metrics.is_empty() {
                return Err(invalid(path, &format!("{field}.metrics"), "[]", "at least one timeseries metric, e.g. [\"logins_ok\"]"));
            }
            if let Some(p) = &series.platform {
                if !platforms.contains(&p.as_str()) {
                    return Err(invalid(path, &format!("{field}.platform"), format!("{p:?}"), &format!("one of {platforms:?}")));
                }
            }
            let file = folder.join(&series.file);
            let bytes = std::fs::read(&file).map_err(|source| Error::Read { path: file.clone(), source })?;
            observations_sha.push(output::sha256_hex(&bytes));
            let table = output::read_user_table(&file)?;
            let file_err = |column: &str, found: String, expected: &str| invalid(&file, column, found, expected);
            // Each row's minute, from `minute` or `clock`.
            let row_minutes: Vec<u64> = if let Ok(m) = table.num("minute") {
                m.iter()
                    .enumerate()
                    .map(|(r, &x)| {
                        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && (x as u64) < minutes {
                            Ok(x as u64)
                        } else {
                            Err(file_err("minute", format!("{x} in row {}", r + 1), &format!("a whole minute from 0 to {}", minutes - 1)))
                        }
                    })
                    .collect::<Result<_>>()?
            } else if let Ok(c) = table.text("clock") {
                c.iter()
                    .enumerate()
                    .map(|(r, t)| {
                        let at = crate::scenario::parse_clock(t.trim()).map(|s| s - scenario.clock_start_s);
                        match at {
                            Some(at) if at >= 0.0 && ((at / 60.0) as u64) < minutes => Ok((at / 60.0) as u64),
                            _ => Err(file_err(
                                "clock",
                                format!("{t:?} in row {}", r + 1),
                                &format!(
                                    "a time \"HH:MM\" within the run, from {} to {}",
                                    clock_text(scenario.clock_start_s),
                                    clock_text(scenario.clock_start_s + (minutes - 1) as f64 * 60.0)
                                ),
                            )),
                        }
                    })
                    .collect::<Result<_>>()?
            } else {
                return Err(file_err(
                    "minute, clock",
                    "neither column".into(),
                    "a `minute` (from the start of the run) or `clock` (HH:MM) column",
                ));
            };
            let row_platforms: Vec<String> = match (&series.platform, table.text("platform")) {
                (Some(p), Ok(col)) => col.iter().map(|x| if x.is_empty() { p.clone() } else { x.clone() }).collect(),
                (Some(p), Err(_)) => vec![p.clone(); table.height],
                (None, Ok(col)) => {
                    if let Some((r, x)) = col.iter().enumerate().find(|(_, x)| !platforms.contains(&x.as_str())) {
                        return Err(file_err("platform", format!("{x:?} in row {}", r + 1), &format!("one of {platforms:?}")));
                    }
                    col.to_vec()
                }
                (None, Err(_)) => {
                    return Err(invalid(
                        path,
                        &format!("{field}.platform"),
                        "no platform",
                        "a `platform` column in the file, or series.platform",
                    ))
                }
            };
            for (j, name) in series.metrics.iter().enumerate() {
                let mfield = format!("{field}.metrics[{j}]");
                let metric = parse_metric::<MinuteColumn>(name).map_err(|e| invalid(path, &mfield, format!("{name:?}"), &e.expected()))?;
                if !TIMESERIES_METRICS.contains(&metric) {
                    let names: Vec<&str> = TIMESERIES_METRICS.iter().map(|m| m.name()).collect();
                    return Err(invalid(
                        path,
                        &mfield,
                        format!("{name:?}"),
                        &format!("a metric a run's part file keeps: one of {names:?}"),
                    ));
                }
                let values = table
                    .num(name)
                    .map_err(|_| file_err(name, "no numeric column".into(), "a numeric column per metric named in the series"))?;
                let points: Vec<usize> = (0..table.height)
                    .filter(|&r| values[r].is_finite() && series.platform.as_ref().is_none_or(|p| *p == row_platforms[r]))
                    .collect();
                if points.is_empty() {
                    return Err(file_err(name, "no value".into(), "at least one observed minute"));
                }
                let weight = series.weight / points.len() as f64;
                for r in points {
                    let clock = clock_text(scenario.clock_start_s + row_minutes[r] as f64 * 60.0);
                    statistics.push(Statistic {
                        name: format!("{}.{}@{clock}", row_platforms[r], metric.name()),
                        reading: Reading::Minute { platform: row_platforms[r].clone(), minute: row_minutes[r], metric },
                        observed: values[r],
                        sd: 0.0,
                        weight,
                        scaled: metric.merge().additive(),
                        clock,
                    });
                }
            }
        }
        for (key, t) in &raw.targets {
            let field = format!("targets.\"{key}\"");
            let expected = "PLATFORM.METRIC: a platform of the scenario (or \"all\") and a summary metric, accessed_by_0830, _0900, _1000, _1200 (users in by then), or onset_METRIC (when a timeseries metric first exceeded `above`)";
            let Some((platform, metric)) = key.split_once('.') else {
                return Err(invalid(path, &field, format!("{key:?}"), expected));
            };
            if let Some(name) = metric.strip_prefix("onset_") {
                statistics.push(onset_target(path, &field, platform, name, t, &platforms, scenario.clock_start_s)?);
                continue;
            }
            if t.above.is_some() {
                return Err(invalid(path, &format!("{field}.above"), "above", "no `above`: it is the level of an onset_METRIC target"));
            }
            let TargetValue::Number(value) = t.value else {
                return Err(invalid(
                    path,
                    &format!("{field}.value"),
                    format!("{:?}", t.value),
                    "a number: a clock time is the value of an onset_METRIC target only",
                ));
            };
            if platform != "all" && !scenario.platforms.iter().any(|p| p.name == platform) {
                let names: Vec<&str> = scenario.platforms.iter().map(|p| p.name.as_str()).collect();
                return Err(invalid(path, &field, format!("platform {platform:?}"), &format!("\"all\" or one of {names:?}")));
            }
            let (column, times_users) = match metric.strip_prefix("accessed_by_") {
                Some(hhmm) => (
                    parse_metric::<SummaryColumn>(&format!("served_share_by_{hhmm}"))
                        .map_err(|_| invalid(path, &field, format!("{metric:?}"), expected))?,
                    true,
                ),
                None => {
                    (parse_metric::<SummaryColumn>(metric).map_err(|e| invalid(path, &field, format!("{metric:?}"), &e.expected()))?, false)
                }
            };
            if !(value.is_finite() && t.sd.is_finite() && t.sd >= 0.0) {
                return Err(invalid(path, &field, format!("value = {value}, sd = {}", t.sd), "a finite value and an sd >= 0"));
            }
            statistics.push(Statistic {
                name: key.clone(),
                reading: Reading::Summary { platform: platform.to_owned(), metric: column, times_users },
                observed: value,
                sd: t.sd,
                weight: 1.0,
                scaled: times_users || column.merge().additive(),
                clock: String::new(),
            });
        }
        if statistics.is_empty() {
            return Err(invalid(path, "series, targets", "no observation", "at least one [[series]] or one entry in [targets]"));
        }
        let experiment = Experiment {
            raw: RawExperiment {
                experiment: RawSettings {
                    name: s.name.clone(),
                    description: s.description.clone(),
                    scenario: s.scenario.clone(),
                    scale: s.scale,
                    replications: 2,
                    seed: s.seed,
                    // Particles are independent draws: each run has streams of its own.
                    crn: false,
                    design: "calibrate".into(),
                    set: s.set.clone(),
                },
                grid: BTreeMap::new(),
                strategy: Vec::new(),
                lhs: None,
                optimize: None,
                stability: None,
            },
            path: path.to_owned(),
            configs: Vec::new(),
            param_names: parameters.iter().map(|p| p.name.clone()).collect(),
            base,
            problem: None,
        };
        Ok(Calibration { raw, path: path.to_owned(), parameters, fields, statistics, spec, experiment, observations_sha, early })
    }

    /// The procedure's description, hashed into the plan with the file's text: the observations' bytes
    /// decide which particles later generations propose, so a folder's runs are never those of other data.
    fn describe(&self) -> String {
        format!("calibrate observations={}", self.observations_sha.join(","))
    }

    /// The statistics of run `record`, made at scale `scale`, in real units, with each target's observation
    /// error drawn for particle `particle` (none when `noise` is false).
    pub fn statistics_of(&self, record: &RunRecord, scale: f64, particle: usize, noise: bool) -> Vec<f64> {
        let mut rng = stream(self.spec.seed, particle as u64, "calibrate/observation-error");
        self.statistics
            .iter()
            .map(|s| {
                let raw = match &s.reading {
                    Reading::Minute { platform, minute, metric } => {
                        let column = TIMESERIES_METRICS.iter().position(|m| m == metric).expect("validated against TIMESERIES_METRICS");
                        record
                            .timeseries
                            .iter()
                            .find(|(p, m, _)| p == platform && m == minute)
                            .map_or(f64::NAN, |(_, _, v)| v.get(column).copied().unwrap_or(f64::NAN))
                    }
                    Reading::Summary { platform, metric, times_users } => {
                        let v = record.platform_metric(platform, *metric).unwrap_or(f64::NAN);
                        if *times_users {
                            v * record.platform_metric(platform, SummaryColumn::users).unwrap_or(f64::NAN)
                        } else {
                            v
                        }
                    }
                    Reading::Onset { platform, metric, above, clock_start_s } => {
                        let column = TIMESERIES_METRICS.iter().position(|m| m == metric).expect("validated against TIMESERIES_METRICS");
                        // A count per minute is compared in real units; a level (a latency) as it is.
                        let per = if metric.merge().additive() { scale } else { 1.0 };
                        record
                            .timeseries
                            .iter()
                            .filter(|(p, _, v)| p == platform && v.get(column).is_some_and(|x| x / per > *above))
                            .map(|(_, m, _)| *m)
                            .min()
                            .map_or(f64::NAN, |m| clock_start_s + m as f64 * 60.0)
                    }
                };
                let real = if s.scaled { raw / scale } else { raw };
                // The error is drawn whatever the value, so that each target's draw is the same for a particle.
                let e: f64 = if s.sd > 0.0 { rng.sample(StandardNormal) } else { 0.0 };
                if noise {
                    real + s.sd * e
                } else {
                    real
                }
            })
            .collect()
    }

    /// The scale of each statistic over the prior predictive (the first generation's simulations).
    fn scales(&self, first: &[Vec<f64>]) -> Vec<f64> {
        (0..self.statistics.len())
            .map(|k| {
                let mut v: Vec<f64> = first.iter().map(|s| s[k]).filter(|x| x.is_finite()).collect();
                if v.len() < 2 {
                    return 1.0;
                }
                v.sort_by(f64::total_cmp);
                let median = crate::decide::quantile_sorted(&v, 0.5);
                let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
                dev.sort_by(f64::total_cmp);
                let mad = MAD_TO_SD * crate::decide::quantile_sorted(&dev, 0.5);
                if mad > 0.0 {
                    return mad;
                }
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
                if sd > 0.0 {
                    sd
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// The distance of statistics `s` to the observations, standardised by `scales`.
    fn distance(&self, s: &[f64], scales: &[f64]) -> f64 {
        self.statistics
            .iter()
            .zip(s)
            .zip(scales)
            .map(|((st, &x), &scale)| {
                let z = if x.is_finite() { (x - st.observed) / scale } else { UNDEFINED_Z };
                st.weight * z * z
            })
            .sum::<f64>()
            .sqrt()
    }
}

/// The origin a variant's message names.
fn base_origin(spec: &str, path: &Path) -> String {
    if spec.starts_with("builtin:") {
        spec.to_owned()
    } else {
        path.parent().unwrap_or(Path::new(".")).join(spec).display().to_string()
    }
}

/// A value as the override writes it.
fn number(x: f64, integer: bool) -> toml::Value {
    if integer {
        toml::Value::Integer(x.round() as i64)
    } else {
        toml::Value::Float(x)
    }
}

/// Options of `rentree calibrate`.
#[derive(Debug, Clone)]
pub struct CalibrateOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Skip runs already written.
    pub resume: bool,
    /// Print each generation as it ends (on a terminal).
    pub progress: bool,
    /// The budget of one run.
    pub budget: world::budget::Budget,
    /// Run each generation as a Slurm job array instead of on local threads.
    pub cluster: Option<super::slurm::StageCluster>,
}

/// One generation, as the manifest records it.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationNote {
    /// Index from 0 (the prior's).
    pub generation: usize,
    /// Runs it simulated.
    pub runs: usize,
    /// The tolerance after it.
    pub epsilon: f64,
    /// The share of its new particles within the previous tolerance.
    pub acceptance: f64,
    /// Its population's effective sample size.
    pub ess: f64,
}

/// A parameter's posterior, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterNote {
    /// Dotted path.
    pub name: String,
    /// The prior, as written.
    pub prior: String,
    /// Prior bounds.
    pub min: f64,
    /// Prior bounds.
    pub max: f64,
    /// A normal prior's mean (absent for the uniform ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_mean: Option<f64>,
    /// A normal prior's standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_sd: Option<f64>,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior median (the calibrated variant's value).
    pub median: f64,
    /// 90% credible interval.
    pub q05: f64,
    /// 90% credible interval.
    pub q95: f64,
    /// The interval's width over the prior's 90% width: how much the data narrowed it.
    pub narrowing: f64,
    /// Applied as an integer.
    #[serde(default)]
    pub integer: bool,
    /// Further fields that take the same value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

/// A whole-system summary metric over the posterior-predictive runs, in real (national) units: what a run
/// of the calibrated scenario may be expected to give, the calibration's uncertainty and the simulation's
/// noise at the calibration's scale together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictiveMetric {
    /// The summary metric.
    pub metric: String,
    /// Mean over the runs where it is defined.
    pub mean: f64,
    /// 5% quantile.
    pub q05: f64,
    /// Median.
    pub median: f64,
    /// 95% quantile.
    pub q95: f64,
}

/// What a calibration folder's `manifest.json` records.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationManifest {
    /// Version of rentree.
    pub rentree_version: String,
    /// The calibration's id: version and plan; also in each Parquet table's footer.
    pub run_id: String,
    /// Calibration name.
    pub calibration: String,
    /// The calibration file as given.
    pub calibration_file: String,
    /// SHA-256 of its text with the observations' (the plan's `experiment_sha256`).
    pub calibration_sha256: String,
    /// The method and its reference.
    pub method: String,
    /// Population and capacity scale of the runs.
    pub scale: f64,
    /// The smallest scale measured to agree with full scale for the base scenario.
    pub faithful_scale: Option<f64>,
    /// Why figures at this scale are not for a decision; absent when the scale is faithful.
    pub scale_warning: Option<String>,
    /// Particles per population.
    pub particles: usize,
    /// Why it stopped: `converged`, `stalled at the simulator's noise` or `max_generations`.
    pub stop: String,
    /// Each generation.
    pub generations: Vec<GenerationNote>,
    /// Each parameter's posterior.
    pub parameters: Vec<ParameterNote>,
    /// Observed statistics (series points and targets).
    pub statistics: usize,
    /// Posterior-predictive runs, at draws from the final population.
    pub predictive_runs: usize,
    /// Every whole-system summary metric over them (metrics undefined in every run left out).
    pub predictive_summary: Vec<PredictiveMetric>,
    /// Runs in all (generations and posterior predictive).
    pub runs: u64,
    /// How it ran.
    #[serde(flatten)]
    pub invocation: SweepInvocation,
    /// The tables, `plan.json` and the scenario files, with their SHA-256.
    pub files: Vec<output::FileEntry>,
}

/// What a calibration did.
#[derive(Debug, Clone)]
pub struct CalibrateOutcome {
    /// The manifest written.
    pub manifest: CalibrationManifest,
    /// Files written (tables, scenario files, then `manifest.json`).
    pub files: Vec<PathBuf>,
    /// Temporary files of an interrupted calibration removed by `--resume`.
    pub stale_temps_removed: usize,
}

/// The particles' configurations, made as they are proposed, and their runs.
struct Runner<'a> {
    design: Experiment,
    options: &'a CalibrateOptions,
    sha: String,
    limits: Vec<world::Limits>,
    reps: Vec<u64>,
    executed: u64,
    skipped: u64,
}

impl Runner<'_> {
    /// Adds the configuration of parameter `values`; returns its index.
    fn add(&mut self, base: &Source, values: &[f64], cal: &Calibration, label: String) -> Result<usize> {
        let index = self.design.configs.len();
        let path = self.design.path.clone();
        let origin = format!("{}, [parameters]", path.display());
        let picks: Vec<(&str, toml::Value)> =
            cal.parameters.iter().zip(values).map(|(p, &v)| (p.name.as_str(), number(v, p.integer))).collect();
        let params = picks.iter().map(|(p, v)| ((*p).to_owned(), v.to_string())).collect();
        // Each value written to every field of its parameter.
        let overrides: Vec<Override> = picks
            .iter()
            .zip(&cal.fields)
            .flat_map(|((_, v), fields)| fields.iter().map(|f| Override::set(&origin, f, v)).collect::<Vec<_>>())
            .collect();
        let scenario = base.scenario_with(&overrides).map_err(|e| Error::Invalid {
            path: path.clone(),
            field: format!("parameters at {label}"),
            found: e.to_string(),
            expected: "a valid scenario at every value of the priors' ranges".into(),
        })?;
        let limits = self
            .options
            .budget
            .check(&scenario)
            .map_err(|message| Error::TooLarge { path: path.clone(), message: format!("at {label}: {message}") })?;
        self.design.configs.push(Config { index, label, params, overrides, scenario, stream_offset: 0 });
        self.limits.push(limits);
        self.reps.push(0);
        Ok(index)
    }

    /// Runs one replication of each configuration of `configs` and returns their records, in order.
    fn run(&mut self, configs: &[usize]) -> Result<Vec<RunRecord>> {
        let o = self.options;
        let batch: Vec<(usize, u64)> = configs.iter().map(|&c| (c, 0)).collect();
        let (records, executed, skipped) =
            run_batch(&self.design, &o.out, &self.sha, &mut self.reps, &batch, (o.jobs, o.progress), &self.limits, o.cluster.as_ref())?;
        self.executed += executed;
        self.skipped += skipped;
        Ok(records)
    }
}

fn prior_text(p: &Parameter) -> String {
    match p.prior {
        Prior::Uniform => "uniform".into(),
        Prior::LogUniform => "log-uniform".into(),
        Prior::Normal { mean, sd } => format!("normal(mean {mean}, sd {sd})"),
    }
}

/// The width of the prior's 90% interval (5% to 95%): closed forms for the uniform priors, a fine grid of
/// the density for a truncated normal.
fn prior_band(p: &Parameter) -> f64 {
    match p.prior {
        Prior::Uniform => 0.9 * (p.max - p.min),
        Prior::LogUniform => p.min * (p.max / p.min).powf(0.95) - p.min * (p.max / p.min).powf(0.05),
        Prior::Normal { mean, sd } => {
            // The truncated normal's quantiles, from a fine grid of its density.
            let n = 20_000;
            let xs: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let x = p.min + (p.max - p.min) * (i as f64 + 0.5) / n as f64;
                    (x, (-0.5 * ((x - mean) / sd).powi(2)).exp())
                })
                .collect();
            weighted_quantile(xs.clone(), BAND.1) - weighted_quantile(xs, BAND.0)
        }
    }
}

/// Runs the calibration.
pub fn calibrate(cal: &Calibration, options: &CalibrateOptions) -> Result<CalibrateOutcome> {
    let started = std::time::Instant::now();
    let path = &cal.path;
    let mut abc = Abc::new(cal.parameters.clone(), cal.spec).map_err(|e| invalid(path, "parameters", e, "a valid prior"))?;
    let out = &options.out;
    let Prepared { sha, stale_temps_removed, .. } = prepare(&cal.experiment, out, options.resume, false, &options.budget, &cal.describe())?;
    let mut runner =
        Runner { design: cal.experiment.clone(), options, sha: sha.clone(), limits: Vec::new(), reps: Vec::new(), executed: 0, skipped: 0 };
    let adaptive = cal.raw.calibration.distance == "adaptive";
    let mut scales: Vec<f64> = Vec::new();
    // Every simulated particle's statistics, by number: an adaptive distance re-scores the population.
    let mut particle_stats: std::collections::BTreeMap<usize, Vec<f64>> = std::collections::BTreeMap::new();
    let mut posterior_rows = Vec::new();
    let target_scale = cal.raw.calibration.scale;
    let stop = loop {
        let generation = abc.generations().len();
        let (base, scale) = match &cal.early {
            Some(e) if generation < e.generations => (&e.base, e.scale),
            _ => (&cal.experiment.base, target_scale),
        };
        let pending = abc.pending().to_vec();
        let mut configs = Vec::with_capacity(pending.len());
        for p in &pending {
            configs.push(runner.add(base, &abc.values(&p.theta), cal, format!("generation {} particle {}", p.generation, p.id))?);
        }
        let records = runner.run(&configs)?;
        let stats: Vec<Vec<f64>> = records.iter().zip(&pending).map(|(r, p)| cal.statistics_of(r, scale, p.id, true)).collect();
        for (p, st) in pending.iter().zip(&stats) {
            particle_stats.insert(p.id, st.clone());
        }
        // The scales of the distance: this generation's spread (adaptive), or the prior predictive's.
        scales = if generation == 0 {
            cal.scales(&stats)
        } else if adaptive {
            // Over the whole population about to be judged: the kept particles and the new ones.
            let pool: Vec<Vec<f64>> =
                abc.population().iter().map(|p| particle_stats[&p.proposal.id].clone()).chain(stats.iter().cloned()).collect();
            cal.scales(&pool)
        } else {
            scales
        };
        let distances: Vec<f64> = stats.iter().map(|s| cal.distance(s, &scales)).collect();
        let population: Option<Vec<f64>> = (adaptive && generation > 0)
            .then(|| abc.population().iter().map(|p| cal.distance(&particle_stats[&p.proposal.id], &scales)).collect());
        let mut status = abc
            .observe_with(&distances, population.as_deref())
            .map_err(|e| invalid(path, "calibration", e, "distances the procedure can use"))?;
        posterior_rows.extend(population_rows(cal, &abc, scale));
        let g = abc.generations().last().expect("a generation was observed").clone();
        if options.progress {
            eprintln!(
                "generation {}: {} runs at scale {scale}, tolerance {:.4}, acceptance {:.1}%, effective sample size {:.0}",
                g.index,
                g.simulated,
                g.epsilon,
                100.0 * g.acceptance,
                g.ess
            );
        }
        // The last early generation: its population simulated again at the target scale, and judged there.
        if cal
            .early
            .as_ref()
            .is_some_and(|e| generation + 1 == e.generations || (generation + 1 < e.generations && status != Status::Running))
        {
            let population = abc.population().to_vec();
            let mut configs = Vec::with_capacity(population.len());
            for p in &population {
                let label = format!("generation {} particle {} at scale {target_scale}", g.index, p.proposal.id);
                configs.push(runner.add(&cal.experiment.base, &abc.values(&p.proposal.theta), cal, label)?);
            }
            let records = runner.run(&configs)?;
            let mut distances = Vec::with_capacity(population.len());
            for (r, p) in records.iter().zip(&population) {
                let st = cal.statistics_of(r, target_scale, p.proposal.id, true);
                distances.push(cal.distance(&st, &scales));
                particle_stats.insert(p.proposal.id, st);
            }
            status = abc.rescore(&distances).map_err(|e| invalid(path, "calibration", e, "distances the procedure can use"))?;
            posterior_rows.extend(population_rows(cal, &abc, target_scale));
            if options.progress {
                eprintln!(
                    "generation {}: its {} particles again at scale {target_scale}, tolerance {:.4}",
                    g.index,
                    population.len(),
                    abc.generations().last().map_or(f64::NAN, |g| g.epsilon)
                );
            }
        }
        if let Status::Done(stop) = status {
            break stop;
        }
    };
    // The posterior predictive: fresh runs at draws from the final population, by weight.
    let population = abc.population().to_vec();
    let total: f64 = population.iter().map(|p| p.proposal.weight).sum();
    let mut rng = stream(cal.spec.seed, 0, "calibrate/predictive-draws");
    let draws: Vec<Vec<f64>> = (0..cal.raw.calibration.predictive)
        .map(|_| {
            let mut u = rng.random::<f64>() * total;
            let chosen = population
                .iter()
                .find(|p| {
                    u -= p.proposal.weight;
                    u < 0.0
                })
                .unwrap_or_else(|| population.last().expect("a population"));
            abc.values(&chosen.proposal.theta)
        })
        .collect();
    let mut configs = Vec::new();
    for (i, d) in draws.iter().enumerate() {
        configs.push(runner.add(&cal.experiment.base, d, cal, format!("posterior draw {i}"))?);
    }
    let records = runner.run(&configs)?;
    let predictive: Vec<Vec<f64>> = records.iter().zip(&configs).map(|(r, &c)| cal.statistics_of(r, target_scale, c, false)).collect();
    let predictive_summary = predictive_summary(&records, target_scale);
    let mut predictive_rows = Vec::new();
    for (k, s) in cal.statistics.iter().enumerate() {
        let values: Vec<f64> = predictive.iter().map(|v| v[k]).filter(|x| x.is_finite()).collect();
        let mean = if values.is_empty() { f64::NAN } else { values.iter().sum::<f64>() / values.len() as f64 };
        let q = |q: f64| weighted_quantile(values.iter().map(|&v| (v, 1.0)).collect(), q);
        let (kind, platform, metric, minute) = match &s.reading {
            Reading::Minute { platform, minute, metric } => ("series", platform.clone(), metric.name().to_owned(), *minute as f64),
            Reading::Summary { platform, .. } | Reading::Onset { platform, .. } => {
                ("target", platform.clone(), s.name.split_once('.').map_or("", |x| x.1).to_owned(), f64::NAN)
            }
        };
        predictive_rows.push(vec![
            ("kind".into(), Field::Str(kind.into())),
            ("statistic".into(), Field::Str(s.name.clone())),
            ("platform".into(), Field::Str(platform)),
            ("metric".into(), Field::Str(metric)),
            ("minute".into(), Field::F64(minute)),
            ("clock".into(), Field::Str(s.clock.clone())),
            ("observed".into(), Field::F64(s.observed)),
            ("observed_sd".into(), Field::F64(s.sd)),
            ("scale".into(), Field::F64(scales[k])),
            ("weight".into(), Field::F64(s.weight)),
            ("predictive_mean".into(), Field::F64(mean)),
            ("predictive_lo".into(), Field::F64(q(BAND.0))),
            ("predictive_hi".into(), Field::F64(q(BAND.1))),
        ]);
    }
    // Each parameter's posterior.
    let parameter_notes: Vec<ParameterNote> = cal
        .parameters
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (q05, q95) = (abc.quantile(k, BAND.0), abc.quantile(k, BAND.1));
            ParameterNote {
                name: p.name.clone(),
                prior: prior_text(p),
                min: p.min,
                max: p.max,
                prior_mean: match p.prior {
                    Prior::Normal { mean, .. } => Some(mean),
                    _ => None,
                },
                prior_sd: match p.prior {
                    Prior::Normal { sd, .. } => Some(sd),
                    _ => None,
                },
                mean: abc.mean(k),
                median: abc.quantile(k, 0.5),
                q05,
                q95,
                narrowing: (q95 - q05) / prior_band(p),
                integer: p.integer,
                also: cal.fields[k][1..].to_vec(),
            }
        })
        .collect();
    let generations: Vec<GenerationNote> = abc
        .generations()
        .iter()
        .map(|g| GenerationNote { generation: g.index, runs: g.simulated, epsilon: g.epsilon, acceptance: g.acceptance, ess: g.ess })
        .collect();
    // The tables, the scenario files, then the manifest.
    let plan: super::Plan = read_json(&out.join("plan.json"))?;
    let plan_json = serde_json::to_string(&plan).map_err(|e| Error::Write { path: out.join("plan.json"), message: e.to_string() })?;
    let run_id = output::run_id("calibration", &[("rentree_version", env!("CARGO_PKG_VERSION").to_owned()), ("plan", plan_json)]);
    let tables = [POSTERIOR_TABLE, PREDICTIVE_TABLE];
    output::begin_results(out, &tables, &[])?;
    let mut files = Vec::new();
    for (name, rows) in [(POSTERIOR_TABLE, &posterior_rows), (PREDICTIVE_TABLE, &predictive_rows)] {
        let mut df = output::frame(rows).map_err(|e| Error::Write { path: out.to_owned(), message: e.to_string() })?;
        let p = out.join(name);
        output::write_parquet(&p, &mut df, &run_id)?;
        files.push(p);
    }
    let calibrated = calibrated_scenario(cal, &parameter_notes, &generations)?;
    let p = out.join(CALIBRATED_SCENARIO);
    output::write_atomic(&p, |f| std::io::Write::write_all(f, calibrated.as_bytes()).map_err(|e| e.to_string()))?;
    files.push(p);
    let p = out.join(DRAWS_EXPERIMENT);
    let draws_text = draws_experiment(cal, &draws);
    output::write_atomic(&p, |f| std::io::Write::write_all(f, draws_text.as_bytes()).map_err(|e| e.to_string()))?;
    files.push(p);
    let scale = cal.raw.calibration.scale;
    let faithful_scale = cal.experiment.base.scenario()?.faithful_scale;
    let manifest = CalibrationManifest {
        rentree_version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id,
        calibration: cal.raw.calibration.name.clone(),
        calibration_file: path.display().to_string(),
        calibration_sha256: sha,
        method: "ABC-SMC: adaptive population Monte Carlo (Lenormand, Jabot and Deffuant 2013) with Beaumont et al. (2009) weights".into(),
        scale,
        faithful_scale,
        scale_warning: crate::scenario::fidelity::classify(scale, faithful_scale).warning(),
        particles: cal.spec.particles,
        stop: match stop {
            Stop::Converged => "converged".into(),
            Stop::Stalled => "stalled at the simulator's noise".into(),
            Stop::MaxGenerations => "max_generations".into(),
        },
        generations,
        parameters: parameter_notes,
        statistics: cal.statistics.len(),
        predictive_runs: records.len(),
        predictive_summary,
        runs: runner.reps.iter().sum(),
        invocation: SweepInvocation::since(path, runner.executed, runner.skipped, options.jobs, started),
        files: output::file_entries(out, &[POSTERIOR_TABLE, PREDICTIVE_TABLE, CALIBRATED_SCENARIO, DRAWS_EXPERIMENT, "plan.json"])?,
    };
    files.push(output::finish_results(out, &manifest)?);
    Ok(CalibrateOutcome { manifest, files, stale_temps_removed })
}

/// Every whole-system summary metric over the runs `records` made at scale `scale`, counts and levels in
/// real units.
fn predictive_summary(records: &[RunRecord], scale: f64) -> Vec<PredictiveMetric> {
    SummaryColumn::metrics()
        .filter_map(|m| {
            let per = if m.merge().additive() { scale } else { 1.0 };
            let values: Vec<(f64, f64)> =
                records.iter().filter_map(|r| r.metric(m)).filter(|x| x.is_finite()).map(|x| (x / per, 1.0)).collect();
            if values.is_empty() {
                return None;
            }
            Some(PredictiveMetric {
                metric: m.name().to_owned(),
                mean: values.iter().map(|v| v.0).sum::<f64>() / values.len() as f64,
                q05: weighted_quantile(values.clone(), BAND.0),
                median: weighted_quantile(values.clone(), 0.5),
                q95: weighted_quantile(values, BAND.1),
            })
        })
        .collect()
}

/// The rows of `posterior.parquet` for the current population, its distances made at scale `scale`.
fn population_rows(cal: &Calibration, abc: &Abc, scale: f64) -> Vec<Vec<(String, Field)>> {
    let g = abc.generations().last().expect("a generation was observed");
    let total: f64 = abc.population().iter().map(|p| p.proposal.weight).sum();
    abc.population()
        .iter()
        .map(|particle| {
            let mut row: Vec<(String, Field)> = vec![
                ("generation".into(), Field::U64(g.index as u64)),
                ("scale".into(), Field::F64(scale)),
                ("particle".into(), Field::U64(particle.proposal.id as u64)),
                ("proposed_in".into(), Field::U64(particle.proposal.generation as u64)),
                ("weight".into(), Field::F64(particle.proposal.weight / total)),
                ("distance".into(), Field::F64(particle.distance)),
                ("epsilon".into(), Field::F64(g.epsilon)),
            ];
            for (p, v) in cal.parameters.iter().zip(abc.values(&particle.proposal.theta)) {
                row.push((p.name.clone(), Field::F64(v)));
            }
            row
        })
        .collect()
}

/// A TOML key for a dotted path.
fn key(path: &str) -> String {
    toml::Value::String(path.to_owned()).to_string()
}

/// The base scenario's text with `[variants.calibrated]`: the calibration's variant and shared overrides,
/// then each parameter at its posterior median.
fn calibrated_scenario(cal: &Calibration, notes: &[ParameterNote], generations: &[GenerationNote]) -> Result<String> {
    let text = cal.experiment.base.text();
    let raw: crate::scenario::raw::RawScenario =
        toml::from_str(text).map_err(|e| Error::Parse { path: cal.experiment.base.origin().to_owned(), message: e.to_string() })?;
    if raw.variants.contains_key(CALIBRATED_VARIANT) {
        return Err(invalid(
            &cal.path,
            "calibration.scenario",
            format!("a scenario that already has [variants.{CALIBRATED_VARIANT}]"),
            "a base scenario without that variant, which calibrated.toml adds",
        ));
    }
    let s = &cal.raw.calibration;
    let mut out = text.trim_end().to_owned();
    out.push_str(&format!(
        "\n\n[variants.{CALIBRATED_VARIANT}]\n# Written by `rentree calibrate` from {} ({:?}): each parameter at its posterior median, after {} \
         generation(s) of {} particles at scale {} (tolerance {:.4}). 90% credible intervals:\n",
        cal.path.display(),
        s.name,
        generations.len(),
        s.particles,
        s.scale,
        generations.last().map_or(f64::NAN, |g| g.epsilon)
    ));
    for n in notes {
        out.push_str(&format!("#   {} = {} [{}, {}] (prior {} on [{}, {}])\n", n.name, n.median, n.q05, n.q95, n.prior, n.min, n.max));
    }
    if let Some(v) = &s.variant {
        for o in Override::variant(text, cal.experiment.base.origin(), v)? {
            out.push_str(&format!("{} = {}\n", key(&o.path.join(".")), o.value));
        }
    }
    for (p, v) in &s.set {
        out.push_str(&format!("{} = {v}\n", key(p)));
    }
    for ((p, n), fields) in cal.parameters.iter().zip(notes).zip(&cal.fields) {
        for f in fields {
            out.push_str(&format!("{} = {}\n", key(f), number(n.median, p.integer)));
        }
    }
    Ok(out)
}

/// An experiment sweeping the posterior's draws (a zip design over the parameters) on `calibrated.toml`.
fn draws_experiment(cal: &Calibration, draws: &[Vec<f64>]) -> String {
    let s = &cal.raw.calibration;
    let mut out = format!(
        "# Written by `rentree calibrate` from {}: {} draws from the posterior, by weight, as a zip design.\n\
         # `rentree sweep {DRAWS_EXPERIMENT}` runs the scenario over them: its answers' spread is the calibration's uncertainty.\n\
         [experiment]\nname = {}\nscenario = \"{CALIBRATED_SCENARIO}\"\nscale = {}\nreplications = 2\nseed = {}\ndesign = \"zip\"\n",
        cal.path.display(),
        draws.len(),
        toml::Value::String(format!("{}: posterior draws", s.name)),
        toml::Value::Float(s.scale),
        s.seed
    );
    // The runs start from the calibrated variant's shared overrides (the variant and `set`), not its medians.
    let mut shared: Vec<(String, toml::Value)> = Vec::new();
    if let Some(v) = &s.variant {
        if let Ok(overrides) = Override::variant(cal.experiment.base.text(), cal.experiment.base.origin(), v) {
            shared.extend(overrides.into_iter().map(|o| (o.path.join("."), o.value)));
        }
    }
    shared.extend(s.set.iter().map(|(p, v)| (p.clone(), v.clone())));
    if !shared.is_empty() {
        out.push_str("set = { ");
        out.push_str(&shared.iter().map(|(p, v)| format!("{} = {v}", key(p))).collect::<Vec<_>>().join(", "));
        out.push_str(" }\n");
    }
    out.push_str("\n[grid]\n");
    for (k, p) in cal.parameters.iter().enumerate() {
        let values: Vec<String> = draws.iter().map(|d| number(d[k], p.integer).to_string()).collect();
        // A zip design: a parameter's further fields take the same list, so the same value in each run.
        for f in &cal.fields[k] {
            out.push_str(&format!("{} = [{}]\n", key(f), values.join(", ")));
        }
    }
    out
}

/// A calibration shipped with a built-in model (`models/calibration/`), read from its manifest as embedded
/// in the binary: what a run of that model as it stands quotes beside its own figures, with no extra run.
#[derive(Debug, Clone, Deserialize)]
pub struct ShippedCalibration {
    /// Its folder in the repository.
    #[serde(skip)]
    pub folder: &'static str,
    /// The calibration's run id.
    pub run_id: String,
    /// Its name.
    pub calibration: String,
    /// The scale of its runs.
    pub scale: f64,
    /// Its posterior-predictive runs.
    pub predictive_runs: usize,
    /// Every whole-system summary metric over them, in real units.
    pub predictive_summary: Vec<PredictiveMetric>,
    /// Each parameter's posterior.
    pub parameters: Vec<ParameterNote>,
}

impl ShippedCalibration {
    /// The calibration shipped with the built-in model whose text is `text`, if any.
    pub fn for_scenario(text: &str) -> Option<ShippedCalibration> {
        crate::builtin::CALIBRATED.iter().find(|c| c.model.text == text).map(|c| {
            let mut shipped: ShippedCalibration =
                serde_json::from_str(c.manifest).expect("a shipped calibration's manifest parses (tested)");
            shipped.folder = c.folder;
            shipped
        })
    }

    /// The note of a run at scale `scale` whose summary metrics are `value`: each metric's band in the run's
    /// units (counts and levels at its scale).
    pub fn note(&self, scale: f64, value: impl Fn(SummaryColumn) -> Option<f64>) -> output::CalibratedNote {
        let metrics = self
            .predictive_summary
            .iter()
            .filter_map(|p| {
                let m = parse_metric::<SummaryColumn>(&p.metric).ok()?;
                let per = if m.merge().additive() { scale } else { 1.0 };
                Some(output::CalibratedMetric {
                    metric: p.metric.clone(),
                    value: value(m).unwrap_or(f64::NAN),
                    q05: p.q05 * per,
                    median: p.median * per,
                    q95: p.q95 * per,
                })
            })
            .collect();
        output::CalibratedNote {
            calibration: self.folder.to_owned(),
            calibration_run_id: self.run_id.clone(),
            calibration_scale: self.scale,
            predictive_runs: self.predictive_runs,
            metrics,
        }
    }
}

/// A calibration's posterior read back from its results folder: what `rentree run --posterior DIR` applies.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// The folder.
    pub dir: PathBuf,
    /// The calibration's run id.
    pub run_id: String,
    /// Each parameter's posterior summary (median, interval, whether it is an integer).
    pub parameters: Vec<ParameterNote>,
    /// The final population: each particle's values (in `parameters` order) and normalised weight.
    pub particles: Vec<(Vec<f64>, f64)>,
}

impl Posterior {
    /// Reads the posterior of the calibration folder `dir`, refusing a folder its manifest does not vouch
    /// for, or one that is not a calibration's.
    pub fn load(dir: &Path) -> Result<Posterior> {
        let checked = output::check_results(dir)?;
        let not_calibration = || {
            Error::Parse {
            path: dir.to_owned(),
            message: "not a calibration's results folder (no posterior.parquet in its manifest): give --posterior the --out folder of `rentree calibrate`".into(),
        }
        };
        if !checked.has(POSTERIOR_TABLE) {
            return Err(not_calibration());
        }
        #[derive(Deserialize)]
        struct Head {
            parameters: Vec<ParameterNote>,
        }
        let head: Head = read_json(&dir.join(output::MANIFEST)).map_err(|_| not_calibration())?;
        let table = output::read_table(&dir.join(POSTERIOR_TABLE))?;
        let generation = table.num("generation")?;
        let last = generation.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weight = table.num("weight")?;
        let columns = head.parameters.iter().map(|p| table.num(&p.name)).collect::<Result<Vec<_>>>()?;
        let particles =
            (0..table.height).filter(|&i| generation[i] == last).map(|i| (columns.iter().map(|c| c[i]).collect(), weight[i])).collect();
        Ok(Posterior { dir: dir.to_owned(), run_id: checked.run_id, parameters: head.parameters, particles })
    }

    fn overrides(&self, values: &[f64], what: &str) -> Vec<Override> {
        let origin = format!("--posterior {} ({what})", self.dir.display());
        self.parameters
            .iter()
            .zip(values)
            .flat_map(|(p, &v)| {
                let value = number(v, p.integer);
                std::iter::once(&p.name).chain(&p.also).map(|f| Override::set(&origin, f, &value)).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The overrides that set every parameter to its posterior median.
    pub fn median_overrides(&self) -> Vec<Override> {
        let medians: Vec<f64> = self.parameters.iter().map(|p| p.median).collect();
        self.overrides(&medians, "posterior median")
    }

    /// `count` draws from the posterior by weight, each as the overrides that apply it; a function of
    /// `seed`.
    pub fn draws(&self, count: usize, seed: u64) -> Vec<Vec<Override>> {
        let total: f64 = self.particles.iter().map(|p| p.1).sum();
        let mut rng = stream(seed, 0, "calibrate/posterior-draws");
        (0..count)
            .map(|i| {
                let mut u = rng.random::<f64>() * total;
                let chosen = self
                    .particles
                    .iter()
                    .find(|p| {
                        u -= p.1;
                        u < 0.0
                    })
                    .unwrap_or_else(|| self.particles.last().expect("a posterior has particles"));
                self.overrides(&chosen.0, &format!("posterior draw {i}"))
            })
            .collect()
    }
}
