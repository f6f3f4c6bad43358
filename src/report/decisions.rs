//! The briefing of a decision made on a sweep's folder: a selection (`rentree select`), an optimisation
//! (`rentree optimize`), a sensitivity analysis (`rentree sensitivity`) or a stability study (`rentree
//! stability`). Each adds its sentence and its chart ahead of the sweep's own: the selection with its
//! confidence and each configuration's interval at the stage it was eliminated; the cheapest set-up found
//! with the frontier of cost against service; the inputs ranked by their influence, as a tornado chart with
//! intervals; the stability map (each configuration's class, its median recovery and the boundary where
//! recovery stops) and the recovery curves of goodput against the baseline twins.
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
    if checked.has("stability.parquet") {
        stability(dir, &manifest["stability"], lang, &mut sentences, &mut charts)?;
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

/// The colour of each stability class, from recovering fast to never.
const CLASS_COLOURS: [(&str, &str); 3] = [("stable", "#2e7d32"), ("vulnerable", "#f9a825"), ("metastable", "#c62828")];

fn class_name(lang: Lang, class: &str) -> &str {
    match (lang, class) {
        (Lang::Fr, "stable") => "stable",
        (Lang::Fr, "vulnerable") => "vulnérable",
        (Lang::Fr, "metastable") => "métastable",
        (_, c) => c,
    }
}

/// Minutes as the reader writes them.
fn minutes(lang: Lang, s: f64) -> String {
    let m = (s / 60.0).round();
    match lang {
        Lang::Fr => format!("{m} min"),
        Lang::En => format!("{m} min"),
    }
}

fn stability(dir: &Path, note: &Value, lang: Lang, sentences: &mut Vec<String>, charts: &mut Vec<Chart>) -> Result<()> {
    let table = output::read_table(&dir.join("stability.parquet"))?;
    let plan_path = dir.join("plan.json");
    let plan_text = std::fs::read_to_string(&plan_path).map_err(|source| Error::Read { path: plan_path.clone(), source })?;
    let plan: Value = serde_json::from_str(&plan_text).map_err(|e| Error::Parse { path: plan_path.clone(), message: e.to_string() })?;
    let params: Vec<String> = plan["param_names"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).filter(|p| *p != crate::sweep::stability::RUN_COLUMN).map(str::to_owned).collect())
        .unwrap_or_default();
    let labels = table.text("label")?;
    let classes = table.text("class")?;
    let medians = table.num("median_recovery_s")?;
    let never = table.num("p_not_recovered")?;
    let n = labels.len();
    if n == 0 {
        return Ok(());
    }
    let platform = str_of(note, "platform");
    let count = |c: &str| classes.iter().filter(|k| *k == c).count();
    let (stable, vulnerable, metastable) = (count("stable"), count("vulnerable"), count("metastable"));
    let slow = minutes(lang, num_of(note, "slow_s"));
    let reps = num_of(note, "replications");
    sentences.push(match lang {
        Lang::Fr => format!(
            "Sur {n} configurations, {platform} revient seul à la normale dans les {slow} qui suivent la fin du déclencheur dans \
             {stable} cas (stable), plus lentement dans {vulnerable} (vulnérable) et pas avant la fin de la simulation dans \
             {metastable} (métastable) ; chaque configuration est comparée à son jumeau sans déclencheur, {reps} réplications."
        ),
        Lang::En => format!(
            "Of {n} configurations, {platform} comes back by itself within {slow} of the trigger's removal in {stable} \
             (stable), more slowly in {vulnerable} (vulnerable) and not before the horizon in {metastable} (metastable); each \
             configuration is compared with its twin without the trigger, {reps} replications."
        ),
    });
    // Along the first parameter, where recovery stops: the first metastable configuration after one that
    // recovers, others held equal.
    let axis: Vec<&[String]> = params.iter().map(|p| table.text(p)).collect::<Result<_>>()?;
    if let Some(first) = axis.first() {
        for i in 0..n {
            for j in 0..n {
                let same_rest = (1..axis.len()).all(|k| axis[k][i] == axis[k][j]);
                let next = (i < j) && same_rest && (i + 1..j).all(|m| !(1..axis.len()).all(|k| axis[k][m] == axis[k][i]));
                if next && classes[i] != "metastable" && classes[j] == "metastable" {
                    let (a, b) = (&first[i], &first[j]);
                    let p = &params[0];
                    sentences.push(match lang {
                        Lang::Fr => format!(
                            "Entre {p} = {a} et {p} = {b}, {platform} cesse de se rétablir : {} à {a} (rétabli en {} en médiane), \
                             {} à {b} (aucun rétablissement dans {} % des réplications).",
                            class_name(lang, &classes[i]),
                            minutes(lang, medians[i]),
                            class_name(lang, &classes[j]),
                            (never[j] * 100.0).round()
                        ),
                        Lang::En => format!(
                            "Between {p} = {a} and {p} = {b}, {platform} stops recovering: {} at {a} (back in {} at the median), \
                             {} at {b} (no recovery in {}% of replications).",
                            classes[i],
                            minutes(lang, medians[i]),
                            classes[j],
                            (never[j] * 100.0).round()
                        ),
                    });
                }
            }
        }
    }
    // The map: the first parameter across, the second (if any) up; one cell per configuration.
    let distinct = |col: Option<&&[String]>| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if let Some(col) = col {
            for x in col.iter() {
                if !v.contains(x) {
                    v.push(x.clone());
                }
            }
        }
        if v.is_empty() {
            v.push(String::new());
        }
        v
    };
    let (xs, ys) = (distinct(axis.first()), distinct(axis.get(1)));
    let mut z = vec![vec![f64::NAN; xs.len()]; ys.len()];
    let mut text = vec![vec![String::new(); xs.len()]; ys.len()];
    for i in 0..n {
        let xi = axis.first().map_or(0, |c| xs.iter().position(|x| *x == c[i]).unwrap_or(0));
        let yi = axis.get(1).map_or(0, |c| ys.iter().position(|y| *y == c[i]).unwrap_or(0));
        z[yi][xi] = CLASS_COLOURS.iter().position(|(c, _)| *c == classes[i]).map_or(f64::NAN, |k| k as f64);
        text[yi][xi] = if medians[i].is_finite() { minutes(lang, medians[i]) } else { "∞".into() };
    }
    let scale: Vec<plotly::common::ColorScaleElement> = CLASS_COLOURS
        .iter()
        .enumerate()
        .flat_map(|(k, (_, colour))| {
            [
                plotly::common::ColorScaleElement(k as f64 / 3.0, (*colour).to_owned()),
                plotly::common::ColorScaleElement((k + 1) as f64 / 3.0, (*colour).to_owned()),
            ]
        })
        .collect();
    let idx = |len: usize| (0..len).map(|i| i as f64).collect::<Vec<f64>>();
    let mut plot = Plot::new();
    plot.add_trace(
        plotly::HeatMap::new(idx(xs.len()), idx(ys.len()), z.clone())
            .color_scale(plotly::common::ColorScale::Vector(scale))
            .zmin(-0.5)
            .zmax(2.5)
            .show_scale(false)
            .name(if lang == Lang::Fr { "classe" } else { "class" }),
    );
    // The boundary: cell edges between a configuration that recovers and one that does not.
    let (mut bx, mut by): (Vec<Option<f64>>, Vec<Option<f64>>) = (Vec::new(), Vec::new());
    let meta = |v: f64| v == 2.0;
    for (yi, row) in z.iter().enumerate() {
        for xi in 0..row.len() {
            let (x, y) = (xi as f64, yi as f64);
            if xi + 1 < row.len() && row[xi].is_finite() && row[xi + 1].is_finite() && meta(row[xi]) != meta(row[xi + 1]) {
                bx.extend([Some(x + 0.5), Some(x + 0.5), None]);
                by.extend([Some(y - 0.5), Some(y + 0.5), None]);
            }
            if yi + 1 < z.len() && row[xi].is_finite() && z[yi + 1][xi].is_finite() && meta(row[xi]) != meta(z[yi + 1][xi]) {
                bx.extend([Some(x - 0.5), Some(x + 0.5), None]);
                by.extend([Some(y + 0.5), Some(y + 0.5), None]);
            }
        }
    }
    if !bx.is_empty() {
        plot.add_trace(Scatter::new(bx, by).mode(Mode::Lines).line(Line::new().color("#111").width(4.0)).name(if lang == Lang::Fr {
            "frontière de rétablissement"
        } else {
            "recovery boundary"
        }));
    }
    // A legend entry per class (the heat map's colours carry no legend of their own).
    for (class, colour) in CLASS_COLOURS {
        plot.add_trace(
            Scatter::new(vec![None::<f64>], vec![None::<f64>])
                .mode(Mode::Markers)
                .marker(Marker::new().color(colour).size(14).symbol(MarkerSymbol::Square))
                .name(class_name(lang, class)),
        );
    }
    let annotations: Vec<plotly::layout::Annotation> = text
        .iter()
        .enumerate()
        .flat_map(|(yi, row)| {
            row.iter().enumerate().filter(|(_, t)| !t.is_empty()).map(move |(xi, t)| {
                plotly::layout::Annotation::new()
                    .x(xi as f64)
                    .y(yi as f64)
                    .text(t.clone())
                    .show_arrow(false)
                    .font(plotly::common::Font::new().color("#fff"))
            })
        })
        .collect();
    let title = match lang {
        Lang::Fr => format!("Carte de stabilité de {platform} : classe et rétablissement médian après le déclencheur"),
        Lang::En => format!("Stability map of {platform}: class and median recovery after the trigger"),
    };
    let tick = |names: &[String]| Axis::new().tick_values(idx(names.len())).tick_text(names.to_vec());
    let l = layout(&title, params.first().map_or("", String::as_str), params.get(1).map_or("", String::as_str))
        .x_axis(tick(&xs).title(Title::with_text(params.first().map_or("", String::as_str))))
        .y_axis(tick(&ys).title(Title::with_text(params.get(1).map_or("", String::as_str))).auto_margin(true))
        .annotations(annotations);
    plot.set_layout(l);
    let note_text = match lang {
        Lang::Fr => format!(
            "Rétabli : débit utile à {} % près de celui du jumeau et orbite ramenée à {} % de son excès maximal, {} minutes de suite ; ∞ : pas de rétablissement médian avant la fin.",
            num_of(note, "band") * 100.0,
            num_of(note, "band") * 100.0,
            num_of(note, "hold_minutes")
        ),
        Lang::En => format!(
            "Recovered: goodput within {}% of the twin's and the orbit back to {}% of its largest excess, {} minutes in a row; ∞: the median run does not recover before the horizon.",
            num_of(note, "band") * 100.0,
            num_of(note, "band") * 100.0,
            num_of(note, "hold_minutes")
        ),
    };
    charts.push(Chart { id: "stability".into(), title, note: Some(note_text), plot });

    // Recovery curves: each configuration's goodput as a share of its twin's, and the users the trigger sent
    // to the orbit who are still there (the excess of its orbit over its twin's), minute by minute.
    let ts = output::read_table(&dir.join("timeseries.parquet"))?;
    let (ts_labels, ts_platform, ts_minute) = (ts.text("label")?, ts.text("platform")?, ts.num("minute")?);
    let (goodput, orbit) = (ts.num("goodput_mean")?, ts.num("mean_orbit_mean")?);
    let mut series: std::collections::BTreeMap<&str, Vec<(f64, f64, f64)>> = std::collections::BTreeMap::new();
    for i in 0..ts.height {
        if ts_platform[i] == platform {
            series.entry(ts_labels[i].as_str()).or_default().push((ts_minute[i], goodput[i], orbit[i]));
        }
    }
    let removal_min = num_of(note, "removal_s") / 60.0;
    // Minutes as times of day on hourly ticks, from the runs' shared start in the plan (time since the start
    // where the plan does not say it).
    let start_min = super::read_plan(dir).ok().and_then(|p| p["clock_start_s"].as_f64()).map_or(0.0, |s| s / 60.0);
    let at = |minute: f64| super::charts::timestamps(&[super::charts::clock_of(start_min + minute)], &[0]).swap_remove(0);
    let (mut share, mut excess) = (Plot::new(), Plot::new());
    let mut top: f64 = 1.0;
    for label in labels.iter().take(12) {
        let (Some(run), Some(twin)) = (series.get(label.as_str()), series.get(format!("{label} (baseline)").as_str())) else {
            continue;
        };
        let clocks: Vec<String> = run
            .iter()
            .map(|p| {
                let m = (start_min + p.0).round().max(0.0) as u64;
                format!("{:02}:{:02}", (m / 60) % 24, m % 60)
            })
            .collect();
        let xs = super::charts::timestamps(&clocks, &(0..clocks.len()).collect::<Vec<_>>());
        // Where the twin itself serves next to nothing (a platform collapsed without the trigger, the night),
        // a ratio says nothing: those minutes are left out.
        let floor = 0.05 * twin.iter().map(|t| t.1).fold(0.0, f64::max);
        let ratio: Vec<Option<f64>> = run.iter().zip(twin).map(|(r, t)| (t.1 > floor && t.1 > 0.0).then(|| r.1 / t.1)).collect();
        top = ratio.iter().flatten().fold(top, |a, &b| a.max(b));
        share.add_trace(Scatter::new(xs.clone(), ratio).mode(Mode::Lines).name(label.clone()));
        excess.add_trace(Scatter::new(xs, run.iter().zip(twin).map(|(r, t)| r.2 - t.2).collect()).mode(Mode::Lines).name(label.clone()));
    }
    let removed = if lang == Lang::Fr { "fin du déclencheur" } else { "trigger removed" };
    for (plot, high) in [(&mut share, top), (&mut excess, f64::NAN)] {
        let ys = if high.is_finite() { vec![0.0, high] } else { vec![] };
        if !ys.is_empty() {
            plot.add_trace(
                Scatter::new(vec![at(removal_min), at(removal_min)], ys)
                    .mode(Mode::Lines)
                    .line(Line::new().dash(DashType::Dash).color("#555"))
                    .name(removed),
            );
        }
    }
    let title = match lang {
        Lang::Fr => format!("Débit utile de {platform} rapporté à celui du jumeau sans déclencheur"),
        Lang::En => format!("Goodput of {platform} as a share of its twin's without the trigger"),
    };
    share.set_layout(
        layout(&title, "", if lang == Lang::Fr { "part du jumeau" } else { "share of the twin's" }).x_axis(super::charts::time_axis(lang)),
    );
    let note_text = match lang {
        Lang::Fr => format!(
            "Le déclencheur prend fin à {} ; 1 : comme sans déclencheur ; les minutes où le jumeau sert moins de 5 % de son maximum sont omises.",
            lang.clock(&super::charts::clock_of(start_min + removal_min))
        ),
        Lang::En => format!(
            "The trigger ends at {}; 1: as without the trigger; minutes where the twin serves less than 5% of its peak are left out.",
            lang.clock(&super::charts::clock_of(start_min + removal_min))
        ),
    };
    charts.push(Chart { id: "recovery".into(), title, note: Some(note_text), plot: share });
    let title = match lang {
        Lang::Fr => format!("Utilisateurs que le déclencheur a mis en attente de retour sur {platform} (orbite en plus du jumeau)"),
        Lang::En => format!("Users the trigger sent to {platform}'s orbit, still there (orbit above its twin's)"),
    };
    excess.set_layout(layout(&title, "", if lang == Lang::Fr { "utilisateurs" } else { "users" }).x_axis(super::charts::time_axis(lang)));
    let note_text = match lang {
        Lang::Fr => "Un système qui se rétablit les absorbe ; au-delà de sa frontière de stabilité, ils restent.".to_owned(),
        Lang::En => "A system that recovers absorbs them; past its stability boundary they stay.".to_owned(),
    };
    charts.push(Chart { id: "orbit_excess".into(), title, note: Some(note_text), plot: excess });
    Ok(())
}
