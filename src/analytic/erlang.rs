//! Erlang B (loss system M/M/c/c) and Erlang C (delay system M/M/c).

use super::{offered_load_erl, require_servers, AnalyticError};

/// Erlang B blocking probability for `servers` servers and
/// `offered_load_erl` = lambda/mu Erlangs (M/M/c/c, also M/G/c/c by
/// insensitivity).
///
/// Uses the forward recurrence `B(0) = 1`, `B(k) = a B(k-1) / (k + a B(k-1))`,
/// which only ever combines numbers in `[0, 1]` with positive quantities, so
/// it is stable for any number of servers (no `a^c / c!`).
///
/// This total version never fails: `servers = 0` gives 1 (every arrival is
/// lost), a load of 0 gives 0 (for `servers >= 1`), an infinite load gives 1,
/// and a negative or NaN load gives NaN. Use [`try_erlang_b`] to have bad
/// input reported as an error instead.
#[must_use]
pub fn erlang_b(servers: u32, offered_load_erl: f64) -> f64 {
    if offered_load_erl.is_nan() || offered_load_erl < 0.0 {
        return f64::NAN;
    }
    if offered_load_erl == f64::INFINITY {
        return 1.0;
    }
    let a = offered_load_erl;
    let mut blocking = 1.0;
    for k in 1..=servers {
        let carried = a * blocking;
        blocking = carried / (f64::from(k) + carried);
        // Past the load, B(k) shrinks faster than geometrically; once it has
        // underflowed it stays 0, so the remaining servers change nothing.
        if blocking == 0.0 {
            break;
        }
    }
    blocking
}

/// [`erlang_b`] with input validation.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] unless `servers >= 1` and the offered
/// load is finite and `>= 0` Erlangs.
pub fn try_erlang_b(servers: u32, offered_load_erl: f64) -> Result<f64, AnalyticError> {
    require_servers(servers)?;
    if !(offered_load_erl.is_finite() && offered_load_erl >= 0.0) {
        return Err(AnalyticError::InvalidParameter {
            name: "offered_load_erl",
            value: offered_load_erl,
            expected: "a finite number >= 0",
        });
    }
    Ok(erlang_b(servers, offered_load_erl))
}

/// Steady-state M/M/c (Erlang C).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcMetrics {
    /// Probability that an arrival has to wait (finds all servers busy):
    /// the Erlang C formula.
    pub p_wait: f64,
    /// Mean time in queue over all arrivals, seconds.
    pub mean_wait_s: f64,
    /// Mean number waiting (not in service).
    pub mean_queue_len: f64,
    /// Mean time in system (queue + service), seconds.
    pub mean_sojourn_s: f64,
    /// Fraction of time a server is busy, lambda / (c mu).
    pub utilization: f64,
}

/// Steady-state M/M/c metrics (Erlang C) for `servers` servers, Poisson
/// arrivals at `arrival_rate_per_s` and exponential service at
/// `service_rate_per_s` per server.
///
/// Computed from Erlang B as `C = c B / (c - a (1 - B))`; the denominator is
/// `(c - a) + a B`, a sum of positive terms, so there is no cancellation even
/// close to saturation.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] for zero servers or a rate
/// that is not finite and > 0; [`AnalyticError::Unstable`] if
/// `rho = lambda / (c mu) >= 1`.
pub fn erlang_c(servers: u32, arrival_rate_per_s: f64, service_rate_per_s: f64) -> Result<MmcMetrics, AnalyticError> {
    let c = require_servers(servers)?;
    let a = offered_load_erl(arrival_rate_per_s, service_rate_per_s)?;
    let rho = a / c;
    if rho >= 1.0 {
        return Err(AnalyticError::Unstable { rho });
    }
    let blocking = erlang_b(servers, a);
    let p_wait = c * blocking / ((c - a) + a * blocking);
    // The queue drains at rate c mu - lambda whenever it is non-empty.
    let mean_wait_s = p_wait / (c * service_rate_per_s - arrival_rate_per_s);
    Ok(MmcMetrics {
        p_wait,
        mean_wait_s,
        mean_queue_len: arrival_rate_per_s * mean_wait_s,
        mean_sojourn_s: mean_wait_s + 1.0 / service_rate_per_s,
        utilization: rho,
    })
}

/// P(Wq > t) for M/M/c, the waiting-time tail:
/// `P(wait) * exp(-(c mu - lambda) t)`.
///
/// Conditional on waiting, the wait in M/M/c (FCFS) is exponential with rate
/// `c mu - lambda`, hence the formula. `t_s = +inf` gives 0.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] if `t_s` is negative or NaN; otherwise
/// as [`erlang_c`].
pub fn erlang_c_wait_tail(servers: u32, arrival_rate_per_s: f64, service_rate_per_s: f64, t_s: f64) -> Result<f64, AnalyticError> {
    let metrics = erlang_c(servers, arrival_rate_per_s, service_rate_per_s)?;
    if t_s.is_nan() || t_s < 0.0 {
        return Err(AnalyticError::InvalidParameter { name: "t_s", value: t_s, expected: "a time >= 0 seconds" });
    }
    let drain_rate_per_s = f64::from(servers) * service_rate_per_s - arrival_rate_per_s;
    Ok(metrics.p_wait * (-drain_rate_per_s * t_s).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::test_support::{check, check_probability};

    /// Erlang B values. The first ones are standard table entries (e.g. the
    /// Erlang B tables in V. B. Iversen, "Teletraffic Engineering and Network
    /// Planning", DTU / ITU-D handbook); every value below, tabulated or not,
    /// was recomputed with exact rational arithmetic
    /// (`B = (a^c/c!) / sum_{n<=c} a^n/n!` with Python `fractions`) and is
    /// given here to that precision.
    const ERLANG_B_TABLE: &[(u32, f64, f64)] = &[
        // (servers, offered load in Erlangs, blocking probability)
        (1, 1.0, 0.5),
        (2, 1.0, 0.2),
        (5, 2.0, 0.036_697_247_706_422_02),  // table: 0.0367
        (10, 5.0, 0.018_384_570_336_648_13), // table: 0.018384
        (10, 8.0, 0.121_661_064_252_951_5),
        (50, 45.0, 0.054_104_472_164_626_17),
        (100, 80.0, 0.003_992_028_604_553_197), // table: ~0.004
        // Large systems: 50-digit evaluation of the recurrence (mpmath).
        (10_000, 9_800.0, 0.000_537_130_402_106_269_5),
        (10_000, 10_000.0, 0.007_936_563_248_805_672),
    ];

    #[test]
    fn erlang_b_matches_tables() {
        for &(c, a, want) in ERLANG_B_TABLE {
            check(&format!("B(c={c}, a={a})"), erlang_b(c, a), want, 1e-12);
        }
    }

    /// Independent method: the normalised truncated Poisson sum
    /// `(a^c/c!) / sum_n a^n/n!`, fine in f64 for moderate c.
    #[test]
    fn erlang_b_matches_direct_sum() {
        for c in [1_u32, 3, 7, 20, 60, 120] {
            for a in [0.1, 1.0, 4.5, 30.0, 100.0] {
                let mut term = 1.0_f64;
                let mut sum = 1.0_f64;
                for n in 1..=c {
                    term *= a / f64::from(n);
                    sum += term;
                }
                let want = term / sum;
                // Subnormal results carry only a few significant digits.
                if want > 1e-300 {
                    check(&format!("B(c={c}, a={a})"), erlang_b(c, a), want, 1e-12);
                }
            }
        }
    }

    #[test]
    fn erlang_b_edge_cases_do_not_panic() {
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(4, 0.0), 0.0);
        assert_eq!(erlang_b(4, f64::INFINITY), 1.0);
        assert!(erlang_b(4, -1.0).is_nan());
        assert!(erlang_b(4, f64::NAN).is_nan());
        // Huge server count, tiny load: early exit on underflow.
        assert_eq!(erlang_b(u32::MAX, 1.0), 0.0);
        assert!(try_erlang_b(0, 1.0).is_err());
        assert!(try_erlang_b(3, -0.5).is_err());
        assert!(try_erlang_b(3, f64::INFINITY).is_err());
        assert_eq!(try_erlang_b(1, 1.0), Ok(0.5));
    }

    /// (servers, lambda, mu, P(wait), Wq in s). Sources: c=2, a=1 and the
    /// M/M/1 case are textbook closed forms (Gross & Harris, "Fundamentals of
    /// Queueing Theory", ch. 2: M/M/1 P(wait) = rho, Wq = rho/(mu - lambda));
    /// c=10, a=8 is the commonly tabulated C ~ 0.4092; c=50, lambda=45
    /// gives Wq = 0.072773 s. All recomputed with exact rational arithmetic.
    #[rustfmt::skip]
    const ERLANG_C_TABLE: &[(u32, f64, f64, f64, f64)] = &[
        (1, 0.5, 1.0, 0.5, 1.0),
        (2, 1.0, 1.0, 1.0 / 3.0, 1.0 / 3.0),
        (10, 8.0, 1.0, 0.409_180_150_796_443_5, 0.204_590_075_398_221_8),
        (10, 16.0, 2.0, 0.409_180_150_796_443_5, 0.102_295_037_699_110_9),
        (50, 45.0, 1.0, 0.363_864_467_206_988_4, 0.072_772_893_441_397_68),
        // 50-digit evaluation (mpmath).
        (10_000, 9_800.0, 1.0, 0.026_167_799_590_222_97, 0.000_130_838_997_951_114_8),
    ];

    #[test]
    fn erlang_c_matches_tables() {
        for &(c, lambda, mu, p_wait, wait_s) in ERLANG_C_TABLE {
            let label = format!("M/M/{c} lambda={lambda} mu={mu}");
            let m = erlang_c(c, lambda, mu).unwrap();
            check(&format!("{label} p_wait"), m.p_wait, p_wait, 1e-11);
            check(&format!("{label} Wq"), m.mean_wait_s, wait_s, 1e-11);
            check(&format!("{label} Lq"), m.mean_queue_len, lambda * wait_s, 1e-11);
            check(&format!("{label} W"), m.mean_sojourn_s, wait_s + 1.0 / mu, 1e-11);
            check(&format!("{label} rho"), m.utilization, lambda / (f64::from(c) * mu), 1e-15);
        }
    }

    /// Halfin-Whitt: with beta = (c - a)/sqrt(a) fixed, P(wait) tends to
    /// 1 / (1 + beta Phi(beta) / phi(beta)) (Halfin & Whitt 1981).
    #[test]
    fn erlang_c_large_system_matches_square_root_staffing() {
        let (c, a) = (10_000_u32, 9_800.0_f64);
        let m = erlang_c(c, a, 1.0).unwrap();
        check_probability("p_wait", m.p_wait);
        check_probability("utilization", m.utilization);
        assert!(m.mean_wait_s.is_finite() && m.mean_wait_s > 0.0);

        let beta = (f64::from(c) - a) / a.sqrt();
        let density = (-0.5 * beta * beta).exp() / (2.0 * std::f64::consts::PI).sqrt();
        // Phi(beta) = 1/2 + integral_0^beta phi, by composite Simpson.
        let steps = 1_000;
        let h = beta / f64::from(steps);
        let phi = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let integral: f64 = (0..=steps)
            .map(|i| {
                let weight = if i == 0 || i == steps {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                weight * phi(h * f64::from(i))
            })
            .sum::<f64>()
            * h
            / 3.0;
        let cdf = 0.5 + integral;
        let halfin_whitt = 1.0 / (1.0 + beta * cdf / density);
        check("Halfin-Whitt", m.p_wait, halfin_whitt, 0.05);
    }

    #[test]
    fn erlang_c_wait_tail_is_exponential() {
        let m = erlang_c(10, 8.0, 1.0).unwrap();
        check("tail(0)", erlang_c_wait_tail(10, 8.0, 1.0, 0.0).unwrap(), m.p_wait, 1e-15);
        check("tail(1.5)", erlang_c_wait_tail(10, 8.0, 1.0, 1.5).unwrap(), m.p_wait * (-3.0_f64).exp(), 1e-14);
        // Integral of the tail is the mean wait.
        check("mean from tail", m.p_wait / (10.0 - 8.0), m.mean_wait_s, 1e-14);
        assert_eq!(erlang_c_wait_tail(10, 8.0, 1.0, f64::INFINITY), Ok(0.0));
        assert!(erlang_c_wait_tail(10, 8.0, 1.0, -1.0).is_err());
        assert!(erlang_c_wait_tail(10, 8.0, 1.0, f64::NAN).is_err());
    }

    #[test]
    fn erlang_c_rejects_invalid_input() {
        assert!(matches!(erlang_c(0, 1.0, 1.0), Err(AnalyticError::InvalidParameter { name: "servers", .. })));
        assert!(matches!(erlang_c(2, -1.0, 1.0), Err(AnalyticError::InvalidParameter { name: "arrival_rate_per_s", .. })));
        assert!(matches!(erlang_c(2, 1.0, 0.0), Err(AnalyticError::InvalidParameter { name: "service_rate_per_s", .. })));
        assert!(erlang_c(2, f64::NAN, 1.0).is_err());
        assert!(erlang_c(2, 1.0, f64::INFINITY).is_err());
        assert!(erlang_c(1, f64::MAX, f64::MIN_POSITIVE).is_err());
        assert_eq!(erlang_c(2, 2.0, 1.0), Err(AnalyticError::Unstable { rho: 1.0 }));
        assert!(matches!(erlang_c(2, 3.0, 1.0), Err(AnalyticError::Unstable { .. })));
    }
}
