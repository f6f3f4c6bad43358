//! Virtual classes: held only if the teacher gets in; a full media server turns the next class away;
//! bandwidth limits make classes degraded; the counts add up.

use crate::common;
use common::run;
use rentree::scenario::Scenario;
use std::path::Path;

/// A platform with classes at one bell (t = 60 s) and `teacher_timeout_s` as the teachers' client timeout.
fn scenario(classes: u32, pupils: f64, servers: u32, rooms: u32, mbps_per_server: f64, teacher_timeout_s: f64) -> Scenario {
    let session = |timeout: f64| {
        format!(
            "session = {{ pages = 0, think = {{ dist = \"exponential\", mean_s = 10.0 }}, timeout_s = {timeout}, retry = {{ backoff = \"fixed\", delay_s = 2.0, max_attempts = 3, jitter = \"none\" }}, comeback = {{ delay = {{ dist = \"deterministic\", value_s = 30.0 }}, max_returns = 2 }} }}"
        )
    };
    let text = format!(
        r#"
[scenario]
name = "classes"
horizon_s = 5400.0

[cohorts.teachers]
platform = "cned"
arrivals = {{ process = "population", count = 1, shape = [[0.0, 1.0], [5400.0, 1.0]] }}
{teachers}

[cohorts.pupils]
platform = "cned"
arrivals = {{ process = "population", count = 1, shape = [[0.0, 1.0], [5400.0, 1.0]] }}
{pupils_session}

[platforms.cned.pool]
servers = 10
workers_per_server = 8
service = {{ dist = "exponential", mean_s = 0.2 }}

[platforms.cned.classes]
bells = [[60.0, {classes}]]
pupils = {pupils}
duration_s = 3600.0
join_spread_s = 120.0
join_window_s = 600.0
teachers = "teachers"
pupils_cohort = "pupils"
media = {{ servers = {servers}, rooms_per_server = {rooms}, mbps_per_server = {mbps_per_server}, mbps_per_participant = 1.0 }}
"#,
        teachers = session(teacher_timeout_s),
        pupils_session = session(30.0),
    );
    Scenario::from_toml(&text, Path::new("classes.toml"), &[]).unwrap()
}

#[test]
fn classes_are_held_when_everyone_gets_in() {
    let r = run(&scenario(200, 5.0, 10, 50, 1000.0, 30.0), 1, 0).summary;
    assert_eq!((r.classes_planned, r.classes_held, r.classes_degraded, r.classes_lost), (200, 200, 0, 0), "{r:?}");
    // Every teacher and every pupil joined (pupils are Poisson with mean 5 per class).
    assert!(r.class_participants > 200 + 5 * 200 * 9 / 10 && r.class_participants < 200 + 5 * 200 * 11 / 10, "{}", r.class_participants);
    // Class participants are not counted as the cohorts' users.
    assert_eq!(r.users, 2);
}

#[test]
fn a_class_whose_teacher_is_rejected_is_lost() {
    // Teachers give up after 1 µs: every login times out before the 0.2 s service.
    let r = run(&scenario(50, 5.0, 10, 50, 1000.0, 0.000001), 1, 0).summary;
    assert_eq!((r.classes_held, r.classes_lost), (0, 50), "{r:?}");
    assert_eq!(r.class_participants, 0, "pupils who got in waited for a teacher who never came");
}

#[test]
fn a_full_media_server_turns_the_next_class_away() {
    // One server with two rooms: the first two teachers in take them, the third class is lost.
    let r = run(&scenario(3, 0.0, 1, 2, 1000.0, 30.0), 1, 0);
    let s = &r.summary;
    assert_eq!((s.classes_held, s.classes_lost), (2, 1), "{s:?}");
    // The rooms are in use during the lesson and freed at its end.
    let cned: Vec<_> = r.timeseries.iter().filter(|m| m.platform == "cned").collect();
    assert_eq!(cned[10].media_rooms_busy, 2);
    assert_eq!(cned.last().unwrap().media_rooms_busy, 0);
}

#[test]
fn bandwidth_limits_make_classes_degraded() {
    // Ten classes of about 20 pupils on one server streaming to 60 participants: most classes miss pupils.
    let r = run(&scenario(10, 20.0, 1, 10, 60.0, 30.0), 1, 0);
    let s = &r.summary;
    assert_eq!(s.classes_held + s.classes_lost, 10);
    assert!(s.classes_degraded >= 5 && s.classes_degraded <= s.classes_held, "{s:?}");
    assert!(r.timeseries.iter().all(|m| m.media_participants <= 60));
    assert!(s.class_participants <= 60);
    // Per-minute counts add up to the summary.
    let held: u64 = r.timeseries.iter().map(|m| m.classes_held).sum();
    let started: u64 = r.timeseries.iter().map(|m| m.classes_started).sum();
    assert_eq!((held, started), (s.classes_held, 10));
}
