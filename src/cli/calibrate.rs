//! `rentree calibrate`: a scenario's unknowns learnt from observations.

use super::{budget_of, CalibrateArgs, Outcome};
use crate::sweep::calibrate::{self, CalibrateOptions, Calibration};
use std::io::IsTerminal;

/// Runs the calibration and prints each parameter's posterior.
pub(super) fn calibrate(args: CalibrateArgs) -> anyhow::Result<Outcome> {
    let calibration = Calibration::load(&args.calibration)?;
    let jobs = super::jobs_of(args.jobs);
    let options = CalibrateOptions {
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        progress: std::io::stderr().is_terminal(),
        budget: budget_of(&args.budget, jobs)?,
        cluster: args.cluster.cluster()?,
    };
    if let Some(w) = calibration.experiment.base.scenario()?.scale_warning() {
        tell!("warning: {w}");
    }
    let outcome = calibrate::calibrate(&calibration, &options)?;
    let m = &outcome.manifest;
    let last = m.generations.last();
    say!(
        "{}: {} generation(s), {} runs, {} ({} statistics; final tolerance {:.4}, effective sample size {:.0})",
        m.calibration,
        m.generations.len(),
        m.runs,
        m.stop.replace('_', " "),
        m.statistics,
        last.map_or(f64::NAN, |g| g.epsilon),
        last.map_or(f64::NAN, |g| g.ess)
    );
    say!("posterior median and 90% credible interval (width against the prior's):");
    for p in &m.parameters {
        say!("  {:<52} {:>12.6} [{:.6}, {:.6}]  {:.0}% of the prior's", p.name, p.median, p.q05, p.q95, 100.0 * p.narrowing);
    }
    tell!(
        "{} run(s) executed, {} skipped as already finished, in {:.1} s with {} job(s)",
        m.invocation.runs_executed,
        m.invocation.runs_skipped,
        m.invocation.wall_s,
        jobs
    );
    for f in outcome.files {
        say!("{}", f.display());
    }
    Ok(Outcome::Success)
}
