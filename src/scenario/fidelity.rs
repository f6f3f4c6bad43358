//! Whether an answer computed at a reduced scale can be trusted.
//!
//! `--scale F` shrinks population and capacity together, but queues do not shrink in proportion: a pool of
//! 8 slots fluctuates far more than one of 800, and a limit crossed by chance at 8 is not at 800. So a
//! reduced scale has a bias that the replications' confidence intervals do not show. A scenario states the
//! smallest scale measured to agree with full scale (`scenario.faithful_scale`, measured with
//! `examples/scale_bias.rs`); every command that runs a scenario below it says so in a planner's words,
//! and `size` refuses to answer a capacity question from it unless told to.

use super::Scenario;

/// How a scale relates to the scenario's measured faithful scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fidelity {
    /// Full scale (or above), or at least the faithful scale: nothing to warn about.
    Faithful,
    /// Below the faithful scale the scenario states.
    Below {
        /// The scale of the run.
        scale: f64,
        /// The smallest scale measured to agree with full scale.
        faithful: f64,
    },
    /// A reduced scale, and the scenario states no faithful scale: its bias was never measured.
    Unmeasured {
        /// The scale of the run.
        scale: f64,
    },
}

/// How a run at `scale` relates to a scenario whose faithful scale is `faithful` (`None`: never measured).
pub fn classify(scale: f64, faithful: Option<f64>) -> Fidelity {
    // Scales are written as decimals (0.1, 0.3): a relative tolerance keeps 0.3 from being "below" 0.3
    // after an override's float round trip.
    let at_least = |a: f64, b: f64| a >= b * (1.0 - 1e-9);
    if at_least(scale, 1.0) {
        return Fidelity::Faithful;
    }
    match faithful {
        Some(f) if at_least(scale, f) => Fidelity::Faithful,
        Some(f) => Fidelity::Below { scale, faithful: f },
        None => Fidelity::Unmeasured { scale },
    }
}

impl Scenario {
    /// How this scenario's scale relates to its faithful scale.
    pub fn fidelity(&self) -> Fidelity {
        classify(self.scale, self.faithful_scale)
    }

    /// The warning a result computed at this scale needs (see [`Fidelity::warning`]).
    pub fn scale_warning(&self) -> Option<String> {
        self.fidelity().warning()
    }
}

impl Fidelity {
    /// The warning a result computed at this scale needs, in words a planner understands; `None` when the
    /// scale is faithful.
    pub fn warning(&self) -> Option<String> {
        match *self {
            Fidelity::Faithful => None,
            Fidelity::Below { scale, faithful } => Some(format!(
                "scale {scale} is below {faithful}, the smallest scale shown to agree with full scale for this scenario: \
                 at {scale} the figures (who gets in and when, waits, give-ups, saturation) can be off by more than their \
                 confidence intervals say, and strategies can come out in another order. Use them to explore; for a \
                 decision, run at --scale {faithful} or more"
            )),
            Fidelity::Unmeasured { scale } => Some(format!(
                "scale {scale}: how far this scenario's answers at a reduced scale are from full scale was never measured \
                 (no scenario.faithful_scale), and small pools fluctuate more than large ones. Use these figures to \
                 explore; for a decision, run at full scale or measure the bias (examples/scale_bias.rs)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const QUEUE: &str = r#"
[scenario]
name = "q"
horizon_s = 100.0
faithful_scale = 0.3

[cohorts.c]
platform = "p"
arrivals = { process = "poisson", rate_per_s = 100.0 }

[platforms.p.pool]
servers = 100
service = { dist = "exponential", mean_s = 0.5 }
"#;

    fn at(text: &str, scale: f64) -> Scenario {
        Scenario::from_toml_scaled(text, Path::new("q.toml"), &[], scale).unwrap()
    }

    #[test]
    fn a_scale_below_the_faithful_one_is_warned_about_and_one_at_or_above_is_not() {
        assert_eq!(at(QUEUE, 1.0).fidelity(), Fidelity::Faithful);
        assert_eq!(at(QUEUE, 0.3).fidelity(), Fidelity::Faithful);
        assert_eq!(at(QUEUE, 0.1).fidelity(), Fidelity::Below { scale: 0.1, faithful: 0.3 });
        let w = at(QUEUE, 0.1).scale_warning().unwrap();
        assert!(w.contains("--scale 0.3") && w.contains("below 0.3"), "{w}");
        assert!(at(QUEUE, 0.3).scale_warning().is_none());
    }

    #[test]
    fn an_unmeasured_scenario_is_warned_about_below_full_scale_only() {
        let text = QUEUE.replace("faithful_scale = 0.3\n", "");
        assert_eq!(at(&text, 1.0).fidelity(), Fidelity::Faithful);
        assert_eq!(at(&text, 0.5).fidelity(), Fidelity::Unmeasured { scale: 0.5 });
        assert!(at(&text, 0.5).scale_warning().unwrap().contains("never measured"));
        // Above full scale there is nothing to fear from small pools.
        assert_eq!(at(&text, 2.0).fidelity(), Fidelity::Faithful);
    }

    #[test]
    fn a_faithful_scale_outside_zero_to_one_is_refused() {
        for bad in ["0.0", "1.5", "-0.1", "nan"] {
            let text = QUEUE.replace("faithful_scale = 0.3", &format!("faithful_scale = {bad}"));
            let e = Scenario::from_toml(&text, Path::new("q.toml"), &[]).unwrap_err().to_string();
            assert!(e.contains("scenario.faithful_scale") && e.contains("at most 1"), "{bad}: {e}");
        }
    }
}
