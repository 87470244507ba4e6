//! The run's report: `summary.json` for scripts and `report.html`, one
//! self-contained page with its charts inline.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub mod charts;
pub mod html;
pub mod model;

pub use html::html;
pub use model::Summary;

/// Where the report went, so the run can end by pointing at it.
#[derive(Clone, Debug)]
pub struct Written {
    pub html: PathBuf,
    pub json: PathBuf,
}

/// Writes `summary.json` before the page, so the figures of a long run
/// survive even if the page cannot be written.
pub fn write(dir: &Path, summary: &Summary) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let json = dir.join("summary.json");
    let mut text = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    text.push('\n');
    fs::write(&json, text)?;
    let page = dir.join("report.html");
    fs::write(&page, html::html(summary))?;
    Ok(Written { html: page, json })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::model::*;
    use super::*;

    /// A minute of an evening with two faults, three RPCs and one broken
    /// invariant: every part of the page has something to show.
    pub(crate) fn sample() -> Summary {
        let timeline = (0..60u32)
            .map(|t| Second {
                t,
                arrivals: if t < 10 { 400 } else { 40 },
                waiting: u64::from(4000u32.saturating_sub(t * 60)),
                admitted: if (20..35).contains(&t) { 0 } else { 50 + u64::from(t % 7) },
                booked: if (20..35).contains(&t) { 0 } else { 45 },
                errors: if (20..35).contains(&t) { 30 } else { 1 },
            })
            .collect();
        let rpc = |name: &str, base: f64| RpcLatency {
            rpc: name.to_owned(),
            count: 5_000,
            p50_ms: base,
            p99_ms: base * 4.0,
            p999_ms: base * 9.0,
            over_time: (0..12).map(|i| (i * 5, base, base * (4.0 + f64::from(i % 3)))).collect(),
        };
        let stage = |stage: &str, entered: u64, passed: u64| Stage {
            stage: stage.to_owned(),
            entered,
            passed,
            dropped: [("abandoned".to_owned(), entered - passed)].into(),
        };
        Summary {
            scenario: ScenarioEcho {
                name: "opening-night-small".to_owned(),
                description: "Ten thousand people at 20:00 & bots".to_owned(),
                seed: 7,
                full_size: [("people".to_owned(), 2.0e6)].into(),
            },
            started_at: "2025-03-01T20:00:00+09:00".to_owned(),
            duration_seconds: 60.0,
            people: 6_000,
            bookings: 2_025,
            bookings_per_second: 33.75,
            admission: AdmissionFigures {
                queue_id: "seoul-2025-03".to_owned(),
                configured_rate_per_second: 50.0,
                burst_seconds: 2.0,
                measured_rate_per_second: 41.3,
                window_seconds: 10.0,
                max_admitted_in_window: 560,
                allowed_in_window: 600.0,
            },
            timeline,
            funnel: vec![stage("queue", 6_000, 2_500), stage("book", 2_500, 2_025)],
            time_to_book: Distribution {
                count: 2_025,
                p50: 31.0,
                p90: 48.0,
                p99: 58.0,
                max: 59.5,
                buckets: vec![(5.0, 100), (10.0, 300), (20.0, 600), (40.0, 800), (80.0, 225)],
            },
            wait_accuracy: (1..=10u8)
                .map(|decile| WaitAccuracy {
                    decile,
                    people: 600,
                    actual_p50: f64::from(decile) * 5.0,
                    predicted_at_join_p50: f64::from(decile) * 4.5,
                    abs_error_at_join_p50: 3.0,
                    abs_error_at_polls_p50: 1.5,
                    polls_within_20pct: 0.9,
                    polls: 4_000,
                })
                .collect(),
            latency: vec![rpc("admission/Join", 4.0), rpc("admission/Poll", 2.0), rpc("reservation/Book", 12.0)],
            errors: vec![ErrorCount { stage: "book".to_owned(), code: "UNAVAILABLE".to_owned(), count: 450 }],
            cpu: vec![ServiceCpu { service: "inventory".to_owned(), cpu_seconds: 12.5, ms_per_booking: 6.2 }],
            invariants: vec![
                Invariant { name: "no slot overbooked".to_owned(), held: true, detail: "bookings per slot <= capacity".to_owned() },
                Invariant {
                    name: "admission within rate + burst".to_owned(),
                    held: false,
                    detail: "max 700 admitted in 10 s > allowed 600 (t=20..30)".to_owned(),
                },
            ],
            faults: vec![
                Fault { t: 20.0, kind: "kill".to_owned(), target: "inventory-1".to_owned(), until: Some(35.0) },
                Fault { t: 45.0, kind: "partition".to_owned(), target: "reservation".to_owned(), until: None },
            ],
            chaos_seed: Some(42),
        }
    }

    #[test]
    fn write_creates_the_directory_and_both_files() {
        let dir = std::env::temp_dir().join(format!("yeyak-surge-{}", uuid::Uuid::new_v4()));
        let written = write(&dir.join("nested"), &sample()).unwrap();
        let json = fs::read_to_string(&written.json).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(back.bookings, 2_025);
        let page = fs::read_to_string(&written.html).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
