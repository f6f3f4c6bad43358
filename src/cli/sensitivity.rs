//! `rentree sensitivity`: which uncertain inputs drive a metric.

use super::{budget_of, Outcome, SensitivityArgs, SensitivityMethod};
use crate::metrics::columns::parse_metric;
use crate::metrics::SummaryColumn;
use crate::sweep::experiment::Experiment;
use crate::sweep::sensitivity::{self, Method, SensitivityOptions};
use std::io::IsTerminal;

/// Runs the analysis and prints the inputs, most influential first.
pub(super) fn sensitivity(args: SensitivityArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    let metric = parse_metric::<SummaryColumn>(&args.metric).map_err(|e| crate::Error::Argument {
        flag: "--metric".into(),
        found: args.metric.clone(),
        expected: e.expected(),
    })?;
    let jobs = super::jobs_of(args.jobs);
    let method = match args.method {
        SensitivityMethod::Morris => Method::Morris { trajectories: args.trajectories, levels: args.levels },
        SensitivityMethod::Sobol => Method::Sobol { samples: args.samples, bootstrap: args.bootstrap },
    };
    let options = SensitivityOptions {
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        progress: std::io::stderr().is_terminal(),
        budget: budget_of(&args.budget, jobs)?,
        cluster: args.cluster.cluster()?,
        metric,
        method,
    };
    let outcome = sensitivity::sensitivity(&experiment, &options)?;
    let mut inputs = outcome.inputs.clone();
    match method {
        Method::Morris { .. } => {
            inputs.sort_by(|a, b| b.mu_star.total_cmp(&a.mu_star));
            say!(
                "Morris screening of {metric} over {} inputs ({} points × {} replications); effects per input's whole range:",
                inputs.len(),
                outcome.note.points,
                outcome.note.replications
            );
            for x in &inputs {
                say!("  {:<48} mu* {:>12.6}  mu {:>12.6}  sigma {:>12.6}", x.input, x.mu_star, x.mu, x.sigma);
            }
        }
        Method::Sobol { .. } => {
            inputs.sort_by(|a, b| b.total.0.total_cmp(&a.total.0));
            say!(
                "Sobol indices of {metric} over {} inputs ({} points × {} replications), 95% bootstrap intervals:",
                inputs.len(),
                outcome.note.points,
                outcome.note.replications
            );
            for x in &inputs {
                say!(
                    "  {:<48} total {:.3} [{:.3}, {:.3}]  first order {:.3} [{:.3}, {:.3}]",
                    x.input,
                    x.total.0,
                    x.total.1,
                    x.total.2,
                    x.first_order.0,
                    x.first_order.1,
                    x.first_order.2
                );
            }
        }
    }
    tell!(
        "{}: {} run(s) executed, {} skipped as already finished, in {:.1} s with {} job(s)",
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
