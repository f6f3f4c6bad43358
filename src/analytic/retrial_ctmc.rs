//! An exact continuous-time Markov chain of one server with a bounded backlog, impatient clients and a
//! bounded number of come-backs: the retrial queue a rentree platform is when its users log in once, are
//! refused by a full pool or abandon its backlog, and come back later a limited number of times.
//!
//! # What is modelled
//!
//! - Fresh users arrive as a Poisson process at `arrival_rate_per_s` (lambda); each sends one request.
//! - One server, exponential service at `service_rate_per_s` (mu), first in first out; at most
//!   `max_in_system` (K) requests in the pool, the one in service included, so at most K − 1 wait.
//! - A request that finds K present is refused. A waiting request leaves the backlog after an exponential
//!   patience of rate `abandon_rate_per_s` (gamma), each waiting request on its own; a request in service
//!   is never abandoned and always succeeds.
//! - A refusal or an abandonment is a failure of the user's try. After its n-th failure a user comes back
//!   after an exponential delay of rate `comeback_rate_per_s` (theta) with a new request, if n ≤
//!   `max_returns` (R); its failure number R + 1 makes it give up. Users in the orbit come back
//!   independently (classical retrial: the orbit's retrial rate is theta times its size).
//! - State: whether the server is busy; the ordered sequence of waiting requests, each labelled with its
//!   user's failures so far r in 0..=R (the order matters because the head enters service, the labels
//!   because an abandonment of label r sends its user to orbit level r + 1 or, at r = R, away); and the
//!   orbit counts o_1..o_R (users in the orbit after 1..R failures). The label of the request in service is
//!   not kept: it can only succeed. With B = R + 1 there are `1 + sum_{q<K} B^q` queue configurations.
//! - Each o_j is truncated at `orbit_cap`: a user who would join a level already at the cap is dropped
//!   instead (counted as [`RetrialCtmcMetrics::truncated_per_s`]). The stationary mass of states with some
//!   level at the cap, [`RetrialCtmcMetrics::truncation_mass`], tells a caller whether the cap is far
//!   enough; both are 0 when R = 0.
//!
//! This is rentree's own semantics for a cohort with Poisson `arrivals`, exponential `patience`, a
//! `session` of `pages = 0` with no `retry` table and a timeout that never fires, `comeback = { delay =
//! exponential, max_returns = R }` (classical retrial), against a pool of one server with
//! `max_in_system = K` and exponential service: every failure goes through `go_away`, which counts the
//! user's returns and gives up when they exceed `max_returns`; a refusal is counted as `blocked`, an
//! abandonment as `abandoned`; every try (the first and each come-back) is a "first attempt", since with no
//! retry table each try is one attempt. `tests/suite/ctmc.rs` checks the simulation against this chain.
//!
//! # Solution
//!
//! The generator is built sparse, each state indexed as `orbit_index × configurations + configuration`,
//! with the orbit counts in mixed radix (o_1 fastest). A service, a come-back that gets in or a user giving
//! up moves to a lower index, and an arrival or a user joining the orbit to a higher one, so Gauss–Seidel
//! sweeps in alternating directions (forward then backward) carry both quickly.
//!
//! - Expected hitting times `h` of a target set solve `(-Q_TT) h = 1` on the other states T. The sweeps
//!   stop when the residual `rho = 1 - (-Q_TT) h` has `max |rho| <= 1e-12`. Since `h - h* = -(-Q_TT)^-1
//!   rho` and `(-Q_TT)^-1 1 = h*`, that is a certified relative error: `max |h - h*| <= max |rho| × max
//!   h*`, reported as [`RetrialDrain::relative_error_bound`].
//! - The stationary distribution is regenerative, with the empty system (server idle, nobody waiting,
//!   orbit empty) as the reference state z: `pi_j` is proportional to the expected time spent in j per
//!   cycle from z back to z, `m = b (-Q_TT)^-1` with `b_j = q_zj / q_z` (T: every state but z), and to
//!   `1 / q_z` for z itself. Since the rows of `(-Q_TT)^-1` sum to the hitting times of z (solved first:
//!   they are the second drain time), a residual `r = b - m (-Q_TT)` bounds the error, `||m - m*||_1 <=
//!   ||r||_1 × max h*`, and the l1 error of pi is at most twice that over the cycle's length. The sweeps
//!   stop when `||r||_1 × max h*` over the cycle's length is at most 1e-12, so the certified bound,
//!   [`RetrialCtmcMetrics::stationary_error_bound`], is at most 2e-12.
//! - A solve also stops, with its bound telling how far it got, when rounding keeps its residual from
//!   halving over 2,000 sweeps, or after 200,000.
//!
//! Gauss–Seidel on a nonsingular M-matrix (`-Q_TT` is one: z is reachable from every state) is a regular
//! splitting, so it converges, and from zero with a non-negative right-hand side monotonically (Varga 1962,
//! ch. 3). The case of the integration test (K = 4, R = 2, a cap of
//! 30: 39,401 states) takes about a thousand sweeps per solve.
//!
//! # References
//!
//! - P. Alvaro, R. Isaacs, R. Majumdar, K.-K. Muniswamy-Reddy, M. Salamati and S. Soudjani, "Formal
//!   Analysis of Metastable Failures in Software Systems", arXiv:2510.03551 (2025), and their tool Metafor
//!   (github.com/mpi-sws-rse/metafor): CTMCs of a server's queue and its orbit of retries, and expected
//!   hitting times as recovery times. Metafor's single-server chain keeps (queue length, orbit size) and
//!   approximates timeouts and retry rates; here patience is exponential and the failures of each user are
//!   in the state, so the chain is exactly the simulated model, not an approximation of it.
//! - G. I. Falin and J. G. C. Templeton, "Retrial Queues", Chapman & Hall (1997): the classical retrial
//!   queue, each user in the orbit retrying at its own rate.
//! - J. R. Artalejo and A. Gómez-Corral, "Retrial Queueing Systems: A Computational Approach", Springer
//!   (2008): truncating the orbit to solve such chains numerically.
//! - W. J. Stewart, "Introduction to the Numerical Solution of Markov Chains", Princeton University Press
//!   (1994): Gauss–Seidel for CTMCs and regenerative (cycle) representations of the stationary law.
//! - R. S. Varga, "Matrix Iterative Analysis", Prentice-Hall (1962): regular splittings of M-matrices.

use super::{require_positive, AnalyticError};

/// Largest number of states [`retrial_ctmc`] builds before refusing with
/// [`AnalyticError::StateSpaceTooLarge`]: some 300 bytes a state of generator (rows and columns) and solver
/// vectors, so about 300 MB.
pub const RETRIAL_CTMC_MAX_STATES: u64 = 1_000_000;

/// Relative residual at which the Gauss–Seidel solves stop (see the module doc).
const TOLERANCE: f64 = 1e-12;

/// Sweeps (each forward then backward) after which a solve stops whatever its residual; the result's error
/// bound then tells how far it got.
const MAX_SWEEPS: usize = 200_000;

/// A solve stalls (rounding leaves the residual above [`TOLERANCE`]) when its residual has not halved over
/// this many sweeps.
const STALL_SWEEPS: usize = 2_000;

/// The parameters of the chain (see the module doc for the model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrialModel {
    /// Fresh users per second (lambda), >= 0.
    pub arrival_rate_per_s: f64,
    /// Service completions per second of the busy server (mu), > 0.
    pub service_rate_per_s: f64,
    /// Abandonment rate of each waiting request (gamma = 1 / mean patience), >= 0; 0: nobody abandons.
    pub abandon_rate_per_s: f64,
    /// Come-back rate of each user in the orbit (theta = 1 / mean come-back delay), > 0 when
    /// `max_returns` > 0.
    pub comeback_rate_per_s: f64,
    /// Requests the pool holds, in service and waiting (K), >= 1.
    pub max_in_system: u32,
    /// Failures after which a user still comes back (R); failure R + 1 makes it give up.
    pub max_returns: u32,
    /// Largest count of each orbit level; a user who would join a level at the cap is dropped. Ignored when
    /// `max_returns` is 0, >= 1 otherwise.
    pub orbit_cap: u32,
}

/// Expected times to drain the system, starting from K requests in it (the one in service and K − 1
/// waiting, all of users on their first try) and an empty orbit, while arrivals go on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrialDrain {
    /// Until the server is idle with nobody waiting, whatever the orbit holds, seconds.
    pub to_idle_s: f64,
    /// Until the server is idle with nobody waiting and the orbit empty: nothing left that the overload
    /// caused, the time a planner waits before the system is as if it had never been full, seconds.
    pub to_idle_and_orbit_empty_s: f64,
    /// Certified bound on the relative error of both times from the solver (not from the orbit's
    /// truncation).
    pub relative_error_bound: f64,
}

/// Steady-state figures of the chain, and its drain times.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrialCtmcMetrics {
    /// States of the truncated chain.
    pub states: usize,
    /// Probability that the server is busy.
    pub utilization: f64,
    /// Probability that K requests are in the pool (a try now would be refused).
    pub p_full: f64,
    /// Mean number of requests in the pool, in service and waiting.
    pub mean_in_system: f64,
    /// Mean number of requests waiting.
    pub mean_queue_len: f64,
    /// Mean number of users in the orbit.
    pub mean_orbit: f64,
    /// Mean number of users in the orbit after j failures, at index j − 1 (R entries).
    pub mean_orbit_by_returns: Vec<f64>,
    /// Requests served per second.
    pub throughput_per_s: f64,
    /// Tries refused by the full pool per second.
    pub refused_per_s: f64,
    /// Requests that abandoned the backlog per second.
    pub abandoned_per_s: f64,
    /// Users coming back from the orbit per second.
    pub comebacks_per_s: f64,
    /// Users giving up per second (after their failure number R + 1).
    pub gave_up_per_s: f64,
    /// Users dropped per second because their orbit level was at its cap (truncation, not behaviour).
    pub truncated_per_s: f64,
    /// Tries per second, fresh and coming back: rentree's first attempts, with no retry table.
    pub tries_per_s: f64,
    /// Share of tries that fail (refused or abandoned): rentree's `first_attempt_failure_share`.
    pub first_attempt_failure_share: f64,
    /// Share of fresh users whose first try fails.
    pub first_try_failure_share: f64,
    /// Stationary probability of the states where some orbit level is at its cap.
    pub truncation_mass: f64,
    /// Certified bound on the l1 error of the stationary distribution from the solver.
    pub stationary_error_bound: f64,
    /// Expected drain times from a full pool.
    pub drain: RetrialDrain,
}

/// Builds and solves the chain of `model`: its steady state and its drain times from a full pool.
///
/// # Errors
///
/// [`AnalyticError::InvalidParameter`] for a rate out of its domain, K = 0, or an orbit cap of 0 with
/// come-backs; [`AnalyticError::StateSpaceTooLarge`] beyond [`RETRIAL_CTMC_MAX_STATES`] states.
pub fn retrial_ctmc(model: &RetrialModel) -> Result<RetrialCtmcMetrics, AnalyticError> {
    let chain = Chain::new(model)?;
    let z = chain.state(0, 0);
    let to_z = chain.hitting_times(&|s| s == z);
    let to_idle = chain.hitting_times(&|s| chain.config(s) == 0);
    let full = chain.state(0, chain.offsets[chain.max_in_system - 1]);
    let drain = RetrialDrain {
        to_idle_s: to_idle.times_s[full],
        to_idle_and_orbit_empty_s: to_z.times_s[full],
        relative_error_bound: to_idle.relative_error_bound.max(to_z.relative_error_bound),
    };
    let (pi, stationary_error_bound) = chain.stationary(z, &to_z);
    Ok(chain.metrics(&pi, stationary_error_bound, drain))
}

/// Why a transition happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// A fresh user's first try.
    Fresh,
    /// A user of the orbit tries again.
    Comeback,
    /// The server finishes a request.
    Service,
    /// A waiting request's patience runs out.
    Patience,
}

/// What becomes of the user a transition concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Its request entered the pool, or was served.
    Fine,
    /// It failed and joined the next orbit level.
    ToOrbit,
    /// It failed for the (R + 1)-th time and gave up.
    GaveUp,
    /// It failed and its next orbit level was at the cap: dropped.
    Truncated,
}

/// One transition out of a state.
#[derive(Debug, Clone, Copy)]
struct Move {
    rate_per_s: f64,
    to: usize,
    cause: Cause,
    outcome: Outcome,
    /// Failures of the user concerned before this transition (0 for a service: unknown and not needed).
    returns: u32,
}

/// Hitting times of a target set and how exactly they were solved.
struct Hitting {
    /// Expected time to the target from each state, seconds (0 on the target).
    times_s: Vec<f64>,
    /// `max |h - h*| / max h*`, certified (see the module doc).
    relative_error_bound: f64,
    /// Largest hitting time, corrected up by its own error bound: an upper bound on `max h*`.
    max_time_bound_s: f64,
}

/// The truncated chain: its states and sparse generator.
struct Chain {
    lambda: f64,
    mu: f64,
    gamma: f64,
    theta: f64,
    max_in_system: usize,
    max_returns: usize,
    cap: usize,
    /// Per queue configuration: the labels of the waiting requests, head first (`None`: server idle).
    configs: Vec<Option<Vec<u8>>>,
    /// Index of the first configuration with `q` requests waiting, for `q` in `0..K` (busy server).
    offsets: Vec<usize>,
    /// Number of orbit vectors, `(cap + 1)^R`.
    orbits: usize,
    /// Transitions out of each state (self-loops left out), compressed rows.
    out_start: Vec<usize>,
    out_to: Vec<u32>,
    out_rate: Vec<f64>,
    /// Transitions into each state, compressed columns (the same entries).
    in_start: Vec<usize>,
    in_from: Vec<u32>,
    in_rate: Vec<f64>,
    /// Total rate out of each state, self-loops left out (`-q_ii`).
    outflow: Vec<f64>,
}

/// Checks that a rate is finite and >= 0.
fn require_non_negative(name: &'static str, value: f64) -> Result<f64, AnalyticError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(AnalyticError::InvalidParameter { name, value, expected: "a finite number >= 0" })
    }
}

impl Chain {
    fn new(m: &RetrialModel) -> Result<Chain, AnalyticError> {
        let lambda = require_non_negative("arrival_rate_per_s", m.arrival_rate_per_s)?;
        let mu = require_positive("service_rate_per_s", m.service_rate_per_s)?;
        let gamma = require_non_negative("abandon_rate_per_s", m.abandon_rate_per_s)?;
        let theta = if m.max_returns > 0 { require_positive("comeback_rate_per_s", m.comeback_rate_per_s)? } else { 0.0 };
        if m.max_in_system == 0 {
            return Err(AnalyticError::InvalidParameter { name: "max_in_system", value: 0.0, expected: "at least 1 request" });
        }
        if m.max_returns > 0 && m.orbit_cap == 0 {
            return Err(AnalyticError::InvalidParameter {
                name: "orbit_cap",
                value: 0.0,
                expected: "at least 1 user per orbit level when users come back",
            });
        }
        let too_large = AnalyticError::StateSpaceTooLarge { limit: RETRIAL_CTMC_MAX_STATES };
        // Labels are stored in a byte; any R near that is far beyond the state limit anyway.
        if m.max_returns > 200 {
            return Err(too_large);
        }
        let base = u64::from(m.max_returns) + 1;
        let mut configs_count: u64 = 1;
        let mut power: u64 = 1;
        for _ in 0..m.max_in_system {
            configs_count = configs_count.checked_add(power).filter(|&n| n <= RETRIAL_CTMC_MAX_STATES).ok_or(too_large.clone())?;
            power = power.saturating_mul(base);
        }
        let cap = if m.max_returns == 0 { 0 } else { m.orbit_cap as usize };
        let orbits = (cap as u64 + 1).checked_pow(m.max_returns).filter(|&n| n <= RETRIAL_CTMC_MAX_STATES).ok_or(too_large.clone())?;
        if configs_count.saturating_mul(orbits) > RETRIAL_CTMC_MAX_STATES {
            return Err(too_large);
        }

        // Queue configurations: idle, then by queue length, each length's label sequences in the order of
        // their base-B code with the head as lowest digit.
        let k = m.max_in_system as usize;
        let b = m.max_returns as usize + 1;
        let mut configs = vec![None];
        let mut offsets = Vec::with_capacity(k);
        for q in 0..k {
            offsets.push(configs.len());
            let count = b.pow(q as u32);
            for code in 0..count {
                let mut labels = Vec::with_capacity(q);
                let mut rest = code;
                for _ in 0..q {
                    labels.push((rest % b) as u8);
                    rest /= b;
                }
                configs.push(Some(labels));
            }
        }
        let mut chain = Chain {
            lambda,
            mu,
            gamma,
            theta,
            max_in_system: k,
            max_returns: m.max_returns as usize,
            cap,
            configs,
            offsets,
            orbits: orbits as usize,
            out_start: Vec::new(),
            out_to: Vec::new(),
            out_rate: Vec::new(),
            in_start: Vec::new(),
            in_from: Vec::new(),
            in_rate: Vec::new(),
            outflow: Vec::new(),
        };
        chain.build_generator();
        Ok(chain)
    }

    fn states(&self) -> usize {
        self.orbits * self.configs.len()
    }

    fn state(&self, orbit: usize, config: usize) -> usize {
        orbit * self.configs.len() + config
    }

    fn config(&self, state: usize) -> usize {
        state % self.configs.len()
    }

    /// The index of the configuration of a busy server with `waiting` (head first).
    fn config_of(&self, waiting: &[u8]) -> usize {
        let b = self.max_returns + 1;
        let code = waiting.iter().rev().fold(0, |acc, &r| acc * b + usize::from(r));
        self.offsets[waiting.len()] + code
    }

    /// Stride of orbit level `j` (1-based) in the orbit index.
    fn stride(&self, j: usize) -> usize {
        (self.cap + 1).pow(j as u32 - 1)
    }

    /// Count of orbit level `j` (1-based) in orbit vector `orbit`.
    fn level(&self, orbit: usize, j: usize) -> usize {
        orbit / self.stride(j) % (self.cap + 1)
    }

    /// Where a user with `returns` failures goes after one more, from orbit vector `orbit`: the new orbit
    /// vector and the outcome.
    fn fail(&self, orbit: usize, returns: usize) -> (usize, Outcome) {
        let next = returns + 1;
        if next > self.max_returns {
            (orbit, Outcome::GaveUp)
        } else if self.level(orbit, next) == self.cap {
            (orbit, Outcome::Truncated)
        } else {
            (orbit + self.stride(next), Outcome::ToOrbit)
        }
    }

    /// A try by a user with `returns` failures, in configuration `config` and orbit vector `orbit` (the user
    /// already out of it): the state it leads to and the outcome.
    fn try_enter(&self, config: usize, orbit: usize, returns: usize) -> (usize, Outcome) {
        match &self.configs[config] {
            None => (self.state(orbit, self.offsets[0]), Outcome::Fine),
            Some(waiting) if waiting.len() + 1 < self.max_in_system => {
                let mut longer = waiting.clone();
                longer.push(returns as u8);
                (self.state(orbit, self.config_of(&longer)), Outcome::Fine)
            }
            Some(_) => {
                let (orbit, outcome) = self.fail(orbit, returns);
                (self.state(orbit, config), outcome)
            }
        }
    }

    /// Every transition out of `state`, self-loops (a refused user giving up) included.
    fn moves(&self, state: usize, out: &mut Vec<Move>) {
        out.clear();
        let config = self.config(state);
        let orbit = state / self.configs.len();
        if self.lambda > 0.0 {
            let (to, outcome) = self.try_enter(config, orbit, 0);
            out.push(Move { rate_per_s: self.lambda, to, cause: Cause::Fresh, outcome, returns: 0 });
        }
        for j in 1..=self.max_returns {
            let n = self.level(orbit, j);
            if n > 0 {
                let (to, outcome) = self.try_enter(config, orbit - self.stride(j), j);
                out.push(Move { rate_per_s: self.theta * n as f64, to, cause: Cause::Comeback, outcome, returns: j as u32 });
            }
        }
        let Some(waiting) = &self.configs[config] else { return };
        let after_service = if waiting.is_empty() { 0 } else { self.config_of(&waiting[1..]) };
        out.push(Move {
            rate_per_s: self.mu,
            to: self.state(orbit, after_service),
            cause: Cause::Service,
            outcome: Outcome::Fine,
            returns: 0,
        });
        if self.gamma > 0.0 {
            for i in 0..waiting.len() {
                let mut shorter = waiting.clone();
                let r = shorter.remove(i);
                let (orbit, outcome) = self.fail(orbit, usize::from(r));
                let to = self.state(orbit, self.config_of(&shorter));
                out.push(Move { rate_per_s: self.gamma, to, cause: Cause::Patience, outcome, returns: u32::from(r) });
            }
        }
    }

    /// Builds the generator's rows and columns.
    fn build_generator(&mut self) {
        let n = self.states();
        let mut out_start = Vec::with_capacity(n + 1);
        let (mut out_to, mut out_rate) = (Vec::new(), Vec::new());
        let mut outflow = Vec::with_capacity(n);
        let mut moves = Vec::new();
        out_start.push(0);
        for s in 0..n {
            self.moves(s, &mut moves);
            let mut total_per_s = 0.0;
            for m in moves.iter().filter(|m| m.to != s) {
                out_to.push(m.to as u32);
                out_rate.push(m.rate_per_s);
                total_per_s += m.rate_per_s;
            }
            outflow.push(total_per_s);
            out_start.push(out_to.len());
        }
        // Columns: count the entries into each state, then place them.
        let mut in_start = vec![0; n + 1];
        for &to in &out_to {
            in_start[to as usize + 1] += 1;
        }
        for s in 0..n {
            in_start[s + 1] += in_start[s];
        }
        let mut next = in_start.clone();
        let mut in_from = vec![0; out_to.len()];
        let mut in_rate = vec![0.0; out_to.len()];
        for s in 0..n {
            for e in out_start[s]..out_start[s + 1] {
                let to = out_to[e] as usize;
                in_from[next[to]] = s as u32;
                in_rate[next[to]] = out_rate[e];
                next[to] += 1;
            }
        }
        (self.out_start, self.out_to, self.out_rate, self.outflow) = (out_start, out_to, out_rate, outflow);
        (self.in_start, self.in_from, self.in_rate) = (in_start, in_from, in_rate);
    }

    /// Expected hitting times of the states where `target` holds, by Gauss–Seidel on `(-Q_TT) h = 1`.
    fn hitting_times(&self, target: &dyn Fn(usize) -> bool) -> Hitting {
        let n = self.states();
        let free: Vec<usize> = (0..n).filter(|&s| !target(s)).collect();
        let mut h = vec![0.0; n];
        let update = |h: &mut [f64], s: usize| {
            let row = self.out_start[s]..self.out_start[s + 1];
            let inflow: f64 = self.out_to[row.clone()].iter().zip(&self.out_rate[row]).map(|(&to, &q)| q * h[to as usize]).sum();
            h[s] = (1.0 + inflow) / self.outflow[s];
        };
        let residual = |h: &[f64]| {
            free.iter()
                .map(|&s| {
                    let row = self.out_start[s]..self.out_start[s + 1];
                    let inflow: f64 = self.out_to[row.clone()].iter().zip(&self.out_rate[row]).map(|(&to, &q)| q * h[to as usize]).sum();
                    (1.0 + inflow - self.outflow[s] * h[s]).abs()
                })
                .fold(0.0, f64::max)
        };
        let rho = solve(|| {
            free.iter().for_each(|&s| update(&mut h, s));
            free.iter().rev().for_each(|&s| update(&mut h, s));
            residual(&h)
        });
        let max_s = h.iter().copied().fold(0.0, f64::max);
        // max h* <= max h / (1 - rho): from |h - h*| <= rho max h*.
        let max_time_bound_s = if rho < 1.0 { max_s / (1.0 - rho) } else { f64::INFINITY };
        Hitting { times_s: h, relative_error_bound: rho, max_time_bound_s }
    }

    /// The stationary distribution by its cycles through `z`, whose hitting times are `to_z`, and its
    /// certified l1 error bound.
    fn stationary(&self, z: usize, to_z: &Hitting) -> (Vec<f64>, f64) {
        let n = self.states();
        let mut pi = vec![0.0; n];
        let leave_z = self.outflow[z];
        if leave_z == 0.0 {
            // Nobody ever arrives: the empty system is absorbing, and every state drains into it.
            pi[z] = 1.0;
            return (pi, 0.0);
        }
        let mut b = vec![0.0; n];
        for e in self.out_start[z]..self.out_start[z + 1] {
            b[self.out_to[e] as usize] += self.out_rate[e] / leave_z;
        }
        let free: Vec<usize> = (0..n).filter(|&s| s != z).collect();
        // m[z] stays 0, so the entries out of z add nothing to the sums below.
        let mut m = vec![0.0; n];
        let inflow = |m: &[f64], s: usize| -> f64 {
            let col = self.in_start[s]..self.in_start[s + 1];
            self.in_from[col.clone()].iter().zip(&self.in_rate[col]).map(|(&from, &q)| q * m[from as usize]).sum()
        };
        let mut residual_l1 = f64::INFINITY;
        solve(|| {
            for &s in &free {
                m[s] = (b[s] + inflow(&m, s)) / self.outflow[s];
            }
            for &s in free.iter().rev() {
                m[s] = (b[s] + inflow(&m, s)) / self.outflow[s];
            }
            residual_l1 = free.iter().map(|&s| (b[s] + inflow(&m, s) - self.outflow[s] * m[s]).abs()).sum();
            // The relative residual: the error bound over the cycle's length, up to the factor 2 below.
            residual_l1 * to_z.max_time_bound_s / (1.0 / leave_z + m.iter().sum::<f64>())
        });
        m[z] = 1.0 / leave_z;
        let cycle_s: f64 = m.iter().sum();
        for (p, x) in pi.iter_mut().zip(&m) {
            *p = x / cycle_s;
        }
        (pi, 2.0 * residual_l1 * to_z.max_time_bound_s / cycle_s)
    }

    /// The figures of stationary distribution `pi`.
    fn metrics(&self, pi: &[f64], stationary_error_bound: f64, drain: RetrialDrain) -> RetrialCtmcMetrics {
        let r = self.max_returns;
        let mut x = RetrialCtmcMetrics {
            states: self.states(),
            utilization: 0.0,
            p_full: 0.0,
            mean_in_system: 0.0,
            mean_queue_len: 0.0,
            mean_orbit: 0.0,
            mean_orbit_by_returns: vec![0.0; r],
            throughput_per_s: 0.0,
            refused_per_s: 0.0,
            abandoned_per_s: 0.0,
            comebacks_per_s: 0.0,
            gave_up_per_s: 0.0,
            truncated_per_s: 0.0,
            tries_per_s: 0.0,
            first_attempt_failure_share: 0.0,
            first_try_failure_share: 0.0,
            truncation_mass: 0.0,
            stationary_error_bound,
            drain,
        };
        let mut fresh_failed_per_s = 0.0;
        let mut moves = Vec::new();
        for (s, &p) in pi.iter().enumerate() {
            let orbit = s / self.configs.len();
            if let Some(waiting) = &self.configs[self.config(s)] {
                x.utilization += p;
                x.mean_queue_len += p * waiting.len() as f64;
                x.mean_in_system += p * (waiting.len() + 1) as f64;
                x.p_full += if waiting.len() + 1 == self.max_in_system { p } else { 0.0 };
            }
            let mut at_cap = false;
            for j in 1..=r {
                let n = self.level(orbit, j);
                x.mean_orbit_by_returns[j - 1] += p * n as f64;
                at_cap |= n == self.cap;
            }
            x.truncation_mass += if at_cap { p } else { 0.0 };
            self.moves(s, &mut moves);
            for m in &moves {
                let rate = p * m.rate_per_s;
                let failed = m.outcome != Outcome::Fine;
                match m.cause {
                    Cause::Fresh | Cause::Comeback => {
                        x.tries_per_s += rate;
                        x.refused_per_s += if failed { rate } else { 0.0 };
                    }
                    Cause::Service => x.throughput_per_s += rate,
                    Cause::Patience => x.abandoned_per_s += rate,
                }
                x.comebacks_per_s += if m.cause == Cause::Comeback { rate } else { 0.0 };
                x.gave_up_per_s += if m.outcome == Outcome::GaveUp { rate } else { 0.0 };
                x.truncated_per_s += if m.outcome == Outcome::Truncated { rate } else { 0.0 };
                let fresh = m.cause == Cause::Fresh || (m.cause == Cause::Patience && m.returns == 0);
                fresh_failed_per_s += if fresh && failed { rate } else { 0.0 };
            }
        }
        x.mean_orbit = x.mean_orbit_by_returns.iter().sum();
        let failed_per_s = x.refused_per_s + x.abandoned_per_s;
        x.first_attempt_failure_share = if x.tries_per_s > 0.0 { failed_per_s / x.tries_per_s } else { 0.0 };
        x.first_try_failure_share = if self.lambda > 0.0 { fresh_failed_per_s / self.lambda } else { 0.0 };
        x
    }
}

/// Runs `sweep` (a Gauss–Seidel sweep that returns its relative residual) until the residual is at most
/// [`TOLERANCE`], stalls, or [`MAX_SWEEPS`] are done; returns the last residual.
fn solve(mut sweep: impl FnMut() -> f64) -> f64 {
    let mut residual = f64::INFINITY;
    let mut mark = (0, f64::INFINITY);
    for done in 1..=MAX_SWEEPS {
        residual = sweep();
        if residual <= TOLERANCE {
            break;
        }
        if residual <= 0.5 * mark.1 {
            mark = (done, residual);
        } else if done - mark.0 >= STALL_SWEEPS {
            break;
        }
    }
    residual
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::mmck;
    use crate::analytic::test_support::check;

    fn model(lambda: f64, mu: f64, gamma: f64, theta: f64, k: u32, r: u32, cap: u32) -> RetrialModel {
        RetrialModel {
            arrival_rate_per_s: lambda,
            service_rate_per_s: mu,
            abandon_rate_per_s: gamma,
            comeback_rate_per_s: theta,
            max_in_system: k,
            max_returns: r,
            orbit_cap: cap,
        }
    }

    /// The stationary law of the birth-death chain of M/M/1/K+M (R = 0): births lambda below K, deaths
    /// mu + (n − 1) gamma in state n, so `p_n ∝ prod_{i=1..n} lambda / (mu + (i − 1) gamma)`.
    fn birth_death(lambda: f64, mu: f64, gamma: f64, k: u32) -> Vec<f64> {
        let mut w = vec![1.0];
        for n in 1..=k {
            w.push(w[n as usize - 1] * lambda / (mu + f64::from(n - 1) * gamma));
        }
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }

    #[test]
    fn with_no_comeback_and_no_patience_it_is_mm1k() {
        for (lambda, mu, k) in [(7.0, 10.0, 4), (12.0, 10.0, 5), (1.0, 3.0, 1), (10.0, 10.0, 3)] {
            let label = format!("M/M/1/{k} lambda={lambda} mu={mu}");
            let x = retrial_ctmc(&model(lambda, mu, 0.0, 1.0, k, 0, 0)).unwrap();
            let m = mmck(1, k, lambda, mu).unwrap();
            assert_eq!(x.states, k as usize + 1, "{label}");
            check(&format!("{label} p_block"), x.p_full, m.p_block, 1e-10);
            check(&format!("{label} L"), x.mean_in_system, m.mean_in_system, 1e-10);
            check(&format!("{label} Lq"), x.mean_queue_len, m.mean_queue_len, 1e-10);
            check(&format!("{label} utilization"), x.utilization, m.utilization, 1e-10);
            // Every user has one try: a refusal is a give-up, and nothing else fails.
            check(&format!("{label} refused"), x.refused_per_s, lambda * m.p_block, 1e-10);
            check(&format!("{label} gave up"), x.gave_up_per_s, lambda * m.p_block, 1e-10);
            check(&format!("{label} first try fails"), x.first_try_failure_share, m.p_block, 1e-10);
            assert_eq!((x.mean_orbit, x.comebacks_per_s, x.truncation_mass), (0.0, 0.0, 0.0), "{label}");
            assert!(x.stationary_error_bound < 1e-10, "{label}: {}", x.stationary_error_bound);
        }
    }

    #[test]
    fn with_patience_and_no_comeback_it_is_the_birth_death_mm1k_with_abandonment() {
        for (lambda, mu, gamma, k) in [(7.0, 10.0, 2.0, 4), (15.0, 10.0, 5.0, 5), (3.0, 1.0, 0.5, 3)] {
            let label = format!("M/M/1/{k}+M lambda={lambda} mu={mu} gamma={gamma}");
            let x = retrial_ctmc(&model(lambda, mu, gamma, 1.0, k, 0, 0)).unwrap();
            let p = birth_death(lambda, mu, gamma, k);
            let mean = |f: &dyn Fn(usize) -> f64| p.iter().enumerate().map(|(n, pn)| pn * f(n)).sum::<f64>();
            let lq = mean(&|n| n.saturating_sub(1) as f64);
            check(&format!("{label} p_full"), x.p_full, p[k as usize], 1e-10);
            check(&format!("{label} L"), x.mean_in_system, mean(&|n| n as f64), 1e-10);
            check(&format!("{label} Lq"), x.mean_queue_len, lq, 1e-10);
            check(&format!("{label} utilization"), x.utilization, 1.0 - p[0], 1e-10);
            check(&format!("{label} abandoned"), x.abandoned_per_s, gamma * lq, 1e-10);
            check(&format!("{label} throughput"), x.throughput_per_s, mu * (1.0 - p[0]), 1e-10);
            // Flow balance: every fresh user is served or gives up (refused or abandoned).
            check(&format!("{label} balance"), x.throughput_per_s + x.gave_up_per_s, lambda, 1e-10);
        }
    }

    #[test]
    fn a_full_pool_with_no_arrivals_drains_in_k_over_mu() {
        // With no arrivals and no patience, K services in a row: K / mu, whatever R (nobody fails).
        for (k, r) in [(1, 0), (4, 0), (4, 2), (5, 1)] {
            let x = retrial_ctmc(&model(0.0, 10.0, 0.0, 1.0, k, r, 10)).unwrap();
            let want = f64::from(k) / 10.0;
            check(&format!("K={k} R={r} to idle"), x.drain.to_idle_s, want, 1e-10);
            check(&format!("K={k} R={r} to idle, orbit empty"), x.drain.to_idle_and_orbit_empty_s, want, 1e-10);
            check(&format!("K={k} R={r} empty"), 1.0 - x.utilization, 1.0, 0.0);
        }
        // With patience and no come-back: a pure death chain, rate mu + (n − 1) gamma in state n, so the
        // time from K to 0 is sum_{n=1..K} 1 / (mu + (n − 1) gamma).
        let x = retrial_ctmc(&model(0.0, 10.0, 2.0, 1.0, 4, 0, 0)).unwrap();
        let want: f64 = (1..=4).map(|n| 1.0 / (10.0 + f64::from(n - 1) * 2.0)).sum();
        check("pure death to idle", x.drain.to_idle_s, want, 1e-10);
    }

    #[test]
    fn the_drain_time_with_arrivals_is_the_birth_death_sum_of_passage_times() {
        // R = 0: the birth-death chain of M/M/1/K+M. The expected passage from n down to n − 1 is
        // T_n = 1 / d_n + (lambda / d_n) T_{n+1} (leave n downwards at once, or go up and come back first),
        // with d_n = mu + (n − 1) gamma and T_K = 1 / d_K (a refused arrival changes nothing); from K to 0
        // it is sum_{n=1..K} T_n. Equivalently T_n = P(N >= n) / (p_n d_n), checked too.
        for (lambda, mu, gamma, k) in [(7.0, 10.0, 2.0, 4), (15.0, 10.0, 5.0, 5), (9.0, 10.0, 0.0, 5)] {
            let label = format!("M/M/1/{k}+M lambda={lambda} mu={mu} gamma={gamma}");
            let x = retrial_ctmc(&model(lambda, mu, gamma, 1.0, k, 0, 0)).unwrap();
            let d = |n: u32| mu + f64::from(n - 1) * gamma;
            let mut t_next = 0.0;
            let mut total = 0.0;
            for n in (1..=k).rev() {
                let births = if n == k { 0.0 } else { lambda };
                t_next = (1.0 + births * t_next) / d(n);
                total += t_next;
            }
            check(&format!("{label} drain"), x.drain.to_idle_s, total, 1e-10);
            check(&format!("{label} drain, orbit empty"), x.drain.to_idle_and_orbit_empty_s, total, 1e-10);
            let p = birth_death(lambda, mu, gamma, k);
            let by_cut: f64 = (1..=k as usize).map(|n| p[n..].iter().sum::<f64>() / (p[n] * d(n as u32))).sum();
            check(&format!("{label} drain by cuts"), x.drain.to_idle_s, by_cut, 1e-10);
            assert!(x.drain.relative_error_bound < 1e-11, "{label}: {}", x.drain.relative_error_bound);
        }
    }

    #[test]
    fn flows_balance_in_the_full_model() {
        // MU = 10/s, LAMBDA = 7/s, GAMMA = 2/s, THETA = 1/s, K = 4, R = 2: the integration test's case.
        // With the orbit large, come-backs keep the pool full and fresh users fail too, so the orbit's tail is
        // far heavier than a Poisson law of the same mean (its mass at the cap falls about fivefold a user
        // near 25): the cap is 30.
        let x = retrial_ctmc(&model(7.0, 10.0, 2.0, 1.0, 4, 2, 30)).unwrap();
        assert_eq!(x.states, (1 + 1 + 3 + 9 + 27) * 31 * 31);
        assert!(x.truncation_mass < 1e-14, "truncation mass {}", x.truncation_mass);
        assert!(x.stationary_error_bound < 1e-10, "{}", x.stationary_error_bound);
        assert!(x.drain.relative_error_bound < 1e-11, "{}", x.drain.relative_error_bound);
        // Users: every fresh user is served, gives up, or is dropped by the truncation.
        check("users", x.throughput_per_s + x.gave_up_per_s + x.truncated_per_s, 7.0, 1e-10);
        // Requests: every try enters or is refused, and every entered request is served or abandons.
        check("requests", x.tries_per_s - x.refused_per_s, x.throughput_per_s + x.abandoned_per_s, 1e-10);
        // The orbit: every failure not final joins it, and Little's law on it (each user leaves at theta).
        check("orbit in = out", x.refused_per_s + x.abandoned_per_s - x.gave_up_per_s - x.truncated_per_s, x.comebacks_per_s, 1e-10);
        check("Little on the orbit", x.mean_orbit * 1.0, x.comebacks_per_s, 1e-10);
        check("tries", x.tries_per_s, 7.0 + x.comebacks_per_s, 1e-10);
        // Little's law on the server: busy = throughput / mu.
        check("utilization", x.utilization, x.throughput_per_s / 10.0, 1e-10);
        check("Lq + busy", x.mean_in_system, x.mean_queue_len + x.utilization, 1e-12);
        // Coming back matters: the orbit is not empty, and the drain with the orbit is longer.
        assert!(x.mean_orbit > 0.1 && x.mean_orbit_by_returns[1] > 0.0, "{x:?}");
        assert!(x.drain.to_idle_and_orbit_empty_s > x.drain.to_idle_s, "{:?}", x.drain);
    }

    #[test]
    fn a_higher_orbit_cap_changes_nothing_once_the_truncation_is_negligible() {
        let a = retrial_ctmc(&model(7.0, 10.0, 2.0, 1.0, 3, 2, 30)).unwrap();
        let b = retrial_ctmc(&model(7.0, 10.0, 2.0, 1.0, 3, 2, 40)).unwrap();
        assert!(a.truncation_mass < 1e-14 && b.truncation_mass <= a.truncation_mass, "{} {}", a.truncation_mass, b.truncation_mass);
        check("L", a.mean_in_system, b.mean_in_system, 1e-9);
        check("orbit", a.mean_orbit, b.mean_orbit, 1e-9);
        check("gave up", a.gave_up_per_s, b.gave_up_per_s, 1e-9);
        check("drain", a.drain.to_idle_and_orbit_empty_s, b.drain.to_idle_and_orbit_empty_s, 1e-9);
        // A cap of 1 is reached often, and says so.
        let tight = retrial_ctmc(&model(7.0, 10.0, 2.0, 1.0, 3, 2, 1)).unwrap();
        assert!(tight.truncation_mass > 0.1 && tight.truncated_per_s > 0.0, "{tight:?}");
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ok = model(7.0, 10.0, 2.0, 1.0, 4, 2, 10);
        for bad in [
            RetrialModel { arrival_rate_per_s: -1.0, ..ok },
            RetrialModel { service_rate_per_s: 0.0, ..ok },
            RetrialModel { abandon_rate_per_s: f64::NAN, ..ok },
            RetrialModel { comeback_rate_per_s: 0.0, ..ok },
            RetrialModel { max_in_system: 0, ..ok },
            RetrialModel { orbit_cap: 0, ..ok },
        ] {
            assert!(matches!(retrial_ctmc(&bad), Err(AnalyticError::InvalidParameter { .. })), "{bad:?}");
        }
        // No come-back: theta and the cap do not matter.
        assert!(retrial_ctmc(&RetrialModel { max_returns: 0, comeback_rate_per_s: 0.0, orbit_cap: 0, ..ok }).is_ok());
        assert!(matches!(
            retrial_ctmc(&RetrialModel { max_in_system: 30, ..ok }),
            Err(AnalyticError::StateSpaceTooLarge { limit: RETRIAL_CTMC_MAX_STATES })
        ));
    }
}
