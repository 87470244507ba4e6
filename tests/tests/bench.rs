//! The benchmarks' shared pieces, without a stack: the commands
//! docs/benchmarks.md and the Makefile document keep parsing to the same
//! defaults, and the load generator counts and ranks calls as the figures
//! assume.
use std::time::Duration;

use clap::Parser as _;
use yeyak_e2e::bench::{
    admission, booking,
    closed_loop::{self, Calls, Load, Successes},
    eligibility, identity, search,
};

#[test]
fn every_documented_default_is_kept() {
    let a = admission::Args::try_parse_from(["bench_admission"]).unwrap().surge;
    assert_eq!(
        (a.joins, a.polls, a.rate, a.floor_calls, a.concurrency, a.connections.channels),
        (1_000_000, 1_000_000, 500, 300_000, 128, 8)
    );
    let i = identity::Args::try_parse_from(["bench_identity"]).unwrap();
    assert_eq!((i.phases.seconds, i.phases.concurrency, i.passes, i.healthy_only), (10, 64, 60_000, false));
    let e = eligibility::Args::try_parse_from(["bench_eligibility"]).unwrap();
    assert_eq!((e.people, e.load, e.phases.seconds, e.phases.concurrency, e.connections.channels), (1_000_000, 20_000_000, 15, 64, 4));
    let b = booking::Args::try_parse_from(["bench_booking"]).unwrap();
    assert_eq!((b.people, b.phases.seconds, b.phases.concurrency, b.pgbench_clients), (100_000, 15, 128, 16));
    let s = search::Args::try_parse_from(["bench_search"]).unwrap();
    assert_eq!((s.rate, s.phases.seconds, s.phases.concurrency, s.sweep), (2000, 15, 32, vec![500, 1000, 1500]));
}

#[test]
fn documented_flags_parse() {
    let a = admission::Args::try_parse_from(
        "bench_admission --joins 7 --polls 8 --rate 9 --floor-calls 10 --concurrency 11 --channels 12".split(' '),
    )
    .unwrap();
    let s = a.surge;
    assert_eq!((s.joins, s.polls, s.rate, s.floor_calls, s.concurrency, s.connections.channels), (7, 8, 9, 10, 11, 12));
    let i = identity::Args::try_parse_from("bench_identity --seconds 1 --concurrency 2 --passes 3 --healthy-only".split(' ')).unwrap();
    assert_eq!((i.phases.seconds, i.phases.concurrency, i.passes, i.healthy_only), (1, 2, 3, true));
    let e = eligibility::Args::try_parse_from("bench_eligibility --people 1 --load 2 --seconds 3 --concurrency 4 --channels 5".split(' '))
        .unwrap();
    assert_eq!((e.people, e.load, e.phases.seconds, e.phases.concurrency, e.connections.channels), (1, 2, 3, 4, 5));
    let b = booking::Args::try_parse_from("bench_booking --people 1 --seconds 2 --concurrency 3 --pgbench-clients 4".split(' ')).unwrap();
    assert_eq!((b.people, b.phases.seconds, b.phases.concurrency, b.pgbench_clients), (1, 2, 3, 4));
    let s = search::Args::try_parse_from("bench_search --rate 1 --seconds 2 --concurrency 3 --sweep 4,5".split(' ')).unwrap();
    assert_eq!((s.rate, s.phases.seconds, s.phases.concurrency, s.sweep), (1, 2, 3, vec![4, 5]));
}

#[test]
fn admission_runs_itself_as_either_server_but_not_both() {
    assert!(admission::Args::try_parse_from(["bench_admission", "--serve-noop"]).unwrap().serve_noop);
    assert!(admission::Args::try_parse_from(["bench_admission", "--serve-admission"]).unwrap().serve_admission);
    assert!(admission::Args::try_parse_from(["bench_admission", "--serve-noop", "--serve-admission"]).is_err());
}

#[tokio::test]
async fn a_surge_of_known_size_sends_each_call_once_and_ranks_every_latency() {
    let phase = closed_loop::run::<Calls, _, _>(Load::calls(1000, 16), |i| async move { i % 10 != 0 }).await;
    assert_eq!((phase.latencies.count(), phase.tally.failed), (1000, 100));
    let (p50, p99, max) = (phase.latencies.percentile_ms(0.5), phase.latencies.percentile_ms(0.99), phase.latencies.percentile_ms(1.0));
    assert!(p50 <= p99 && p99 <= max, "{p50} {p99} {max}");
}

#[tokio::test]
async fn a_timed_phase_keeps_only_what_succeeded_after_the_warm_up() {
    let load = Load::timed(Duration::from_millis(100), 4).after_warmup(Duration::from_millis(50)).at_most(10_000);
    let phase = closed_loop::run::<Successes, _, _>(load, |i| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        i % 2 == 0
    })
    .await;
    let kept = phase.latencies.count();
    assert!(kept > 0 && phase.tally.failed > 0, "{kept} kept, {} failed", phase.tally.failed);
    // Half of the counted calls failed, and none of their latencies were kept.
    assert!(kept.abs_diff(phase.tally.failed) <= 8, "{kept} kept, {} failed", phase.tally.failed);
    assert!(phase.elapsed >= Duration::from_millis(100), "{:?}", phase.elapsed);
}

#[tokio::test]
async fn a_phase_without_calls_has_no_percentiles() {
    let phase = closed_loop::run::<Calls, _, _>(Load::calls(0, 4), |_| async { true }).await;
    assert!(phase.latencies.percentile_ms(0.99).is_nan());
}
