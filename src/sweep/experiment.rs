//! Experiment files: a base scenario, a design over dotted paths, replications and a master seed.
//!
//! ```toml
//! [experiment]
//! name = "quota strategies"
//! scenario = "../../models/france-2021-04-06.toml"   # relative to this file, or "builtin:replay"
//! scale = 0.01
//! replications = 5
//! seed = 20210406
//! design = "strategies"                              # grid | zip | strategies | lhs
//! set = { "platforms.ent.pool.servers" = 120 }         # overrides every configuration shares (optional)
//!
//! [[strategy]]
//! name = "no quota"
//! set = { "platforms.ent.admission" = [] }
//!
//! [grid]                                             # design = "grid" (full factorial) or "zip" (paired lists)
//! "platforms.pronote.pool.servers" = [50, 100, 200]
//!
//! [lhs]                                              # design = "lhs": Latin hypercube over ranges
//! samples = 12
//! ranges = { "platforms.pronote.pool.servers" = { min = 50, max = 400, integer = true } }
//! ```

use crate::engine::stream;
use crate::error::{Error, Result};
use crate::scenario::{Override, Scenario, Source};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most replications per configuration an experiment may ask for (a part file each).
pub const MAX_REPLICATIONS: u64 = 100_000;

/// The most configurations a design may produce (each is a validated scenario held in memory).
pub const MAX_CONFIGS: usize = 100_000;

/// The largest integer a float holds exactly (2^53): the bound of an integer LHS range.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// One configuration of a design before it is validated: (label, parameter columns, overrides).
type Design = (String, Vec<(String, String)>, Vec<Override>);

/// The file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Run-wide settings.
    pub experiment: RawSettings,
    /// Axes of a `grid` or `zip` design.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, Vec<serde_json::Value>>")]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    /// Named strategies of a `strategies` design.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strategy: Vec<RawStrategy>,
    /// A Latin hypercube design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lhs: Option<RawLhs>,
    /// The problem of `rentree optimize` (`design = "optimize"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimize: Option<RawOptimize>,
    /// The trigger's removal and the criterion of recovery of `rentree stability`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<RawStability>,
}

/// `[stability]`: what `rentree stability` compares and how. Each configuration of the design carries a
/// trigger (a surge cohort, an incident); its *baseline twin* is the same configuration with the `baseline`
/// overrides, which remove the trigger, run on the same random streams.
///
/// ```toml
/// [stability]
/// platform = "portal"                                  # whose recovery is judged
/// removal_s = 660.0                                    # when the trigger ends, seconds from the start
/// band = 0.15                                          # goodput within 15% of the twin's, orbit excess
///                                                      # within 15% of its peak
/// hold_s = 300.0                                       # for 5 minutes in a row
/// slow_s = 900.0                                       # recovering later than this is "vulnerable"
/// baseline = { "cohorts.surge.arrivals.count" = 0 }    # the trigger removed
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStability {
    /// The platform whose goodput and orbit are compared.
    pub platform: String,
    /// When the trigger ends, seconds from the start of the run.
    pub removal_s: f64,
    /// The tolerance, a share of the twin's goodput and of the largest excess orbit.
    #[serde(default = "default_band")]
    pub band: f64,
    /// How long the run must stay within the band, seconds (rounded up to whole minutes).
    #[serde(default = "default_hold_s")]
    pub hold_s: f64,
    /// The longest recovery, seconds after the removal, still called stable.
    #[serde(default = "default_slow_s")]
    pub slow_s: f64,
    /// Overrides that remove the trigger from a configuration: its baseline twin.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub baseline: BTreeMap<String, toml::Value>,
}

fn default_band() -> f64 {
    0.1
}
fn default_hold_s() -> f64 {
    300.0
}
fn default_slow_s() -> f64 {
    600.0
}

/// `[optimize]`: knobs, a cost to minimise, and constraints on summary metrics.
///
/// ```toml
/// [optimize]
/// constraints = ["served_share_by_0900>=0.9+-0.01"]   # METRIC<=Q+-EPS or METRIC>=Q+-EPS, on run means
/// [optimize.knobs]
/// "platforms.pronote.pool.servers" = { min = 100, max = 2000, step = 50, integer = true }
/// [optimize.cost]
/// linear = { "platforms.pronote.pool.servers" = 1.0 }   # price per unit of each knob; or
/// # server_hours = { pronote = 1.0 }                   # price per server-hour of each platform; or
/// # metric = "server_hours", delta = 5.0               # any summary metric, told apart to within delta
/// [optimize.start]                                      # optional: a point to start from, every knob
/// "platforms.pronote.pool.servers" = 350
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOptimize {
    /// The knobs: dotted path → the lattice of its values.
    pub knobs: BTreeMap<String, RawKnob>,
    /// What a configuration costs.
    pub cost: RawCost,
    /// Constraints on summary metrics' means, `METRIC<=THRESHOLD+-TOLERANCE` or `>=`.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Where the search starts, beside its uniform draws (dotted path → a value on that knob's lattice,
    /// every knob given): a configuration known to be good, such as a reduced scale's answer to be
    /// refined at full scale, spares the runs of finding its region again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub start: BTreeMap<String, f64>,
}

/// A knob's values: `min, min + step, …` up to `max`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKnob {
    /// The smallest value.
    pub min: f64,
    /// The largest value (reached when `max − min` is a multiple of `step`).
    pub max: f64,
    /// The spacing of values.
    #[serde(default = "one")]
    pub step: f64,
    /// Values are written as integers (servers, quotas).
    #[serde(default)]
    pub integer: bool,
}

/// `[optimize.cost]`: exactly one of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCost {
    /// Price per unit of each knob's value (dotted path → price): a known, deterministic cost.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub linear: BTreeMap<String, f64>,
    /// Price per server-hour paid by each platform's pool (platform → price), from the run's minutes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub server_hours: BTreeMap<String, f64>,
    /// A summary metric's mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// For a noisy cost (`server_hours`, `metric`): differences in cost smaller than this are not worth
    /// telling apart (the indifference zone of the final selection), in the cost's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
}

/// `[experiment]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// Name, shown in reports.
    pub name: String,
    /// What the study asks.
    #[serde(default)]
    pub description: String,
    /// Base scenario: a path relative to the experiment file, or `builtin:replay` / `builtin:evening`.
    pub scenario: String,
    /// Population and capacity scale of every run.
    #[serde(default = "one")]
    pub scale: f64,
    /// Replications per configuration.
    pub replications: u64,
    /// Master seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Common random numbers: replication r of every configuration sees the same random streams.
    #[serde(default = "yes")]
    pub crn: bool,
    /// `grid`, `zip`, `strategies` or `lhs`.
    pub design: String,
    /// Overrides of the base scenario shared by every configuration (dotted path → value), applied before
    /// the design's own: what the study fixes, kept out of the configurations' labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub set: BTreeMap<String, toml::Value>,
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_seed() -> u64 {
    1
}

/// One `[[strategy]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    /// Its name.
    pub name: String,
    /// A variant of the scenario (one of its `[variants]`) to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Overrides: dotted path → value, applied after the variant's.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub set: BTreeMap<String, toml::Value>,
}

/// `[lhs]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLhs {
    /// Number of configurations.
    pub samples: usize,
    /// Range per dotted path.
    pub ranges: BTreeMap<String, RawRange>,
}

/// A range of an LHS axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Round samples to integers.
    #[serde(default)]
    pub integer: bool,
}

/// One configuration: a label, its parameter values and the overrides that make it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Index in the experiment.
    pub index: usize,
    /// Human label (strategy name, or `path=value, …`).
    pub label: String,
    /// Parameter columns for the result tables: (dotted path or `strategy`, value as text).
    pub params: Vec<(String, String)>,
    /// The overrides applied to the base scenario.
    pub overrides: Vec<Override>,
    /// The validated scenario.
    pub scenario: Scenario,
    /// Where its replications' random streams start: replication `r` uses stream `stream_offset + r`. Zero
    /// but for an optimisation's clean-up, which needs replications fresh from those the search saw.
    pub stream_offset: u64,
}

/// A validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file as parsed.
    pub raw: RawExperiment,
    /// Where it came from.
    pub path: PathBuf,
    /// Configurations, in design order.
    pub configs: Vec<Config>,
    /// Names of the parameter columns, in order.
    pub param_names: Vec<String>,
    /// The base scenario, scaled: what every configuration's overrides apply to.
    pub base: Source,
    /// The validated `[optimize]` problem (`design = "optimize"`, whose configurations are drawn by the
    /// search: `configs` is empty until then).
    pub problem: Option<Problem>,
}

/// A validated `[optimize]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The knobs, in the table's (sorted) order.
    pub knobs: Vec<Knob>,
    /// The cost.
    pub cost: Cost,
    /// The constraints.
    pub constraints: Vec<super::select::MetricConstraint>,
    /// The point the search starts from (an index into each knob's values), if the file gives one.
    pub start: Option<Vec<u64>>,
}

/// One knob of an optimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Knob {
    /// Its dotted path.
    pub path: String,
    /// Its values, increasing.
    pub values: Vec<f64>,
    /// Written as integers.
    pub integer: bool,
}

impl Knob {
    /// Value `i` as the TOML value the override writes.
    pub fn value(&self, i: usize) -> toml::Value {
        if self.integer {
            toml::Value::Integer(self.values[i].round() as i64)
        } else {
            toml::Value::Float(self.values[i])
        }
    }
}

/// What a configuration of an optimisation costs.
#[derive(Debug, Clone, PartialEq)]
pub enum Cost {
    /// Σ price × value over the knobs (a price per knob, 0 for knobs without one): known without running.
    Linear(Vec<f64>),
    /// Σ price × server-hours over platforms, from each run's minutes; told apart to within `delta`.
    ServerHours {
        /// Platform → price per server-hour.
        prices: BTreeMap<String, f64>,
        /// The indifference zone, in the cost's unit.
        delta: f64,
    },
    /// A summary metric's mean; told apart to within `delta`.
    Metric {
        /// The metric.
        metric: crate::metrics::SummaryColumn,
        /// The indifference zone, in the metric's unit.
        delta: f64,
    },
}

/// The most values a knob may have, and the most points a knob lattice may have.
const MAX_KNOB_VALUES: usize = 1_000_000;

impl Problem {
    fn from_raw(raw: &RawOptimize, path: &Path) -> Result<Problem> {
        if raw.knobs.is_empty() {
            return Err(invalid(path, "optimize.knobs", "{}", "at least one \"dotted.path\" = { min = …, max = …, step = … }"));
        }
        let mut knobs = Vec::new();
        for (p, k) in &raw.knobs {
            let field = format!("optimize.knobs.\"{p}\"");
            if !(k.min.is_finite() && k.max.is_finite() && k.min <= k.max) {
                return Err(invalid(path, &field, format!("min {} max {}", k.min, k.max), "finite bounds with min <= max"));
            }
            if !(k.step.is_finite() && k.step > 0.0) {
                return Err(invalid(path, &field, format!("step {}", k.step), "a step > 0"));
            }
            let count = ((k.max - k.min) / k.step + 1e-9).floor() + 1.0;
            if count > MAX_KNOB_VALUES as f64 {
                return Err(invalid(path, &field, format!("{count} values"), &format!("at most {MAX_KNOB_VALUES} values: a larger step")));
            }
            if k.integer
                && (k.min.fract() != 0.0 || k.step.fract() != 0.0 || k.min.abs() > MAX_EXACT_INTEGER || k.max.abs() > MAX_EXACT_INTEGER)
            {
                return Err(invalid(
                    path,
                    &field,
                    format!("min {} step {}", k.min, k.step),
                    "whole numbers within ±2^53 for an integer knob",
                ));
            }
            let values = (0..count as usize).map(|i| k.min + k.step * i as f64).collect();
            knobs.push(Knob { path: p.clone(), values, integer: k.integer });
        }
        let c = &raw.cost;
        let delta = |what: &str| -> Result<f64> {
            match c.delta {
                Some(d) if d.is_finite() && d > 0.0 => Ok(d),
                other => Err(invalid(
                    path,
                    "optimize.cost.delta",
                    other.map_or("nothing".into(), |d| d.to_string()),
                    &format!("a number > 0 with a {what} cost: the cost difference not worth telling apart"),
                )),
            }
        };
        let given = usize::from(!c.linear.is_empty()) + usize::from(!c.server_hours.is_empty()) + usize::from(c.metric.is_some());
        if given != 1 {
            return Err(invalid(path, "optimize.cost", format!("{given} kinds of cost"), "exactly one of linear, server_hours or metric"));
        }
        let price = |field: String, v: f64| -> Result<f64> {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(invalid(path, &field, v, "a price >= 0"))
            }
        };
        let cost = if !c.linear.is_empty() {
            if c.delta.is_some() {
                return Err(invalid(path, "optimize.cost.delta", "a delta with a linear cost", "no delta: a linear cost is known exactly"));
            }
            for p in c.linear.keys() {
                if !raw.knobs.contains_key(p) {
                    return Err(invalid(path, &format!("optimize.cost.linear.\"{p}\""), p, "one of the knobs of [optimize.knobs]"));
                }
            }
            let prices = knobs
                .iter()
                .map(|k| c.linear.get(&k.path).map_or(Ok(0.0), |&v| price(format!("optimize.cost.linear.\"{}\"", k.path), v)))
                .collect::<Result<Vec<f64>>>()?;
            Cost::Linear(prices)
        } else if !c.server_hours.is_empty() {
            for (p, &v) in &c.server_hours {
                price(format!("optimize.cost.server_hours.{p}"), v)?;
            }
            Cost::ServerHours { prices: c.server_hours.clone(), delta: delta("server_hours")? }
        } else {
            let name = c.metric.as_deref().unwrap_or_default();
            let metric = crate::metrics::columns::parse_metric::<crate::metrics::SummaryColumn>(name)
                .map_err(|e| invalid(path, "optimize.cost.metric", name, &e.expected()))?;
            Cost::Metric { metric, delta: delta("metric")? }
        };
        let constraints = raw
            .constraints
            .iter()
            .enumerate()
            .map(|(i, t)| {
                super::select::parse_constraint(t).map_err(|e| match e {
                    Error::Argument { found, expected, .. } => invalid(path, &format!("optimize.constraints[{i}]"), found, &expected),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if constraints.is_empty() && matches!(cost, Cost::Linear(_)) {
            return Err(invalid(
                path,
                "optimize.constraints",
                "[]",
                "at least one constraint with a linear cost (without one, the cheapest is every knob at its minimum)",
            ));
        }
        let start = start_point(raw, &knobs, path)?;
        Ok(Problem { knobs, cost, constraints, start })
    }
}

/// `[optimize.start]` as indices into the knobs' values: every knob, each at a value of its lattice.
fn start_point(raw: &RawOptimize, knobs: &[Knob], path: &Path) -> Result<Option<Vec<u64>>> {
    if raw.start.is_empty() {
        return Ok(None);
    }
    for p in raw.start.keys() {
        if !raw.knobs.contains_key(p) {
            return Err(invalid(path, &format!("optimize.start.\"{p}\""), p, "one of the knobs of [optimize.knobs]"));
        }
    }
    knobs
        .iter()
        .map(|k| {
            let field = format!("optimize.start.\"{}\"", k.path);
            let Some(&v) = raw.start.get(&k.path) else {
                return Err(invalid(path, &field, "nothing", "a value for every knob when a start is given"));
            };
            let (first, last) = (k.values[0], *k.values.last().expect("a knob has values"));
            let step = if k.values.len() > 1 { k.values[1] - first } else { 1.0 };
            let i = ((v - first) / step).round();
            // The lattice is min + i·step; a value written in decimal may be off it by rounding only.
            let on_lattice = v.is_finite()
                && i >= 0.0
                && (i as usize) < k.values.len()
                && (k.values[i as usize] - v).abs() <= 1e-9 * step.abs().max(v.abs());
            if !on_lattice {
                return Err(invalid(path, &field, v, &format!("a value of the knob's lattice: {first} to {last} in steps of {step}")));
            }
            Ok(i as u64)
        })
        .collect::<Result<Vec<u64>>>()
        .map(Some)
}

fn invalid(path: &Path, field: &str, found: impl ToString, expected: &str) -> Error {
    Error::Invalid { path: path.to_owned(), field: field.into(), found: found.to_string(), expected: expected.into() }
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Experiment {
    /// Reads and validates the experiment at `path`, and every scenario it defines.
    pub fn load(path: &Path) -> Result<Experiment> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        if !Experiment::is_experiment_text(&text) && crate::scenario::source::has_table(&text, "scenario") {
            return Err(Error::Parse {
                path: path.to_owned(),
                message: "this is a scenario file (it has a [scenario] table), not an experiment: run it with `rentree run FILE`, \
                          or name it in an experiment file's `experiment.scenario`"
                    .into(),
            });
        }
        let raw: RawExperiment =
            toml::from_str(&text).map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        Experiment::from_raw(raw, path)
    }

    /// Whether a file looks like an experiment (has an `[experiment]` table) rather than a scenario. A file
    /// that is not valid TOML is judged by its table headers, so that its own parse error, not a scenario's
    /// "unknown field `experiment`", is what the user sees.
    pub fn is_experiment_text(text: &str) -> bool {
        crate::scenario::source::is_experiment_text(text)
    }

    /// Validates a parsed experiment.
    pub fn from_raw(raw: RawExperiment, path: &Path) -> Result<Experiment> {
        let s = &raw.experiment;
        if !(2..=MAX_REPLICATIONS).contains(&s.replications) {
            return Err(invalid(
                path,
                "experiment.replications",
                s.replications,
                &format!("an integer from 2 (confidence intervals need two) to {MAX_REPLICATIONS}"),
            ));
        }
        if !(s.scale.is_finite() && s.scale > 0.0 && s.scale <= crate::scenario::MAX_SCALE) {
            return Err(invalid(path, "experiment.scale", s.scale, &format!("a number > 0 and at most {:e}", crate::scenario::MAX_SCALE)));
        }
        let origin = format!("{}, experiment.set", path.display());
        let common = s.set.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
        let base = Source::named(&s.scenario, path, "experiment.scenario")?.with(common).scaled(s.scale);
        // (label, params, overrides) per configuration.
        let mut designs: Vec<Design> = Vec::new();
        let param_names: Vec<String>;
        let mut problem = None;
        match s.design.as_str() {
            "grid" | "zip" => {
                if raw.grid.is_empty() {
                    return Err(invalid(path, "grid", "no axis", "a [grid] table of \"dotted.path\" = [values…]"));
                }
                param_names = raw.grid.keys().cloned().collect();
                let axes: Vec<(&String, &Vec<toml::Value>)> = raw.grid.iter().collect();
                for (p, vals) in &axes {
                    if vals.is_empty() {
                        return Err(invalid(path, &format!("grid.\"{p}\""), "[]", "at least one value"));
                    }
                }
                let count = axes.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()).filter(|&n| n <= MAX_CONFIGS));
                if s.design == "grid" && count.is_none() {
                    let sizes: Vec<String> = axes.iter().map(|(_, v)| v.len().to_string()).collect();
                    return Err(invalid(
                        path,
                        "grid",
                        format!("{} configurations ({})", sizes.join(" × "), "the product of the axes"),
                        &format!("at most {MAX_CONFIGS} configurations"),
                    ));
                }
                let combos: Vec<Vec<usize>> = if s.design == "grid" {
                    let mut out = vec![vec![]];
                    for (_, vals) in &axes {
                        out = out.into_iter().flat_map(|c| (0..vals.len()).map(move |i| [c.clone(), vec![i]].concat())).collect();
                    }
                    out
                } else {
                    let n = axes[0].1.len();
                    if let Some((p, v)) = axes.iter().find(|(_, v)| v.len() != n) {
                        return Err(invalid(
                            path,
                            &format!("grid.\"{p}\""),
                            format!("{} values", v.len()),
                            &format!("{n} values, as many as the other axes of a zip design"),
                        ));
                    }
                    (0..n).map(|i| vec![i; axes.len()]).collect()
                };
                for combo in combos {
                    let picks: Vec<(&String, &toml::Value)> = axes.iter().zip(&combo).map(|((p, v), &i)| (*p, &v[i])).collect();
                    let label = picks.iter().map(|(p, v)| format!("{}={}", short(p), value_text(v))).collect::<Vec<_>>().join(", ");
                    let params = picks.iter().map(|(p, v)| ((*p).clone(), value_text(v))).collect();
                    let origin = format!("{}, [grid]", path.display());
                    let overrides = picks.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
                    designs.push((label, params, overrides));
                }
            }
            "strategies" => {
                if raw.strategy.is_empty() {
                    return Err(invalid(path, "strategy", "no strategy", "[[strategy]] tables with a name and a set of overrides"));
                }
                param_names = vec!["strategy".into()];
                for (i, st) in raw.strategy.iter().enumerate() {
                    let mut overrides = match &st.variant {
                        Some(v) => Override::variant(base.text(), base.origin(), v).map_err(|e| match e {
                            // The variant is named here, in the experiment: say so, not `--variant`.
                            Error::Invalid { expected, found, .. } => Error::Invalid {
                                path: path.to_owned(),
                                field: format!("strategy[{i}].variant (strategy {:?})", st.name),
                                found,
                                expected: format!("{expected} in {}", base.origin().display()),
                            },
                            other => other,
                        })?,
                        None => Vec::new(),
                    };
                    let origin = format!("{}, strategy {:?}", path.display(), st.name);
                    overrides.extend(st.set.iter().map(|(p, v)| Override::set(&origin, p, v)));
                    designs.push((st.name.clone(), vec![("strategy".into(), st.name.clone())], overrides));
                }
            }
            "lhs" => {
                let Some(lhs) = &raw.lhs else {
                    return Err(invalid(path, "lhs", "no [lhs] table", "samples and ranges for a Latin hypercube"));
                };
                if lhs.samples < 2 {
                    return Err(invalid(path, "lhs.samples", lhs.samples, "an integer >= 2"));
                }
                if lhs.samples > MAX_CONFIGS {
                    return Err(invalid(path, "lhs.samples", lhs.samples, &format!("an integer from 2 to {MAX_CONFIGS}")));
                }
                if lhs.ranges.is_empty() {
                    return Err(invalid(path, "lhs.ranges", "{}", "at least one \"dotted.path\" = { min = …, max = … }"));
                }
                for (p, r) in &lhs.ranges {
                    let field = format!("lhs.ranges.\"{p}\"");
                    if !(r.min.is_finite() && r.max.is_finite() && r.min < r.max) {
                        return Err(invalid(path, &field, format!("min {} max {}", r.min, r.max), "finite bounds with min < max"));
                    }
                    // Integer samples are written as TOML integers: beyond 2^53 a float no longer holds every
                    // integer, and beyond i64 it cannot be written at all.
                    if r.integer && (r.min.abs() > MAX_EXACT_INTEGER || r.max.abs() > MAX_EXACT_INTEGER) {
                        return Err(invalid(
                            path,
                            &field,
                            format!("min {} max {}", r.min, r.max),
                            &format!("integer bounds within ±{MAX_EXACT_INTEGER} (2^53)"),
                        ));
                    }
                }
                param_names = lhs.ranges.keys().cloned().collect();
                // One stratum per sample on every axis, strata permuted independently per axis, a uniform
                // point inside each stratum: the standard Latin hypercube, seeded from the master seed.
                let mut rng = stream(s.seed, 0, "experiment/lhs");
                let columns: Vec<Vec<toml::Value>> = lhs
                    .ranges
                    .values()
                    .map(|r| {
                        let mut strata: Vec<usize> = (0..lhs.samples).collect();
                        strata.shuffle(&mut rng);
                        strata
                            .into_iter()
                            .map(|k| {
                                let u: f64 = rng.random();
                                let x = r.min + (r.max - r.min) * (k as f64 + u) / lhs.samples as f64;
                                if r.integer {
                                    toml::Value::Integer(x.round() as i64)
                                } else {
                                    toml::Value::Float(x)
                                }
                            })
                            .collect()
                    })
                    .collect();
                for i in 0..lhs.samples {
                    let picks: Vec<(&String, &toml::Value)> = param_names.iter().zip(&columns).map(|(p, c)| (p, &c[i])).collect();
                    let label = format!("lhs {i}");
                    let params = picks.iter().map(|(p, v)| ((*p).clone(), value_text(v))).collect();
                    let origin = format!("{}, [lhs]", path.display());
                    let overrides = picks.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
                    designs.push((label, params, overrides));
                }
            }
            "optimize" => {
                let Some(raw_problem) = &raw.optimize else {
                    return Err(invalid(path, "optimize", "no [optimize] table", "knobs, a cost and constraints for `rentree optimize`"));
                };
                if !raw.grid.is_empty() || !raw.strategy.is_empty() || raw.lhs.is_some() {
                    return Err(invalid(
                        path,
                        "experiment.design",
                        "\"optimize\" with a [grid], [[strategy]] or [lhs] table",
                        "one design: an optimisation draws its configurations from [optimize.knobs] alone",
                    ));
                }
                let p = Problem::from_raw(raw_problem, path)?;
                param_names = p.knobs.iter().map(|k| k.path.clone()).collect();
                problem = Some(p);
            }
            other => {
                return Err(invalid(
                    path,
                    "experiment.design",
                    format!("{other:?}"),
                    "one of \"grid\", \"zip\", \"strategies\", \"lhs\", \"optimize\"",
                ))
            }
        }
        if raw.optimize.is_some() && s.design != "optimize" {
            return Err(invalid(
                path,
                "optimize",
                format!("an [optimize] table with design = {:?}", s.design),
                "design = \"optimize\" (run with `rentree optimize`), or no [optimize] table",
            ));
        }
        if let Some(st) = &raw.stability {
            check_stability(st, s, path)?;
        }
        let mut configs = Vec::new();
        for (index, (label, params, overrides)) in designs.into_iter().enumerate() {
            let scenario = base.scenario_with(&overrides).map_err(|e| Error::Invalid {
                path: path.to_owned(),
                field: format!("configuration {index} ({label})"),
                found: e.to_string(),
                expected: "a valid scenario once its overrides are applied".into(),
            })?;
            configs.push(Config { index, label, params, overrides, scenario, stream_offset: 0 });
        }
        if let Some(st) = &raw.stability {
            let scenario = configs.first().map(|c| &c.scenario);
            if let Some(sc) = scenario {
                if !sc.platforms.iter().any(|p| p.name == st.platform) {
                    let names: Vec<&str> = sc.platforms.iter().map(|p| p.name.as_str()).collect();
                    return Err(invalid(
                        path,
                        "stability.platform",
                        format!("{:?}", st.platform),
                        &format!("one of the scenario's platforms: {}", names.join(", ")),
                    ));
                }
                let horizon_s = sc.horizon.as_secs_f64();
                if st.removal_s >= horizon_s {
                    return Err(invalid(
                        path,
                        "stability.removal_s",
                        st.removal_s,
                        &format!("a time before the horizon ({horizon_s} s), with time left to recover"),
                    ));
                }
            }
        }
        Ok(Experiment { raw, path: path.to_owned(), configs, param_names, base, problem })
    }

    /// The experiment over a calibration's posterior: each configuration `c` at each of the `draws` (a draw's
    /// overrides, from [`Posterior::draws`](super::calibrate::Posterior::draws)) becomes configuration
    /// `c × draws.len() + d`, labelled with its draw, whose parameter `posterior_draw` is `d`. The draw is
    /// applied first, so that a field a configuration sets itself (a decision such as a quota) keeps its
    /// value. With common random numbers, draw `d` of every configuration shares its streams and its
    /// parameters: configurations are compared at the same values of the unknowns.
    pub fn over_draws(&self, draws: &[Vec<Override>], origin: &Path) -> Result<Experiment> {
        let mut configs = Vec::with_capacity(self.configs.len() * draws.len());
        for c in &self.configs {
            for (d, draw) in draws.iter().enumerate() {
                let index = configs.len();
                let label = format!("{}, posterior draw {d}", c.label);
                let overrides: Vec<Override> = draw.iter().chain(&c.overrides).cloned().collect();
                let scenario = self.base.scenario_with(&overrides).map_err(|e| Error::Invalid {
                    path: origin.to_owned(),
                    field: format!("--posterior (configuration {} ({}), draw {d})", c.index, c.label),
                    found: e.to_string(),
                    expected: "a calibration whose parameters are fields of the experiment's scenario".into(),
                })?;
                let mut params = c.params.clone();
                params.push(("posterior_draw".into(), d.to_string()));
                configs.push(Config { index, label, params, overrides, scenario, stream_offset: c.stream_offset });
            }
        }
        let mut param_names = self.param_names.clone();
        param_names.push("posterior_draw".into());
        Ok(Experiment { configs, param_names, ..self.clone() })
    }

    /// Replications per configuration.
    pub fn replications(&self) -> u64 {
        self.raw.experiment.replications
    }

    /// The seed and replication index that run `replication` of `config` uses: with common random numbers
    /// every configuration shares the streams of replication r; without, each configuration gets its own.
    pub fn stream_of(&self, config: usize, replication: u64) -> (u64, u64) {
        let seed = self.raw.experiment.seed;
        let stream = self.configs[config].stream_offset + replication;
        if self.raw.experiment.crn {
            (seed, stream)
        } else {
            (seed ^ (config as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15), stream)
        }
    }
}

/// The checks of a `[stability]` table that need no scenario.
fn check_stability(st: &RawStability, s: &RawSettings, path: &Path) -> Result<()> {
    if !matches!(s.design.as_str(), "grid" | "zip" | "strategies" | "lhs") {
        return Err(invalid(
            path,
            "stability",
            format!("a [stability] table with design = {:?}", s.design),
            "a design with configurations (grid, zip, strategies, lhs) whose stability is studied",
        ));
    }
    if !s.crn {
        return Err(invalid(
            path,
            "experiment.crn",
            "false",
            "true: a stability study compares each run with its baseline twin on the same random streams",
        ));
    }
    if !(st.removal_s.is_finite() && st.removal_s >= 0.0) {
        return Err(invalid(path, "stability.removal_s", st.removal_s, "a time >= 0 s from the start of the run"));
    }
    if !(st.band.is_finite() && st.band > 0.0 && st.band < 1.0) {
        return Err(invalid(path, "stability.band", st.band, "a share > 0 and < 1 (e.g. 0.1)"));
    }
    if !(st.hold_s.is_finite() && st.hold_s > 0.0 && st.hold_s <= 1e7) {
        return Err(invalid(path, "stability.hold_s", st.hold_s, "a duration > 0 s (whole minutes; e.g. 300)"));
    }
    if !(st.slow_s.is_finite() && st.slow_s >= 0.0) {
        return Err(invalid(path, "stability.slow_s", st.slow_s, "a duration >= 0 s"));
    }
    if st.baseline.is_empty() {
        return Err(invalid(
            path,
            "stability.baseline",
            "{}",
            "the overrides that remove the trigger, e.g. { \"cohorts.surge.arrivals.count\" = 0 }",
        ));
    }
    Ok(())
}

/// The last component of a dotted path, for labels.
fn short(path: &str) -> &str {
    let parts: Vec<&str> = path.rsplitn(3, '.').collect();
    if parts.len() >= 2 {
        let n = path.len() - parts[0].len() - parts[1].len() - 1;
        &path[n..]
    } else {
        path
    }
}
