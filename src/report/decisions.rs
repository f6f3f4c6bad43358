//! The briefing of a decision made on a sweep's folder: a selection (`rentree select`), an optimisation
//! (`rentree optimize`) or a sensitivity analysis (`rentree sensitivity`). Each adds its sentence and its
//! chart ahead of the sweep's own: the selection with its confidence and each configuration's interval at
//! the stage it was eliminated; the cheapest set-up found with the frontier of cost against service; the
//! inputs ranked by their influence, as a tornado chart with intervals.
//!
//! What is said comes from the procedure's note in the manifest and its table, both vouched for by the
//! manifest's checksums (see [`crate::output::check_results`]).

use super::labels::Lang;
use super::{layout, Chart};
use crate::error::{Error, Result};
use crate::output::{self, CheckedResults};
use plotly::common::{DashType, ErrorData, ErrorType, Line, Marker, MarkerSymbol, Mode, Orientation, Position, Title};
use plotly::layout::{Axis, BarMode};
use plotly::{Bar, Plot, Scatter};
use serde_json::Value;
use std::path::Path;

/// The sentences and charts of the decisions recorded in `dir` (none for a plain sweep).
pub(super) fn decisions(dir: &Path, checked: &CheckedResults, lang: Lang) -> Result<(Vec<String>, Vec<Chart>)> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| Error::Parse { path: path.clone(), message: e.to_string() })?;
    let (mut sentences, mut charts) = (Vec::new(), Vec::new());
    if checked.has("selection.parquet") {
        selection(dir, &manifest["selection"], lang, &mut sentences, &mut charts)?;
    }
    if checked.has("optimization.parquet") {
        optimization(dir, &manifest["optimization"], lang, &mut sentences, &mut charts)?;
    }
    if checked.has("sensitivity.parquet") {
        sensitivity(dir, &manifest["sensitivity"], lang, &mut sentences, &mut charts)?;
    }
    Ok((sentences, charts))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn num_of(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// A number as the reader writes it: whole above 100, else to four decimals at most.
fn number(lang: Lang, x: f64) -> String {
    let s = if x.abs() >= 100.0 { format!("{x:.0}") } else { format!("{}", (x * 1e4).round() / 1e4) };
    match lang {
        Lang::Fr => s.replace('.', ","),
        Lang::En => s,
    }
}

fn selection(dir: &Path, note: &Value, lang: Lang, sentences: &mut Vec<String>, charts: &mut Vec<Chart>) -> Result<()> {
    let table = output::read_table(&dir.join("selection.parquet"))?;
    let metric = str_of(note, "metric");
    let labels = table.text("label")?;
    let outcomes = table.text("outcome")?;
    let means = table.num(&format!("{metric}_mean"))?;
    let hws = table.num(&format!("{metric}_hw95"))?;
    let stages = table.num("eliminated_at_stage")?;
    let k = labels.len();
    let confidence = lang.percent(num_of(note, "confidence"));
    let delta = number(lang, num_of(note, "delta"));
    let runs = lang.count(num_of(note, "runs_spent"));
    sentences.push(match (note["best"].as_str(), lang) {
        (Some(best), Lang::Fr) => format!(
            "« {best} » est la meilleure des {k} configurations sur {metric}, avec une confiance d'au moins {confidence} à {delta} près ; {runs} simulations."
        ),
        (Some(best), Lang::En) => {
            format!("\"{best}\" is the best of {k} configurations on {metric}, with {confidence} confidence within {delta}; {runs} runs.")
        }
        (None, Lang::Fr) => format!("Aucune configuration choisie dans la limite de réplications : {runs} simulations, sans garantie."),
        (None, Lang::En) => format!("No configuration selected within the replication cap: {runs} runs, no guarantee."),
    });
    let fixed = num_of(note, "fixed_sample_runs");
    if fixed > 0.0 {
        let sel = lang.count(num_of(note, "selection_runs"));
        let fixed = lang.count(fixed);
        sentences.push(match lang {
            Lang::Fr => format!("La sélection a coûté {sel} simulations, contre environ {fixed} pour une procédure à taille fixe de même garantie (Rinott)."),
            Lang::En => format!("The selection spent {sel} runs, against about {fixed} for a fixed-sample procedure with the same guarantee (Rinott)."),
        });
    }
    let mut plot = Plot::new();
    for outcome in ["best", "eliminated", "tied", "infeasible", "undecided"] {
        let rows: Vec<usize> = (0..k).filter(|&i| outcomes[i] == outcome).collect();
        if rows.is_empty() {
            continue;
        }
        let name = match (outcome, lang) {
            ("best", Lang::Fr) => "retenue",
            ("best", Lang::En) => "selected",
            ("eliminated", Lang::Fr) => "éliminée",
            ("eliminated", Lang::En) => "eliminated",
            ("tied", Lang::Fr) => "à égalité",
            ("tied", Lang::En) => "tied",
            ("infeasible", Lang::Fr) => "hors contrainte",
            ("infeasible", Lang::En) => "breaks a constraint",
            (_, Lang::Fr) => "indécise",
            (_, Lang::En) => "undecided",
        };
        let text: Vec<String> = rows
            .iter()
            .map(|&i| match (stages[i].is_finite(), lang) {
                (true, Lang::Fr) => format!("étape {}", stages[i]),
                (true, Lang::En) => format!("stage {}", stages[i]),
                (false, _) => String::new(),
            })
            .collect();
        plot.add_trace(
            Scatter::new(rows.iter().map(|&i| means[i]).collect(), rows.iter().map(|&i| labels[i].clone()).collect())
                .mode(Mode::MarkersText)
                .text_array(text)
                .marker(Marker::new().size(if outcome == "best" { 14 } else { 9 }))
                .error_x(ErrorData::new(ErrorType::Data).array(rows.iter().map(|&i| hws[i]).collect()))
                .name(name),
        );
    }
    let title = match lang {
        Lang::Fr => "Chaque configuration à l'étape où elle a été écartée (IC à 95 %)",
        Lang::En => "Each configuration at the stage it was eliminated (95% CI)",
    };
    plot.set_layout(layout(title, metric, ""));
    charts.push(Chart { id: "selection".into(), title: title.into(), note: None, plot });
    Ok(())
}

fn optimization(dir: &Path, note: &Value, lang: Lang, sentences: &mut Vec<String>, charts: &mut Vec<Chart>) -> Result<()> {
    let table = output::read_table(&dir.join("optimization.parquet"))?;
    let constraints: Vec<&str> = note["constraints"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let confidence = lang.percent(num_of(note, "confidence"));
    let runs = lang.count(num_of(note, "search_runs") + num_of(note, "cleanup_runs"));
    let grid = lang.count(num_of(note, "grid_runs"));
    let visited = lang.count(num_of(note, "visited"));
    let points = lang.count(num_of(note, "lattice_points"));
    let meeting = constraints.join(if lang == Lang::Fr { " et " } else { " and " });
    sentences.push(match (note["optimum"].as_str(), lang) {
        (Some(best), Lang::Fr) => format!(
            "Configuration la moins chère trouvée : « {best} », coût {} ; elle respecte {meeting} avec une confiance d'au moins {confidence}.",
            number(lang, num_of(note, "optimum_cost"))
        ),
        (Some(best), Lang::En) => format!(
            "Cheapest configuration found: \"{best}\", cost {}; it meets {meeting} with at least {confidence} confidence.",
            number(lang, num_of(note, "optimum_cost"))
        ),
        (None, Lang::Fr) => format!("Aucune configuration trouvée ne respecte {meeting} de façon établie."),
        (None, Lang::En) => format!("No configuration found was shown to meet {meeting}."),
    });
    sentences.push(match lang {
        Lang::Fr => format!("{runs} simulations : {visited} points visités sur {points} ; une grille en demanderait au moins {grid}."),
        Lang::En => format!("{runs} runs: {visited} of {points} points visited; a grid would need at least {grid}."),
    });
    let Some(main) = constraints.first() else {
        return Ok(());
    };
    let constraint = crate::sweep::select::parse_constraint(main)
        .map_err(|e| Error::Parse { path: dir.join("manifest.json"), message: format!("optimization.constraints[0]: {e}") })?;
    let metric = constraint.metric.name();
    let labels = table.text("label")?;
    let cost = table.num("cost_mean")?;
    let value = table.num(&format!("{metric}_mean"))?;
    let hw = table.num(&format!("{metric}_hw95"))?;
    let frontier = table.text("frontier")?;
    let outcome = table.text("outcome")?;
    let mut plot = Plot::new();
    let visited_name = if lang == Lang::Fr { "points visités" } else { "points visited" };
    plot.add_trace(
        Scatter::new(cost.to_vec(), value.to_vec())
            .mode(Mode::Markers)
            .text_array(labels.to_vec())
            .error_y(ErrorData::new(ErrorType::Data).array(hw.to_vec()))
            .opacity(0.6)
            .name(visited_name),
    );
    let mut front: Vec<usize> = (0..labels.len()).filter(|&i| frontier[i] == "yes").collect();
    front.sort_by(|&a, &b| cost[a].total_cmp(&cost[b]));
    plot.add_trace(
        Scatter::new(front.iter().map(|&i| cost[i]).collect(), front.iter().map(|&i| value[i]).collect())
            .mode(Mode::Lines)
            .name(if lang == Lang::Fr { "frontière" } else { "frontier" }),
    );
    if let Some(o) = (0..labels.len()).find(|&i| outcome[i] == "optimum") {
        plot.add_trace(
            Scatter::new(vec![cost[o]], vec![value[o]])
                .mode(Mode::MarkersText)
                .text_array(vec![labels[o].clone()])
                .text_position(Position::TopRight)
                .marker(Marker::new().symbol(MarkerSymbol::Star).size(18))
                .name("optimum"),
        );
    }
    let (lo, hi) = cost.iter().filter(|c| c.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &c| (a.min(c), b.max(c)));
    if lo.is_finite() {
        plot.add_trace(
            Scatter::new(vec![lo, hi], vec![constraint.constraint.threshold; 2])
                .mode(Mode::Lines)
                .line(Line::new().dash(DashType::Dash))
                .name(if lang == Lang::Fr { format!("seuil : {main}") } else { format!("threshold: {main}") }),
        );
    }
    let title = match lang {
        Lang::Fr => "Coût et niveau de service des points visités, frontière et optimum",
        Lang::En => "Cost against service of the points visited, frontier and optimum",
    };
    plot.set_layout(layout(title, if lang == Lang::Fr { "coût" } else { "cost" }, metric));
    charts.push(Chart { id: "optimization".into(), title: title.into(), note: Some(str_of(note, "cost").to_owned()), plot });
    Ok(())
}

fn sensitivity(dir: &Path, note: &Value, lang: Lang, sentences: &mut Vec<String>, charts: &mut Vec<Chart>) -> Result<()> {
    let table = output::read_table(&dir.join("sensitivity.parquet"))?;
    let metric = str_of(note, "metric");
    let inputs = table.text("input")?;
    let sobol = str_of(note, "design").starts_with("sobol");
    let (key, label) = if sobol { ("total", "S_T") } else { ("mu_star", "μ*") };
    let importance = table.num(key)?;
    // Least influential first: plotly draws the first category at the bottom, so the largest bar is on top.
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by(|&a, &b| importance[a].total_cmp(&importance[b]));
    let Some(&top) = order.last() else {
        return Ok(());
    };
    sentences.push(match (sobol, lang) {
        (true, Lang::Fr) => format!(
            "L'hypothèse qui pèse le plus sur {metric} : {} (indice total {} ; {} à elle seule).",
            inputs[top],
            number(lang, importance[top]),
            number(lang, table.num("first_order")?[top])
        ),
        (true, Lang::En) => format!(
            "The assumption that weighs most on {metric}: {} (total index {}; {} alone).",
            inputs[top],
            number(lang, importance[top]),
            number(lang, table.num("first_order")?[top])
        ),
        (false, Lang::Fr) => format!(
            "L'hypothèse qui pèse le plus sur {metric} : {} (μ* = {}, criblage de Morris).",
            inputs[top],
            number(lang, importance[top])
        ),
        (false, Lang::En) => format!(
            "The assumption that weighs most on {metric}: {} (μ* = {}, Morris screening).",
            inputs[top],
            number(lang, importance[top])
        ),
    });
    let names: Vec<String> = order.iter().map(|&i| inputs[i].clone()).collect();
    let pick = |col: &[f64]| order.iter().map(|&i| col[i]).collect::<Vec<f64>>();
    let mut plot = Plot::new();
    if sobol {
        for (col, name) in [
            ("total", if lang == Lang::Fr { "indice total" } else { "total index" }),
            ("first_order", if lang == Lang::Fr { "premier ordre" } else { "first order" }),
        ] {
            let (e, lo, hi) = (pick(table.num(col)?), pick(table.num(&format!("{col}_lo"))?), pick(table.num(&format!("{col}_hi"))?));
            let plus: Vec<f64> = hi.iter().zip(&e).map(|(h, e)| (h - e).max(0.0)).collect();
            let minus: Vec<f64> = e.iter().zip(&lo).map(|(e, l)| (e - l).max(0.0)).collect();
            plot.add_trace(
                Bar::new(e, names.clone())
                    .orientation(Orientation::Horizontal)
                    .error_x(ErrorData::new(ErrorType::Data).symmetric(false).array(plus).array_minus(minus))
                    .name(name),
            );
        }
    } else {
        plot.add_trace(Bar::new(pick(table.num("mu_star")?), names.clone()).orientation(Orientation::Horizontal).name("μ*"));
        plot.add_trace(Bar::new(pick(table.num("sigma")?), names).orientation(Orientation::Horizontal).name("σ"));
    }
    let title = match lang {
        Lang::Fr => format!("Ce qui pèse sur {metric} ({label}, de la plus forte à la plus faible influence)"),
        Lang::En => format!("What drives {metric} ({label}, most influential on top)"),
    };
    let mut l = layout(&title, label, "").bar_mode(BarMode::Group);
    l = l.y_axis(Axis::new().title(Title::with_text("")).auto_margin(true));
    plot.set_layout(l);
    let note_text = match lang {
        Lang::Fr => format!("{} points, {} réplications chacun.", num_of(note, "points"), num_of(note, "replications")),
        Lang::En => format!("{} points, {} replications each.", num_of(note, "points"), num_of(note, "replications")),
    };
    charts.push(Chart { id: "sensitivity".into(), title, note: Some(note_text), plot });
    Ok(())
}
