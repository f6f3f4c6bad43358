//! Scenario files: the TOML schema ([`raw`]) and its validation into a [`Scenario`] the world can run.
//!
//! Two stages, as in ripgrep's configuration: [`raw::RawScenario`] mirrors the file and only checks its shape
//! (types, known fields, known distribution names — the TOML parser reports line and column); [`Scenario`]
//! holds engine objects built from it after every value has been checked, with every problem of a file
//! reported at once, each naming its dotted field path, what was found and what was expected.
//!
//! The validation is split by what it checks: the shared checks and the collector of problems
//! (`validator.rs`), pools and their provisioning (`pool.rs`), sessions and retries (`session.rs`),
//! admission policies (`admission.rs`), attacks, protection and classes ([`attack`]). A rule of a policy
//! lives in the policy's checked constructor, which the validation calls; only rules about the scenario
//! itself (which cohorts, platforms and dependencies exist, instants and durations of the file, counts that
//! must fit the world's integers) live in this module.

mod admission;
pub mod attack;
pub mod fidelity;
pub mod overrides;
mod pool;
pub mod raw;
mod session;
pub mod source;
pub mod starter;
mod validator;

use crate::engine::{ArrivalProcess, DurationDist, SimTime};
use crate::error::{Error, Result};
use raw::RawScenario;
use sha2::{Digest, Sha256};
use std::path::Path;
use validator::Validator;

/// The most pools (platforms and dependencies together) a scenario may have: a request in flight numbers
/// its pool in 16 bits, which keeps it within one cache line.
pub const MAX_POOLS: usize = u16::MAX as usize;

/// Attacks one platform may have: an attack's event names it in 11 bits (`world::event`).
pub const MAX_ATTACKS: usize = 1 << 11;

/// The largest count of servers, workers per server or rooms a file may state: pools count in 32 bits.
pub const MAX_COUNT: i64 = u32::MAX as i64;

/// The longest horizon a file may state, seconds (about 317 years): simulated time is a 64-bit count of
/// microseconds, and every instant of the run must fit it with room to spare.
pub const MAX_HORIZON_S: f64 = 1e10;

pub use crate::policy::throttle::MAX_WINDOW_S;

/// The shortest duration a file may state where zero is not allowed, seconds: the clock counts whole
/// microseconds, and a shorter one would round to zero and repeat at the same instant for ever.
pub const MIN_DURATION_S: f64 = 1e-6;

/// The largest `--scale`: a factor beyond it only overflows the counts it multiplies.
pub const MAX_SCALE: f64 = 1e6;

pub use admission::AdmissionSpec;
pub use attack::{AttackModel, AttackSpec, AttackTier, ClassesSpec, MediaSpec, MitigationSpec, HYBRID_QUEUE_SLOTS};
pub use overrides::Override;
pub use pool::{AutoscaleSpec, DependencySpec, Incident, PoolSpec, Provisioning, ScaleMetric};
pub use session::{Retrial, SessionSpec};
pub use source::Source;

/// A validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What the scenario covers.
    pub description: String,
    /// End of the run.
    pub horizon: SimTime,
    /// End of the warm-up period; statistics cover `[warmup, horizon]`.
    pub warmup: SimTime,
    /// Cohorts in name order.
    pub cohorts: Vec<CohortSpec>,
    /// Platforms in name order.
    pub platforms: Vec<PlatformSpec>,
    /// Shared tiers in name order.
    pub dependencies: Vec<DependencySpec>,
    /// Seconds after midnight of t = 0 (from `clock_start`).
    pub clock_start_s: f64,
    /// The population and capacity scale the file was run at (1 = as written).
    pub scale: f64,
    /// How attack traffic is simulated.
    pub attack_model: AttackModel,
    /// The smallest scale measured to agree with full scale (see [`Scenario::scale_warning`]).
    pub faithful_scale: Option<f64>,
    /// The file as parsed (after overrides and scaling), kept for hashing and for the manifest.
    pub raw: RawScenario,
}

/// A cohort, validated.
#[derive(Debug, Clone)]
pub struct CohortSpec {
    /// Cohort name.
    pub name: String,
    /// The platforms used, as (index into [`Scenario::platforms`], share of the cohort).
    pub platforms: Vec<(usize, f64)>,
    /// Arrival process (for the whole cohort; each platform's users are its share of it).
    pub arrivals: ArrivalProcess,
    /// Patience while waiting in a backlog, if the cohort abandons.
    pub patience: Option<DurationDist>,
    /// Priority class (0 first).
    pub priority: u32,
    /// Session behaviour; `None` for single-request arrivals (textbook queues).
    pub session: Option<SessionSpec>,
}

impl CohortSpec {
    /// The platform of a single-platform cohort (the textbook case).
    pub fn platform(&self) -> usize {
        self.platforms[0].0
    }
}

/// A platform, validated.
#[derive(Debug, Clone)]
pub struct PlatformSpec {
    /// Platform name.
    pub name: String,
    /// Its application pool.
    pub pool: PoolSpec,
    /// Front-door connection cap.
    pub max_connections: Option<u64>,
    /// Indices into [`Scenario::dependencies`] that a login calls before the application pool.
    pub login_via: Vec<usize>,
    /// Admission policies.
    pub admission: AdmissionSpec,
    /// Attacks aimed at the platform.
    pub attacks: Vec<AttackSpec>,
    /// Its protection.
    pub mitigation: Option<MitigationSpec>,
    /// Its virtual classes.
    pub classes: Option<ClassesSpec>,
}

impl PlatformSpec {
    /// When protection engages: the detection delay after the first attack starts (`None` without attack
    /// or protection).
    pub fn mitigation_at(&self) -> Option<SimTime> {
        let m = self.mitigation?;
        let first = self.attacks.iter().map(AttackSpec::start).min()?;
        Some(first + m.detection_delay)
    }
}

impl Scenario {
    /// Reads, parses and validates the scenario at `path`, applying `overrides` first.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Scenario> {
        Scenario::load_scaled(path, overrides, 1.0)
    }

    /// Reads, parses, overrides, scales (see [`Scenario::from_toml_scaled`]) and validates.
    pub fn load_scaled(path: &Path, overrides: &[Override], scale: f64) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        Scenario::from_toml_scaled(&text, path, overrides, scale)
    }

    /// Parses and validates scenario `text`; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &Path, overrides: &[Override]) -> Result<Scenario> {
        Scenario::from_toml_scaled(text, origin, overrides, 1.0)
    }

    /// Parses `text`, applies `overrides`, multiplies population and capacity by `scale`, and validates.
    ///
    /// Scaling multiplies every count of people (population counts, open arrival rates) and every capacity
    /// (servers, backlog limits, connection caps, session quotas, waiting-room and token rates), rounding
    /// counts to the nearest integer (at least 1), so shares and delays stay comparable between scales.
    pub fn from_toml_scaled(text: &str, origin: &Path, overrides: &[Override], scale: f64) -> Result<Scenario> {
        if !(scale.is_finite() && scale > 0.0 && scale <= MAX_SCALE) {
            return Err(Error::Argument {
                flag: "--scale".into(),
                found: if scale.is_finite() && scale.abs() < MAX_SCALE { scale.to_string() } else { format!("{scale:e}") },
                expected: format!("a number > 0 and at most {MAX_SCALE:e} (1 is the scenario as written)"),
            });
        }
        let raw: RawScenario = if overrides.is_empty() {
            // Straight from the text, so that schema errors carry line and column.
            toml::from_str(text).map_err(|e| parse_error(origin, &e))?
        } else {
            let base: toml::Table = toml::from_str(text).map_err(|e| parse_error(origin, &e))?;
            // The file itself must be valid before overrides are blamed for anything.
            let _: RawScenario = toml::from_str(text).map_err(|e| parse_error(origin, &e))?;
            let mut table = base.clone();
            for o in overrides {
                o.apply(&mut table)?;
            }
            overrides::deserialize_overridden(&base, table, overrides)?
        };
        let mut raw = raw;
        if scale != 1.0 {
            raw.scale(scale);
        }
        let mut scenario = Scenario::from_raw(raw, origin).map_err(|e| match e {
            // A count that only the scale made impossible: say so, or the file looks wrong when it is not.
            Error::Invalid { path, field, found, expected } if scale != 1.0 => {
                Error::Invalid { path, field: format!("{field} (after --scale {scale})"), found, expected }
            }
            Error::Many { path, problems } if scale != 1.0 => Error::Many {
                path,
                problems: problems
                    .into_iter()
                    .map(|p| crate::error::FieldProblem { field: format!("{} (after --scale {scale})", p.field), ..p })
                    .collect(),
            },
            other => other,
        })?;
        scenario.scale = scale;
        Ok(scenario)
    }

    /// Validates an already parsed scenario.
    pub fn from_raw(raw: RawScenario, origin: &Path) -> Result<Scenario> {
        let mut v = Validator::new();
        let run = &raw.scenario;
        v.check(
            run.horizon_s.is_finite() && run.horizon_s > 0.0 && run.horizon_s <= MAX_HORIZON_S,
            "scenario.horizon_s",
            run.horizon_s,
            &format!("a number of seconds > 0 and at most {MAX_HORIZON_S:e}"),
        );
        v.check(
            run.warmup_s.is_finite() && run.warmup_s >= 0.0 && run.warmup_s < run.horizon_s,
            "scenario.warmup_s",
            run.warmup_s,
            "a number of seconds >= 0 and below scenario.horizon_s",
        );
        let attack_model = v.attack_model(run.attack_model.as_deref());
        if let Some(f) = run.faithful_scale {
            v.check(f.is_finite() && f > 0.0 && f <= 1.0, "scenario.faithful_scale", f, "a scale > 0 and at most 1 (full scale)");
        }
        let clock_start_s = match &run.clock_start {
            None => 0.0,
            Some(c) => match parse_clock(c) {
                Some(s) => s,
                None => {
                    v.problem("scenario.clock_start", &format!("{c:?}"), "a time of day \"HH:MM\"");
                    0.0
                }
            },
        };
        if raw.platforms.is_empty() {
            v.problem("platforms", "no platform", "at least one [platforms.NAME] table");
        }
        let pools = raw.platforms.len() + raw.dependencies.len();
        if pools > MAX_POOLS {
            let found = format!("{} platforms and {} dependencies", raw.platforms.len(), raw.dependencies.len());
            v.problem("platforms", &found, &format!("at most {} platforms and dependencies in all", MAX_POOLS));
        }
        if raw.cohorts.is_empty() {
            v.problem("cohorts", "no cohort", "at least one [cohorts.NAME] table");
        }

        let dependencies: Vec<DependencySpec> = raw
            .dependencies
            .iter()
            .filter_map(|(name, d)| {
                Some(DependencySpec { name: name.clone(), pool: v.pool(&format!("dependencies.{name}.pool"), &d.pool)? })
            })
            .collect();
        let cohort_names: Vec<&String> = raw.cohorts.keys().collect();

        let mut platforms = Vec::new();
        for (name, p) in &raw.platforms {
            let field = format!("platforms.{name}");
            let pool = v.pool(&format!("{field}.pool"), &p.pool);
            if let Some(m) = p.max_connections {
                v.check(m >= 1, &format!("{field}.max_connections"), m, "an integer >= 1");
            }
            let mut login_via = Vec::new();
            for dep in &p.login_via {
                match raw.dependencies.keys().position(|d| d == dep) {
                    Some(i) => login_via.push(i),
                    None => {
                        let known: Vec<&str> = raw.dependencies.keys().map(String::as_str).collect();
                        v.problem(
                            &format!("{field}.login_via"),
                            &format!("{dep:?}"),
                            &format!("one of the dependencies defined: {known:?}"),
                        );
                    }
                }
            }
            let admission = v.admission(&format!("{field}.admission"), &p.admission, &cohort_names);
            let attacks: Vec<AttackSpec> =
                p.attacks.iter().enumerate().filter_map(|(i, a)| v.attack(&format!("{field}.attacks[{i}]"), a, run.horizon_s)).collect();
            if p.attacks.len() > MAX_ATTACKS {
                v.problem(
                    &format!("{field}.attacks"),
                    &format!("{} attacks", p.attacks.len()),
                    &format!("at most {MAX_ATTACKS} on one platform"),
                );
            }
            if p.max_connections.is_none() {
                if let Some(i) = p.attacks.iter().position(|a| a.tier == "front_door") {
                    v.problem(
                        &format!("{field}.attacks[{i}].tier"),
                        "\"front_door\" on a platform without max_connections",
                        "a platform with a connection cap, or tier = \"pool\"",
                    );
                }
            }
            let mitigation = p.mitigation.as_ref().and_then(|m| v.mitigation(&format!("{field}.mitigation"), m));
            let classes = p.classes.as_ref().and_then(|c| v.classes(&format!("{field}.classes"), c, &cohort_names));
            if let Some(pool) = pool {
                platforms.push(PlatformSpec {
                    name: name.clone(),
                    pool,
                    max_connections: p.max_connections,
                    login_via,
                    admission,
                    attacks,
                    mitigation,
                    classes,
                });
            }
        }

        let mut cohorts = Vec::new();
        for (name, c) in &raw.cohorts {
            let field = format!("cohorts.{name}");
            let mut uses: Vec<(String, f64)> = c.platforms.iter().map(|(k, s)| (k.clone(), *s)).collect();
            match (&c.platform, uses.is_empty()) {
                (Some(p), true) => uses.push((p.clone(), 1.0)),
                (None, false) => {}
                (Some(_), false) => v.problem(&format!("{field}.platform"), "both platform and platforms", "one of them"),
                (None, true) => {
                    v.problem(&format!("{field}.platforms"), "no platform", "platform = \"NAME\" or platforms = { NAME = share }")
                }
            }
            let mut used = Vec::new();
            for (p, share) in &uses {
                v.check(share.is_finite() && *share > 0.0 && *share <= 1.0, &format!("{field}.platforms.{p}"), share, "a share in (0, 1]");
                match raw.platforms.keys().position(|k| k == p) {
                    Some(i) => used.push((i, *share)),
                    None => {
                        let known: Vec<&str> = raw.platforms.keys().map(String::as_str).collect();
                        v.problem(&format!("{field}.platform"), &format!("{p:?}"), &format!("one of the platforms defined: {known:?}"));
                    }
                }
            }
            let arrivals = v.arrivals(&format!("{field}.arrivals"), &c.arrivals);
            let patience = c.patience.as_ref().map(|d| v.dist(&format!("{field}.patience"), d));
            let session = c.session.as_ref().map(|s| v.session(&format!("{field}.session"), s));
            if let (Some(arrivals), false) = (arrivals, used.is_empty()) {
                cohorts.push(CohortSpec {
                    name: name.clone(),
                    platforms: used,
                    arrivals,
                    patience: patience.flatten(),
                    priority: c.priority.unwrap_or(1),
                    session: session.flatten(),
                });
            }
        }

        v.into_result(origin)?;
        Ok(Scenario {
            name: raw.scenario.name.clone(),
            description: raw.scenario.description.clone(),
            horizon: SimTime::from_secs_f64(raw.scenario.horizon_s),
            warmup: SimTime::from_secs_f64(raw.scenario.warmup_s),
            cohorts,
            platforms,
            dependencies,
            clock_start_s,
            scale: 1.0,
            attack_model,
            faithful_scale: raw.scenario.faithful_scale,
            raw,
        })
    }

    /// Seconds from t = 0 to the wall-clock time `hh:mm` of the simulated day.
    pub fn clock_offset_s(&self, hh: u32, mm: u32) -> f64 {
        f64::from(hh * 3600 + mm * 60) - self.clock_start_s
    }

    /// SHA-256 of the scenario's canonical TOML form (after overrides), in hex: two files that differ only in
    /// comments or layout hash the same.
    pub fn hash_hex(&self) -> String {
        let canonical = toml::to_string(&self.raw).expect("a parsed scenario serializes");
        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The span over which statistics are collected, in seconds.
    pub fn observed_s(&self) -> f64 {
        (self.horizon - self.warmup).as_secs_f64()
    }
}

/// `"HH:MM"` to seconds after midnight.
pub(crate) fn parse_clock(text: &str) -> Option<f64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then(|| f64::from(h * 3600 + m * 60))
}

fn parse_error(origin: &Path, e: &toml::de::Error) -> Error {
    Error::Parse { path: origin.to_owned(), message: e.to_string().trim_end().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An M/M/2 desk, with `pool` appended to its pool table.
    pub(super) fn desk(pool: &str) -> String {
        format!(
            "[scenario]\nname = \"desk\"\nhorizon_s = 100.0\n\n[cohorts.customers]\nplatform = \"desk\"\n\
             arrivals = {{ process = \"poisson\", rate_per_s = 1.0 }}\n\n[platforms.desk.pool]\nservers = 2\n\
             service = {{ dist = \"exponential\", mean_s = 1.0 }}\n{pool}"
        )
    }

    /// The problems `text` is refused for, each as `field = found: expected …`; none if it is valid.
    pub(super) fn problems(text: &str) -> Vec<String> {
        match Scenario::from_toml(text, Path::new("desk.toml"), &[]) {
            Err(Error::Many { problems, .. }) => problems.iter().map(ToString::to_string).collect(),
            Err(Error::Invalid { field, found, expected, .. }) => vec![format!("{field} = {found}: expected {expected}")],
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_valid_scenario_validates_into_its_parts() {
        let s = Scenario::from_toml(&desk(""), Path::new("desk.toml"), &[]).unwrap();
        assert_eq!((s.platforms.len(), s.cohorts.len()), (1, 1));
        assert_eq!(s.platforms[0].pool.slots(), 2);
        assert!(matches!(s.platforms[0].pool.provisioning, Provisioning::Static));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field() {
        let text = desk("").replace("servers = 2", "servers = 0").replace("rate_per_s = 1.0", "rate_per_s = -1.0");
        let p = problems(&text);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("platforms.desk.pool.servers = 0")), "{p:?}");
        assert!(p.iter().any(|x| x.contains("rate_per_s = -1")), "{p:?}");
    }
}
