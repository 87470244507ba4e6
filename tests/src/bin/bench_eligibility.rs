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
use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use yeyak_e2e::bench::arg;

use tonic::{transport::Channel, Request};
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging::{self, AmqpSettings},
    pseudonym::subject_id,
    tokens::{self, client_binding, AdmissionPass, IdentityAssertion, Issuer, SigningKey},
    Secret, Shutdown,
};
use yeyak_proto::eligibility::v1::{eligibility_service_client::EligibilityServiceClient, CheckEligibilityRequest};

const CLIENT_ID: &str = "bench-eligibility-client-01";
const SEED: u64 = 20_210_809;
const HASH_KEY: &str = "bench-eligibility-subject-key";

struct Series {
    /// Latency of each item (one call, or a pair of calls).
    latencies_us: Vec<u64>,
    errors: u64,
    calls: u64,
}

impl Default for Series {
    fn default() -> Self {
        Self { latencies_us: Vec::new(), errors: 0, calls: 1 }
    }
}

impl Series {
    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    /// Items per second, `calls` calls per item.
    fn rate(&self, elapsed: Duration) -> f64 {
        self.calls as f64 * self.latencies_us.len() as f64 / elapsed.as_secs_f64()
    }

    fn line(&mut self, what: &str, elapsed: Duration, cpu: (f64, f64)) -> String {
        let rate = self.rate(elapsed);
        let calls = (rate * elapsed.as_secs_f64()).max(1.0);
        format!(
            "| {what} | {rate:.0}/s | {:.2} ms | {:.2} ms | {} | {:.0} + {:.0} µs |",
            self.percentile(0.5),
            self.percentile(0.99),
            self.errors,
            cpu.0 * 1e6 / calls,
            cpu.1 * 1e6 / calls
        )
    }
}

/// CPU seconds used by a process so far (utime + stime), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may contain spaces) start at "state".
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU used by this process and by the PostgreSQL backends serving `database`.
struct CpuMeter {
    database: String,
    start: Vec<(u32, f64)>,
}

impl CpuMeter {
    async fn backends(pool: &sqlx::PgPool, database: &str) -> Vec<u32> {
        sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE datname = $1")
            .bind(database)
            .fetch_all(pool)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect()
    }

    async fn start(pool: &sqlx::PgPool, database: &str) -> Self {
        let mut pids = Self::backends(pool, database).await;
        pids.push(std::process::id());
        Self { database: database.to_owned(), start: pids.into_iter().map(|p| (p, cpu_seconds(p))).collect() }
    }

    /// (this process, PostgreSQL) CPU seconds since `start`.
    async fn stop(self, pool: &sqlx::PgPool) -> (f64, f64) {
        let me = std::process::id();
        let mut pids = Self::backends(pool, &self.database).await;
        pids.extend(self.start.iter().map(|(p, _)| *p).filter(|p| *p != me));
        pids.sort_unstable();
        pids.dedup();
        let before = |pid: u32| self.start.iter().find(|(p, _)| *p == pid).map_or(0.0, |(_, c)| *c);
        let mine = cpu_seconds(me) - before(me);
        let pg = pids.iter().filter(|p| **p != me).map(|p| (cpu_seconds(*p) - before(*p)).max(0.0)).sum();
        (mine, pg)
    }
}

/// `concurrency` tasks calling `call(i)` with i = 0, 1, 2, ... for `duration`.
async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, call: F) -> (Series, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (call, next) = (call.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut s = Series::default();
            while started.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let ok = call(i).await;
                if ok {
                    s.latencies_us.push(t.elapsed().as_micros() as u64);
                } else {
                    s.errors += 1;
                }
            }
            s
        }));
    }
    let mut all = Series::default();
    for w in workers {
        let s = w.await.unwrap_or_default();
        all.latencies_us.extend(s.latencies_us);
        all.errors += s.errors;
    }
    (all, started.elapsed())
}

/// Pre-signed tokens for people of the registry, in a fixed pseudo-random
/// order over the whole population: each person has their own admission
/// pass (their own session) and identity assertion bound to it, as in real
/// life, so a first check costs two signature verifications.
struct People {
    passes: Vec<String>,
    assertions: Vec<String>,
    subjects: Vec<String>,
}

fn people(admission: &SigningKey, identity: &SigningKey, population: u64, n: usize) -> People {
    let key = Secret::new(HASH_KEY.to_owned());
    let now = chrono::Utc::now().timestamp();
    let sign_range = |from: usize, to: usize| {
        let mut out = Vec::with_capacity(to - from);
        for i in from..to {
            let index = mock_registry::population::splitmix64(i as u64 ^ 0x5eed) % population;
            let p = mock_registry::person(SEED, index);
            let sub = subject_id(&key, &p.rrn);
            let sid = format!("bench-{i}");
            let pass = tokens::sign(
                admission,
                &AdmissionPass {
                    q: "bench".into(),
                    pos: i as u64,
                    cb: client_binding(CLIENT_ID),
                    sid: sid.clone(),
                    iat: now,
                    exp: now + 3_600,
                },
            );
            let claims = IdentityAssertion {
                sub: sub.clone(),
                birth: p.birth_date.format("%Y-%m-%d").to_string(),
                name: "김*수".into(),
                prov: "carrier-sms".into(),
                aal: 1,
                sid,
                iat: now,
                exp: now + 3_600,
            };
            out.push((pass, tokens::sign(identity, &claims), sub));
        }
        out
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).max(1);
    let chunk = n.div_ceil(threads);
    let signed: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || sign_range((t * chunk).min(n), ((t + 1) * chunk).min(n)))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut people = People { passes: Vec::with_capacity(n), assertions: Vec::with_capacity(n), subjects: Vec::with_capacity(n) };
    for (pass, assertion, sub) in signed {
        people.passes.push(pass);
        people.assertions.push(assertion);
        people.subjects.push(sub);
    }
    people
}

async fn check(client: &mut EligibilityServiceClient<Channel>, pass: &str, assertion: &str) -> bool {
    let mut r = Request::new(CheckEligibilityRequest { identity_assertion: assertion.to_owned(), dose_number: 1, ..Default::default() });
    let (Ok(p), Ok(c)) = (pass.parse(), CLIENT_ID.parse()) else { return false };
    r.metadata_mut().insert(PASS_HEADER, p);
    r.metadata_mut().insert(CLIENT_ID_HEADER, c);
    client.check_eligibility(r).await.is_ok()
}

fn database(tag: &str, what: &str) -> DatabaseSettings {
    DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_bench_eligibility_{what}_{tag}"))
}

fn millions(n: u64) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{} M", n / 1_000_000)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

/// The registry's primary-key SELECT through an sqlx pool like the
/// registry's own, closed loop at the same concurrency: (calls/s, table line).
async fn floor_phase(
    registry_db: &DatabaseSettings,
    pool: &sqlx::PgPool,
    subjects: &[String],
    concurrency: usize,
    seconds: Duration,
    when: &str,
) -> anyhow::Result<(f64, String)> {
    let floor_pool = db::connect(registry_db, false).await?;
    let subjects = Arc::new(subjects.to_vec());
    let registry_name = registry_db.database_name().unwrap_or_default();
    let meter = CpuMeter::start(pool, &registry_name).await;
    let kept = floor_pool.clone(); // its backends must still exist when the meter stops
    let (mut floor, e) = closed_loop(concurrency, seconds, move |i| {
        let (pool, subjects) = (floor_pool.clone(), subjects.clone());
        async move {
            let id = &subjects[(i % subjects.len() as u64) as usize];
            mock_registry::routes::find_subject(&pool, id).await.is_ok_and(|s| s.is_some())
        }
    })
    .await;
    let cpu = meter.stop(pool).await;
    kept.close().await;
    let what = format!("floor ({when}): registry primary-key SELECT, sqlx PgPool (16 connections)");
    Ok((floor.rate(e), floor.line(&what, e, cpu)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let population = arg("--people", 1_000_000);
    let load = arg("--load", 20_000_000);
    let seconds = Duration::from_secs(arg("--seconds", 15));
    let concurrency = arg("--concurrency", 64) as usize;
    // HTTP/2 connections the load generator spreads its calls over.
    let channels = arg("--channels", 4).max(1) as usize;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let key = Secret::new(HASH_KEY.to_owned());
    let mut lines = vec![
        format!(
            "bench_eligibility: registry of {} people, {}s per phase, {concurrency} in flight, release build",
            millions(population),
            seconds.as_secs()
        ),
        String::new(),
    ];

    // 1. The registry's population.
    let registry_db = database(&tag, "registry");
    let pool = mock_registry::connect_and_migrate(&registry_db).await?;
    let report = mock_registry::seed(&pool, &key, SEED, population).await?;
    lines.push(format!(
        "generate + load {} people: {:.1} s (COPY {:.1} s, indexes {:.1} s) = {:.0} people/s",
        millions(population),
        report.elapsed.as_secs_f64(),
        report.copy_elapsed.as_secs_f64(),
        report.index_elapsed.as_secs_f64(),
        population as f64 / report.elapsed.as_secs_f64()
    ));
    println!("{}", lines.last().map_or("", String::as_str));

    // 2. The registry and eligibility, in this process.
    let shutdown = Shutdown::new();
    let registry = mock_registry::Application::build(mock_registry::Config::ephemeral(registry_db.clone())).await?;
    let registry_url = format!("http://{}", registry.address());
    let registry_task = tokio::spawn(registry.run_until_stopped(shutdown.clone()));
    let admission = SigningKey::generate(Issuer::Admission, "bench-a");
    let identity = SigningKey::generate(Issuer::Identity, "bench-i");
    let amqp = AmqpSettings::for_test(&format!("bench{tag}"));
    let redis_prefix = format!("bench:{tag}");
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
    // Registry batching settings may be tried from the command line's environment.
    let passed = ["REGISTRY_MAX_IN_FLIGHT", "REGISTRY_MAX_BATCH", "REGISTRY_PARALLEL_FROM"]
        .into_iter()
        .filter_map(|k| std::env::var(format!("YEYAK_{k}")).ok().map(|v| (k.to_owned(), v)));
    let env = Env::from_pairs(passed.chain([
        ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("METRICS_ADDR".into(), "off".into()),
        ("TRUSTED_KEYS".into(), format!("{},{}", admission.trusted_entry(), identity.trusted_entry())),
        ("QUEUE_IDS".into(), "bench".into()),
        ("REGISTRY_URL".into(), registry_url),
        ("RULES_FILE".into(), rules.into()),
        ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
        ("AMQP_EXCHANGE".into(), amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX".into(), amqp.queue_prefix.clone()),
        ("CACHE_TTL_SECONDS".into(), "600".into()),
    ]));
    let app = eligibility::startup::Application::build(eligibility::config::Config::from_env(&env)?).await?;
    let addr = app.grpc_addr().to_string();
    let app_task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    // Enough distinct people that no cold phase repeats one.
    let n = 600_000usize.min(population as usize);
    let signing = Instant::now();
    let people = Arc::new(people(&admission, &identity, population, n));
    println!("signed {n} passes and {n} identity assertions in {:.1} s", signing.elapsed().as_secs_f64());
    // Machine note: what one signature verification costs here.
    let ring = {
        let mut r = yeyak_platform::tokens::KeyRing::default();
        r.trust(&identity);
        r
    };
    let started = Instant::now();
    let rounds = 2_000usize.min(n);
    for a in &people.assertions[..rounds] {
        let _ = tokens::verify::<IdentityAssertion>(&ring, a, chrono::Utc::now().timestamp());
    }
    let verify_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    lines.push(format!("one Ed25519 token verification: {verify_us:.0} µs (two per first check: the pass and the identity assertion)"));
    println!("{}", lines.last().map_or("", String::as_str));
    // And in batches of 16 (passes and assertions: two keys), as the batcher checks them.
    let both = {
        let mut r = yeyak_platform::tokens::KeyRing::default();
        r.trust(&admission);
        r.trust(&identity);
        r
    };
    let parsed: Vec<_> = people.passes[..rounds]
        .iter()
        .zip(&people.assertions[..rounds])
        .flat_map(|(p, a)| [p, a])
        .map(|token| {
            let (body, signature) = token.rsplit_once('.').expect("a signed token");
            let kid = body.split('.').nth(1).expect("v1.<kid>.<claims>");
            let key = *both.get(kid).expect("the bench's own key").1;
            let signature = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature).expect("base64");
            (key, body.as_bytes().to_vec(), ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes"))
        })
        .collect();
    let started = Instant::now();
    for chunk in parsed.chunks(16) {
        let items: Vec<tokens::batch::Item<'_>> = chunk.iter().map(|(k, m, s)| (k, m.as_slice(), s)).collect();
        anyhow::ensure!(tokens::batch::verify_all(&items), "a batch of the bench's own tokens failed");
    }
    let batch_us = started.elapsed().as_secs_f64() * 1e6 / parsed.len() as f64;
    lines.push(format!("in batches of 16 from two keys: {batch_us:.0} µs per signature"));
    println!("{}", lines.last().map_or("", String::as_str));

    lines.push(String::new());
    lines.push("| CheckEligibility, closed loop | calls/s | p50 | p99 | errors | CPU per call: this process + PostgreSQL |".into());
    lines.push("|---|---|---|---|---|---|".into());
    let registry_name = registry_db.database_name().unwrap_or_default();
    // The floor before the phases (and again after them).
    let (before, line) = floor_phase(&registry_db, &pool, &people.subjects, concurrency, seconds, "before").await?;
    lines.push(line);
    println!("{}", lines.last().map_or("", String::as_str));
    let mut next_new = 0u64;
    let warm_set = 20_000u64.min(n as u64 / 8);
    let rates = {
        let clients: Vec<_> = (0..channels)
            .map(|_| client::channel(&addr, &client::ClientSettings::default()).map(EligibilityServiceClient::new))
            .collect::<Result<_, _>>()?;
        let clients = Arc::new(clients);
        // `repeat` sequential calls for the same person per item.
        let call = |offset: u64, modulo: u64, repeat: u64| {
            let (clients, people) = (clients.clone(), people.clone());
            move |i: u64| {
                let (clients, people) = (clients.clone(), people.clone());
                async move {
                    let mut client = clients[(i % clients.len() as u64) as usize].clone();
                    let person = (offset + i % modulo) as usize;
                    let mut ok = true;
                    for _ in 0..repeat {
                        ok &= check(&mut client, &people.passes[person], &people.assertions[person]).await;
                    }
                    ok
                }
            }
        };
        // Warm-up (connections, caches) on the people kept for the warm phase.
        let _ = closed_loop(concurrency, Duration::from_secs(2), call(0, warm_set, 1)).await;
        let fresh = n as u64 - warm_set;
        // Cold: people never seen (a registry call each).
        let batcher = tokens::SignatureBatcher::shared();
        let before = (batcher.checks(), batcher.signatures());
        let registry_before = eligibility::registry::batch_totals();
        let meter = CpuMeter::start(&pool, &registry_name).await;
        let (mut cold, e) = closed_loop(concurrency, seconds, call(warm_set + next_new, fresh - next_new, 1)).await;
        let cpu = meter.stop(&pool).await;
        let (checks, signatures) = (batcher.checks() - before.0, batcher.signatures() - before.1);
        let per_batch = signatures as f64 / checks.max(1) as f64;
        println!("cold phase: {signatures} signatures checked in {checks} batches ({per_batch:.1} per batch)");
        let registry_after = eligibility::registry::batch_totals();
        let (calls, lookups) = (registry_after.0 - registry_before.0, registry_after.1 - registry_before.1);
        println!("cold phase: {lookups} registry lookups in {calls} batch calls ({:.1} per call)", lookups as f64 / calls.max(1) as f64);
        next_new += cold.latencies_us.len() as u64 + cold.errors;
        anyhow::ensure!(next_new < fresh, "the cold phase ran out of new people: lower --seconds");
        lines.push(cold.line("cold: a new person each call (registry over HTTP, then Redis)", e, cpu));
        println!("{}", lines.last().map_or("", String::as_str));
        // Warm: the warm-up's people again (Redis cache only).
        let meter = CpuMeter::start(&pool, &registry_name).await;
        let (mut warm, e2) = closed_loop(concurrency, seconds, call(0, warm_set, 1)).await;
        let cpu = meter.stop(&pool).await;
        lines.push(warm.line("warm: people checked before (Redis cache)", e2, cpu));
        println!("{}", lines.last().map_or("", String::as_str));
        // As booked: each new person twice in a row (the client's check, then the reservation's).
        let meter = CpuMeter::start(&pool, &registry_name).await;
        let (mut mixed, e3) = closed_loop(concurrency, seconds, call(warm_set + next_new, fresh - next_new, 2)).await;
        let cpu = meter.stop(&pool).await;
        mixed.calls = 2;
        next_new += mixed.latencies_us.len() as u64 + mixed.errors;
        anyhow::ensure!(next_new < fresh, "the mixed phase ran out of new people: lower --seconds");
        lines.push(mixed.line("as booked: each new person twice in a row (client, then reservation; latency per pair)", e3, cpu));
        println!("{}", lines.last().map_or("", String::as_str));
        (cold.rate(e), warm.rate(e2), mixed.rate(e3))
    };

    // 3. The floor again, after the phases: the ratios use the mean of both.
    let (after, line) = floor_phase(&registry_db, &pool, &people.subjects, concurrency, seconds, "after").await?;
    lines.push(line);
    println!("{}", lines.last().map_or("", String::as_str));
    let floor_rate = (before + after) / 2.0;
    lines.push(format!("floor: mean of {before:.0}/s before and {after:.0}/s after = {floor_rate:.0}/s"));
    lines.push(String::new());
    let (cold, warm, mixed) = rates;
    lines.push(format!(
        "ratio to the floor: cold {:.2}, warm {:.2}, as booked {:.2} (target >= 0.5)",
        cold / floor_rate,
        warm / floor_rate,
        mixed / floor_rate
    ));
    println!("{}", lines.last().map_or("", String::as_str));

    shutdown.trigger();
    let _ = app_task.await;
    let _ = registry_task.await;
    pool.close().await;
    db::drop_database(&registry_db).await?;

    // 4. The 20 million of the 18-49 round (or a part, extrapolated).
    let load_db = database(&tag, "load");
    let load_pool = mock_registry::connect_and_migrate(&load_db).await?;
    let result = mock_registry::seed(&load_pool, &key, SEED, load).await;
    load_pool.close().await;
    db::drop_database(&load_db).await?;
    let report = result?;
    let rate = load as f64 / report.elapsed.as_secs_f64();
    lines.push(String::new());
    lines.push(format!(
        "generate + load {} people: {:.0} s (COPY {:.0} s, indexes {:.0} s) = {:.0} people/s",
        millions(load),
        report.elapsed.as_secs_f64(),
        report.copy_elapsed.as_secs_f64(),
        report.index_elapsed.as_secs_f64(),
        rate
    ));
    if load < 20_000_000 {
        lines.push(format!(
            "extrapolated to 20 M at that rate: {:.0} s (index builds grow slightly faster than linearly)",
            20_000_000.0 / rate
        ));
    }
    println!("{}", lines[lines.len() - 1]);

    messaging::delete_namespace(&amqp, &["eligibility.bookings"]).await?;
    let redis = redis::Client::open("redis://127.0.0.1:6379/0")?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{redis_prefix}:*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    println!("\n{}", lines.join("\n"));
    Ok(())
}
