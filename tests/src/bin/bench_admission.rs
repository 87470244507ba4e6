//! Opening-night surge against the waiting room, beside its floor.
//!
//! `cargo run --release -p yeyak-e2e --bin bench_admission -- [--joins N] [--polls N] [--rate R]`
//! (and `--floor-calls N --concurrency N --channels N`; `--help` lists the defaults)
//!
//! Runs two server processes, each this binary in a server mode and served by
//! the same platform stack: a no-op unary RPC (the floor) and admission. One
//! closed-loop generator drives both. Prints joins/s and polls/s with
//! p50/p99/p999 beside the floor, the server's CPU per call beside the
//! floor server's, server RSS per waiting person, measured vs
//! configured admission rate, and the cores the 2021 opening would need.
//!
//! Pollers behave like real clients: once a poll returns the pass, that
//! client stops polling. The default rate (500/s) keeps the share of polls
//! that mint a pass at a few percent, as in a real surge where millions poll
//! and thousands per second are admitted; `--rate` changes it.
use clap::Parser as _;
use yeyak_e2e::bench::admission::{
    floor, report,
    room::{self, WaitingRoom},
    Args,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_noop {
        return floor::serve().await;
    }
    if args.serve_admission {
        return room::serve().await;
    }
    let surge = args.surge;
    surge.announce();
    let floor = floor::measure(&surge).await?;
    let room = WaitingRoom::start(&surge).await?;
    let joins = room.join(&surge).await;
    let polls = room.poll(&surge).await?;
    report::print(&surge, &floor, &joins, &polls);
    room.stop().await;
    Ok(())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;
