//! `rentree report`: a self-contained briefing page (plotly.js embedded, no network request) and, on
//! request, each chart as PNG or SVG for slides.
//!
//! This is the only module that knows plotly. It reads results through [`crate::output::read_table`]
//! (polars stays in `output`) and renders with headless Chromium only for image export.

mod calibration;
mod charts;
mod decisions;
pub mod labels;
mod pdf;

use crate::error::{Error, Result};
use crate::metrics::{AccessColumn as A, Column, MinuteColumn as M, Stat, SummaryColumn as S};
use crate::output::{self, Table};
use crate::scenario::fidelity;
use labels::Lang;
use plotly::common::{ErrorData, ErrorType, Fill, Mode, Title};
use plotly::layout::{Axis, AxisType, BarMode, Layout};
use plotly::{Bar, Plot, Scatter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `rentree report`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Output directory (the page and the images).
    pub out: PathBuf,
    /// Language.
    pub lang: Lang,
    /// Write each chart as PNG.
    pub png: bool,
    /// Write each chart as SVG.
    pub svg: bool,
    /// Write the printed briefing (A4 PDF).
    pub pdf: bool,
    /// The Chromium binary used for image export.
    pub chromium: PathBuf,
}

/// A chart of the page.
struct Chart {
    id: String,
    title: String,
    note: Option<String>,
    plot: Plot,
}

/// What the report wrote.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The page.
    pub page: PathBuf,
    /// Images written, and the PDF if asked for.
    pub images: Vec<PathBuf>,
    /// The summary sentences.
    pub sentences: Vec<String>,
}

fn layout(title: &str, x: &str, y: &str) -> Layout {
    Layout::new()
        .title(Title::with_text(title))
        .height(420)
        .x_axis(Axis::new().title(Title::with_text(x)).n_ticks(16))
        .y_axis(Axis::new().title(Title::with_text(y)))
}

/// Rows of a table grouped by a text column, keeping first-appearance order.
fn group_rows(t: &Table, key: &str) -> Result<Vec<(String, Vec<usize>)>> {
    let keys = t.text(key)?;
    let mut order: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        if !rows.contains_key(k) {
            order.push(k.clone());
        }
        rows.entry(k.clone()).or_default().push(i);
    }
    Ok(order
        .into_iter()
        .map(|k| {
            let r = rows.remove(&k).unwrap_or_default();
            (k, r)
        })
        .collect())
}

fn pick(col: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&i| col[i]).collect()
}

/// The briefing of one run.
fn run_report(dir: &Path, lang: Lang, scale: f64) -> Result<(String, Vec<String>, Vec<Chart>)> {
    let summary = output::read_table(&dir.join("summary.parquet"))?;
    let ts = output::read_table(&dir.join("timeseries.parquet"))?;
    let name = text(&summary, S::scenario)?.first().cloned().unwrap_or_default();
    // The whole-system row is the first.
    let row = |c: S| num(&summary, c).map(|v| v[0]);
    let mut sentences = Vec::new();
    let users = row(S::users)?;
    if users > 0.0 {
        sentences.push(match lang {
            Lang::Fr => format!(
                "À 9 h, {} des utilisateurs s'étaient connectés ({} à midi).",
                lang.percent(row(S::served_share_by_0900)?),
                lang.percent(row(S::served_share_by_1200)?)
            ),
            Lang::En => format!(
                "By 9:00, {} of users had logged in ({} by noon).",
                lang.percent(row(S::served_share_by_0900)?),
                lang.percent(row(S::served_share_by_1200)?)
            ),
        });
        sentences.push(match lang {
            Lang::Fr => format!(
                "Sur {} utilisateurs, {} sont entrés ; pour 95 % d'entre eux, il a fallu moins de {} depuis le premier essai.",
                lang.count(users),
                lang.count(row(S::accessed)?),
                lang.minutes(row(S::p95_time_to_access_s)?)
            ),
            Lang::En => format!(
                "Of {} users, {} got in; 95% of them within {} of their first try.",
                lang.count(users),
                lang.count(row(S::accessed)?),
                lang.minutes(row(S::p95_time_to_access_s)?)
            ),
        });
        sentences.push(match lang {
            Lang::Fr => format!(
                "Chaque session ouverte a coûté {} requêtes (nouvelles tentatives comprises) ; {} utilisateurs ont renoncé pour la matinée.",
                lang.decimal(row(S::amplification)?),
                lang.count(row(S::gave_up)?)
            ),
            Lang::En => format!(
                "Each session opened took {} requests (retries included); {} users gave up for the morning.",
                lang.decimal(row(S::amplification)?),
                lang.count(row(S::gave_up)?)
            ),
        });
    } else {
        sentences.push(match lang {
            Lang::Fr => format!(
                "{} requêtes servies, attente moyenne {} s, utilisation {}.",
                lang.count(row(S::served)?),
                lang.decimal(row(S::mean_wait_s)?),
                lang.percent(row(S::utilization)?)
            ),
            Lang::En => format!(
                "{} requests served, mean wait {} s, utilization {}.",
                lang.count(row(S::served)?),
                lang.decimal(row(S::mean_wait_s)?),
                lang.percent(row(S::utilization)?)
            ),
        });
    }
    let clock = text(&ts, M::clock)?;
    let tier = text(&ts, M::tier)?;
    let platforms: Vec<(String, Vec<usize>)> =
        group_rows(&ts, M::platform.name())?.into_iter().filter(|(_, rows)| rows.first().is_some_and(|&i| tier[i] == "platform")).collect();
    let x = |rows: &[usize]| charts::timestamps(clock, rows);
    // Counts drawn at the national population: a reduced scale's pools and crowds are a fraction of the
    // country's, and a reader compares the chart with national figures (the axis says so).
    let national = charts::national(scale);
    let up = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|y| y * national).collect() };
    let per_min = lang.national_axis(lang.t("per_minute"), scale);
    let marks = run_marks(&ts, &platforms, clock, lang)?;
    let mut charts = Vec::new();

    // Demand against capacity, one panel per platform: requests sent as a tinted area, answered in time as
    // the platform's line, capacity dashed in the same colour. A panel's axis stops a little above
    // capacity, so that what was answered stays readable beside a retry storm; the storm's peak is written.
    let mut demand = Plot::new();
    let mut panels = Vec::new();
    let mut peaks = Vec::new();
    for (k, (p, rows)) in platforms.iter().enumerate() {
        let colour = charts::colour(k);
        let offered: Vec<f64> =
            up(pick(num(&ts, M::attempts)?, rows).iter().zip(pick(num(&ts, M::logins_rejected)?, rows)).map(|(a, r)| a + r).collect());
        let goodput = up(pick(num(&ts, M::goodput)?, rows));
        let capacity = up(pick(num(&ts, M::capacity_per_min)?, rows));
        let max = |v: &[f64]| v.iter().copied().fold(0.0_f64, f64::max);
        let served_top = max(&goodput).max(max(&capacity));
        let top = (max(&offered) > 2.0 * served_top && served_top > 0.0).then_some(1.6 * served_top);
        if let Some(top) = top {
            let (at, peak) = offered.iter().enumerate().fold((0, 0.0), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            peaks.push(
                plotly::layout::Annotation::new()
                    .text(format!("{} {} {}", lang.mark("peak"), charts::short(lang, peak), lang.clock(&clock[rows[at]])))
                    .x_ref("x")
                    .y_ref(charts::y_name(k.min(charts::MAX_PANELS - 1)))
                    .x(x(&rows[at..=at])[0].clone())
                    .y(top)
                    .y_anchor(plotly::common::Anchor::Top)
                    .show_arrow(false)
                    .font(plotly::common::Font::new().size(11).color(colour)),
            );
        }
        let first = k == 0;
        let sent = charts::on_panel(
            Scatter::new(x(rows), offered)
                .mode(Mode::Lines)
                .name(lang.t("attempts"))
                .legend_group("sent")
                .show_legend(first)
                .fill(Fill::ToZeroY)
                .fill_color(charts::tint(colour, 0.18))
                .line(plotly::common::Line::new().width(0.0).color(charts::tint(colour, 0.18))),
            k,
        );
        demand.add_trace(sent);
        demand.add_trace(charts::on_panel(
            charts::line(x(rows), goodput, lang.t("goodput").into(), colour, plotly::common::DashType::Solid, 2.0)
                .legend_group("goodput")
                .show_legend(first),
            k,
        ));
        demand.add_trace(charts::on_panel(
            charts::line(x(rows), capacity, lang.t("capacity").into(), colour, plotly::common::DashType::Dash, 1.5)
                .legend_group("capacity")
                .show_legend(first),
            k,
        ));
        panels.push(charts::Panel { title: p.clone(), colour, top });
    }
    demand.set_layout(charts::stack_layout(lang, lang.t("demand"), &per_min, &panels, &marks, peaks));
    charts.push(Chart { id: "demand".into(), title: lang.t("demand").into(), note: Some(lang.t("demand_note").into()), plot: demand });

    // Logins of every platform together: not a platform's chart, so in greys and a red, never a platform's
    // colour.
    let mut logins = Plot::new();
    for (col, colour, dash) in [
        (M::logins_ok, "#222222", plotly::common::DashType::Solid),
        (M::logins_rejected, "#888888", plotly::common::DashType::Dash),
        (M::timeouts, "#B2182B", plotly::common::DashType::Solid),
    ] {
        // Summed over platforms, minute by minute.
        let (first_rows, values) = sum_over_platforms(&ts, &platforms, col)?;
        logins.add_trace(charts::line(x(&first_rows), up(values), lang.t(col.name()).into(), colour, dash, 1.8));
    }
    logins.set_layout(charts::time_layout(lang, lang.t("logins"), &per_min));
    charts.push(Chart { id: "logins".into(), title: lang.t("logins").into(), note: None, plot: logins });

    let mut sessions = Plot::new();
    for (k, (p, rows)) in platforms.iter().enumerate() {
        let colour = charts::colour(k);
        sessions.add_trace(charts::line(
            x(rows),
            up(pick(num(&ts, M::active_sessions)?, rows)),
            format!("{p}: {}", lang.t("active_sessions")),
            colour,
            plotly::common::DashType::Solid,
            2.0,
        ));
        let room = pick(num(&ts, M::waiting_room_len)?, rows);
        if room.iter().any(|&v| v > 0.0) {
            sessions.add_trace(charts::line(
                x(rows),
                up(room),
                format!("{p}: {}", lang.t("room")),
                colour,
                plotly::common::DashType::Dash,
                2.0,
            ));
        }
    }
    sessions.set_layout(charts::time_layout(lang, lang.t("sessions"), &lang.national_axis(lang.t("users_axis"), scale)));
    charts.push(Chart { id: "sessions".into(), title: lang.t("sessions").into(), note: None, plot: sessions });

    // The orbit: people who failed or were refused and wait to try again, whose retries can keep a platform
    // saturated after the demand that tipped it has passed.
    let mut orbit = Plot::new();
    for (k, (p, rows)) in platforms.iter().enumerate() {
        orbit.add_trace(charts::line(
            x(rows),
            up(pick(num(&ts, M::mean_orbit)?, rows)),
            format!("{p}: {}", lang.t("mean_orbit")),
            charts::colour(k),
            plotly::common::DashType::Solid,
            2.0,
        ));
    }
    orbit.set_layout(charts::time_layout(lang, lang.t("orbit"), &lang.national_axis(lang.t("users_axis"), scale)));
    charts.push(Chart { id: "orbit".into(), title: lang.t("orbit").into(), note: None, plot: orbit });
    if users > 0.0 {
        sentences.push(match lang {
            Lang::Fr => format!(
                "En moyenne, {} utilisateurs attendaient de réessayer ou de revenir ; {} des premières tentatives ont échoué, \
                 et chaque première tentative a coûté {} requêtes.",
                lang.count(row(S::mean_orbit)?),
                lang.percent(row(S::first_attempt_failure_share)?),
                lang.decimal(row(S::retry_amplification)?)
            ),
            Lang::En => format!(
                "On average {} users were waiting to retry or to come back; {} of first attempts failed, and each first attempt \
                 cost {} requests.",
                lang.count(row(S::mean_orbit)?),
                lang.percent(row(S::first_attempt_failure_share)?),
                lang.decimal(row(S::retry_amplification)?)
            ),
        });
    }

    let access_path = dir.join("access.parquet");
    if access_path.exists() {
        let a = output::read_table(&access_path)?;
        let mut cdf = Plot::new();
        // Cohorts are not platforms: the whole population in black, each cohort in a grey of its own dash, so
        // that no cohort borrows a platform's colour.
        let dashes = [
            plotly::common::DashType::Dash,
            plotly::common::DashType::Dot,
            plotly::common::DashType::DashDot,
            plotly::common::DashType::LongDash,
        ];
        let mut k = 0;
        for (cohort, rows) in group_rows(&a, A::cohort.name())? {
            let minutes: Vec<f64> = pick(num(&a, A::time_to_access_s)?, &rows).iter().map(|s| s / 60.0).collect();
            let (colour, dash, width) = if cohort == "all" {
                ("#000000", plotly::common::DashType::Solid, 2.5)
            } else {
                k += 1;
                ("#666666", dashes[(k - 1) % dashes.len()].clone(), 1.5)
            };
            cdf.add_trace(
                Scatter::new(minutes, pick(num(&a, A::share)?, &rows))
                    .mode(Mode::Lines)
                    .name(cohort)
                    .line(plotly::common::Line::new().color(colour).dash(dash).width(width)),
            );
        }
        cdf.set_layout(layout(lang.t("cdf"), lang.t("cdf_x"), lang.t("cdf_y")));
        charts.push(Chart { id: "access".into(), title: lang.t("cdf").into(), note: None, plot: cdf });
    }

    // Attack traffic against real traffic, per attacked platform in its colour, on a log scale (botnets send
    // orders of magnitude more than people). Results from a scenario without attack show the real traffic
    // and say so.
    let mut attack = Plot::new();
    let attacked: Vec<(usize, &(String, Vec<usize>))> = match num(&ts, M::attack_sent) {
        Ok(sent) => platforms.iter().enumerate().filter(|(_, (_, rows))| rows.iter().any(|&i| sent[i] > 0.0)).collect(),
        Err(_) => Vec::new(),
    };
    let note = if attacked.is_empty() {
        let (first_rows, real) = sum_over_platforms(&ts, &platforms, M::attempts)?;
        attack.add_trace(charts::line(x(&first_rows), up(real), lang.t("real").into(), "#222222", plotly::common::DashType::Solid, 1.8));
        attack.set_layout(charts::time_layout(lang, lang.t("attack"), &per_min));
        Some(lang.t("no_attack").into())
    } else {
        for (k, (p, rows)) in &attacked {
            let sent = pick(num(&ts, M::attack_sent)?, rows);
            let mitigated = pick(num(&ts, M::attack_mitigated)?, rows);
            let through: Vec<f64> = sent.iter().zip(&mitigated).map(|(s, m)| s - m).collect();
            use plotly::common::DashType as D;
            let series = [
                ("attack_sent", sent, D::Solid, 2.5),
                ("attack_mitigated", mitigated, D::Dot, 1.5),
                ("attack_through", through, D::Dash, 1.5),
                ("real", pick(num(&ts, M::attempts)?, rows), D::Solid, 1.0),
                ("real_mitigated", pick(num(&ts, M::mitigated_requests)?, rows), D::DashDot, 1.0),
            ];
            for (key, values, dash, width) in series {
                // Zeros have no place on a log axis: leave gaps.
                let values: Vec<Option<f64>> = up(values).into_iter().map(|v| (v > 0.0).then_some(v)).collect();
                attack.add_trace(
                    Scatter::new(x(rows), values)
                        .mode(Mode::Lines)
                        .name(format!("{p}: {}", lang.t(key)))
                        .line(plotly::common::Line::new().color(charts::colour(*k)).dash(dash).width(width)),
                );
            }
        }
        let log = lang.national_axis(lang.t("per_minute_log"), scale);
        attack.set_layout(
            charts::time_layout(lang, lang.t("attack"), &log).y_axis(Axis::new().title(Title::with_text(&log)).type_(AxisType::Log)),
        );
        None
    };
    charts.push(Chart { id: "attack".into(), title: lang.t("attack").into(), note, plot: attack });

    // Virtual classes, where the scenario has them.
    if let (Ok(planned), Ok(held), Ok(lost), Ok(degraded)) =
        (row(S::classes_planned), row(S::classes_held), row(S::classes_lost), row(S::classes_degraded))
    {
        if planned > 0.0 {
            sentences.push(match lang {
                Lang::Fr => format!(
                    "Classes virtuelles : {} tenues sur {} prévues ({} dégradées, des élèves n'ayant pas pu entrer ; {} perdues).",
                    lang.count(held),
                    lang.count(planned),
                    lang.count(degraded),
                    lang.count(lost)
                ),
                Lang::En => format!(
                    "Virtual classes: {} held of {} planned ({} degraded, with pupils who could not join; {} lost).",
                    lang.count(held),
                    lang.count(planned),
                    lang.count(degraded),
                    lang.count(lost)
                ),
            });
        }
    }
    if let (Ok(sent), Ok(mitigated), Ok(users_blocked)) = (row(S::attack_sent), row(S::attack_mitigated), row(S::mitigated_users)) {
        if sent > 0.0 {
            sentences.push(match lang {
                Lang::Fr => format!(
                    "Attaques : {} requêtes d'attaque, dont {} bloquées par la protection ; {} utilisateurs réels bloqués à tort.",
                    lang.count(sent),
                    lang.percent(mitigated / sent),
                    lang.count(users_blocked)
                ),
                Lang::En => format!(
                    "Attacks: {} attack requests, {} of them blocked by the protection; {} real users wrongly blocked.",
                    lang.count(sent),
                    lang.percent(mitigated / sent),
                    lang.count(users_blocked)
                ),
            });
        }
    }
    Ok((name, sentences, charts))
}

/// What a reader looks for on the run's time charts, read from its minute rows: the bells (minutes when
/// virtual classes start after a minute without), the end of arrivals, and per platform the first minute a
/// quota refused a login, a waiting room held someone, an attack arrived or protection was on, and the
/// minutes its capacity fell by a fifth or more.
fn run_marks(ts: &Table, platforms: &[(String, Vec<usize>)], clock: &[String], lang: Lang) -> Result<Vec<charts::Mark>> {
    let mut marks = Vec::new();
    let at = |rows: &[usize], k: usize| charts::timestamps(clock, rows).swap_remove(k);
    let Some((_, first_rows)) = platforms.first() else { return Ok(marks) };
    if let Ok((_, started)) = sum_over_platforms(ts, platforms, M::classes_started) {
        let mut labelled = false;
        for k in 1..started.len() {
            if started[k] > 0.0 && started[k - 1] == 0.0 {
                marks.push(charts::Mark { at: at(first_rows, k), text: lang.mark("bell").into(), panel: None, quiet: labelled });
                labelled = true;
            }
        }
    }
    let (_, arrived) = sum_over_platforms(ts, platforms, M::users_arrived)?;
    if let Some(last) = arrived.iter().rposition(|&v| v > 0.0) {
        if last + 1 < arrived.len() {
            marks.push(charts::Mark { at: at(first_rows, last + 1), text: lang.mark("arrivals_end").into(), panel: None, quiet: false });
        }
    }
    for (k, (_, rows)) in platforms.iter().enumerate() {
        let mut firsts: Vec<(M, &str)> = vec![(M::logins_rejected, "quota"), (M::waiting_room_len, "room")];
        // Older result files may lack the attack columns.
        if ts.num(M::attack_sent.name()).is_ok() {
            firsts.extend([(M::attack_sent, "attack"), (M::mitigation_on, "protection")]);
        }
        for (col, key) in firsts {
            if let Some(i) = charts::first(num(ts, col)?, rows, |v| v > 0.0) {
                marks.push(charts::Mark { at: at(rows, i), text: lang.mark(key).into(), panel: Some(k), quiet: false });
            }
        }
        let capacity = num(ts, M::capacity_per_min)?;
        let mut lost = 0;
        for w in 1..rows.len() {
            let (before, now) = (capacity[rows[w - 1]], capacity[rows[w]]);
            if before > 0.0 && now < 0.8 * before && lost < 2 {
                marks.push(charts::Mark {
                    at: at(rows, w),
                    text: format!("{} ({})", lang.mark("capacity_lost"), lang.percent(now / before - 1.0)),
                    panel: Some(k),
                    quiet: false,
                });
                lost += 1;
            }
        }
    }
    Ok(marks)
}

/// A numeric column of a result table, named by the registry.
fn num<C: Column>(t: &Table, c: C) -> Result<&[f64]> {
    t.num(c.name())
}

/// A text column of a result table, named by the registry.
fn text<C: Column>(t: &Table, c: C) -> Result<&[String]> {
    t.text(c.name())
}

/// A sweep's statistic of a column over replications (`<column>_mean`, `_hw95`, ...).
fn stat<C: Column>(t: &Table, c: C, s: Stat) -> Result<&[f64]> {
    t.num(&s.of(c))
}

/// A column summed over platforms, minute by minute (platforms share their minutes); the registry says
/// whether the column adds up.
fn sum_over_platforms(ts: &Table, platforms: &[(String, Vec<usize>)], col: M) -> Result<(Vec<usize>, Vec<f64>)> {
    debug_assert!(col.merge().additive(), "{col} does not add up over platforms");
    let c = num(ts, col)?;
    let first = platforms.first().map(|(_, r)| r.clone()).unwrap_or_default();
    let mut sum = vec![0.0; first.len()];
    for (_, rows) in platforms {
        for (k, &i) in rows.iter().enumerate().take(sum.len()) {
            sum[k] += c[i];
        }
    }
    Ok((first, sum))
}

/// A sweep's `plan.json`.
fn read_plan(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::Parse { path, message: e.to_string() })
}

/// The briefing of a sweep.
fn sweep_report(dir: &Path, lang: Lang) -> Result<(String, Vec<String>, Vec<Chart>)> {
    let configs = output::read_table(&dir.join("configs.parquet"))?;
    let plan = read_plan(dir)?;
    let name = plan["experiment"].as_str().unwrap_or("").to_owned();
    let labels: Vec<String> = configs.text("label")?.to_vec();
    let s9 = stat(&configs, S::served_share_by_0900, Stat::Mean)?;
    let h9 = stat(&configs, S::served_share_by_0900, Stat::Hw95)?;
    let s12 = stat(&configs, S::served_share_by_1200, Stat::Mean)?;
    let h12 = stat(&configs, S::served_share_by_1200, Stat::Hw95)?;
    let cost = stat(&configs, S::server_hours, Stat::Mean)?;
    // A sweep of queues without users (a textbook model's optimisation) has no share of users to compare.
    if !stat(&configs, S::users, Stat::Mean)?.iter().any(|&u| u > 0.0) {
        let sentence = match lang {
            Lang::Fr => format!("{} configurations simulées.", labels.len()),
            Lang::En => format!("{} configurations simulated.", labels.len()),
        };
        return Ok((name, vec![sentence], Vec::new()));
    }
    let best = (0..labels.len()).max_by(|&a, &b| s9[a].total_cmp(&s9[b])).unwrap_or(0);
    let worst = (0..labels.len()).min_by(|&a, &b| s9[a].total_cmp(&s9[b])).unwrap_or(0);
    let sentences = vec![
        match lang {
            Lang::Fr => format!(
                "Meilleure stratégie à 9 h : « {} », avec {} des utilisateurs connectés (± {}), contre {} pour « {} ».",
                labels[best],
                lang.percent(s9[best]),
                lang.percent(h9[best]),
                lang.percent(s9[worst]),
                labels[worst]
            ),
            Lang::En => format!(
                "Best strategy by 9:00: \"{}\", with {} of users logged in (± {}), against {} for \"{}\".",
                labels[best],
                lang.percent(s9[best]),
                lang.percent(h9[best]),
                lang.percent(s9[worst]),
                labels[worst]
            ),
        },
        match lang {
            Lang::Fr => format!("{} configurations comparées sur les mêmes élèves (nombres aléatoires communs).", labels.len()),
            Lang::En => format!("{} configurations compared on the same pupils (common random numbers).", labels.len()),
        },
    ];
    let mut charts = Vec::new();
    let mut side = Plot::new();
    side.add_trace(
        Bar::new(labels.clone(), s9.to_vec()).name(lang.t("share_0900")).error_y(ErrorData::new(ErrorType::Data).array(h9.to_vec())),
    );
    side.add_trace(
        Bar::new(labels.clone(), s12.to_vec()).name(lang.t("share_1200")).error_y(ErrorData::new(ErrorType::Data).array(h12.to_vec())),
    );
    side.set_layout(layout(lang.t("strategies"), "", lang.t("cdf_y")).bar_mode(BarMode::Group));
    charts.push(Chart { id: "strategies".into(), title: lang.t("strategies").into(), note: None, plot: side });

    // Frontier: the configurations no other beats on both cost and service.
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| cost[a].total_cmp(&cost[b]).then(s9[b].total_cmp(&s9[a])));
    let mut frontier = Vec::new();
    let mut best_so_far = f64::NEG_INFINITY;
    for &i in &order {
        if s9[i] > best_so_far {
            frontier.push(i);
            best_so_far = s9[i];
        }
    }
    let mut fr = Plot::new();
    fr.add_trace(
        Scatter::new(cost.to_vec(), s9.to_vec())
            .mode(Mode::MarkersText)
            .text_array(labels.clone())
            .name(lang.t("share_0900"))
            .error_y(ErrorData::new(ErrorType::Data).array(h9.to_vec())),
    );
    fr.add_trace(Scatter::new(pick(cost, &frontier), pick(s9, &frontier)).mode(Mode::Lines).name("frontier"));
    fr.set_layout(layout(lang.t("frontier"), lang.t("server_hours"), lang.t("share_0900")));
    charts.push(Chart { id: "frontier".into(), title: lang.t("frontier").into(), note: None, plot: fr });

    let ts = output::read_table(&dir.join("timeseries.parquet"))?;
    // Minutes drawn as times of day from the runs' shared start (a plan written before it was kept, or
    // configurations starting at different times: time since the start, on the same hourly ticks), and
    // counts at the national population, as on a run's briefing.
    let start_s = plan["clock_start_s"].as_f64();
    let scale = plan["scale"].as_f64().unwrap_or(1.0);
    let national = charts::national(scale);
    let clock_of = |minute: u64| charts::clock_of(start_s.unwrap_or(0.0) / 60.0 + minute as f64);
    let mut bands = Plot::new();
    for (k, (label, rows)) in group_rows(&ts, "label")?.into_iter().enumerate() {
        // Sum the platforms of each minute (rows come platform by platform, minutes in order).
        let minutes = num(&ts, M::minute)?;
        let mut by_minute: BTreeMap<u64, (f64, f64, f64)> = BTreeMap::new();
        let (m, lo, hi) = (stat(&ts, M::goodput, Stat::Mean)?, stat(&ts, M::goodput, Stat::Lo)?, stat(&ts, M::goodput, Stat::Hi)?);
        for &i in &rows {
            let e = by_minute.entry(minutes[i] as u64).or_default();
            e.0 += m[i] * national;
            e.1 += lo[i] * national;
            e.2 += hi[i] * national;
        }
        let clocks: Vec<String> = by_minute.keys().map(|&k| clock_of(k)).collect();
        let xs = charts::timestamps(&clocks, &(0..clocks.len()).collect::<Vec<_>>());
        let mut band_x = xs.clone();
        band_x.extend(xs.iter().rev().cloned());
        let mut band_y: Vec<f64> = by_minute.values().map(|v| v.2).collect();
        // A count is never below zero, whatever a t interval of few replications says.
        band_y.extend(by_minute.values().rev().map(|v| v.1.max(0.0)));
        // Strategies are not platforms: a colour each from the far end of the palette.
        let colour = charts::PALETTE[charts::PALETTE.len() - 2 - (k % (charts::PALETTE.len() - 1))];
        bands.add_trace(
            Scatter::new(band_x, band_y)
                .fill(Fill::ToSelf)
                .fill_color(charts::tint(colour, 0.2))
                .mode(Mode::None)
                .show_legend(false)
                .name(format!("{label} 95%")),
        );
        bands.add_trace(charts::line(xs, by_minute.values().map(|v| v.0).collect(), label, colour, plotly::common::DashType::Solid, 2.0));
    }
    let mut axis = charts::time_axis(lang);
    if start_s.is_none() {
        axis = axis.title(Title::with_text(match lang {
            Lang::Fr => "temps depuis le début",
            Lang::En => "time since the start",
        }));
    }
    bands.set_layout(charts::time_layout(lang, lang.t("goodput_bands"), &lang.national_axis(lang.t("per_minute"), scale)).x_axis(axis));
    charts.push(Chart { id: "bands".into(), title: lang.t("goodput_bands").into(), note: None, plot: bands });
    Ok((name, sentences, charts))
}

/// What the printed briefing says under its title: the population simulated and what it stands for.
fn subtitle(dir: &Path, is_run: bool, scale: Option<f64>, lang: Lang) -> Result<String> {
    let scale = scale.unwrap_or(1.0);
    let s = match lang {
        Lang::Fr => format!("{scale}").replace('.', ","),
        Lang::En => format!("{scale}"),
    };
    if !is_run {
        return Ok(match lang {
            Lang::Fr => format!("Simulé à l'échelle {s}."),
            Lang::En => format!("Simulated at scale {s}."),
        });
    }
    let summary = output::read_table(&dir.join("summary.parquet"))?;
    let users = num(&summary, S::users)?.first().copied().unwrap_or(0.0);
    Ok(match (lang, scale < 1.0 && scale > 0.0) {
        (Lang::Fr, true) => {
            format!("{} personnes simulées à l'échelle {s}, pour {} dans le pays.", lang.count(users), lang.count(users / scale))
        }
        (Lang::En, true) => {
            format!("{} people simulated at scale {s}, standing for {} nationally.", lang.count(users), lang.count(users / scale))
        }
        (Lang::Fr, false) => format!("{} personnes simulées, à l'échelle réelle.", lang.count(users)),
        (Lang::En, false) => format!("{} people simulated, at full scale.", lang.count(users)),
    })
}

/// The assumptions a run's figures rest on, as a reader needs them: each platform's capacity and the
/// admission that refused logins, what was changed from the scenario file, and where the rest is written.
fn run_assumptions(dir: &Path, manifest: &serde_json::Value, scale: f64, lang: Lang) -> Result<Vec<String>> {
    let ts = output::read_table(&dir.join("timeseries.parquet"))?;
    let tier = text(&ts, M::tier)?;
    let national = charts::national(scale);
    let (capacity, rejected, room) = (num(&ts, M::capacity_per_min)?, num(&ts, M::logins_rejected)?, num(&ts, M::waiting_room_len)?);
    let mut out = Vec::new();
    for (p, rows) in group_rows(&ts, M::platform.name())? {
        let kind = rows.first().map_or("", |&i| tier[i].as_str());
        let peak = rows.iter().map(|&i| capacity[i]).fold(0.0_f64, f64::max) * national;
        let refused: f64 = rows.iter().map(|&i| rejected[i]).sum::<f64>() * national;
        let queued = rows.iter().any(|&i| room[i] > 0.0);
        let mut line = match lang {
            Lang::Fr => format!("{p} ({kind}) : capacité nominale jusqu'à {} requêtes par minute", lang.count(peak)),
            Lang::En => format!("{p} ({kind}): nominal capacity up to {} requests a minute", lang.count(peak)),
        };
        if refused > 0.0 {
            line.push_str(&match lang {
                Lang::Fr => format!(" ; l'admission a refusé {} connexions", lang.count(refused)),
                Lang::En => format!("; admission refused {} logins", lang.count(refused)),
            });
        }
        if queued {
            line.push_str(match lang {
                Lang::Fr => " ; une salle d'attente a retenu des utilisateurs",
                Lang::En => "; a waiting room held users",
            });
        }
        line.push('.');
        out.push(line);
    }
    let overrides: Vec<String> =
        manifest["overrides"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    if !overrides.is_empty() {
        out.push(match lang {
            Lang::Fr => format!("Changé par rapport au fichier de scénario : {}.", overrides.join(", ")),
            Lang::En => format!("Changed from the scenario file: {}.", overrides.join(", ")),
        });
    }
    let source = manifest["scenario_source"].as_str().unwrap_or("?");
    out.push(match lang {
        Lang::Fr => format!(
            "Capacités, patience et retours sont des hypothèses du fichier de scénario ({source}), chacune marquée [assumption] ou [ref] \
             avec sa source ; graine {}, une réplication.",
            manifest["seed"]
        ),
        Lang::En => format!(
            "Capacities, patience and come-backs are assumptions of the scenario file ({source}), each marked [assumption] or [ref] \
             with its source; seed {}, one replication.",
            manifest["seed"]
        ),
    });
    Ok(out)
}

/// The printed briefing's last line: date, version and the command that made the results.
fn footer(dir: &Path, manifest: &serde_json::Value) -> String {
    let version = manifest["rentree_version"].as_str().unwrap_or(env!("CARGO_PKG_VERSION"));
    let command = if let Some(source) = manifest["scenario_source"].as_str() {
        let mut c = String::from("rentree run");
        if !source.starts_with("builtin:") {
            c.push_str(&format!(" {source}"));
        }
        c.push_str(&format!(" --seed {} --scale {}", manifest["seed"], manifest["scale"]));
        for o in manifest["overrides"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
            c.push_str(&format!(" --set {o}"));
        }
        c
    } else {
        format!("rentree … {}", manifest["experiment_file"].as_str().unwrap_or(""))
    };
    format!("{} · rentree {version} · {command} · {}", pdf::today(), dir.display())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes the briefing of the run or sweep in `dir`.
///
/// Refuses a folder that is not one complete run or sweep (see [`output::check_results`]): no manifest (the
/// run was interrupted or is being written), a file the manifest lists missing, or a table from another run.
pub fn report(dir: &Path, options: &ReportOptions) -> Result<ReportOutcome> {
    let lang = options.lang;
    if !["manifest.json", "plan.json", "configs.parquet"].iter().chain(output::RUN_TABLES).any(|f| dir.join(f).exists()) {
        return Err(Error::Read {
            path: dir.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "neither a run (summary.parquet) nor a sweep (configs.parquet)"),
        });
    }
    // Only what the manifest vouches for is read: a table beside it may be from another, interrupted run.
    let checked = output::check_results(dir)?;
    let is_calibration = checked.has(crate::sweep::calibrate::POSTERIOR_TABLE);
    let is_sweep = checked.has("configs.parquet");
    let needed: &[&str] =
        if is_sweep { &["configs.parquet", "timeseries.parquet", "plan.json"] } else { &["summary.parquet", "timeseries.parquet"] };
    if let Some(missing) = needed.iter().find(|f| !checked.has(f) && !is_calibration) {
        return Err(Error::Parse {
            path: dir.to_owned(),
            message: format!(
                "manifest.json lists no {missing}: the briefing reads {}; rerun with --format parquet (or both)",
                needed.join(", ")
            ),
        });
    }
    let (name, mut sentences, mut charts) = if is_calibration {
        calibration::calibration(dir, lang)?
    } else if is_sweep {
        sweep_report(dir, lang)?
    } else {
        run_report(dir, lang, checked.scale.unwrap_or(1.0))?
    };
    // The printed briefing keeps the run's first three headlines and every interval of a posterior.
    let run_headlines = sentences.len().min(3);
    let mut headlines: Vec<usize> = (0..run_headlines).collect();
    if !is_calibration && !is_sweep {
        let before = sentences.len();
        sentences.extend(calibration::posterior_sentences(dir, lang)?);
        sentences.extend(calibration::calibrated_sentences(dir, lang)?);
        headlines.extend(before..sentences.len());
    }
    // A decision made on the sweep (a selection, an optimisation, a sensitivity analysis) comes first.
    let mut kind = if is_calibration {
        "title_calibration"
    } else if is_sweep {
        "title_sweep"
    } else {
        "title_run"
    };
    if is_sweep {
        let (said, drawn) = decisions::decisions(dir, &checked, lang)?;
        for (table, title) in [
            ("selection.parquet", "title_selection"),
            ("optimization.parquet", "title_optimization"),
            ("sensitivity.parquet", "title_sensitivity"),
            ("stability.parquet", "title_stability"),
        ] {
            if checked.has(table) {
                kind = title;
            }
        }
        if checked.has("stability.parquet") {
            // A stability study's configurations are twins, not alternatives: the sweep's comparison of
            // strategies would compare each run with its own baseline.
            sentences.clear();
            charts.clear();
        }
        // A decision's own sentences lead, and are the printed headlines.
        headlines = (0..said.len().max(run_headlines)).collect();
        sentences.splice(0..0, said);
        charts.splice(0..0, drawn);
    }
    output::ensure_dir(&options.out)?;
    let title = format!("{} — {}", lang.t(kind), name);
    let mut body = String::new();
    body.push_str(&format!("<h1>{}</h1>\n", escape(&title)));
    // The scale the figures come from, and a warning when it is below the scenario's faithful scale: a
    // briefing is read by people who decide, and a reduced scale can reverse a study's conclusion.
    if let Some(scale) = checked.scale {
        let (note, warn) = lang.scale_note(fidelity::classify(scale, checked.faithful_scale), scale);
        let class = if warn { "scale warning" } else { "scale" };
        body.push_str(&format!("<p class=\"{class}\" id=\"scale\">{}</p>\n", escape(&note)));
    }
    body.push_str(&format!("<section id=\"summary\"><h2>{}</h2><ul>\n", lang.t("summary")));
    for s in &sentences {
        body.push_str(&format!("<li class=\"headline\">{}</li>\n", escape(s)));
    }
    body.push_str("</ul></section>\n");
    for c in &charts {
        body.push_str(&format!("<section class=\"chart\"><h2>{}</h2>\n", escape(&c.title)));
        if let Some(n) = &c.note {
            body.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
        body.push_str(&format!("<div class=\"plot\">{}</div></section>\n", c.plot.to_inline_html(Some(&c.id))));
    }
    body.push_str(&format!("<p class=\"source\">{}: {}</p>\n", lang.t("source"), escape(&dir.display().to_string())));
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         .plot{{height:440px}} .headline{{font-size:1.15em;margin:.3em 0}} .note{{color:#555}} .warning{{background:#fff3cd;border-left:4px solid #c77c00;padding:.6em .9em}}</style>\n{}\n</head>\n<body>\n{}</body>\n</html>\n",
        lang.code(),
        escape(&title),
        Plot::offline_js_sources(),
        body
    );
    let page_path = options.out.join(format!("briefing-{}.html", lang.code()));
    output::write_atomic(&page_path, |f| std::io::Write::write_all(f, page.as_bytes()).map_err(|e| e.to_string()))?;
    let mut wanted = Vec::new();
    for (format, asked) in [("png", options.png), ("svg", options.svg)] {
        if asked {
            for c in &charts {
                wanted.push((c, format, options.out.join(format!("{}-{}.{format}", c.id, lang.code()))));
            }
        }
    }
    if !wanted.is_empty() {
        export(&options.chromium, &charts, &wanted)?;
    }
    let mut images: Vec<PathBuf> = wanted.into_iter().map(|(_, _, path)| path).collect();
    if options.pdf {
        let is_run = !is_calibration && !is_sweep;
        let manifest = calibration::run_manifest(dir)?;
        let scale_note = checked.scale.map(|scale| lang.scale_note(fidelity::classify(scale, checked.faithful_scale), scale));
        let printed = pdf::Printed {
            title: &title,
            subtitle: subtitle(dir, is_run, checked.scale, lang)?,
            scale_note,
            sentences: headlines.iter().filter_map(|&i| sentences.get(i).cloned()).collect(),
            charts: pdf::story(&charts, is_run),
            assumptions: if is_run { run_assumptions(dir, &manifest, checked.scale.unwrap_or(1.0), lang)? } else { Vec::new() },
            footer: footer(dir, &manifest),
        };
        let path = options.out.join(format!("briefing-{}.pdf", lang.code()));
        pdf::write(&printed, lang, &options.chromium, &path)?;
        images.push(path);
    }
    Ok(ReportOutcome { page: page_path, images, sentences })
}

/// Runs headless Chromium on a page of `scratch` with the flags every use shares (no sandbox, GPU,
/// networking or profile of the user's: a profile in `scratch`; virtual time for plotly to draw) and the
/// caller's `extra` ones (what to do with the page: dump its DOM, print it).
fn headless(chromium: &Path, scratch: &Path, extra: &[String], page: &Path) -> std::io::Result<std::process::Output> {
    std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", scratch.join("profile").display()))
        .args(extra)
        .arg(page)
        .output()
}

/// Renders charts to PNG or SVG with one headless Chromium: a scratch page draws every chart with the
/// embedded plotly.js, asks plotly for each image wanted and prints it (base64) into the DOM, which Chromium
/// dumps once. (One browser for all: its start-up, seconds each, dominated an export chart by chart.)
fn export(chromium: &Path, charts: &[Chart], wanted: &[(&Chart, &str, PathBuf)]) -> Result<()> {
    use base64::Engine;
    let first = &wanted[0].2;
    let err = |path: &Path, m: String| Error::Write { path: path.to_owned(), message: m };
    let scratch = tempfile::tempdir().map_err(|e| err(first, e.to_string()))?;
    let mut body = String::new();
    for c in charts {
        body.push_str(&format!("<div style=\"width:1000px;height:500px\">{}</div>\n", c.plot.to_inline_html(Some(&c.id))));
    }
    let jobs: Vec<String> = wanted.iter().map(|(c, format, _)| format!("['{}','{format}']", c.id)).collect();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">{}</head><body>{body}\
         <script>\n[{}].forEach(function(job){{ var id=job[0], format=job[1];\
         (function wait(){{ var gd=document.getElementById(id); if(!gd||!gd._fullLayout){{return setTimeout(wait,50);}}\
         Plotly.toImage(gd,{{format:format,width:1000,height:500}}).then(function(u){{\
         var b = format==='svg' ? btoa(unescape(encodeURIComponent(decodeURIComponent(u.replace(/^data:image\\/svg\\+xml,/,''))))) : u.split(',')[1];\
         var p=document.createElement('pre'); p.id='export-'+id+'-'+format; p.textContent=b; document.body.appendChild(p); }}); }})(); }});\n</script></body></html>",
        Plot::offline_js_sources(),
        jobs.join(",")
    );
    let html = scratch.path().join("charts.html");
    std::fs::write(&html, page).map_err(|e| err(first, e.to_string()))?;
    let out = headless(chromium, scratch.path(), &["--dump-dom".into()], &html)
        .map_err(|e| err(first, format!("cannot run {}: {e} (install Debian's chromium, or pass --chromium)", chromium.display())))?;
    let dom = String::from_utf8_lossy(&out.stdout);
    for (c, format, path) in wanted {
        let tag = format!("<pre id=\"export-{}-{format}\">", c.id);
        let start =
            dom.find(&tag).ok_or_else(|| err(path, format!("{} drew no image (exit {:?})", chromium.display(), out.status.code())))?
                + tag.len();
        let end = dom[start..].find("</pre>").map(|e| start + e).ok_or_else(|| err(path, "truncated image".into()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(dom[start..end].trim())
            .map_err(|e| err(path, format!("bad image data: {e}")))?;
        output::write_atomic(path, |f| std::io::Write::write_all(f, &bytes).map_err(|e| e.to_string()))?;
    }
    Ok(())
}
