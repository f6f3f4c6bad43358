//! `rentree verify`: the simulator against queueing theory.
//!
//! Each case is one of the textbook scenarios shipped in `models/textbook/`. Its theoretical values are
//! computed by [`crate::analytic`] from the scenario's own parameters (rates, servers, K, patience), so the
//! file and the oracle cannot drift apart. Each case runs `replications` independent replications (in
//! parallel, with results gathered in replication order, so the table does not depend on thread count) and
//! compares the mean over replications with theory.
//!
//! A check passes when theory lies inside the simulated confidence interval. The table prints the 95%
//! interval of each metric; the pass/fail decision uses a Bonferroni-corrected interval, so that the whole
//! suite of `m` exact checks has a 99% joint confidence level (each at `1 − 0.01/m`). Without the correction
//! a suite of 25 checks at 95% would fail by chance on one seed in four.

pub mod attack;

use crate::analytic;
use crate::builtin::{self, BuiltinModel};
use crate::metrics::ci::{t_quantile, Estimate};
use crate::metrics::{Summary, SummaryColumn};
use crate::scenario::Scenario;
use crate::world;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Joint confidence level of all the exact checks of a suite.
pub const FAMILY_CONFIDENCE: f64 = 0.99;

/// Whether a theoretical value is exact or only an approximation (reported, not judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    /// An exact result: the check passes or fails.
    Exact,
    /// An approximation: shown for information.
    Approximation,
}

/// One theoretical value to compare with a summary column.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Summary column (see [`Summary::fields`]).
    pub metric: SummaryColumn,
    /// The theoretical value.
    pub theory: f64,
    /// Exact or approximate.
    pub oracle: Oracle,
}

/// A verify case: a textbook model and the theory it is checked against.
#[derive(Debug, Clone)]
pub struct Case {
    /// The model file.
    pub model: &'static BuiltinModel,
    /// The parsed scenario.
    pub scenario: Scenario,
    /// Name of the closed form used.
    pub theory_name: &'static str,
    /// What is compared.
    pub checks: Vec<Check>,
}

/// One line of the verify table.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyRow {
    /// Model path.
    pub model: &'static str,
    /// Closed form used.
    pub theory_name: &'static str,
    /// Summary column.
    pub metric: SummaryColumn,
    /// Theoretical value.
    pub theory: f64,
    /// Mean, standard deviation and 95% half-width over replications.
    pub estimate: Estimate,
    /// Half-width of the Bonferroni-corrected interval used for the verdict.
    pub decision_half_width: f64,
    /// Exact or approximate.
    pub oracle: Oracle,
    /// Whether theory lies in the decision interval (always true for approximations).
    pub pass: bool,
}

/// The textbook models that make up the suite (the long benchmark model is left out).
pub const SUITE: &[&str] = &[
    "models/textbook/mm1.toml",
    "models/textbook/mmc.toml",
    "models/textbook/mmc-heavy.toml",
    "models/textbook/mmc-large.toml",
    "models/textbook/mmck.toml",
    "models/textbook/erlang-a.toml",
    "models/textbook/mgc-loss.toml",
    "models/textbook/md1.toml",
    "models/textbook/mg1-erlang.toml",
    "models/textbook/mgc.toml",
];

/// The parameters of a one-cohort, one-pool textbook scenario.
struct Params {
    lambda: f64,
    servers: u32,
    mu: f64,
    service_scv: f64,
    max_in_system: Option<u64>,
    patience_mean_s: Option<f64>,
}

fn params(s: &Scenario) -> Params {
    let cohort = &s.cohorts[0];
    let lambda = cohort.arrivals.poisson_rate_per_s().expect("verify models use Poisson arrivals");
    let pool = &s.platforms[cohort.platform()].pool;
    Params {
        lambda,
        servers: u32::try_from(pool.slots()).expect("verify models have few slots"),
        mu: 1.0 / pool.service.mean_s(),
        service_scv: pool.service.scv(),
        max_in_system: pool.max_in_system,
        patience_mean_s: cohort.patience.as_ref().map(|p| p.mean_s()),
    }
}

fn exact(metric: SummaryColumn, theory: f64) -> Check {
    Check { metric, theory, oracle: Oracle::Exact }
}

/// Builds the case for one model: picks the closed form that fits its parameters.
pub fn case(model: &'static BuiltinModel) -> Case {
    let scenario = Scenario::from_toml(model.text, Path::new(model.path), &[]).expect("built-in textbook models are valid");
    let p = params(&scenario);
    let exponential = (p.service_scv - 1.0).abs() < 1e-12;
    let (theory_name, checks) = match (p.max_in_system, p.patience_mean_s) {
        (Some(k), None) if k == u64::from(p.servers) && !exponential => {
            let b = analytic::erlang_b(p.servers, p.lambda / p.mu);
            (
                "Erlang B (insensitive)",
                vec![
                    exact(SummaryColumn::p_block, b),
                    exact(SummaryColumn::utilization, p.lambda * (1.0 - b) / p.mu / f64::from(p.servers)),
                ],
            )
        }
        (Some(k), None) => {
            let m = analytic::mmck(p.servers, k as u32, p.lambda, p.mu).expect("valid M/M/c/K");
            (
                "M/M/c/K",
                vec![
                    exact(SummaryColumn::p_block, m.p_block),
                    exact(SummaryColumn::p_wait, m.p_wait),
                    exact(SummaryColumn::mean_wait_s, m.mean_wait_s),
                    exact(SummaryColumn::mean_queue_len, m.mean_queue_len),
                    exact(SummaryColumn::utilization, m.utilization),
                ],
            )
        }
        (None, Some(patience)) => {
            let m = analytic::erlang_a(p.servers, p.lambda, p.mu, 1.0 / patience).expect("valid Erlang-A");
            (
                "Erlang-A",
                vec![
                    exact(SummaryColumn::p_wait, m.p_wait),
                    exact(SummaryColumn::p_abandon, m.p_abandon),
                    exact(SummaryColumn::mean_wait_s, m.mean_wait_s),
                    exact(SummaryColumn::mean_queue_len, m.mean_queue_len),
                    exact(SummaryColumn::utilization, m.utilization),
                ],
            )
        }
        (None, None) if exponential => {
            let m = analytic::erlang_c(p.servers, p.lambda, p.mu).expect("stable M/M/c");
            (
                "Erlang C",
                vec![
                    exact(SummaryColumn::p_wait, m.p_wait),
                    exact(SummaryColumn::mean_wait_s, m.mean_wait_s),
                    exact(SummaryColumn::mean_queue_len, m.mean_queue_len),
                    exact(SummaryColumn::mean_sojourn_s, m.mean_sojourn_s),
                    exact(SummaryColumn::utilization, m.utilization),
                ],
            )
        }
        (None, None) if p.servers == 1 => {
            let wq = analytic::mg1_mean_wait_s(p.lambda, 1.0 / p.mu, p.service_scv).expect("stable M/G/1");
            let rho = p.lambda / p.mu;
            (
                "Pollaczek-Khinchine",
                vec![
                    exact(SummaryColumn::mean_wait_s, wq),
                    exact(SummaryColumn::mean_queue_len, p.lambda * wq),
                    exact(SummaryColumn::p_wait, rho),
                    exact(SummaryColumn::utilization, rho),
                ],
            )
        }
        (None, None) => {
            let m = analytic::erlang_c(p.servers, p.lambda, p.mu).expect("stable M/M/c");
            let rho = p.lambda / p.mu / f64::from(p.servers);
            (
                "Allen-Cunneen (approx.)",
                vec![
                    Check {
                        metric: SummaryColumn::mean_wait_s,
                        theory: m.mean_wait_s * (1.0 + p.service_scv) / 2.0,
                        oracle: Oracle::Approximation,
                    },
                    exact(SummaryColumn::utilization, rho),
                ],
            )
        }
        (Some(_), Some(_)) => panic!("{}: no closed form for a finite K with abandonment", model.path),
    };
    Case { model, scenario, theory_name, checks }
}

/// The whole suite.
pub fn suite() -> Vec<Case> {
    SUITE.iter().map(|p| case(builtin::find(p).expect("suite models are built in"))).collect()
}

/// Runs `replications` replications of `case` with master seed `seed`, in replication order.
pub fn replicate(case: &Case, seed: u64, replications: u64) -> Vec<Summary> {
    // The suite's models are built in and small: they always reach their horizon.
    (0..replications)
        .into_par_iter()
        .map(|r| world::run(&case.scenario, seed, r).expect("textbook models run to their horizon").summary)
        .collect()
}

/// Runs the suite and returns its table.
pub fn run_suite(cases: &[Case], seed: u64, replications: u64) -> Vec<VerifyRow> {
    let exact_checks = cases.iter().flat_map(|c| &c.checks).filter(|c| c.oracle == Oracle::Exact).count().max(1);
    let decision_level = 1.0 - (1.0 - FAMILY_CONFIDENCE) / exact_checks as f64;
    let mut rows = Vec::new();
    for case in cases {
        let summaries = replicate(case, seed, replications);
        for check in &case.checks {
            let values: Vec<f64> = summaries.iter().map(|s| s.value(check.metric).expect("checks name numeric summary columns")).collect();
            let estimate = Estimate::new(&values, 0.95);
            let n = values.len();
            let decision_half_width =
                if n < 2 { f64::INFINITY } else { t_quantile(n - 1, 0.5 + decision_level / 2.0) * estimate.std_dev / (n as f64).sqrt() };
            let pass = check.oracle == Oracle::Approximation || (estimate.mean - check.theory).abs() <= decision_half_width;
            rows.push(VerifyRow {
                model: case.model.path,
                theory_name: case.theory_name,
                metric: check.metric,
                theory: check.theory,
                estimate,
                decision_half_width,
                oracle: check.oracle,
                pass,
            });
        }
    }
    rows
}

/// Formats the table for a terminal.
pub fn format_table(rows: &[VerifyRow], seed: u64, replications: u64) -> String {
    let mut out = String::new();
    let exact = rows.iter().filter(|r| r.oracle == Oracle::Exact).count();
    let _ = writeln!(
        out,
        "rentree verify: {} textbook models, {replications} replications each, seed {seed}\n\
         verdict: theory inside the simulated interval at {:.0}% joint confidence over {exact} exact checks (Bonferroni)\n",
        rows.iter().map(|r| r.model).collect::<std::collections::BTreeSet<_>>().len(),
        FAMILY_CONFIDENCE * 100.0
    );
    let _ = writeln!(
        out,
        "{:<17} {:<24} {:<19} {:>11} {:>11} {:>23} {:>6}",
        "model", "theory", "metric", "theory", "sim mean", "95% CI", "result"
    );
    for r in rows {
        let name = r.model.trim_start_matches("models/textbook/").trim_end_matches(".toml");
        let ci = format!("[{}, {}]", num(r.estimate.lo()), num(r.estimate.hi()));
        let verdict = match (r.oracle, r.pass) {
            (Oracle::Approximation, _) => "info",
            (_, true) => "pass",
            (_, false) => "FAIL",
        };
        let _ = writeln!(
            out,
            "{:<17} {:<24} {:<19} {:>11} {:>11} {:>23} {:>6}",
            name,
            r.theory_name,
            r.metric,
            num(r.theory),
            num(r.estimate.mean),
            ci,
            verdict
        );
    }
    let failed = rows.iter().filter(|r| !r.pass).count();
    let _ = writeln!(out, "\n{} passed, {} failed", rows.iter().filter(|r| r.pass && r.oracle == Oracle::Exact).count(), failed);
    out
}

fn num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        format!("{x:.5}")
    } else {
        format!("{x:.4e}")
    }
}
