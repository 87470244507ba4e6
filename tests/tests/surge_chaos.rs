//! A short seeded chaos evening (`tools/yeyak-surge/scenarios/chaos-ci.toml`,
//! chaos seed [`CHAOS_CI_SEED`]: six faults of six kinds): while a thousand
//! people book, yeyak-surge kills admission (SIGKILL) and terminates every
//! inventory replica (SIGTERM) and starts them again, loses the stack's Redis
//! keys, cuts the services' link to RabbitMQ for 4 s, and slows the SMS-code
//! provider and the SMS gateway. Every invariant of the evening must hold,
//! and the report marks each fault.
mod surge_common;

use std::path::PathBuf;

use yeyak_e2e::stack::{self, Stack};
use yeyak_surge::{run, scenario::Scenario, CHAOS_CI_SEED};

/// The entry point of the stack's child processes (`stack::child_main`),
/// and of those chaos starts again: in a normal run it returns at once.
#[test]
fn stack_child() {
    stack::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_invariants_hold_through_killed_services_lost_redis_keys_and_slow_third_parties() {
    let stack = Stack::start_restartable(8_000, &surge_common::processes()).await.expect("stack starts");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("surge-chaos-{}", stack.tag));
    let endpoints = surge_common::endpoints(&stack, &dir);
    let scenario = Scenario::load(&surge_common::scenario_path("chaos-ci.toml")).expect("the chaos scenario");
    let options = run::Options {
        scenario,
        endpoints,
        operator_token: yeyak_platform::config::Secret::new(stack.keys.operator_token.clone()),
        out_dir: dir.join("report"),
        people_from: Some(0),
        progress: false,
        chaos: Some(CHAOS_CI_SEED),
    };
    let outcome = run::run(options).await;
    let run::Outcome { summary, written, restarted } = outcome.expect("the evening runs");
    let stopped = stack.stop_with(restarted).await;

    let failed: Vec<_> = summary.invariants.iter().filter(|i| !i.held).map(|i| format!("{}: {}", i.name, i.detail)).collect();
    assert!(failed.is_empty(), "invariants failed under chaos (seed {CHAOS_CI_SEED}):\n{}", failed.join("\n"));
    let kinds: Vec<&str> = summary.faults.iter().map(|f| f.kind.as_str()).collect();
    for kind in ["kill", "term", "redis-flush", "broker-cut", "slow-provider", "slow-sms"] {
        assert!(kinds.contains(&kind), "no {kind} fault: {:?}", summary.faults);
    }
    assert!(
        summary.faults.iter().filter(|f| f.kind == "kill" || f.kind == "term").all(|f| f.until.is_some()),
        "every stopped service was started again"
    );
    assert_eq!(summary.chaos_seed, Some(CHAOS_CI_SEED));
    // The services' AMQP connections went through the link when it was cut.
    let cut = summary.faults.iter().find(|f| f.kind == "broker-cut").map(|f| f.target.clone()).unwrap_or_default();
    let dropped: usize = cut.trim_start_matches("rabbitmq link (").split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(dropped >= 1, "the cut dropped none of the services' connections: {cut:?}");
    assert!(summary.bookings > 0, "nobody booked through the chaos");
    let page = std::fs::read_to_string(&written.html).expect("report.html");
    assert!(
        page.contains("redis-flush") && page.contains("broker-cut") && page.contains("slow-sms"),
        "the faults are marked in the report"
    );
    stopped.expect("the stack, restarted services included, stops cleanly");
    std::fs::remove_dir_all(&dir).ok();
}
