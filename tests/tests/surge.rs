//! The CI-sized evening (`tools/yeyak-surge/scenarios/ci.toml`): yeyak-surge
//! drives the whole stack, services as processes of their own, through the
//! public APIs, and every invariant of the evening holds at the end; its
//! report is written. Nothing here is about timing.
mod surge_common;

use std::path::PathBuf;

use yeyak_e2e::stack::{self, Stack};
use yeyak_surge::{report::Summary, run, scenario::Scenario};

/// The entry point of the stack's child processes (`stack::child_main`):
/// in a normal run it returns at once.
#[test]
fn stack_child() {
    stack::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ci_evening_keeps_every_invariant_and_writes_its_report() {
    let stack = Stack::start_processes(12_000, &surge_common::processes()).await.expect("stack starts");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("surge-{}", stack.tag));
    let endpoints = surge_common::endpoints(&stack, &dir);
    let scenario = Scenario::load(&surge_common::scenario_path("ci.toml")).expect("the CI scenario");
    let people = scenario.people;
    let options = run::Options {
        scenario,
        endpoints,
        operator_token: yeyak_platform::config::Secret::new(stack.keys.operator_token.clone()),
        out_dir: dir.join("report"),
        people_from: Some(0),
        progress: false,
        chaos: None,
    };
    let run::Outcome { summary, written, .. } = run::run(options).await.expect("the evening runs");

    let failed: Vec<_> = summary.invariants.iter().filter(|i| !i.held).map(|i| format!("{}: {}", i.name, i.detail)).collect();
    assert!(failed.is_empty(), "invariants failed:\n{}", failed.join("\n"));
    assert_eq!(summary.invariants.len(), 6, "{:?}", summary.invariants);
    // The crowd went through the real flow: most eligible people booked,
    // and every stage accounts for everyone who entered it.
    assert!(summary.bookings * 2 >= people, "{} bookings of {people} people", summary.bookings);
    for stage in &summary.funnel {
        let dropped: u64 = stage.dropped.values().sum();
        assert_eq!(stage.entered, stage.passed + dropped, "{stage:?}");
    }
    let dropped = |stage: &str, reason: &str| summary.funnel.iter().find(|s| s.stage == stage).and_then(|s| s.dropped.get(reason)).copied();
    assert!(dropped("eligibility", "not_eligible").unwrap_or(0) > 0, "{:?}", summary.funnel);
    assert!(dropped("wait", "abandoned").unwrap_or(0) > 0, "{:?}", summary.funnel);
    assert!(!summary.wait_accuracy.is_empty() && summary.latency.iter().any(|l| l.rpc == "reservation/CreateReservation"));
    let services: Vec<_> = summary.cpu.iter().filter(|c| c.cpu_seconds > 0.0).map(|c| c.service.as_str()).collect();
    for service in ["admission", "identity", "eligibility", "inventory", "reservation", "notification"] {
        assert!(services.contains(&service), "no CPU measured for {service}: {:?}", summary.cpu);
    }

    // The report: the page with its charts inline, the summary for scripts.
    let page = std::fs::read_to_string(&written.html).expect("report.html");
    assert!(page.matches("<svg").count() >= 6 && !page.contains("src=\"http"), "the page's charts");
    let json: Summary = serde_json::from_str(&std::fs::read_to_string(&written.json).expect("summary.json")).expect("parses");
    assert_eq!(json.bookings, summary.bookings);
    stack.stop().await.expect("stack stops");
    std::fs::remove_dir_all(&dir).ok();
}
