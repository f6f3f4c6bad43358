//! Scenario files: the TOML schema ([`raw`]) and its validation into a [`Scenario`] the world can run.
//!
//! Two stages, as in ripgrep's configuration: [`raw::RawScenario`] mirrors the file and only checks its shape
//! (types, known fields, known distribution names — the TOML parser reports line and column); [`Scenario`]
//! holds engine objects built from it after every value has been checked, with every problem of a file
//! reported at once, each naming its dotted field path, what was found and what was expected.

pub mod overrides;
pub mod raw;

use crate::engine::{ArrivalProcess, DurationDist, RateProfile, SimTime};
use crate::error::{Error, Result};
use raw::{RawArrivals, RawDist, RawScenario};
use sha2::{Digest, Sha256};
use std::path::Path;

pub use overrides::Override;

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
    /// The file as parsed (after overrides), kept for hashing and for the manifest.
    pub raw: RawScenario,
}

/// A cohort, validated.
#[derive(Debug, Clone)]
pub struct CohortSpec {
    /// Cohort name.
    pub name: String,
    /// Index into [`Scenario::platforms`].
    pub platform: usize,
    /// Arrival process.
    pub arrivals: ArrivalProcess,
    /// Patience while waiting in a backlog, if the cohort abandons.
    pub patience: Option<DurationDist>,
}

/// A platform, validated.
#[derive(Debug, Clone)]
pub struct PlatformSpec {
    /// Platform name.
    pub name: String,
    /// Its application pool.
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
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        Scenario::from_toml(&text, path, overrides)
    }

    /// Parses and validates scenario `text`; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &Path, overrides: &[Override]) -> Result<Scenario> {
        let raw: RawScenario = if overrides.is_empty() {
            // Straight from the text, so that schema errors carry line and column.
            toml::from_str(text).map_err(|e| parse_error(origin, &e))?
        } else {
            let mut table: toml::Table = toml::from_str(text).map_err(|e| parse_error(origin, &e))?;
            // The file itself must be valid before overrides are blamed for anything.
            let _: RawScenario = toml::from_str(text).map_err(|e| parse_error(origin, &e))?;
            for o in overrides {
                o.apply(&mut table)?;
            }
            overrides::deserialize_overridden(table, overrides)?
        };
        Scenario::from_raw(raw, origin)
    }

    /// Validates an already parsed scenario.
    pub fn from_raw(raw: RawScenario, origin: &Path) -> Result<Scenario> {
        let mut v = Validator { problems: Vec::new() };
        let run = &raw.scenario;
        v.check(run.horizon_s.is_finite() && run.horizon_s > 0.0, "scenario.horizon_s", run.horizon_s, "a number of seconds > 0");
        v.check(
            run.warmup_s.is_finite() && run.warmup_s >= 0.0 && run.warmup_s < run.horizon_s,
            "scenario.warmup_s",
            run.warmup_s,
            "a number of seconds >= 0 and below scenario.horizon_s",
        );
        if raw.platforms.is_empty() {
            v.problem("platforms", "no platform", "at least one [platforms.NAME] table");
        }
        if raw.cohorts.is_empty() {
            v.problem("cohorts", "no cohort", "at least one [cohorts.NAME] table");
        }

        let mut platforms = Vec::new();
        for (name, p) in &raw.platforms {
            let field = format!("platforms.{name}.pool");
            let pool = &p.pool;
            v.check(pool.servers >= 1, &format!("{field}.servers"), pool.servers, "an integer >= 1");
            v.check(pool.workers_per_server >= 1, &format!("{field}.workers_per_server"), pool.workers_per_server, "an integer >= 1");
            let slots = pool.servers.max(0) * pool.workers_per_server.max(0);
            if let Some(k) = pool.max_in_system {
                v.check(
                    k >= slots,
                    &format!("{field}.max_in_system"),
                    k,
                    &format!("an integer >= servers × workers_per_server = {slots} (K >= c)"),
                );
            }
            let service = v.dist(&format!("{field}.service"), &pool.service);
            if let Some(service) = service {
                platforms.push(PlatformSpec {
                    name: name.clone(),
                    pool: PoolSpec {
                        servers: pool.servers.clamp(1, i64::from(u32::MAX)) as u32,
                        workers_per_server: pool.workers_per_server.clamp(1, i64::from(u32::MAX)) as u32,
                        max_in_system: pool.max_in_system.map(|k| k.max(0) as u64),
                        service,
                    },
                });
            }
        }

        let mut cohorts = Vec::new();
        for (name, c) in &raw.cohorts {
            let field = format!("cohorts.{name}");
            let platform = raw.platforms.keys().position(|p| p == &c.platform);
            if platform.is_none() {
                let known: Vec<&str> = raw.platforms.keys().map(String::as_str).collect();
                v.problem(&format!("{field}.platform"), &format!("{:?}", c.platform), &format!("one of the platforms defined: {known:?}"));
            }
            let arrivals = v.arrivals(&format!("{field}.arrivals"), &c.arrivals);
            let patience = c.patience.as_ref().map(|d| v.dist(&format!("{field}.patience"), d));
            if let (Some(platform), Some(arrivals)) = (platform, arrivals) {
                cohorts.push(CohortSpec { name: name.clone(), platform, arrivals, patience: patience.flatten() });
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
            self.problem(field, &found.to_string(), expected);
        }
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
