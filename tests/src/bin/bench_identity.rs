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
//!    front-end code of phase 3 against [`thin_front`], identity's three RPCs
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
use std::{
    sync::{
        atomic::{AtomicU32, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tonic::{transport::Channel, Code};
use tonic_types::StatusExt as _;
use yeyak_e2e::bench::thin_front;
use yeyak_platform::{
    config::Env,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    pseudonym::Rrn,
    tokens::{self, client_binding, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, *};

const CLIENT: &str = "bench-identity-front-end";
const QUEUE: &str = "bench";
/// The four channels: id, mock kind, identity kind.
const PROVIDERS: [(&str, &str, &str); 4] = [
    ("carrier-sms", "sms_code", "sms_code"),
    ("kakao-cert", "app_approval", "app_approval"),
    ("naver-cert", "app_approval", "app_approval"),
    ("fin-cert", "app_approval", "fin_cert"),
];
/// gRPC connections the front end spreads its users over (as a gateway would).
const CHANNELS: usize = 4;

struct Args {
    seconds: u64,
    concurrency: usize,
    /// Profiling aid: run only the identity phase with all providers healthy.
    healthy_only: bool,
    /// Admission passes minted before the run (one per verification).
    passes: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { seconds: 10, concurrency: 64, healthy_only: false, passes: 60_000 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--healthy-only" {
            out.healthy_only = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--seconds" => out.seconds = value.parse()?,
            "--concurrency" => out.concurrency = value.parse()?,
            "--passes" => out.passes = value.parse()?,
            other => anyhow::bail!("unknown argument {other} (--seconds N, --concurrency N, --passes N, --healthy-only)"),
        }
    }
    Ok(out)
}

/// A new synthetic person per verification, so no attempt or proxy limit is
/// hit: a distinct number (birth date and serial) and phone.
fn person(n: u32) -> (String, String, String) {
    let birth = chrono::NaiveDate::from_ymd_opt(1941, 1, 1).unwrap_or_default() + chrono::Days::new(u64::from(n / 90_000));
    let rrn = Rrn::synthesize(birth, n % 2 == 1, 10_000 + n % 90_000);
    ("김벤치".to_owned(), rrn.expose().to_owned(), format!("010{:08}", n % 100_000_000))
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Verifications that needed a second provider (the front end rerouted).
    rerouted: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

/// CPU seconds (user + system) this process has used so far.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, rest)| rest.split(' ').collect()).unwrap_or_default();
    let ticks: f64 = [11, 12].iter().filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok())).sum();
    ticks / 100.0
}

/// CPU seconds the Redis server has used so far (from `INFO cpu`).
async fn redis_cpu() -> f64 {
    let Ok(client) = redis::Client::open("redis://127.0.0.1:6379/0") else { return 0.0 };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return 0.0 };
    let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await.unwrap_or_default();
    info.lines()
        .filter(|l| l.starts_with("used_cpu_sys:") || l.starts_with("used_cpu_user:"))
        .filter_map(|l| l.split_once(':').and_then(|(_, v)| v.trim().parse::<f64>().ok()))
        .sum()
}

struct Phase {
    name: &'static str,
    /// Cores this process kept busy, and the Redis server's, during the measured part.
    cores: f64,
    redis_cores: f64,
    ok: u64,
    failed: u64,
    rerouted: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn success(&self) -> f64 {
        self.ok as f64 / (self.ok + self.failed).max(1) as f64
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
    fn row(&self) -> String {
        format!(
            "| {} | {:.0} | {:.2}% | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2} + {:.2} |",
            self.name,
            self.rate(),
            self.success() * 100.0,
            self.pct(0.50),
            self.pct(0.99),
            self.pct(0.999),
            self.ok,
            self.failed,
            self.rerouted,
            self.cores,
            self.redis_cores
        )
    }
}

/// Runs `verify` in `concurrency` closed loops for `warmup + seconds`,
/// counting only what finishes after the warm-up.
async fn phase<F, Fut>(name: &'static str, concurrency: usize, warmup: Duration, seconds: Duration, verify: F) -> Phase
where
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<bool, String>> + Send,
{
    // Numbered from 0 in every phase: person n uses pass n (and repeats of a
    // person across phases stay far below the attempt limits).
    let next = Arc::new(AtomicU32::new(0));
    let tally = Arc::new(Tally::default());
    let verify = Arc::new(verify);
    let began = Instant::now();
    let (measure_from, stop_at) = (began + warmup, began + warmup + seconds);
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let cpu_at_start = Arc::new(Mutex::new((0.0, 0.0)));
    let sampler = {
        let cpu_at_start = cpu_at_start.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let sample = (process_cpu(), redis_cpu().await);
            *cpu_at_start.lock().unwrap_or_else(|e| e.into_inner()) = sample;
        })
    };
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (tally, verify, first_error, next) = (tally.clone(), verify.clone(), first_error.clone(), next.clone());
            tokio::spawn(async move {
                while Instant::now() < stop_at {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let t0 = Instant::now();
                    let outcome = verify(n).await;
                    if t0 < measure_from {
                        continue;
                    }
                    match outcome {
                        Ok(rerouted) => {
                            tally.ok.fetch_add(1, Ordering::Relaxed);
                            if rerouted {
                                tally.rerouted.fetch_add(1, Ordering::Relaxed);
                            }
                            let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                            tally.latencies_us.lock().unwrap_or_else(|e| e.into_inner()).push(us);
                        }
                        Err(e) => {
                            tally.failed.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let _ = sampler.await;
    let (cpu0, redis0) = *cpu_at_start.lock().unwrap_or_else(|e| e.into_inner());
    let (cpu1, redis1) = (process_cpu(), redis_cpu().await);
    let wall = measure_from.elapsed().as_secs_f64();
    let elapsed = stop_at.saturating_duration_since(measure_from);
    if let Some(e) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        eprintln!("  {name}: first failure: {e}");
    }
    let mut latencies_us = std::mem::take(&mut *tally.latencies_us.lock().unwrap_or_else(|e| e.into_inner()));
    latencies_us.sort_unstable();
    Phase {
        name,
        cores: (cpu1 - cpu0) / wall,
        redis_cores: (redis1 - redis0) / wall,
        ok: tally.ok.load(Ordering::Relaxed),
        failed: tally.failed.load(Ordering::Relaxed),
        rerouted: tally.rerouted.load(Ordering::Relaxed),
        elapsed,
        latencies_us,
    }
}

/// The floor: a relying party calling the carrier directly.
async fn direct(http: &reqwest::Client, url: &str, n: u32) -> Result<bool, String> {
    let (name, rrn, phone) = person(n);
    let body = serde_json::json!({ "name": name, "rrn": rrn, "phone": phone });
    let started: serde_json::Value = http
        .post(format!("{url}/v1/verifications"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let tx = started["transaction_id"].as_str().ok_or("no transaction id")?;
    let inbox: serde_json::Value =
        http.get(format!("{url}/v1/inbox/{phone}")).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
    let code = inbox["code"].as_str().ok_or("no code")?;
    let confirm = http
        .post(format!("{url}/v1/verifications/{tx}/confirm"))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if confirm.status().is_success() {
        Ok(false)
    } else {
        Err(format!("confirm: HTTP {}", confirm.status()))
    }
}

struct FrontEnd {
    channels: Vec<Channel>,
    admission: SigningKey,
    http: reqwest::Client,
    idp_urls: Vec<(String, String)>,
    /// Passes minted before the run (admission's work, not the front end's).
    passes: Arc<Vec<String>>,
}

impl FrontEnd {
    fn request<T>(pass: &str, msg: T) -> Result<tonic::Request<T>, String> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert(PASS_HEADER, pass.parse().map_err(|_| "pass header")?);
        r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().map_err(|_| "client header")?);
        r.set_timeout(Duration::from_secs(5));
        Ok(r)
    }

    fn url(&self, provider: &str) -> Result<&str, String> {
        self.idp_urls.iter().find(|(id, _)| id == provider).map(|(_, u)| u.as_str()).ok_or_else(|| format!("no URL for {provider}"))
    }

    fn pass(admission: &SigningKey, n: u32) -> String {
        let now = chrono::Utc::now().timestamp();
        let sid = format!("bench-{n}");
        tokens::sign(
            admission,
            &AdmissionPass { q: QUEUE.into(), pos: u64::from(n), cb: client_binding(CLIENT), sid, iat: now, exp: now + 900 },
        )
    }

    async fn first_offered(c: &mut IdentityServiceClient<Channel>, pass: &str) -> Result<String, String> {
        let list = c.list_providers(Self::request(pass, ListProvidersRequest {})?).await.map_err(|s| format!("list: {s:?}"))?;
        list.into_inner().providers.first().map(|p| p.provider_id.clone()).ok_or_else(|| "no provider offered".into())
    }

    /// One person's verification, as a front end drives it. Ok(rerouted).
    async fn verify(&self, n: u32) -> Result<bool, String> {
        let mut c = IdentityServiceClient::new(self.channels[n as usize % self.channels.len()].clone());
        let pass = match self.passes.get(n as usize) {
            Some(p) => p.clone(),
            None => Self::pass(&self.admission, n),
        };
        let (name, rrn, phone) = person(n);
        let mut provider = Self::first_offered(&mut c, &pass).await?;
        for attempt in 0..3 {
            let start = StartVerificationRequest {
                provider_id: provider.clone(),
                name: name.clone(),
                resident_registration_number: rrn.clone(),
                phone_number: phone.clone(),
            };
            let outcome = match c.start_verification(Self::request(&pass, start)?).await {
                Ok(started) => {
                    let url = self.url(&provider)?;
                    let inbox: serde_json::Value = self
                        .http
                        .get(format!("{url}/v1/inbox/{phone}"))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .json()
                        .await
                        .map_err(|e| e.to_string())?;
                    let code = inbox["code"].as_str().ok_or("no code")?.to_owned();
                    if code.is_empty() {
                        let tx = inbox["transaction_id"].as_str().ok_or("no transaction")?;
                        let approved =
                            self.http.post(format!("{url}/v1/verifications/{tx}/approve")).send().await.map_err(|e| e.to_string())?;
                        if !approved.status().is_success() {
                            return Err(format!("approve: HTTP {}", approved.status()));
                        }
                    }
                    let complete = CompleteVerificationRequest { challenge_id: started.into_inner().challenge_id, code };
                    c.complete_verification(Self::request(&pass, complete)?).await.map(|_| ())
                }
                Err(status) => Err(status),
            };
            match outcome {
                Ok(()) => return Ok(attempt > 0),
                Err(status) if status.code() == Code::Unavailable => {
                    let next = status
                        .get_details_error_info()
                        .and_then(|i| i.metadata.get("alternatives").and_then(|a| a.split(',').find(|s| !s.is_empty()).map(str::to_owned)));
                    provider = next.ok_or_else(|| format!("no alternative named: {}", status.message()))?;
                }
                Err(status) => return Err(format!("{provider}: {:?} {}", status.code(), status.message())),
            }
        }
        Err("not verified in three tries".into())
    }
}

async fn cleanup(prefix: &str) -> anyhow::Result<u64> {
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0")?.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    let mut removed = 0;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(format!("{prefix}:*")).arg("COUNT").arg(1000).query_async(&mut conn).await?;
        if !keys.is_empty() {
            removed += keys.len() as u64;
            let () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        cursor = next;
        if cursor == 0 {
            return Ok(removed);
        }
    }
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let (seconds, warmup) = (Duration::from_secs(args.seconds), Duration::from_secs(2));
    let shutdown = Shutdown::new();

    let mut idp_urls = Vec::new();
    for (id, kind, _) in PROVIDERS {
        let env = Env::from_pairs([("HTTP_ADDR", "127.0.0.1:0"), ("PROVIDER_ID", id), ("PROVIDER_KIND", kind)]);
        let idp = mock_idp::Application::build(mock_idp::Config::from_env(&env)?).await?;
        idp_urls.push((id.to_owned(), format!("http://{}", idp.address())));
        tokio::spawn(idp.run_until_stopped(shutdown.clone()));
    }
    let admission = SigningKey::generate(Issuer::Admission, "bench-a");
    let identity_key = SigningKey::generate(Issuer::Identity, "bench-i");
    let prefix = format!("bench:identity-{}", uuid::Uuid::new_v4().simple());
    let providers =
        idp_urls.iter().zip(PROVIDERS).map(|((id, url), (_, _, kind))| format!("{id}={url}#{kind}")).collect::<Vec<_>>().join(",");
    let env = Env::from_pairs([
        ("GRPC_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("METRICS_ADDR".into(), "off".into()),
        ("SIGNING_KEY".into(), identity_key.secret_spec()),
        ("TRUSTED_KEYS".into(), admission.trusted_entry()),
        ("QUEUE_IDS".into(), QUEUE.into()),
        ("SUBJECT_HASH_KEY".into(), "bench-hash-key".into()),
        ("PROVIDERS".into(), providers),
        ("REDIS_KEY_PREFIX".into(), prefix.clone()),
        ("PROVIDER_MAX_IN_FLIGHT".into(), "256".into()),
        ("MAX_IN_FLIGHT_VERIFICATIONS".into(), "1024".into()),
        ("APPROVAL_WAIT_MS".into(), "0".into()),
    ]);
    // As shipped: the platform's GrpcServer.
    let app = identity::startup::Application::build(identity::config::Config::from_env(&env)?).await?;
    let identity_addr = app.grpc_addr().to_string();
    let board = app.board();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let settings = client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_secs(10) };
    let channels = |addr: &str| (0..CHANNELS).map(|_| client::channel(addr, &settings)).collect::<Result<Vec<_>, _>>();
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).tcp_nodelay(true).build()?;
    let carrier_url = idp_urls[0].1.clone();
    let thin_addr = thin_front::serve(http.clone(), carrier_url.clone(), shutdown.clone()).await?.to_string();
    let thin_platform_addr = thin_front::serve_on_platform(http.clone(), carrier_url.clone(), shutdown.clone()).await?.to_string();
    let minted = Instant::now();
    let passes: Arc<Vec<String>> = Arc::new((0..args.passes).map(|n| FrontEnd::pass(&admission, n)).collect());
    println!("minted {} admission passes in {:.1} s", passes.len(), minted.elapsed().as_secs_f64());
    let front = |addr: &str| -> anyhow::Result<Arc<FrontEnd>> {
        Ok(Arc::new(FrontEnd {
            channels: channels(addr)?,
            admission: admission.clone(),
            http: http.clone(),
            idp_urls: idp_urls.clone(),
            passes: passes.clone(),
        }))
    };
    let (identity, thin, thin_platform) = (front(&identity_addr)?, front(&thin_addr)?, front(&thin_platform_addr)?);

    println!(
        "bench_identity: {} s per phase after {} s warm-up, {} virtual users, {} cores, release build",
        args.seconds,
        warmup.as_secs(),
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let users = args.concurrency;
    let through = |front: &Arc<FrontEnd>| {
        let front = front.clone();
        move |n| {
            let front = front.clone();
            async move { front.verify(n).await }
        }
    };
    if args.healthy_only {
        let healthy = phase("identity, healthy", users, warmup, seconds, through(&identity)).await;
        println!("{}", healthy.row());
        cleanup(&prefix).await?;
        return Ok(());
    }
    let floor_phase = |name| {
        let (http, url) = (http.clone(), carrier_url.clone());
        phase(name, users, warmup, seconds, move |n| {
            let (http, url) = (http.clone(), url.clone());
            async move { direct(&http, &url, n).await }
        })
    };
    let floor = floor_phase("floor: direct HTTP to the carrier mock").await;
    println!("  floor: {:.0}/s", floor.rate());
    let thin_plain = phase("thin gRPC front (plain tonic)", users, warmup, seconds, through(&thin)).await;
    println!("  thin front (plain tonic): {:.0}/s", thin_plain.rate());
    let thin_stack = phase("thin gRPC front (platform server)", users, warmup, seconds, through(&thin_platform)).await;
    println!("  thin front (platform server): {:.0}/s", thin_stack.rate());
    let healthy = phase("identity, all healthy", users, warmup, seconds, through(&identity)).await;
    println!("  identity: {:.0}/s", healthy.rate());
    let floor_again = floor_phase("floor again").await;
    println!("  floor again: {:.0}/s", floor_again.rate());

    let faults = serde_json::json!({ "error_rate": 0.5 });
    reqwest::Client::new().put(format!("{carrier_url}/admin/faults")).json(&faults).send().await?.error_for_status()?;
    // No warm-up: the trip itself (the first failures) is measured.
    let degraded = phase("identity, carrier failing 50%", users, Duration::ZERO, seconds + warmup, through(&identity)).await;
    println!("  degraded: {:.0}/s, {:.2}% verified", degraded.rate(), degraded.success() * 100.0);
    let carrier_health = board.find(PROVIDERS[0].0).map(|s| board.snapshot(s));
    let removed = cleanup(&prefix).await?;
    shutdown.trigger();

    println!();
    println!("| phase | verifications/s | success users see | p50 ms | p99 ms | p99.9 ms | verified | failed | rerouted | cores busy (bench + Redis) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in [&floor, &thin_plain, &thin_stack, &healthy, &floor_again, &degraded] {
        println!("{}", p.row());
    }
    println!();
    report(&[&floor, &floor_again], &thin_plain, &thin_stack, &healthy, &degraded);
    if let Some(h) = carrier_health {
        println!("carrier at the end: {:?} ({:?}, breaker {})", h.light, h.reason, h.breaker.name());
    }
    println!("{removed} Redis keys removed");
    Ok(())
}

/// The verdicts, each ratio against the mean of the floors.
fn report(floors: &[&Phase], thin_plain: &Phase, thin_stack: &Phase, healthy: &Phase, degraded: &Phase) {
    let verdict = |ok: bool| if ok { "MET" } else { "NOT MET" };
    let floor = floors.iter().map(|p| p.rate()).sum::<f64>() / floors.len() as f64;
    let ratio = healthy.rate() / floor;
    println!("floor (mean of {} runs) = {floor:.0}/s", floors.len());
    println!("  throughput identity / floor = {:.0} / {floor:.0} = {ratio:.2} (target >= 0.60): {}", healthy.rate(), verdict(ratio >= 0.6));
    println!("  ceiling, thin gRPC front (plain tonic) / floor = {:.2}", thin_plain.rate() / floor);
    println!("  ceiling on the platform server, thin front / floor = {:.2}", thin_stack.rate() / floor);
    println!("  identity / thin front on the platform server = {:.2}", healthy.rate() / thin_stack.rate());
    let success = degraded.success();
    println!("  success users see, carrier failing 50% = {:.2}% (target >= 99%): {}", success * 100.0, verdict(success >= 0.99));
    let p99 = degraded.pct(0.99) / healthy.pct(0.99);
    println!(
        "  p99 failing / healthy = {:.2} ms / {:.2} ms = {p99:.2} (target <= 2.0): {}",
        degraded.pct(0.99),
        healthy.pct(0.99),
        verdict(p99 <= 2.0)
    );
    let cpu = |p: &Phase| 1e6 * (p.cores + p.redis_cores) / p.rate().max(1.0);
    println!(
        "  CPU per verification (this process + Redis): floor {:.0} us, thin front {:.0} / {:.0} us, identity {:.0} us",
        cpu(floors[0]),
        cpu(thin_plain),
        cpu(thin_stack),
        cpu(healthy)
    );
}
