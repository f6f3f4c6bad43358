//! Building a world from a scenario, and splitting and merging components.
//!
//! A scenario's platforms fall into components that share nothing (no login dependency links them): each
//! is simulated by a world of its own, built here with every group, pool, platform and stream of the
//! scenario but only its own pools active, and the worlds are merged back in pool order when all have run.

use super::ids::{GroupId, Id, IdVec, PlatformId, PoolId};
use super::observer::Minutes;
use super::platform::Platform;
use super::pool::Pool;
use super::provision::PoolProvisioning;
use super::slab::Slab;
use super::stats::{GroupStats, CHECKPOINTS};
use super::{attack, classes, Clients, Group, MinuteSink, Servers, Shared, World, CLASS_GROUP};
use crate::engine::{ArrivalProcess, ArrivalStream, SimTime, StreamKey, StreamRng};
use crate::policy::RetryBudget;
use crate::scenario::Scenario;

impl Group {
    /// The group `label` (its streams' name) of `cohort` (an index, or [`CLASS_GROUP`]) with the behaviour of
    /// cohort spec `c`, on platform `pi` (spec `p`); `key` makes a stream from a label.
    #[allow(clippy::too_many_arguments)]
    fn new(
        label: &str,
        cohort: u32,
        c: &crate::scenario::CohortSpec,
        pi: usize,
        p: &crate::scenario::PlatformSpec,
        arrivals: Option<ArrivalStream>,
        slot_start: Option<SimTime>,
        key: &dyn Fn(String) -> StreamRng,
    ) -> Group {
        Group {
            cohort,
            platform: PlatformId::from_index(pi),
            arrivals,
            arrival_rng: key(format!("arrivals/{label}")),
            behaviour_rng: key(format!("behaviour/{label}")),
            work_rng: key(format!("work/{label}")),
            patience: c.patience.clone(),
            session: c.session.clone(),
            budget: c.session.as_ref().and_then(|s| s.retry_budget).map(|r| RetryBudget::new(r, 60)),
            priority: if p.admission.priority { c.priority.min(7) as u8 } else { 0 },
            slot_start,
            stats: GroupStats::default(),
        }
    }
}

/// The most users whose storage is reserved up front (4 GiB of address space at 64 bytes each).
const MAX_RESERVED_USERS: usize = 1 << 26;

/// A share of an arrival process: each member of the cohort uses the platform with probability `share`.
fn share_of(process: &ArrivalProcess, share: f64) -> ArrivalProcess {
    if share >= 1.0 {
        return process.clone();
    }
    match process {
        ArrivalProcess::Poisson { mean_gap_s } => ArrivalProcess::Poisson { mean_gap_s: mean_gap_s / share },
        ArrivalProcess::Profile(p) => ArrivalProcess::Profile(p.scaled(share)),
        ArrivalProcess::Population { count, shape } => {
            ArrivalProcess::Population { count: ((*count as f64) * share).round() as u64, shape: shape.clone() }
        }
    }
}

impl<'s> World<'s> {
    /// The world of `scenario` for replication `replication` of master seed `seed`, simulating the pools
    /// marked in `active_pools`, its minute rows going to `sink` if there is one.
    pub(super) fn new(
        scenario: &Scenario,
        seed: u64,
        replication: u64,
        active_pools: Vec<bool>,
        sink: Option<&'s mut dyn MinuteSink>,
    ) -> World<'s> {
        let key = |label: String| StreamKey::new(seed, replication, &label).rng();
        let horizon_s = scenario.horizon.as_secs_f64();
        let mut groups = Vec::new();
        // People this world may see: the storage of users is reserved for them all (see `Slab`).
        let mut expected_users = 0.0;
        for (ci, c) in scenario.cohorts.iter().enumerate() {
            for &(pi, share) in &c.platforms {
                let p = &scenario.platforms[pi];
                let process = share_of(&c.arrivals, share);
                if active_pools[pi] && c.session.is_some() {
                    expected_users += process.expected_count(horizon_s);
                }
                // A cohort on a single platform keeps the stream names of a textbook queue.
                let label = if c.platforms.len() == 1 { c.name.clone() } else { format!("{}/{}", c.name, p.name) };
                let arrivals = Some(ArrivalStream::new(process));
                let slot_start = p.admission.slots.get(ci).copied().flatten();
                groups.push(Group::new(&label, ci as u32, c, pi, p, arrivals, slot_start, &key));
            }
        }
        // The participants of each platform's virtual classes: a group of teachers and one of pupils, with
        // the behaviour of the cohorts the file names.
        let user_groups = groups.len();
        let mut classes = Vec::new();
        for (pi, p) in scenario.platforms.iter().enumerate() {
            let Some(spec) = &p.classes else {
                classes.push(None);
                continue;
            };
            if active_pools[pi] {
                expected_users += spec.bells.iter().map(|&(_, classes)| classes as f64 * (1.0 + spec.pupils_mean)).sum::<f64>();
            }
            let first = GroupId::from_index(groups.len());
            for (role, ci) in [("teachers", spec.teachers), ("pupils", spec.pupils_cohort)] {
                let c = &scenario.cohorts[ci];
                let label = format!("classes/{}/{role}", p.name);
                groups.push(Group::new(&label, CLASS_GROUP, c, pi, p, None, None, &key));
            }
            classes.push(Some(classes::Classes::new(spec.clone(), first, GroupId(first.0 + 1), key(format!("classes/{}", p.name)))));
        }
        // Application pools (one per platform, same index), then the shared dependencies.
        let any_priority = scenario.platforms.iter().any(|p| p.admission.priority);
        let make_pool = |name: &str, spec: &crate::scenario::PoolSpec, classes: usize| {
            Pool::new(
                name.to_owned(),
                u64::from(spec.servers),
                u64::from(spec.workers_per_server),
                spec.max_in_system.map(|k| k - spec.slots()),
                spec.service.clone(),
                spec.overload,
                classes,
            )
        };
        let levels = |priority: bool| if priority { 8 } else { 1 };
        let pools: Vec<Pool> = scenario
            .platforms
            .iter()
            .map(|p| make_pool(&p.name, &p.pool, levels(p.admission.priority)))
            .chain(scenario.dependencies.iter().map(|d| make_pool(&d.name, &d.pool, levels(any_priority))))
            .collect();
        let n_platforms = scenario.platforms.len();
        let platforms = scenario
            .platforms
            .iter()
            .zip(classes)
            .enumerate()
            .map(|(i, (p, classes))| {
                let mut platform = Platform::new(p, PlatformId::from_index(i), n_platforms, key(format!("admission/{}", p.name)));
                platform.attack = attack::PlatformAttack::new(p, scenario.attack_model, key(format!("attack/{}", p.name)));
                platform.flag_rng = p.mitigation.map(|_| key(format!("mitigation/{}", p.name)));
                platform.classes = classes;
                platform
            })
            .collect();
        let provisioning = scenario
            .platforms
            .iter()
            .map(|p| &p.pool)
            .chain(scenario.dependencies.iter().map(|d| &d.pool))
            .zip(&pools)
            .map(|(spec, pool)| PoolProvisioning::new(spec, key(format!("provisioning/{}", pool.name))))
            .collect();
        let checkpoints = CHECKPOINTS.map(|(h, m)| SimTime::from_secs_f64(scenario.clock_offset_s(h, m).max(0.0)));
        World {
            shared: Shared {
                horizon: scenario.horizon,
                warmup: scenario.warmup,
                clock_start_s: scenario.clock_start_s,
                checkpoints,
                active: IdVec::from_vec(active_pools),
                seed,
                replication,
                groups: IdVec::from_vec(groups),
                platforms,
            },
            servers: Servers { pools: IdVec::from_vec(pools), requests: Slab::default() },
            clients: Clients {
                // At worst all of them are alive at once; a Poisson count above its mean just grows the slab.
                users: Slab::with_capacity(expected_users.min(MAX_RESERVED_USERS as f64) as usize),
                user_groups,
                tokens: Default::default(),
            },
            provisioning,
            minutes: Minutes::new(sink),
            max_records: u64::MAX,
        }
    }
}

/// The people each component of `parts` (see [`components`]) expects over the horizon: every cohort's
/// arrivals on the component's platforms, with or without sessions. The estimate of its work by which a
/// run starts its largest component first; attack traffic is left out, so a component that holds little
/// but an attack is underestimated (it then starts later, which costs wall time, never a result).
pub(super) fn expected_people(scenario: &Scenario, parts: &[Vec<bool>]) -> Vec<f64> {
    let horizon_s = scenario.horizon.as_secs_f64();
    parts
        .iter()
        .map(|active| {
            let mut people = 0.0;
            for c in &scenario.cohorts {
                for &(pi, share) in &c.platforms {
                    if active[pi] {
                        people += share_of(&c.arrivals, share).expected_count(horizon_s);
                    }
                }
            }
            people
        })
        .collect()
}

/// The platforms that share nothing, as sets of active pools (platform pools first, then dependencies):
/// two platforms are in one component when a login dependency links them. In name order of their first
/// platform, so the decomposition depends on the scenario only.
pub fn components(scenario: &Scenario) -> Vec<Vec<bool>> {
    let n = scenario.platforms.len();
    let pools = n + scenario.dependencies.len();
    // Union-find over pools: a platform joins each dependency it logs in through.
    let mut parent: Vec<usize> = (0..pools).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, p) in scenario.platforms.iter().enumerate() {
        for &d in &p.login_via {
            let (a, b) = (root(&mut parent, i), root(&mut parent, n + d));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut roots: Vec<usize> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        if !roots.contains(&r) {
            roots.push(r);
        }
    }
    roots
        .iter()
        .map(|&r| {
            let mut active: Vec<bool> = (0..pools).map(|i| root(&mut parent, i) == r).collect();
            // A dependency no platform uses belongs to the first component (its servers still cost).
            if r == roots[0] {
                for (j, a) in active.iter_mut().enumerate().skip(n) {
                    if (0..n).all(|i| root(&mut parent, i) != root(&mut parent, j)) {
                        *a = true;
                    }
                }
            }
            active
        })
        .collect()
}

impl World<'_> {
    /// Takes over the state of `other`, a world that simulated other pools of the same scenario: its
    /// groups, pools, provisioning, platforms (with their attacks and classes) and timeseries rows.
    pub(super) fn absorb(&mut self, other: World<'_>) {
        let World { shared, servers, provisioning, minutes, .. } = other;
        let Shared { groups, platforms, active, .. } = shared;
        for (g, group) in groups.into_iter().enumerate() {
            if active[group.platform.pool()] {
                self.shared.groups[GroupId::from_index(g)] = group;
            }
        }
        for (i, platform) in platforms.into_iter().enumerate() {
            let i = PlatformId::from_index(i);
            if active[i.pool()] {
                self.shared.platforms[i] = platform;
            }
        }
        for (i, (pool, prov)) in servers.pools.into_iter().zip(provisioning).enumerate() {
            let i = PoolId::from_index(i);
            if active[i] {
                self.servers.pools[i] = pool;
                self.provisioning[i] = prov;
                self.shared.active[i] = true;
            }
        }
        self.minutes.absorb(minutes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_person_is_expected_in_exactly_one_component() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/france-2021-04-06.toml");
        let s = Scenario::load_scaled(&path, &[], 1.0).unwrap();
        let parts = components(&s);
        let people = expected_people(&s, &parts);
        assert_eq!(people.len(), parts.len());
        let horizon_s = s.horizon.as_secs_f64();
        let on = |name: &str| {
            let pi = s.platforms.iter().position(|p| p.name == name).expect("a platform of the replay");
            let all: f64 = s
                .cohorts
                .iter()
                .flat_map(|c| {
                    c.platforms
                        .iter()
                        .filter(move |&&(p, _)| p == pi)
                        .map(move |&(_, share)| share_of(&c.arrivals, share).expected_count(horizon_s))
                })
                .sum();
            (parts.iter().position(|active| active[pi]).expect("every platform is in a component"), all)
        };
        // The replay's three components: the ENTs, Pronote with EduConnect, the Cned.
        assert_eq!(parts.len(), 3);
        for name in ["ent", "pronote", "cned"] {
            let (k, all) = on(name);
            assert!((people[k] - all).abs() <= 1e-9 * all, "{name}: {} expected in its component, {all} in its cohorts", people[k]);
            assert!(all > 0.0, "{name} has users");
        }
    }
}
