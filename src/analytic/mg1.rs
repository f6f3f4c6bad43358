//! M/G/1: Poisson arrivals, one server, general service times.

use super::{require_positive, AnalyticError};

/// M/G/1 Pollaczek-Khinchine mean wait: `Wq = lambda E[S^2] / (2 (1 - rho))`,
/// given mean service time and squared coefficient of variation of service.
///
/// `E[S^2] = (1 + scv) E[S]^2`, so only the first two moments of the service
/// time matter: `service_scv` is 0 for deterministic service (M/D/1), 1 for
/// exponential (M/M/1), `1/k` for Erlang-k. The result is the mean time in
/// queue in seconds, over all arrivals (FCFS or any work-conserving order
/// that ignores service times).
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] if the rate or mean service
/// time is not finite and > 0 or `service_scv` is not finite and >= 0;
/// [`AnalyticError::Unstable`] if `rho = lambda E[S] >= 1`.
pub fn mg1_mean_wait_s(arrival_rate_per_s: f64, mean_service_s: f64, service_scv: f64) -> Result<f64, AnalyticError> {
    let lambda = require_positive("arrival_rate_per_s", arrival_rate_per_s)?;
    let mean_s = require_positive("mean_service_s", mean_service_s)?;
    if !(service_scv.is_finite() && service_scv >= 0.0) {
        return Err(AnalyticError::InvalidParameter {
            name: "service_scv",
            value: service_scv,
            expected: "a finite squared coefficient of variation >= 0",
        });
    }
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return Err(AnalyticError::Unstable { rho });
    }
    // lambda E[S^2] / 2 = rho (1 + scv) E[S] / 2: the mean residual work.
    Ok(rho * (1.0 + service_scv) * mean_s / (2.0 * (1.0 - rho)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::erlang_c;
    use crate::analytic::test_support::check;

    #[test]
    fn exponential_service_is_mm1() {
        for (lambda, mu) in [(0.5, 1.0), (0.9, 1.0), (3.0, 4.0), (999.0, 1_000.0)] {
            let mm1 = erlang_c(1, lambda, mu).unwrap();
            check(&format!("M/M/1 lambda={lambda} mu={mu}"), mg1_mean_wait_s(lambda, 1.0 / mu, 1.0).unwrap(), mm1.mean_wait_s, 1e-12);
        }
    }

    /// Textbook values (Gross & Harris, M/G/1): M/D/1 waits half as long as
    /// M/M/1; at rho = 0.5, E[S] = 1 s that is 0.5 s vs 1 s; Erlang-2
    /// service (scv = 1/2) gives 3/4 of M/M/1.
    #[test]
    fn pollaczek_khinchine_table() {
        // (lambda, E[S], scv, Wq)
        let table = [
            (0.5, 1.0, 0.0, 0.5),
            (0.5, 1.0, 1.0, 1.0),
            (0.5, 1.0, 0.5, 0.75),
            (0.8, 1.0, 0.0, 2.0),
            (0.8, 1.0, 4.0, 10.0),
            (8.0, 0.1, 0.0, 0.2),
        ];
        for (lambda, mean_s, scv, want) in table {
            let got = mg1_mean_wait_s(lambda, mean_s, scv).unwrap();
            check(&format!("M/G/1 lambda={lambda} E[S]={mean_s} scv={scv}"), got, want, 1e-12);
        }
        let md1 = mg1_mean_wait_s(0.7, 1.0, 0.0).unwrap();
        let mm1 = mg1_mean_wait_s(0.7, 1.0, 1.0).unwrap();
        check("M/D/1 = M/M/1 / 2", md1, mm1 / 2.0, 1e-14);
    }

    #[test]
    fn mg1_rejects_invalid_input() {
        assert_eq!(mg1_mean_wait_s(1.0, 1.0, 1.0), Err(AnalyticError::Unstable { rho: 1.0 }));
        assert!(mg1_mean_wait_s(2.0, 1.0, 0.0).is_err());
        assert!(mg1_mean_wait_s(0.0, 1.0, 1.0).is_err());
        assert!(mg1_mean_wait_s(0.5, -1.0, 1.0).is_err());
        assert!(mg1_mean_wait_s(0.5, 1.0, -0.1).is_err());
        assert!(mg1_mean_wait_s(0.5, 1.0, f64::NAN).is_err());
        assert!(mg1_mean_wait_s(f64::INFINITY, 1.0, 1.0).is_err());
    }
}
