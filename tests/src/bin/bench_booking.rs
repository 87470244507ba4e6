//! Bookings end to end through the reservation service, beside pgbench.
//!
//! `YEYAK_LOG=warn cargo run --release -p yeyak-e2e --bin bench_booking -- [--people 100000] [--seconds 15] [--concurrency 128] [--pgbench-clients 16]`
//!
//! Starts the whole stack in this process (`yeyak_e2e::stack::Stack`: every
//! service and mock on loopback, fresh databases), then books as fast as it
//! answers with `--concurrency` calls in flight: every CreateReservation
//! carries an admission pass signed with the stack's admission key and an
//! identity assertion signed with its identity key for a real registry
//! person, so reservation verifies both, asks eligibility (which asks the
//! registry) and the catalogue (GetSlot), and commits ledger, reservation and
//! outbox together; the events then flow to inventory, notification and
//! admission as in production.
//!
//! Phase 1 spreads bookings over all ~18,000 slots of the stack's catalogue;
//! phase 2 sends 10% of them at one hot slot. Before the stack starts and
//! again after it stopped, `pgbench -b tpcb-like` runs on the same
//! PostgreSQL (a scratch database created and dropped each time): the floor
//! is the mean of the two, since this machine's fsync latency drifts by a
//! quarter within minutes and a floor taken once, minutes away from the
//! phases, may catch a moment the phases did not see. Both are printed. After the run, SQL on the reservation database checks
//! that no slot is oversold and nobody holds two reservations for a dose.
use std::time::Duration;

use clap::Parser as _;
use yeyak_e2e::{
    bench::{
        backlog::Backlog,
        booking::{
            catalogue::Catalogue,
            checks::Checks,
            pgbench, phase, prepare,
            report::{self, Floor, Measured},
            Args,
        },
        cpu::CpuTimes,
        grpc,
    },
    stack::Stack,
};
use yeyak_proto::reservation::v1::reservation_service_client::ReservationServiceClient;

/// HTTP/2 connections the bookings are spread over.
const CHANNELS: usize = 8;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (concurrency, seconds) = (args.phases.concurrency, args.phases.duration());
    // The floor runs at least 10 s, however short the phases.
    let pgbench_seconds = args.phases.seconds.max(10);
    println!("bench_booking: {concurrency} bookings in flight, {} s per phase, registry of {} people", args.phases.seconds, args.people);
    let before = pgbench::tpcb_like(args.pgbench_clients, pgbench_seconds)?;
    println!("floor before: pgbench -b tpcb-like -s 10 -c {} -j 2 on the same PostgreSQL: {before:.0} TPS", args.pgbench_clients);

    let stack = Stack::start(args.people).await?;
    let catalogue = Catalogue::of(&stack)?;
    let channels = grpc::channels(&stack.endpoints.reservation, CHANNELS, &grpc::settings(Duration::from_secs(30)))?;
    let clients: Vec<_> = channels.into_iter().map(ReservationServiceClient::new).collect();
    // Enough people for the run: a phase books at most this many.
    let per_phase = (args.people / 2).min(200_000);
    let mut spread = prepare(&stack, per_phase, &catalogue.slot_ids, None, 0);
    let hot = prepare(&stack, per_phase, &catalogue.slot_ids, Some(catalogue.hot), 1);
    println!("prepared {} + {} signed bookings", spread.len(), hot.len());
    // A short warm-up (connections, caches, prepared statements), not counted.
    let warm = spread.drain(..200.min(spread.len())).collect();
    phase::run(&clients, warm, concurrency, Duration::from_secs(5)).await;

    // Each phase starts with nothing queued, and its figure includes the
    // time the consumers need to catch up with it.
    let backlog = Backlog::connect(&stack.tag).await?;
    backlog.drain(Duration::from_secs(120)).await?;
    let cpu0 = CpuTimes::now();
    let phase1 = phase::measure(&clients, spread, concurrency, seconds, &backlog).await?;
    let cpu1 = CpuTimes::now();
    let phase2 = phase::measure(&clients, hot, concurrency, seconds, &backlog).await?;
    let cpu2 = CpuTimes::now();
    backlog.close().await;

    let checks = Checks::read(&stack.tag, &catalogue).await?;
    stack.stop().await?;
    let floor = Floor { clients: args.pgbench_clients, before, after: pgbench::tpcb_like(args.pgbench_clients, pgbench_seconds)? };
    let spread = Measured { outcome: &phase1, cpu: (&cpu0, &cpu1) };
    let hot = Measured { outcome: &phase2, cpu: (&cpu1, &cpu2) };
    for line in report::lines(&floor, &spread, &hot, &catalogue, &checks) {
        println!("{line}");
    }
    anyhow::ensure!(checks.passed(), "booking checks failed");
    Ok(())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;
