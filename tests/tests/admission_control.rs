//! The automatic admission rate against a real downstream process:
//! eligibility runs as a child process in front of the mock insurance
//! registry, and admission controls its event from eligibility's metrics
//! endpoint while a steady load of CheckEligibility calls goes through the
//! registry. Errors, then latency, are injected into the registry: the rate
//! must fall within seconds, climb back once the registry recovers, never
//! pass the operators' rate and change direction only when the backend does.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed set-up or check fails the test

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tonic::transport::Channel;
use yeyak_dev::keys::DevKeys;
use yeyak_e2e::stack::{self, Processes, Service};
use yeyak_platform::{
    config::Env,
    db,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging,
    pseudonym::subject_id,
    tokens::{self, client_binding, AdmissionPass, IdentityAssertion},
    Secret, Shutdown,
};
use yeyak_proto::{admission::v1 as adm, eligibility::v1 as elig};

const CLIENT: &str = "control-load-client-0001";
const SEED: u64 = 7;
const PEOPLE: u64 = 3_000;
const CEILING: f64 = 100.0;

/// The entry point of the child process (`stack::child_main`): in a normal
/// run it returns at once.
#[test]
fn control_child() {
    stack::child_main();
}

/// A free loopback port (for a metrics listener whose address must be known).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// What GetAdmissionSettings said, and when.
#[derive(Clone, Debug)]
struct Sample {
    at: Instant,
    rate: f64,
    automatic: bool,
    reason: String,
}

struct Operator {
    api: adm::admission_operator_service_client::AdmissionOperatorServiceClient<Channel>,
    token: String,
}

impl Operator {
    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", format!("Bearer {}", self.token).parse().unwrap());
        r
    }

    async fn settings(&mut self) -> adm::AdmissionSettings {
        let req = self.request(adm::GetAdmissionSettingsRequest { queue_id: "demo".into() });
        self.api.get_admission_settings(req).await.unwrap().into_inner().settings.unwrap()
    }
}

/// Polls the settings every 100 ms into `series` until `stop`.
fn record(mut operator: Operator, series: Arc<Mutex<Vec<Sample>>>, stop: Shutdown) {
    tokio::spawn(async move {
        loop {
            let s = operator.settings().await;
            let sample = Sample {
                at: Instant::now(),
                rate: s.controlled_rate_per_second,
                automatic: s.automatic_admission,
                reason: s.rate_change_reason,
            };
            series.lock().push(sample);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.wait() => return,
            }
        }
    });
}

/// Waits at most `limit` for the latest sample to satisfy `ok`; returns it
/// and how long it took.
async fn until(series: &Mutex<Vec<Sample>>, limit: Duration, what: &str, ok: impl Fn(&Sample) -> bool) -> (Sample, Duration) {
    let start = Instant::now();
    loop {
        if let Some(last) = series.lock().last().filter(|s| s.at >= start && ok(s)).cloned() {
            return (last, start.elapsed());
        }
        let tail: Vec<(f64, String)> = series.lock().iter().rev().take(5).map(|s| (s.rate, s.reason.clone())).collect();
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}; last samples {tail:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A steady open-loop load of CheckEligibility calls, 40 a second, each
/// for a person not asked before (so every call reaches the registry).
fn load(channel: Channel, keys: &DevKeys, hash_key: &str, stop: Shutdown) -> Arc<AtomicU64> {
    let t = chrono::Utc::now().timestamp();
    let session = "control-load-session-01".to_owned();
    let claims = AdmissionPass {
        queue_id: "demo".into(),
        place: 1,
        client_binding: client_binding(CLIENT),
        session_id: session.clone(),
        cnf: None,
        issued_at: t,
        expires_at: t + 600,
    };
    let pass = tokens::sign(&keys.admission, &claims);
    let (identity, hash_key) = (keys.identity.clone(), Secret::new(hash_key.to_owned()));
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        for i in 0..PEOPLE {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait() => return,
            }
            let person = mock_registry::person(SEED, i);
            let assertion = IdentityAssertion {
                subject: subject_id(&hash_key, &person.rrn),
                birth_date: person.birth_date.format("%Y-%m-%d").to_string(),
                name: "김*수".into(),
                provider: "carrier-sms".into(),
                assurance_level: 1,
                session_id: session.clone(),
                queue_id: "demo".into(),
                issued_at: t,
                expires_at: t + 600,
            };
            let check = elig::CheckEligibilityRequest {
                identity_assertion: tokens::sign(&identity, &assertion),
                dose_number: 1,
                ..Default::default()
            };
            let mut request = tonic::Request::new(check);
            request.metadata_mut().insert(PASS_HEADER, pass.parse().unwrap());
            request.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
            request.set_timeout(Duration::from_secs(4));
            let mut api = elig::eligibility_service_client::EligibilityServiceClient::new(channel.clone());
            let counted = counted.clone();
            tokio::spawn(async move {
                let _ = api.check_eligibility(request).await;
                counted.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    calls
}

async fn faults(http: &reqwest::Client, registry: &str, body: serde_json::Value) {
    let response = http.put(format!("{registry}/admin/faults")).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Direction changes of the rate over `samples` (holds do not count).
fn direction_changes(samples: &[Sample]) -> usize {
    let moves: Vec<bool> = samples.windows(2).filter(|w| w[1].rate != w[0].rate).map(|w| w[1].rate > w[0].rate).collect();
    moves.windows(2).filter(|m| m[0] != m[1]).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admission_rate_falls_when_eligibility_degrades_and_climbs_back_when_it_recovers() {
    let _ = yeyak_platform::telemetry::init("e2e");
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let keys = DevKeys::generate();
    let shutdown = Shutdown::new();
    let db_url = |service: &str| format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_{service}");
    let common = |extra: &[(&str, String)]| {
        let mut list = vec![
            ("ENV", "dev".to_owned()),
            ("GRPC_ADDR", "127.0.0.1:0".into()),
            ("HTTP_ADDR", "127.0.0.1:0".into()),
            ("TRUSTED_KEYS", keys.trusted.clone()),
            ("QUEUE_IDS", "demo".into()),
            ("REDIS_KEY_PREFIX", format!("test:{tag}")),
            ("SESSIONS_REDIS_KEY_PREFIX", format!("test:{tag}")),
            ("AMQP_EXCHANGE", format!("test.{tag}.events")),
            ("AMQP_QUEUE_PREFIX", format!("test.{tag}")),
            ("SUBJECT_HASH_KEY", keys.subject_hash_key.clone()),
        ];
        list.extend(extra.iter().cloned());
        pairs(&list)
    };

    // The third party, in this process: faults are set over its admin API.
    let registry_env =
        Env::from_pairs(common(&[("DATABASE_URL", db_url("registry")), ("SEED_COUNT", PEOPLE.to_string()), ("SEED", SEED.to_string())]));
    let registry = mock_registry::Application::build(mock_registry::Config::from_env(&registry_env).unwrap()).await.unwrap();
    let registry_url = format!("http://{}", registry.address());
    tokio::spawn(registry.run_until_stopped(shutdown.clone()));

    // Eligibility, a child process, with its metrics on a known port.
    let metrics_port = free_port();
    let processes = Processes {
        exe: std::env::current_exe().unwrap(),
        args: ["control_child", "--exact", "--nocapture"].map(String::from).to_vec(),
        env: Vec::new(),
        log_dir: std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    };
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
    let eligibility_env = common(&[
        ("METRICS_ADDR", format!("127.0.0.1:{metrics_port}")),
        ("REGISTRY_URL", registry_url.clone()),
        ("REGISTRY_TIMEOUT_MS", "3000".into()),
        ("RULES_FILE", rules.into()),
    ]);
    let (eligibility_addr, eligibility) = processes.start_one(Service::Eligibility, &eligibility_env, &tag).await.unwrap();

    // Admission, controlling the event from eligibility's metrics.
    let admission_metrics = free_port();
    let admission_env = Env::from_pairs(common(&[
        ("METRICS_ADDR", format!("127.0.0.1:{admission_metrics}")),
        ("SIGNING_KEY", keys.admission.secret_spec()),
        ("OPERATOR_TOKEN", keys.operator_token.clone()),
        ("DATABASE_URL", db_url("admission")),
        ("ADMISSION_RATE", CEILING.to_string()),
        ("ADMISSION_CONTROL_TARGETS", format!("eligibility=http://127.0.0.1:{metrics_port}/metrics")),
        ("ADMISSION_CONTROL_INTERVAL_MS", "400".into()),
        ("ADMISSION_CONTROL_STEP", "0.1".into()),
        ("ADMISSION_CONTROL_MIN_CALLS", "3".into()),
        // Margins for a loaded 2-core machine: a scrape may take 350 ms, and
        // only a p95 past 1 s (the registry's injected 1.5 s) is slow.
        ("ADMISSION_CONTROL_TIMEOUT_MS", "350".into()),
        ("ADMISSION_CONTROL_MAX_LATENCY_MS", "1000".into()),
    ]));
    let admission = admission::startup::Application::build(admission::config::Config::from_env(&admission_env).unwrap()).await.unwrap();
    let admission_addr = admission.grpc_addr().to_string();
    let admission_run = tokio::spawn(admission.run_until_stopped(shutdown.clone()));

    let ch = |addr: &str| client::channel(addr, &client::ClientSettings::default()).unwrap();
    let operator = || Operator {
        api: adm::admission_operator_service_client::AdmissionOperatorServiceClient::new(ch(&admission_addr)),
        token: keys.operator_token.clone(),
    };
    let series = Arc::new(Mutex::new(Vec::new()));
    let stop = Shutdown::new();
    record(operator(), series.clone(), stop.clone());
    let calls = load(ch(&eligibility_addr), &keys, &keys.subject_hash_key, stop.clone());
    let http = reqwest::Client::new();

    // Healthy: the controller runs the event at the operators' rate and stays there.
    until(&series, Duration::from_secs(15), "under control at the ceiling", |s| s.automatic && s.rate == CEILING).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = series.lock().len();
    assert!(series.lock()[start - 15..].iter().all(|s| s.rate == CEILING), "a healthy backend keeps the ceiling");

    // Errors: every registry call fails, eligibility answers UNAVAILABLE.
    faults(&http, &registry_url, serde_json::json!({"error_rate": 1.0})).await;
    let (cut, took) = until(&series, Duration::from_secs(5), "first cut after errors", |s| s.rate <= CEILING / 2.0).await;
    println!("errors: first cut after {took:?}: {}", cut.reason);
    assert!(cut.reason.contains("eligibility") && cut.reason.contains("error ratio"), "{}", cut.reason);
    let mut queue = adm::admission_service_client::AdmissionServiceClient::new(ch(&admission_addr));
    let joined = queue.join_queue(adm::JoinQueueRequest { queue_id: "demo".into(), client_id: CLIENT.into(), ..Default::default() });
    assert!(joined.await.unwrap().into_inner().status.unwrap().admission_slowed, "people in line are told");
    let (_, took) = until(&series, Duration::from_secs(10), "down to the floor", |s| s.rate <= CEILING * 0.05 + 1e-9).await;
    println!("errors: at the floor after {took:?} more");

    // Recovered: back to the ceiling, climbing only.
    faults(&http, &registry_url, serde_json::json!({"error_rate": 0.0})).await;
    let climb_from = series.lock().len();
    let (_, took) = until(&series, Duration::from_secs(15), "back at the ceiling", |s| s.rate == CEILING).await;
    println!("recovered: back at the ceiling after {took:?}");
    let climb: Vec<Sample> = series.lock()[climb_from..].to_vec();
    assert!(
        climb.windows(2).all(|w| w[1].rate >= w[0].rate),
        "the climb never dips: {:?}",
        climb.iter().map(|s| s.rate).collect::<Vec<_>>()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(series.lock().last().unwrap().rate, CEILING, "and stays there");

    // Latency: the registry answers in 1.5 s; eligibility's p95 follows.
    faults(&http, &registry_url, serde_json::json!({"latency_ms": 1500})).await;
    let (cut, took) = until(&series, Duration::from_secs(6), "first cut after latency", |s| s.rate <= CEILING / 2.0).await;
    println!("latency: first cut after {took:?}: {}", cut.reason);
    assert!(cut.reason.contains("latency"), "{}", cut.reason);
    let controlled: Vec<Sample> = series.lock().clone();

    // The operator switches the controller off: the ceiling applies at once,
    // though the backend is still slow.
    let mut op = operator();
    let req = op.request(adm::SetAutomaticAdmissionRequest { queue_id: "demo".into(), enabled: false, floor_rate_per_second: None });
    let off = op.api.set_automatic_admission(req).await.unwrap().into_inner().settings.unwrap();
    assert_eq!((off.automatic_admission, off.controlled_rate_per_second), (false, CEILING));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let last = series.lock().last().unwrap().clone();
    assert_eq!((last.automatic, last.rate), (false, CEILING), "switched off stays off");
    faults(&http, &registry_url, serde_json::json!({"latency_ms": 0})).await;
    stop.trigger();

    // Bounded: never above the ceiling, and the direction changed only
    // where the backend did (down, up, down), give or take one.
    assert!(controlled.iter().all(|s| s.rate <= CEILING), "never above the operators' rate");
    let changes = direction_changes(&controlled);
    assert!((2..=4).contains(&changes), "{changes} direction changes: {:?}", controlled.iter().map(|s| s.rate).collect::<Vec<_>>());

    // Every change is recorded, and counted in the metrics.
    let pool = sqlx::PgPool::connect(&db_url("admission")).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT direction, reason FROM admission_rate_changes WHERE queue_id = 'demo' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(rows.iter().filter(|(d, _)| d == "down").count() >= 5 && rows.iter().any(|(d, _)| d == "up"), "{rows:?}");
    assert!(rows.iter().all(|(_, reason)| !reason.is_empty()));
    let audit: Vec<(String,)> = sqlx::query_as("SELECT action FROM operator_audit").fetch_all(&pool).await.unwrap();
    assert!(audit.iter().any(|(a,)| a == "admission.set_automatic"), "{audit:?}");
    pool.close().await;
    let metrics = http.get(format!("http://127.0.0.1:{admission_metrics}/metrics")).send().await.unwrap().text().await.unwrap();
    for direction in ["down", "up"] {
        let labels = format!("event=\"demo\",direction=\"{direction}\"}}");
        let counted = metrics.lines().any(|l| l.starts_with("yeyak_admission_rate_changes_total{") && l.contains(&labels));
        assert!(counted, "no change {direction} counted in:\n{metrics}");
    }
    assert!(metrics.contains("yeyak_queue_admission_rate_controlled"));
    println!("{} CheckEligibility calls made", calls.load(Ordering::Relaxed));

    shutdown.trigger();
    eligibility.stop().await.unwrap();
    admission_run.await.unwrap().unwrap();
    for service in ["registry", "admission"] {
        db::drop_database(&db::DatabaseSettings::with_url(db_url(service))).await.unwrap();
    }
    let amqp = messaging::AmqpSettings::for_test(&tag);
    messaging::delete_namespace(&amqp, &[admission::consumers::sessions::QUEUE, eligibility::consumers::bookings::QUEUE]).await.unwrap();
}
