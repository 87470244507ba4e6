//! `yeyak-ctl events …`: booking events as data, through the real binary
//! against a real admission. Times typed and shown in Asia/Seoul.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Admission, OPERATOR, SUPPORT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_created_changed_and_closed_with_dry_runs_and_force() {
    let admission = Admission::start().await;
    let ctl = |args: &[&str]| admission.ctl(OPERATOR, args);

    let listed = ctl(&["--json", "events", "list"]).ok_json();
    assert_eq!(listed["events"].as_array().unwrap().len(), 1, "the configured queue: {listed}");

    let create = [
        "events",
        "create",
        "r4-day1",
        "--title",
        "Round 4, day 1",
        "--opens-at",
        "2021-08-09 20:00",
        "--rule-set",
        "round-4",
        "--rate",
        "30",
    ];
    let dry = ctl(&[&create[..], &["--dry-run"]].concat()).ok_text();
    assert!(dry.starts_with("dry run: event r4-day1"), "{dry}");
    assert!(dry.contains("opening at 2021-08-09 20:00:00 KST"), "{dry}");
    assert_eq!(ctl(&["--json", "events", "list"]).ok_json()["events"].as_array().unwrap().len(), 1, "a dry run creates nothing");
    let made = ctl(&[&["--json"][..], &create[..]].concat()).ok_json();
    assert_eq!((made["applied"].as_bool(), made["event"]["opens_at"].as_str()), (Some(true), Some("2021-08-09 20:00")), "{made}");
    assert!(ctl(&create).failed().contains("AlreadyExists"));

    // Nobody joined yet: moving the opening needs no force.
    let moved =
        ctl(&["--json", "events", "update", "r4-day1", "--opens-at", "2021-08-09T21:00:00+09:00", "--pre-open-minutes", "30"]).ok_json();
    assert_eq!((moved["applied"].as_bool(), moved["needs_force"].as_bool()), (Some(true), Some(false)), "{moved}");
    assert_eq!(moved["event"]["pre_open_seconds"], 1800);

    let text = admission.ctl(SUPPORT, &["events", "list"]).ok_text();
    let row: Vec<_> = text.lines().find(|l| l.starts_with("r4-day1")).unwrap().split_whitespace().collect();
    assert_eq!(row[..6], ["r4-day1", "open", "2021-08-09", "21:00", "-", "round-4"], "{text}");
    assert!(text.contains("Round 4, day 1"), "{text}");

    // Someone waits in the configured queue: closing it needs --force, and says why.
    admission.join("ctl-events-test-client-0001").await;
    let refused = ctl(&["events", "close", "q1"]).failed();
    assert!(refused.contains("FailedPrecondition") && refused.contains("waiting people will not be admitted"), "{refused}");
    let dry = ctl(&["--json", "events", "close", "q1", "--dry-run"]).ok_json();
    assert_eq!((dry["needs_force"].as_bool(), dry["applied"].as_bool()), (Some(true), Some(false)), "{dry}");
    assert!(ctl(&["events", "close", "q1", "--force"]).ok_text().starts_with("done: event q1"));
    assert!(admission.ctl(SUPPORT, &["events", "close", "r4-day1"]).failed().contains("PermissionDenied"), "support only looks");
    assert!(ctl(&["events", "update", "nope", "--rate", "3"]).failed().contains("no event \"nope\""));
    assert!(ctl(&["events", "close", "nope"]).failed().contains("NotFound"));
    assert!(ctl(&["events", "create", "x", "--title", "t", "--opens-at", "tonight"]).failed_usage().contains("Asia/Seoul"));
}
