//! Attack traffic, mitigation and virtual classes, validated.

use super::raw::{RawAttack, RawClasses, RawMitigation};
use super::Validator;
use crate::engine::{SimDuration, SimTime};

/// How attack traffic is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttackModel {
    /// The default: the attack requests a tier admits are simulated one by one, and those it would turn
    /// away are counted without being drawn. While a tier is full its attack stream is parked (every
    /// arrival would be refused and changes nothing), and when room appears the next arrival is drawn
    /// afresh, which the Poisson stream's lack of memory makes exact. The cost is bounded by the tier's
    /// capacity, not by the attack's size. A pool with a deep or unbounded backlog holds at most
    /// [`HYBRID_QUEUE_SLOTS`] attack requests per slot one by one; the work beyond waits as a fluid.
    #[default]
    Hybrid,
    /// Attack traffic as a fluid: work flowing into the pool's backlog at the attack's rate, connections
    /// held at the front door in proportion to its rate. Cost independent of the attack's size; right in
    /// heavy overload only (it drops the attack's own randomness, see `world::fluid`).
    Aggregate,
    /// Every attack request is an event, like a real one: the reference the others are checked against.
    Requests,
}

/// Attack requests per service slot that a pool's backlog holds one by one in the hybrid model before
/// further attack work waits as a fluid behind them. Beyond that depth a real request waits behind the
/// work of thousands of attack requests, whose sum the law of large numbers makes nearly certain, and the
/// number of records stays bounded whatever the attack's size.
pub const HYBRID_QUEUE_SLOTS: u64 = 32;

/// The tier an attack hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttackTier {
    /// The application pool: each attack request needs `cost` times a real page's mean service time.
    Pool {
        /// Work of one attack request relative to a real page.
        cost: f64,
    },
    /// The front door: each attack request holds a connection for `hold`.
    FrontDoor {
        /// How long a bot keeps a connection open.
        hold: SimDuration,
    },
}

/// One attack, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackSpec {
    /// Label.
    pub name: String,
    /// Where it lands.
    pub tier: AttackTier,
    /// Requests per second from each instant on, before mitigation: a piecewise-constant rate, times
    /// increasing, ending with a zero rate at the attack's end.
    pub steps: Vec<(SimTime, f64)>,
    /// Share of the traffic from abroad.
    pub abroad_share: f64,
}

impl AttackSpec {
    /// When the attack starts.
    pub fn start(&self) -> SimTime {
        self.steps.first().map_or(SimTime::ZERO, |s| s.0)
    }

    /// Requests the botnet sends over its whole schedule, before mitigation (the integral of its rate).
    pub fn expected_requests(&self) -> f64 {
        self.steps.windows(2).map(|w| w[0].1 * (w[1].0 - w[0].0).as_secs_f64()).sum()
    }

    /// The rate in force at `t`, requests per second.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        match self.steps.partition_point(|s| s.0 <= t) {
            0 => 0.0,
            i => self.steps[i - 1].1,
        }
    }
}

/// Protection, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MitigationSpec {
    /// Delay from the first attack's start to protection.
    pub detection_delay: SimDuration,
    /// Share of attack traffic blocked once on.
    pub blocked_share: f64,
    /// Share of real users wrongly blocked once on.
    pub false_positive_share: f64,
    /// Whether traffic from abroad is dropped once on.
    pub geo_filter: bool,
    /// Share of real users abroad.
    pub real_abroad_share: f64,
}

impl MitigationSpec {
    /// Share of an attack's traffic (with `abroad` of it from abroad) that gets through once protection is
    /// on.
    pub fn passing_share(&self, abroad: f64) -> f64 {
        (1.0 - self.blocked_share) * (1.0 - if self.geo_filter { abroad } else { 0.0 })
    }
}

/// Media servers, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaSpec {
    /// Number of media servers.
    pub servers: u32,
    /// Rooms per server.
    pub rooms_per_server: u32,
    /// Participants one server can stream to (its bandwidth over one participant's).
    pub participants_per_server: u32,
}

/// Virtual classes, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassesSpec {
    /// (bell time, classes starting), times increasing.
    pub bells: Vec<(SimTime, u64)>,
    /// Mean pupils per class.
    pub pupils_mean: f64,
    /// Lesson length.
    pub duration: SimDuration,
    /// Spread of the participants' first tries after the bell.
    pub join_spread: SimDuration,
    /// When, after its bell, a class is judged.
    pub join_window: SimDuration,
    /// Cohort index whose session behaviour teachers follow.
    pub teachers: usize,
    /// Cohort index whose session behaviour pupils follow.
    pub pupils_cohort: usize,
    /// Media servers.
    pub media: MediaSpec,
}

/// The largest attack rate a file may state, requests per second: a thousand times the largest DDoS
/// reported (a few 10^8 requests per second), and small enough that the fluid's sums of work keep their
/// precision over a day.
pub const MAX_ATTACK_RATE_PER_S: f64 = 1e12;

/// Ramp steps per burst.
const RAMP_STEPS: u32 = 10;
/// Bursts per attack beyond which the schedule is refused (a typo such as `on_s = 0.001`).
const MAX_BURSTS: f64 = 100_000.0;

impl Validator {
    pub(super) fn attack_model(&mut self, model: Option<&str>) -> AttackModel {
        match model {
            None | Some("hybrid") => AttackModel::Hybrid,
            Some("aggregate") => AttackModel::Aggregate,
            Some("requests") => AttackModel::Requests,
            Some(other) => {
                self.problem("scenario.attack_model", &format!("{other:?}"), "\"hybrid\", \"aggregate\" or \"requests\"");
                AttackModel::Hybrid
            }
        }
    }

    pub(super) fn attack(&mut self, field: &str, a: &RawAttack, horizon_s: f64) -> Option<AttackSpec> {
        let before = self.problems.len();
        self.check(a.bots.is_finite() && a.bots >= 0.0, &format!("{field}.bots"), a.bots, "a number of machines >= 0");
        self.check(
            a.rate_per_bot.is_finite() && a.rate_per_bot >= 0.0,
            &format!("{field}.rate_per_bot"),
            a.rate_per_bot,
            "requests per second >= 0",
        );
        let total = a.bots * a.rate_per_bot;
        self.check(
            // NaN comes only from a bots or rate value refused above.
            total.is_nan() || total <= MAX_ATTACK_RATE_PER_S,
            &format!("{field}.rate_per_bot"),
            format!("{} (× {} bots = {total:e} requests per second)", a.rate_per_bot, a.bots),
            &format!("bots × rate_per_bot at most {MAX_ATTACK_RATE_PER_S:e} requests per second"),
        );
        self.check(
            a.start_s.is_finite() && a.start_s >= 0.0 && a.start_s <= super::MAX_HORIZON_S,
            &format!("{field}.start_s"),
            a.start_s,
            &format!("seconds >= 0 and at most {:e}", super::MAX_HORIZON_S),
        );
        self.check(
            a.end_s.is_finite() && a.end_s > a.start_s,
            &format!("{field}.end_s"),
            a.end_s,
            &format!("seconds > start_s = {}", a.start_s),
        );
        self.check(a.ramp_s.is_finite() && a.ramp_s >= 0.0, &format!("{field}.ramp_s"), a.ramp_s, "seconds >= 0");
        self.check((0.0..=1.0).contains(&a.abroad_share), &format!("{field}.abroad_share"), a.abroad_share, "a share in [0, 1]");
        let cycle = match (a.on_s, a.off_s) {
            (None, None) => None,
            (Some(on), Some(off)) => {
                self.check(
                    on.is_finite() && on >= super::MIN_DURATION_S,
                    &format!("{field}.on_s"),
                    on,
                    &format!("seconds >= {:e} (one tick of the clock)", super::MIN_DURATION_S),
                );
                self.check(off.is_finite() && off >= 0.0, &format!("{field}.off_s"), off, "seconds >= 0");
                let bursts = (a.end_s - a.start_s) / (on + off);
                self.check(
                    bursts.is_nan() || bursts <= MAX_BURSTS,
                    &format!("{field}.on_s"),
                    on,
                    &format!("bursts of a length giving at most {MAX_BURSTS} bursts"),
                );
                Some((on, off))
            }
            _ => {
                self.problem(&format!("{field}.on_s"), "only one of on_s and off_s", "both (a pulsing attack) or neither");
                None
            }
        };
        let tier = match a.tier.as_str() {
            "pool" => {
                if a.hold_s.is_some() {
                    self.problem(&format!("{field}.hold_s"), "hold_s on a pool attack", "hold_s only with tier = \"front_door\"");
                }
                let cost = a.cost.unwrap_or(1.0);
                self.check(
                    cost.is_finite() && cost > 0.0 && cost <= 1e6,
                    &format!("{field}.cost"),
                    cost,
                    "a multiple of a page's service time > 0 and at most 1e6",
                );
                AttackTier::Pool { cost }
            }
            "front_door" => {
                if a.cost.is_some() {
                    self.problem(&format!("{field}.cost"), "cost on a front-door attack", "cost only with tier = \"pool\"");
                }
                let hold = a.hold_s.unwrap_or(1.0);
                self.check(hold.is_finite() && hold > 0.0, &format!("{field}.hold_s"), hold, "seconds > 0");
                AttackTier::FrontDoor { hold: SimDuration::from_secs_f64(hold.max(1e-6)) }
            }
            other => {
                self.problem(&format!("{field}.tier"), &format!("{other:?}"), "\"pool\" or \"front_door\"");
                AttackTier::Pool { cost: 1.0 }
            }
        };
        if self.problems.len() > before {
            return None;
        }
        let rate = a.bots * a.rate_per_bot;
        let end = a.end_s.min(horizon_s.max(a.start_s));
        let mut steps: Vec<(SimTime, f64)> = Vec::new();
        let push = |steps: &mut Vec<(SimTime, f64)>, t: f64, r: f64| {
            let t = SimTime::from_secs_f64(t);
            match steps.last_mut() {
                Some(last) if last.0 == t => last.1 = r,
                Some(last) if last.1 == r => {}
                _ => steps.push((t, r)),
            }
        };
        let (on, off) = cycle.unwrap_or((end - a.start_s, 0.0));
        let mut burst = a.start_s;
        while burst < end {
            let stop = (burst + on).min(end);
            let ramp = a.ramp_s.min(stop - burst);
            if ramp > 0.0 {
                for k in 0..RAMP_STEPS {
                    push(&mut steps, burst + ramp * f64::from(k) / f64::from(RAMP_STEPS), rate * f64::from(k + 1) / f64::from(RAMP_STEPS));
                }
            }
            push(&mut steps, burst + ramp, rate);
            push(&mut steps, stop, 0.0);
            let next = burst + on + off;
            if next <= burst {
                // Bursts shorter than the spacing of floats at this instant: the schedule cannot go on.
                break;
            }
            burst = next;
        }
        if steps.last().is_some_and(|s| s.1 != 0.0) {
            push(&mut steps, end, 0.0);
        }
        Some(AttackSpec { name: a.name.clone().unwrap_or_else(|| "attack".into()), tier, steps, abroad_share: a.abroad_share })
    }

    pub(super) fn mitigation(&mut self, field: &str, m: &RawMitigation) -> Option<MitigationSpec> {
        let before = self.problems.len();
        self.check(
            m.detection_delay_s.is_finite() && m.detection_delay_s >= 0.0,
            &format!("{field}.detection_delay_s"),
            m.detection_delay_s,
            "seconds >= 0",
        );
        for (name, x) in [
            ("blocked_share", m.blocked_share),
            ("false_positive_share", m.false_positive_share),
            ("real_abroad_share", m.real_abroad_share),
        ] {
            self.check((0.0..=1.0).contains(&x), &format!("{field}.{name}"), x, "a share in [0, 1]");
        }
        (self.problems.len() == before).then(|| MitigationSpec {
            detection_delay: SimDuration::from_secs_f64(m.detection_delay_s),
            blocked_share: m.blocked_share,
            false_positive_share: m.false_positive_share,
            geo_filter: m.geo_filter,
            real_abroad_share: m.real_abroad_share,
        })
    }

    pub(super) fn classes(&mut self, field: &str, c: &RawClasses, cohorts: &[&String]) -> Option<ClassesSpec> {
        let before = self.problems.len();
        let mut last = -1.0;
        for (i, b) in c.bells.iter().enumerate() {
            self.check(b[0].is_finite() && b[0] > last, &format!("{field}.bells[{i}]"), b[0], "a time in seconds >= 0, increasing");
            self.check(
                b[1].is_finite() && b[1] >= 0.0 && b[1].fract() == 0.0,
                &format!("{field}.bells[{i}]"),
                b[1],
                "a whole number of classes >= 0",
            );
            last = b[0];
        }
        if c.bells.is_empty() {
            self.problem(&format!("{field}.bells"), "no bell", "at least one [t_s, classes] pair");
        }
        self.check(c.pupils.is_finite() && c.pupils >= 0.0, &format!("{field}.pupils"), c.pupils, "a mean number of pupils >= 0");
        for (name, x) in [("duration_s", c.duration_s), ("join_window_s", c.join_window_s)] {
            self.check(x.is_finite() && x > 0.0, &format!("{field}.{name}"), x, "seconds > 0");
        }
        self.check(
            c.join_spread_s.is_finite() && c.join_spread_s >= 0.0 && c.join_spread_s <= c.join_window_s,
            &format!("{field}.join_spread_s"),
            c.join_spread_s,
            "seconds >= 0 and <= join_window_s",
        );
        let mut cohort = |name: &str, what: &str| match cohorts.iter().position(|k| k.as_str() == name) {
            Some(i) => Some(i),
            None => {
                self.problem(&format!("{field}.{what}"), &format!("{name:?}"), &format!("one of the cohorts defined: {cohorts:?}"));
                None
            }
        };
        let teachers = cohort(&c.teachers, "teachers");
        let pupils_cohort = cohort(&c.pupils_cohort, "pupils_cohort");
        let m = &c.media;
        self.count(&format!("{field}.media.servers"), m.servers, 1);
        self.count(&format!("{field}.media.rooms_per_server"), m.rooms_per_server, 1);
        self.check(
            m.mbps_per_participant.is_finite() && m.mbps_per_participant > 0.0,
            &format!("{field}.media.mbps_per_participant"),
            m.mbps_per_participant,
            "Mbit/s > 0",
        );
        self.check(
            m.mbps_per_server.is_finite() && m.mbps_per_server >= m.mbps_per_participant,
            &format!("{field}.media.mbps_per_server"),
            m.mbps_per_server,
            "Mbit/s >= mbps_per_participant (room for one participant)",
        );
        if self.problems.len() > before {
            return None;
        }
        Some(ClassesSpec {
            bells: c.bells.iter().map(|b| (SimTime::from_secs_f64(b[0]), b[1] as u64)).collect(),
            pupils_mean: c.pupils,
            duration: SimDuration::from_secs_f64(c.duration_s),
            join_spread: SimDuration::from_secs_f64(c.join_spread_s),
            join_window: SimDuration::from_secs_f64(c.join_window_s),
            teachers: teachers?,
            pupils_cohort: pupils_cohort?,
            media: MediaSpec {
                servers: m.servers.min(i64::from(u32::MAX)) as u32,
                rooms_per_server: m.rooms_per_server.min(i64::from(u32::MAX)) as u32,
                participants_per_server: (m.mbps_per_server / m.mbps_per_participant).floor().min(f64::from(u32::MAX)) as u32,
            },
        })
    }
}
