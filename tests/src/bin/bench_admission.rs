//! Opening-night surge against the waiting room, beside its floor.
//!
//! `cargo run --release -p yeyak-e2e --bin bench_admission -- [--joins N] [--polls N] [--rate R]`
//!
//! Runs two server processes, each this binary in a server mode and served by
//! the same platform stack: a no-op unary RPC (the floor) and admission. One
//! closed-loop generator drives both. Prints joins/s and polls/s with
//! p50/p99/p999 beside the floor, server RSS per waiting person, measured vs
//! configured admission rate, and the cores the 2021 opening would need.
//!
//! Pollers behave like real clients: once a poll returns the pass, that
//! client stops polling. The default rate (500/s) keeps the share of polls
//! that mint a pass at a few percent, as in a real surge where millions poll
//! and thousands per second are admitted; `--rate` changes it.
use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};
use yeyak_e2e::bench::arg;

use tonic::{transport::Channel, Request, Response, Status};
use yeyak_e2e::bench::{load, process::ServerProcess};
use yeyak_platform::{config::Env, grpc::client, metrics::Metrics, Shutdown};
use yeyak_proto::{
    admission::v1::{
        admission_operator_service_client::AdmissionOperatorServiceClient, admission_service_client::AdmissionServiceClient, *,
    },
    notification::v1::{
        notification_service_client::NotificationServiceClient,
        notification_service_server::{NotificationService, NotificationServiceServer},
        GetDeliveryStatusRequest, GetDeliveryStatusResponse,
    },
};

const TOKEN: &str = "bench-operator-token";

struct NoOp;

#[tonic::async_trait]
impl NotificationService for NoOp {
    async fn get_delivery_status(&self, _: Request<GetDeliveryStatusRequest>) -> Result<Response<GetDeliveryStatusResponse>, Status> {
        Ok(Response::new(GetDeliveryStatusResponse::default()))
    }
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("--serve-noop") => serve_noop().await,
        Some("--serve-admission") => serve_admission().await,
        _ => generate().await,
    }
}

async fn serve_noop() -> anyhow::Result<()> {
    let settings =
        yeyak_platform::config::ServerSettings { max_concurrent_rpcs: 100_000, ..yeyak_platform::config::ServerSettings::ephemeral() };
    let ready =
        yeyak_platform::grpc::GrpcServer::new(settings, Metrics::new("noop")).add(NotificationServiceServer::new(NoOp)).bind().await?;
    println!("LISTENING {}", ready.local_addr());
    ready.set_serving().await;
    ready.run(Shutdown::on_signals()).await
}

async fn serve_admission() -> anyhow::Result<()> {
    let app = admission::startup::Application::build(admission::config::Config::from_env(&Env::process())?).await?;
    println!("LISTENING {}", app.grpc_addr());
    app.run_until_stopped(Shutdown::on_signals()).await
}

fn channels(addr: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    (0..n)
        .map(|_| {
            client::channel(
                addr,
                &client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_secs(30) },
            )
        })
        .collect()
}

fn client_id(i: u64) -> String {
    format!("bench-client-{i:016}")
}

async fn generate() -> anyhow::Result<()> {
    let (joins, polls, rate) = (arg("--joins", 1_000_000), arg("--polls", 1_000_000), arg("--rate", 500));
    let (floor_calls, concurrency, nchan) =
        (arg("--floor-calls", 300_000), arg("--concurrency", 128) as usize, arg("--channels", 8) as usize);
    println!("surge: {joins} joins, {polls} polls, configured rate {rate}/s, {concurrency} in flight over {nchan} HTTP/2 connections");
    println!(
        "machine: {} cores shared by the generator, the server process and Redis",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Floor: a no-op unary RPC served the same way.
    let noop = ServerProcess::spawn("--serve-noop", &[])?;
    let noop_channels = Arc::new(channels(&noop.addr, nchan)?);
    let floor = load::run(floor_calls, concurrency, move |i| {
        let mut c = NotificationServiceClient::new(noop_channels[i as usize % noop_channels.len()].clone());
        async move { c.get_delivery_status(GetDeliveryStatusRequest::default()).await.is_ok() }
    })
    .await;
    drop(noop);

    let tag = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("bench:{tag}");
    let amqp = yeyak_platform::messaging::AmqpSettings::for_test(&format!("bench-{tag}"));
    let env: Vec<(String, String)> = [
        ("ENV", "dev"),
        ("GRPC_ADDR", "127.0.0.1:0"),
        ("METRICS_ADDR", "off"),
        ("QUEUE_IDS", "surge"),
        ("OPERATOR_TOKEN", TOKEN),
        ("MAX_ACTIVE_SESSIONS", "100000000"),
        ("MAX_CONCURRENT_RPCS", "100000"),
        ("PASS_TTL_SECONDS", "3600"),
    ]
    .iter()
    .map(|(k, v)| (format!("YEYAK_{k}"), v.to_string()))
    .chain([
        ("YEYAK_REDIS_KEY_PREFIX".to_string(), prefix.clone()),
        ("YEYAK_ADMISSION_RATE".to_string(), rate.to_string()),
        ("YEYAK_AMQP_EXCHANGE".to_string(), amqp.exchange.clone()),
        ("YEYAK_AMQP_QUEUE_PREFIX".to_string(), amqp.queue_prefix.clone()),
    ])
    .collect();
    let server = ServerProcess::spawn("--serve-admission", &env)?;
    let chans = Arc::new(channels(&server.addr, nchan)?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss_bytes();

    let tickets: Arc<Vec<OnceLock<String>>> = Arc::new((0..joins).map(|_| OnceLock::new()).collect());
    let (c2, t2) = (chans.clone(), tickets.clone());
    let join_report = load::run(joins, concurrency, move |i| {
        let mut c = AdmissionServiceClient::new(c2[i as usize % c2.len()].clone());
        let tickets = t2.clone();
        async move {
            let req = JoinQueueRequest { queue_id: "surge".into(), client_id: client_id(i), existing_ticket: String::new() };
            match c.join_queue(req).await {
                Ok(r) => tickets[i as usize].set(r.into_inner().ticket).is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let rss_after = server.rss_bytes();

    let mut operator = AdmissionOperatorServiceClient::new(chans[0].clone());
    let admitted = |o: &mut AdmissionOperatorServiceClient<Channel>| {
        let mut req = Request::new(GetAdmissionSettingsRequest { queue_id: "surge".into() });
        req.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().expect("ascii"));
        let mut o = o.clone();
        async move { o.get_admission_settings(req).await.map(|r| r.into_inner().settings.unwrap_or_default()) }
    };
    let (a0, t0) = (admitted(&mut operator).await?.admitted, Instant::now());
    // Pollers as real clients: everyone in line polls, and a client that
    // received its pass stops polling and goes on to book.
    let done: Arc<Vec<std::sync::atomic::AtomicBool>> = Arc::new((0..joins).map(|_| Default::default()).collect());
    let (c3, t3, d3) = (chans.clone(), tickets.clone(), done.clone());
    let poll_report = load::run(polls, concurrency, move |i| {
        let mut c = AdmissionServiceClient::new(c3[i as usize % c3.len()].clone());
        let mut k = (i.wrapping_mul(7919)) % joins;
        while d3[k as usize].load(std::sync::atomic::Ordering::Relaxed) {
            k = (k + 1) % joins;
        }
        let ticket = t3[k as usize].get().cloned().unwrap_or_default();
        let done = d3.clone();
        async move {
            match c.get_queue_status(GetQueueStatusRequest { ticket, client_id: client_id(k) }).await {
                Ok(r) => {
                    if r.into_inner().status.is_some_and(|s| !s.admission_pass.is_empty()) {
                        done[k as usize].store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    true
                }
                Err(_) => false,
            }
        }
    })
    .await;
    let passes = done.iter().filter(|d| d.load(std::sync::atomic::Ordering::Relaxed)).count();
    let end = admitted(&mut operator).await?;
    let measured = (end.admitted - a0) as f64 / t0.elapsed().as_secs_f64();

    println!();
    println!("{}", floor.line("floor: no-op unary RPC"));
    println!("{}", join_report.line("JoinQueue"));
    println!("{}", poll_report.line("GetQueueStatus"));
    let (jr, pr) = (join_report.per_second() / floor.per_second(), poll_report.per_second() / floor.per_second());
    println!("JoinQueue      / floor = {jr:.2}  (target >= 0.50) {}", if jr >= 0.5 { "OK" } else { "BELOW TARGET" });
    println!("GetQueueStatus / floor = {pr:.2}  (target >= 0.70) {}", if pr >= 0.7 { "OK" } else { "BELOW TARGET" });
    let per_person = rss_after.saturating_sub(rss_before) as f64 / joins as f64;
    println!(
        "server RSS: {:.1} MiB before, {:.1} MiB after {joins} joins = {per_person:.2} bytes per waiting person",
        rss_before as f64 / 1048576.0,
        rss_after as f64 / 1048576.0
    );
    let dev = (measured - rate as f64) / rate as f64 * 100.0;
    println!(
        "admission rate: configured {rate}/s, measured {measured:.1}/s over {:.1} s ({dev:+.1}%, target within 5%) {}",
        t0.elapsed().as_secs_f64(),
        if dev.abs() <= 5.0 { "OK" } else { "OUT OF RANGE" }
    );
    println!(
        "line: {} joined, {} admitted, measured by the server over its window: {:.1}/s; {passes} polls returned a pass ({:.1}% of polls)",
        end.joined,
        end.admitted,
        end.measured_rate_per_second,
        passes as f64 * 100.0 / polls as f64
    );
    // 2021: ~10 million connection requests in the first minutes and ~6 million
    // waiting. Take 10 M joins in 5 minutes plus 6 M people polling at the mean
    // suggested interval (30 s) and the per-core rates measured here (this run
    // shares 2 cores between generator, server and Redis, so it understates).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let (join_per_core, poll_per_core) = (join_report.per_second() / cores, poll_report.per_second() / cores);
    let need = 10_000_000.0 / 300.0 / join_per_core + 6_000_000.0 / 30.0 / poll_per_core;
    println!("2021 opening (10 M joins in 5 min + 6 M waiting polling every 30 s): ~{need:.0} cores at {join_per_core:.0} joins/s and {poll_per_core:.0} polls/s per core");
    drop(server);
    let _ = yeyak_platform::messaging::delete_namespace(&amqp, &[admission::sessions::QUEUE]).await;
    let _ = std::process::Command::new("redis-cli").args(["--scan", "--pattern", &format!("{prefix}:*")]).output().map(|o| {
        let keys: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect();
        if !keys.is_empty() {
            let _ = std::process::Command::new("redis-cli").arg("DEL").args(&keys).output();
        }
    });
    Ok(())
}
