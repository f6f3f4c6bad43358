//! Pools and how their servers change (timetable, autoscaler, incidents), validated.

use super::raw::{RawPool, RawProvisioning};
use super::validator::Validator;
use super::{MAX_COUNT, MIN_DURATION_S};
use crate::engine::{DurationDist, SimDuration, SimTime};
use crate::policy::Autoscaler;

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
    /// Overload slowdown (knee, slowdown), see [`super::raw::RawOverload`].
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

/// A reactive autoscaler, validated (see [`RawProvisioning::Autoscale`]): what it watches and how its
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

impl Validator {
    /// A platform's or a dependency's pool, with its provisioning and incidents.
    pub(super) fn pool(&mut self, field: &str, pool: &RawPool) -> Option<PoolSpec> {
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
        use RawProvisioning as P;
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{desk, problems};
    use super::super::Scenario;
    use super::*;
    use std::path::Path;

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
}
