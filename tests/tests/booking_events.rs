//! Booking events as data, across two admission replicas and the services
//! that check passes: an event created through one replica is served by the
//! other and honoured by eligibility within seconds, with its own rule set;
//! a change that would throw out people inside is refused without `force`;
//! a closed event's joins and passes stop everywhere; the Redis copy of the
//! catalog comes back after it is lost; events outlive a restart. It cleans
//! up after itself: its databases, queues and exchange on the shared servers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed set-up or check fails the test

use std::time::{Duration, Instant};

use tonic::{transport::Channel, Code, Request};
use yeyak_dev::keys::DevKeys;
use yeyak_platform::{
    config::Env,
    db,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging,
    pseudonym::subject_id,
    tokens::{self, client_binding, AdmissionPass, IdentityAssertion},
    Secret, Shutdown,
};
use yeyak_proto::{admission::v1 as adm, eligibility::v1 as elig, time};

const SEED: u64 = 11;
/// How soon every replica and service must know of a change.
const BOUND: Duration = Duration::from_secs(3);

struct Replica {
    addr: String,
    shutdown: Shutdown,
    run: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn admission(env: &[(String, String)]) -> Replica {
    let config = admission::config::Config::from_env(&Env::from_pairs(env.to_vec())).unwrap();
    let app = admission::startup::Application::build(config).await.unwrap();
    let (addr, shutdown) = (app.grpc_addr().to_string(), Shutdown::new());
    let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Replica { addr, shutdown, run }
}

fn ch(addr: &str) -> Channel {
    client::channel(addr, &client::ClientSettings::default()).unwrap()
}

fn op<T>(token: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn join(event: &str, client: &str) -> adm::JoinQueueRequest {
    adm::JoinQueueRequest { queue_id: event.into(), client_id: format!("events-test-client-{client}"), ..Default::default() }
}

/// Retries `probe` until it returns `Some`, at most `BOUND`; returns it and how long it took.
async fn within<T, F, Fut>(what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return (v, start.elapsed());
        }
        assert!(start.elapsed() < BOUND, "{what}: not within {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_are_data_that_every_replica_and_service_follows() {
    let _ = yeyak_platform::telemetry::init("e2e");
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let keys = DevKeys::generate();
    let shutdown = Shutdown::new();
    let prefix = format!("test:{tag}");
    let common = |extra: &[(&str, String)]| {
        let mut list = vec![
            ("ENV", "dev".to_owned()),
            ("GRPC_ADDR", "127.0.0.1:0".into()),
            ("HTTP_ADDR", "127.0.0.1:0".into()),
            ("METRICS_ADDR", "127.0.0.1:0".into()),
            ("TRUSTED_KEYS", keys.trusted.clone()),
            ("QUEUE_IDS", "demo".into()),
            ("REDIS_KEY_PREFIX", prefix.clone()),
            ("SESSIONS_REDIS_KEY_PREFIX", prefix.clone()),
            ("AMQP_EXCHANGE", format!("test.{tag}.events")),
            ("AMQP_QUEUE_PREFIX", format!("test.{tag}")),
            ("SUBJECT_HASH_KEY", keys.subject_hash_key.clone()),
        ];
        list.extend(extra.iter().cloned());
        list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Vec<_>>()
    };

    let registry_env = Env::from_pairs(common(&[
        ("DATABASE_URL", format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_registry")),
        ("SEED_COUNT", "50".into()),
        ("SEED", SEED.to_string()),
    ]));
    let registry = mock_registry::Application::build(mock_registry::Config::from_env(&registry_env).unwrap()).await.unwrap();
    let registry_url = format!("http://{}", registry.address());
    let registry_run = tokio::spawn(registry.run_until_stopped(shutdown.clone()));

    // Eligibility with two rule sets besides its default: one that takes
    // everybody, one whose window opens in 2099 (nobody eligible yet).
    let sets = std::env::temp_dir().join(format!("yeyak-rule-sets-{tag}"));
    std::fs::create_dir_all(&sets).unwrap();
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml")).unwrap();
    std::fs::write(sets.join("everyone.toml"), &demo).unwrap();
    let later = demo.replace("2021-07-01T20:00:00", "2099-01-01T20:00:00").replace("demo-2026-1", "later-1");
    std::fs::write(sets.join("later.toml"), later).unwrap();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
    let eligibility_env = Env::from_pairs(common(&[
        ("REGISTRY_URL", registry_url),
        ("RULES_FILE", rules.into()),
        ("RULE_SETS_DIR", sets.to_string_lossy().into_owned()),
    ]));
    let eligibility =
        eligibility::startup::Application::build(eligibility::config::Config::from_env(&eligibility_env).unwrap()).await.unwrap();
    let eligibility_addr = eligibility.grpc_addr().to_string();
    let eligibility_run = tokio::spawn(eligibility.run_until_stopped(shutdown.clone()));

    // Two admission replicas of one deployment.
    let admission_env = common(&[
        ("SIGNING_KEY", keys.admission.secret_spec()),
        ("OPERATOR_TOKEN", keys.operator_token.clone()),
        ("DATABASE_URL", format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_admission")),
        ("ADMISSION_RATE", "0.001".into()),
    ]);
    let a = admission(&admission_env).await;
    let b = admission(&admission_env).await;
    let token = keys.operator_token.clone();
    let mut ops_a = adm::admission_operator_service_client::AdmissionOperatorServiceClient::new(ch(&a.addr));
    let mut queue_b = adm::admission_service_client::AdmissionServiceClient::new(ch(&b.addr));
    let mut check = elig::eligibility_service_client::EligibilityServiceClient::new(ch(&eligibility_addr));

    // The configured queue is the first event.
    let listed = ops_a.list_events(op(&token, adm::ListEventsRequest {})).await.unwrap().into_inner().events;
    assert_eq!(listed.iter().map(|s| s.event.as_ref().unwrap().event_id.as_str()).collect::<Vec<_>>(), ["demo"]);

    // A pass and assertion for `event`, as admission and identity would issue them.
    let hash_key = Secret::new(keys.subject_hash_key.clone());
    let check_in = |event: &str, person: u64| {
        let t = chrono::Utc::now().timestamp();
        let (session, client) = (format!("s-{event}-{person}-{tag}"), format!("c-{event}-{person}-{tag}"));
        let pass = AdmissionPass {
            queue_id: event.into(),
            place: 1,
            client_binding: client_binding(&client),
            session_id: session.clone(),
            cnf: None,
            issued_at: t,
            expires_at: t + 600,
        };
        let who = mock_registry::person(SEED, person);
        let assertion = IdentityAssertion {
            subject: subject_id(&hash_key, &who.rrn),
            birth_date: who.birth_date.format("%Y-%m-%d").to_string(),
            name: "김*수".into(),
            provider: "carrier-sms".into(),
            assurance_level: 1,
            session_id: session,
            queue_id: event.into(),
            issued_at: t,
            expires_at: t + 600,
        };
        let body = elig::CheckEligibilityRequest {
            identity_assertion: tokens::sign(&keys.identity, &assertion),
            dose_number: 1,
            ..Default::default()
        };
        let mut request = Request::new(body);
        request.metadata_mut().insert(PASS_HEADER, tokens::sign(&keys.admission, &pass).parse().unwrap());
        request.metadata_mut().insert(CLIENT_ID_HEADER, client.parse().unwrap());
        request
    };

    // Before it exists, nobody serves "night2".
    assert_eq!(queue_b.join_queue(join("night2", "before-1")).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(check.check_eligibility(check_in("night2", 1)).await.unwrap_err().code(), Code::PermissionDenied);

    // Created through replica A (dry run first: nothing changes).
    let opens = chrono::Utc::now().timestamp_millis() - 60_000;
    let night2 = adm::BookingEvent {
        event_id: "night2".into(),
        title: "Cohort 2, first night".into(),
        opens_at: Some(time::from_unix_millis(opens)),
        rule_set: "later".into(),
        admission_rate_per_second: 5.0,
        max_active_sessions: 100,
        ..Default::default()
    };
    let dry = adm::CreateEventRequest { event: Some(night2.clone()), dry_run: true };
    let change = ops_a.create_event(op(&token, dry)).await.unwrap().into_inner().change.unwrap();
    assert!(!change.applied && change.effects[0].contains("creates event night2"), "{change:?}");
    assert_eq!(queue_b.join_queue(join("night2", "before-2")).await.unwrap_err().code(), Code::NotFound);
    let bad = adm::BookingEvent { event_id: "Night 2".into(), ..night2.clone() };
    let refused = ops_a.create_event(op(&token, adm::CreateEventRequest { event: Some(bad), dry_run: false })).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("event.event_id"), "{}", refused.message());
    let created = Instant::now();
    let change = ops_a.create_event(op(&token, adm::CreateEventRequest { event: Some(night2.clone()), dry_run: false })).await.unwrap();
    assert!(change.into_inner().change.unwrap().applied);

    // Replica B takes joins for it, and eligibility judges it by its own rule set.
    let (_, took_b) = within("replica B serves night2", || {
        let mut q = queue_b.clone();
        async move { q.join_queue(join("night2", "first-1")).await.ok() }
    })
    .await;
    let (answer, took_e) = within("eligibility honours night2's passes", || {
        let mut c = check.clone();
        let request = check_in("night2", 2);
        async move { c.check_eligibility(request).await.ok() }
    })
    .await;
    println!("a new event: replica B after {took_b:?}, eligibility after {took_e:?} (since the call: {:?})", created.elapsed());
    assert!(!answer.into_inner().eligible, "night2 uses rule set `later`: nobody yet");
    assert!(check.check_eligibility(check_in("demo", 2)).await.unwrap().into_inner().eligible, "demo keeps the default rules");

    // Another rule set while someone waits in night2: refused without force.
    let rules_change = adm::BookingEvent { rule_set: "everyone".into(), ..night2.clone() };
    let update = |dry_run, force| adm::UpdateEventRequest { event: Some(rules_change.clone()), dry_run, force };
    let refused = ops_a.update_event(op(&token, update(false, false))).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("may no longer be eligible"), "{}", refused.message());
    let dry = ops_a.update_event(op(&token, update(true, false))).await.unwrap().into_inner().change.unwrap();
    assert!(dry.needs_force && !dry.applied, "{dry:?}");
    let forced = ops_a.update_event(op(&token, update(false, true))).await.unwrap().into_inner().change.unwrap();
    assert!(forced.applied && forced.event.unwrap().rule_set == "everyone");
    within("eligibility follows the new rule set", || {
        let mut c = check.clone();
        let request = check_in("night2", 3);
        async move { c.check_eligibility(request).await.ok().filter(|r| r.get_ref().eligible) }
    })
    .await;

    // The Redis copy of the catalog, lost, comes back from PostgreSQL.
    let redis = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let key = yeyak_platform::sessions::catalog::catalog_key(&prefix);
    redis::cmd("DEL").arg(&key).query_async::<()>(&mut conn).await.unwrap();
    let (copy, _) = within("the catalog copy is written again", || {
        let mut c = conn.clone();
        let key = key.clone();
        async move {
            let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL").arg(key).query_async(&mut c).await.unwrap();
            fields.contains_key("_version").then_some(fields)
        }
    })
    .await;
    assert!(copy["night2"].contains("\"rule_set\":\"everyone\"") && copy.contains_key("demo"), "{copy:?}");
    // Meanwhile, and after, eligibility kept the catalog it had read.
    assert!(check.check_eligibility(check_in("night2", 5)).await.unwrap().into_inner().eligible);

    // An operator's change to a configured event outlives restarts (the seed never overrides it).
    let demo = ops_a.list_events(op(&token, adm::ListEventsRequest {})).await.unwrap().into_inner().events[0].event.clone().unwrap();
    let renamed = adm::BookingEvent { title: "Demo evening".into(), ..demo };
    let update = adm::UpdateEventRequest { event: Some(renamed), dry_run: false, force: false };
    assert!(ops_a.update_event(op(&token, update)).await.unwrap().into_inner().change.unwrap().applied);

    // Closed with someone waiting: needs force; then joins and passes stop everywhere.
    let close = |dry_run, force| adm::CloseEventRequest { event_id: "night2".into(), dry_run, force };
    assert_eq!(ops_a.close_event(op(&token, close(false, false))).await.unwrap_err().code(), Code::FailedPrecondition);
    assert!(ops_a.close_event(op(&token, close(false, true))).await.unwrap().into_inner().change.unwrap().applied);
    within("replica B refuses night2", || {
        let mut q = queue_b.clone();
        async move { q.join_queue(join("night2", "late-1")).await.err().filter(|e| e.code() == Code::FailedPrecondition) }
    })
    .await;
    within("eligibility refuses night2's passes", || {
        let mut c = check.clone();
        let request = check_in("night2", 4);
        async move { c.check_eligibility(request).await.err().filter(|e| e.code() == Code::PermissionDenied) }
    })
    .await;
    assert!(check.check_eligibility(check_in("demo", 4)).await.is_ok(), "the other event runs on");

    // Events outlive the replicas: a fresh one lists both, night2 closed.
    for replica in [a, b] {
        replica.shutdown.trigger();
        replica.run.await.unwrap().unwrap();
    }
    let c = admission(&admission_env).await;
    let mut ops_c = adm::admission_operator_service_client::AdmissionOperatorServiceClient::new(ch(&c.addr));
    let listed = ops_c.list_events(op(&token, adm::ListEventsRequest {})).await.unwrap().into_inner().events;
    let states: Vec<_> = listed.iter().map(|s| (s.event.as_ref().unwrap().event_id.clone(), s.phase())).collect();
    assert_eq!(states, [("demo".to_owned(), adm::EventPhase::Open), ("night2".to_owned(), adm::EventPhase::Closed)]);
    assert_eq!(listed[0].event.as_ref().unwrap().title, "Demo evening", "the seed did not override the operator");
    let reopen = adm::UpdateEventRequest { event: listed[1].event.clone(), dry_run: false, force: true };
    assert_eq!(ops_c.update_event(op(&token, reopen)).await.unwrap_err().code(), Code::FailedPrecondition, "closing is final");
    c.shutdown.trigger();
    c.run.await.unwrap().unwrap();
    shutdown.trigger();
    eligibility_run.await.unwrap().unwrap();
    registry_run.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&sets);
    // Every service that consumes is stopped: nothing declares these again.
    for service in ["registry", "admission"] {
        let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_{service}");
        db::drop_database(&db::DatabaseSettings::with_url(url)).await.unwrap();
    }
    let amqp = messaging::AmqpSettings::for_test(&tag);
    messaging::delete_namespace(&amqp, &[admission::consumers::sessions::QUEUE, eligibility::consumers::bookings::QUEUE]).await.unwrap();
}
