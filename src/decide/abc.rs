//! Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC): the posterior of a simulator's
//! unknown parameters given observations, when the likelihood cannot be written down.
//!
//! Rejection ABC keeps the parameter draws whose simulated summaries fall within a tolerance `ε` of the
//! observed ones; as `ε → 0` the kept draws follow the posterior. Sequential Monte Carlo reaches a small `ε`
//! without drawing from the prior for ever: each generation proposes from the previous one's particles,
//! perturbed by a kernel, and corrects by importance weights. This module is the population Monte Carlo
//! scheme of:
//!
//! - Lenormand, M., Jabot, F. and Deffuant, G. (2013), "Adaptive approximate Bayesian computation for
//!   complex models", *Computational Statistics* 28(6):2777–2796 (APMC): the tolerance schedule is
//!   adaptive (each `ε` is the `keep`-quantile of the current population's distances), each generation is a
//!   fixed batch of `N − N_keep` new simulations (so it runs as one parallel batch), and the procedure
//!   stops when the share of new particles closer than the previous tolerance falls to `min_acceptance`;
//! - Beaumont, M. A., Cornuet, J.-M., Marin, J.-M. and Robert, C. P. (2009), "Adaptive approximate
//!   Bayesian computation", *Biometrika* 96(4):983–990: the perturbation kernel is Gaussian with twice the
//!   population's weighted variance (adaptive), and a new particle's importance weight is
//!   `π(θ) / Σ_j w_j K(θ | θ_j)`, which makes the weighted population a sample of the ABC posterior at `ε`.
//!
//! The kernel here is a product of one-dimensional normals, each truncated to its parameter's bounds (every
//! prior is bounded), and the weights use the truncated kernel's exact density, so no proposal is wasted
//! outside the prior's support and none is mis-weighted near a bound. The effective sample size of a
//! population is Kish's `(Σw)² / Σw²`.
//!
//! **Parameters.** A log-uniform prior is handled in the logarithm of its parameter, where it is uniform, so
//! the kernel's steps are relative. An integer parameter is a continuous latent value rounded when applied
//! (its bounds widened by one half so that every integer of the range has the same prior mass under a
//! uniform prior).
//!
//! **Determinism.** Proposals of generation `t` draw from the stream `(seed, t, "decide/abc")` and depend
//! only on the distances fed back, so a calibration is reproduced exactly from its seed, whatever the
//! number of threads or the order in which runs finished.

use super::quantile_sorted;
use crate::engine::random::stream;
use rand::Rng;
use statrs::distribution::{ContinuousCDF, Normal};
use thiserror::Error;

/// A specification refused, naming what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AbcError {
    /// A parameter's prior is impossible.
    #[error("parameter {name}: {message}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A setting of the procedure is out of range.
    #[error("{field} = {found}: expected {expected}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// Its value.
        found: String,
        /// What it must be.
        expected: String,
    },
    /// Distances fed back do not match the pending proposals.
    #[error("{0}")]
    Feedback(String),
}

/// A prior distribution; every prior is bounded by its parameter's `min` and `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prior {
    /// Uniform on `[min, max]`.
    Uniform,
    /// Uniform in the logarithm on `[min, max]` (`min > 0`): every order of magnitude equally likely.
    LogUniform,
    /// Normal of this mean and standard deviation, truncated to `[min, max]`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        sd: f64,
    },
}

/// An unknown parameter and its prior.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Its name (a dotted path of the scenario).
    pub name: String,
    /// Its prior.
    pub prior: Prior,
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Applied as an integer (rounded).
    pub integer: bool,
}

impl Parameter {
    /// Checks the prior: finite bounds with `min < max`, a positive `min` for a log-uniform prior, a
    /// positive standard deviation for a normal one.
    pub fn check(&self) -> Result<(), AbcError> {
        let err = |message: String| Err(AbcError::Parameter { name: self.name.clone(), message });
        if !(self.min.is_finite() && self.max.is_finite() && self.min < self.max) {
            return err(format!("bounds min = {}, max = {}: expected finite bounds with min < max", self.min, self.max));
        }
        if self.integer && self.max - self.min > 9.0e15 {
            return err("an integer range wider than 2^53, where a float no longer holds every integer".into());
        }
        match self.prior {
            Prior::LogUniform if self.min <= 0.0 || (self.integer && self.min < 1.0) => {
                err(format!("log-uniform prior with min = {}: expected min > 0 (at least 1 for an integer)", self.min))
            }
            Prior::Normal { mean, sd } if !(mean.is_finite() && sd.is_finite() && sd > 0.0) => {
                err(format!("normal prior with mean = {mean}, sd = {sd}: expected a finite mean and sd > 0"))
            }
            _ => Ok(()),
        }
    }

    /// The bounds of the working coordinate (the logarithm for a log-uniform prior; widened by one half
    /// for an integer).
    fn working_bounds(&self) -> (f64, f64) {
        let (lo, hi) = if self.integer { (self.min - 0.5, self.max + 0.5) } else { (self.min, self.max) };
        match self.prior {
            Prior::LogUniform => (lo.ln(), hi.ln()),
            _ => (lo, hi),
        }
    }

    /// The parameter's value at working coordinate `x`: as applied to the scenario (rounded and clamped
    /// for an integer).
    pub fn value(&self, x: f64) -> f64 {
        let v = match self.prior {
            Prior::LogUniform => x.exp(),
            _ => x,
        };
        if self.integer {
            v.round().clamp(self.min, self.max)
        } else {
            v.clamp(self.min, self.max)
        }
    }

    /// The prior density at working coordinate `x`, up to a constant (which the normalised weights do not
    /// see).
    fn density(&self, x: f64) -> f64 {
        let (lo, hi) = self.working_bounds();
        if !(lo..=hi).contains(&x) {
            return 0.0;
        }
        match self.prior {
            Prior::Uniform | Prior::LogUniform => 1.0,
            Prior::Normal { mean, sd } => {
                let z = (self.value_continuous(x) - mean) / sd;
                (-0.5 * z * z).exp()
            }
        }
    }

    fn value_continuous(&self, x: f64) -> f64 {
        match self.prior {
            Prior::LogUniform => x.exp(),
            _ => x,
        }
    }

    /// A draw of the working coordinate from the prior.
    fn sample(&self, rng: &mut impl Rng) -> f64 {
        let (lo, hi) = self.working_bounds();
        match self.prior {
            Prior::Uniform | Prior::LogUniform => lo + (hi - lo) * rng.random::<f64>(),
            Prior::Normal { mean, sd } => truncated_normal(mean, sd, lo, hi, rng),
        }
    }
}

/// The standard normal.
fn standard() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal")
}

/// A draw of `N(mean, sd²)` truncated to `[lo, hi]`, by inverting the distribution function between the
/// bounds' probabilities (taken in the upper tail's complement when both bounds are far above the mean,
/// where `Φ` would round to 1).
fn truncated_normal(mean: f64, sd: f64, lo: f64, hi: f64, rng: &mut impl Rng) -> f64 {
    let n = standard();
    let (a, b) = ((lo - mean) / sd, (hi - mean) / sd);
    let u: f64 = rng.random();
    let z = if a > 0.0 {
        // Mirror: draw −z in [−b, −a], below the mean, where the probabilities keep their precision.
        let (pa, pb) = (n.cdf(-b), n.cdf(-a));
        -n.inverse_cdf((pa + u * (pb - pa)).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON))
    } else {
        let (pa, pb) = (n.cdf(a), n.cdf(b));
        n.inverse_cdf((pa + u * (pb - pa)).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON))
    };
    (mean + sd * z).clamp(lo, hi)
}

/// The mass of `N(mean, sd²)` inside `[lo, hi]`.
fn normal_mass(mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
    let n = standard();
    let (a, b) = ((lo - mean) / sd, (hi - mean) / sd);
    if a > 0.0 {
        n.cdf(-a) - n.cdf(-b)
    } else {
        n.cdf(b) - n.cdf(a)
    }
}

/// The procedure's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbcSpec {
    /// Particles per population `N` (the first generation draws `N` from the prior).
    pub particles: usize,
    /// The share `α` of the population kept each generation: the tolerance is its quantile of distances,
    /// and each later generation simulates `N − ⌊αN⌋` new particles.
    pub keep: f64,
    /// Stop when the share of a generation's new particles closer than the previous tolerance is at most
    /// this (Lenormand et al.'s `p_acc_min`).
    pub min_acceptance: f64,
    /// Stop when a generation shrinks the tolerance by less than this share of it: with a stochastic
    /// simulator the distance has a floor (two runs at the same parameters differ), and a tolerance at it
    /// stops shrinking while the acceptance stays high, each generation only wearing the population's
    /// effective size down (the relative-decrease criterion of pyABC: Klinger, Rickert and Hasenauer 2018,
    /// "pyABC: distributed, likelihood-free inference", *Bioinformatics* 34(20):3591–3593). 0 disables it.
    pub min_epsilon_drop: f64,
    /// Stop after this many generations whatever the acceptance (the first included).
    pub max_generations: usize,
    /// Seed of the proposals.
    pub seed: u64,
}

impl AbcSpec {
    /// The particles kept each generation, `⌊αN⌋` (at least 2, so that a variance exists).
    pub fn kept(&self) -> usize {
        ((self.keep * self.particles as f64).floor() as usize).max(2)
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<(), AbcError> {
        let setting =
            |field: &'static str, found: String, expected: &str| Err(AbcError::Setting { field, found, expected: expected.into() });
        if !(4..=1_000_000).contains(&self.particles) {
            return setting("particles", self.particles.to_string(), "an integer from 4 to 1,000,000");
        }
        if !(self.keep > 0.0 && self.keep < 1.0) || self.kept() >= self.particles {
            return setting(
                "keep",
                self.keep.to_string(),
                "a share in (0, 1) that keeps at least 2 particles and leaves at least one to simulate",
            );
        }
        if !(0.0..1.0).contains(&self.min_acceptance) {
            return setting("min_acceptance", self.min_acceptance.to_string(), "a share in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.min_epsilon_drop) {
            return setting("min_epsilon_drop", self.min_epsilon_drop.to_string(), "a share in [0, 1)");
        }
        if !(1..=1000).contains(&self.max_generations) {
            return setting("max_generations", self.max_generations.to_string(), "an integer from 1 to 1000");
        }
        Ok(())
    }
}

/// A particle waiting for its simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Its number, counted over the whole procedure from 0 (a run's configuration index).
    pub id: usize,
    /// The generation that proposed it.
    pub generation: usize,
    /// Working coordinates (see [`Parameter::value`] for the values applied).
    pub theta: Vec<f64>,
    /// Its importance weight (unnormalised).
    pub weight: f64,
}

/// A simulated particle.
#[derive(Debug, Clone, PartialEq)]
pub struct Particle {
    /// The proposal it was.
    pub proposal: Proposal,
    /// The distance of its simulation to the observations.
    pub distance: f64,
    /// Its place among particles at the same distance (a draw keyed by its number): ties at the tolerance
    /// are broken at random, not in favour of older particles.
    tie: u64,
}

/// What one generation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Its index, from 0.
    pub index: usize,
    /// Simulations it ran.
    pub simulated: usize,
    /// The tolerance after it: the distance of the last particle kept.
    pub epsilon: f64,
    /// The share of its new particles closer than the previous tolerance (1 for the first generation).
    pub acceptance: f64,
    /// Particles kept.
    pub kept: usize,
    /// The kept population's effective sample size.
    pub ess: f64,
}

/// Why the procedure stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The acceptance fell to `min_acceptance`: the tolerance no longer shrinks for the runs spent.
    Converged,
    /// The tolerance shrank by less than `min_epsilon_drop`: it has reached the simulator's noise.
    Stalled,
    /// `max_generations` were run.
    MaxGenerations,
}

/// The state of the procedure after feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// New proposals are pending.
    Running,
    /// Finished; the population is the posterior sample.
    Done(Stop),
}

/// ABC-SMC, as a state machine: take [`Abc::pending`], simulate each, feed the distances back to
/// [`Abc::observe`] in the same order, until it is done.
#[derive(Debug, Clone)]
pub struct Abc {
    params: Vec<Parameter>,
    spec: AbcSpec,
    pending: Vec<Proposal>,
    population: Vec<Particle>,
    generations: Vec<Generation>,
    next_id: usize,
    stop: Option<Stop>,
}

impl Abc {
    /// Starts the procedure: the first generation's `N` proposals are drawn from the prior.
    pub fn new(params: Vec<Parameter>, spec: AbcSpec) -> Result<Abc, AbcError> {
        spec.check()?;
        if params.is_empty() {
            return Err(AbcError::Setting { field: "parameters", found: "none".into(), expected: "at least one parameter".into() });
        }
        for p in &params {
            p.check()?;
        }
        let mut rng = stream(spec.seed, 0, "decide/abc");
        let pending = (0..spec.particles)
            .map(|id| Proposal { id, generation: 0, theta: params.iter().map(|p| p.sample(&mut rng)).collect(), weight: 1.0 })
            .collect();
        Ok(Abc { params, spec, pending, population: Vec::new(), generations: Vec::new(), next_id: spec.particles, stop: None })
    }

    /// The parameters.
    pub fn parameters(&self) -> &[Parameter] {
        &self.params
    }

    /// The settings.
    pub fn spec(&self) -> &AbcSpec {
        &self.spec
    }

    /// The proposals to simulate next (empty once done).
    pub fn pending(&self) -> &[Proposal] {
        &self.pending
    }

    /// The values a proposal's parameters take in the scenario.
    pub fn values(&self, theta: &[f64]) -> Vec<f64> {
        self.params.iter().zip(theta).map(|(p, &x)| p.value(x)).collect()
    }

    /// The current population: after the last generation, the posterior sample with its weights.
    pub fn population(&self) -> &[Particle] {
        &self.population
    }

    /// What each generation did.
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }

    /// Why it stopped, once done.
    pub fn stop(&self) -> Option<Stop> {
        self.stop
    }

    /// Feeds back the distances of the pending proposals, in their order; keeps the closest particles,
    /// sets the next tolerance, and proposes the next generation unless the procedure stops.
    pub fn observe(&mut self, distances: &[f64]) -> Result<Status, AbcError> {
        self.observe_with(distances, None)
    }

    /// [`Abc::observe`] under a distance that changed with this generation (an adaptive distance, whose
    /// scales are re-estimated from each generation's simulations: Prangle 2017, "Adapting the ABC distance
    /// function", *Bayesian Analysis* 12(1):289–309): `population` gives the current population's distances
    /// under the new distance, in [`Abc::population`]'s order. The previous tolerance, against which the
    /// acceptance and the tolerance's decrease are judged, is then the largest of them, the old population's
    /// tolerance under the new distance.
    pub fn observe_with(&mut self, distances: &[f64], population: Option<&[f64]>) -> Result<Status, AbcError> {
        if let Some(stop) = self.stop {
            return Ok(Status::Done(stop));
        }
        if let Some(pop) = population {
            if pop.len() != self.population.len() {
                return Err(AbcError::Feedback(format!("{} distances for a population of {}", pop.len(), self.population.len())));
            }
            if let Some(d) = pop.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
                return Err(AbcError::Feedback(format!("distance {d}: expected a finite distance >= 0")));
            }
            for (p, &d) in self.population.iter_mut().zip(pop) {
                p.distance = d;
            }
        }
        if distances.len() != self.pending.len() {
            return Err(AbcError::Feedback(format!("{} distances for {} proposals", distances.len(), self.pending.len())));
        }
        if let Some(d) = distances.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
            return Err(AbcError::Feedback(format!("distance {d}: expected a finite distance >= 0")));
        }
        let index = self.generations.len();
        let previous = match population {
            Some(pop) if !pop.is_empty() => Some(pop.iter().copied().fold(0.0, f64::max)),
            _ => self.generations.last().map(|g| g.epsilon),
        };
        let simulated = self.pending.len();
        // Lenormand et al.'s acceptance: the share of the new particles closer than the tolerance they were
        // proposed under.
        let acceptance = match previous {
            None => 1.0,
            Some(eps) => distances.iter().filter(|&&d| d < eps).count() as f64 / simulated as f64,
        };
        let seed = self.spec.seed;
        let new = std::mem::take(&mut self.pending).into_iter().zip(distances).map(|(proposal, &distance)| {
            let tie = stream(seed, proposal.id as u64, "decide/abc-ties").random();
            Particle { proposal, distance, tie }
        });
        let mut all: Vec<Particle> = std::mem::take(&mut self.population).into_iter().chain(new).collect();
        all.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.tie.cmp(&b.tie)).then(a.proposal.id.cmp(&b.proposal.id)));
        // Exactly `N_keep` are kept. Where distances are discrete (counts), many tie at the tolerance: a random
        // choice among them keeps the population's size, and so the tolerance can keep shrinking (to 0, an
        // exact match, where the population is an exact posterior sample).
        all.truncate(self.spec.kept());
        let epsilon = all.last().expect("at least two kept").distance;
        self.population = all;
        self.generations.push(Generation { index, simulated, epsilon, acceptance, kept: self.population.len(), ess: self.ess() });
        if index > 0 && acceptance <= self.spec.min_acceptance {
            self.stop = Some(Stop::Converged);
        } else if previous.is_some_and(|p| p > 0.0 && epsilon > p * (1.0 - self.spec.min_epsilon_drop)) {
            self.stop = Some(Stop::Stalled);
        } else if index + 1 >= self.spec.max_generations {
            self.stop = Some(Stop::MaxGenerations);
        }
        if let Some(stop) = self.stop {
            return Ok(Status::Done(stop));
        }
        self.propose(index + 1);
        Ok(Status::Running)
    }

    /// Replaces the current population's distances (in [`Abc::population`]'s order) by those of new
    /// simulations of the same particles, and the tolerance by their largest: what a change of the
    /// simulator's fidelity between generations needs (a calibration's cheap early generations at a reduced
    /// scale, then the target scale). The particles, their weights and the pending proposals are unchanged;
    /// the next acceptance is judged against the new tolerance. A procedure that had stopped on the cheap
    /// simulator's distances goes on (unless it ran its `max_generations`): its stopping rules judged another
    /// model.
    pub fn rescore(&mut self, distances: &[f64]) -> Result<Status, AbcError> {
        if distances.len() != self.population.len() {
            return Err(AbcError::Feedback(format!("{} distances for a population of {}", distances.len(), self.population.len())));
        }
        if let Some(d) = distances.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
            return Err(AbcError::Feedback(format!("distance {d}: expected a finite distance >= 0")));
        }
        for (p, &d) in self.population.iter_mut().zip(distances) {
            p.distance = d;
        }
        self.population.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.tie.cmp(&b.tie)).then(a.proposal.id.cmp(&b.proposal.id)));
        if let Some(g) = self.generations.last_mut() {
            g.epsilon = self.population.last().map_or(0.0, |p| p.distance);
        }
        if matches!(self.stop, Some(Stop::Converged | Stop::Stalled)) {
            self.stop = None;
            self.propose(self.generations.len());
        }
        Ok(match self.stop {
            Some(stop) => Status::Done(stop),
            None => Status::Running,
        })
    }

    /// The kept population's effective sample size, `(Σw)² / Σw²`.
    pub fn ess(&self) -> f64 {
        let (s, s2) = self.population.iter().fold((0.0, 0.0), |(s, s2), p| (s + p.proposal.weight, s2 + p.proposal.weight.powi(2)));
        if s2 > 0.0 {
            s * s / s2
        } else {
            0.0
        }
    }

    /// The population's normalised weights.
    fn normalised(&self) -> Vec<f64> {
        let total: f64 = self.population.iter().map(|p| p.proposal.weight).sum();
        self.population.iter().map(|p| p.proposal.weight / total).collect()
    }

    /// The kernel's standard deviation per parameter: `√(2 · weighted variance)` of the population
    /// (Beaumont et al.), or a thousandth of the prior's range where the population has collapsed onto one
    /// value.
    pub fn kernel_sd(&self) -> Vec<f64> {
        let w = self.normalised();
        (0..self.params.len())
            .map(|k| {
                let mean: f64 = self.population.iter().zip(&w).map(|(p, w)| w * p.proposal.theta[k]).sum();
                let var: f64 = self.population.iter().zip(&w).map(|(p, w)| w * (p.proposal.theta[k] - mean).powi(2)).sum();
                let (lo, hi) = self.params[k].working_bounds();
                let sd = (2.0 * var).sqrt();
                if sd > (hi - lo) * 1e-9 {
                    sd
                } else {
                    (hi - lo) * 1e-3
                }
            })
            .collect()
    }

    /// Proposes generation `generation`: `N − N_keep` particles, each from a parent drawn by weight and moved
    /// by the truncated kernel, weighted by prior over the kernel mixture.
    fn propose(&mut self, generation: usize) {
        let mut rng = stream(self.spec.seed, generation as u64, "decide/abc");
        let w = self.normalised();
        let sd = self.kernel_sd();
        let bounds: Vec<(f64, f64)> = self.params.iter().map(Parameter::working_bounds).collect();
        let mut cumulative = Vec::with_capacity(w.len());
        let mut acc = 0.0;
        for x in &w {
            acc += x;
            cumulative.push(acc);
        }
        // Each parent's truncation mass, per parameter: the kernel's density from it is normalised by it.
        let masses: Vec<f64> = self
            .population
            .iter()
            .map(|p| p.proposal.theta.iter().zip(&sd).zip(&bounds).map(|((&m, &s), &(lo, hi))| normal_mass(m, s, lo, hi)).product())
            .collect();
        let count = self.spec.particles - self.spec.kept();
        let mut pending = Vec::with_capacity(count);
        for _ in 0..count {
            let u: f64 = rng.random::<f64>() * acc;
            let j = cumulative.partition_point(|&c| c <= u).min(w.len() - 1);
            let parent = &self.population[j].proposal.theta;
            let theta: Vec<f64> =
                parent.iter().zip(&sd).zip(&bounds).map(|((&m, &s), &(lo, hi))| truncated_normal(m, s, lo, hi, &mut rng)).collect();
            let prior: f64 = self.params.iter().zip(&theta).map(|(p, &x)| p.density(x)).product();
            let mixture: f64 = self
                .population
                .iter()
                .zip(&w)
                .zip(&masses)
                .map(|((p, wj), mass)| {
                    let k: f64 = p.proposal.theta.iter().zip(&theta).zip(&sd).map(|((&m, &x), &s)| gauss((x - m) / s) / s).product();
                    wj * k / mass
                })
                .sum();
            let weight = if mixture > 0.0 { prior / mixture } else { 0.0 };
            pending.push(Proposal { id: self.next_id, generation, theta, weight });
            self.next_id += 1;
        }
        self.pending = pending;
    }

    /// The weighted `q`-quantile of parameter `k`'s applied values over the population.
    pub fn quantile(&self, k: usize, q: f64) -> f64 {
        let values: Vec<(f64, f64)> =
            self.population.iter().zip(self.normalised()).map(|(p, w)| (self.params[k].value(p.proposal.theta[k]), w)).collect();
        weighted_quantile(values, q)
    }

    /// The weighted mean of parameter `k`'s applied values over the population.
    pub fn mean(&self, k: usize) -> f64 {
        self.population.iter().zip(self.normalised()).map(|(p, w)| w * self.params[k].value(p.proposal.theta[k])).sum()
    }
}

/// The standard normal density.
fn gauss(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The weighted `q`-quantile of `(value, weight)` pairs: the smallest value whose cumulative weight
/// reaches `q` of the total (for `q` strictly inside, the inverse of the weighted distribution function).
pub fn weighted_quantile(mut values: Vec<(f64, f64)>, q: f64) -> f64 {
    values.retain(|(v, w)| v.is_finite() && *w > 0.0);
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    if values.len() == 1 {
        return values[0].0;
    }
    if values.iter().all(|(_, w)| *w == values[0].1) {
        // Equal weights: the usual interpolated quantile.
        let sorted: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
        return quantile_sorted(&sorted, q.clamp(0.0, 1.0));
    }
    let total: f64 = values.iter().map(|(_, w)| w).sum();
    let mut acc = 0.0;
    for (v, w) in &values {
        acc += w / total;
        if acc >= q - 1e-12 {
            return *v;
        }
    }
    values.last().expect("not empty").0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Poisson};

    fn spec(particles: usize, seed: u64) -> AbcSpec {
        AbcSpec { particles, keep: 0.5, min_acceptance: 0.02, min_epsilon_drop: 0.0, max_generations: 40, seed }
    }

    /// Until no new particle can beat the tolerance (with discrete distances, an exact match).
    fn exhaustive(particles: usize, seed: u64) -> AbcSpec {
        AbcSpec { min_acceptance: 0.0, max_generations: 200, ..spec(particles, seed) }
    }

    fn uniform(name: &str, min: f64, max: f64) -> Parameter {
        Parameter { name: name.into(), prior: Prior::Uniform, min, max, integer: false }
    }

    /// Runs the procedure on a model given as a function of (parameter values, simulation number).
    fn calibrate(abc: &mut Abc, mut distance: impl FnMut(&[f64], usize) -> f64) -> usize {
        let mut runs = 0;
        loop {
            let d: Vec<f64> = abc
                .pending()
                .to_vec()
                .iter()
                .map(|p| {
                    runs += 1;
                    distance(&abc.values(&p.theta), p.id)
                })
                .collect();
            if let Status::Done(_) = abc.observe(&d).unwrap() {
                return runs;
            }
        }
    }

    #[test]
    fn a_poisson_rate_observed_through_counts_has_the_gamma_posterior() {
        // Five counts of a Poisson(λ) process summing to 40, a flat prior on [0.5, 20]: the posterior is
        // Gamma(41, rate 5), mean 8.2, sd √41/5 ≈ 1.281 (the truncation holds a negligible mass). The sum is
        // sufficient and discrete, so the tolerance reaches 0 and ABC's population is an exact, weighted
        // sample of the posterior: its mean and sd must agree within Monte Carlo error.
        let mut abc = Abc::new(vec![uniform("lambda", 0.5, 20.0)], exhaustive(2000, 11)).unwrap();
        let runs = calibrate(&mut abc, |v, id| {
            let mut rng = stream(99, id as u64, "test/poisson");
            let sum: f64 = (0..5).map(|_| Poisson::new(v[0]).unwrap().sample(&mut rng)).sum();
            (sum - 40.0).abs()
        });
        let last = abc.generations().last().unwrap();
        assert_eq!(last.epsilon, 0.0, "{:?}", abc.generations());
        let ess = abc.ess();
        let (mean, sd) = (41.0 / 5.0, 41f64.sqrt() / 5.0);
        let m = abc.mean(0);
        let w = abc.normalised();
        let var: f64 = abc.population().iter().zip(&w).map(|(p, w)| w * (p.proposal.theta[0] - m).powi(2)).sum();
        // 99.9% two-sided bounds: the mean's standard error is sd/√ESS; the sd's, about sd/√(2·ESS).
        let z = 3.29;
        assert!((m - mean).abs() < z * sd / ess.sqrt(), "mean {m} vs {mean}, ESS {ess}, {runs} runs");
        assert!((var.sqrt() - sd).abs() < z * sd / (2.0 * ess).sqrt(), "sd {} vs {sd}, ESS {ess}", var.sqrt());
        assert!(ess > 300.0, "ESS {ess}");
        assert_eq!(abc.stop(), Some(Stop::Converged));
    }

    #[test]
    fn a_normal_mean_has_the_conjugate_posterior_as_the_tolerance_shrinks() {
        // y ~ N(θ, 1), one observation y = 1.3, prior N(0, 2²) truncated to [−10, 10]: the posterior is
        // N(1.3·4/5, 4/5). ABC at tolerance ε targets the posterior given |y' − y| ≤ ε, whose variance is
        // 4/5 plus a term in ε² that the stopping rule makes small; the mean is exact by symmetry.
        let prior = Parameter { name: "theta".into(), prior: Prior::Normal { mean: 0.0, sd: 2.0 }, min: -10.0, max: 10.0, integer: false };
        let mut abc = Abc::new(vec![prior], spec(2000, 5)).unwrap();
        calibrate(&mut abc, |v, id| {
            let mut rng = stream(7, id as u64, "test/normal");
            let y = v[0] + crate::decide::testing::standard_normal(&mut rng);
            (y - 1.3).abs()
        });
        let eps = abc.generations().last().unwrap().epsilon;
        assert!(eps < 0.1, "{:?}", abc.generations());
        let ess = abc.ess();
        let (mean, sd) = (1.3 * 0.8, 0.8f64.sqrt());
        let m = abc.mean(0);
        assert!((m - mean).abs() < 3.29 * sd / ess.sqrt(), "mean {m} vs {mean}, ESS {ess}");
        // The posterior's 5% and 95% quantiles, within a generous Monte Carlo margin of 0.15 sd.
        for (q, z) in [(0.05, -1.6449), (0.95, 1.6449)] {
            let got = abc.quantile(0, q);
            assert!((got - (mean + z * sd)).abs() < 0.15 * sd + 3.0 * sd / ess.sqrt(), "q{q}: {got}");
        }
    }

    #[test]
    fn each_generation_shrinks_the_tolerance_and_spends_a_fixed_batch() {
        let mut abc = Abc::new(vec![uniform("a", 0.0, 1.0), uniform("b", 0.0, 1.0)], spec(100, 3)).unwrap();
        calibrate(&mut abc, |v, _| ((v[0] - 0.3).powi(2) + (v[1] - 0.7).powi(2)).sqrt());
        let g = abc.generations();
        assert_eq!(g[0].simulated, 100);
        assert!(g[1..].iter().all(|g| g.simulated == 50), "{g:?}");
        assert!(g.windows(2).all(|w| w[1].epsilon <= w[0].epsilon), "{g:?}");
        // A deterministic model: the posterior is the point (0.3, 0.7).
        assert!((abc.mean(0) - 0.3).abs() < 0.01 && (abc.mean(1) - 0.7).abs() < 0.01, "{} {}", abc.mean(0), abc.mean(1));
    }

    #[test]
    fn a_rescored_population_keeps_its_particles_and_takes_the_new_tolerance() {
        let mut abc = Abc::new(vec![uniform("a", 0.0, 1.0)], spec(20, 4)).unwrap();
        let d: Vec<f64> = abc.pending().iter().map(|p| (p.theta[0] - 0.5).abs()).collect();
        abc.observe(&d).unwrap();
        let before: Vec<usize> = abc.population().iter().map(|p| p.proposal.id).collect();
        let pending = abc.pending().to_vec();
        let doubled: Vec<f64> = abc.population().iter().map(|p| 2.0 * p.distance).collect();
        assert_eq!(abc.rescore(&doubled).unwrap(), Status::Running);
        let mut after: Vec<usize> = abc.population().iter().map(|p| p.proposal.id).collect();
        after.sort();
        let mut sorted = before.clone();
        sorted.sort();
        assert_eq!(after, sorted);
        assert_eq!(abc.generations()[0].epsilon, doubled.iter().copied().fold(0.0, f64::max));
        assert_eq!(abc.pending(), &pending[..]);
        assert!(abc.rescore(&[1.0]).is_err());
    }

    #[test]
    fn an_adaptive_distance_rescores_the_population_and_judges_against_its_new_tolerance() {
        // Two parameters seen through statistics on very different scales: with scales re-estimated every
        // generation from its simulations, both are pinned down (a fixed scale would let the large one rule).
        let mut abc = Abc::new(vec![uniform("a", 0.0, 1.0), uniform("b", 0.0, 1.0)], spec(200, 8)).unwrap();
        let stats = |v: &[f64]| [1000.0 * v[0], v[1]];
        let observed = [300.0, 0.7];
        let mut all: std::collections::BTreeMap<usize, [f64; 2]> = Default::default();
        loop {
            let pending = abc.pending().to_vec();
            for p in &pending {
                all.insert(p.id, stats(&abc.values(&p.theta)));
            }
            // Each statistic's scale: its spread over this generation's simulations.
            let scale: Vec<f64> = (0..2)
                .map(|k| {
                    let x: Vec<f64> = pending.iter().map(|p| all[&p.id][k]).collect();
                    let m = x.iter().sum::<f64>() / x.len() as f64;
                    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt().max(1e-12)
                })
                .collect();
            let d = |id: usize| ((0..2).map(|k| ((all[&id][k] - observed[k]) / scale[k]).powi(2)).sum::<f64>()).sqrt();
            let new: Vec<f64> = pending.iter().map(|p| d(p.id)).collect();
            let pop: Vec<f64> = abc.population().iter().map(|p| d(p.proposal.id)).collect();
            let status = abc.observe_with(&new, (!pop.is_empty()).then_some(&pop[..])).unwrap();
            let g = abc.generations().last().unwrap();
            assert!(abc.population().iter().all(|p| p.distance <= g.epsilon));
            if let Status::Done(_) = status {
                break;
            }
        }
        assert!((abc.mean(0) - 0.3).abs() < 0.01 && (abc.mean(1) - 0.7).abs() < 0.01, "{} {}", abc.mean(0), abc.mean(1));
        assert!(abc.observe_with(&[], Some(&[1.0])).is_ok(), "a finished procedure ignores feedback");
    }

    #[test]
    fn the_same_seed_and_distances_give_the_same_proposals() {
        let run = || {
            let mut abc = Abc::new(vec![uniform("a", 0.0, 1.0)], spec(20, 9)).unwrap();
            calibrate(&mut abc, |v, _| (v[0] - 0.5).abs());
            abc.population().to_vec()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn integer_and_log_uniform_parameters_stay_in_their_bounds() {
        let p = vec![
            Parameter { name: "servers".into(), prior: Prior::LogUniform, min: 1.0, max: 1000.0, integer: true },
            Parameter { name: "knee".into(), prior: Prior::Uniform, min: 0.5, max: 1.5, integer: false },
        ];
        let mut abc = Abc::new(p, spec(200, 1)).unwrap();
        let mut seen = Vec::new();
        calibrate(&mut abc, |v, _| {
            seen.push(v.to_vec());
            ((v[0].ln() - 100f64.ln()).powi(2) + (v[1] - 1.2).powi(2)).sqrt()
        });
        assert!(seen.iter().all(|v| v[0] == v[0].round() && (1.0..=1000.0).contains(&v[0]) && (0.5..=1.5).contains(&v[1])));
        // Log-uniform: each decade drew about a third of the first generation.
        let first = &seen[..200];
        let low = first.iter().filter(|v| v[0] < 10.0).count();
        assert!((40..=95).contains(&low), "{low} of 200 below 10");
        assert!((abc.quantile(0, 0.5) - 100.0).abs() <= 5.0, "{}", abc.quantile(0, 0.5));
    }

    #[test]
    fn impossible_settings_and_priors_are_refused() {
        let ok = spec(100, 1);
        assert!(Abc::new(vec![uniform("a", 1.0, 1.0)], ok).is_err());
        let lu = Parameter { name: "x".into(), prior: Prior::LogUniform, min: 0.0, max: 1.0, integer: false };
        assert!(Abc::new(vec![lu], ok).is_err());
        assert!(Abc::new(vec![uniform("a", 0.0, 1.0)], AbcSpec { keep: 1.0, ..ok }).is_err());
        assert!(Abc::new(vec![uniform("a", 0.0, 1.0)], AbcSpec { particles: 3, ..ok }).is_err());
        assert!(Abc::new(vec![], ok).is_err());
        let mut abc = Abc::new(vec![uniform("a", 0.0, 1.0)], ok).unwrap();
        assert!(abc.observe(&[1.0]).is_err());
        assert!(abc.observe(&vec![f64::NAN; 100]).is_err());
    }

    #[test]
    fn weighted_quantiles_follow_the_weights() {
        let v = vec![(1.0, 1.0), (2.0, 1.0), (3.0, 8.0)];
        assert_eq!(weighted_quantile(v.clone(), 0.05), 1.0);
        assert_eq!(weighted_quantile(v.clone(), 0.15), 2.0);
        assert_eq!(weighted_quantile(v, 0.5), 3.0);
        assert_eq!(weighted_quantile(vec![(1.0, 1.0), (3.0, 1.0)], 0.5), 2.0);
    }
}
