//! `report.html`: one page that opens offline and can be mailed or
//! attached to a ticket as is, so it names no URL, loads nothing and needs
//! no script. Every text from the summary is escaped: names come from
//! scenario files and error details from the services.
use super::charts::{self, Chart};
use super::Summary;

mod tables;

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.sub { color: #555; margin-top: 0; }
.verdict { font-size: 1.3em; font-weight: bold; padding: 0.4em 0.8em; border-radius: 4px; }
.verdict.ok { background: #e6f4ea; color: #137333; }
.verdict.fail { background: #fce8e6; color: #b00020; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; padding: 0; list-style: none; }
.figures li { border: 1px solid #ddd; border-radius: 4px; padding: 0.5em 1em; min-width: 8em; }
.figures b { display: block; font-size: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.detail { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.9em; }
tr.failed td { background: #fce8e6; color: #b00020; }
td.held { color: #137333; } td.failed { font-weight: bold; }
.empty { color: #777; font-style: italic; }
figure { margin: 1.5em 0; } figcaption p { margin: 0; color: #555; }
figure svg { width: 100%; height: auto; border: 1px solid #eee; }
.placeholder { padding: 2em; background: #f8f8f8; color: #b00020; }
";

/// The whole page. Charts that plotters could not draw show their error
/// in place, so the rest of the report still reads.
pub fn html(summary: &Summary) -> String {
    let name = escape(&summary.scenario.name);
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Yeyak surge: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Opening night: {name}</h1>\n<p class=\"sub\">{}</p>\n",
        escape(&summary.scenario.description)
    );
    page.push_str(&verdict(summary));
    page.push_str(&headline(summary));
    page.push_str(&invariants(summary));
    page.push_str("<h2>Charts</h2>\n");
    for chart in charts::all(summary) {
        page.push_str(&figure(&chart));
    }
    page.push_str(&tables::all(summary));
    page.push_str("</body>\n</html>\n");
    page
}

/// For element content and double- or single-quoted attributes alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The first thing read: did the evening keep its promises.
fn verdict(summary: &Summary) -> String {
    let failed = summary.invariants.iter().filter(|i| !i.held).count();
    let (class, text) = match (summary.invariants.len(), failed) {
        (0, _) => ("fail", "no invariants were checked".to_owned()),
        (_, 0) => ("ok", "all invariants held".to_owned()),
        (_, 1) => ("fail", "1 invariant FAILED".to_owned()),
        (_, n) => ("fail", format!("{n} invariants FAILED")),
    };
    format!("<p class=\"verdict {class}\">{text}</p>\n")
}

fn headline(summary: &Summary) -> String {
    let mut figures = vec![
        ("people", tables::int(summary.people)),
        ("bookings", tables::int(summary.bookings)),
        ("bookings per second", tables::num(summary.bookings_per_second)),
        ("duration", duration(summary.duration_seconds)),
    ];
    if let Some(seed) = summary.chaos_seed {
        figures.push(("chaos seed", seed.to_string()));
    }
    let items: String = figures.iter().map(|(what, value)| format!("<li><b>{value}</b>{what}</li>")).collect();
    format!(
        "<ul class=\"figures\">{items}</ul>\n<p class=\"sub\">Started {}; scenario seed {}.</p>\n",
        escape(&summary.started_at),
        summary.scenario.seed
    )
}

/// Failed invariants first: they are why anyone opens the report.
fn invariants(summary: &Summary) -> String {
    let mut rows: Vec<_> = summary.invariants.iter().collect();
    rows.sort_by_key(|i| i.held);
    let rows: Vec<String> = rows
        .iter()
        .map(|i| {
            let (class, mark) = if i.held { ("held", "held ✓") } else { ("failed", "FAILED ✗") };
            format!(
                "<tr class=\"{class}\"><td>{}</td><td class=\"{class}\">{mark}</td>\
                 <td class=\"detail\">{}</td></tr>",
                escape(&i.name),
                escape(&i.detail)
            )
        })
        .collect();
    let table = tables::table(&["invariant", "result", "detail"], &rows, "no invariants were checked");
    format!("<h2>Invariants</h2>\n{}{table}", verdict(summary))
}

fn figure(chart: &Chart) -> String {
    let body = match &chart.svg {
        Ok(svg) => svg.clone(),
        Err(e) => format!("<div class=\"placeholder\">chart not drawn: {}</div>", escape(e)),
    };
    format!("<figure>\n<figcaption><h3>{}</h3><p>{}</p></figcaption>\n{body}\n</figure>\n", escape(chart.title), escape(chart.caption))
}

/// Minutes and seconds read faster than a count of seconds.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".to_owned();
    }
    let whole = seconds.round() as u64;
    match whole {
        0..=59 => format!("{seconds:.1} s"),
        60..=3599 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn one_inline_svg_per_chart_and_nothing_fetched() {
        let page = html(&sample());
        assert_eq!(page.matches("<svg").count(), charts::all(&sample()).len());
        assert_eq!(page.matches("<svg").count(), 6);
        for reference in ["http://", "https://", "src=", "<script", "<link"] {
            assert!(!page.contains(reference), "page contains {reference}");
        }
    }

    #[test]
    fn failed_invariant_is_marked_and_counted() {
        let page = html(&sample());
        assert!(page.contains("1 invariant FAILED"));
        let row = page.split("<tr").find(|row| row.contains("admission within rate + burst")).unwrap();
        assert!(row.contains("class=\"failed\"") && row.contains("FAILED ✗"), "{row}");
        assert!(row.contains("&gt; allowed 600"), "detail is escaped: {row}");
        let held = page.split("<tr").find(|row| row.contains("no slot overbooked")).unwrap();
        assert!(held.contains("held ✓") && !held.contains("FAILED"));
    }

    #[test]
    fn summary_text_is_escaped() {
        let mut summary = sample();
        summary.scenario.name = "<script>alert(\"x\")</script> & 'co'".to_owned();
        summary.latency[0].rpc = "<b>rpc</b>".to_owned();
        let page = html(&summary);
        assert!(!page.contains("<script>") && !page.contains("<b>rpc"));
        assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"));
        assert!(page.contains("<title>Yeyak surge: &lt;script&gt;"));
    }

    #[test]
    fn empty_summary_renders() {
        let page = html(&Summary::default());
        assert_eq!(page.matches("<svg").count(), 6);
        assert!(page.contains("no invariants were checked"));
        assert!(!page.contains("placeholder\">"));
    }

    #[test]
    fn durations_read_as_clock_time() {
        assert_eq!(duration(42.04), "42.0 s");
        assert_eq!(duration(754.0), "12 min 34 s");
        assert_eq!(duration(3723.0), "1 h 02 min");
        assert_eq!(duration(f64::NAN), "–");
    }
}
