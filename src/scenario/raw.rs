//! The scenario file as written: serde types that mirror the TOML one to one and only check its shape.
//!
//! Every struct denies unknown fields, so a misspelt key is an error with its line and column rather than a
//! silently ignored setting. These types are the file format's compatibility promise; the validated
//! [`Scenario`](super::Scenario) is built from them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Run-wide settings.
    pub scenario: RawRun,
    /// Who arrives, keyed by cohort name.
    pub cohorts: BTreeMap<String, RawCohort>,
    /// The services they use, keyed by platform name.
    pub platforms: BTreeMap<String, RawPlatform>,
    /// Shared tiers (a national SSO, a database) that platforms call, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, RawDependency>,
    /// Named variants of the scenario, each a set of overrides (dotted path → value) that `--variant NAME`
    /// applies on top of the file, before any `--set`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "files", schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>"))]
    pub variants: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// The `[scenario]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// A short name, shown in reports.
    pub name: String,
    /// What the scenario covers, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Simulated span, from t = 0, in seconds.
    #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
    pub horizon_s: f64,
    /// Initial span excluded from statistics (steady-state cases); 0 for a terminating run.
    #[serde(default)]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub warmup_s: f64,
    /// Wall-clock time of t = 0 as `"HH:MM"`, for reports and the "served by 9:00" metrics (default 00:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_start: Option<String>,
    /// How attack traffic is simulated: `"aggregate"` (default: a fluid of work and connections) or
    /// `"requests"` (every attack request an event; for checking the aggregate at small scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack_model: Option<String>,
    /// The smallest `--scale` measured to give this scenario's headline figures within the replications'
    /// noise of full scale (`examples/scale_bias.rs`); a run below it is warned about, and `size` refuses
    /// it. Absent: the bias of a reduced scale was not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0)))]
    pub faithful_scale: Option<f64>,
}

/// One `[cohorts.NAME]` table: a group of people (or customers) with one arrival process and behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawCohort {
    /// The one platform this cohort uses (shorthand for `platforms = { NAME = 1.0 }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Share of the cohort that uses each platform this morning (each use is a separate session).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub platforms: BTreeMap<String, f64>,
    /// How the cohort arrives (for a population: each person once, per platform used).
    pub arrivals: RawArrivals,
    /// How long a request waits in a backlog before its client abandons (absent: it waits for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<RawDist>,
    /// Priority class for `priority` admission (0 is served first); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub priority: Option<u32>,
    /// What a session is: absent, each arrival is a single request with no login and no retries (the
    /// textbook queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<RawSession>,
}

/// A session: a login, then page requests separated by think times, under a client behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    /// Page requests after a successful login.
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub pages: u32,
    /// Think time between two pages.
    pub think: RawDist,
    /// A request not answered within this many seconds fails (the server may still work on it).
    #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
    pub timeout_s: f64,
    /// Retry policy after a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RawRetry>,
    /// Retries allowed per first attempt over the last minute (e.g. 0.1); absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub retry_budget: Option<f64>,
    /// The "come back later" orbit after a rejection or a failed session.
    pub comeback: RawComeback,
    /// Patience in a waiting room before giving up and coming back later (absent: waits for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_patience: Option<RawDist>,
}

/// A retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(tag = "backoff", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawRetry {
    /// Retry at once.
    Immediate {
        /// Attempts in all, the first included.
        #[cfg_attr(feature = "files", schemars(range(min = 1)))]
        max_attempts: u32,
    },
    /// Retry after a fixed delay.
    Fixed {
        /// The delay in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        delay_s: f64,
        /// Attempts in all, the first included.
        #[cfg_attr(feature = "files", schemars(range(min = 1)))]
        max_attempts: u32,
        /// `"none"`, `"full"` or `"equal"`.
        #[serde(default = "no_jitter")]
        jitter: String,
    },
    /// Exponential backoff: `min(cap_s, base_s × multiplier^(n−2))` before attempt `n`.
    Exponential {
        /// First retry delay.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        base_s: f64,
        /// Growth per retry.
        #[serde(default = "two")]
        #[cfg_attr(feature = "files", schemars(range(min = 1.0)))]
        multiplier: f64,
        /// Longest delay.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        cap_s: f64,
        /// Attempts in all, the first included.
        #[cfg_attr(feature = "files", schemars(range(min = 1)))]
        max_attempts: u32,
        /// `"none"`, `"full"` or `"equal"`.
        #[serde(default = "no_jitter")]
        jitter: String,
    },
}

fn no_jitter() -> String {
    "none".into()
}

fn two() -> f64 {
    2.0
}

/// Coming back later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawComeback {
    /// Delay before coming back.
    pub delay: RawDist,
    /// Returns before giving up for the morning.
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub max_returns: u32,
    /// How the orbit comes back: `"classical"` (each user on their own, after their own `delay`) or
    /// `"constant"` (the platform's orbit, shared by every cohort on it that comes back this way, sends one
    /// user at a time, first in first out, `delay` apart: a retrial rate that does not grow with the orbit,
    /// as a "come back later" queue behaves).
    #[serde(default = "classical", skip_serializing_if = "is_classical")]
    pub retrial: String,
}

fn classical() -> String {
    "classical".into()
}

fn is_classical(s: &str) -> bool {
    s == "classical"
}

/// A shared tier, `[dependencies.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawDependency {
    /// Its pool.
    pub pool: RawPool,
}

/// One admission policy of a platform, `[[platforms.NAME.admission]]`, tagged by `policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAdmission {
    /// At most `max_sessions` sessions at once; a login beyond it is told to come back later.
    SessionQuota {
        /// Concurrent sessions allowed.
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        max_sessions: u64,
    },
    /// A session is closed after `max_s` seconds; the user comes back later for the rest.
    SessionTimeLimit {
        /// Session length limit in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        max_s: f64,
    },
    /// Logins queue in a waiting room admitted at a fixed rate, in arrival order.
    WaitingRoom {
        /// Users admitted per minute.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        admit_per_min: f64,
        /// When the room opens (seconds from t = 0); users before then form a pre-queue.
        #[serde(default)]
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        opens_at_s: f64,
        /// Shuffle the pre-queue at opening.
        #[serde(default)]
        shuffle_prequeue: bool,
    },
    /// Logins consume tokens refilled at a fixed rate; without a token, come back later.
    TokenBucket {
        /// Tokens per second.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        rate_per_s: f64,
        /// Bucket size.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        burst: f64,
    },
    /// Lower priority classes are served first in pools and waiting rooms.
    Priority {},
    /// Each cohort may log in only from its slot's start, in seconds from t = 0.
    StaggeredSlots {
        /// Slot start per cohort name.
        slots: BTreeMap<String, f64>,
    },
    /// Clients reject requests locally with probability max(0, (requests − k·accepts) / (requests + 1)).
    AdaptiveThrottling {
        /// The multiplier K (2 in the SRE book).
        #[cfg_attr(feature = "files", schemars(range(min = 1.0)))]
        k: f64,
        /// Sliding window in seconds.
        #[serde(default = "two_minutes")]
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        window_s: u32,
    },
}

fn two_minutes() -> u32 {
    120
}

/// An arrival process, tagged by `process`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawArrivals {
    /// Poisson arrivals at a constant rate.
    Poisson {
        /// Arrivals per second.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        rate_per_s: f64,
    },
    /// Poisson arrivals at a piecewise-linear rate through `[t_s, rate_per_s]` points (zero outside them).
    Profile {
        /// `[t_s, rate_per_s]` pairs, times increasing.
        points: Vec<[f64; 2]>,
    },
    /// A finite population that arrives once each, spread by a piecewise-linear density.
    Population {
        /// Number of people (0 switches the cohort off, e.g. a surge in a stability study's baseline).
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        count: u64,
        /// `[t_s, relative_density]` pairs, times increasing.
        shape: Vec<[f64; 2]>,
    },
}

/// A duration distribution, tagged by `dist`; every parameter is in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawDist {
    /// Exponential.
    Exponential {
        /// Mean in seconds.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        mean_s: f64,
    },
    /// Constant.
    Deterministic {
        /// The value in seconds.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        value_s: f64,
    },
    /// Log-normal by mean and coefficient of variation.
    Lognormal {
        /// Mean in seconds.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        mean_s: f64,
        /// Coefficient of variation (std / mean).
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        cv: f64,
    },
    /// Gamma by shape and mean.
    Gamma {
        /// Shape parameter.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        shape: f64,
        /// Mean in seconds.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        mean_s: f64,
    },
    /// Erlang-k by phase count and mean.
    Erlang {
        /// Number of exponential phases.
        #[cfg_attr(feature = "files", schemars(range(min = 1)))]
        k: u32,
        /// Mean in seconds.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        mean_s: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        min_s: f64,
        /// Upper bound in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        max_s: f64,
    },
}

/// One `[platforms.NAME]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    /// The application pool that serves requests.
    pub pool: RawPool,
    /// Concurrent connections the front door accepts; beyond it a request is refused at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub max_connections: Option<u64>,
    /// Shared dependencies a login calls, in order, before the application pool (e.g. `["sso"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login_via: Vec<String>,
    /// Admission policies, applied in the listed order to each login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admission: Vec<RawAdmission>,
    /// Attack traffic aimed at this platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attacks: Vec<RawAttack>,
    /// The platform's protection against attack traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<RawMitigation>,
    /// Virtual classes held on the platform's media servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<RawClasses>,
}

/// One attack: a botnet sending requests at a platform's tier while it is on.
///
/// The botnet sends `bots × rate_per_bot` requests per second while on, between `start_s` and `end_s`;
/// with `on_s` and `off_s` it pulses (on for `on_s`, off for `off_s`, repeated); each burst ramps up
/// linearly over `ramp_s` (in ten equal steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawAttack {
    /// A label for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Machines in the botnet.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub bots: f64,
    /// Requests per second each bot sends while the attack is on.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub rate_per_bot: f64,
    /// Start of the attack, seconds from t = 0.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub start_s: f64,
    /// End of the attack, seconds from t = 0.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub end_s: f64,
    /// Length of a burst, seconds (absent: on from start to end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub on_s: Option<f64>,
    /// Pause between bursts, seconds (with `on_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub off_s: Option<f64>,
    /// Ramp-up of each burst, seconds.
    #[serde(default)]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub ramp_s: f64,
    /// `"pool"` (requests that need the application servers' work) or `"front_door"` (connections held
    /// open at the platform's connection cap).
    #[serde(default = "pool_tier")]
    pub tier: String,
    /// Pool tier: work of one attack request as a multiple of a real page's mean service time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub cost: Option<f64>,
    /// Front-door tier: seconds a bot holds each connection open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub hold_s: Option<f64>,
    /// Share of the attack traffic coming from abroad (what geo-filtering removes); default 1.
    #[serde(default = "one_f64")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0, max = 1.0)))]
    pub abroad_share: f64,
}

fn pool_tier() -> String {
    "pool".into()
}

fn one_f64() -> f64 {
    1.0
}

/// Protection against attack traffic: it engages `detection_delay_s` after the first attack starts and
/// stays on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMitigation {
    /// Seconds from the start of the first attack until protection is in place.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub detection_delay_s: f64,
    /// Share of attack traffic blocked once protection is on.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0, max = 1.0)))]
    pub blocked_share: f64,
    /// Share of real users the protection wrongly blocks (each user is flagged or not, for the whole run).
    #[serde(default)]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0, max = 1.0)))]
    pub false_positive_share: f64,
    /// Whether protection also drops all traffic from abroad.
    #[serde(default)]
    pub geo_filter: bool,
    /// Share of real users connecting from abroad (blocked by the geo-filter).
    #[serde(default)]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0, max = 1.0)))]
    pub real_abroad_share: f64,
}

/// Virtual classes: at each bell, classes start; a teacher and pupils log in to the platform and join a
/// room on a media server. A class is held if its teacher gets in within the join window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawClasses {
    /// `[t_s, classes]`: classes starting at each bell.
    pub bells: Vec<[f64; 2]>,
    /// Mean number of pupils per class (Poisson).
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub pupils: f64,
    /// Length of a lesson, seconds.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub duration_s: f64,
    /// Participants make their first try spread uniformly over this many seconds after the bell.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub join_spread_s: f64,
    /// A class is judged (held, degraded or lost) this many seconds after its bell.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub join_window_s: f64,
    /// The cohort whose session behaviour (timeouts, retries) teachers follow.
    pub teachers: String,
    /// The cohort whose session behaviour pupils follow.
    pub pupils_cohort: String,
    /// The media servers.
    pub media: RawMedia,
}

/// Media servers hosting class rooms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMedia {
    /// Number of media servers.
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub servers: i64,
    /// Rooms (classes at once) per server.
    #[cfg_attr(feature = "files", schemars(range(min = 1)))]
    pub rooms_per_server: i64,
    /// Outgoing bandwidth of one server, Mbit/s.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub mbps_per_server: f64,
    /// Bandwidth one participant uses, Mbit/s.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub mbps_per_participant: f64,
}

/// A pool of servers with a FIFO backlog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Number of servers.
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub servers: i64,
    /// Concurrent requests each server handles (threads, workers); default 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    #[cfg_attr(feature = "files", schemars(range(min = 1)))]
    pub workers_per_server: i64,
    /// Maximum requests in the pool, in service and waiting (the K of M/M/c/K); absent: unlimited backlog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub max_in_system: Option<i64>,
    /// Service-time distribution of one request.
    pub service: RawDist,
    /// Slowdown once the pool is crowded (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overload: Option<RawOverload>,
    /// How the number of servers changes over the run (absent: static at `servers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<RawProvisioning>,
    /// Capacity losses: servers lost at a time, for a while or for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<RawIncident>,
}

/// Provisioning of a pool, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawProvisioning {
    /// `servers` for the whole run.
    Static {},
    /// A timetable of `[t_s, servers]`: the servers are ready at those times (pre-warming: booted ahead).
    Scheduled {
        /// `[t_s, servers]` pairs, times increasing.
        timetable: Vec<[f64; 2]>,
    },
    /// A reactive autoscaler: every `window_s` it compares the metric over the last window with the target
    /// and adds `step` servers (which become ready after a boot delay, some failing) or, below half the
    /// target, removes `step`, never within `cooldown_s` of its last action, within `[min, max]` and the
    /// provider's quota (servers running plus booting).
    Autoscale {
        /// `"utilization"` (busy share of slots), `"backlog"` (waiting requests per slot) or `"latency"`
        /// (mean wait in seconds of the requests started in the window).
        metric: String,
        /// Target value of the metric.
        #[cfg_attr(feature = "files", schemars(extend("exclusiveMinimum" = 0.0)))]
        target: f64,
        /// Evaluation window in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        window_s: f64,
        /// Servers added or removed per action.
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        step: i64,
        /// Boot delay of one server.
        boot_delay: RawDist,
        /// Minimum time between two actions, in seconds.
        #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
        cooldown_s: f64,
        /// Fewest servers.
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        min: i64,
        /// Most servers.
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        max: i64,
        /// The cloud provider's quota on servers running plus booting (absent: `max`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "files", schemars(range(min = 0)))]
        provider_quota: Option<i64>,
        /// Share of boots that fail (the server never becomes ready, its boot time is still paid).
        #[serde(default)]
        #[cfg_attr(feature = "files", schemars(range(min = 0.0, max = 1.0)))]
        boot_failure_share: f64,
    },
}

/// A capacity incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawIncident {
    /// When the servers are lost, seconds from t = 0.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub at_s: f64,
    /// How many.
    #[cfg_attr(feature = "files", schemars(range(min = 0)))]
    pub servers: i64,
    /// For how long (absent: for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub duration_s: Option<f64>,
}

/// Overload slowdown: service times grow once the requests in the pool pass a knee.
///
/// With `n` requests in the pool (waiting and in service) and `c` slots, a service starting now takes
/// `1 + slowdown × clamp((n / c − knee) / knee, 0, 1)` times its drawn length: contention (locks, memory,
/// connection handling) makes each request slower as the crowd grows, up to `1 + slowdown` times at twice
/// the knee, so throughput falls exactly when demand is highest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "files", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawOverload {
    /// Requests in the pool, as a multiple of the slots, where slowdown starts.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub knee: f64,
    /// Extra service time per knee's worth of requests beyond the knee.
    #[cfg_attr(feature = "files", schemars(range(min = 0.0)))]
    pub slowdown: f64,
}

fn one() -> i64 {
    1
}

fn is_one(v: &i64) -> bool {
    *v == 1
}

/// `x × f` rounded to the nearest integer, at least 1.
fn scale_count(x: i64, f: f64) -> i64 {
    ((x as f64 * f).round() as i64).max(1)
}

impl RawPool {
    fn scale(&mut self, f: f64) {
        let before = self.servers.max(1);
        self.servers = scale_count(self.servers, f);
        match &mut self.provisioning {
            None | Some(RawProvisioning::Static {}) => {}
            Some(RawProvisioning::Scheduled { timetable }) => timetable.iter_mut().for_each(|p| p[1] = (p[1] * f).round().max(1.0)),
            Some(RawProvisioning::Autoscale { step, min, max, provider_quota, .. }) => {
                *step = scale_count(*step, f);
                *min = scale_count(*min, f);
                *max = scale_count(*max, f);
                if let Some(q) = provider_quota {
                    *q = scale_count(*q, f);
                }
            }
        }
        for i in &mut self.incidents {
            i.servers = scale_count(i.servers, f);
        }
        if let Some(k) = self.max_in_system {
            // Keep the backlog proportional, and K >= c after rounding.
            let backlog = (k - before * self.workers_per_server).max(0);
            self.max_in_system = Some(self.servers * self.workers_per_server + ((backlog as f64 * f).round() as i64));
        }
    }
}

impl RawScenario {
    /// Multiplies population and capacity by `f` (see `Scenario::from_toml_scaled`).
    pub fn scale(&mut self, f: f64) {
        for c in self.cohorts.values_mut() {
            match &mut c.arrivals {
                RawArrivals::Poisson { rate_per_s } => *rate_per_s *= f,
                RawArrivals::Profile { points } => points.iter_mut().for_each(|p| p[1] *= f),
                // A cohort switched off (no one) stays off; any other keeps at least one person.
                RawArrivals::Population { count, .. } if *count > 0 => *count = ((*count as f64 * f).round() as u64).max(1),
                RawArrivals::Population { .. } => {}
            }
        }
        for p in self.platforms.values_mut() {
            p.pool.scale(f);
            // The botnet scales with the country: attack and capacity keep their ratio.
            p.attacks.iter_mut().for_each(|a| a.bots *= f);
            if let Some(c) = &mut p.classes {
                c.bells.iter_mut().for_each(|b| b[1] = (b[1] * f).round());
                c.media.servers = scale_count(c.media.servers, f);
            }
            if let Some(m) = &mut p.max_connections {
                *m = ((*m as f64 * f).round() as u64).max(1);
            }
            for a in &mut p.admission {
                match a {
                    RawAdmission::SessionQuota { max_sessions } => *max_sessions = ((*max_sessions as f64 * f).round() as u64).max(1),
                    RawAdmission::WaitingRoom { admit_per_min, .. } => *admit_per_min *= f,
                    RawAdmission::TokenBucket { rate_per_s, burst } => {
                        *rate_per_s *= f;
                        *burst = (*burst * f).max(1.0);
                    }
                    RawAdmission::SessionTimeLimit { .. }
                    | RawAdmission::Priority {}
                    | RawAdmission::StaggeredSlots { .. }
                    | RawAdmission::AdaptiveThrottling { .. } => {}
                }
            }
        }
        for d in self.dependencies.values_mut() {
            d.pool.scale(f);
        }
    }
}
