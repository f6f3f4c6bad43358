//! `rentree select`: the best configuration of an experiment, with a stated probability of being right.

use super::{budget_of, Outcome, SelectArgs};
use crate::decide::kn::Goal;
use crate::metrics::columns::parse_metric;
use crate::metrics::SummaryColumn;
use crate::sweep::experiment::Experiment;
use crate::sweep::select::{self, SelectOptions};
use std::io::IsTerminal;

/// Runs the selection and says what it chose, how sure, and at what cost.
pub(super) fn select(args: SelectArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    let mut warned = Vec::new();
    for c in &experiment.configs {
        if let Some(w) = c.scenario.scale_warning() {
            if !warned.contains(&w) {
                tell!("warning: {}: experiment.scale = {}: {w}", args.experiment.display(), experiment.raw.experiment.scale);
                warned.push(w);
            }
        }
    }
    let metric = parse_metric::<SummaryColumn>(&args.metric).map_err(|e| crate::Error::Argument {
        flag: "--metric".into(),
        found: args.metric.clone(),
        expected: e.expected(),
    })?;
    let jobs = super::jobs_of(args.jobs);
    let options = SelectOptions {
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        progress: std::io::stderr().is_terminal(),
        budget: budget_of(&args.budget, jobs)?,
        cluster: args.cluster.cluster()?,
        metric,
        goal: if args.maximize { Goal::Maximize } else { Goal::Minimize },
        delta: args.delta,
        confidence: args.confidence,
        first_stage: args.first_stage,
        max_replications: args.max_replications,
        constraints: args.constraint.iter().map(|c| select::parse_constraint(c)).collect::<Result<_, _>>()?,
    };
    let outcome = select::select(&experiment, &options)?;
    if outcome.stale_temps_removed > 0 {
        tell!("{}: removed {} stale temporary file(s) left by an interrupted selection", args.out.display(), outcome.stale_temps_removed);
    }
    let k = experiment.configs.len();
    let label = |c: usize| experiment.configs[c].label.as_str();
    let goal = if args.maximize { "highest" } else { "lowest" };
    if !options.constraints.is_empty() {
        say!(
            "{} of {k} configurations meet {}",
            outcome.feasible.len(),
            options.constraints.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(" and ")
        );
    }
    match outcome.best {
        None if outcome.feasible.is_empty() && outcome.survivors.is_empty() => {
            say!("no configuration meets the constraints: nothing to select (with probability at least {})", options.confidence)
        }
        Some(b) => say!(
            "'{}' is the best of {k} configurations on {metric} ({goal} mean), with probability at least {} when it leads by {} or more; {} runs in all, {} for the selection over {} screening stage(s) (a fixed-sample procedure with the same guarantee: about {})",
            label(b),
            options.confidence,
            options.delta,
            outcome.runs_spent,
            outcome.selection_runs,
            outcome.stages,
            outcome.fixed_sample_runs
        ),
        None => say!(
            "no configuration selected within {} replications: {} still in contention after {} runs (no guarantee; raise --max-replications or --delta)",
            options.max_replications,
            outcome.survivors.iter().map(|&c| format!("'{}'", label(c))).collect::<Vec<_>>().join(", "),
            outcome.runs_spent
        ),
    }
    for f in &outcome.fates {
        let fate = match (f.eliminated, f.infeasible) {
            (Some(e), _) => format!("eliminated at stage {} by '{}'", e.stage, label(e.by)),
            (None, Some((c, stage))) => format!("infeasible: breaks '{}' (declared at stage {stage})", options.constraints[c]),
            (None, None) if outcome.best == Some(f.config) => "selected".into(),
            (None, None) => "in contention".into(),
        };
        say!("  {:<32} {metric} {:.6} ± {:.6} over {} runs  {fate}", label(f.config), f.mean, f.half_width, f.replications);
    }
    tell!(
        "{}: {} run(s) executed, {} found already written (by an earlier stage, or a selection interrupted before), in {:.1} s with {} job(s)",
        experiment.raw.experiment.name, outcome.executed, outcome.skipped, outcome.wall_s, jobs
    );
    for f in outcome.files {
        say!("{}", f.display());
    }
    Ok(Outcome::Success)
}
