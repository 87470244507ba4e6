//! Bookings end to end through the reservation service, beside pgbench.
//!
//! `RUST_LOG=warn cargo run --release -p yeyak-e2e --bin bench_booking -- [--people 100000] [--seconds 15] [--concurrency 128]`
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
use std::{
    collections::HashMap,
    process::Command,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use yeyak_e2e::bench::{
    arg,
    backlog::{Backlog, Behind},
    cpu::CpuTimes,
    mix,
};

use anyhow::{bail, Context as _};
use chrono::Days;
use tonic::{transport::Channel, Code, Request};
use uuid::Uuid;
use yeyak_e2e::stack::{Stack, REGISTRY_SEED};
use yeyak_platform::{
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    pseudonym,
    tokens::{client_binding, sign, AdmissionPass, IdentityAssertion},
    Secret,
};
use yeyak_proto::reservation::v1::{reservation_service_client::ReservationServiceClient, CreateReservationRequest};

const CHANNELS: usize = 8;

/// One ready-to-send booking: the pass, the client id and the request.
struct Booking {
    client_id: String,
    pass: String,
    request: CreateReservationRequest,
}

/// Passes and assertions are signed before the clock starts: in production
/// admission and identity sign them, not the booking path.
fn prepare(stack: &Stack, people: u64, slots: &[Uuid], hot: Option<Uuid>, salt: u64) -> Vec<Booking> {
    let hash_key = Secret::new(stack.keys.subject_hash_key.clone());
    let now = chrono::Utc::now().timestamp();
    (0..stack.registry_count)
        .map(|i| mock_registry::person(REGISTRY_SEED, i))
        .filter(|p| p.insured && p.doses.is_empty())
        .skip(usize::try_from(salt * people).unwrap_or(0))
        .take(usize::try_from(people).unwrap_or(0))
        .enumerate()
        .map(|(n, p)| {
            let n = n as u64;
            let client_id = format!("bench-{salt}-{:08}", p.index);
            let sid = format!("bench{salt}s{:08}", p.index);
            let pass = AdmissionPass {
                q: "demo".into(),
                pos: p.index + 1,
                cb: client_binding(&client_id),
                sid: sid.clone(),
                iat: now,
                exp: now + 3600,
            };
            let assertion = IdentityAssertion {
                sub: pseudonym::subject_id(&hash_key, &p.rrn),
                birth: p.birth_date.to_string(),
                name: "홍*동".into(),
                prov: "bench".into(),
                aal: 1,
                sid,
                iat: now,
                exp: now + 3600,
            };
            let slot = match hot {
                Some(hot) if mix(n, salt).is_multiple_of(10) => hot,
                _ => slots[usize::try_from(mix(n, salt + 100) % slots.len() as u64).unwrap_or(0)],
            };
            Booking {
                client_id,
                pass: sign(&stack.keys.admission, &pass),
                request: CreateReservationRequest {
                    idempotency_key: format!("bench-{salt}-{}", p.index),
                    slot_id: slot.to_string(),
                    identity_assertion: sign(&stack.keys.identity, &assertion),
                    agent_assertion: String::new(),
                    dose_number: 1,
                    contact_phone: p.phone.clone(),
                    consent_token: String::new(),
                },
            }
        })
        .collect()
}

struct Outcome {
    booked: u64,
    full: u64,
    errors: HashMap<Code, u64>,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    /// What the consumers had left when the phase ended, and how long they
    /// then took to finish it.
    behind: Behind,
    catch_up: Duration,
}

impl Outcome {
    async fn catch_up(&mut self, backlog: &Backlog) -> anyhow::Result<()> {
        self.behind = backlog.behind().await?;
        self.catch_up = backlog.drain(Duration::from_secs(120)).await?;
        Ok(())
    }

    /// Bookings per second with every consequence done: the events
    /// published, the read model updated, the SMS accepted.
    fn sustained(&self) -> f64 {
        self.booked as f64 / (self.elapsed + self.catch_up).as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    fn attempts(&self) -> u64 {
        self.booked + self.full + self.errors.values().sum::<u64>()
    }

    fn line(&self, name: &str) -> String {
        let secs = self.elapsed.as_secs_f64();
        let b = self.behind;
        format!(
            "{name:<34} {:>7.0} bookings/s  ({:.0} attempts/s)  p50 {:>7.2} ms  p99 {:>7.2} ms  booked {} full {} errors {:?} in {secs:.1} s\n\
             {:<34} {:>7.0} bookings/s with every consequence done (behind at the end: {} unpublished, {} read model, {} SMS; caught up in {:.1} s)",
            self.booked as f64 / secs,
            self.attempts() as f64 / secs,
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            self.booked,
            self.full,
            self.errors,
            "",
            self.sustained(),
            b.unpublished,
            b.inventory,
            b.sms,
            self.catch_up.as_secs_f64()
        )
    }
}

/// Closed loop: `concurrency` calls in flight until `duration` is over or the bookings run out.
async fn run(clients: &[ReservationServiceClient<Channel>], bookings: Vec<Booking>, concurrency: usize, duration: Duration) -> Outcome {
    let bookings = Arc::new(bookings);
    let next = Arc::new(AtomicUsize::new(0));
    let (booked, full) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (bookings, next, booked, full) = (bookings.clone(), next.clone(), booked.clone(), full.clone());
        let mut client = clients[w % clients.len()].clone();
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), HashMap::new());
            while started.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(b) = bookings.get(i) else { break };
                let mut request = Request::new(b.request.clone());
                if let (Ok(pass), Ok(client_id)) = (b.pass.parse(), b.client_id.parse()) {
                    request.metadata_mut().insert(PASS_HEADER, pass);
                    request.metadata_mut().insert(CLIENT_ID_HEADER, client_id);
                }
                let t = Instant::now();
                match client.create_reservation(request).await {
                    Ok(_) => {
                        booked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.code() == Code::FailedPrecondition && e.message().contains("slot is full") => {
                        full.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if errors.is_empty() {
                            eprintln!("first error: {e:?}");
                        }
                        *errors.entry(e.code()).or_insert(0u64) += 1;
                    }
                }
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            (latencies, errors)
        }));
    }
    let mut outcome = Outcome {
        booked: 0,
        full: 0,
        errors: HashMap::new(),
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        behind: Behind::default(),
        catch_up: Duration::ZERO,
    };
    for w in workers {
        if let Ok((latencies, errors)) = w.await {
            outcome.latencies_us.extend(latencies);
            for (code, n) in errors {
                *outcome.errors.entry(code).or_insert(0) += n;
            }
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.booked = booked.load(Ordering::Relaxed);
    outcome.full = full.load(Ordering::Relaxed);
    outcome.latencies_us.sort_unstable();
    outcome
}

fn pgbench_binary() -> anyhow::Result<String> {
    if let Ok(out) = Command::new("which").arg("pgbench").output() {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !path.is_empty() {
            return Ok(path);
        }
    }
    let mut found: Vec<_> =
        std::fs::read_dir("/usr/lib/postgresql")?.flatten().map(|e| e.path().join("bin/pgbench")).filter(|p| p.exists()).collect();
    found.sort();
    found.pop().map(|p| p.display().to_string()).context("pgbench not found")
}

/// `pgbench -b tpcb-like` on a scratch database of the same server: TPS.
fn pgbench(clients: u64, seconds: u64) -> anyhow::Result<f64> {
    let bin = pgbench_binary()?;
    let db = format!("yeyak_bench_pgbench_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let psql = |sql: &str| Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql]).status();
    if !psql(&format!("CREATE DATABASE {db}"))?.success() {
        bail!("could not create {db}");
    }
    let result = (|| {
        let init = Command::new(&bin).args(["-h", "127.0.0.1", "-U", "postgres", "-i", "-q", "-s", "10", &db]).output()?;
        if !init.status.success() {
            bail!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
        }
        let out = Command::new(&bin)
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-b",
                "tpcb-like",
                "-c",
                &clients.to_string(),
                "-j",
                "2",
                "-T",
                &seconds.to_string(),
                &db,
            ])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let tps = text
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| format!("no tps in pgbench output: {text}"))?;
        Ok(tps)
    })();
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    result
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let registry = arg("--people", 100_000);
    let seconds = Duration::from_secs(arg("--seconds", 15));
    let concurrency = usize::try_from(arg("--concurrency", 128)).unwrap_or(128);
    let pg_clients = arg("--pgbench-clients", 16);

    println!("bench_booking: {concurrency} bookings in flight, {} s per phase, registry of {registry} people", seconds.as_secs());
    let floor_before = pgbench(pg_clients, seconds.as_secs().max(10))?;
    println!("floor before: pgbench -b tpcb-like -s 10 -c {pg_clients} -j 2 on the same PostgreSQL: {floor_before:.0} TPS");

    let stack = Stack::start(registry).await?;
    let clinics = inventory::domain::catalogue::clinics(2);
    let first_day = inventory::domain::today_seoul(chrono::Utc::now()) + Days::new(1);
    let plan: Vec<inventory::domain::catalogue::DemoSlot> =
        clinics.iter().flat_map(|c| inventory::domain::catalogue::slots(c, first_day, 3)).collect();
    let slot_ids: Vec<Uuid> = plan.iter().map(|s| s.slot_id).collect();
    let capacity_of: HashMap<Uuid, i32> = plan.iter().map(|s| (s.slot_id, s.capacity)).collect();
    let hot = plan.iter().max_by_key(|s| s.capacity).map(|s| s.slot_id).context("no slots")?;
    println!(
        "catalogue: {} clinics, {} slots, {} places; stack tag {}",
        clinics.len(),
        plan.len(),
        capacity_of.values().map(|c| i64::from(*c)).sum::<i64>(),
        stack.tag
    );

    let settings = client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_secs(30) };
    let clients: Vec<_> = (0..CHANNELS)
        .map(|_| client::channel(&stack.endpoints.reservation, &settings).map(ReservationServiceClient::new))
        .collect::<Result<_, _>>()?;
    // Enough people for the run: a phase books at most this many.
    let per_phase = (registry / 2).min(200_000);
    let spread = prepare(&stack, per_phase, &slot_ids, None, 0);
    let hot_run = prepare(&stack, per_phase, &slot_ids, Some(hot), 1);
    println!("prepared {} + {} signed bookings", spread.len(), hot_run.len());

    // A short warm-up (connections, caches, prepared statements), not counted.
    let warm: Vec<Booking> = spread
        .iter()
        .take(200)
        .map(|b| Booking { client_id: b.client_id.clone(), pass: b.pass.clone(), request: b.request.clone() })
        .collect();
    let spread: Vec<Booking> = spread.into_iter().skip(200).collect();
    let _ = run(&clients, warm, concurrency, Duration::from_secs(5)).await;

    // Each phase starts with nothing queued, and its figure includes the
    // time the consumers need to catch up with it.
    let backlog = Backlog::connect(&stack.tag).await?;
    backlog.drain(Duration::from_secs(120)).await?;
    let cpu0 = CpuTimes::now();
    let mut phase1 = run(&clients, spread, concurrency, seconds).await;
    phase1.catch_up(&backlog).await?;
    let cpu1 = CpuTimes::now();
    let mut phase2 = run(&clients, hot_run, concurrency, seconds).await;
    phase2.catch_up(&backlog).await?;
    let cpu2 = CpuTimes::now();
    backlog.close().await;

    // Checks by SQL on the reservation database.
    let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}_reservation", stack.tag);
    let pool = yeyak_platform::db::connect(&yeyak_platform::db::DatabaseSettings::with_url(url), false).await?;
    let over_ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM slot_ledger WHERE booked > capacity").fetch_one(&pool).await?;
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM slot_ledger l
         LEFT JOIN (SELECT slot_id, count(*) AS n FROM reservations WHERE state = 'confirmed' GROUP BY slot_id) r USING (slot_id)
         WHERE l.booked <> COALESCE(r.n, 0)",
    )
    .fetch_one(&pool)
    .await?;
    let per_slot: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT slot_id, count(*) FROM reservations WHERE state = 'confirmed' GROUP BY slot_id").fetch_all(&pool).await?;
    let oversold = per_slot.iter().filter(|(slot, n)| capacity_of.get(slot).is_none_or(|c| *n > i64::from(*c))).count();
    let double: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT subject_id, dose_number FROM reservations WHERE state = 'confirmed'
         GROUP BY subject_id, dose_number HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await?;
    let (reservations, events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reservations), (SELECT count(*) FROM outbox WHERE routing_key = 'reservation.confirmed.v1')",
    )
    .fetch_one(&pool)
    .await?;
    let hot_booked = per_slot.iter().find(|(s, _)| *s == hot).map_or(0, |(_, n)| *n);
    pool.close().await;

    stack.stop().await?;
    let floor_after = pgbench(pg_clients, seconds.as_secs().max(10))?;
    let floor = (floor_before + floor_after) / 2.0;

    let mut lines = vec![
        String::new(),
        format!(
            "floor  pgbench tpcb-like (-c {pg_clients})   {floor:>7.0} TPS (mean of {floor_before:.0} before and {floor_after:.0} after)"
        ),
        phase1.line("phase 1: spread over all slots"),
        format!("{:<34} {}", "", cpu1.per_operation(&cpu0, phase1.booked)),
        phase2.line("phase 2: 10% at one hot slot"),
        format!("{:<34} {}", "", cpu2.per_operation(&cpu1, phase2.booked)),
        format!("ratio to the floor: {:.2} (spread), {:.2} (hot); target >= 0.30", phase1.sustained() / floor, phase2.sustained() / floor),
        format!(
            "  against the floor before / after alone: spread {:.2} / {:.2}, hot {:.2} / {:.2}",
            phase1.sustained() / floor_before,
            phase1.sustained() / floor_after,
            phase2.sustained() / floor_before,
            phase2.sustained() / floor_after
        ),
        format!("hot slot: {hot_booked} booked of {} places", capacity_of.get(&hot).copied().unwrap_or(0)),
        "checks on the reservation database:".to_string(),
        format!("  slots with booked > capacity in the ledger:            {over_ledger}"),
        format!("  slots whose ledger count differs from reservations:    {unbalanced}"),
        format!("  slots with more reservations than catalogue places:    {oversold}"),
        format!("  people with two confirmed reservations for one dose:   {double}"),
        format!("  reservations {reservations}, confirmed events in the outbox {events}"),
    ];
    let ok = over_ledger == 0 && unbalanced == 0 && oversold == 0 && double == 0 && reservations == events;
    lines.push(format!("  => {}", if ok { "zero oversell, zero double bookings" } else { "CHECK FAILED" }));
    for l in &lines {
        println!("{l}");
    }
    if !ok {
        bail!("booking checks failed");
    }
    Ok(())
}
