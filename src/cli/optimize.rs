//! `rentree optimize`: the cheapest configuration of an experiment's knobs that meets its constraints.

use super::{budget_of, OptimizeArgs, Outcome};
use crate::sweep::experiment::Experiment;
use crate::sweep::optimize::{self, OptimizeOptions};
use std::io::IsTerminal;

/// Runs the optimisation and says what it found, how sure, and at what cost in runs.
pub(super) fn optimize(args: OptimizeArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    if let Some(w) = experiment.base.scenario_with(&[]).ok().and_then(|s| s.scale_warning()) {
        tell!("warning: {}: experiment.scale = {}: {w}", args.experiment.display(), experiment.raw.experiment.scale);
    }
    let jobs = super::jobs_of(args.jobs);
    let options = OptimizeOptions {
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        progress: std::io::stderr().is_terminal(),
        budget: budget_of(&args.budget, jobs)?,
        cluster: args.cluster.cluster()?,
        confidence: args.confidence,
        first_stage: args.first_stage,
        max_runs: args.max_runs,
        max_replications: args.max_replications,
    };
    let outcome = optimize::optimize(&experiment, &options)?;
    if outcome.stale_temps_removed > 0 {
        tell!(
            "{}: removed {} stale temporary file(s) left by an interrupted optimisation",
            args.out.display(),
            outcome.stale_temps_removed
        );
    }
    let n = &outcome.note;
    let spent = format!(
        "{} runs: {} for the search ({} points of {} visited, {} iterations, stopped at a {}), {} for the clean-up; a grid at {} replications per point: {} runs",
        n.search_runs + n.cleanup_runs,
        n.search_runs,
        n.visited,
        n.lattice_points,
        n.iterations,
        n.stopped,
        n.cleanup_runs,
        options.first_stage,
        n.grid_runs
    );
    match (&n.optimum, n.optimum_cost) {
        (Some(label), Some(cost)) => say!(
            "cheapest found: '{label}', cost {cost:.6} ({}), meeting {} with probability at least {}; {spent}",
            n.cost,
            if n.constraints.is_empty() { "no constraint".to_owned() } else { n.constraints.join(" and ") },
            n.confidence
        ),
        _ => say!(
            "no configuration found was shown to meet {} (with probability at least {}); {spent}",
            n.constraints.join(" and "),
            n.confidence
        ),
    }
    for v in &outcome.visited {
        let metrics: Vec<String> = n
            .constraints
            .iter()
            .zip(&v.metrics)
            .map(|(c, e)| format!("{} {:.6} ± {:.6}", c.split(['<', '>']).next().unwrap_or(c), e.mean, e.half_width))
            .collect();
        let mut tags = Vec::new();
        if outcome.optimum == Some(v.config) {
            tags.push("optimum".to_owned());
        }
        if v.frontier {
            tags.push("frontier".to_owned());
        }
        if let Some(c) = v.cleanup {
            tags.push(format!(
                "clean-up: {}",
                match c {
                    crate::decide::feasibility::Verdict::Feasible { .. } => "feasible",
                    crate::decide::feasibility::Verdict::Infeasible { .. } => "infeasible",
                    crate::decide::feasibility::Verdict::Undecided => "undecided",
                }
            ));
        }
        say!("  {:<40} cost {:.4}  {}  over {} runs  {}", v.label, v.cost.mean, metrics.join("  "), v.replications, tags.join(", "));
    }
    tell!(
        "{}: {} run(s) executed, {} found already written, in {:.1} s with {} job(s)",
        experiment.raw.experiment.name,
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
