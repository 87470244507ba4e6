//! Identity verification benchmark.
//!
//! ```sh
//! cargo run --release -p yeyak-e2e --bin bench_identity -- [--seconds 10] [--concurrency 64] [--passes 60000]
//! ```
//!
//! Starts, in this process, the four mock providers (zero latency) and
//! identity on loopback (real Redis at 127.0.0.1:6379, a private key prefix
//! removed at the end), mints one admission pass per verification before the
//! clock starts (admission's work, not identity's), then drives closed-loop
//! virtual users, each phase after a warm-up:
//!
//! 1. **floor**: the same load generator calls the carrier mock directly, as
//!    a relying party would without identity: `POST /v1/verifications`,
//!    `GET /v1/inbox/{phone}` (the person reads the code), `POST .../confirm`;
//! 2. **thin front** (plain tonic, then the platform's `GrpcServer`): the
//!    front-end code of phase 3 against [`yeyak_e2e::bench::thin_front`], identity's three RPCs
//!    forwarding straight to the carrier and doing nothing else: the ceiling
//!    of `identity / floor` on this machine in this run;
//! 3. **identity**: each virtual user is a front end serving a new person:
//!    `ListProviders`, the first offered provider, `StartVerification`, the
//!    inbox (or the approval in the app), `CompleteVerification`. On the
//!    retryable `UNAVAILABLE` it starts again with the first alternative the
//!    status names (at most three tries). Served by the platform's
//!    `GrpcServer` exactly as `yeyak-identity` is;
//! 4. the floor again (the ratios use the mean of both floors: the machine's
//!    speed drifts within a run);
//! 5. identity with the carrier — the provider the front end picks first —
//!    failing 50% of its calls, measured from the first failure.
//!
//! A verification counts as a success only if CompleteVerification answers
//! OK (identity answers OK only with a signed assertion; the thin front
//! returns none). Prints rates, the ratios, the success rate users see,
//! latency percentiles and the CPU used.
use clap::Parser as _;
use yeyak_e2e::bench::identity::{
    report::{self, Run},
    setup::Bench,
    Args,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench::start(&args).await?;
    if args.healthy_only {
        println!("{}", bench.through(&bench.identity, "identity, healthy").await.row());
        bench.stop().await?;
        return Ok(());
    }
    // Fields run in the order written: the phases, one after the other.
    let run = Run {
        floor: bench.floor("floor: direct HTTP to the carrier mock").await.progress("floor"),
        thin_plain: bench.through(&bench.thin, "thin gRPC front (plain tonic)").await.progress("thin front (plain tonic)"),
        thin_platform: bench
            .through(&bench.thin_platform, "thin gRPC front (platform server)")
            .await
            .progress("thin front (platform server)"),
        healthy: bench.through(&bench.identity, "identity, all healthy").await.progress("identity"),
        floor_again: bench.floor("floor again").await.progress("floor again"),
        degraded: bench.carrier_failing("identity, carrier failing 50%").await?,
    };
    let end = bench.stop().await?;
    report::print(&run, &end);
    Ok(())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;
