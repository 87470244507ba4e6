//! The evening as text: one block per event, the providers, what is shed and
//! who did not answer; a figure nobody reported shows as "-", never as 0.
use std::fmt::Write as _;

use super::view::{Evening, EventView};
use crate::report::{grouped, rate};

pub(crate) fn text(evening: &Evening, at: chrono::DateTime<chrono::FixedOffset>) -> String {
    let mut out = format!(
        "yeyak status at {} ({} of {} metrics endpoints answered)\n",
        at.format("%Y-%m-%d %H:%M:%S KST"),
        evening.answered,
        evening.answered + evening.unreachable.len()
    );
    if evening.events.is_empty() {
        out.push_str("no event in the metrics yet\n");
    }
    for (name, e) in &evening.events {
        event(&mut out, name, e);
    }
    if !evening.providers.is_empty() {
        let lights: Vec<String> = evening.providers.iter().map(|(p, l)| format!("{p} {l}")).collect();
        let _ = writeln!(out, "identity providers: {}", lights.join(", "));
    }
    let shed: Vec<String> = evening.shed.iter().filter(|(_, n)| **n > 0.0).map(|(s, n)| format!("{s} {}", count(*n))).collect();
    if !shed.is_empty() {
        let _ = writeln!(out, "calls shed since start: {}", shed.join(", "));
    }
    for why in &evening.unreachable {
        let _ = writeln!(out, "NOT ANSWERING: {why}");
    }
    out
}

fn event(out: &mut String, name: &str, e: &EventView) {
    let state = match e.paused {
        Some(true) => "PAUSED".to_owned(),
        Some(false) => match (e.rate_configured, e.rate_controlled) {
            (Some(set), Some(now)) if now < set => format!("admitting at {} (automatic, ceiling {})", rate(now), rate(set)),
            (set, _) => format!("admitting at {}", set.map_or("-".to_owned(), rate)),
        },
        None => "admission not scraped".to_owned(),
    };
    let _ = writeln!(
        out,
        "event {name}: {state} (measured {}), seats {}/{}",
        e.rate_measured.map_or("-".to_owned(), rate),
        opt(e.active_seats),
        opt(e.max_active_sessions)
    );
    let wait = match (e.waiting, e.last_place_wait_seconds) {
        (Some(0.0), _) => "nobody".to_owned(),
        (_, Some(s)) => format!("the last place about {}", minutes(s)),
        (Some(_), None) => "no honest estimate yet".to_owned(),
        (None, None) => "-".to_owned(),
    };
    let _ = writeln!(out, "  waiting {}, admitted {}; wait: {wait}", opt(e.waiting), opt(e.admitted));
    let s = |stage: &str| count(e.stage(stage));
    let _ = writeln!(
        out,
        "  funnel: joined {} > admitted {} > identity {} > verified {} > eligible {} (not eligible {}) > searched {} > booked {} > SMS {} (failed {}, dead-lettered {})",
        s("joined"),
        s("admitted"),
        s("identity_started"),
        s("verified"),
        s("eligible"),
        s("not_eligible"),
        s("searched"),
        s("booked"),
        s("sms_sent"),
        s("sms_failed"),
        s("sms_dead_lettered"),
    );
    if !e.not_eligible.is_empty() {
        let reasons: Vec<String> = e.not_eligible.iter().map(|(r, n)| format!("{r} {}", count(*n))).collect();
        let _ = writeln!(out, "  not eligible by reason: {}", reasons.join(", "));
    }
}

fn count(n: f64) -> String {
    grouped(n.max(0.0).round() as u64)
}

fn opt(n: Option<f64>) -> String {
    n.map_or("-".to_owned(), count)
}

fn minutes(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.0} min", (seconds / 60.0).ceil())
    }
}
