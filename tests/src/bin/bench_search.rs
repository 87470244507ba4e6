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
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};
use yeyak_e2e::bench::{arg, mix};

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use tonic::{transport::Channel, Request};
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging::{self, AmqpSettings},
    tokens::{client_binding, sign, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::inventory::v1::{self as pb, inventory_service_client::InventoryServiceClient};

const DATABASE: &str = "postgres://postgres@127.0.0.1:5432/yeyak_bench_inventory";
const CLIENT_ID: &str = "bench-search-client-0001";
const CHANNELS: usize = 4;

fn pick<T>(items: &[T], r: u64) -> &T {
    &items[usize::try_from(r % items.len() as u64).unwrap_or(0)]
}

/// Latencies of one kind of call, in microseconds.
#[derive(Default)]
struct Series {
    latencies_us: Vec<u64>,
    errors: u64,
}

impl Series {
    fn record(&mut self, latency: Duration, ok: bool) {
        self.latencies_us.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        if !ok {
            self.errors += 1;
        }
    }

    fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    fn line(&mut self, name: &str, elapsed: Duration) -> String {
        let n = self.latencies_us.len();
        format!(
            "{name:<44} {:>8.0} /s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   ({n} calls, {} errors)",
            n as f64 / elapsed.as_secs_f64(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.percentile_ms(1.0),
            self.errors
        )
    }
}

/// Calls `call(i)` at `rate` per second for `duration`, each at its scheduled
/// time whatever the previous ones are doing; latency runs from the scheduled
/// time. `call` returns the kind of call it made (an index) and success.
async fn open_loop<F, Fut>(rate: u64, duration: Duration, kinds: usize, call: F) -> (Vec<Series>, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (usize, bool)> + Send + 'static,
{
    let call = Arc::new(call);
    let total = rate * duration.as_secs();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(at).await;
        let (call, tx) = (call.clone(), tx.clone());
        tokio::spawn(async move {
            let (kind, ok) = call(i).await;
            let _ = tx.send((kind, ok, at.elapsed(), tokio::time::Instant::now()));
        });
    }
    drop(tx);
    let mut series: Vec<Series> = (0..kinds).map(|_| Series::default()).collect();
    let mut last = start;
    while let Some((kind, ok, latency, done)) = rx.recv().await {
        series[kind].record(latency, ok);
        last = last.max(done);
    }
    (series, last - start)
}

/// Calls `call(i)` with `concurrency` in flight for `duration`.
async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, call: F) -> (Series, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (call, next) = (call.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut s = Series::default();
            while started.elapsed() < duration {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                let ok = call(i).await;
                s.record(t.elapsed(), ok);
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

/// Error counts by status code, printed at the end.
static ERRORS: std::sync::Mutex<Vec<(tonic::Code, u64)>> = std::sync::Mutex::new(Vec::new());

fn note(result: Result<(), tonic::Status>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            if let Ok(mut errors) = ERRORS.lock() {
                match errors.iter_mut().find(|(c, _)| *c == e.code()) {
                    Some((_, n)) => *n += 1,
                    None => errors.push((e.code(), 1)),
                }
            }
            false
        }
    }
}

/// The read workload: what people search during a surge.
#[derive(Clone)]
struct Workload {
    clients: Vec<InventoryServiceClient<Channel>>,
    pass: String,
    districts: Arc<Vec<String>>,
    provinces: Arc<Vec<String>>,
    offers: Arc<Vec<(Uuid, String)>>,
    first_day: NaiveDate,
    window_starts: u64,
}

const VACCINES: [&str; 4] = ["pfizer", "moderna", "az", "janssen"];
/// A week's window starting on one of the first days open for booking: what
/// people look at when booking opens.
const WINDOW_STARTS: u64 = 3;

impl Workload {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        r.metadata_mut().insert(PASS_HEADER, self.pass.parse().unwrap_or_else(|_| tonic::metadata::MetadataValue::from_static("")));
        r.metadata_mut().insert(CLIENT_ID_HEADER, tonic::metadata::MetadataValue::from_static(CLIENT_ID));
        r
    }

    fn window(&self, r: u64) -> (String, String) {
        let from = self.first_day + Days::new(r % self.window_starts);
        (from.to_string(), (from + Days::new(6)).to_string())
    }

    async fn search(&self, i: u64) -> bool {
        let r = mix(i, 1);
        let region = if r.is_multiple_of(5) { pick(&self.provinces, r >> 8) } else { pick(&self.districts, r >> 8) };
        let (from_date, to_date) = self.window(r >> 24);
        let request = pb::SearchClinicsRequest {
            region_code: region.clone(),
            vaccine_code: pick(&VACCINES, r >> 40).to_string(),
            from_date,
            to_date,
            page_size: 20,
            page_token: String::new(),
        };
        let mut client = pick(&self.clients, i).clone();
        note(client.search_clinics(self.request(request)).await.map(|_| ()))
    }

    async fn availability(&self, i: u64) -> bool {
        let r = mix(i, 2);
        let (clinic, vaccine) = pick(&self.offers, r);
        let (from_date, to_date) = self.window(r >> 32);
        let request = pb::GetAvailabilityRequest { clinic_id: clinic.to_string(), vaccine_code: vaccine.clone(), from_date, to_date };
        let mut client = pick(&self.clients, i).clone();
        match client.get_availability(self.request(request)).await {
            Ok(r) => !r.into_inner().slots.is_empty(),
            Err(e) => note(Err(e)),
        }
    }

    /// Half searches, half availability lookups.
    async fn mixed(&self, i: u64) -> (usize, bool) {
        if i.is_multiple_of(2) {
            (0, self.search(i / 2).await)
        } else {
            (1, self.availability(i / 2).await)
        }
    }
}

struct Server {
    addr: std::net::SocketAddr,
    store: inventory::store::CatalogStore,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    amqp: AmqpSettings,
}

async fn start_server(key: &SigningKey, tag: &str, cache: bool) -> anyhow::Result<Server> {
    let amqp = AmqpSettings::for_test(tag);
    let env = Env::from_pairs([
        ("GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("METRICS_ADDR", "off".to_string()),
        ("DATABASE_URL", DATABASE.to_string()),
        ("AMQP_EXCHANGE", amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
        ("REDIS_KEY_PREFIX", format!("bench:{tag}")),
        ("CACHE_ENABLED", cache.to_string()),
        ("TRUSTED_KEYS", key.trusted_entry()),
        ("QUEUE_IDS", "demo".to_string()),
        ("SEED_CLINICS_PER_DISTRICT", "0".to_string()),
        ("MAX_CONCURRENT_RPCS", "100000".to_string()),
    ]);
    let app = inventory::startup::Application::build(inventory::config::Config::from_env(&env)?).await?;
    let (addr, store) = (app.grpc_addr(), app.store());
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Ok(Server { addr, store, shutdown, task, amqp })
}

impl Server {
    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.task.await??;
        messaging::delete_namespace(&self.amqp, &["inventory.availability"]).await?;
        Ok(())
    }
}

/// One open-loop phase of the mixed workload: lines for each kind and both, and the overall p99.
async fn mixed_phase(w: &Workload, rate: u64, seconds: Duration, offset: u64, label: &str, lines: &mut Vec<String>) -> f64 {
    let wl = w.clone();
    let (mut series, elapsed) = open_loop(rate, seconds, 2, move |i| {
        let w = wl.clone();
        async move { w.mixed(i + offset).await }
    })
    .await;
    lines.push(series[0].line(&format!("  SearchClinics, {label}"), elapsed));
    lines.push(series[1].line(&format!("  GetAvailability, {label}"), elapsed));
    let mut merged = Series::default();
    for s in &series {
        merged.latencies_us.extend(&s.latencies_us);
        merged.errors += s.errors;
    }
    let p99 = merged.percentile_ms(0.99);
    lines.push(merged.line(&format!("  both, {label}"), elapsed));
    p99
}

async fn delete_redis_prefix(prefix: &str) -> anyhow::Result<u64> {
    let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut deleted = 0;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(format!("{prefix}:*")).arg("COUNT").arg(1000).query_async(&mut conn).await?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL").arg(&keys).query_async::<u64>(&mut conn).await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rate = arg("--rate", 2000);
    let seconds = Duration::from_secs(arg("--seconds", 15));
    let concurrency = usize::try_from(arg("--concurrency", 32)).unwrap_or(32);
    let tag = format!("bench{}", &Uuid::new_v4().simple().to_string()[..8]);
    let key = SigningKey::generate(Issuer::Admission, "bench-search");

    println!("bench_search: rate {rate}/s for {} s per open-loop phase, closed loop {concurrency} in flight", seconds.as_secs());
    let cached = start_server(&key, &format!("{tag}c"), true).await?;
    let pool = cached.store.pool().clone();
    let today = inventory::domain::today_seoul(chrono::Utc::now());
    let report = inventory::seed_demo(&pool, 64, 56, today).await?;
    if report.seeded {
        println!(
            "seeded {} clinics, {} slots, {} day summaries into yeyak_bench_inventory in {:.1} s",
            report.clinics,
            report.slots,
            report.days,
            report.elapsed_ms as f64 / 1000.0
        );
    }
    let (clinics, slots, first_day, last_day): (i64, i64, NaiveDate, NaiveDate) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM clinics), (SELECT count(*) FROM slots), min(local_date), max(local_date) FROM daily_availability",
    )
    .fetch_one(&pool)
    .await
    .context("the bench catalogue")?;
    println!("catalogue: {clinics} clinics, {slots} slots, {first_day} .. {last_day} (database yeyak_bench_inventory)");
    let districts: Vec<String> = sqlx::query_scalar("SELECT code FROM districts ORDER BY code").fetch_all(&pool).await?;
    let provinces: Vec<String> = sqlx::query_scalar("SELECT code FROM provinces ORDER BY code").fetch_all(&pool).await?;
    let offers: Vec<(Uuid, String)> = sqlx::query_as("SELECT clinic_id, vaccine_code FROM clinic_vaccines").fetch_all(&pool).await?;
    let clinic_ids: Arc<Vec<Uuid>> = Arc::new(sqlx::query_scalar("SELECT clinic_id FROM clinics").fetch_all(&pool).await?);
    let days = u64::try_from((last_day - first_day).num_days()).unwrap_or(0);

    let now = chrono::Utc::now().timestamp();
    let pass = AdmissionPass { q: "demo".into(), pos: 1, cb: client_binding(CLIENT_ID), sid: "bench".into(), iat: now, exp: now + 3600 };
    let pass = sign(&key, &pass);
    let workload = |addr: std::net::SocketAddr| -> anyhow::Result<Workload> {
        let settings = client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_secs(10) };
        let clients = (0..CHANNELS)
            .map(|_| client::channel(&addr.to_string(), &settings).map(InventoryServiceClient::new))
            .collect::<Result<_, _>>()?;
        Ok(Workload {
            clients,
            pass: pass.clone(),
            districts: Arc::new(districts.clone()),
            provinces: Arc::new(provinces.clone()),
            offers: Arc::new(offers.clone()),
            first_day,
            window_starts: days.saturating_sub(6).clamp(1, WINDOW_STARTS),
        })
    };

    // 1. Open loop on the service as deployed, with the cache (after a
    //    warm-up at the same rate), then with the cache off.
    let w = workload(cached.addr)?;
    let warm = w.clone();
    let _ = open_loop(rate, Duration::from_secs(3), 2, move |i| {
        let w = warm.clone();
        async move { w.mixed(i).await }
    })
    .await;
    let mut lines = vec![format!("open loop at {rate}/s, {} s each (latency from the scheduled send time):", seconds.as_secs())];
    let cached_p99 = mixed_phase(&w, rate, seconds, 1_000_000, "Redis cache", &mut lines).await;
    let uncached = start_server(&key, &format!("{tag}n"), false).await?;
    let w_db = workload(uncached.addr)?;
    let db_p99 = mixed_phase(&w_db, rate, seconds, 2_000_000, "PostgreSQL only", &mut lines).await;

    // 2. Where the knee is: the cached service at lower rates.
    let sweep: Vec<u64> = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0] == "--sweep")
        .map(|w| w[1].split(',').filter_map(|r| r.parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 1000, 1500]);
    let sweep_time = Duration::from_secs(seconds.as_secs().min(8));
    let mut knee = Vec::new();
    for (i, r) in sweep.iter().enumerate() {
        let base = 10_000_000 + 1_000_000 * i as u64;
        let mut sweep_lines = Vec::new();
        let p99 = mixed_phase(&w, *r, sweep_time, base, &format!("Redis cache at {r}/s"), &mut sweep_lines).await;
        lines.push(sweep_lines[2].clone());
        knee.push(format!("{r}/s: {p99:.1} ms"));
    }

    // 3. The floor at the same rate: a primary-key SELECT through the same pool.
    let floor_pool = pool.clone();
    let ids = clinic_ids.clone();
    let (mut floor, elapsed) = open_loop(rate, seconds, 1, move |i| {
        let (pool, ids) = (floor_pool.clone(), ids.clone());
        async move {
            let id = *pick(&ids, mix(i, 3));
            let row: Result<(Uuid, String), _> =
                sqlx::query_as("SELECT clinic_id, name FROM clinics WHERE clinic_id = $1").bind(id).fetch_one(&pool).await;
            (0, row.is_ok())
        }
    })
    .await;
    let floor_p99 = floor[0].percentile_ms(0.99);
    lines.push(floor[0].line("  floor: primary-key SELECT, same pool", elapsed));

    // 4. Closed loop: the most each sustains.
    lines.push(format!("closed loop, {concurrency} in flight, {} s each:", seconds.as_secs().min(8)));
    let closed = Duration::from_secs(seconds.as_secs().min(8));
    let wc = w.clone();
    let (mut s, e) = closed_loop(concurrency, closed, move |i| {
        let w = wc.clone();
        async move { w.search(i + 3_000_000).await }
    })
    .await;
    let search_max = s.latencies_us.len() as f64 / e.as_secs_f64();
    lines.push(s.line("  SearchClinics, Redis cache", e));
    let wc = w.clone();
    let (mut s, e) = closed_loop(concurrency, closed, move |i| {
        let w = wc.clone();
        async move { w.availability(i + 4_000_000).await }
    })
    .await;
    let availability_max = s.latencies_us.len() as f64 / e.as_secs_f64();
    lines.push(s.line("  GetAvailability, Redis cache", e));
    let wc = w_db.clone();
    let (mut s, e) = closed_loop(concurrency, closed, move |i| {
        let w = wc.clone();
        async move { w.search(i + 5_000_000).await }
    })
    .await;
    lines.push(s.line("  SearchClinics, PostgreSQL only", e));
    let wc = w_db.clone();
    let (mut s, e) = closed_loop(concurrency, closed, move |i| {
        let w = wc.clone();
        async move { w.availability(i + 6_000_000).await }
    })
    .await;
    lines.push(s.line("  GetAvailability, PostgreSQL only", e));
    let (floor_pool, ids) = (pool.clone(), clinic_ids.clone());
    let (mut s, e) = closed_loop(concurrency, closed, move |i| {
        let (pool, ids) = (floor_pool.clone(), ids.clone());
        async move {
            let id = *pick(&ids, mix(i, 4));
            sqlx::query_as::<_, (Uuid, String)>("SELECT clinic_id, name FROM clinics WHERE clinic_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .is_ok()
        }
    })
    .await;
    let floor_max = s.latencies_us.len() as f64 / e.as_secs_f64();
    lines.push(s.line("  floor: primary-key SELECT, same pool", e));

    lines.push(String::new());
    lines.push(format!(
        "target p99 < 20 ms at {rate}/s: with cache {cached_p99:.2} ms ({}), PostgreSQL only {db_p99:.2} ms ({}); floor p99 {floor_p99:.2} ms",
        if cached_p99 < 20.0 { "met" } else { "MISSED" },
        if db_p99 < 20.0 { "met" } else { "MISSED" },
    ));
    lines.push(format!("  p99 by rate with the cache: {}", knee.join(", ")));
    lines.push(format!(
        "closed-loop ratio to the floor ({floor_max:.0}/s): SearchClinics {:.2}, GetAvailability {:.2} (with the cache)",
        search_max / floor_max,
        availability_max / floor_max
    ));
    if let Ok(errors) = ERRORS.lock() {
        if !errors.is_empty() {
            lines.push(format!("errors by status code over the run: {errors:?}"));
        }
    }
    for line in &lines {
        println!("{line}");
    }

    cached.stop().await?;
    uncached.stop().await?;
    delete_redis_prefix(&format!("bench:{tag}c")).await?;
    Ok(())
}
