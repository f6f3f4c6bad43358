//! What makes a chart fit for a briefing rather than an analyst's screen: one colour per platform on every
//! chart, a time axis ticked on the hour in the reader's format, small multiples (one panel per platform on
//! a shared time axis) instead of one crowded plot, and marks for what a reader looks for (the bells, a quota
//! or waiting room filling up, protection engaging, an attack starting, capacity lost, the end of arrivals).
//!
//! The marks are read from the minute rows themselves, so that a chart says what the run did, not what the
//! scenario intended.

use super::labels::Lang;
use plotly::common::{DashType, Font, Line, Mode, Title};
use plotly::layout::{Annotation, Axis, AxisType, Layout, Legend, Margin, Shape, ShapeLine, ShapeType};
use plotly::Scatter;

/// Colour-blind-safe colours (Okabe and Ito's palette, its yellow last: it reads poorly on white), one per
/// platform in the order the minute rows list them.
pub(super) const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#555555", "#F0E442"];

/// The colour of the platform at `index` in the run's platform order.
pub(super) fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// `rgba(...)` of a `#rrggbb` colour at an opacity, for fills.
pub(super) fn tint(hex: &str, alpha: f64) -> String {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(128);
    format!("rgba({},{},{},{alpha})", c(1), c(3), c(5))
}

/// Clock labels (`HH:MM`) as the timestamps of a date axis, so that ticks fall on the hour. The date is a
/// placeholder never shown; a run that passes midnight moves to the next day, so time keeps increasing.
pub(super) fn timestamps(clock: &[String], rows: &[usize]) -> Vec<String> {
    let mut day = 1u32;
    let mut last = 0u32;
    rows.iter()
        .map(|&i| {
            let (h, m) = clock[i].split_once(':').unwrap_or(("0", "0"));
            let minutes = h.parse::<u32>().unwrap_or(0) * 60 + m.parse::<u32>().unwrap_or(0);
            if minutes < last {
                day += 1;
            }
            last = minutes;
            format!("2000-01-{day:02} {h:0>2}:{m:0>2}")
        })
        .collect()
}

/// `HH:MM` of a time given in minutes after midnight (past midnight: the next day's clock).
pub(super) fn clock_of(minutes_after_midnight: f64) -> String {
    let m = minutes_after_midnight.round().max(0.0) as u64;
    format!("{:02}:{:02}", (m / 60) % 24, m % 60)
}

/// A time-of-day axis ticked every hour: `8 h` in French, `8:00` in English.
pub(super) fn time_axis(lang: Lang) -> Axis {
    Axis::new()
        .type_(AxisType::Date)
        .dtick(3_600_000.0)
        .tick_format(match lang {
            Lang::Fr => "%-H h",
            Lang::En => "%-H:%M",
        })
        .hover_format("%H:%M")
        .show_grid(true)
}

/// A layout for a one-panel chart on the time axis.
pub(super) fn time_layout(lang: Lang, title: &str, y_title: &str) -> Layout {
    Layout::new()
        .title(Title::with_text(title))
        .height(420)
        .margin(Margin::new().top(60).bottom(50).left(80).right(20))
        .x_axis(time_axis(lang))
        .y_axis(Axis::new().title(Title::with_text(y_title)))
        .legend(Legend::new().orientation(plotly::common::Orientation::Horizontal).y(-0.15))
}

/// Something a reader looks for, at a minute of the run: on one panel (a platform's) or across all.
#[derive(Debug, Clone)]
pub(super) struct Mark {
    /// The timestamp (as [`timestamps`] writes it).
    pub at: String,
    /// What happened, in the briefing's language.
    pub text: String,
    /// The panel (0-based), or `None` for a mark across every panel (a bell, the end of arrivals).
    pub panel: Option<usize>,
    /// Only a line, no text (the second and later bells: one label says what the lines are).
    pub quiet: bool,
}

/// The name of a panel's y axis: `y`, `y2`, … (plotly's numbering starts at the second).
pub(super) fn y_name(panel: usize) -> String {
    if panel == 0 {
        "y".into()
    } else {
        format!("y{}", panel + 1)
    }
}

/// A y axis of a stack of panels, put into the layout by index (plotly's layout names each axis).
fn with_y_axis(layout: Layout, panel: usize, axis: Axis) -> Layout {
    match panel {
        0 => layout.y_axis(axis),
        1 => layout.y_axis2(axis),
        2 => layout.y_axis3(axis),
        3 => layout.y_axis4(axis),
        4 => layout.y_axis5(axis),
        5 => layout.y_axis6(axis),
        6 => layout.y_axis7(axis),
        _ => layout.y_axis8(axis),
    }
}

/// The most panels a stack holds (plotly's typed layout names eight y axes); further platforms share the
/// last panel.
pub(super) const MAX_PANELS: usize = 8;

/// One panel of a stack: its title (a platform's name), its colour and the top of its y range (`None`: the
/// data's own).
pub(super) struct Panel {
    /// Title shown above the panel.
    pub title: String,
    /// The panel's colour (its platform's).
    pub colour: &'static str,
    /// Top of the y range; a series going above it is clipped, and its peak written on the panel.
    pub top: Option<f64>,
}

/// Puts a trace on panel `panel` of a stack.
pub(super) fn on_panel<X: serde::Serialize + Clone + 'static, Y: serde::Serialize + Clone + 'static>(
    trace: Box<Scatter<X, Y>>,
    panel: usize,
) -> Box<Scatter<X, Y>> {
    trace.x_axis("x").y_axis(y_name(panel.min(MAX_PANELS - 1)))
}

/// The layout of a stack of panels sharing the time axis, one per platform, each with its title in its
/// colour, and the marks: a dotted line with its label at the top of the panel it belongs to (or of the
/// first panel for a mark across all), and `extra` annotations of the caller's.
pub(super) fn stack_layout(lang: Lang, title: &str, y_title: &str, panels: &[Panel], marks: &[Mark], extra: Vec<Annotation>) -> Layout {
    let n = panels.len().clamp(1, MAX_PANELS);
    let gap = 0.07;
    let height = (1.0 - gap * (n as f64 - 1.0)) / n as f64;
    // Panel 0 on top.
    let domain = |k: usize| {
        let top = 1.0 - k as f64 * (height + gap);
        [top - height, top]
    };
    let mut layout = Layout::new()
        .title(Title::with_text(title))
        .height(160 + 190 * n)
        .margin(Margin::new().top(80).bottom(50).left(80).right(20))
        .x_axis(time_axis(lang).anchor(y_name(n - 1)))
        .show_legend(true)
        .legend(Legend::new().orientation(plotly::common::Orientation::Horizontal).y(-0.08));
    let mut annotations = extra;
    let mut shapes = Vec::new();
    for (k, p) in panels.iter().take(n).enumerate() {
        // Counts start at zero: a panel never suggests a collapse by cutting its axis.
        let mut axis = Axis::new().domain(&domain(k)).anchor("x").range_mode(plotly::layout::RangeMode::ToZero);
        if k == n / 2 {
            axis = axis.title(Title::with_text(y_title));
        }
        if let Some(top) = p.top {
            axis = axis.range(vec![0.0, top]);
        }
        layout = with_y_axis(layout, k, axis);
        annotations.push(
            Annotation::new()
                .text(format!("<b>{}</b>", p.title))
                .x_ref("paper")
                .y_ref("paper")
                .x(0.0)
                .y(domain(k)[1])
                .x_anchor(plotly::common::Anchor::Left)
                .y_anchor(plotly::common::Anchor::Bottom)
                .show_arrow(false)
                .font(Font::new().color(p.colour).size(14)),
        );
    }
    // Labels of one panel are stacked downwards, so that two marks a few minutes apart stay readable.
    let mut labelled = vec![0usize; n + 1];
    for m in marks {
        let (y0, y1, label_y, panel) = match m.panel {
            Some(k) => {
                let d = domain(k.min(n - 1));
                (d[0], d[1], d[1], Some(k.min(n - 1)))
            }
            // Across all panels: labelled above the plot, clear of the first panel's own marks.
            None => (0.0, 1.0, 1.0, None),
        };
        shapes.push(
            Shape::new()
                .shape_type(ShapeType::Line)
                .x_ref("x")
                .y_ref("paper")
                .x0(m.at.clone())
                .x1(m.at.clone())
                .y0(y0)
                .y1(y1)
                .line(ShapeLine::new().color(panel.map_or("#888888", |k| panels[k].colour)).width(1.0).dash(DashType::Dot)),
        );
        if !m.quiet {
            let slot = panel.unwrap_or(n);
            let (anchor, shift_px) = match panel {
                Some(_) => (plotly::common::Anchor::Top, -14.0 * labelled[slot] as f64),
                None => (plotly::common::Anchor::Bottom, 14.0 * labelled[slot] as f64),
            };
            labelled[slot] += 1;
            annotations.push(
                Annotation::new()
                    .text(m.text.clone())
                    .x_ref("x")
                    .y_ref("paper")
                    .x(m.at.clone())
                    .y(label_y)
                    .y_shift(shift_px)
                    .x_anchor(plotly::common::Anchor::Left)
                    .y_anchor(anchor)
                    .show_arrow(false)
                    .font(Font::new().size(11).color("#333333")),
            );
        }
    }
    layout.annotations(annotations).shapes(shapes)
}

/// A plain line on the time axis.
pub(super) fn line(x: Vec<String>, y: Vec<f64>, name: String, colour: &str, dash: DashType, width: f64) -> Box<Scatter<String, f64>> {
    Scatter::new(x, y).mode(Mode::Lines).name(name).line(Line::new().color(colour.to_owned()).dash(dash).width(width))
}

/// The first row (index into `rows`) at which `test` holds.
pub(super) fn first(values: &[f64], rows: &[usize], test: impl Fn(f64) -> bool) -> Option<usize> {
    rows.iter().position(|&i| test(values[i]))
}

/// What counts are multiplied by to be drawn at the national population: 1/scale below full scale.
pub(super) fn national(scale: f64) -> f64 {
    if scale > 0.0 && scale < 1.0 {
        1.0 / scale
    } else {
        1.0
    }
}

/// A count written short for a chart: `1,2 M`, `35 k`, `820`.
pub(super) fn short(lang: Lang, x: f64) -> String {
    let (v, unit) = if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e4 {
        (x / 1e3, " k")
    } else {
        return lang.count(x);
    };
    format!("{}{unit}", lang.decimal(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_labels_become_increasing_timestamps_across_midnight() {
        let clock: Vec<String> = ["23:58", "23:59", "00:00", "7:05"].iter().map(|s| s.to_string()).collect();
        let ts = timestamps(&clock, &[0, 1, 2, 3]);
        assert_eq!(ts, ["2000-01-01 23:58", "2000-01-01 23:59", "2000-01-02 00:00", "2000-01-02 07:05"]);
    }

    #[test]
    fn every_platform_keeps_one_colour_and_fills_are_tints_of_it() {
        assert_eq!(colour(0), colour(PALETTE.len()));
        assert_ne!(colour(0), colour(1));
        assert_eq!(tint("#0072B2", 0.2), "rgba(0,114,178,0.2)");
    }

    #[test]
    fn short_counts_read_at_a_glance() {
        assert_eq!(short(Lang::En, 1_234_567.0), "1.2 M");
        assert_eq!(short(Lang::Fr, 35_400.0), "35,4 k");
        assert_eq!(short(Lang::En, 820.0), "820");
    }
}
