//! Erlang-A, the M/M/c+M queue: Erlang C plus exponential patience, so
//! customers who wait longer than their patience abandon the queue.

use super::{offered_load_erl, require_positive, require_servers, AnalyticError};

/// Maximum number of states [`erlang_a`] visits before giving up with
/// [`AnalyticError::StateSpaceTooLarge`].
///
/// The distribution spreads over roughly
/// `min(c, a) + max(0, lambda - c mu) / theta + 10 sqrt(lambda / theta)`
/// states, so only absurdly small abandonment rates (or loads of hundreds of
/// millions of Erlangs) reach it; at that size the computation takes about a
/// second.
pub const ERLANG_A_MAX_STATES: u64 = 200_000_000;

/// Relative size below which the bound on the neglected tail of the
/// stationary distribution stops the summation.
const TAIL_TOLERANCE: f64 = 1e-17;

/// Steady-state Erlang-A, M/M/c+M (exponential patience with rate
/// theta = 1/`mean_patience`; an arrival that waits longer than its patience
/// abandons the queue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangAMetrics {
    /// Probability that an arrival has to wait, i.e. finds all servers busy.
    pub p_wait: f64,
    /// Probability that an arrival abandons before service starts.
    pub p_abandon: f64,
    /// Mean time in queue over ALL arrivals, including those who abandon
    /// (= Lq / lambda), seconds.
    pub mean_wait_s: f64,
    /// Mean time in queue of the arrivals that get served, seconds.
    pub mean_wait_served_s: f64,
    /// Mean number waiting (not in service).
    pub mean_queue_len: f64,
    /// Mean number of busy servers divided by c.
    pub utilization: f64,
}

/// Steady-state Erlang-A (M/M/c+M) metrics for `servers` = c servers,
/// Poisson arrivals at `arrival_rate_per_s`, exponential service at
/// `service_rate_per_s` per server and exponential patience with rate
/// `abandon_rate_per_s` (theta = 1 / mean patience). FCFS queue; the
/// abandonment of a waiting customer does not depend on the others.
///
/// Stable for any load, since abandonment bounds the queue: the death rate
/// in state n is `min(n, c) mu + max(n - c, 0) theta`. The infinite chain is
/// summed state by state (weights rescaled so the largest seen is 1) until
/// the geometric bound on what is left is below 1e-17 of what was summed;
/// past `lambda / theta` extra states the terms decay super-geometrically.
///
/// Per-arrival quantities come from following an arrival that finds k
/// customers waiting ahead of it. With i customers ahead it leaves that stage
/// at rate `nu_i = c mu + (i + 1) theta`, moving up with probability
/// `(c mu + i theta) / nu_i` and abandoning otherwise; the products telescope
/// to `P(served | k) = c mu / (c mu + (k + 1) theta)` and the stage times sum
/// to `E[wait 1{served} | k] = P(served | k) sum_{i=1}^{k+1} 1 / (c mu + i theta)`.
/// `p_abandon` is summed from these per-state probabilities, not derived from
/// `theta Lq / lambda`, so that identity (and `lambda (1 - p_abandon) =
/// mu busy`) is an independent check.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] for zero servers or a rate that is not
/// finite and > 0 (`theta = 0` is Erlang C: use [`super::erlang_c`]);
/// [`AnalyticError::StateSpaceTooLarge`] beyond [`ERLANG_A_MAX_STATES`].
pub fn erlang_a(
    servers: u32,
    arrival_rate_per_s: f64,
    service_rate_per_s: f64,
    abandon_rate_per_s: f64,
) -> Result<ErlangAMetrics, AnalyticError> {
    let c = require_servers(servers)?;
    let lambda = require_positive("arrival_rate_per_s", arrival_rate_per_s)?;
    let mu = require_positive("service_rate_per_s", service_rate_per_s)?;
    let theta = require_positive("abandon_rate_per_s", abandon_rate_per_s)?;
    let a = offered_load_erl(lambda, mu)?;
    let service_capacity_per_s = c * mu;
    // The queue length is centred near (lambda - c mu) / theta when
    // overloaded: refuse up front rather than grinding to the cap.
    let overload_queue_len = ((lambda - service_capacity_per_s) / theta).max(0.0);
    if overload_queue_len > ERLANG_A_MAX_STATES as f64 {
        return Err(AnalyticError::StateSpaceTooLarge { limit: ERLANG_A_MAX_STATES });
    }

    let mut sums = WeightSums::default();
    let mut states = StateBudget::default();
    let mut term = 1.0; // weight of state 0, the scale everything starts on
    sums.add_idle(term, 0.0);
    states.visit()?;

    // States 1..c-1: a server is free, so an arrival is served at once.
    for n in 1..servers {
        term = sums.renormalise(term * a / f64::from(n));
        if term == 0.0 {
            // Underflow past the mode: every later weight is 0 as well.
            return Ok(sums.metrics(lambda, c));
        }
        sums.add_idle(term, f64::from(n));
        states.visit()?;
    }

    // States c + k: all servers busy and k customers waiting, so an arrival
    // queues behind k others.
    term *= a / c;
    let mut queued = 0.0;
    let mut stage_time_sum_s = 1.0 / (service_capacity_per_s + theta);
    loop {
        term = sums.renormalise(term);
        let leave_rate_per_s = service_capacity_per_s + (queued + 1.0) * theta;
        let fate = WaitingFate {
            p_served: service_capacity_per_s / leave_rate_per_s,
            // Not 1 - p_served: that cancels when theta is tiny.
            p_abandon: (queued + 1.0) * theta / leave_rate_per_s,
            stage_time_sum_s,
        };
        sums.add_waiting(term, c, queued, &fate);
        states.visit()?;

        // w_{c+k+1} / w_{c+k} = lambda / (death rate of state c+k+1), and
        // that death rate, c mu + (k+1) theta, is leave_rate_per_s.
        let ratio = lambda / leave_rate_per_s;
        if term == 0.0 || (ratio < 1.0 && sums.tail_negligible(term, queued, ratio)) {
            return Ok(sums.metrics(lambda, c));
        }
        term *= ratio;
        queued += 1.0;
        stage_time_sum_s += 1.0 / (service_capacity_per_s + (queued + 1.0) * theta);
    }
}

/// Counts visited states against [`ERLANG_A_MAX_STATES`].
#[derive(Default)]
struct StateBudget {
    visited: u64,
}

impl StateBudget {
    /// Records one more state, failing once the budget is exhausted.
    fn visit(&mut self) -> Result<(), AnalyticError> {
        self.visited += 1;
        if self.visited > ERLANG_A_MAX_STATES {
            Err(AnalyticError::StateSpaceTooLarge { limit: ERLANG_A_MAX_STATES })
        } else {
            Ok(())
        }
    }
}

/// What happens to an arrival that finds all servers busy and k customers
/// waiting ahead of it.
struct WaitingFate {
    /// P(served | k) = c mu / (c mu + (k + 1) theta).
    p_served: f64,
    /// P(abandon | k) = (k + 1) theta / (c mu + (k + 1) theta).
    p_abandon: f64,
    /// Wait before service given it is served:
    /// sum_{i=1}^{k+1} 1 / (c mu + i theta), seconds.
    stage_time_sum_s: f64,
}

/// Running sums over states of the unnormalised stationary weights, all on a
/// common scale that [`WeightSums::renormalise`] keeps near 1.
#[derive(Default)]
struct WeightSums {
    /// Sum of all weights (the normaliser).
    mass: f64,
    /// Weights of states with a free server (n < c).
    idle: f64,
    /// Weights of states with all servers busy (n >= c).
    waiting: f64,
    /// Sum of `min(n, c) w_n`.
    busy: f64,
    /// Sum of `(n - c)+ w_n`.
    queued: f64,
    /// Sum over `n >= c` of `w_n P(served | n - c)`.
    waiting_served: f64,
    /// Sum over `n >= c` of `w_n P(abandon | n - c)`.
    abandoning: f64,
    /// Sum over `n >= c` of `w_n E[wait 1{served} | n - c]`, seconds.
    served_wait_s: f64,
}

impl WeightSums {
    /// Normalises the sums into the published metrics.
    fn metrics(&self, lambda: f64, c: f64) -> ErlangAMetrics {
        let mean_queue_len = self.queued / self.mass;
        // Served = arrivals finding a free server + waiting arrivals served,
        // summed directly (not 1 - p_abandon) to keep relative accuracy.
        let p_served = (self.idle + self.waiting_served) / self.mass;
        ErlangAMetrics {
            p_wait: self.waiting / self.mass,
            p_abandon: self.abandoning / self.mass,
            mean_wait_s: mean_queue_len / lambda,
            mean_wait_served_s: self.served_wait_s / self.mass / p_served,
            mean_queue_len,
            // Rounding can push a saturated system a few ulps past 1.
            utilization: (self.busy / self.mass / c).min(1.0),
        }
    }

    /// Keeps the current term <= 1 by rescaling it and every sum whenever it
    /// exceeds 1, so that weights like a^c / c! never overflow; returns the
    /// (possibly rescaled) term.
    fn renormalise(&mut self, term: f64) -> f64 {
        if term <= 1.0 {
            return term;
        }
        let scale = 1.0 / term;
        for sum in [
            &mut self.mass,
            &mut self.idle,
            &mut self.waiting,
            &mut self.busy,
            &mut self.queued,
            &mut self.waiting_served,
            &mut self.abandoning,
            &mut self.served_wait_s,
        ] {
            *sum *= scale;
        }
        1.0
    }

    /// Adds a state with `busy` < c busy servers and nobody waiting.
    fn add_idle(&mut self, weight: f64, busy: f64) {
        self.mass += weight;
        self.idle += weight;
        self.busy += busy * weight;
    }

    /// Adds state c + `queued` (all `c` servers busy), where an arrival
    /// meets `fate`.
    fn add_waiting(&mut self, weight: f64, c: f64, queued: f64, fate: &WaitingFate) {
        self.mass += weight;
        self.waiting += weight;
        self.busy += c * weight;
        self.queued += queued * weight;
        self.waiting_served += fate.p_served * weight;
        self.abandoning += fate.p_abandon * weight;
        self.served_wait_s += fate.p_served * fate.stage_time_sum_s * weight;
    }

    /// Whether everything beyond state c + `queued` (weight `term`) is
    /// negligible. Later weights shrink by at least `ratio` < 1 per state,
    /// so the mass left is at most `term r / (1 - r)` and the queue length
    /// left at most `term (k r / (1 - r) + r / (1 - r)^2)`.
    fn tail_negligible(&self, term: f64, queued: f64, ratio: f64) -> bool {
        let geometric = ratio / (1.0 - ratio);
        let mass_left = term * geometric;
        let queued_left = term * geometric * (queued + 1.0 / (1.0 - ratio));
        mass_left <= TAIL_TOLERANCE * self.mass && queued_left <= TAIL_TOLERANCE * self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::erlang_c;
    use crate::analytic::test_support::{check, check_probability};

    /// Checks the exact identities every Erlang-A solution must satisfy,
    /// whatever the parameters: abandonment flow theta Lq = lambda p_abandon,
    /// and throughput balance lambda (1 - p_abandon) = mu busy servers.
    fn check_identities(label: &str, m: &ErlangAMetrics, c: u32, lambda: f64, mu: f64, theta: f64) {
        check_probability(&format!("{label} p_wait"), m.p_wait);
        check_probability(&format!("{label} p_abandon"), m.p_abandon);
        check_probability(&format!("{label} utilization"), m.utilization);
        check(&format!("{label} theta Lq / lambda"), theta * m.mean_queue_len / lambda, m.p_abandon, 1e-10);
        check(&format!("{label} throughput balance"), lambda * (1.0 - m.p_abandon), mu * f64::from(c) * m.utilization, 1e-10);
        check(&format!("{label} Little"), m.mean_wait_s * lambda, m.mean_queue_len, 1e-14);
        assert!(m.mean_wait_served_s.is_finite() && m.mean_wait_served_s >= 0.0, "{label}: {m:?}");
    }

    /// Reference values: the birth-death stationary distribution truncated
    /// 4,000 states past c, and E[wait | served] by first-step analysis of a
    /// tagged customer (recursion, not the telescoped closed form used here),
    /// both at 40 digits with mpmath.
    #[test]
    fn erlang_a_matches_high_precision_reference() {
        // (c, lambda, mu, theta, p_wait, p_abandon, Wq all, Wq served, Lq, utilization)
        #[rustfmt::skip]
        let table: &[(u32, f64, f64, f64, [f64; 6])] = &[
            (3, 4.0, 1.0, 0.5, [
                0.844_556_329_758_84,
                0.306_796_725_665_039_23,
                0.613_593_451_330_078_5,
                0.622_570_686_399_847_1,
                2.454_373_805_320_314,
                0.924_271_032_446_614_4,
            ]),
            (10, 9.0, 1.0, 0.2, [
                0.536_271_707_322_042,
                0.044_428_487_742_410_935,
                0.222_142_438_712_054_66,
                0.215_772_534_812_400_33,
                1.999_281_948_408_492,
                0.860_014_361_031_830_2,
            ]),
            (1, 2.0, 1.0, 1.0, [
                0.864_664_716_763_387_3,
                0.567_667_641_618_306_4,
                0.567_667_641_618_306_4,
                0.525_751_346_843_208_2,
                1.135_335_283_236_612_7,
                0.864_664_716_763_387_3,
            ]),
            (100, 120.0, 1.0, 1.0, [
                0.972_136_260_109_479_3,
                0.167_692_955_688_166_8,
                0.167_692_955_688_166_8,
                0.178_822_229_991_828_7,
                20.123_154_682_580_02,
                0.998_768_453_174_199_8,
            ]),
            (20, 15.0, 2.0, 0.05, [
                0.000_115_210_354_209_722_9,
                2.294_154_128_422_212_2e-7,
                4.588_308_256_844_424e-6,
                4.579_183_467_958_423e-6,
                6.882_462_385_266_636e-5,
                0.374_999_913_969_220_2,
            ]),
        ];
        for &(c, lambda, mu, theta, want) in table {
            let label = format!("M/M/{c}+M lambda={lambda} mu={mu} theta={theta}");
            let m = erlang_a(c, lambda, mu, theta).unwrap();
            let got = [m.p_wait, m.p_abandon, m.mean_wait_s, m.mean_wait_served_s, m.mean_queue_len, m.utilization];
            let names = ["p_wait", "p_abandon", "Wq", "Wq served", "Lq", "utilization"];
            for ((name, got), want) in names.iter().zip(got).zip(want) {
                check(&format!("{label} {name}"), got, want, 1e-10);
            }
            check_identities(&label, &m, c, lambda, mu, theta);
        }
    }

    /// theta = mu: the death rate is n mu in every state, as in M/M/inf, so
    /// the number in system is Poisson(a) (any textbook, e.g. Gross & Harris,
    /// M/M/inf): p_wait = P(N >= c), Lq = E[(N - c)+], busy = E[min(N, c)].
    #[test]
    fn theta_equal_mu_is_poisson() {
        for (c, a) in [(1_u32, 0.5), (7, 5.0), (25, 30.0), (100, 120.0), (300, 250.0)] {
            let mu = 0.5;
            let m = erlang_a(c, a * mu, mu, mu).unwrap();
            let (mut below, mut busy_below, mut term) = (0.0, 0.0, (-a).exp());
            for n in 0..c {
                below += term;
                busy_below += f64::from(n) * term;
                term *= a / f64::from(n + 1);
            }
            let p_wait = 1.0 - below;
            let busy = busy_below + f64::from(c) * p_wait;
            // E[(N-c)+] = E[N] - E[min(N,c)] = a - busy.
            let label = format!("Poisson c={c} a={a}");
            check(&format!("{label} p_wait"), m.p_wait, p_wait, 1e-9);
            check(&format!("{label} Lq"), m.mean_queue_len, a - busy, 1e-9);
            check(&format!("{label} util"), m.utilization, busy / f64::from(c), 1e-9);
            check_identities(&label, &m, c, a * mu, mu, mu);
        }
    }

    /// theta -> 0 with rho < 1: nobody has time to abandon, Erlang C.
    #[test]
    fn small_theta_tends_to_erlang_c() {
        for (c, lambda) in [(1_u32, 0.5), (10, 8.0), (50, 45.0), (2_000, 1_950.0)] {
            let e = erlang_c(c, lambda, 1.0).unwrap();
            let m = erlang_a(c, lambda, 1.0, 1e-9).unwrap();
            let label = format!("M/M/{c}+M lambda={lambda} theta=1e-9");
            check(&format!("{label} p_wait"), m.p_wait, e.p_wait, 1e-6);
            check(&format!("{label} Wq"), m.mean_wait_s, e.mean_wait_s, 1e-6);
            check(&format!("{label} Wq served"), m.mean_wait_served_s, e.mean_wait_s, 1e-6);
            check(&format!("{label} Lq"), m.mean_queue_len, e.mean_queue_len, 1e-6);
            check(&format!("{label} util"), m.utilization, e.utilization, 1e-6);
            assert!(m.p_abandon < 1e-6, "{label}: p_abandon {}", m.p_abandon);
            check_identities(&label, &m, c, lambda, 1.0, 1e-9);
        }
    }

    /// Overload: in the fluid limit servers are saturated and the excess
    /// lambda - c mu abandons (Whitt, "Fluid models for multiserver queues
    /// with abandonments", 2006), so p_abandon ~ 1 - c mu / lambda.
    #[test]
    fn overloaded_abandonment_matches_fluid_limit() {
        for (c, lambda, theta, tol) in [(100_u32, 120.0, 1.0, 0.02), (10_000, 12_000.0, 0.1, 0.01), (10_000, 12_000.0, 0.01, 0.01)] {
            let label = format!("M/M/{c}+M lambda={lambda} theta={theta}");
            let m = erlang_a(c, lambda, 1.0, theta).unwrap();
            let fluid = 1.0 - f64::from(c) / lambda;
            assert!((m.p_abandon - fluid).abs() < tol, "{label}: p_abandon {} vs fluid {fluid}", m.p_abandon);
            check_identities(&label, &m, c, lambda, 1.0, theta);
            // The fluid queue length is (lambda - c mu) / theta.
            check(&format!("{label} Lq"), m.mean_queue_len, (lambda - f64::from(c)) / theta, 0.05);
        }
    }

    #[test]
    fn identities_hold_across_regimes() {
        for c in [1_u32, 4, 64, 1_000] {
            for rho in [0.1, 0.9, 1.0, 1.5, 4.0] {
                for theta_over_mu in [0.001, 0.1, 1.0, 10.0] {
                    let mu = 2.0;
                    let lambda = rho * f64::from(c) * mu;
                    let theta = theta_over_mu * mu;
                    let label = format!("M/M/{c}+M rho={rho} theta/mu={theta_over_mu}");
                    let m = erlang_a(c, lambda, mu, theta).unwrap();
                    check_identities(&label, &m, c, lambda, mu, theta);
                }
            }
        }
    }

    #[test]
    fn erlang_a_rejects_invalid_input() {
        assert!(matches!(erlang_a(0, 1.0, 1.0, 1.0), Err(AnalyticError::InvalidParameter { name: "servers", .. })));
        assert!(matches!(erlang_a(2, 1.0, 1.0, 0.0), Err(AnalyticError::InvalidParameter { name: "abandon_rate_per_s", .. })));
        assert!(erlang_a(2, -1.0, 1.0, 1.0).is_err());
        assert!(erlang_a(2, 1.0, f64::NAN, 1.0).is_err());
        assert!(erlang_a(2, 1.0, 1.0, f64::INFINITY).is_err());
        assert_eq!(erlang_a(10, 11.0, 1.0, 1e-12), Err(AnalyticError::StateSpaceTooLarge { limit: ERLANG_A_MAX_STATES }));
        // Tiny load, huge server count: stops as soon as weights underflow.
        let m = erlang_a(u32::MAX, 1.0, 1.0, 1.0).unwrap();
        assert_eq!(m.p_wait, 0.0);
        assert_eq!(m.p_abandon, 0.0);
    }
}
