//! Recovery after a trigger: when a run is back to what it would have been without the trigger, and
//! whether a configuration is stable, vulnerable or metastable.
//!
//! Metastable failures (Bronson, Aghayev, Charapko and Zhu 2021, "Metastable failures in distributed
//! systems", HotOS; Huang et al. 2022, "Metastable failures in the wild", OSDI) are told apart by what
//! happens once a trigger (a surge of demand, a loss of capacity) is removed: a stable system returns to its
//! normal state by itself, a metastable one stays in a bad state that a sustaining effect (retries, the
//! orbit of users coming back) keeps up. The normal state here is the same configuration run without the
//! trigger on the same random streams (its *baseline twin*), so the comparison is minute by minute and the
//! common random numbers cancel the noise both runs share.
//!
//! A run has recovered at the first minute `m` at or after the removal from which, for `hold` minutes in a
//! row, both hold:
//! - its goodput is within `band` (a share) of the twin's goodput that minute;
//! - its orbit's excess over the twin's orbit is at most `band` times the largest excess of the run, the
//!   orbit the trigger built: the users the trigger sent away are back to a `band` of them.
//!
//! The orbit condition is what tells an overloaded system from a recovered one: under a load that makes
//! the orbit grow without bound (a retrial queue past its stability boundary), both twins have the same
//! (bad) goodput, but the users the trigger added never leave the orbit. A run that has not recovered with
//! `hold` minutes still ahead of the horizon is censored at the horizon.
//!
//! Over replications a configuration is summarised by the share of runs that did not recover (with
//! Wilson's interval) and the median recovery time (censored runs count as longer than any; its interval
//! from order statistics, distribution-free: Conover 1999, "Practical nonparametric statistics", §3.2),
//! and classified: *metastable* when the median run does not recover within the horizon, *vulnerable*
//! when it recovers later than the stated `slow` time, *stable* otherwise.

use crate::metrics::ci::wilson;

/// The criterion of recovery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criterion {
    /// First minute index (from the run's start) at or after the trigger's removal.
    pub from_minute: usize,
    /// The tolerance, a share: of the twin's goodput, and of the largest excess orbit.
    pub band: f64,
    /// Minutes in a row the run must stay within the band.
    pub hold_minutes: usize,
}

/// One minute of a platform, as the criterion reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minute {
    /// Requests answered while their client still waited.
    pub goodput: f64,
    /// Time-average number of users in the orbit.
    pub orbit: f64,
}

/// Whether a run recovered, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recovery {
    /// Recovered from this minute index on.
    At(usize),
    /// Not recovered with `hold` minutes left before the horizon.
    Censored,
}

/// When the triggered run `run` recovers to its baseline twin `twin` (minute rows of one platform, from
/// the run's start; the shorter of the two bounds the search).
pub fn recovery(run: &[Minute], twin: &[Minute], criterion: &Criterion) -> Recovery {
    let n = run.len().min(twin.len());
    let excess: Vec<f64> = (0..n).map(|m| run[m].orbit - twin[m].orbit).collect();
    let peak = peak_excess_orbit(run, twin);
    let ok: Vec<bool> = (0..n)
        .map(|m| (run[m].goodput - twin[m].goodput).abs() <= criterion.band * twin[m].goodput && excess[m] <= criterion.band * peak)
        .collect();
    let hold = criterion.hold_minutes.max(1);
    let mut streak = 0;
    for (m, &good) in ok.iter().enumerate().skip(criterion.from_minute) {
        streak = if good { streak + 1 } else { 0 };
        if streak == hold {
            return Recovery::At(m + 1 - hold);
        }
    }
    Recovery::Censored
}

/// The largest excess of the run's orbit over its twin's, minute by minute (0 if never above): the users
/// the trigger sent away.
pub fn peak_excess_orbit(run: &[Minute], twin: &[Minute]) -> f64 {
    run.iter().zip(twin).map(|(r, t)| r.orbit - t.orbit).fold(0.0, f64::max)
}

/// Minutes from the removal on in which the run was *collapsed*: its goodput under `band` of its twin's
/// while the twin served. This is what tells a platform that stays down (goodput near zero while its twin
/// serves) from one that works at capacity through a backlog the trigger left: both can take long to
/// recover, only the first has collapsed.
pub fn collapsed_minutes(run: &[Minute], twin: &[Minute], criterion: &Criterion) -> usize {
    run.iter().zip(twin).skip(criterion.from_minute).filter(|(r, t)| t.goodput > 0.0 && r.goodput < criterion.band * t.goodput).count()
}

/// A configuration's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The median run recovers within the `slow` time.
    Stable,
    /// The median run recovers, later than the `slow` time.
    Vulnerable,
    /// The median run does not recover within the horizon.
    Metastable,
}

impl Class {
    /// The class's name, as written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Class::Stable => "stable",
            Class::Vulnerable => "vulnerable",
            Class::Metastable => "metastable",
        }
    }
}

/// A configuration's recovery over its replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Replications.
    pub runs: usize,
    /// Runs that did not recover within the horizon.
    pub not_recovered: usize,
    /// Share of runs not recovered, with its 95% Wilson interval.
    pub p_not_recovered: (f64, f64, f64),
    /// Median recovery time, seconds after the removal (`INFINITY`: the median run did not recover), with its
    /// distribution-free 95% interval (`NAN` for an end the sample cannot bound, `INFINITY` past the horizon).
    pub median_s: (f64, f64, f64),
    /// Mean recovery time of the runs that recovered, seconds (`NAN` if none did).
    pub mean_recovered_s: f64,
    /// The class.
    pub class: Class,
}

/// Summarises the recovery times (seconds after the removal; `None` for a censored run) of one
/// configuration's replications, `slow_s` being the longest recovery still called stable.
pub fn verdict(times_s: &[Option<f64>], slow_s: f64) -> Verdict {
    let n = times_s.len();
    assert!(n > 0, "a verdict needs runs");
    let mut sorted: Vec<f64> = times_s.iter().map(|t| t.unwrap_or(f64::INFINITY)).collect();
    sorted.sort_by(f64::total_cmp);
    let not_recovered = times_s.iter().filter(|t| t.is_none()).count();
    let (lo, hi) = wilson(not_recovered as u64, n as u64);
    let p = not_recovered as f64 / n as f64;
    let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
    let (l, u) = median_ranks(n, 0.05);
    let median_lo = l.map_or(f64::NAN, |k| sorted[k - 1]);
    let median_hi = u.map_or(f64::NAN, |k| sorted[k - 1]);
    let recovered: Vec<f64> = times_s.iter().flatten().copied().collect();
    let mean_recovered_s = if recovered.is_empty() { f64::NAN } else { recovered.iter().sum::<f64>() / recovered.len() as f64 };
    let class = if median.is_infinite() {
        Class::Metastable
    } else if median > slow_s {
        Class::Vulnerable
    } else {
        Class::Stable
    };
    Verdict { runs: n, not_recovered, p_not_recovered: (p, lo, hi), median_s: (median, median_lo, median_hi), mean_recovered_s, class }
}

/// The ranks (1-based) of the order statistics that bound the median of `n` draws with confidence at least
/// `1 − alpha`: the largest `l` with P(B ≤ l − 1) ≤ alpha / 2 for B ~ Binomial(n, 1/2), and `n + 1 − l`;
/// `None` when no such `l ≥ 1` exists (too few draws to bound the median).
pub fn median_ranks(n: usize, alpha: f64) -> (Option<usize>, Option<usize>) {
    // Cumulative binomial(n, 1/2) probabilities, in logs so that large n does not underflow.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut cdf = 0.0;
    let mut l = None;
    for k in 0..n {
        cdf += (ln_choose + ln_half_n).exp();
        // cdf = P(B ≤ k): rank k + 1 is admissible when P(B ≤ k) ≤ alpha / 2.
        if cdf <= alpha / 2.0 {
            l = Some(k + 1);
        } else {
            break;
        }
        ln_choose += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
    }
    (l, l.map(|l| n + 1 - l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(goodput: &[f64], orbit: &[f64]) -> Vec<Minute> {
        goodput.iter().zip(orbit).map(|(&goodput, &orbit)| Minute { goodput, orbit }).collect()
    }

    #[test]
    fn a_run_recovers_once_goodput_and_orbit_are_back_for_the_hold() {
        let twin = minutes(&[100.0; 10], &[10.0; 10]);
        // The trigger at minutes 2-3 sends 1,000 users away; they drain over minutes 4-6.
        let run = minutes(
            &[100.0, 100.0, 20.0, 20.0, 60.0, 80.0, 95.0, 104.0, 98.0, 101.0],
            &[10.0, 10.0, 500.0, 1010.0, 700.0, 300.0, 90.0, 12.0, 9.0, 11.0],
        );
        let c = Criterion { from_minute: 4, band: 0.1, hold_minutes: 3 };
        // Minute 6: goodput 95 within 10%, excess 80 ≤ 100 (10% of the peak 1,000); 7 and 8 too.
        assert_eq!(recovery(&run, &twin, &c), Recovery::At(6));
        // A hold longer than what is left is censored.
        assert_eq!(recovery(&run, &twin, &Criterion { hold_minutes: 5, ..c }), Recovery::Censored);
        // Not before the removal, even when the minute before it looked fine.
        assert_eq!(recovery(&run, &twin, &Criterion { from_minute: 0, hold_minutes: 2, ..c }), Recovery::At(0));
    }

    #[test]
    fn a_run_is_collapsed_only_while_its_goodput_is_under_the_band_of_a_serving_twin() {
        let twin = minutes(&[100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 100.0], &[0.0; 7]);
        // Minutes 1-2 down (under 10), 3 working through a backlog (40), 4 back, 5 both idle, 6 down again.
        let run = minutes(&[100.0, 0.0, 9.0, 40.0, 100.0, 0.0, 5.0], &[0.0; 7]);
        let c = Criterion { from_minute: 0, band: 0.1, hold_minutes: 1 };
        assert_eq!(collapsed_minutes(&run, &twin, &c), 3);
        // Counted from the removal only.
        assert_eq!(collapsed_minutes(&run, &twin, &Criterion { from_minute: 3, ..c }), 1);
    }

    #[test]
    fn an_orbit_that_keeps_the_triggers_users_has_not_recovered_even_at_equal_goodput() {
        // Past a retrial queue's stability boundary both twins serve at capacity and both orbits grow; the
        // trigger's 1,000 users stay on top of the twin's.
        let twin = minutes(&[100.0; 8], &[0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0]);
        let run = minutes(&[100.0; 8], &[0.0, 1050.0, 1100.0, 1150.0, 1200.0, 1250.0, 1300.0, 1350.0]);
        let c = Criterion { from_minute: 2, band: 0.1, hold_minutes: 2 };
        assert_eq!(recovery(&run, &twin, &c), Recovery::Censored);
    }

    #[test]
    fn a_collapsed_twin_is_matched_only_by_a_collapsed_run() {
        let twin = minutes(&[0.0; 4], &[0.0; 4]);
        assert_eq!(
            recovery(&minutes(&[0.0; 4], &[0.0; 4]), &twin, &Criterion { from_minute: 1, band: 0.05, hold_minutes: 2 }),
            Recovery::At(1)
        );
        assert_eq!(
            recovery(&minutes(&[0.0, 1.0, 1.0, 1.0], &[0.0; 4]), &twin, &Criterion { from_minute: 1, band: 0.05, hold_minutes: 2 }),
            Recovery::Censored
        );
    }

    #[test]
    fn median_ranks_match_the_binomial_tables() {
        // Conover's table A3 (alpha = 0.05, two-sided): n = 6 → ranks 1 and 6; n = 10 → 2 and 9; n = 20 → 6
        // and 15; n = 5 cannot bound the median (P(B = 0) = 1/32 > 0.025).
        assert_eq!(median_ranks(5, 0.05), (None, None));
        assert_eq!(median_ranks(6, 0.05), (Some(1), Some(6)));
        assert_eq!(median_ranks(10, 0.05), (Some(2), Some(9)));
        assert_eq!(median_ranks(20, 0.05), (Some(6), Some(15)));
        // Large n, in logs: P(B ≤ 179) = 0.0201 ≤ 0.025 < P(B ≤ 180) = 0.0255 for n = 400.
        assert_eq!(median_ranks(400, 0.05), (Some(180), Some(221)));
    }

    #[test]
    fn the_interval_of_the_median_covers_it_at_least_at_its_level() {
        // Exponential draws with median ln 2: over 2,000 samples of 10, the share of intervals covering it is
        // at least 95% minus three binomial standard errors (the interval's exact coverage is 97.9% at n = 10).
        let mut rng = crate::engine::random::stream(7, 0, "test/median");
        let trials = 2000;
        let mut covered = 0;
        for _ in 0..trials {
            let times: Vec<Option<f64>> = (0..10)
                .map(|_| {
                    let u: f64 = rand::Rng::random(&mut rng);
                    Some(-(1.0 - u).ln())
                })
                .collect();
            let v = verdict(&times, 10.0);
            if v.median_s.1 <= std::f64::consts::LN_2 && std::f64::consts::LN_2 <= v.median_s.2 {
                covered += 1;
            }
        }
        let p = covered as f64 / trials as f64;
        assert!(p >= 0.95 - 3.0 * (0.95 * 0.05 / trials as f64).sqrt(), "coverage {p}");
    }

    #[test]
    fn classes_follow_the_median_run() {
        assert_eq!(verdict(&[Some(60.0), Some(120.0), Some(180.0)], 300.0).class, Class::Stable);
        assert_eq!(verdict(&[Some(600.0), Some(900.0), None], 300.0).class, Class::Vulnerable);
        let v = verdict(&[Some(60.0), None, None, None], 300.0);
        assert_eq!(v.class, Class::Metastable);
        assert_eq!(v.not_recovered, 3);
        assert_eq!(v.p_not_recovered.0, 0.75);
        assert!(v.median_s.0.is_infinite());
        assert_eq!(v.mean_recovered_s, 60.0);
    }
}
