//! `rentree size`: the smallest value of a knob that meets a target with 95% confidence.

use super::{budget_of, Outcome, SizeArgs};

/// Bisects the knob over its range and prints each point tried and the answer (exit 1 if none meets it).
pub(super) fn size(args: SizeArgs) -> anyhow::Result<Outcome> {
    use crate::sweep::size::{size as search, Target};
    let target = Target::parse(&args.target)?;
    let err = || crate::Error::Argument {
        flag: "--range".into(),
        found: args.range.clone(),
        expected: "LO..HI with integers LO <= HI, e.g. 1..400".into(),
    };
    let (lo, hi) = args.range.split_once("..").ok_or_else(err)?;
    let (lo, hi): (i64, i64) = (lo.trim().parse().map_err(|_| err())?, hi.trim().parse().map_err(|_| err())?);
    let source = args.source.source()?;
    let origin = source.origin();
    // A capacity is a decision: not from a scale whose bias may decide it, unless asked for.
    let first = source.scenario()?;
    if let Some(w) = first.scale_warning() {
        if !args.allow_biased_scale {
            let expected = match first.faithful_scale {
                Some(f) => format!(
                    "at least {f}, the smallest scale shown to agree with full scale for {}: below it a capacity can come out \
                     wrong by more than its confidence interval says (--allow-biased-scale answers anyway, to explore)",
                    origin.display()
                ),
                None => format!(
                    "1: the bias of a reduced scale was never measured for {} (no scenario.faithful_scale), so a capacity found \
                     below full scale may be wrong (--allow-biased-scale answers anyway, to explore)",
                    origin.display()
                ),
            };
            return Err(crate::Error::Argument { flag: "--scale".into(), found: args.source.scale.to_string(), expected }.into());
        }
        tell!("warning: {}: {w}", origin.display());
    }
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let budget = budget_of(&args.budget, jobs)?;
    let report = search(&source, &args.knob, (lo, hi), &target, args.replications, args.seed, &budget)?;
    say!("{:>10} {:>12} {:>25} {:>6}", args.knob.rsplit('.').next().unwrap_or(&args.knob), "mean", "95% CI", "meets");
    for p in &report.points {
        say!(
            "{:>10} {:>12.5} {:>25} {:>6}",
            p.value,
            p.estimate.mean,
            format!("[{:.5}, {:.5}]", p.estimate.lo(), p.estimate.hi()),
            if p.meets { "yes" } else { "no" }
        );
    }
    if !report.monotone {
        say!("warning: {} does not move monotonically with {} over these points; the bisection may be wrong", target.metric, args.knob);
    }
    match report.answer {
        Some(v) => {
            let p = report.points.iter().find(|p| p.value == v).expect("the answer was evaluated");
            say!(
                "answer: {} = {v} meets {} with 95% confidence ({} = {:.5} ± {:.5}, {} replications)",
                args.knob,
                args.target,
                target.metric,
                p.estimate.mean,
                p.estimate.half_width,
                args.replications
            );
            Ok(Outcome::Success)
        }
        None => {
            say!("answer: no value in {lo}..{hi} meets {} with 95% confidence", args.target);
            Ok(Outcome::ChecksFailed)
        }
    }
}
