//! Inventory reads on the full national catalogue, beside their floor.
//!
//! `cargo run --release -p yeyak-e2e --bin bench_search -- [--rate 2000] [--seconds 15] [--concurrency 32] [--sweep 500,1000,1500]`
//!
//! Seeds the full catalogue (16,000 clinics, 56 days, about 10.7 million
//! slots) into the database `yeyak_bench_inventory` once and reuses it, runs
//! the inventory service in this process on it, and measures through gRPC
//! (admission pass checked on every call):
//!
//! 1. open loop at a fixed arrival rate (latency from each request's
//!    scheduled send time, so a stall counts against us): a mix of
//!    SearchClinics (80% by district, 20% by province, a week's window) and
//!    GetAvailability (a random clinic and vaccine, a week), with the Redis
//!    cache, then with the cache switched off (PostgreSQL alone);
//! 2. the cached service at the `--sweep` rates, to show where the knee is;
//! 3. the floor: a primary-key `SELECT` through the same connection pool at
//!    the same rate;
//! 4. closed loop (`--concurrency` in flight): the most calls per second
//!    each sustains.
//!
//! Only 127.0.0.1 is used. Redis keys and RabbitMQ queues the run creates
//! are deleted at the end; the seeded database is kept for the next run.
use std::sync::Arc;

use clap::Parser as _;
use uuid::Uuid;
use yeyak_e2e::bench::{
    cleanup,
    search::{
        self,
        phases::{Run, Summary},
        server::{Catalogue, Server},
        workload::{Errors, Floor, Workload},
        Args,
    },
};
use yeyak_platform::tokens::{Issuer, SigningKey};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tag = format!("bench{}", &Uuid::new_v4().simple().to_string()[..8]);
    let key = SigningKey::generate(Issuer::Admission, "bench-search");
    println!(
        "bench_search: rate {}/s for {} s per open-loop phase, closed loop {} in flight",
        args.rate, args.phases.seconds, args.phases.concurrency
    );
    let cached = Server::start(&key, &format!("{tag}c"), true).await?;
    let catalogue = Arc::new(Catalogue::seed_and_read(&cached.pool).await?);
    let (pass, errors) = (search::pass(&key), Arc::new(Errors::default()));
    let w = Workload::new(cached.addr, catalogue.clone(), pass.clone(), errors.clone())?;
    let mut run = Run::new(&args);

    // 1. Open loop on the service as deployed, with the cache (after a
    //    warm-up at the same rate), then with the cache off.
    run.warm_up(&w).await;
    let cached_p99 = run.mixed(&w, 1_000_000, "Redis cache").await;
    let uncached = Server::start(&key, &format!("{tag}n"), false).await?;
    let w_db = Workload::new(uncached.addr, catalogue.clone(), pass, errors.clone())?;
    let db_p99 = run.mixed(&w_db, 2_000_000, "PostgreSQL only").await;
    // 2. Where the knee is: the cached service at lower rates.
    let knee = run.sweep(&w, &args.sweep).await;
    // 3. The floor at the same rate: a primary-key SELECT through the same pool.
    let floor = Floor { pool: cached.pool.clone(), catalogue };
    let floor_p99 = run.open_floor(&floor).await;
    // 4. Closed loop: the most each sustains.
    run.closed_loops();
    let search_max = run.closed("  SearchClinics, Redis cache", &w, 3_000_000, Workload::search).await;
    let availability_max = run.closed("  GetAvailability, Redis cache", &w, 4_000_000, Workload::availability).await;
    run.closed("  SearchClinics, PostgreSQL only", &w_db, 5_000_000, Workload::search).await;
    run.closed("  GetAvailability, PostgreSQL only", &w_db, 6_000_000, Workload::availability).await;
    let floor_max = run.closed("  floor: primary-key SELECT, same pool", &floor, 0, Floor::closed).await;
    let errors = errors.summary();
    run.print(Summary { cached_p99, db_p99, floor_p99, knee, search_max, availability_max, floor_max, errors });

    cached.stop().await?;
    uncached.stop().await?;
    cleanup::delete_redis_prefix(&format!("bench:{tag}c")).await?;
    Ok(())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;
