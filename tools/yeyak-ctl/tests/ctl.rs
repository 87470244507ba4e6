//! `yeyak-ctl` as an operator runs it: the real binary against a real
//! admission (PostgreSQL, Redis, RabbitMQ), with named operators' tokens.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Admission, OPERATOR, SUPPORT};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_commands_change_what_they_say_and_dry_runs_change_nothing() {
    let admission = Admission::start().await;
    let ctl = |args: &[&str]| admission.ctl(OPERATOR, args);

    let before = ctl(&["--json", "admission", "status", "q1"]).ok_json();
    assert_eq!(before["settings"]["event"], "q1");
    let rate = before["settings"]["rate_per_second"].as_f64().unwrap();
    assert_ne!(rate, 7.0);

    let dry = ctl(&["admission", "set", "q1", "--rate", "7", "--dry-run"]).ok_text();
    assert!(dry.contains("dry run, nothing changed; would rate"), "{dry}");
    assert_eq!(ctl(&["--json", "admission", "status", "q1"]).ok_json()["settings"]["rate_per_second"].as_f64(), Some(rate));

    let set = ctl(&["--json", "admission", "set", "q1", "--rate", "7", "--max-active", "40"]).ok_json();
    assert_eq!(set["settings"]["rate_per_second"].as_f64(), Some(7.0));
    assert_eq!(set["settings"]["max_active_sessions"].as_u64(), Some(40));
    let again = ctl(&["admission", "set", "q1", "--rate", "7"]).ok_text();
    assert!(again.starts_with("nothing to change"), "{again}");

    assert!(ctl(&["admission", "pause", "q1", "--dry-run"]).ok_text().contains("would pause admission"));
    assert_eq!(ctl(&["--json", "admission", "status", "q1"]).ok_json()["settings"]["paused"], false);
    assert_eq!(ctl(&["--json", "admission", "pause", "q1"]).ok_json()["settings"]["paused"], true);
    assert_eq!(ctl(&["--json", "admission", "resume", "q1"]).ok_json()["settings"]["paused"], false);

    // On by default where the deployment has control targets, floored at 5 % of the ceiling.
    let auto = ctl(&["--json", "admission", "auto", "q1", "off", "--floor", "2", "--dry-run"]).ok_json();
    assert_eq!(auto["dry_run"], true, "{auto}");
    assert_eq!(auto["would"], serde_json::json!(["automatic rate on -> off", "floor 0.35/s -> 2/s"]), "{auto}");
    assert_eq!(auto["settings"]["automatic_admission"], true, "a dry run changes nothing");
    let on = ctl(&["--json", "admission", "auto", "q1", "on", "--floor", "2"]).ok_json();
    assert_eq!(
        (on["settings"]["automatic_admission"].as_bool(), on["settings"]["floor_rate_per_second"].as_f64()),
        (Some(true), Some(2.0)),
        "{on}"
    );
    assert!(ctl(&["admission", "status", "q1"]).ok_text().contains("automatic rate on: 7/s in force (floor 2/s)"));
    let off = ctl(&["--json", "admission", "auto", "q1", "off"]).ok_json();
    assert_eq!(off["settings"]["automatic_admission"], false, "{off}");

    let hard = ctl(&["--json", "admission", "difficulty", "q1", "9"]).ok_json();
    assert_eq!(hard["settings"]["join_difficulty_bits"], 9);
    let refused = ctl(&["admission", "difficulty", "q1", "40"]).failed();
    assert!(refused.contains("InvalidArgument"), "{refused}");
    assert!(ctl(&["admission", "set", "q1"]).failed().contains("--rate and/or --max-active"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_weak_token_is_refused_in_words_an_operator_acts_on() {
    let admission = Admission::start().await;
    let unknown = admission.ctl("not-a-token-anybody-holds-0000", &["admission", "status", "q1"]).failed();
    assert!(unknown.contains("Unauthenticated") && unknown.contains("YEYAK_OPERATORS"), "{unknown}");
    let support = admission.ctl(SUPPORT, &["admission", "pause", "q1"]).failed();
    assert!(support.contains("PermissionDenied"), "{support}");
    assert!(!support.contains(SUPPORT) && !unknown.contains("not-a-token"), "a token is never echoed");
    let none = admission.ctl("", &["admission", "status", "q1"]).failed();
    assert!(none.contains("no operator token"), "{none}");
    // From a file, as a mounted Secret gives it.
    let file = std::env::temp_dir().join(format!("yeyak-ctl-token-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, format!("{OPERATOR}\n")).unwrap();
    let out = admission.ctl("", &["--token-file", file.to_str().unwrap(), "admission", "status", "q1"]);
    std::fs::remove_file(&file).unwrap();
    assert!(out.ok_text().contains("event q1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_view_shows_the_line_and_the_funnel_and_drain_follows_the_line_out() {
    let admission = Admission::start().await;
    admission.ctl(OPERATOR, &["admission", "pause", "q1"]).ok_text();
    for i in 0..5 {
        admission.join(&format!("client-{i:016}")).await;
    }
    let metrics = admission.metrics_url();
    let unreachable = "http://127.0.0.1:9/metrics";
    let endpoints = format!("{metrics},{unreachable}");
    let mut view = Value::Null;
    for _ in 0..100 {
        view = admission.ctl("", &["--json", "--metrics", &endpoints, "status", "--event", "q1"]).ok_json();
        if view["events"]["q1"]["waiting"].as_f64() == Some(5.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["events"]["q1"]["waiting"].as_f64(), Some(5.0), "{view}");
    assert_eq!(view["events"]["q1"]["funnel"]["joined"].as_f64(), Some(5.0), "{view}");
    assert_eq!(view["events"]["q1"]["paused"], true);
    assert_eq!(view["answered"], 1);
    assert!(view["unreachable"][0].as_str().unwrap().starts_with(unreachable), "{view}");
    let text = admission.ctl("", &["--metrics", &endpoints, "status"]).ok_text();
    assert!(text.contains("event q1: PAUSED") && text.contains("waiting 5,") && text.contains("NOT ANSWERING"), "{text}");

    let dry = admission.ctl(OPERATOR, &["admission", "drain", "q1", "--dry-run"]).ok_text();
    assert!(dry.contains("the 5 waiting are still admitted once admission resumes"), "{dry}");
    admission.ctl(OPERATOR, &["admission", "set", "q1", "--rate", "20", "--max-active", "100"]).ok_text();
    admission.ctl(OPERATOR, &["admission", "resume", "q1"]).ok_text();
    let drained = admission.ctl(OPERATOR, &["--json", "admission", "drain", "q1", "--wait"]).ok_json();
    assert_eq!(drained["settings"]["closed"], true);
    assert_eq!(drained["settings"]["waiting"], 0, "{drained}");
    assert_eq!(drained["settings"]["admitted"], 5, "{drained}");

    let none = admission.ctl("", &["--metrics", unreachable, "status"]).failed();
    assert!(none.contains("no metrics endpoint answered"), "{none}");
}

#[test]
fn rules_are_validated_and_refused_as_the_eligibility_cli_does() {
    let ok = common::run_ctl("", &["rules", "validate", "--rules", "../../services/eligibility/rules/demo.toml"]).ok_text();
    assert!(ok.contains("valid, version"), "{ok}");
    let bad = std::env::temp_dir().join(format!("yeyak-ctl-rules-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&bad, "version = 1\n[[cohorts]]\nname = 3\n").unwrap();
    let refused = common::run_ctl("", &["rules", "validate", "--rules", bad.to_str().unwrap()]).failed();
    std::fs::remove_file(&bad).unwrap();
    assert!(refused.contains("invalid rules"), "{refused}");
}
