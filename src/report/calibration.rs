//! The briefing of a calibration (`rentree calibrate`): what the observations taught about each unknown, and
//! whether the calibrated model reproduces them.
//!
//! Each parameter gets its prior against its posterior (the final population's weighted histogram, as a
//! density), with the 90% credible interval in the sentence; each observed series its observations against
//! the posterior-predictive mean and 90% band, minute by minute; the targets their reported value and error
//! against the same band. What is said comes from the manifest's note and the two tables, both vouched for by
//! the manifest's checksums.

use super::labels::Lang;
use super::{layout, Chart};
use crate::error::{Error, Result};
use crate::output;
use plotly::common::{ErrorData, ErrorType, Fill, Line, Marker, Mode};
use plotly::{Bar, Plot, Scatter};
use serde_json::Value;
use std::path::Path;

/// A run folder's manifest, as JSON (the report has checked it already).
pub(super) fn run_manifest(dir: &Path) -> Result<Value> {
    let path = dir.join(output::MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::Parse { path, message: e.to_string() })
}

/// The sentences of a run made at a calibration's posterior median (`rentree run --posterior`): each
/// headline figure with its credible interval over the calibrated unknowns and a single run's own noise.
/// None for a run without a posterior.
pub(super) fn posterior_sentences(dir: &Path, lang: Lang) -> Result<Vec<String>> {
    let m = run_manifest(dir)?;
    let note = &m["posterior"];
    let Some(metrics) = note["metrics"].as_array() else {
        return Ok(Vec::new());
    };
    let users = metrics.iter().find(|x| x["metric"] == "users").and_then(|x| x["value"].as_f64()).unwrap_or(0.0);
    let headline: &[&str] = if users > 0.0 {
        &["served_share_by_0900", "served_share_by_1200", "p95_time_to_access_s"]
    } else {
        &["mean_wait_s", "utilization"]
    };
    let draws = note["draws"].as_u64().unwrap_or(0);
    let mut said = Vec::new();
    for x in metrics.iter().filter(|x| x["metric"].as_str().is_some_and(|n| headline.contains(&n))) {
        let f = |k: &str| x[k].as_f64().unwrap_or(f64::NAN);
        let name = x["metric"].as_str().unwrap_or("");
        let share = name.starts_with("served_share") || name == "utilization";
        let show = |v: f64| if share { lang.percent(v) } else { number(lang, v) };
        let noise = if share { lang.percent(f("noise_sd")) } else { number(lang, f("noise_sd")) };
        said.push(match lang {
            Lang::Fr => format!(
                "{name} : {} (intervalle crédible à 90 % de {} à {} sur les inconnues calées, {draws} tirages a posteriori ; ± {noise} de bruit propre à la simulation).",
                show(f("value")),
                show(f("credible_lo")),
                show(f("credible_hi"))
            ),
            Lang::En => format!(
                "{name}: {} (90% credible interval {} to {} over the calibrated unknowns, {draws} posterior draws; ± {noise} from the simulation's own noise).",
                show(f("value")),
                show(f("credible_lo")),
                show(f("credible_hi"))
            ),
        });
    }
    Ok(said)
}

/// The sentences of a run of a built-in model as it stands, whose calibration ships with it: each headline
/// figure beside the calibration's 90% posterior-predictive interval. None for other runs.
pub(super) fn calibrated_sentences(dir: &Path, lang: Lang) -> Result<Vec<String>> {
    let m = run_manifest(dir)?;
    let note = &m["calibrated"];
    let Some(metrics) = note["metrics"].as_array() else {
        return Ok(Vec::new());
    };
    let runs = note["predictive_runs"].as_u64().unwrap_or(0);
    let scale = note["calibration_scale"].as_f64().unwrap_or(f64::NAN);
    let folder = note["calibration"].as_str().unwrap_or("");
    let mut said = vec![match lang {
        Lang::Fr => format!(
            "Calage sur les chiffres rapportés ce jour-là ({folder}, {runs} simulations a posteriori à l'échelle {}) : intervalles à 90 %.",
            format!("{scale}").replace('.', ",")
        ),
        Lang::En => format!(
            "Calibrated to the figures reported that day ({folder}, {runs} posterior-predictive runs at scale {}): 90% intervals.",
            scale
        ),
    }];
    for x in metrics.iter().filter(|x| {
        x["metric"]
            .as_str()
            .is_some_and(|n| ["accessed", "served_share_by_0900", "served_share_by_1200", "p95_time_to_access_s"].contains(&n))
    }) {
        let f = |k: &str| x[k].as_f64().unwrap_or(f64::NAN);
        let metric = x["metric"].as_str().unwrap_or("");
        // In a reader's words and units: shares as percentages, counts with separators, times in minutes.
        let (name, show): (&str, Box<dyn Fn(f64) -> String>) = match (metric, lang) {
            ("accessed", Lang::Fr) => ("Utilisateurs entrés", Box::new(move |v| lang.count(v))),
            ("accessed", Lang::En) => ("Users who got in", Box::new(move |v| lang.count(v))),
            ("served_share_by_0900", Lang::Fr) => ("Connectés à 9 h", Box::new(move |v| lang.percent(v))),
            ("served_share_by_0900", Lang::En) => ("In by 9:00", Box::new(move |v| lang.percent(v))),
            ("served_share_by_1200", Lang::Fr) => ("Connectés à midi", Box::new(move |v| lang.percent(v))),
            ("served_share_by_1200", Lang::En) => ("In by noon", Box::new(move |v| lang.percent(v))),
            (_, Lang::Fr) => ("Délai pour 95 % des entrés", Box::new(move |v| lang.minutes(v))),
            (_, Lang::En) => ("Time for 95% of those who got in", Box::new(move |v| lang.minutes(v))),
        };
        said.push(match lang {
            Lang::Fr => {
                format!("{name} : {} dans cette simulation ; {} à {} une fois calé.", show(f("value")), show(f("q05")), show(f("q95")))
            }
            Lang::En => format!("{name}: {} in this run; {} to {} once calibrated.", show(f("value")), show(f("q05")), show(f("q95"))),
        });
    }
    Ok(said)
}

/// Bins of a posterior histogram.
const BINS: usize = 30;

fn number(lang: Lang, x: f64) -> String {
    let digits = if x == 0.0 || !x.is_finite() { 0 } else { (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize };
    let s = format!("{x:.digits$}");
    match lang {
        Lang::Fr => s.replace('.', ","),
        Lang::En => s,
    }
}

/// The calibration's name, sentences and charts.
pub(super) fn calibration(dir: &Path, lang: Lang) -> Result<(String, Vec<String>, Vec<Chart>)> {
    let path = dir.join(output::MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    let m: Value = serde_json::from_str(&text).map_err(|e| Error::Parse { path: path.clone(), message: e.to_string() })?;
    let name = m["calibration"].as_str().unwrap_or("").to_owned();
    let generations = m["generations"].as_array().map_or(0, Vec::len);
    let runs = m["runs"].as_f64().unwrap_or(f64::NAN);
    let statistics = m["statistics"].as_f64().unwrap_or(f64::NAN);
    let mut sentences = vec![match lang {
        Lang::Fr => format!(
            "Calage par ABC-SMC sur {statistics} observations : {generations} générations, {runs} simulations ; les intervalles sont crédibles à 90 %."
        ),
        Lang::En => format!(
            "Calibrated by ABC-SMC on {statistics} observations: {generations} generations, {runs} runs; intervals are 90% credible intervals."
        ),
    }];
    let post = output::read_table(&dir.join(crate::sweep::calibrate::POSTERIOR_TABLE))?;
    let generation = post.num("generation")?;
    let last = generation.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let rows: Vec<usize> = (0..post.height).filter(|&i| generation[i] == last).collect();
    let weight = post.num("weight")?;
    let mut charts = Vec::new();
    for (k, p) in m["parameters"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let pname = p["name"].as_str().unwrap_or("");
        let f = |key: &str| p[key].as_f64().unwrap_or(f64::NAN);
        let (min, max) = (f("min"), f("max"));
        sentences.push(match lang {
            Lang::Fr => format!(
                "{pname} : {} (de {} à {}), {} % de la largeur a priori (a priori {} sur [{}, {}]).",
                number(lang, f("median")),
                number(lang, f("q05")),
                number(lang, f("q95")),
                (100.0 * f("narrowing")).round(),
                p["prior"].as_str().unwrap_or(""),
                number(lang, min),
                number(lang, max)
            ),
            Lang::En => format!(
                "{pname}: {} ({} to {}), {}% of the prior's width (prior {} on [{}, {}]).",
                number(lang, f("median")),
                number(lang, f("q05")),
                number(lang, f("q95")),
                (100.0 * f("narrowing")).round(),
                p["prior"].as_str().unwrap_or(""),
                number(lang, min),
                number(lang, max)
            ),
        });
        // The posterior as a density over the prior's range, in bins of equal width (of the logarithm for a
        // log-uniform prior, where the prior is flat).
        let log = p["prior"].as_str() == Some("log-uniform");
        let to = |x: f64| if log { x.ln() } else { x };
        let from = |u: f64| if log { u.exp() } else { u };
        let (a, b) = (to(min), to(max));
        let width = (b - a) / BINS as f64;
        let values = post.num(pname)?;
        let mut mass = vec![0.0; BINS];
        for &i in &rows {
            let bin = (((to(values[i]) - a) / width).floor().max(0.0) as usize).min(BINS - 1);
            mass[bin] += weight[i];
        }
        let centres: Vec<f64> = (0..BINS).map(|j| from(a + (j as f64 + 0.5) * width)).collect();
        let prior: Vec<f64> = (0..BINS)
            .map(|j| match (f("prior_mean"), f("prior_sd")) {
                (mean, sd) if mean.is_finite() && sd > 0.0 => {
                    let x = from(a + (j as f64 + 0.5) * width);
                    (-0.5 * ((x - mean) / sd).powi(2)).exp()
                }
                _ => 1.0,
            })
            .collect();
        let prior_total: f64 = prior.iter().sum();
        let mut plot = Plot::new();
        plot.add_trace(
            Bar::new(centres.clone(), mass)
                .name(if lang == Lang::Fr { "a posteriori" } else { "posterior" })
                .marker(Marker::new().color("#1f77b4")),
        );
        plot.add_trace(
            Scatter::new(centres, prior.iter().map(|x| x / prior_total).collect())
                .mode(Mode::Lines)
                .line(Line::new().color("#888888").shape(plotly::common::LineShape::Hvh))
                .name(if lang == Lang::Fr { "a priori" } else { "prior" }),
        );
        let title = match lang {
            Lang::Fr => format!("{pname} : a priori et a posteriori"),
            Lang::En => format!("{pname}: prior and posterior"),
        };
        let mut l = layout(&title, pname, if lang == Lang::Fr { "probabilité par classe" } else { "probability per bin" });
        if log {
            l = l.x_axis(plotly::layout::Axis::new().type_(plotly::layout::AxisType::Log).title(plotly::common::Title::with_text(pname)));
        }
        plot.set_layout(l);
        charts.push(Chart { id: format!("posterior-{k}"), title, note: None, plot });
    }
    // Observations against the posterior predictive: a chart per (platform, metric) series, one for targets.
    let pred = output::read_table(&dir.join(crate::sweep::calibrate::PREDICTIVE_TABLE))?;
    let (kind, platform, metric, clock) = (pred.text("kind")?, pred.text("platform")?, pred.text("metric")?, pred.text("clock")?);
    let (obs, sd, mean, lo, hi) = (
        pred.num("observed")?,
        pred.num("observed_sd")?,
        pred.num("predictive_mean")?,
        pred.num("predictive_lo")?,
        pred.num("predictive_hi")?,
    );
    let mut series: Vec<(String, String)> = Vec::new();
    for i in 0..pred.height {
        let key = (platform[i].clone(), metric[i].clone());
        if kind[i] == "series" && !series.contains(&key) {
            series.push(key);
        }
    }
    let (band, observed) = match lang {
        Lang::Fr => ("prédiction à 90 %", "observé"),
        Lang::En => ("90% prediction", "observed"),
    };
    for (j, (pf, mt)) in series.iter().enumerate() {
        let idx: Vec<usize> = (0..pred.height).filter(|&i| kind[i] == "series" && &platform[i] == pf && &metric[i] == mt).collect();
        // Times of day on hourly ticks, as on a run's briefing.
        let x = super::charts::timestamps(clock, &idx);
        let pick = |c: &[f64]| idx.iter().map(|&i| c[i]).collect::<Vec<f64>>();
        let mut plot = Plot::new();
        plot.add_trace(
            Scatter::new(x.clone(), pick(lo)).mode(Mode::Lines).line(Line::new().width(0.0).color("#9ecae1")).show_legend(false),
        );
        plot.add_trace(
            Scatter::new(x.clone(), pick(hi))
                .mode(Mode::Lines)
                .fill(Fill::ToNextY)
                .line(Line::new().width(0.0).color("#9ecae1"))
                .name(band),
        );
        plot.add_trace(
            Scatter::new(x.clone(), pick(mean)).mode(Mode::Lines).line(Line::new().color("#1f77b4")).name(if lang == Lang::Fr {
                "moyenne prédite"
            } else {
                "predicted mean"
            }),
        );
        plot.add_trace(Scatter::new(x, pick(obs)).mode(Mode::Markers).marker(Marker::new().color("#d62728")).name(observed));
        let title = match lang {
            Lang::Fr => format!("{pf} : {mt} observé et prédit"),
            Lang::En => format!("{pf}: {mt} observed and predicted"),
        };
        plot.set_layout(layout(&title, if lang == Lang::Fr { "heure" } else { "time" }, mt).x_axis(super::charts::time_axis(lang)));
        charts.push(Chart { id: format!("predictive-{j}"), title, note: None, plot });
    }
    let targets: Vec<usize> = (0..pred.height).filter(|&i| kind[i] == "target").collect();
    if !targets.is_empty() {
        let names: Vec<String> = targets.iter().map(|&i| format!("{}.{}", platform[i], metric[i])).collect();
        let pick = |c: &[f64]| targets.iter().map(|&i| c[i]).collect::<Vec<f64>>();
        let (m_, l_, h_) = (pick(mean), pick(lo), pick(hi));
        let mut plot = Plot::new();
        plot.add_trace(
            Scatter::new(names.clone(), m_.clone())
                .mode(Mode::Markers)
                .error_y(
                    ErrorData::new(ErrorType::Data)
                        .symmetric(false)
                        .array(h_.iter().zip(&m_).map(|(h, m)| h - m).collect())
                        .array_minus(m_.iter().zip(&l_).map(|(m, l)| m - l).collect()),
                )
                .name(band),
        );
        plot.add_trace(
            Scatter::new(names, pick(obs))
                .mode(Mode::Markers)
                .marker(Marker::new().color("#d62728"))
                .error_y(ErrorData::new(ErrorType::Data).array(pick(sd)))
                .name(observed),
        );
        let title =
            if lang == Lang::Fr { "Chiffres rapportés et prédits".to_owned() } else { "Reported figures and predicted".to_owned() };
        plot.set_layout(layout(&title, "", ""));
        charts.push(Chart { id: "targets".into(), title, note: None, plot });
    }
    Ok((name, sentences, charts))
}
