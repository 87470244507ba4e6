//! Eligibility against a national-sized registry, beside its floor.
//!
//! `cargo run --release -p yeyak-e2e --bin bench_eligibility -- [--people 1000000] [--load 20000000] [--seconds 15] [--concurrency 64]`
//! (`--channels 4`: HTTP/2 connections of the load generator;
//! `YEYAK_REGISTRY_MAX_IN_FLIGHT`, `YEYAK_REGISTRY_MAX_BATCH` and
//! `YEYAK_REGISTRY_PARALLEL_FROM` in the environment reach the service, to
//! try registry batching settings.)
//!
//! 1. Generates and loads `--people` synthetic people into a fresh registry
//!    database (binary COPY) and times it.
//! 2. Runs the mock registry (HTTP) and the eligibility service (gRPC, the
//!    real `Application`: pass check, identity assertion, rules, Redis,
//!    registry client) in this process, and measures closed-loop
//!    CheckEligibility calls per second with `--concurrency` in flight. Every
//!    person has their own admission pass and identity assertion (their own
//!    session), so a first check verifies two Ed25519 signatures:
//!    - cold: every call a person not seen before (two signatures, registry
//!      over HTTP, then cached in Redis);
//!    - warm: people checked before (tokens already verified, Redis cache);
//!    - as booked in practice: each new person checked twice in a row (the
//!      client's check, then the reservation service's with the same tokens;
//!      calls per second count both, latency is per pair).
//!
//!    CPU per call is measured from /proc: this process (client,
//!    eligibility, registry mock) and the PostgreSQL backends of the
//!    registry database; it does not depend on what else runs on the box.
//! 3. The floor in the same run, before and after the phases (the ratios use
//!    the mean, so drift on the shared machine does not favour either side):
//!    the registry's primary-key `SELECT` through an sqlx `PgPool` of the
//!    same size as the registry's, same concurrency.
//! 4. Generates and loads `--load` people into another fresh database and
//!    times it (the 20 million of the 2021 18-49 round), or, with a smaller
//!    `--load`, reports the rate and the extrapolation to 20 million.
//!
//! Only 127.0.0.1 is used. Both databases, the Redis keys and the RabbitMQ
//! queues the run creates are deleted at the end.
use std::sync::Arc;

use clap::Parser as _;
use yeyak_e2e::bench::eligibility::{
    checks::Checks,
    people::People,
    registry::{self, Registry},
    service::Service,
    transcript::Transcript,
    Args,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let mut out = Transcript::new(&args);

    // 1. The registry's population; 2. the registry and eligibility, in this process.
    let registry = Registry::seed(&args, &tag, &mut out).await?;
    let service = Service::start(&registry, &tag).await?;
    // Enough distinct people that no cold phase repeats one.
    let people = Arc::new(People::sign(&service, registry.population, 600_000usize.min(args.people as usize)));
    people.signature_costs(&service, &mut out)?;

    out.table_header();
    let floor_before = out.phase(&registry.floor(people.subjects.clone(), &args.phases, "before").await?);
    let mut checks = Checks::new(&service, &registry, people.clone(), &args)?;
    checks.warm_up().await;
    let cold = out.phase(&checks.cold().await?);
    let warm = out.phase(&checks.warm().await);
    let booked = out.phase(&checks.as_booked().await?);
    // 3. The floor again, after the phases: the ratios use the mean of both.
    let floor_after = out.phase(&registry.floor(people.subjects.clone(), &args.phases, "after").await?);
    out.ratios((floor_before, floor_after), cold, warm, booked);
    let leftovers = service.stop().await;
    registry.drop_database().await?;

    // 4. The 20 million of the 18-49 round (or a part, extrapolated).
    registry::load_test(args.load, &tag, &mut out).await?;
    leftovers.remove().await?;
    out.print();
    Ok(())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;
