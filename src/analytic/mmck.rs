//! M/M/c/K: c exponential servers and room for at most K customers in the
//! system (in service + waiting); arrivals finding K present are blocked.

use super::{offered_load_erl, require_positive, require_servers, AnalyticError};

/// Steady-state M/M/c/K (K = max number in system, K >= c).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmckMetrics {
    /// Probability that an arrival is blocked (finds K customers present).
    pub p_block: f64,
    /// Probability that an ADMITTED arrival waits (finds all c servers busy
    /// but room in the queue). 0 when K = c.
    pub p_wait: f64,
    /// Mean number waiting (not in service).
    pub mean_queue_len: f64,
    /// Mean time in queue of admitted arrivals, seconds.
    pub mean_wait_s: f64,
    /// Mean number in system (waiting + in service).
    pub mean_in_system: f64,
    /// Mean number of busy servers divided by c.
    pub utilization: f64,
}

/// Steady-state M/M/c/K metrics for `servers` = c servers, capacity
/// `capacity_k` = K customers in the system, Poisson arrivals at
/// `arrival_rate_per_s` and exponential service at `service_rate_per_s` per
/// server. Any load is allowed: the finite capacity keeps the chain stable.
///
/// The stationary weights `a^n / n!` for `n <= c` are accumulated rescaled so
/// the largest is 1. Above c they are geometric, `w_c r^j` with
/// `r = lambda / (c mu)`, and their sums are computed by binary splitting
/// relative to the largest term (state c if `r <= 1`, state K otherwise), so
/// the cost is O(c + log K) and nothing overflows for any K.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] for zero servers, `K < c`, or
/// a rate that is not finite and > 0.
pub fn mmck(servers: u32, capacity_k: u32, arrival_rate_per_s: f64, service_rate_per_s: f64) -> Result<MmckMetrics, AnalyticError> {
    let c = require_servers(servers)?;
    if capacity_k < servers {
        return Err(AnalyticError::InvalidParameter {
            name: "capacity_k",
            value: f64::from(capacity_k),
            expected: "a capacity K >= servers",
        });
    }
    let lambda = require_positive("arrival_rate_per_s", arrival_rate_per_s)?;
    let mu = require_positive("service_rate_per_s", service_rate_per_s)?;
    let a = offered_load_erl(lambda, mu)?;
    let r = a / c;
    // Number of queue places: states c+1..=K.
    let queue_places = capacity_k - servers;
    let m = f64::from(queue_places);

    let low = erlang_weights(servers, a);

    // All weights below share one scale, chosen so the largest is O(1).
    // `below_servers`: states 0..c-1; `waiting`: states c..K-1 (an admitted
    // arrival waits there); `full`: state K; `queued`: sum of (n - c) w_n.
    let (below_servers, waiting, full, queued) = if r <= 1.0 || queue_places == 0 {
        // Largest term is at or below c: sum w_c r^j for j = 0..m-1 directly.
        let g = geometric_sums(r, u64::from(queue_places));
        let at_c = low.at_servers;
        (low.below_servers, at_c * g.sum, at_c * g.power, at_c * (g.weighted_sum + m * g.power))
    } else {
        // Largest term is w_K: measure everything relative to it, using
        // x = 1/r < 1 so that w_{K-i} / w_K = x^i never overflows.
        let x = c * mu / lambda;
        let g = geometric_sums(x, u64::from(queue_places));
        // w_n / w_K = (w_n / w_c) * x^m for n < c.
        let below = low.below_servers / low.at_servers * g.power;
        // States c+j, j = 0..m-1, have weight x^(m-j) = x * x^i, i = m-1-j,
        // and queue length j = m-1-i. (m-1) sum - weighted_sum >= half of
        // (m-1) sum because x^i decreases, so there is no cancellation.
        (below, x * g.sum, 1.0, x * ((m - 1.0) * g.sum - g.weighted_sum) + m)
    };

    let admitted = below_servers + waiting;
    let total = admitted + full;
    let p_admit = admitted / total;
    let mean_queue_len = queued / total;
    // Little's law on the servers: busy servers = admitted load.
    let mean_busy = a * p_admit;
    Ok(MmckMetrics {
        p_block: full / total,
        p_wait: waiting / admitted,
        mean_queue_len,
        mean_wait_s: mean_queue_len / (lambda * p_admit),
        mean_in_system: mean_queue_len + mean_busy,
        // Rounding can push a saturated system a few ulps past 1.
        utilization: (mean_busy / c).min(1.0),
    })
}

/// Weights `a^n / n!` of states `0..=c` of a c-server birth-death chain,
/// all divided by the largest of them.
struct ErlangWeights {
    /// Sum of the weights of states 0..c-1.
    below_servers: f64,
    /// Weight of state c.
    at_servers: f64,
}

/// Accumulates [`ErlangWeights`] by the ratio recurrence `w_n = w_{n-1} a / n`,
/// rescaling whenever a new maximum appears so no intermediate overflows.
fn erlang_weights(servers: u32, a: f64) -> ErlangWeights {
    let mut below_servers = 0.0;
    let mut term = 1.0;
    for n in 1..=servers {
        below_servers += term;
        term *= a / f64::from(n);
        if term > 1.0 {
            below_servers /= term;
            term = 1.0;
        } else if term == 0.0 {
            // Weights decrease past the mode: all later ones are 0 too.
            break;
        }
    }
    ErlangWeights { below_servers, at_servers: term }
}

/// Sums of a geometric block of `n` terms.
struct GeometricSums {
    /// `sum_{i<n} x^i`.
    sum: f64,
    /// `sum_{i<n} i x^i`.
    weighted_sum: f64,
    /// `x^n`.
    power: f64,
}

/// [`GeometricSums`] for `0 <= x <= 1` by binary splitting (O(log n)).
///
/// The closed forms `(1 - x^n) / (1 - x)` and its derivative cancel
/// catastrophically for `x` near 1, and a term-by-term loop is O(n). Doubling
/// a block (`S_2L = S_L + x^L S_L`, `T_2L = T_L + x^L (T_L + L S_L)`) only
/// adds non-negative numbers, so every step is accurate.
fn geometric_sums(x: f64, n: u64) -> GeometricSums {
    let mut len = 0.0;
    let mut sum = 0.0;
    let mut weighted_sum = 0.0;
    let mut power = 1.0;
    for bit in (0..u64::BITS - n.leading_zeros()).rev() {
        weighted_sum += power * (weighted_sum + len * sum);
        sum += power * sum;
        power *= power;
        len *= 2.0;
        if (n >> bit) & 1 == 1 {
            // Append the term with index `len`.
            sum += power;
            weighted_sum += len * power;
            power *= x;
            len += 1.0;
        }
    }
    GeometricSums { sum, weighted_sum, power }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::test_support::{check, check_probability};
    use crate::analytic::{erlang_b, erlang_c};

    /// Brute-force reference: stationary distribution state by state in log
    /// space (a different algorithm from the one under test).
    fn brute_force(c: u32, k: u32, lambda: f64, mu: f64) -> MmckMetrics {
        let log_w: Vec<f64> = (0..=k)
            .scan(0.0_f64, |acc, n| {
                if n > 0 {
                    *acc += (lambda / (f64::from(n.min(c)) * mu)).ln();
                }
                Some(*acc)
            })
            .collect();
        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = w.iter().sum();
        let p: Vec<f64> = w.iter().map(|x| x / total).collect();
        let ku = k as usize;
        let cu = c as usize;
        let p_block = p[ku];
        let lq: f64 = (cu..=ku).map(|n| (n - cu) as f64 * p[n]).sum();
        let busy: f64 = (0..=ku).map(|n| n.min(cu) as f64 * p[n]).sum();
        MmckMetrics {
            p_block,
            p_wait: p[cu..ku].iter().sum::<f64>() / (1.0 - p_block),
            mean_queue_len: lq,
            mean_wait_s: lq / (lambda * (1.0 - p_block)),
            mean_in_system: (0..=ku).map(|n| n as f64 * p[n]).sum(),
            utilization: busy / f64::from(c),
        }
    }

    fn check_metrics(label: &str, got: &MmckMetrics, want: &MmckMetrics, tol: f64) {
        check(&format!("{label} p_block"), got.p_block, want.p_block, tol);
        check(&format!("{label} p_wait"), got.p_wait, want.p_wait, tol);
        check(&format!("{label} Lq"), got.mean_queue_len, want.mean_queue_len, tol);
        check(&format!("{label} Wq"), got.mean_wait_s, want.mean_wait_s, tol);
        check(&format!("{label} L"), got.mean_in_system, want.mean_in_system, tol);
        check(&format!("{label} util"), got.utilization, want.utilization, tol);
    }

    /// Reference values from the textbook stationary distribution
    /// (Gross & Harris, "Fundamentals of Queueing Theory", M/M/c/K section),
    /// evaluated at 40 digits with mpmath.
    #[test]
    fn mmck_matches_high_precision_reference() {
        let table: &[(u32, u32, f64, f64, MmckMetrics)] = &[
            (
                3,
                7,
                4.0,
                1.0,
                MmckMetrics {
                    p_block: 0.291_002_095_840_289_87,
                    p_wait: 0.841_725_537_351_570_7,
                    mean_queue_len: 2.268_906_966_004_76,
                    mean_wait_s: 0.800_040_082_168_445_3,
                    mean_in_system: 5.104_898_582_643_601,
                    utilization: 0.945_330_538_879_613_5,
                },
            ),
            (
                3,
                7,
                2.0,
                1.0,
                MmckMetrics {
                    p_block: 0.031_083_050_024_283_63,
                    p_wait: 0.390_977_443_609_022_56,
                    mean_queue_len: 0.508_984_944_147_644_5,
                    mean_wait_s: 0.262_656_641_604_010_03,
                    mean_in_system: 2.446_818_844_099_077,
                    utilization: 0.645_944_633_317_144_2,
                },
            ),
            (
                5,
                12,
                5.0,
                1.0,
                MmckMetrics {
                    p_block: 0.095_143_857_512_559,
                    p_wait: 0.736_036_339_165_545_1,
                    mean_queue_len: 2.664_028_010_351_651_7,
                    mean_wait_s: 0.588_829_071_332_436_1,
                    mean_in_system: 7.188_308_722_788_857,
                    utilization: 0.904_856_142_487_441,
                },
            ),
            (
                2,
                40,
                3.0,
                0.5,
                MmckMetrics {
                    p_block: 2.0 / 3.0,
                    p_wait: 1.0,
                    mean_queue_len: 37.5,
                    mean_wait_s: 37.5,
                    mean_in_system: 39.5,
                    utilization: 1.0,
                },
            ),
        ];
        for (c, k, lambda, mu, want) in table {
            let got = mmck(*c, *k, *lambda, *mu).unwrap();
            check_metrics(&format!("M/M/{c}/{k} lambda={lambda}"), &got, want, 1e-11);
        }
    }

    /// M/M/1/K closed form (Gross & Harris): P_K = (1-rho) rho^K / (1 -
    /// rho^(K+1)), and P_K = 1/(K+1) at rho = 1.
    #[test]
    fn mm1k_matches_closed_form() {
        for rho in [0.3_f64, 0.9, 0.999, 1.0, 1.001, 1.5, 4.0] {
            for k in [1_u32, 2, 5, 20, 100] {
                let want =
                    if rho == 1.0 { 1.0 / f64::from(k + 1) } else { (1.0 - rho) * rho.powi(k as i32) / (1.0 - rho.powi(k as i32 + 1)) };
                let got = mmck(1, k, rho, 1.0).unwrap();
                check(&format!("M/M/1/{k} rho={rho}"), got.p_block, want, 1e-9);
            }
        }
    }

    #[test]
    fn mmck_matches_brute_force() {
        for (c, k) in [(1_u32, 1_u32), (1, 9), (4, 4), (4, 5), (4, 30), (25, 80), (200, 1_000)] {
            let c_f = f64::from(c);
            for rho in [0.05, 0.7, 0.999_999, 1.0, 1.000_001, 1.3, 5.0] {
                let lambda = rho * c_f * 0.25;
                let got = mmck(c, k, lambda, 0.25).unwrap();
                let want = brute_force(c, k, lambda, 0.25);
                check_metrics(&format!("M/M/{c}/{k} rho={rho}"), &got, &want, 1e-9);
            }
        }
    }

    #[test]
    fn k_equal_c_is_erlang_b() {
        for (c, a) in [(1_u32, 1.0), (10, 5.0), (10, 8.0), (100, 80.0), (10_000, 9_800.0)] {
            let m = mmck(c, c, a, 1.0).unwrap();
            check(&format!("M/M/{c}/{c} a={a}"), m.p_block, erlang_b(c, a), 1e-10);
            assert_eq!(m.p_wait, 0.0);
            assert_eq!(m.mean_queue_len, 0.0);
        }
    }

    #[test]
    fn large_k_is_erlang_c() {
        for (c, lambda) in [(1_u32, 0.5), (10, 8.0), (50, 45.0), (10_000, 9_800.0)] {
            let m = mmck(c, c + 100_000, lambda, 1.0).unwrap();
            let e = erlang_c(c, lambda, 1.0).unwrap();
            let label = format!("M/M/{c}/inf lambda={lambda}");
            assert!(m.p_block < 1e-30, "{label}: p_block {}", m.p_block);
            check(&format!("{label} p_wait"), m.p_wait, e.p_wait, 1e-9);
            check(&format!("{label} Wq"), m.mean_wait_s, e.mean_wait_s, 1e-9);
            check(&format!("{label} Lq"), m.mean_queue_len, e.mean_queue_len, 1e-9);
            check(&format!("{label} util"), m.utilization, e.utilization, 1e-9);
        }
    }

    #[test]
    fn extreme_sizes_stay_finite() {
        for (c, k, lambda) in [
            (10_000_u32, 20_000_u32, 12_000.0),
            (10_000, 10_000, 10_000.0),
            (1, u32::MAX, 0.999_999_9),
            (1, u32::MAX, 1.000_000_1),
            (3, u32::MAX, 1e300),
            (u32::MAX - 1, u32::MAX, 5.0),
        ] {
            let m = mmck(c, k, lambda, 1.0).unwrap();
            let label = format!("M/M/{c}/{k} lambda={lambda:e}");
            check_probability(&format!("{label} p_block"), m.p_block);
            check_probability(&format!("{label} p_wait"), m.p_wait);
            check_probability(&format!("{label} util"), m.utilization);
            assert!(m.mean_queue_len.is_finite() && m.mean_wait_s.is_finite(), "{label}: {m:?}");
            // Throughput balance: admitted arrivals = completed services
            // (1 - p_block cancels when nearly everything is blocked).
            if m.p_block < 0.5 {
                check(&format!("{label} balance"), lambda * (1.0 - m.p_block), m.utilization * f64::from(c), 1e-9);
            }
        }
        // Absurd overload: a full queue served by 3 saturated servers.
        let m = mmck(3, u32::MAX, 1e300, 1.0).unwrap();
        check("1e300 util", m.utilization, 1.0, 1e-15);
        check("1e300 Wq", m.mean_wait_s, f64::from(u32::MAX - 3) / 3.0, 1e-12);
        // Overloaded: excess arrivals are blocked, servers saturate.
        let m = mmck(10_000, 20_000, 12_000.0, 1.0).unwrap();
        check("overload p_block", m.p_block, 1.0 - 10_000.0 / 12_000.0, 1e-6);
        check("overload Lq", m.mean_queue_len, 10_000.0 - 5.0, 1e-3);
    }

    #[test]
    fn geometric_sums_are_exact_on_small_cases() {
        for x in [0.0, 0.3, 0.999, 1.0] {
            for n in 0_u64..40 {
                let g = geometric_sums(x, n);
                let (mut sum, mut weighted) = (0.0, 0.0);
                for i in 0..n {
                    let term = x.powi(i as i32);
                    sum += term;
                    weighted += i as f64 * term;
                }
                check(&format!("sum x={x} n={n}"), g.sum, sum, 1e-13);
                check(&format!("weighted x={x} n={n}"), g.weighted_sum, weighted, 1e-13);
                check(&format!("power x={x} n={n}"), g.power, x.powi(n as i32), 1e-13);
            }
        }
    }

    #[test]
    fn mmck_rejects_invalid_input() {
        assert!(matches!(mmck(3, 2, 1.0, 1.0), Err(AnalyticError::InvalidParameter { name: "capacity_k", .. })));
        assert!(mmck(0, 5, 1.0, 1.0).is_err());
        assert!(mmck(2, 5, -1.0, 1.0).is_err());
        assert!(mmck(2, 5, 1.0, 0.0).is_err());
        assert!(mmck(2, 5, f64::INFINITY, 1.0).is_err());
        assert!(mmck(2, 5, 1.0, f64::NAN).is_err());
    }
}
