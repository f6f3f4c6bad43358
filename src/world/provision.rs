//! Provisioning: how a pool's servers change over a run — a timetable, a reactive autoscaler, incidents
//! that take servers away for a while or for good, and the boots of the servers an autoscaler orders.
//!
//! Each pool has one [`PoolProvisioning`], which owns what provisioning remembers (the plan, the
//! autoscaler's rule and its last action, the boots' random stream) and acts on the pool it is lent. The
//! decision to scale is the policy's ([`Autoscaler::observe`]); this room reads the pool over the window,
//! hands the reading in, and carries the decision out. Whether freed capacity must take waiting requests
//! is said by the return value, since filling slots is the server side's business.

use super::ids::PoolId;
use super::pool::Pool;
use super::{Event, PackedEvent};
use crate::engine::{DurationDist, Scheduler, SimDuration, SimTime, StreamRng};
use crate::policy::autoscale::{Autoscaler, Decision, Reading};
use crate::scenario::{Incident, PoolSpec, Provisioning, ScaleMetric};

/// What must follow a provisioning event.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Nothing.
    Nothing,
    /// Ready servers were added: waiting requests can take the new slots.
    Fill,
}

/// How one pool's servers change.
enum Plan {
    Static,
    /// Servers ready at the listed times.
    Scheduled(Vec<(SimTime, u32)>),
    /// A reactive autoscaler.
    Autoscale {
        metric: ScaleMetric,
        window: SimDuration,
        boot_delay: DurationDist,
        boot_failure_share: f64,
        rule: Autoscaler,
    },
}

/// The provisioning of one pool: its plan, its incidents and the randomness of its boots.
pub(super) struct PoolProvisioning {
    plan: Plan,
    /// In time order.
    incidents: Vec<Incident>,
    /// Boot delays and failures.
    boot_rng: StreamRng,
}

impl PoolProvisioning {
    /// The provisioning of a pool specified by `spec`, with `boot_rng` its stream for boots.
    pub(super) fn new(spec: &PoolSpec, boot_rng: StreamRng) -> PoolProvisioning {
        let plan = match &spec.provisioning {
            Provisioning::Static => Plan::Static,
            Provisioning::Scheduled(steps) => Plan::Scheduled(steps.clone()),
            Provisioning::Autoscale(a) => Plan::Autoscale {
                metric: a.metric,
                window: a.window,
                boot_delay: a.boot_delay.clone(),
                boot_failure_share: a.boot_failure_share,
                rule: a.rule.clone(),
            },
        };
        PoolProvisioning { plan, incidents: spec.incidents.clone(), boot_rng }
    }

    /// Schedules pool `pool`'s timetable steps, first autoscaler evaluation and incidents.
    pub(super) fn schedule(&self, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
        match &self.plan {
            Plan::Static => {}
            Plan::Scheduled(steps) => {
                for (k, (t, _)) in steps.iter().enumerate() {
                    sched.schedule_at(*t, Event::TimetableStep { pool, step: k as u32 });
                }
            }
            Plan::Autoscale { window, .. } => sched.schedule(*window, Event::Autoscale { pool }),
        }
        for (k, inc) in self.incidents.iter().enumerate() {
            sched.schedule_at(inc.at, Event::Incident { pool, index: k as u32, restore: false });
        }
    }

    /// Step `step` of the timetable: the pool gets its servers, booting ones aside.
    pub(super) fn timetable_step(&self, step: u32, p: &mut Pool, now: SimTime) -> Then {
        let Plan::Scheduled(steps) = &self.plan else {
            return Then::Nothing;
        };
        p.set_servers(now, u64::from(steps[step as usize].1), p.booting());
        Then::Fill
    }

    /// The autoscaler of pool `pool` (that is, `p`) reads the window that ends now, decides, orders or
    /// retires servers, and schedules its next evaluation.
    pub(super) fn autoscale(&mut self, pool: PoolId, p: &mut Pool, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let Plan::Autoscale { metric, window, boot_delay, boot_failure_share, rule } = &mut self.plan else {
            return;
        };
        let value = read_window(*metric, *window, p, now);
        match rule.observe(now, Reading { value, ready: p.ready(), booting: p.booting() }) {
            Decision::Hold => {}
            Decision::Add(add) => {
                p.set_servers(now, p.ready(), p.booting() + add);
                for _ in 0..add {
                    let delay = boot_delay.sample(&mut self.boot_rng);
                    let ok = rand::Rng::random::<f64>(&mut self.boot_rng) >= *boot_failure_share;
                    sched.schedule(delay, Event::BootDone { pool, ok });
                }
            }
            Decision::Remove(remove) => p.set_servers(now, p.ready() - remove, p.booting()),
        }
        sched.schedule(*window, Event::Autoscale { pool });
    }

    /// A server ordered by the autoscaler finished booting (`ok`) or failed to.
    pub(super) fn boot_done(p: &mut Pool, ok: bool, now: SimTime) -> Then {
        let ready = if ok { p.ready() + 1 } else { p.ready() };
        p.set_servers(now, ready, p.booting() - 1);
        if ok {
            Then::Fill
        } else {
            Then::Nothing
        }
    }

    /// Incident `index` of pool `pool` (that is, `p`) strikes, or its servers come back (`restore`).
    pub(super) fn incident(&self, pool: PoolId, index: u32, restore: bool, p: &mut Pool, sched: &mut Scheduler<PackedEvent>) -> Then {
        let now = sched.now();
        let inc = &self.incidents[index as usize];
        let servers = u64::from(inc.servers);
        if restore {
            p.set_servers(now, p.ready() + servers, p.booting());
            Then::Fill
        } else {
            p.set_servers(now, p.ready().saturating_sub(servers), p.booting());
            if let Some(d) = inc.duration {
                sched.schedule(d, Event::Incident { pool, index, restore: true });
            }
            Then::Nothing
        }
    }
}

/// What an autoscaler watching `metric` reads of pool `p` over the `window` that ends at `now`; starts the
/// next window.
fn read_window(metric: ScaleMetric, window: SimDuration, p: &mut Pool, now: SimTime) -> f64 {
    p.sync(now);
    let totals = p.totals(now);
    let w = p.scale_window.close(totals);
    let span_us = window.as_micros().max(1) as f64;
    match metric {
        ScaleMetric::Utilization => {
            let s = w.slots as f64;
            if s > 0.0 {
                w.busy as f64 / s
            } else {
                1.0
            }
        }
        ScaleMetric::Backlog => w.waiting as f64 / span_us / (p.slots().max(1) as f64),
        ScaleMetric::Latency => {
            if w.counts.timed_starts == 0 {
                // Nothing started: either idle (no latency) or stuck (all slots busy for the window).
                if p.waiting_len() > 0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            } else {
                w.counts.start_wait_us as f64 / w.counts.timed_starts as f64 / 1e6
            }
        }
    }
}
