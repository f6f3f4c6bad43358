//! The search of a simulation optimisation over integer-ordered knobs with constraints on noisy outputs:
//! COMPASS with a penalty function with memory.
//!
//! **Search.** COMPASS (Convergent Optimization via Most-Promising-Area Stochastic Search) is the method of
//! Hong, L. J. and Nelson, B. L. (2006), "Discrete optimization via simulation using COMPASS", *Operations
//! Research* 54(1):115–129. The decision space is a box of an integer lattice (each knob an index into its
//! values). At iteration `k` the visited solutions `V_k` have sample means, `x*_k` is the best of them, and
//! the *most promising area* is the set of lattice points at least as close to `x*_k` as to any other
//! visited solution,
//!
//! `C_k = {x ∈ Θ : ‖x − x*_k‖ ≤ ‖x − y‖ for all y ∈ V_k}`,
//!
//! an intersection of half-spaces `(y − x*)·x ≤ (‖y‖² − ‖x*‖²)/2`. New solutions are drawn from `C_k` by
//! coordinate sampling (a random coordinate at a time, uniformly over the integers its half-spaces and the
//! box allow, the Markov chain the paper uses in place of uniform sampling from a polytope). Because `C_k`
//! shrinks around `x*_k` as solutions are visited, the search is local: once every lattice neighbour of
//! `x*_k` (±1 on one knob) has been visited, `C_k = {x*_k}`. Before declaring a *local optimum* the search
//! also visits the exchanges (+1 on one knob, −1 on another; see [`neighbourhood`]), and stops when the best
//! has had its whole neighbourhood visited at two iterations in a row (the second after more replications).
//!
//! **Restarts.** A local optimum need not be the cheapest point: a non-convex feasible set has several, and
//! so has a convex one cut by the lattice (two pools whose servers trade against each other). As Industrial
//! Strength COMPASS (Xu, J., Nelson, B. L. and Hong, L. J. (2010), *ACM TOMACS* 20(1):3) runs local COMPASS
//! from several starting points, the search starts `restarts` further local searches from new uniform
//! draws; each keeps the data of every solution visited before and has its own most promising area. The
//! best of all is the best of their local optima.
//!
//! **Sample allocation.** Every solution in the active set (the best, its visited neighbours, the new
//! ones) has its replications raised at iteration `k` of its local search to `n₀ · ⌈1 + ln k⌉`. Hong and Nelson's convergence
//! needs the replications of the solutions that keep being compared to grow without bound; this rule
//! grows slowly, as their revised allocation does, so the search spends its runs near the optimum.
//!
//! **Constraints.** Each constraint asks a secondary output's mean to be at most (or at least) a threshold
//! with a tolerance `ε` (as in [`super::feasibility`]). They enter the search through the penalty function
//! with memory (PFM) of Park, C. and Kim, S.-H. (2015), "Penalty function with memory for discrete
//! optimization via simulation with stochastic constraints", *Operations Research* 63(5):1195–1212: the
//! search minimises
//!
//! `Z_k(x) = f̄(x) + λ_k(x) · Σ_ℓ max{0, v̄_ℓ(x)} / ε_ℓ`,
//!
//! with `v̄_ℓ` the sample mean's violation of constraint `ℓ` (in its unit, positive on the wrong side) and
//! `λ_k(x)` a penalty sequence kept per solution: each time a solution receives observations its
//! constraints are checked on their sample means, and `λ` is multiplied by `θ_a > 1` when one is violated,
//! by `θ_d < 1` when none is. The sequence diverges for an infeasible solution and vanishes for a feasible
//! one, so a feasible solution on the boundary (the usual place of a cheapest provisioning) is not
//! penalised for ever by its noise, which a fixed penalty would do. `λ₀` is the spread of the first
//! solutions' objectives, so that one tolerance of violation at first costs as much as the whole spread.
//!
//! The search promises no probability of having found the optimum: COMPASS converges, and PFM keeps that
//! convergence, only as the runs grow without bound. The statement with a stated confidence comes from the
//! clean-up its caller runs on the candidates (Boesel, J., Nelson, B. L. and Kim, S.-H. (2003), "Using
//! ranking and selection to 'clean up' after simulation optimization", *Operations Research*
//! 51(5):814–825): a feasibility check ([`super::feasibility`]) on fresh replications, and a selection
//! ([`super::kn`]) where the objective is noisy.

use super::feasibility::{Bound, Constraint};
use crate::engine::random::stream;
use rand::Rng;
use thiserror::Error;

/// The parameters of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct CompassSpec {
    /// The number of values of each knob: knob `i` takes indices `0..levels[i]`.
    pub levels: Vec<u64>,
    /// Constraints on the secondary outputs; a run reports one output per constraint, in this order.
    pub constraints: Vec<Constraint>,
    /// Replications of a newly visited solution (`n₀`, at least 2).
    pub first_stage: usize,
    /// Solutions drawn from the most promising area per iteration (`m`, at least 1).
    pub samples_per_iteration: usize,
    /// The solution the search starts from, besides `m` uniform draws from the box.
    pub start: Option<Vec<u64>>,
    /// The penalty's growth factor on a violation (`θ_a > 1`).
    pub penalty_increase: f64,
    /// The penalty's decay factor when the constraints hold (`0 < θ_d < 1`).
    pub penalty_decrease: f64,
    /// Local searches started afresh after the first reaches a local optimum: each begins from new uniform
    /// draws and keeps the data of every solution visited before. Local optima differ where the feasible set
    /// is not convex, or merely where the lattice cuts a convex one.
    pub restarts: usize,
    /// The seed of the search's draws.
    pub seed: u64,
}

impl CompassSpec {
    /// A spec with the defaults: `n₀ = 5`, `m = max(2, d)`, `θ_a = 2`, `θ_d = 1/2`, 4 restarts.
    pub fn new(levels: Vec<u64>, constraints: Vec<Constraint>, seed: u64) -> CompassSpec {
        let d = levels.len();
        CompassSpec {
            levels,
            constraints,
            first_stage: 5,
            samples_per_iteration: d.max(2),
            start: None,
            penalty_increase: 2.0,
            penalty_decrease: 0.5,
            restarts: 4,
            seed,
        }
    }
}

/// A parameter or a call the search refuses.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CompassError {
    /// No knob, or a knob without values.
    #[error("compass: every knob needs at least one value, and there must be at least one knob (found levels {0:?})")]
    Levels(Vec<u64>),
    /// `first_stage` below 2.
    #[error("compass: first_stage (n0) must be at least 2, found {0}")]
    FirstStage(usize),
    /// `samples_per_iteration` of 0.
    #[error("compass: samples_per_iteration (m) must be at least 1")]
    Samples,
    /// Penalty factors out of range.
    #[error("compass: penalty factors need increase > 1 and 0 < decrease < 1, found {increase} and {decrease}")]
    Penalty {
        /// `θ_a`.
        increase: f64,
        /// `θ_d`.
        decrease: f64,
    },
    /// A start outside the box.
    #[error("compass: the start {0:?} is outside the box of the knobs' levels")]
    Start(Vec<u64>),
    /// An observation for a run not asked for.
    #[error("compass: no run ({solution}, {replication}) was asked for in this batch")]
    NotRequested {
        /// Solution index.
        solution: usize,
        /// Replication.
        replication: usize,
    },
    /// An output that is not a finite number, or the wrong number of outputs.
    #[error("compass: run ({solution}, {replication}) reported {found:?}; expected an objective and {expected} constraint output(s), all finite")]
    Outputs {
        /// Solution index.
        solution: usize,
        /// Replication.
        replication: usize,
        /// What was reported (objective first).
        found: Vec<f64>,
        /// Constraint outputs expected.
        expected: usize,
    },
    /// `advance` before every run of the batch was recorded.
    #[error("compass: {missing} run(s) of the batch not recorded yet")]
    Incomplete {
        /// How many.
        missing: usize,
    },
}

/// One visited solution.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Its knob indices.
    pub point: Vec<u64>,
    /// Replications folded in.
    pub replications: usize,
    /// Σ of the objective's outputs.
    sum: f64,
    /// Σ of each constraint's outputs.
    sums: Vec<f64>,
    /// The penalty sequence's current value `λ(x)`.
    pub penalty: f64,
    /// The iteration at which it was first visited.
    pub visited_at: usize,
}

impl Solution {
    /// The objective's sample mean.
    pub fn objective(&self) -> f64 {
        self.sum / self.replications as f64
    }

    /// Each constraint output's sample mean.
    pub fn outputs(&self) -> Vec<f64> {
        self.sums.iter().map(|s| s / self.replications as f64).collect()
    }
}

/// Why a search ended, or that it goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// More runs are wanted: see [`Compass::next_batch`].
    Searching,
    /// Every local search ended at a local optimum: every neighbour of its best (see [`neighbourhood`])
    /// visited, at two iterations in a row.
    LocalOptimum,
}

/// A run the search asks for: replication `replication` of solution `solution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Run {
    /// Index of the solution in the order of visit.
    pub solution: usize,
    /// Replication index.
    pub replication: usize,
}

/// The neighbours of `x` in the box of `levels`: ±1 on one knob, then the exchanges (+1 on knob `i`, −1
/// on knob `j`). The local-optimum test looks at both. COMPASS's own area shrinks to the best point once its
/// ±1 neighbours are visited, but in an allocation (servers moved from one pool to another) the cheaper
/// point is often one exchange away, which the ±1 neighbourhood cannot see.
pub fn neighbourhood(x: &[u64], levels: &[u64]) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let d = levels.len();
    for i in 0..d {
        if x[i] > 0 {
            let mut y = x.to_vec();
            y[i] -= 1;
            out.push(y);
        }
        if x[i] + 1 < levels[i] {
            let mut y = x.to_vec();
            y[i] += 1;
            out.push(y);
        }
    }
    for i in 0..d {
        for j in 0..d {
            if i != j && x[i] + 1 < levels[i] && x[j] > 0 {
                let mut y = x.to_vec();
                y[i] += 1;
                y[j] -= 1;
                out.push(y);
            }
        }
    }
    out
}

/// A COMPASS search in progress: a state machine fed by its caller, like [`super::kn::Kn`].
#[derive(Debug, Clone)]
pub struct Compass {
    spec: CompassSpec,
    solutions: Vec<Solution>,
    /// The runs asked for, sorted by (solution, replication), with their outputs as they arrive.
    batch: Vec<(Run, Option<Vec<f64>>)>,
    iteration: usize,
    best: Option<usize>,
    /// Consecutive iterations at which the best's neighbourhood was fully visited.
    closed: usize,
    /// The solutions of the current local search (a restart starts a new set; data are shared).
    members: Vec<usize>,
    /// The local optima of the finished local searches.
    optima: Vec<usize>,
    /// The iteration at which the current local search began.
    began_at: usize,
    status: Status,
    rng: crate::engine::random::StreamRng,
    lambda0: Option<f64>,
}

impl Compass {
    /// A search checked against its parameters, with its first solutions drawn and waiting for runs.
    pub fn new(spec: CompassSpec) -> Result<Compass, CompassError> {
        if spec.levels.is_empty() || spec.levels.contains(&0) {
            return Err(CompassError::Levels(spec.levels.clone()));
        }
        if spec.first_stage < 2 {
            return Err(CompassError::FirstStage(spec.first_stage));
        }
        if spec.samples_per_iteration == 0 {
            return Err(CompassError::Samples);
        }
        if !(spec.penalty_increase > 1.0 && spec.penalty_decrease > 0.0 && spec.penalty_decrease < 1.0) {
            return Err(CompassError::Penalty { increase: spec.penalty_increase, decrease: spec.penalty_decrease });
        }
        if let Some(s) = &spec.start {
            if s.len() != spec.levels.len() || s.iter().zip(&spec.levels).any(|(x, n)| x >= n) {
                return Err(CompassError::Start(s.clone()));
            }
        }
        let rng = stream(spec.seed, 0, "decide/compass");
        let mut c = Compass {
            spec,
            solutions: Vec::new(),
            batch: Vec::new(),
            iteration: 0,
            best: None,
            closed: 0,
            members: Vec::new(),
            optima: Vec::new(),
            began_at: 0,
            status: Status::Searching,
            rng,
            lambda0: None,
        };
        if let Some(s) = c.spec.start.clone() {
            let i = c.visit(s);
            c.members.push(i);
        }
        c.begin();
        Ok(c)
    }

    /// Starts a local search: `m` uniform draws from the box (the whole box is the first most promising
    /// area), visited or not, as its members.
    fn begin(&mut self) {
        let size: f64 = self.spec.levels.iter().map(|&n| n as f64).product();
        let wanted = self.members.len() + self.spec.samples_per_iteration.min(size as usize);
        let mut attempts = 0;
        while self.members.len() < wanted && attempts < 100 * wanted {
            attempts += 1;
            let x: Vec<u64> = self.spec.levels.clone().into_iter().map(|n| self.rng.random_range(0..n)).collect();
            let i = self.visit(x);
            if !self.members.contains(&i) {
                self.members.push(i);
            }
        }
        let members = self.members.clone();
        self.ask(&members, self.spec.first_stage);
    }

    /// Adds `x` to the visited solutions unless it is one already; returns its index.
    fn visit(&mut self, x: Vec<u64>) -> usize {
        if let Some(i) = self.solutions.iter().position(|s| s.point == x) {
            return i;
        }
        let k = self.spec.constraints.len();
        self.solutions.push(Solution {
            point: x,
            replications: 0,
            sum: 0.0,
            sums: vec![0.0; k],
            penalty: f64::NAN,
            visited_at: self.iteration,
        });
        self.solutions.len() - 1
    }

    /// Asks for the replications that bring each of `solutions` to `n`.
    fn ask(&mut self, solutions: &[usize], n: usize) {
        for &s in solutions {
            for replication in self.solutions[s].replications..n {
                self.batch.push((Run { solution: s, replication }, None));
            }
        }
        self.batch.sort_by_key(|(r, _)| *r);
        self.batch.dedup_by_key(|(r, _)| *r);
    }

    /// The runs wanted now, sorted by solution then replication; empty once the search has ended.
    pub fn next_batch(&self) -> Vec<Run> {
        self.batch.iter().map(|(r, _)| *r).collect()
    }

    /// Records a run of the batch: its objective output, then one output per constraint.
    pub fn record(&mut self, solution: usize, replication: usize, objective: f64, outputs: &[f64]) -> Result<(), CompassError> {
        let run = Run { solution, replication };
        let at = self.batch.binary_search_by(|(r, _)| r.cmp(&run)).map_err(|_| CompassError::NotRequested { solution, replication })?;
        let all: Vec<f64> = std::iter::once(objective).chain(outputs.iter().copied()).collect();
        if outputs.len() != self.spec.constraints.len() || all.iter().any(|v| !v.is_finite()) || self.batch[at].1.is_some() {
            return Err(CompassError::Outputs { solution, replication, found: all, expected: self.spec.constraints.len() });
        }
        self.batch[at].1 = Some(all);
        Ok(())
    }

    /// Folds the batch in, updates the penalties, takes the best, and draws the next solutions; returns
    /// whether the search goes on.
    pub fn advance(&mut self) -> Result<Status, CompassError> {
        if self.status != Status::Searching {
            return Ok(self.status);
        }
        let missing = self.batch.iter().filter(|(_, v)| v.is_none()).count();
        if missing > 0 {
            return Err(CompassError::Incomplete { missing });
        }
        let mut touched = Vec::new();
        for (run, values) in std::mem::take(&mut self.batch) {
            let values = values.expect("checked complete above");
            let s = &mut self.solutions[run.solution];
            s.replications += 1;
            s.sum += values[0];
            for (a, v) in s.sums.iter_mut().zip(&values[1..]) {
                *a += v;
            }
            touched.push(run.solution);
        }
        touched.dedup();
        if self.lambda0.is_none() {
            // λ₀: the spread of the first solutions' objectives (1 when they all agree).
            let objectives: Vec<f64> = self.solutions.iter().map(Solution::objective).collect();
            let spread =
                objectives.iter().copied().fold(f64::NEG_INFINITY, f64::max) - objectives.iter().copied().fold(f64::INFINITY, f64::min);
            self.lambda0 = Some(if spread > 0.0 { spread } else { 1.0 });
        }
        let lambda0 = self.lambda0.expect("set above");
        // PFM's memory: each check of a solution's constraints moves its penalty up or down.
        for &s in &touched {
            let violated = self.violations(s).iter().any(|&v| v > 0.0);
            let sol = &mut self.solutions[s];
            let previous = if sol.penalty.is_nan() { lambda0 } else { sol.penalty };
            sol.penalty = previous * if violated { self.spec.penalty_increase } else { self.spec.penalty_decrease };
        }
        self.iteration += 1;
        let by_z = |c: &Compass, a: usize, b: usize| c.penalised(a).total_cmp(&c.penalised(b)).then(a.cmp(&b));
        self.best = (0..self.solutions.len()).min_by(|&a, &b| by_z(self, a, b));
        let best = self.members.iter().copied().min_by(|&a, &b| by_z(self, a, b)).expect("a local search has members");
        let neighbours = self.neighbours(best);
        // A neighbour another local search visited joins this one with its data.
        let mut visited_neighbours = Vec::new();
        let mut unvisited = Vec::new();
        for x in neighbours {
            match self.solutions.iter().position(|s| s.point == x) {
                Some(i) => {
                    if !self.members.contains(&i) {
                        self.members.push(i);
                    }
                    visited_neighbours.push(i);
                }
                None => unvisited.push(x),
            }
        }
        let mut fresh = Vec::new();
        if unvisited.is_empty() {
            self.closed += 1;
            if self.closed >= 2 {
                self.optima.push(best);
                if self.optima.len() > self.spec.restarts {
                    self.status = Status::LocalOptimum;
                    return Ok(self.status);
                }
                // A restart: a new local search from new draws, the visited solutions' data kept.
                self.closed = 0;
                self.members.clear();
                self.began_at = self.iteration;
                self.begin();
                return Ok(self.status);
            }
        } else {
            self.closed = 0;
            fresh = self.draw(best, &unvisited);
            self.members.extend(fresh.iter().copied());
        }
        // The allocation counts the iterations of this local search: a restart begins with few replications.
        let local = (self.iteration - self.began_at).max(1);
        let n = self.spec.first_stage * (1.0 + (local as f64).ln()).ceil() as usize;
        let mut active = vec![best];
        active.extend(visited_neighbours);
        self.ask(&active, n);
        self.ask(&fresh, self.spec.first_stage);
        Ok(self.status)
    }

    /// Each constraint's violation by the solution's sample means, in its unit (positive on the wrong side).
    fn violations(&self, s: usize) -> Vec<f64> {
        self.solutions[s]
            .outputs()
            .iter()
            .zip(&self.spec.constraints)
            .map(|(y, c)| match c.bound {
                Bound::AtMost => y - c.threshold,
                Bound::AtLeast => c.threshold - y,
            })
            .collect()
    }

    /// `Z_k(x)`: the objective's mean plus the penalty of the violations, in tolerances.
    pub fn penalised(&self, s: usize) -> f64 {
        let sol = &self.solutions[s];
        let excess: f64 = self.violations(s).iter().zip(&self.spec.constraints).map(|(v, c)| v.max(0.0) / c.tolerance).sum();
        let penalty = if sol.penalty.is_nan() { self.lambda0.unwrap_or(1.0) } else { sol.penalty };
        sol.objective() + if excess > 0.0 { penalty * excess } else { 0.0 }
    }

    /// The neighbours of a solution inside the box: ±1 on one knob, and the exchanges (+1 on one knob, −1
    /// on another).
    fn neighbours(&self, s: usize) -> Vec<Vec<u64>> {
        neighbourhood(&self.solutions[s].point, &self.spec.levels)
    }

    /// Draws up to `m` unvisited solutions from the most promising area around `best` by coordinate
    /// sampling; falls back on the unvisited neighbours (which are always in the area) when the draws keep
    /// landing on visited solutions.
    fn draw(&mut self, best: usize, unvisited_neighbours: &[Vec<u64>]) -> Vec<usize> {
        let centre = self.solutions[best].point.clone();
        let centre_f: Vec<f64> = centre.iter().map(|&v| v as f64).collect();
        let norm2 = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
        // Half-spaces a·x ≤ b, one per other visited solution.
        let halfspaces: Vec<(Vec<f64>, f64)> = self
            .members
            .iter()
            .filter(|&&i| i != best)
            .map(|&i| {
                let y: Vec<f64> = self.solutions[i].point.iter().map(|&v| v as f64).collect();
                let a: Vec<f64> = y.iter().zip(&centre_f).map(|(y, c)| y - c).collect();
                (a, (norm2(&y) - norm2(&centre_f)) / 2.0)
            })
            .collect();
        let d = self.spec.levels.len();
        let steps = 5 * d;
        let mut fresh = Vec::new();
        let mut attempts = 0;
        while fresh.len() < self.spec.samples_per_iteration && attempts < 20 * self.spec.samples_per_iteration {
            attempts += 1;
            let mut x: Vec<i64> = centre.iter().map(|&v| v as i64).collect();
            for _ in 0..steps {
                let i = self.rng.random_range(0..d);
                let (mut lo, mut hi) = (-x[i], self.spec.levels[i] as i64 - 1 - x[i]);
                for (a, b) in &halfspaces {
                    if a[i] == 0.0 {
                        continue;
                    }
                    let slack = b - a.iter().zip(&x).map(|(a, &x)| a * x as f64).sum::<f64>();
                    // A small allowance keeps points on the bisecting plane (ties) inside, as ≤ says.
                    let t = slack / a[i];
                    if a[i] > 0.0 {
                        hi = hi.min((t + 1e-9).floor() as i64);
                    } else {
                        lo = lo.max((t - 1e-9).ceil() as i64);
                    }
                }
                if lo < hi {
                    x[i] += self.rng.random_range(lo..=hi);
                } else if lo == hi {
                    x[i] += lo;
                }
            }
            let x: Vec<u64> = x.iter().map(|&v| v as u64).collect();
            if !self.solutions.iter().any(|s| s.point == x) {
                fresh.push(self.visit(x));
            }
        }
        for x in unvisited_neighbours {
            if fresh.len() >= self.spec.samples_per_iteration {
                break;
            }
            if !self.solutions.iter().any(|s| &s.point == x) {
                fresh.push(self.visit(x.clone()));
            }
        }
        fresh
    }

    /// The visited solutions, in the order of visit.
    pub fn solutions(&self) -> &[Solution] {
        &self.solutions
    }

    /// The local optima of the local searches finished so far.
    pub fn local_optima(&self) -> &[usize] {
        &self.optima
    }

    /// The current best of every solution visited (by the penalised objective), once a batch has been
    /// folded in.
    pub fn best(&self) -> Option<usize> {
        self.best
    }

    /// The iterations completed.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The runs folded in, over all solutions.
    pub fn runs_spent(&self) -> usize {
        self.solutions.iter().map(|s| s.replications).sum()
    }

    /// Whether a solution's sample means meet every constraint.
    pub fn looks_feasible(&self, s: usize) -> bool {
        self.violations(s).iter().all(|&v| v <= 0.0)
    }

    /// The parameters.
    pub fn spec(&self) -> &CompassSpec {
        &self.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::testing::{binomial_margin, standard_normal};

    /// Runs a search on `f(x) = (objective, constraint outputs)` with normal noise of `sd` on the
    /// constraint outputs, up to `budget` runs; returns the best and the runs spent.
    fn search(spec: CompassSpec, budget: usize, sd: f64, f: impl Fn(&[u64]) -> (f64, Vec<f64>), seed: u64) -> (Vec<u64>, usize, Status) {
        let mut c = Compass::new(spec).unwrap();
        let mut noise = stream(seed, 0, "test/noise");
        loop {
            let batch = c.next_batch();
            if c.runs_spent() + batch.len() > budget {
                break;
            }
            for r in batch {
                let (obj, g) = f(&c.solutions()[r.solution].point);
                let g: Vec<f64> = g.iter().map(|v| v + sd * standard_normal(&mut noise)).collect();
                c.record(r.solution, r.replication, obj, &g).unwrap();
            }
            if c.advance().unwrap() != Status::Searching {
                break;
            }
        }
        let b = c.best().unwrap();
        (c.solutions()[b].point.clone(), c.runs_spent(), c.status())
    }

    #[test]
    fn finds_the_minimum_of_a_separable_convex_function_without_constraints() {
        // (x − 13)² + (y − 4)², on a 30 × 20 lattice: the minimum is (13, 4), a local optimum is global.
        let f = |x: &[u64]| ((x[0] as f64 - 13.0).powi(2) + (x[1] as f64 - 4.0).powi(2), vec![]);
        for seed in 1..=10 {
            let (best, runs, status) = search(CompassSpec::new(vec![30, 20], vec![], seed), 100_000, 0.0, f, seed);
            assert_eq!(best, vec![13, 4], "seed {seed}");
            assert_eq!(status, Status::LocalOptimum);
            assert!(runs < 600 * 5, "seed {seed}: {runs} runs, more than the grid's 600 points × n0");
        }
    }

    /// min 3a + 2b subject to a·b ≥ 60 (a, b = index + 1 in 1..=30): a non-convex feasible set, with local
    /// optima (e.g. a = 7, b = 9 and a = 5, b = 12, both of cost 39) beside the global one (6, 10; 38).
    fn product(x: &[u64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0] as f64 + 1.0, x[1] as f64 + 1.0);
        (3.0 * a + 2.0 * b, vec![a * b])
    }

    /// min 3a + 2b subject to 100/a + 60/b ≤ 20 (a, b = index + 1): a separable convex constraint, the shape of
    /// a wait against servers in two pools.
    fn allocation(x: &[u64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0] as f64 + 1.0, x[1] as f64 + 1.0);
        (3.0 * a + 2.0 * b, vec![100.0 / a + 60.0 / b])
    }

    /// Every point of the 30 × 30 lattice that is feasible and no cheaper than none of its feasible
    /// neighbours: the local optima, by enumeration.
    fn local_optima(f: impl Fn(&[u64]) -> (f64, Vec<f64>), feasible: impl Fn(&[f64]) -> bool) -> Vec<(Vec<u64>, f64)> {
        let levels = [30, 30];
        let mut out = Vec::new();
        for a in 0..30 {
            for b in 0..30 {
                let (cost, g) = f(&[a, b]);
                if !feasible(&g) {
                    continue;
                }
                let better = neighbourhood(&[a, b], &levels).iter().any(|y| {
                    let (c, g) = f(y);
                    feasible(&g) && c < cost
                });
                if !better {
                    out.push((vec![a, b], cost));
                }
            }
        }
        out
    }

    #[test]
    fn on_a_non_convex_set_every_search_ends_at_a_true_local_optimum() {
        let at_least = |g: &[f64]| g[0] >= 60.0;
        let optima = local_optima(product, at_least);
        assert!(optima.iter().any(|(x, c)| x == &vec![5, 9] && *c == 38.0), "{optima:?}");
        let constraints = vec![Constraint { threshold: 60.0, tolerance: 2.0, bound: Bound::AtLeast }];
        for seed in 1..=20 {
            let mut spec = CompassSpec::new(vec![30, 30], constraints.clone(), seed);
            spec.samples_per_iteration = 4;
            let (best, _, status) = search(spec, 50_000, 0.0, product, seed);
            assert_eq!(status, Status::LocalOptimum, "seed {seed}");
            assert!(optima.iter().any(|(x, _)| x == &best), "seed {seed}: {best:?} is not a local optimum");
        }
    }

    #[test]
    fn on_a_separable_convex_allocation_it_finds_the_cheapest_point_noise_free_and_noisy() {
        let at_most = |g: &[f64]| g[0] <= 20.0;
        let optima = local_optima(allocation, at_most);
        // The lattice cuts the convex set: three local optima, a = b = 8 the cheapest (cost 40; indices 7, 7),
        // beside a = 7, b = 11 (43) and a = 6, b = 18 (54).
        let optimum = vec![7, 7];
        assert_eq!(
            optima.iter().map(|(x, _)| x.clone()).collect::<Vec<_>>(),
            vec![vec![5, 17], vec![6, 10], optimum.clone()],
            "{optima:?}"
        );
        let constraints = vec![Constraint { threshold: 20.0, tolerance: 0.5, bound: Bound::AtMost }];
        // With its restarts, the search must end at the optimum in at least three searches of four, noise-free
        // and with noise of sd 1 (two tolerances) on each run's constraint output, and spend fewer runs than
        // a grid at n0 replications per point.
        let trials = 40;
        for sd in [0.0, 1.0] {
            let mut exact = 0;
            for seed in 1..=trials {
                let (best, runs, _) = search(CompassSpec::new(vec![30, 30], constraints.clone(), seed), 50_000, sd, allocation, 500 + seed);
                exact += usize::from(best == optimum);
                assert!(runs < 900 * 5, "sd {sd}, seed {seed}: {runs} runs, more than the grid's 900 points × n0");
            }
            let share = exact as f64 / trials as f64;
            assert!(share >= 0.75 - binomial_margin(0.75, trials as usize), "sd {sd}: the optimum in {exact} of {trials} searches");
        }
    }

    #[test]
    fn refuses_bad_parameters_and_runs_not_asked_for() {
        assert!(matches!(Compass::new(CompassSpec::new(vec![], vec![], 1)), Err(CompassError::Levels(_))));
        assert!(matches!(Compass::new(CompassSpec::new(vec![3, 0], vec![], 1)), Err(CompassError::Levels(_))));
        let mut spec = CompassSpec::new(vec![3], vec![], 1);
        spec.first_stage = 1;
        assert_eq!(Compass::new(spec).unwrap_err(), CompassError::FirstStage(1));
        let mut spec = CompassSpec::new(vec![3], vec![], 1);
        spec.start = Some(vec![3]);
        assert_eq!(Compass::new(spec).unwrap_err(), CompassError::Start(vec![3]));
        let mut c = Compass::new(CompassSpec::new(vec![3], vec![], 1)).unwrap();
        assert!(matches!(c.record(99, 0, 1.0, &[]), Err(CompassError::NotRequested { .. })));
        let r = c.next_batch()[0];
        assert!(matches!(c.record(r.solution, r.replication, f64::NAN, &[]), Err(CompassError::Outputs { .. })));
        assert!(matches!(c.advance(), Err(CompassError::Incomplete { .. })));
    }

    #[test]
    fn the_same_seed_and_outputs_give_the_same_search() {
        let constraints = vec![Constraint { threshold: 60.0, tolerance: 2.0, bound: Bound::AtLeast }];
        let a = search(CompassSpec::new(vec![30, 30], constraints.clone(), 7), 5_000, 3.0, product, 3);
        let b = search(CompassSpec::new(vec![30, 30], constraints, 7), 5_000, 3.0, product, 3);
        assert_eq!(a, b);
    }
}
