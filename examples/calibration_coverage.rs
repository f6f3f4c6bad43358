//! Whether `rentree calibrate`'s credible intervals hold what they say: a measurement, not a test.
//!
//! `cargo run --release --example calibration_coverage -- [REPS] [prior|adaptive]` (default 20 repetitions
//! with the default distance, `prior`; some 20 seconds per repetition on two cores).
//!
//! Each repetition draws true parameters from the prior (the arrival rate of a ten-agent call centre, uniform
//! on 2 to 20 per second, and its mean service time, log-uniform on 0.2 to 5 s), simulates the centre on a
//! seed of its own, exports its per-minute served requests and mean wait as a monitoring CSV, and
//! calibrates both parameters from it with the whole `rentree calibrate` procedure (part files written and
//! read back). When the truth is drawn from the prior, a Bayesian credible interval covers it with its
//! nominal probability; ABC at a tolerance above zero gives a somewhat wider posterior than the exact one,
//! so its coverage should be near nominal or above. Intervals on the coverage are Wilson's at 95%.

use rentree::decide::abc::weighted_quantile;
use rentree::metrics::ci::wilson;
use rentree::output::read_table;
use rentree::scenario::{Override, Source};
use rentree::sweep::calibrate::{calibrate, CalibrateOptions, Calibration};

const QUEUE: &str = r#"[scenario]
name = "call centre"
horizon_s = 1200.0
warmup_s = 0.0
clock_start = "08:00"

[cohorts.callers]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = 8.0 }

[platforms.desk.pool]
servers = 10
service = { dist = "exponential", mean_s = 1.0 }
"#;

const RATE: &str = "cohorts.callers.arrivals.rate_per_s";
const SERVICE: &str = "platforms.desk.pool.service.mean_s";

fn main() {
    let reps: u64 = match std::env::args().nth(1) {
        None => 20,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("calibration_coverage: REPS must be a whole number, found {text:?}");
            std::process::exit(2)
        }),
    };
    let distance = std::env::args().nth(2).unwrap_or_else(|| "prior".into());
    if !["prior", "adaptive"].contains(&distance.as_str()) {
        eprintln!("calibration_coverage: the distance is prior or adaptive, found {distance:?}");
        std::process::exit(2)
    }
    let scratch = std::env::temp_dir().join(format!("rentree-calibration-coverage-{}", std::process::id()));
    // Per parameter: covered by the 50% and by the 90% interval.
    let mut covered = [[0u64; 2]; 2];
    let mut runs = Vec::new();
    let mut widths = [Vec::new(), Vec::new()];
    println!("rep  true rate  true service | rate 90% interval      | service 90% interval    | runs");
    for rep in 1..=reps {
        let dir = scratch.join(rep.to_string());
        std::fs::create_dir_all(&dir).expect("scratch folder");
        std::fs::write(dir.join("queue.toml"), QUEUE).expect("scratch folder is writable");
        // The truth, from the prior.
        let mut rng = rentree::engine::random::stream(2021, rep, "example/calibration-coverage");
        let u: [f64; 2] = [rand::Rng::random(&mut rng), rand::Rng::random(&mut rng)];
        let truth = [2.0 + 18.0 * u[0], 0.2 * 25f64.powf(u[1])];
        let origin = "truth";
        let scenario = Source::file(Some(&dir.join("queue.toml")))
            .expect("the scenario was just written")
            .scenario_with(&[
                Override::set(origin, RATE, &toml::Value::Float(truth[0])),
                Override::set(origin, SERVICE, &toml::Value::Float(truth[1])),
            ])
            .expect("the truth is a valid scenario");
        let report = rentree::world::run(&scenario, 1000 + rep, 0).expect("the centre runs");
        let mut csv = String::from("minute,platform,served,mean_wait_s\n");
        for m in &report.timeseries {
            csv.push_str(&format!("{},{},{},{}\n", m.minute, m.platform, m.served, m.mean_wait_s));
        }
        std::fs::write(dir.join("observed.csv"), csv).expect("scratch folder is writable");
        let text = format!(
            "[calibration]\nname = \"coverage {rep}\"\nscenario = \"queue.toml\"\nparticles = 300\nseed = {rep}\npredictive = 10\ndistance = \"{distance}\"\n\n\
             [parameters]\n\"{RATE}\" = {{ prior = \"uniform\", min = 2.0, max = 20.0 }}\n\
             \"{SERVICE}\" = {{ prior = \"log-uniform\", min = 0.2, max = 5.0 }}\n\n\
             [[series]]\nfile = \"observed.csv\"\nplatform = \"desk\"\nmetrics = [\"served\", \"mean_wait_s\"]\n"
        );
        let path = dir.join("calibration.toml");
        std::fs::write(&path, text).expect("scratch folder is writable");
        let cal = Calibration::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let options = CalibrateOptions {
            out: dir.join("out"),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            resume: false,
            progress: false,
            budget: Default::default(),
            cluster: None,
        };
        let outcome = calibrate(&cal, &options).unwrap_or_else(|e| panic!("{e}"));
        runs.push(outcome.manifest.runs as f64);
        // The final population, from the posterior table as written.
        let post = read_table(&dir.join("out/posterior.parquet")).expect("the posterior table");
        let g = post.num("generation").expect("generation");
        let last = g.iter().copied().fold(0.0, f64::max);
        let w = post.num("weight").expect("weight");
        let mut line = format!("{rep:>3}  {:>9.3}  {:>12.3} |", truth[0], truth[1]);
        for (k, name) in [RATE, SERVICE].iter().enumerate() {
            let x = post.num(name).expect("a parameter column");
            let pop: Vec<(f64, f64)> = (0..post.height).filter(|&i| g[i] == last).map(|i| (x[i], w[i])).collect();
            let q = |p: f64| weighted_quantile(pop.clone(), p);
            if (q(0.25)..=q(0.75)).contains(&truth[k]) {
                covered[k][0] += 1;
            }
            if (q(0.05)..=q(0.95)).contains(&truth[k]) {
                covered[k][1] += 1;
            }
            widths[k].push((q(0.95) - q(0.05)) / truth[k]);
            line.push_str(&format!(" [{:>8.3}, {:>8.3}]   |", q(0.05), q(0.95)));
        }
        println!("{line} {}", outcome.manifest.runs);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!();
    println!("coverage over {reps} synthetic data sets, distance {distance:?} (Wilson 95% intervals):");
    for (k, name) in ["arrival rate", "service time"].iter().enumerate() {
        for (j, nominal) in [0.5, 0.9].iter().enumerate() {
            let (lo, hi) = wilson(covered[k][j], reps);
            println!(
                "  {name:<13} {:>3.0}% interval: {}/{reps} = {:.2} [{lo:.2}, {hi:.2}]",
                100.0 * nominal,
                covered[k][j],
                covered[k][j] as f64 / reps as f64
            );
        }
        let mut w = widths[k].clone();
        w.sort_by(f64::total_cmp);
        println!("  {name:<13} median 90% width: {:.1}% of the true value", 100.0 * w[w.len() / 2]);
    }
    runs.sort_by(f64::total_cmp);
    println!("runs per calibration: median {:.0}, range {:.0} to {:.0}", runs[runs.len() / 2], runs[0], runs[runs.len() - 1]);
    let _ = std::fs::remove_dir_all(&scratch);
}
