//! `rentree report DIR --pdf`: the briefing as a one- or two-page A4 document, printed by headless Chromium
//! (the browser the image export already uses) from a print page of its own: the title (what was simulated,
//! at what scale, for how many people), the scale note, the headline sentences, the two or three charts that
//! carry the story, the assumptions the figures rest on, and the date, version and command.
//!
//! The charts are drawn by plotly.js in the print page at the width of the paper, so that the PDF's text
//! stays text (searchable, and read back by the suite with `pdftotext`).

use super::labels::Lang;
use super::{escape, Chart};
use crate::error::{Error, Result};
use crate::output;
use plotly::Plot;
use std::path::Path;

/// What goes on the printed briefing.
pub(super) struct Printed<'a> {
    /// The title: what was simulated.
    pub title: &'a str,
    /// A subtitle: the scale and population.
    pub subtitle: String,
    /// The scale note, and whether it is a warning.
    pub scale_note: Option<(String, bool)>,
    /// The headline sentences.
    pub sentences: Vec<String>,
    /// The charts that carry the story, in order.
    pub charts: Vec<&'a Chart>,
    /// The assumptions the figures rest on.
    pub assumptions: Vec<String>,
    /// The footer: date, version, command.
    pub footer: String,
}

/// The charts a printed briefing keeps: the run's demand against capacity, then who got in and when (or
/// the logins), then the attack if there was one; for a sweep or a decision, its first three.
pub(super) fn story(charts: &[Chart], is_run: bool) -> Vec<&Chart> {
    if !is_run {
        return charts.iter().take(3).collect();
    }
    let by_id = |id: &str| charts.iter().find(|c| c.id == id);
    let mut kept: Vec<&Chart> = Vec::new();
    kept.extend(by_id("demand"));
    kept.extend(by_id("access").or_else(|| by_id("logins")));
    // The attack chart only where there was an attack (its note says when there was none).
    kept.extend(by_id("attack").filter(|c| c.note.is_none()));
    kept
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock (Hinnant's days-to-civil algorithm).
pub(super) fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Writes the printed briefing to `path` with `chromium`.
pub(super) fn write(printed: &Printed, lang: Lang, chromium: &Path, path: &Path) -> Result<()> {
    let err = |m: String| Error::Write { path: path.to_owned(), message: m };
    let mut body = String::new();
    body.push_str(&format!("<h1>{}</h1>\n<p class=\"sub\">{}</p>\n", escape(printed.title), escape(&printed.subtitle)));
    if let Some((note, warn)) = &printed.scale_note {
        body.push_str(&format!("<p class=\"{}\">{}</p>\n", if *warn { "scale warning" } else { "scale" }, escape(note)));
    }
    body.push_str("<ul class=\"headlines\">\n");
    for s in &printed.sentences {
        body.push_str(&format!("<li>{}</li>\n", escape(s)));
    }
    body.push_str("</ul>\n");
    for c in &printed.charts {
        body.push_str(&format!("<section class=\"chart\"><h2>{}</h2>\n", escape(&c.title)));
        if let Some(n) = &c.note {
            body.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
        // Drawn at the paper's width (A4 less margins, at 96 px per inch), without plotly's mode bar.
        body.push_str(&format!("<div class=\"plot\">{}</div></section>\n", c.plot.to_inline_html(Some(&format!("print-{}", c.id)))));
    }
    if !printed.assumptions.is_empty() {
        body.push_str(&format!(
            "<section class=\"assumptions\"><h2>{}</h2><ul>\n",
            match lang {
                Lang::Fr => "Hypothèses",
                Lang::En => "Assumptions",
            }
        ));
        for a in &printed.assumptions {
            body.push_str(&format!("<li>{}</li>\n", escape(a)));
        }
        body.push_str("</ul></section>\n");
    }
    body.push_str(&format!("<p class=\"footer\">{}</p>\n", escape(&printed.footer)));
    // Two pages hold the story only if the charts are shorter than on screen: the first (the run's stack of
    // panels) gets most of page one, the others a third of a page each; the section heading replaces the
    // chart's own title.
    let resize: Vec<String> =
        printed.charts.iter().enumerate().map(|(k, c)| format!("['print-{}',{}]", c.id, if k == 0 { 520 } else { 300 })).collect();
    body.push_str(&format!(
        "<script>[{}].forEach(function(j){{var gd=document.getElementById(j[0]); if(gd&&window.Plotly){{\
         Plotly.relayout(gd,{{height:j[1],'title.text':'','margin.t':36}});}}}});</script>\n",
        resize.join(",")
    ));
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\
         @page{{size:A4;margin:12mm 14mm}} body{{font-family:'DejaVu Sans',system-ui,sans-serif;font-size:9.5pt;color:#222;margin:0;width:700px}}\
         h1{{font-size:16pt;margin:0 0 2pt}} .sub{{color:#555;margin:0 0 6pt}} h2{{font-size:11pt;margin:8pt 0 2pt}}\
         .headlines li{{margin:2pt 0}} .note{{color:#555;font-size:8.5pt;margin:0}} .warning{{background:#fff3cd;border-left:3px solid #c77c00;padding:3pt 6pt;font-size:8.5pt}}\
         .scale{{font-size:8.5pt;color:#555}} .chart{{break-inside:avoid}} .assumptions{{break-inside:avoid;font-size:8.5pt}} .footer{{color:#777;font-size:8pt;border-top:1px solid #ccc;padding-top:3pt}}\
         .modebar-container{{display:none}}</style>\n{}\n</head>\n<body>\n{}</body>\n</html>\n",
        lang.code(),
        escape(printed.title),
        Plot::offline_js_sources(),
        body
    );
    let scratch = tempfile::tempdir().map_err(|e| err(e.to_string()))?;
    let html = scratch.path().join("print.html");
    std::fs::write(&html, page).map_err(|e| err(e.to_string()))?;
    let pdf = scratch.path().join("briefing.pdf");
    let out =
        super::headless(chromium, scratch.path(), &["--no-pdf-header-footer".into(), format!("--print-to-pdf={}", pdf.display())], &html)
            .map_err(|e| err(format!("cannot run {}: {e} (install Debian's chromium, or pass --chromium)", chromium.display())))?;
    let bytes = std::fs::read(&pdf).map_err(|_| {
        err(format!(
            "{} printed no PDF (exit {:?}): {}",
            chromium.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        ))
    })?;
    if !bytes.starts_with(b"%PDF") {
        return Err(err(format!("{} wrote a file that is not a PDF", chromium.display())));
    }
    output::write_atomic(path, |f| std::io::Write::write_all(f, &bytes).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_calendar_date() {
        let d = today();
        let parts: Vec<u32> = d.split('-').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts.len(), 3);
        assert!(parts[0] >= 2024 && (1..=12).contains(&parts[1]) && (1..=31).contains(&parts[2]), "{d}");
    }
}
