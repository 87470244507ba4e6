//! The report's tables: the exact figures behind the charts, for the
//! reader who has to quote them.
use super::escape;
use crate::report::charts::numbered;
use crate::report::Summary;

/// All tables, in the order a person goes through the evening: in the
/// funnel, how fast, what failed, what it cost, then the queue's honesty.
pub(super) fn all(summary: &Summary) -> String {
    [
        admission(summary),
        funnel(summary),
        time_to_book(summary),
        latency(summary),
        errors(summary),
        cpu(summary),
        wait_accuracy(summary),
        faults(summary),
    ]
    .concat()
}

/// A table whose `rows` are already HTML; `empty` says why there are none.
pub(super) fn table(head: &[&str], rows: &[String], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\">{}</p>\n", escape(empty));
    }
    let head: String = head.iter().map(|h| format!("<th>{}</th>", escape(h))).collect();
    format!("<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{}\n</tbody>\n</table>\n", rows.join("\n"))
}

/// Thousands separated, since counts here run to millions.
pub(super) fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant figures or so; a dash where the run gave no number
/// (a rate over no bookings).
pub(super) fn num(v: f64) -> String {
    match v.abs() {
        a if !a.is_finite() => "–".to_owned(),
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

fn text(s: &str) -> String {
    format!("<td>{}</td>", escape(s))
}

fn cell(value: String) -> String {
    format!("<td class=\"num\">{value}</td>")
}

fn row(cells: &[String]) -> String {
    format!("<tr>{}</tr>", cells.concat())
}

fn section(title: &str, body: String) -> String {
    format!("<h2>{title}</h2>\n{body}")
}

fn admission(s: &Summary) -> String {
    let a = &s.admission;
    let over = a.max_admitted_in_window as f64 > a.allowed_in_window;
    let window = format!(
        "<tr{}><td>most admitted in any {} s window</td><td class=\"num\">{} (allowed {})</td></tr>",
        if over { " class=\"failed\"" } else { "" },
        num(a.window_seconds),
        int(a.max_admitted_in_window),
        num(a.allowed_in_window)
    );
    let rows = vec![
        row(&[text("queue"), text(&a.queue_id)]),
        row(&[text("configured rate, people/s"), cell(num(a.configured_rate_per_second))]),
        row(&[text("measured rate, people/s"), cell(num(a.measured_rate_per_second))]),
        row(&[text("burst, seconds of the rate"), cell(num(a.burst_seconds))]),
        window,
    ];
    section("Admission", table(&["figure", "value"], &rows, ""))
}

fn funnel(s: &Summary) -> String {
    let rows: Vec<String> = s
        .funnel
        .iter()
        .map(|stage| {
            let dropped: Vec<String> = stage.dropped.iter().map(|(why, n)| format!("{} {}", escape(why), int(*n))).collect();
            let share =
                if stage.entered == 0 { "–".to_owned() } else { format!("{:.1}%", stage.passed as f64 * 100.0 / stage.entered as f64) };
            row(&[
                text(&stage.stage),
                cell(int(stage.entered)),
                cell(int(stage.passed)),
                cell(share),
                format!("<td>{}</td>", dropped.join("<br>")),
            ])
        })
        .collect();
    let head = ["stage", "entered", "passed", "passed %", "dropped, by reason"];
    section("Funnel", table(&head, &rows, "no stage was reached"))
}

fn time_to_book(s: &Summary) -> String {
    let d = &s.time_to_book;
    let rows = if d.count == 0 {
        vec![]
    } else {
        let secs = [d.p50, d.p90, d.p99, d.max].map(|v| cell(num(v)));
        vec![row(&[&[cell(int(d.count))], &secs[..]].concat())]
    };
    let head = ["bookings", "p50, s", "p90, s", "p99, s", "max, s"];
    section("Time to book", table(&head, &rows, "nobody booked"))
}

fn latency(s: &Summary) -> String {
    let rows: Vec<String> = s
        .latency
        .iter()
        .map(|r| {
            let ms = [r.p50_ms, r.p99_ms, r.p999_ms].map(|v| cell(num(v)));
            row(&[&[text(&r.rpc), cell(int(r.count))], &ms[..]].concat())
        })
        .collect();
    let head = ["RPC", "calls", "p50, ms", "p99, ms", "p99.9, ms"];
    section("Latency", table(&head, &rows, "no calls were timed"))
}

fn errors(s: &Summary) -> String {
    let rows: Vec<String> = s.errors.iter().map(|e| row(&[text(&e.stage), text(&e.code), cell(int(e.count))])).collect();
    section("Errors", table(&["stage", "code", "calls"], &rows, "no call failed"))
}

fn cpu(s: &Summary) -> String {
    let rows: Vec<String> = s.cpu.iter().map(|c| row(&[text(&c.service), cell(num(c.cpu_seconds)), cell(num(c.ms_per_booking))])).collect();
    let empty = "no CPU measured: the simulator was not told where the services' processes are";
    let head = ["service", "CPU seconds", "CPU ms per booking"];
    section("CPU per service", table(&head, &rows, empty))
}

fn wait_accuracy(s: &Summary) -> String {
    let rows: Vec<String> = s
        .wait_accuracy
        .iter()
        .map(|w| {
            let secs = [w.actual_p50, w.predicted_at_join_p50, w.abs_error_at_join_p50, w.abs_error_at_polls_p50];
            let within = format!("{:.0}%", w.polls_within_20pct * 100.0);
            let mut cells = vec![cell(w.decile.to_string()), cell(int(w.people))];
            cells.extend(secs.map(|v| cell(num(v))));
            cells.extend([cell(within), cell(int(w.polls))]);
            row(&cells)
        })
        .collect();
    let head = [
        "decile",
        "people",
        "actual wait p50, s",
        "predicted at join p50, s",
        "|error| at join p50, s",
        "|error| at polls p50, s",
        "polls within 20% or 5 s",
        "polls",
    ];
    section("Wait-estimate accuracy", table(&head, &rows, "nobody waited"))
}

fn faults(s: &Summary) -> String {
    let rows: Vec<String> = numbered(&s.faults)
        .into_iter()
        .map(|(n, f)| {
            let until = f.until.map_or_else(|| "not undone".to_owned(), num);
            row(&[cell(format!("#{n}")), cell(num(f.t)), text(&f.kind), text(&f.target), cell(until)])
        })
        .collect();
    let head = ["marker", "at, s", "fault", "target", "undone at, s"];
    section("Faults injected", table(&head, &rows, "no faults were injected"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_at_a_glance() {
        assert_eq!(int(0), "0");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(num(1234.4), "1234");
        assert_eq!(num(0.1234), "0.12");
        assert_eq!(num(f64::INFINITY), "–");
    }

    #[test]
    fn admission_over_the_allowance_is_red() {
        let mut summary = Summary::default();
        summary.admission.max_admitted_in_window = 700;
        summary.admission.allowed_in_window = 600.0;
        assert!(admission(&summary).contains("class=\"failed\""));
    }
}
