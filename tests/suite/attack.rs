//! Attack traffic: the hybrid model (the default) agrees with the request-by-request one at every load, on
//! the grid of `rentree::verify::attack`, and the aggregate (fluid) one in heavy overload; protection blocks
//! the stated shares of attack traffic and of real users; attack requests are conserved.

use crate::common;
use common::run;
use rentree::metrics::ci::{t_quantile, Estimate};
use rentree::metrics::{Summary, SummaryColumn};
use rentree::scenario::{Override, Scenario};
use rentree::verify::attack::{compare, decision_level, Regime};
use std::path::Path;

/// A platform of 20 servers × 4 workers (0.5 s pages, 160 pages/s) with a 2,000-request backlog, real
/// users arriving at 8 a second for two-page sessions, and `attack` (TOML of one `[[platforms.app.attacks]]`
/// table's body) plus `extra` lines for the platform.
fn scenario(model: &str, attack: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "attack"
horizon_s = 1200.0
attack_model = "{model}"

[cohorts.users]
platform = "app"
arrivals = {{ process = "poisson", rate_per_s = 8.0 }}
session = {{ pages = 2, think = {{ dist = "exponential", mean_s = 5.0 }}, timeout_s = 10.0, retry = {{ backoff = "fixed", delay_s = 1.0, max_attempts = 2, jitter = "full" }}, comeback = {{ delay = {{ dist = "uniform", min_s = 30.0, max_s = 60.0 }}, max_returns = 2 }} }}

[platforms.app]
max_connections = 400
{extra}
[platforms.app.pool]
servers = 20
workers_per_server = 4
max_in_system = 2080
service = {{ dist = "exponential", mean_s = 0.5 }}

[[platforms.app.attacks]]
{attack}
"#
    );
    Scenario::from_toml(&text, Path::new("attack.toml"), &[]).unwrap()
}

/// The pool attack: 800 requests a second of a quarter page each (100 slots' worth of work for 80 slots)
/// from 300 s to 900 s: the backlog fills with attack work.
const POOL_ATTACK: &str = r#"bots = 400
rate_per_bot = 2.0
start_s = 300.0
end_s = 900.0
cost = 0.25"#;

/// The front-door attack: 1,000 connections a second held 1 s each against a cap of 400.
const DOOR_ATTACK: &str = r#"bots = 1000
rate_per_bot = 1.0
start_s = 300.0
end_s = 900.0
tier = "front_door"
hold_s = 1.0"#;

/// Real-user metrics compared between the two models.
const METRICS: [SummaryColumn; 5] =
    [SummaryColumn::served, SummaryColumn::blocked, SummaryColumn::timeouts, SummaryColumn::mean_sojourn_s, SummaryColumn::sessions];

fn estimates(s: &Scenario, replications: u64) -> Vec<Estimate> {
    let runs: Vec<Summary> = (0..replications).map(|r| run(s, 7, r).summary).collect();
    METRICS.iter().map(|m| Estimate::new(&runs.iter().map(|x| x.value(*m).unwrap()).collect::<Vec<_>>(), 0.95)).collect()
}

/// Welch's two-sample check of each metric at a Bonferroni-corrected joint level of 99%: `model` against
/// requests one by one.
fn agree(model: &str, tier: &str, attack: &str) {
    let r = 8;
    let aggregate = estimates(&scenario(model, attack, ""), r);
    let requests = estimates(&scenario("requests", attack, ""), r);
    // Half-widths at 95% over 8 replications use t(7); rescale them to the Bonferroni level 1 − 0.01/5 of
    // five metrics judged together.
    let widen = t_quantile(r as usize - 1, 1.0 - 0.01 / 10.0) / t_quantile(r as usize - 1, 0.975);
    for (k, m) in METRICS.iter().enumerate() {
        let (a, q) = (&aggregate[k], &requests[k]);
        let band = widen * (a.half_width.powi(2) + q.half_width.powi(2)).sqrt();
        assert!(
            (a.mean - q.mean).abs() <= band.max(1e-9 * q.mean.abs()),
            "{tier} attack, {m}: {model} {:.4} ± {:.4}, requests {:.4} ± {:.4} (band {band:.4})",
            a.mean,
            a.half_width,
            q.mean,
            q.half_width
        );
    }
}

#[test]
fn a_heavy_pool_attack_matches_requests_one_by_one_in_both_cheap_models() {
    for model in ["hybrid", "aggregate"] {
        agree(model, "pool", POOL_ATTACK);
        // And it does hurt: real requests are turned away by the full backlog and wait behind attack work.
        let s = scenario(model, POOL_ATTACK, "");
        let r = run(&s, 7, 0).summary;
        assert!(r.blocked > 500, "{model}: {r:?}");
        assert!(r.mean_sojourn_s > 1.0, "{model}: {r:?}");
    }
}

#[test]
fn a_heavy_front_door_attack_matches_requests_one_by_one_in_both_cheap_models() {
    for model in ["hybrid", "aggregate"] {
        agree(model, "front-door", DOOR_ATTACK);
        let s = scenario(model, DOOR_ATTACK, "");
        let r = run(&s, 7, 0).summary;
        assert!(r.blocked > 1000, "{model}: connections refused at the door: {r:?}");
    }
}

/// The grid's points in the suite: both sides of where the fluid goes wrong (moderate loads, an attack
/// near capacity) and heavy overload, in every regime.
const GRID_LOADS: [f64; 5] = [0.3, 0.6, 0.8, 1.1, 2.0];

#[test]
fn the_hybrid_model_agrees_with_requests_at_every_load_in_every_regime() {
    let replications = 6;
    let comparisons = Regime::ALL.len() * GRID_LOADS.len() * rentree::verify::attack::METRICS.len();
    // Bonferroni over the whole subset: the test fails by chance on at most 1% of seeds.
    let level = decision_level(0.99, comparisons);
    let mut wrong = Vec::new();
    for regime in Regime::ALL {
        for load in GRID_LOADS {
            for row in compare(regime, load, "hybrid", 41, replications, level) {
                if !row.agrees() {
                    wrong.push(format!(
                        "{} at {load}: {} hybrid {:.4} ± {:.4} vs requests {:.4} ± {:.4}",
                        regime.name(),
                        row.metric,
                        row.model.mean,
                        row.model.half_width,
                        row.reference.mean,
                        row.reference.half_width
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {comparisons} comparisons disagree:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn the_same_comparison_tells_the_fluid_from_requests_where_it_is_wrong() {
    // The comparison has the power to fail: with the same replications and level, it sees the aggregate
    // model's known errors (a priority pool's real requests never waiting for attack requests in service,
    // a bounded backlog filled by chance) that the hybrid model does not make.
    let level = decision_level(0.99, Regime::ALL.len() * GRID_LOADS.len() * rentree::verify::attack::METRICS.len());
    let rows = compare(Regime::PriorityPool, 1.1, "aggregate", 41, 6, level);
    let wait = rows.iter().find(|r| r.metric == SummaryColumn::mean_wait_s).expect("compared");
    assert!(!wait.agrees() && wait.model.mean < 0.5 * wait.reference.mean, "{wait:?}");
    let rows = compare(Regime::PoolLimited, 0.7, "aggregate", 41, 6, level);
    let blocked = rows.iter().find(|r| r.metric == SummaryColumn::blocked).expect("compared");
    assert!(!blocked.agrees() && blocked.model.mean < 0.5 * blocked.reference.mean, "{blocked:?}");
}

#[test]
fn attack_requests_are_conserved() {
    for model in ["hybrid", "aggregate", "requests"] {
        for attack in [POOL_ATTACK, DOOR_ATTACK] {
            let s = scenario(model, attack, "[platforms.app.mitigation]\ndetection_delay_s = 300.0\nblocked_share = 0.5\n");
            let r = run(&s, 3, 0);
            let a = &r.summary;
            // The attack ends at 900 s; by 1,200 s everything it sent is accounted for.
            let accounted = a.attack_mitigated + a.attack_blocked + a.attack_served;
            assert!((a.attack_sent - accounted).abs() <= 1e-6 * a.attack_sent, "{model}: sent {} vs {accounted}", a.attack_sent);
            // Both botnets send their rate for 600 s (Poisson counts: 1% is over 6 standard deviations).
            let expected = if attack == POOL_ATTACK { 800.0 * 600.0 } else { 1000.0 * 600.0 };
            assert!((a.attack_sent - expected).abs() < 0.01 * expected, "{model}: sent {} vs {expected}", a.attack_sent);
            // The timeseries adds up to the summary.
            let sent: f64 = r.timeseries.iter().map(|m| m.attack_sent).sum();
            assert!((sent - a.attack_sent).abs() <= 1e-6 * sent);
        }
    }
}

#[test]
fn protection_blocks_its_share_of_attack_traffic_and_of_real_users() {
    for model in ["hybrid", "aggregate"] {
        protection_blocks(model);
    }
}

fn protection_blocks(model: &str) {
    let protection = "[platforms.app.mitigation]\ndetection_delay_s = 0.0\nblocked_share = 0.9\nfalse_positive_share = 0.1\ngeo_filter = true\nreal_abroad_share = 0.05\n";
    let attack = POOL_ATTACK.replace("start_s = 300.0", "start_s = 0.0").replace("end_s = 900.0", "end_s = 1200.0");
    let s = scenario(model, &(attack.clone() + "\nabroad_share = 0.5"), protection);
    let r = run(&s, 11, 0);
    let a = &r.summary;
    // Attack traffic: 90% caught, and the geo-filter takes the half from abroad of the rest. The aggregate
    // model counts expectations; the hybrid one draws the passing requests (a Poisson count whose
    // standard deviation is its square root) and counts the caught ones' expectation: 4.5 deviations.
    let passing = 0.1 * 0.5;
    let band = if model == "aggregate" { 1e-9 } else { 4.5 * (passing * a.attack_sent).sqrt() / a.attack_sent };
    assert!((a.attack_mitigated / a.attack_sent - (1.0 - passing)).abs() < band, "{model}: {a:?}");
    // Real users: each is flagged with probability 1 − 0.9 × 0.95 (false positive, or abroad), and all
    // flagged users are blocked since protection is on from the start. Binomial 99.9% band.
    let p = 1.0 - 0.9 * 0.95;
    let n = a.users as f64;
    let share = a.mitigated_users as f64 / n;
    let band = 3.3 * (p * (1.0 - p) / n).sqrt();
    assert!((share - p).abs() < band, "mitigated share {share:.4} vs {p:.4} ± {band:.4} over {n} users");
    // Protection relieves the pool: without it the same attack fills the backlog and turns users away.
    let unprotected = run(&scenario(model, &(attack + "\nabroad_share = 0.5"), ""), 11, 0).summary;
    // (With protection, the only requests blocked are those of the users it flags.)
    assert!(
        unprotected.blocked > 1000 && a.blocked == a.mitigated_requests,
        "blocked with protection {}, without {}",
        a.blocked,
        unprotected.blocked
    );
    assert!(a.attack_served < 0.1 * unprotected.attack_served);
}

#[test]
fn protection_engages_after_its_detection_delay() {
    for model in ["hybrid", "aggregate"] {
        protection_engages(model);
    }
}

fn protection_engages(model: &str) {
    let s = scenario(model, POOL_ATTACK, "[platforms.app.mitigation]\ndetection_delay_s = 120.0\nblocked_share = 0.95\n");
    let r = run(&s, 5, 0);
    let rows: Vec<_> = r.timeseries.iter().filter(|m| m.platform == "app").collect();
    // Attack from 300 s: protection at 420 s, the end of minute 6 (its flag is read at the minute's end).
    assert!(rows[..6].iter().all(|m| m.mitigation_on == 0) && rows[..7].iter().all(|m| m.attack_mitigated == 0.0));
    assert!(rows[7..].iter().all(|m| m.mitigation_on == 1));
    assert!(rows[8].attack_mitigated > 0.94 * rows[8].attack_sent);
    // Before protection, the attack's work keeps slots busy; after, much less.
    assert!(
        rows[6].attack_busy_slots > 60.0 && rows[10].attack_busy_slots < 10.0,
        "{} {}",
        rows[6].attack_busy_slots,
        rows[10].attack_busy_slots
    );
}

#[test]
fn an_unknown_attack_model_or_tier_is_refused_with_its_field() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/textbook/mm1.toml")).unwrap();
    let bad = Override::parse("scenario.attack_model=\"fluid\"").unwrap();
    let e = Scenario::from_toml(&text, Path::new("mm1.toml"), &[bad]).unwrap_err().to_string();
    assert!(e.contains("scenario.attack_model") && e.contains("hybrid") && e.contains("aggregate"), "{e}");
    // An unknown tier names the attack's field and the tiers there are.
    let text =
        format!("{}\n[[platforms.server.attacks]]\nbots = 10\nrate_per_bot = 1.0\nstart_s = 0.0\nend_s = 10.0\ntier = \"dns\"\n", text);
    let e = Scenario::from_toml(&text, Path::new("mm1.toml"), &[]).unwrap_err().to_string();
    assert!(e.contains("attacks[0].tier") && e.contains("front_door"), "{e}");
}

#[test]
fn more_attacks_on_one_platform_than_an_event_can_name_are_refused() {
    // An attack's events name it in 11 bits: 2,048 attacks on a platform are taken, one more is refused.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/textbook/mm1.toml")).unwrap();
    let attack = "\n[[platforms.server.attacks]]\nbots = 1\nrate_per_bot = 0.001\nstart_s = 0.0\nend_s = 10.0\n";
    let with = |n: usize| format!("{text}{}", attack.repeat(n));
    assert!(Scenario::from_toml(&with(rentree::scenario::MAX_ATTACKS), Path::new("mm1.toml"), &[]).is_ok());
    let e = Scenario::from_toml(&with(rentree::scenario::MAX_ATTACKS + 1), Path::new("mm1.toml"), &[]).unwrap_err().to_string();
    assert!(e.contains("platforms.server.attacks") && e.contains("2049 attacks") && e.contains("at most 2048"), "{e}");
}

#[test]
fn the_hybrid_models_cost_is_bounded_by_capacity_not_by_the_attack() {
    // A thousand times the attack costs about the same events: beyond what the tier admits, nothing is
    // drawn. With a bounded backlog the stream parks while the pool is full; with an unbounded one the
    // attack requests beyond its share of the backlog wait as a fluid.
    for regime in [Regime::PoolLimited, Regime::Pool, Regime::FrontDoor] {
        let events = |load: f64| run(&rentree::verify::attack::scenario(regime, load, "hybrid"), 3, 0).events as f64;
        let (heavy, huge) = (events(2.0), events(2000.0));
        assert!(huge < 1.5 * heavy, "{}: {huge} events at 2,000 times capacity against {heavy} at twice", regime.name());
    }
    // The requests model's grow with the attack (the reference is not bounded).
    let requests = |load: f64| run(&rentree::verify::attack::scenario(Regime::PoolLimited, load, "requests"), 3, 0).events as f64;
    assert!(requests(20.0) > 5.0 * requests(2.0));
}
