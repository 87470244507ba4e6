//! Drives a real mock-registry process over HTTP, backed by a fresh
//! PostgreSQL database per test (127.0.0.1:5432, user postgres).
use std::time::Duration;

use mock_registry::{ensure_seeded, person, Application, Config};
use serde_json::{json, Value};
use yeyak_platform::{db::DatabaseSettings, pseudonym::subject_id, Secret, Shutdown};

const SEED: u64 = 99;
const COUNT: u64 = 2_000;

fn fresh_database() -> DatabaseSettings {
    let name = format!("yeyak_test_{}", uuid::Uuid::new_v4().simple());
    DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

fn hash_key() -> Secret<String> {
    Secret::new("test-subject-hash-key".to_owned())
}

struct Running {
    base: String,
    http: reqwest::Client,
    pool: sqlx::PgPool,
    database: DatabaseSettings,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A registry seeded with `COUNT` people from `SEED`.
async fn start() -> Running {
    let database = fresh_database();
    let mut config = Config::ephemeral(database.clone());
    config.subject_hash_key = Some(hash_key());
    config.seed_count = Some(COUNT);
    config.seed = SEED;
    let app = Application::build(config).await.expect("build");
    let base = format!("http://{}", app.address());
    let pool = app.pool().clone();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    Running { base, http, pool, database, shutdown, task }
}

impl Running {
    async fn subject(&self, id: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}/v1/subjects/{id}", self.base)).send().await.expect("get");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("join").expect("server result");
        yeyak_platform::db::drop_database(&self.database).await.expect("drop test database");
    }
}

#[tokio::test]
async fn a_seeded_person_is_found_by_subject_id_without_rrn_or_name() {
    let app = start().await;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people").fetch_one(&app.pool).await.expect("count");
    assert_eq!(people, COUNT as i64);

    let p = person(SEED, 17);
    let id = subject_id(&hash_key(), &p.rrn);
    let (status, body) = app.subject(&id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject_id"], id);
    assert_eq!(body["birth_date"], p.birth_date.format("%Y-%m-%d").to_string());
    assert_eq!(body["sex"], p.sex.code());
    assert_eq!(body["region_code"], p.region_code);
    assert_eq!(body["insured"], p.insured);
    assert_eq!(body["priority_groups"], json!(p.priority_groups));
    let doses: Vec<String> = p.doses.iter().map(|d| d.to_string()).collect();
    assert_eq!(body["doses"], json!(doses));
    let fields: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert!(body.get("rrn").is_none() && body.get("name").is_none(), "leaks personal data: {fields:?}");
    assert!(!body.to_string().contains(p.rrn.expose()));

    // Someone with a first dose comes back with it, in order.
    let dosed = (0..COUNT).map(|i| person(SEED, i)).find(|p| !p.doses.is_empty()).expect("~10% have a dose");
    let (_, body) = app.subject(&subject_id(&hash_key(), &dosed.rrn)).await;
    assert_eq!(body["doses"], json!([dosed.doses[0].to_string()]));

    let (status, body) = app.subject(&"0".repeat(40)).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown subject")));
    let outsider = person(SEED, COUNT);
    assert_eq!(app.subject(&subject_id(&hash_key(), &outsider.rrn)).await.0, 404, "index past the count");
    for bad in ["ABCDEF0123ABCDEF0123ABCDEF0123ABCDEF0123", "abc", p.rrn.expose()] {
        let (status, body) = app.subject(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["error"].as_str().unwrap_or("").contains("subject_id"), "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn ensure_seeded_is_a_no_op_for_the_same_population_only() {
    let app = start().await;
    let id = subject_id(&hash_key(), &person(SEED, 17).rrn);
    let xmin = |pool: sqlx::PgPool, id: String| async move {
        sqlx::query_scalar::<_, String>("SELECT xmin::text FROM people WHERE subject_id = $1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .expect("xmin")
    };
    let before = xmin(app.pool.clone(), id.clone()).await;
    assert!(before.is_some());
    let again = ensure_seeded(&app.pool, &hash_key(), SEED, COUNT).await.expect("ensure");
    assert_eq!(again, None, "same count, seed and key: nothing to do");
    assert_eq!(xmin(app.pool.clone(), id.clone()).await, before, "rows untouched");

    let other_key = Secret::new("rotated".to_owned());
    let report = ensure_seeded(&app.pool, &other_key, SEED, 500).await.expect("re-seed").expect("a report");
    assert_eq!((report.count, report.seed), (500, SEED));
    assert_eq!(xmin(app.pool.clone(), id).await, None, "old subject ids are gone");
    let (status, _) = app.subject(&subject_id(&other_key, &person(SEED, 17).rrn)).await;
    assert_eq!(status, 200);
    let meta: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM registry_meta ORDER BY key").fetch_all(&app.pool).await.expect("meta");
    assert!(meta.contains(&("population_size".into(), "500".into())), "{meta:?}");
    assert!(meta.contains(&("subject_key_fingerprint".into(), mock_registry::key_fingerprint(&other_key))));
    app.stop().await;
}

#[tokio::test]
async fn faults_apply_to_lookups_and_change_at_run_time() {
    let app = start().await;
    let id = subject_id(&hash_key(), &person(SEED, 3).rrn);
    let url = format!("{}/admin/faults", app.base);
    let put = app.http.put(&url).json(&json!({"error_rate": 1.0})).send().await.expect("put");
    assert_eq!(put.status().as_u16(), 200);
    let (status, body) = app.subject(&id).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("injected fault")));
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!((health.status().as_u16(), health.text().await.expect("text")), (200, "ok".to_owned()));

    let put = app.http.put(&url).json(&json!({"error_rate": 0.0, "capacity": 1, "latency_ms": 300})).send().await;
    assert_eq!(put.expect("put").status().as_u16(), 200);
    let lookups = (0..4).map(|_| app.subject(&id));
    let statuses: Vec<u16> = futures_util::future::join_all(lookups).await.into_iter().map(|(s, _)| s).collect();
    assert!(statuses.contains(&200) && statuses.contains(&503), "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn birth_date_statistics_aggregate_the_insured_population_without_identifiers() {
    let app = start().await;
    let response = app.http.get(format!("{}/v1/stats/birth-dates", app.base)).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    let mut expected: std::collections::BTreeMap<(String, Vec<String>, u64), u64> = std::collections::BTreeMap::new();
    for p in (0..COUNT).map(|i| person(SEED, i)).filter(|p| p.insured) {
        let groups = p.priority_groups.iter().map(|g| (*g).to_owned()).collect();
        *expected.entry((p.birth_date.to_string(), groups, p.doses.len() as u64)).or_default() += 1;
    }
    let mut got = std::collections::BTreeMap::new();
    for row in body["rows"].as_array().expect("rows") {
        let groups = row["priority_groups"].as_array().expect("groups").iter().map(|g| g.as_str().unwrap_or("").to_owned()).collect();
        let key = (row["birth_date"].as_str().expect("date").to_owned(), groups, row["doses"].as_u64().expect("doses"));
        assert!(got.insert(key, row["count"].as_u64().expect("count")).is_none(), "one row per group");
    }
    assert_eq!(got, expected);
    assert_eq!(body["population"].as_u64(), Some(expected.values().sum()));
    let text = body.to_string();
    let p = person(SEED, 5);
    assert!(!text.contains(p.rrn.expose()) && !text.contains(&subject_id(&hash_key(), &p.rrn)), "an aggregate has no identifiers");
    app.stop().await;
}
