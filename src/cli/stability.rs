//! `rentree stability`: does each configuration come back by itself after its trigger?

use super::{budget_of, Outcome, StabilityArgs};
use crate::sweep::experiment::Experiment;
use crate::sweep::stability::{self, StabilityOptions};
use std::io::IsTerminal;

/// Runs the study and prints each configuration's class and recovery.
pub(super) fn stability(args: StabilityArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    if let Some(w) = experiment.configs.first().and_then(|c| c.scenario.scale_warning()) {
        tell!("warning: {}: experiment.scale = {}: {w}", args.experiment.display(), experiment.raw.experiment.scale);
    }
    let jobs = super::jobs_of(args.jobs);
    let options = StabilityOptions {
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        progress: std::io::stderr().is_terminal(),
        budget: budget_of(&args.budget, jobs)?,
        cluster: args.cluster.cluster()?,
    };
    let outcome = stability::stability(&experiment, &options)?;
    let note = &outcome.note;
    say!(
        "Recovery of {} after the trigger's removal at {} s ({} configurations × {} replications, each against its \
         baseline twin; recovered = goodput within {:.0}% of the twin's and the trigger's orbit back to {:.0}%, for {} \
         minutes; orbit excess = the users the trigger sent to the orbit, at their peak; collapsed min = minutes after \
         the removal with goodput under {:.0}% of the twin's, mean):",
        note.platform,
        note.removal_s,
        note.configurations,
        note.replications,
        note.band * 100.0,
        note.band * 100.0,
        note.hold_minutes,
        note.band * 100.0
    );
    let width = outcome.configs.iter().map(|c| c.label.chars().count()).max().unwrap_or(0).max(13);
    say!(
        "  {:<width$}  {:<10}  {:>24}  {:>28}  {:>14}  {:>13}",
        "configuration",
        "class",
        "not recovered [95% CI]",
        "median recovery s [95% CI]",
        "orbit excess",
        "collapsed min"
    );
    let text = |x: f64| if x.is_finite() { format!("{x:.0}") } else { "-".into() };
    for c in &outcome.configs {
        let v = &c.verdict;
        let (p, lo, hi) = v.p_not_recovered;
        let median = if v.median_s.0.is_finite() { format!("{:.0}", v.median_s.0) } else { "none".into() };
        say!(
            "  {:<width$}  {:<10}  {:>24}  {:>28}  {:>14.0}  {:>13.0}",
            c.label,
            v.class.name(),
            format!("{}/{} {:.2} [{:.2}, {:.2}]", v.not_recovered, v.runs, p, lo, hi),
            format!("{median} [{}, {}]", text(v.median_s.1), text(v.median_s.2)),
            c.mean_peak_excess_orbit,
            c.mean_collapsed_min,
        );
    }
    tell!(
        "{}: {} stable, {} vulnerable, {} metastable; {} run(s) executed, {} skipped as already finished, in {:.1} s with {} job(s)",
        experiment.raw.experiment.name,
        note.stable,
        note.vulnerable,
        note.metastable,
        outcome.executed,
        outcome.skipped,
        outcome.wall_s,
        jobs
    );
    for f in outcome.files {
        say!("{}", f.display());
    }
    Ok(Outcome::Success)
}
