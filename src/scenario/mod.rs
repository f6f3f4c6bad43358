//! Scenario files: the TOML schema ([`raw`]) and its validation into a [`Scenario`] the world can run.
//!
//! Two stages, as in ripgrep's configuration: [`raw::RawScenario`] mirrors the file and only checks its shape
//! (types, known fields, known distribution names — the TOML parser reports line and column); [`Scenario`]
//! holds engine objects built from it after every value has been checked, with every problem of a file
//! reported at once, each naming its dotted field path, what was found and what was expected.

pub mod attack;
pub mod fidelity;
pub mod overrides;
pub mod raw;
pub mod source;

use crate::engine::{ArrivalProcess, DurationDist, RateProfile, SimDuration, SimTime};
use crate::error::{Error, Result};
use crate::policy::retry::{Backoff, Jitter, RetryPolicy};
use crate::policy::{AdaptiveThrottle, Autoscaler, PolicyError, RetryBudget, SessionQuota, TokenBucket, WaitingRoom};
use raw::{RawAdmission, RawArrivals, RawDist, RawPool, RawRetry, RawScenario};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The most pools (platforms and dependencies together) a scenario may have: a request in flight numbers
/// its pool in 16 bits, which keeps it within one cache line.
pub const MAX_POOLS: usize = u16::MAX as usize;

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

pub use attack::{AttackModel, AttackSpec, AttackTier, ClassesSpec, MediaSpec, MitigationSpec};
pub use overrides::Override;
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

/// A session and its client's behaviour, validated.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Page requests after login.
    pub pages: u32,
    /// Think time between pages.
    pub think: DurationDist,
    /// Client timeout of every request.
    pub timeout: SimDuration,
    /// Retry policy after a failed request.
    pub retry: RetryPolicy,
    /// Retries per first attempt allowed over the last minute.
    pub retry_budget: Option<f64>,
    /// Delay before coming back after a rejection or a failed session.
    pub comeback_delay: DurationDist,
    /// Returns before giving up.
    pub max_returns: u32,
    /// Patience in a waiting room.
    pub room_patience: Option<DurationDist>,
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

/// A platform's admission policies. They compose in a fixed pipeline, whatever their order in the file:
/// staggered slots (too early: come back at the slot) → token bucket (no token: come back later) →
/// waiting room (wait your turn) → session quota (full: come back later) → login request; the session time
/// limit, priority classes and adaptive throttling modify what happens along the way.
#[derive(Debug, Clone, Default)]
pub struct AdmissionSpec {
    /// Concurrent sessions allowed.
    pub session_quota: Option<u64>,
    /// Session length limit.
    pub session_time_limit: Option<SimDuration>,
    /// Waiting room: (admitted per minute, opening time, shuffle the pre-queue).
    pub waiting_room: Option<(f64, SimTime, bool)>,
    /// Token bucket: (tokens per second, burst).
    pub token_bucket: Option<(f64, f64)>,
    /// Whether priority classes apply in pools and the waiting room.
    pub priority: bool,
    /// Slot start per cohort index (`None`: no slot for that cohort).
    pub slots: Vec<Option<SimTime>>,
    /// Adaptive client throttling: (K, window in seconds).
    pub throttle: Option<(f64, u32)>,
}

/// A shared tier, validated.
#[derive(Debug, Clone)]
pub struct DependencySpec {
    /// Its name.
    pub name: String,
    /// Its pool.
    pub pool: PoolSpec,
}

/// A pool, validated.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// Number of servers (>= 1).
    pub servers: u32,
    /// Concurrent requests per server (>= 1).
    pub workers_per_server: u32,
    /// Maximum requests in service plus waiting, if bounded (>= servers × workers).
    pub max_in_system: Option<u64>,
    /// Service-time distribution.
    pub service: DurationDist,
    /// Overload slowdown (knee, slowdown), see [`raw::RawOverload`].
    pub overload: Option<(f64, f64)>,
    /// How the number of servers changes.
    pub provisioning: Provisioning,
    /// Capacity incidents, in time order.
    pub incidents: Vec<Incident>,
}

/// How a pool's servers change over a run.
#[derive(Debug, Clone)]
pub enum Provisioning {
    /// Always `servers`.
    Static,
    /// Servers ready at the listed times.
    Scheduled(Vec<(SimTime, u32)>),
    /// A reactive autoscaler.
    Autoscale(AutoscaleSpec),
}

/// What an autoscaler watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleMetric {
    /// Busy share of the slots.
    Utilization,
    /// Waiting requests per slot.
    Backlog,
    /// Mean wait of requests started in the window, seconds.
    Latency,
}

/// A reactive autoscaler, validated (see [`raw::RawProvisioning::Autoscale`]): what it watches and how its
/// servers boot, around its decision rule.
#[derive(Debug, Clone)]
pub struct AutoscaleSpec {
    /// Metric.
    pub metric: ScaleMetric,
    /// Evaluation window.
    pub window: SimDuration,
    /// Boot delay of one server.
    pub boot_delay: DurationDist,
    /// Share of boots that fail.
    pub boot_failure_share: f64,
    /// The decision rule (target, step, cooldown, bounds), built by the policy's own checked constructor.
    pub rule: Autoscaler,
}

/// Servers lost at a time, for a while or for good.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// When.
    pub at: SimTime,
    /// How many.
    pub servers: u32,
    /// For how long (`None`: for good).
    pub duration: Option<SimDuration>,
}

impl PoolSpec {
    /// Requests that can be in service at once.
    pub fn slots(&self) -> u64 {
        u64::from(self.servers) * u64::from(self.workers_per_server)
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
            Error::Many { path, problems } if scale != 1.0 => {
                Error::Many { path, problems: problems.into_iter().map(|p| format!("{p} (after --scale {scale})")).collect() }
            }
            other => other,
        })?;
        scenario.scale = scale;
        Ok(scenario)
    }

    /// Validates an already parsed scenario.
    pub fn from_raw(raw: RawScenario, origin: &Path) -> Result<Scenario> {
        let mut v = Validator { problems: Vec::new() };
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

        match v.problems.len() {
            0 => Ok(Scenario {
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
            }),
            1 => {
                let (field, found, expected) = v.problems.pop().expect("one problem");
                Err(Error::Invalid { path: origin.to_owned(), field, found, expected })
            }
            _ => Err(Error::Many {
                path: origin.to_owned(),
                problems: v.problems.into_iter().map(|(f, found, e)| format!("{f} = {found}: expected {e}")).collect(),
            }),
        }
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
fn parse_clock(text: &str) -> Option<f64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then(|| f64::from(h * 3600 + m * 60))
}

fn parse_error(origin: &Path, e: &toml::de::Error) -> Error {
    Error::Parse { path: origin.to_owned(), message: e.to_string().trim_end().to_owned() }
}

/// Collects every problem of a file.
struct Validator {
    problems: Vec<(String, String, String)>,
}

impl Validator {
    fn problem(&mut self, field: &str, found: &str, expected: &str) {
        self.problems.push((field.to_owned(), found.to_owned(), expected.to_owned()));
    }

    fn check<T: std::fmt::Display>(&mut self, ok: bool, field: &str, found: T, expected: &str) {
        if !ok {
            let text = found.to_string();
            // A float as large as 1e300 displays as 301 digits: show it as written in the file instead.
            let text = match text.parse::<f64>() {
                Ok(x) if text.len() > 24 => format!("{x:e}"),
                _ => text,
            };
            self.problem(field, &text, expected);
        }
    }

    /// The policy its checked constructor `built`, or its refusal recorded as a problem of the parameter it
    /// names, under `field`: the rule lives in the policy, the field's name in the scenario.
    fn built<T>(&mut self, field: &str, built: std::result::Result<T, PolicyError>) -> Option<T> {
        match built {
            Ok(policy) => Some(policy),
            Err(e) => {
                self.refused(&format!("{field}.{}", e.parameter), &e);
                None
            }
        }
    }

    /// Records a policy's refusal as a problem of `field` (for a parameter the file names otherwise).
    fn refused(&mut self, field: &str, e: &PolicyError) {
        self.check(false, field, e.found, e.expected);
    }

    fn dist(&mut self, field: &str, d: &RawDist) -> Option<DurationDist> {
        let built = match *d {
            RawDist::Exponential { mean_s } => DurationDist::exponential(mean_s),
            RawDist::Deterministic { value_s } => DurationDist::deterministic(value_s),
            RawDist::Lognormal { mean_s, cv } => DurationDist::lognormal(mean_s, cv),
            RawDist::Gamma { shape, mean_s } => DurationDist::gamma(shape, mean_s),
            RawDist::Erlang { k, mean_s } => DurationDist::erlang(k, mean_s),
            RawDist::Uniform { min_s, max_s } => DurationDist::uniform(min_s, max_s),
        };
        match built {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(&format!("{field}.{}", e.parameter), &e.found.to_string(), e.expected);
                None
            }
        }
    }

    fn pool(&mut self, field: &str, pool: &RawPool) -> Option<PoolSpec> {
        let servers_ok = self.count(&format!("{field}.servers"), pool.servers, 1);
        let workers_ok = self.count(&format!("{field}.workers_per_server"), pool.workers_per_server, 1);
        if let (Some(k), true, true) = (pool.max_in_system, servers_ok, workers_ok) {
            // Both counts fit 32 bits, so their product fits 64.
            let slots = pool.servers * pool.workers_per_server;
            self.check(
                k >= slots,
                &format!("{field}.max_in_system"),
                k,
                &format!("an integer >= servers × workers_per_server = {slots} (K >= c)"),
            );
        }
        if let Some(o) = &pool.overload {
            self.check(o.knee.is_finite() && o.knee > 0.0, &format!("{field}.overload.knee"), o.knee, "a multiple of the slots > 0");
            self.check(o.slowdown.is_finite() && o.slowdown >= 0.0, &format!("{field}.overload.slowdown"), o.slowdown, "a number >= 0");
        }
        let provisioning = self.provisioning(&format!("{field}.provisioning"), pool);
        let mut incidents = Vec::new();
        for (i, inc) in pool.incidents.iter().enumerate() {
            let f = format!("{field}.incidents[{i}]");
            let ok_at = inc.at_s.is_finite() && inc.at_s >= 0.0;
            self.check(ok_at, &format!("{f}.at_s"), inc.at_s, "seconds >= 0");
            self.count(&format!("{f}.servers"), inc.servers, 1);
            let duration = match inc.duration_s {
                None => Some(None),
                Some(d) => self
                    .positive(&format!("{f}.duration_s"), d, "seconds > 0 (omit it for a loss for good)")
                    .then(|| Some(SimDuration::from_secs_f64(d))),
            };
            if let (true, true, Some(duration)) = (ok_at, (1..=MAX_COUNT).contains(&inc.servers), duration) {
                incidents.push(Incident { at: SimTime::from_secs_f64(inc.at_s), servers: inc.servers as u32, duration });
            }
        }
        incidents.sort_by_key(|i| i.at);
        let service = self.dist(&format!("{field}.service"), &pool.service)?;
        let provisioning = provisioning?;
        (servers_ok && workers_ok).then(|| PoolSpec {
            servers: pool.servers as u32,
            workers_per_server: pool.workers_per_server as u32,
            max_in_system: pool.max_in_system.map(|k| k.max(0) as u64),
            service,
            overload: pool.overload.as_ref().map(|o| (o.knee, o.slowdown)),
            provisioning,
            incidents,
        })
    }

    fn provisioning(&mut self, field: &str, pool: &RawPool) -> Option<Provisioning> {
        use raw::RawProvisioning as P;
        let count = |x: i64| x.clamp(0, i64::from(u32::MAX)) as u32;
        match &pool.provisioning {
            None | Some(P::Static {}) => Some(Provisioning::Static),
            Some(P::Scheduled { timetable }) => {
                let mut steps = Vec::new();
                let mut last = -1.0;
                for (i, [t, n]) in timetable.iter().enumerate() {
                    let ok =
                        t.is_finite() && *t >= 0.0 && *t > last && n.is_finite() && *n >= 1.0 && n.fract() == 0.0 && *n <= MAX_COUNT as f64;
                    self.check(
                        ok,
                        &format!("{field}.timetable[{i}]"),
                        format!("[{t}, {n}]"),
                        &format!("[t_s, servers] with times increasing and servers a whole number from 1 to {MAX_COUNT}"),
                    );
                    last = *t;
                    steps.push((SimTime::from_secs_f64(*t), *n as u32));
                }
                if timetable.is_empty() {
                    self.problem(&format!("{field}.timetable"), "[]", "at least one [t_s, servers] step");
                }
                Some(Provisioning::Scheduled(steps))
            }
            Some(P::Autoscale { metric, target, window_s, step, boot_delay, cooldown_s, min, max, provider_quota, boot_failure_share }) => {
                let metric = match metric.as_str() {
                    "utilization" => Some(ScaleMetric::Utilization),
                    "backlog" => Some(ScaleMetric::Backlog),
                    "latency" => Some(ScaleMetric::Latency),
                    other => {
                        self.problem(&format!("{field}.metric"), &format!("{other:?}"), "one of \"utilization\", \"backlog\", \"latency\"");
                        None
                    }
                };
                let w = window_s.is_finite() && *window_s >= MIN_DURATION_S;
                self.check(w, &format!("{field}.window_s"), window_s, &format!("seconds >= {MIN_DURATION_S:e} (one tick of the clock)"));
                let counts_ok =
                    [("step", *step), ("min", *min), ("max", *max)].map(|(name, n)| self.count(&format!("{field}.{name}"), n, 1));
                let c = cooldown_s.is_finite() && *cooldown_s >= 0.0;
                self.check(c, &format!("{field}.cooldown_s"), cooldown_s, "seconds >= 0");
                self.check(
                    (*min..=*max).contains(&pool.servers),
                    &format!("{field}.min"),
                    format!("min {min}, max {max}, servers {}", pool.servers),
                    "min <= servers <= max",
                );
                let quota = provider_quota.unwrap_or(*max);
                self.check(quota >= pool.servers, &format!("{field}.provider_quota"), quota, "an integer >= servers");
                let quota_ok = self.count(&format!("{field}.provider_quota"), quota, 1);
                let b = boot_failure_share.is_finite() && (0.0..1.0).contains(boot_failure_share);
                self.check(b, &format!("{field}.boot_failure_share"), boot_failure_share, "a share in [0, 1)");
                let boot = self.dist(&format!("{field}.boot_delay"), boot_delay);
                // The rule's own constructor checks the target and the bounds against each other; its counts
                // are only built once they are known to fit.
                let rule = if counts_ok.iter().all(|ok| *ok) && quota_ok && c {
                    let cooldown = SimDuration::from_secs_f64(*cooldown_s);
                    self.built(field, Autoscaler::new(*target, cooldown, count(*step), count(*min), count(*max), count(quota)))
                } else {
                    None
                };
                Some(Provisioning::Autoscale(AutoscaleSpec {
                    metric: metric?,
                    window: w.then(|| SimDuration::from_secs_f64(*window_s))?,
                    boot_delay: boot?,
                    boot_failure_share: if b { *boot_failure_share } else { 0.0 },
                    rule: rule?,
                }))
            }
        }
    }

    /// Checks a count of servers (or workers, rooms) read as a 64-bit integer: from `min` to the 32 bits a
    /// pool counts in, never silently clamped.
    pub(super) fn count(&mut self, field: &str, n: i64, min: i64) -> bool {
        let ok = (min..=MAX_COUNT).contains(&n);
        self.check(ok, field, n, &format!("an integer from {min} to {MAX_COUNT}"));
        ok
    }

    fn positive(&mut self, field: &str, x: f64, expected: &str) -> bool {
        let ok = x.is_finite() && x > 0.0;
        self.check(ok, field, x, expected);
        ok
    }

    fn session(&mut self, field: &str, s: &raw::RawSession) -> Option<SessionSpec> {
        let think = self.dist(&format!("{field}.think"), &s.think);
        let timeout_ok = self.positive(&format!("{field}.timeout_s"), s.timeout_s, "a number of seconds > 0");
        let retry = match &s.retry {
            None => Some(RetryPolicy::none()),
            Some(r) => self.retry(&format!("{field}.retry"), r),
        };
        if let Some(ratio) = s.retry_budget {
            // Built once to check it, over the minute the world gives it; the world builds its own.
            if let Err(e) = RetryBudget::try_new(ratio, 60) {
                self.refused(&format!("{field}.retry_budget"), &e);
            }
        }
        let comeback_delay = self.dist(&format!("{field}.comeback.delay"), &s.comeback.delay);
        let room_patience = s.room_patience.as_ref().map(|d| self.dist(&format!("{field}.room_patience"), d));
        Some(SessionSpec {
            pages: s.pages,
            think: think?,
            timeout: timeout_ok.then(|| SimDuration::from_secs_f64(s.timeout_s))?,
            retry: retry?,
            retry_budget: s.retry_budget,
            comeback_delay: comeback_delay?,
            max_returns: s.comeback.max_returns,
            room_patience: match room_patience {
                None => None,
                Some(d) => Some(d?),
            },
        })
    }

    fn jitter(&mut self, field: &str, j: &str) -> Option<Jitter> {
        match j {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            other => {
                self.problem(field, &format!("{other:?}"), "one of \"none\", \"full\", \"equal\"");
                None
            }
        }
    }

    /// The retry policy, built by its own checked constructor (attempts and backoff); the jitter is a name
    /// the scenario reads.
    fn retry(&mut self, field: &str, r: &RawRetry) -> Option<RetryPolicy> {
        let (backoff, jitter, max_attempts) = match r {
            RawRetry::Immediate { max_attempts } => (Backoff::Immediate, Some(Jitter::None), *max_attempts),
            RawRetry::Fixed { delay_s, max_attempts, jitter } => {
                (Backoff::Fixed { delay_s: *delay_s }, self.jitter(&format!("{field}.jitter"), jitter), *max_attempts)
            }
            RawRetry::Exponential { base_s, multiplier, cap_s, max_attempts, jitter } => (
                Backoff::Exponential { base_s: *base_s, multiplier: *multiplier, cap_s: *cap_s },
                self.jitter(&format!("{field}.jitter"), jitter),
                *max_attempts,
            ),
        };
        let policy = self.built(field, RetryPolicy::new(backoff, jitter.unwrap_or(Jitter::None), max_attempts));
        jitter.and(policy)
    }

    fn admission(&mut self, field: &str, policies: &[RawAdmission], cohorts: &[&String]) -> AdmissionSpec {
        let mut a = AdmissionSpec { slots: vec![None; cohorts.len()], ..AdmissionSpec::default() };
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in policies.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let kind = match p {
                RawAdmission::SessionQuota { .. } => "session_quota",
                RawAdmission::SessionTimeLimit { .. } => "session_time_limit",
                RawAdmission::WaitingRoom { .. } => "waiting_room",
                RawAdmission::TokenBucket { .. } => "token_bucket",
                RawAdmission::Priority {} => "priority",
                RawAdmission::StaggeredSlots { .. } => "staggered_slots",
                RawAdmission::AdaptiveThrottling { .. } => "adaptive_throttling",
            };
            if !seen.insert(kind) {
                self.problem(&format!("{f}.policy"), &format!("{kind:?} a second time"), "each policy at most once per platform");
                continue;
            }
            match p {
                // Each policy is built once to check it; the world builds its own from the numbers kept.
                RawAdmission::SessionQuota { max_sessions } => {
                    a.session_quota = self.built(&f, SessionQuota::try_new(*max_sessions)).map(|q| q.max());
                }
                RawAdmission::SessionTimeLimit { max_s } => {
                    if self.positive(&format!("{f}.max_s"), *max_s, "a number of seconds > 0") {
                        a.session_time_limit = Some(SimDuration::from_secs_f64(*max_s));
                    }
                }
                RawAdmission::WaitingRoom { admit_per_min, opens_at_s, shuffle_prequeue } => {
                    // An instant of the file: the scenario's to read, as the room takes a time.
                    let opens_ok = opens_at_s.is_finite() && *opens_at_s >= 0.0;
                    let opens_at = if opens_ok { SimTime::from_secs_f64(*opens_at_s) } else { SimTime::ZERO };
                    // One class is enough to check the rate: the world gives the room the platform's levels.
                    let room = self.built(&f, WaitingRoom::<()>::try_new(*admit_per_min, opens_at, *shuffle_prequeue, 1));
                    self.check(opens_ok, &format!("{f}.opens_at_s"), opens_at_s, "seconds >= 0");
                    if let (Some(room), true) = (room, opens_ok) {
                        a.waiting_room = Some((room.admit_per_min(), room.opens_at(), *shuffle_prequeue));
                    }
                }
                RawAdmission::TokenBucket { rate_per_s, burst } => {
                    a.token_bucket = self.built(&f, TokenBucket::try_new(*rate_per_s, *burst)).map(|b| (b.rate_per_s(), b.burst()));
                }
                RawAdmission::Priority {} => a.priority = true,
                RawAdmission::StaggeredSlots { slots } => {
                    for (cohort, start_s) in slots {
                        let sf = format!("{f}.slots.{cohort}");
                        match cohorts.iter().position(|c| *c == cohort) {
                            Some(ci) => {
                                if start_s.is_finite() && *start_s >= 0.0 {
                                    a.slots[ci] = Some(SimTime::from_secs_f64(*start_s));
                                } else {
                                    self.problem(&sf, &start_s.to_string(), "seconds >= 0");
                                }
                            }
                            None => self.problem(&sf, &format!("{cohort:?}"), &format!("one of the cohorts defined: {cohorts:?}")),
                        }
                    }
                }
                RawAdmission::AdaptiveThrottling { k, window_s } => {
                    a.throttle = self.built(&f, AdaptiveThrottle::try_new(*k, *window_s)).map(|t| (t.k(), t.window_s()));
                }
            }
        }
        a
    }

    fn arrivals(&mut self, field: &str, a: &RawArrivals) -> Option<ArrivalProcess> {
        match a {
            RawArrivals::Poisson { rate_per_s } => {
                let ok = rate_per_s.is_finite() && *rate_per_s > 0.0;
                self.check(ok, &format!("{field}.rate_per_s"), rate_per_s, "a rate per second > 0");
                ok.then(|| ArrivalProcess::poisson(*rate_per_s))
            }
            RawArrivals::Profile { points } => self.profile(&format!("{field}.points"), points).map(ArrivalProcess::Profile),
            RawArrivals::Population { count, shape } => {
                self.check(*count >= 1, &format!("{field}.count"), count, "an integer >= 1");
                let shape = self.profile(&format!("{field}.shape"), shape)?;
                (*count >= 1).then_some(ArrivalProcess::Population { count: *count, shape })
            }
        }
    }

    fn profile(&mut self, field: &str, points: &[[f64; 2]]) -> Option<RateProfile> {
        let pairs: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1])).collect();
        match RateProfile::new(&pairs) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(field, &format!("{points:?}"), &e.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An M/M/2 desk, with `pool` appended to its pool table.
    fn desk(pool: &str) -> String {
        format!(
            "[scenario]\nname = \"desk\"\nhorizon_s = 100.0\n\n[cohorts.customers]\nplatform = \"desk\"\n\
             arrivals = {{ process = \"poisson\", rate_per_s = 1.0 }}\n\n[platforms.desk.pool]\nservers = 2\n\
             service = {{ dist = \"exponential\", mean_s = 1.0 }}\n{pool}"
        )
    }

    fn problems(text: &str) -> Vec<String> {
        match Scenario::from_toml(text, Path::new("desk.toml"), &[]) {
            Err(Error::Many { problems, .. }) => problems,
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

    #[test]
    fn an_autoscaler_is_built_by_its_policy_whose_refusal_names_the_field() {
        let autoscale = |target: &str, min: u32, max: u32| {
            format!(
                "provisioning = {{ kind = \"autoscale\", metric = \"utilization\", target = {target}, window_s = 60.0, step = 1, \
                 boot_delay = {{ dist = \"deterministic\", value_s = 60.0 }}, cooldown_s = 0.0, min = {min}, max = {max} }}"
            )
        };
        let s = Scenario::from_toml(&desk(&autoscale("0.7", 1, 4)), Path::new("desk.toml"), &[]).unwrap();
        assert!(matches!(s.platforms[0].pool.provisioning, Provisioning::Autoscale(_)));
        // A target of 0 is refused by `policy::Autoscaler::new`, named by the scenario's field.
        let p = problems(&desk(&autoscale("0.0", 1, 4)));
        assert_eq!(p, ["platforms.desk.pool.provisioning.target = 0: expected a finite number > 0"]);
        // Bounds that do not hold the servers: the scenario's own rule, with the values found.
        let p = problems(&desk(&autoscale("0.7", 3, 4)));
        assert!(p.iter().any(|x| x.contains("provisioning.min") && x.contains("min <= servers <= max")), "{p:?}");
    }

    /// `desk` with one admission policy on its platform, given as the lines of its table.
    fn admitting(policy: &str) -> String {
        desk(&format!("\n[[platforms.desk.admission]]\n{policy}"))
    }

    #[test]
    fn admission_policies_are_built_by_their_policies_whose_refusals_name_the_field() {
        let s = |text: &str| Scenario::from_toml(text, Path::new("desk.toml"), &[]).unwrap().platforms[0].admission.clone();
        let a = s(&admitting("policy = \"token_bucket\"\nrate_per_s = 2.0\nburst = 5.0"));
        assert_eq!(a.token_bucket, Some((2.0, 5.0)));
        let a = s(&admitting("policy = \"waiting_room\"\nadmit_per_min = 30.0\nopens_at_s = 10.0"));
        assert_eq!(a.waiting_room, Some((30.0, SimTime::from_secs_f64(10.0), false)));
        assert_eq!(s(&admitting("policy = \"session_quota\"\nmax_sessions = 7")).session_quota, Some(7));
        assert_eq!(s(&admitting("policy = \"adaptive_throttling\"\nk = 2.0")).throttle, Some((2.0, 120)));
        // Each refusal comes from the policy's checked constructor, named by the scenario's field.
        let f = "platforms.desk.admission[0]";
        for (policy, refusal) in [
            // `policy::TokenBucket::try_new`
            ("policy = \"token_bucket\"\nrate_per_s = 0.0\nburst = 5.0", format!("{f}.rate_per_s = 0: expected a finite number > 0")),
            ("policy = \"token_bucket\"\nrate_per_s = 1.0\nburst = 0.5", format!("{f}.burst = 0.5: expected a finite number >= 1")),
            // `policy::WaitingRoom::try_new`
            ("policy = \"waiting_room\"\nadmit_per_min = -6.0", format!("{f}.admit_per_min = -6: expected a finite number > 0")),
            // `policy::SessionQuota::try_new`
            ("policy = \"session_quota\"\nmax_sessions = 0", format!("{f}.max_sessions = 0: expected an integer >= 1")),
            // `policy::AdaptiveThrottle::try_new`
            ("policy = \"adaptive_throttling\"\nk = 0.5", format!("{f}.k = 0.5: expected a multiplier >= 1 (2 in the SRE book)")),
            (
                "policy = \"adaptive_throttling\"\nk = 2.0\nwindow_s = 3601",
                format!("{f}.window_s = 3601: expected an integer number of seconds from 1 to {MAX_WINDOW_S}"),
            ),
        ] {
            assert_eq!(problems(&admitting(policy)), [refusal], "{policy}");
        }
        // When the room opens is an instant of the file, the scenario's own rule.
        let p = problems(&admitting("policy = \"waiting_room\"\nadmit_per_min = 6.0\nopens_at_s = -1.0"));
        assert_eq!(p, [format!("{f}.opens_at_s = -1: expected seconds >= 0")]);
    }

    /// `desk` whose customers have sessions, with `extra` fields in their session table.
    fn sessions(extra: &str) -> String {
        desk(&format!(
            "\n[cohorts.customers.session]\npages = 2\nthink = {{ dist = \"exponential\", mean_s = 5.0 }}\ntimeout_s = 10.0\n\
             comeback = {{ delay = {{ dist = \"exponential\", mean_s = 60.0 }}, max_returns = 1 }}\n{extra}"
        ))
    }

    #[test]
    fn retries_and_their_budget_are_built_by_their_policies_whose_refusals_name_the_field() {
        let session = |text: &str| Scenario::from_toml(text, Path::new("desk.toml"), &[]).unwrap().cohorts[0].session.clone().unwrap();
        let exponential = |base_s: &str, cap_s: &str, attempts: u32| {
            format!(
                "retry = {{ backoff = \"exponential\", base_s = {base_s}, multiplier = 2.0, cap_s = {cap_s}, max_attempts = {attempts}, \
                 jitter = \"full\" }}"
            )
        };
        let s = session(&sessions(&format!("{}\nretry_budget = 0.1", exponential("1.0", "30.0", 3))));
        let backoff = Backoff::Exponential { base_s: 1.0, multiplier: 2.0, cap_s: 30.0 };
        assert_eq!(s.retry, RetryPolicy::new(backoff, Jitter::Full, 3).unwrap());
        assert_eq!(s.retry_budget, Some(0.1));
        let f = "cohorts.customers.session";
        for (extra, refusal) in [
            // `policy::RetryPolicy::new`
            (exponential("1.0", "30.0", 0), format!("{f}.retry.max_attempts = 0: expected an integer >= 1 (the first attempt included)")),
            (exponential("0.0", "30.0", 3), format!("{f}.retry.base_s = 0: expected a finite number > 0")),
            (exponential("1.0", "inf", 3), format!("{f}.retry.cap_s = inf: expected a finite number of seconds >= base_s")),
            (
                "retry = { backoff = \"fixed\", delay_s = -2.0, max_attempts = 2 }".to_owned(),
                format!("{f}.retry.delay_s = -2: expected a finite number >= 0"),
            ),
            // `policy::RetryBudget::try_new`
            ("retry_budget = -0.5".to_owned(), format!("{f}.retry_budget = -0.5: expected a finite number >= 0")),
        ] {
            assert_eq!(problems(&sessions(&extra)), [refusal], "{extra}");
        }
        // A jitter's name is the scenario's to read.
        let p = problems(&sessions("retry = { backoff = \"fixed\", delay_s = 2.0, max_attempts = 2, jitter = \"some\" }"));
        assert_eq!(p, [format!("{f}.retry.jitter = \"some\": expected one of \"none\", \"full\", \"equal\"")]);
    }
}
