//! The complete replay at its faithful scale: the Cned's attacks, protection and virtual classes reproduce
//! its own figures, each shipped variant changes what it should, and a run does not depend on the number of
//! threads. Each statement holds at 0.1 and at full scale; the figures quoted beside them are both, seed 1
//! (`RENTREE_TEST_SCALE=1 cargo test --release --test suite replay:: -- --nocapture`, about nine minutes here).

use crate::common;
use common::run;
use rentree::builtin;
use rentree::metrics::{MinuteRow, Summary};
use rentree::scenario::{Override, Scenario};
use rentree::world::RunReport;
use std::path::Path;

/// A tenth of the country, the replay's faithful scale (README, "Scale bias"): server counts, populations,
/// botnets and classes all scale together. Every statement below was also checked at full scale, with
/// `RENTREE_TEST_SCALE=1` (see `common::test_scale`).
fn scale() -> f64 {
    common::test_scale(0.1)
}

fn replay(variant: Option<&str>) -> RunReport {
    let m = &builtin::REPLAY;
    let o: Vec<Override> = variant.map(|v| Override::variant(m.text, Path::new(m.path), v).unwrap()).unwrap_or_default();
    run(&Scenario::from_toml_scaled(m.text, Path::new(m.path), &o, scale()).unwrap(), 1, 0)
}

/// The day itself, which three tests read: a run is a pure function of (scenario, seed), so it is made once.
fn day() -> &'static RunReport {
    static DAY: std::sync::OnceLock<RunReport> = std::sync::OnceLock::new();
    DAY.get_or_init(|| replay(None))
}

fn row<'a>(r: &'a RunReport, platform: &str) -> &'a Summary {
    r.rows.iter().find(|s| s.platform == platform && s.cohort == "all").unwrap()
}

fn cned(r: &RunReport) -> Vec<&MinuteRow> {
    r.timeseries.iter().filter(|m| m.platform == "cned").collect()
}

/// Minute index of a wall-clock time (the run starts at 7:00).
fn at(hh: u64, mm: u64) -> usize {
    ((hh - 7) * 60 + mm) as usize
}

#[test]
fn virtual_classes_and_connections_match_the_cneds_figures() {
    let r = day();
    let c = row(r, "cned");
    // [ref] 155,345 virtual classes held on 6 April; within 5% (155,050 scaled up at 0.1, 155,224 at 1).
    let held = c.classes_held as f64 / scale();
    assert!((held - 155_345.0).abs() < 0.05 * 155_345.0, "{held} classes held");
    assert_eq!(c.classes_planned, c.classes_held + c.classes_lost);
    // [ref] 1.2 million connections: the cohorts' logins plus the classes' participants, within 15% (1.251
    // million at 0.1, 1.248 at 1).
    let connections = (c.sessions + c.class_participants) as f64 / scale();
    assert!((connections - 1.2e6).abs() < 0.15 * 1.2e6, "{connections} connections");
}

#[test]
fn the_morning_attack_slows_the_cned_until_protection_then_the_1430_flood_cuts_it() {
    let r = day();
    let m = cned(r);
    let refused_share = |from: usize, to: usize| {
        let (refused, attempts): (u64, u64) = m[from..to].iter().fold((0, 0), |(a, b), x| (a + x.refused, b + x.attempts));
        refused as f64 / attempts.max(1) as f64
    };
    // Before 7:55 no attack; from 8:05 bursts; protection at 10:05 (2 hours after the first attack).
    assert!(m[..at(8, 5)].iter().all(|x| x.attack_sent == 0.0));
    assert!(m[at(8, 5)..at(10, 5)].iter().filter(|x| x.attack_busy_slots > 0.5 * x.slots as f64).count() > 30, "bursts fill the pool");
    assert!(m[at(10, 5)].mitigation_on == 1 && m[at(10, 3)].mitigation_on == 0);
    let before = refused_share(at(8, 5), at(10, 5));
    let after = refused_share(at(10, 10), at(12, 0));
    // Refused: 40.7% / 0% at 0.1, 40.9% / 0% at 1.
    assert!(before > 0.3 && after < 0.02, "refused {before:.3} under the morning attacks, {after:.3} after protection");
    // The massive attack from 14:25: most connections refused at the front door for its hour.
    let flood = refused_share(at(14, 35), at(15, 20));
    // 83.5% at 0.1, 82.8% at 1.
    assert!(flood > 0.5, "refused {flood:.3} during the flood");
    assert!(m[at(14, 40)].attack_blocked > 0.5 * (m[at(14, 40)].attack_sent - m[at(14, 40)].attack_mitigated));
    // Protection blocks its share, and wrongly blocks a few real users. What it should block follows from
    // the file: 99.5% of the flood (2 million a second for an hour, 7.2e9 requests) and of the campaign
    // after 10:05 (200,000 a second, 40% of the time, 5.4 of its 7.4 hours: 1.56e9 of 2.14e9 requests),
    // so 0.995 × (7.2 + 1.56) / (7.2 + 2.14) = 93% of all attack requests, less the flood's ramp (93.75% at
    // 0.1 and at 1).
    let c = row(r, "cned");
    let share = c.attack_mitigated / c.attack_sent;
    assert!((0.92..0.95).contains(&share) && c.mitigated_users > 0, "protection blocked {share:.4}");
}

/// What each shipped variant changes, in statements that hold at 0.1 and at full scale: exact ones (no attack
/// sent, the ENT's loss leaving Pronote untouched) and ratios far larger than the bias measured between
/// reduced and full scale (`models/scale-bias.md`). Pre-warming and the autoscaler are faithful at full scale
/// only, but their gain over the day (twelve times as many in, at 0.1 and at 1) is far above the 1.5 times
/// checked. Two statements once checked
/// here held at 0.01 only and are gone: quick protection losing fewer classes (at full scale 3.5% ± 0.2
/// against the day's 3.3% ± 0.7), and pre-warming letting more of Pronote's users in by 9:00 than the
/// autoscaler (66.7% both at full scale; at 0.01 both variants collapse by chance, see README, "Scale bias").
#[test]
fn each_variant_changes_what_it_says() {
    let day = day();
    let no_attack = replay(Some("no-attack"));
    let fast = replay(Some("mitigated-in-5-min"));
    assert_eq!(row(&no_attack, "cned").attack_sent, 0.0);
    let lost = |r: &RunReport| row(r, "cned").classes_lost;
    assert!(lost(&no_attack) < lost(day), "lost {} / {}", lost(day), lost(&no_attack));
    // Protection in 5 minutes: the morning's refusals at the Cned mostly disappear (11.5 times fewer at
    // 0.1, 11.1 at 1).
    let refused = |r: &RunReport| cned(r)[at(8, 5)..at(10, 5)].iter().map(|m| m.refused).sum::<u64>();
    assert!(refused(&fast) * 5 < refused(day), "{} vs {}", refused(&fast), refused(day));

    let share = |r: &RunReport, p: &str| row(r, p).served_share_by_0900;
    let warm = replay(Some("pre-warming"));
    let auto = replay(Some("autoscaling"));
    let loss = replay(Some("hosting-loss"));
    // Pre-warming and reactive autoscaling both serve Pronote's 8:00 surge far better than the day (by 9:00:
    // 66.7% and 66.7% against 5.3% at full scale, 58.3% and 54.9% against 4.8% at 0.1).
    assert!(share(&warm, "pronote") > 1.5 * share(day, "pronote") && share(&auto, "pronote") > 1.5 * share(day, "pronote"));
    assert!(row(&warm, "all").server_hours > row(day, "all").server_hours);
    // Losing 30% of the ENTs' servers (and of their quota) makes the ENT worse off, and nobody else (ENT users
    // in by 9:00: 2.2% against 3.1%, at 0.1 and at 1).
    assert!(share(&loss, "ent") < share(day, "ent"));
    assert_eq!(share(&loss, "pronote"), share(day, "pronote"));
}

#[test]
fn a_run_is_the_same_on_one_thread_or_two() {
    let s = {
        let m = &builtin::REPLAY;
        Scenario::from_toml_scaled(m.text, Path::new(m.path), &[], scale()).unwrap()
    };
    let on = |threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| run(&s, 3, 1));
    let (one, two) = (on(1), on(2));
    // (Compared as text: some rows hold NaN, which is never equal to itself.)
    assert_eq!(format!("{:?}", one.rows), format!("{:?}", two.rows));
    assert_eq!(format!("{:?}", one.timeseries), format!("{:?}", two.timeseries));
    assert_eq!(one.events, two.events);
}

#[test]
fn a_run_stopped_at_nine_is_the_days_run_until_nine() {
    // What `experiments/provisioning/optimize-full.toml` rests on: nothing after the horizon acts on what
    // came before it, so the day stopped at 9:00 has the same minutes until 9:00, and the same number of
    // users in by 9:00, as the whole day. Only the denominators of the shares change (the users come by the
    // horizon).
    let m = &builtin::REPLAY;
    let nine = [Override::set("test", "scenario.horizon_s", &toml::Value::Float(7200.0))];
    let cut = run(&Scenario::from_toml_scaled(m.text, Path::new(m.path), &nine, scale()).unwrap(), 1, 0);
    let day = day();
    // Minutes 7:00 to 8:58 whole. The last minute, 8:59, closes at 9:00 sharp: the whole day closes it
    // before the events due at 9:00 that were scheduled after its tick (the protection of the Cned switching
    // on), a run ending at 9:00 after every event due by then, so the states it reports at its close
    // (`mitigation_on`) may differ; its counts and the logins by 9:00 (below) may not.
    let until_nine = |r: &RunReport| format!("{:?}", r.timeseries.iter().filter(|x| x.minute < 119).collect::<Vec<_>>());
    assert_eq!(until_nine(&cut), until_nine(day));
    assert!(cut.timeseries.iter().all(|x| x.minute < 120));
    let last = |r: &RunReport| {
        let rows: Vec<MinuteRow> =
            r.timeseries.iter().filter(|x| x.minute == 119).map(|x| MinuteRow { mitigation_on: 0, ..x.clone() }).collect();
        format!("{rows:?}")
    };
    assert_eq!(last(&cut), last(day));
    for s in cut.rows.iter().filter(|s| s.cohort == "all") {
        let whole = row(day, &s.platform);
        let in_by_nine = |x: &Summary| (x.served_share_by_0900 * x.users as f64).round();
        assert_eq!(in_by_nine(s), in_by_nine(whole), "{}", s.platform);
        assert!(s.users < whole.users, "{}: {} users by 9:00, {} in the day", s.platform, s.users, whole.users);
    }
}
