//! The attack models against each other: the hybrid model (the default) and the aggregate fluid, each
//! against the request-by-request reference, across the whole range of attack loads.
//!
//! The bench: a platform of 10 servers × 4 workers (40 slots, exponential 0.5 s pages, 80 pages a
//! second), real users sending about 30 requests a second (logins and two pages, 37% of capacity),
//! and an attack from 300 s to 1,800 s of a run of 2,100 s. The attack's load is its work over the
//! tier's capacity: requests of a page's work at `load × 80` a second on a pool, or connections held
//! 1 s at `load × 100` a second on a front door of 100 connections. Four regimes:
//! - [`Regime::Pool`]: one FIFO backlog, unbounded;
//! - [`Regime::PoolLimited`]: the backlog bounded at 80 requests;
//! - [`Regime::PriorityPool`]: staff before pupils, the attack last, backlog bounded at 80;
//! - [`Regime::FrontDoor`]: the attack holds connections at a door of 100, the pool is unbounded.
//!
//! Each point runs `replications` replications of the model and of the reference on independent seeds
//! and compares every metric of [`METRICS`] by Welch's interval of the difference, at a level that is
//! Bonferroni-corrected over the whole grid (`examples/attack_grid.rs` prints it; the suite runs a
//! subset).

use crate::metrics::ci::{Difference, Estimate};
use crate::metrics::SummaryColumn;
use crate::scenario::Scenario;
use crate::world;
use rayon::prelude::*;
use std::path::Path;

/// The tier and backlog an attack meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// A pool with one unbounded FIFO backlog.
    Pool,
    /// A pool whose backlog holds at most 80 requests.
    PoolLimited,
    /// A pool with priority classes (staff first), the attack last, backlog at most 80.
    PriorityPool,
    /// A front door of 100 connections, the attack holding each for 1 s.
    FrontDoor,
}

impl Regime {
    /// Every regime, in table order.
    pub const ALL: [Regime; 4] = [Regime::Pool, Regime::PoolLimited, Regime::PriorityPool, Regime::FrontDoor];

    /// Its name in a table.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Pool => "pool, unbounded",
            Regime::PoolLimited => "pool, backlog 80",
            Regime::PriorityPool => "priority pool, backlog 80",
            Regime::FrontDoor => "front door, cap 100",
        }
    }
}

/// Attack loads of the full grid, as a fraction of the tier's capacity: dense from 0.5 to 1.2.
pub const LOADS: [f64; 14] = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 2.0];

/// The metrics compared: what real users see, and the attack's own totals.
pub const METRICS: [SummaryColumn; 9] = [
    SummaryColumn::served,
    SummaryColumn::blocked,
    SummaryColumn::mean_wait_s,
    SummaryColumn::p95_wait_s,
    SummaryColumn::mean_sojourn_s,
    SummaryColumn::timeouts,
    SummaryColumn::sessions,
    SummaryColumn::attack_served,
    SummaryColumn::attack_blocked,
];

/// The bench scenario of `regime` at attack `load`, simulated with `model` (`"hybrid"`, `"aggregate"` or
/// `"requests"`).
pub fn scenario(regime: Regime, load: f64, model: &str) -> Scenario {
    let limit = match regime {
        Regime::Pool | Regime::FrontDoor => String::new(),
        Regime::PoolLimited | Regime::PriorityPool => "max_in_system = 120\n".to_owned(),
    };
    let session = "session = { pages = 2, think = { dist = \"exponential\", mean_s = 5.0 }, timeout_s = 10.0, \
                   retry = { backoff = \"fixed\", delay_s = 1.0, max_attempts = 2, jitter = \"full\" }, \
                   comeback = { delay = { dist = \"uniform\", min_s = 30.0, max_s = 60.0 }, max_returns = 1 } }";
    let (cohorts, admission) = if regime == Regime::PriorityPool {
        (
            format!(
                "[cohorts.staff]\nplatform = \"app\"\npriority = 0\narrivals = {{ process = \"poisson\", rate_per_s = 2.0 }}\n{session}\n\n\
                 [cohorts.pupils]\nplatform = \"app\"\npriority = 1\narrivals = {{ process = \"poisson\", rate_per_s = 8.0 }}\n{session}\n"
            ),
            "[[platforms.app.admission]]\npolicy = \"priority\"\n",
        )
    } else {
        (format!("[cohorts.users]\nplatform = \"app\"\narrivals = {{ process = \"poisson\", rate_per_s = 10.0 }}\n{session}\n"), "")
    };
    let attack = match regime {
        Regime::FrontDoor => format!("bots = 1\nrate_per_bot = {}\ntier = \"front_door\"\nhold_s = 1.0\n", load * 100.0),
        _ => format!("bots = 1\nrate_per_bot = {}\ncost = 1.0\n", load * 80.0),
    };
    let text = format!(
        "[scenario]\nname = \"attack grid\"\nhorizon_s = 2100.0\nattack_model = \"{model}\"\n\n{cohorts}\n\
         [platforms.app]\nmax_connections = 100\n{admission}\n\
         [platforms.app.pool]\nservers = 10\nworkers_per_server = 4\n{limit}service = {{ dist = \"exponential\", mean_s = 0.5 }}\n\n\
         [[platforms.app.attacks]]\nstart_s = 300.0\nend_s = 1800.0\n{attack}"
    );
    Scenario::from_toml(&text, Path::new("attack-grid.toml"), &[]).expect("the attack grid's scenario is valid")
}

/// One metric at one point of the grid: the model against the reference.
#[derive(Debug, Clone)]
pub struct GridRow {
    /// The regime.
    pub regime: Regime,
    /// The attack's load.
    pub load: f64,
    /// The metric.
    pub metric: SummaryColumn,
    /// The reference (request by request) over its replications, 95% interval.
    pub reference: Estimate,
    /// The model over its replications, 95% interval.
    pub model: Estimate,
    /// Model minus reference, Welch's interval at the decision level.
    pub difference: Difference,
}

impl GridRow {
    /// Whether the difference's interval holds zero (or the difference is below a millionth of the
    /// reference: two constant samples that agree to rounding).
    pub fn agrees(&self) -> bool {
        self.difference.holds_zero() || self.difference.mean.abs() <= 1e-6 * self.reference.mean.abs()
    }

    /// The difference relative to the reference's mean (0 when both are 0).
    pub fn relative(&self) -> f64 {
        if self.reference.mean == 0.0 {
            if self.model.mean == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            self.difference.mean / self.reference.mean
        }
    }
}

/// The two-sided level of each comparison for a family of `comparisons` at joint level `family`
/// (Bonferroni).
pub fn decision_level(family: f64, comparisons: usize) -> f64 {
    1.0 - (1.0 - family) / comparisons.max(1) as f64
}

/// The summaries of `replications` runs of `scenario` with master seed `seed`, in replication order.
fn replicate(scenario: &Scenario, seed: u64, replications: u64) -> Vec<crate::metrics::Summary> {
    (0..replications).into_par_iter().map(|r| world::run(scenario, seed, r).expect("the attack grid's runs are small").summary).collect()
}

/// Compares `model` with the request-by-request reference at one point, on independent seeds, each
/// metric's difference at two-sided `level`.
pub fn compare(regime: Regime, load: f64, model: &str, seed: u64, replications: u64, level: f64) -> Vec<GridRow> {
    let reference = replicate(&scenario(regime, load, "requests"), seed, replications);
    // A different seed: the two samples are independent, as Welch's interval assumes.
    let other = replicate(&scenario(regime, load, model), seed.wrapping_add(1_000_003), replications);
    METRICS
        .iter()
        .map(|&metric| {
            let values = |runs: &[crate::metrics::Summary]| -> Vec<f64> {
                runs.iter().map(|s| s.value(metric).expect("grid metrics are numeric")).collect()
            };
            let (r, m) = (Estimate::new(&values(&reference), 0.95), Estimate::new(&values(&other), 0.95));
            GridRow { regime, load, metric, reference: r, model: m, difference: Difference::new(&m, &r, level) }
        })
        .collect()
}
