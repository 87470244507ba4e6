//! Drives a real mock-idp process over HTTP on a loopback port.
use std::time::Duration;

use mock_idp::{Application, Config, ProviderKind};
use serde_json::{json, Value};
use yeyak_platform::{pseudonym::Rrn, Shutdown};

const PHONE: &str = "01024681357";

struct Running {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn rrn() -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1975, 11, 3).expect("date");
    Rrn::synthesize(birth, true, 31_337).expose().to_owned()
}

async fn start(config: Config) -> Running {
    let app = Application::build(config).await.expect("build");
    let base = format!("http://{}", app.address());
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    Running { base, http, shutdown, task }
}

impl Running {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.expect("post");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("get");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn begin(&self) -> String {
        let (status, body) = self.post("/v1/verifications", json!({"name": "박지은", "rrn": rrn(), "phone": PHONE})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["expires_in_seconds"], 180);
        body["transaction_id"].as_str().expect("transaction_id").to_owned()
    }

    async fn inbox_code(&self, transaction_id: &str) -> String {
        let (status, body) = self.get(&format!("/v1/inbox/{PHONE}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["transaction_id"], transaction_id);
        body["code"].as_str().expect("code").to_owned()
    }

    async fn confirm(&self, transaction_id: &str, code: &str) -> (u16, Value) {
        self.post(&format!("/v1/verifications/{transaction_id}/confirm"), json!({ "code": code })).await
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("join").expect("server result");
    }
}

#[tokio::test]
async fn sms_code_from_the_inbox_verifies_once() {
    let app = start(Config::ephemeral(ProviderKind::SmsCode)).await;
    assert_eq!(app.get(&format!("/v1/inbox/{PHONE}")).await.0, 404, "nothing sent yet");
    let id = app.begin().await;
    let code = app.inbox_code(&id).await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    let (status, body) = app.confirm(&id, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verified"], true);
    assert_eq!((body["name"].as_str(), body["phone"].as_str()), (Some("박지은"), Some(PHONE)));
    assert_eq!(body["rrn"].as_str(), Some(rrn().as_str()));

    let (status, _) = app.confirm(&id, &code).await;
    assert_eq!(status, 404, "a confirmed transaction is single use");
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_are_401_then_the_transaction_dies_after_five() {
    let app = start(Config::ephemeral(ProviderKind::SmsCode)).await;
    let id = app.begin().await;
    let code = app.inbox_code(&id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let (status, body) = app.confirm(&id, wrong).await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
        assert_eq!((body["verified"].as_bool(), body["error"].as_str()), (Some(false), Some("wrong code")));
        assert_eq!(body["attempts_left"], 5 - attempt);
    }
    let (status, body) = app.confirm(&id, &code).await;
    assert_eq!(status, 410, "even the right code is refused now: {body}");
    let (status, _) = app.confirm(&uuid::Uuid::new_v4().to_string(), "123456").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn app_approval_is_pending_until_approved() {
    let app = start(Config::ephemeral(ProviderKind::AppApproval)).await;
    let id = app.begin().await;
    assert_eq!(app.inbox_code(&id).await, "", "a push notification carries no code");
    let (status, body) = app.confirm(&id, "").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("pending approval")));
    let (status, body) = app.post(&format!("/v1/verifications/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.confirm(&id, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["verified"].as_bool(), body["provider_id"].as_str()), (Some(true), Some("cert-app")));
    assert_eq!(app.confirm(&id, "").await.0, 404, "single use");

    let sms = start(Config::ephemeral(ProviderKind::SmsCode)).await;
    let id = sms.begin().await;
    assert_eq!(sms.post(&format!("/v1/verifications/{id}/approve"), json!({})).await.0, 409);
    sms.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let app = start(Config::ephemeral(ProviderKind::SmsCode)).await;
    let mut bad_rrn = rrn();
    let last = bad_rrn.pop().and_then(|c| c.to_digit(10)).expect("digit");
    bad_rrn.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
    let cases = [
        (json!({"name": "박지은", "rrn": bad_rrn, "phone": PHONE}), "rrn:"),
        (json!({"name": "박지은", "rrn": "12345", "phone": PHONE}), "rrn:"),
        (json!({"name": " ", "rrn": rrn(), "phone": PHONE}), "name:"),
        (json!({"name": "가".repeat(41), "rrn": rrn(), "phone": PHONE}), "name:"),
        (json!({"name": "박지은", "rrn": rrn(), "phone": "010-1234-5678"}), "phone:"),
        (json!({"name": "박지은", "rrn": rrn()}), "`phone`"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/v1/verifications", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap_or("").contains(field), "{field}: {answer}");
    }
    let (status, body) = app.post("/v1/verifications/not-a-uuid/confirm", json!({"code": "1"})).await;
    assert!(status == 400 && body["error"].as_str().unwrap_or("").contains("transaction_id"), "{body}");
    let id = app.begin().await;
    let (status, body) = app.confirm(&id, "abc").await;
    assert!(status == 400 && body["error"].as_str().unwrap_or("").starts_with("code:"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn faults_apply_to_provider_calls_and_change_at_run_time() {
    let mut config = Config::ephemeral(ProviderKind::SmsCode);
    config.faults.error_rate = 1.0;
    let app = start(config).await;
    let body = json!({"name": "박지은", "rrn": rrn(), "phone": PHONE});
    let (status, answer) = app.post("/v1/verifications", body.clone()).await;
    assert_eq!((status, answer["error"].as_str()), (503, Some("injected fault")));
    assert_eq!(app.get("/admin/faults").await.1["error_rate"], 1.0);
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200);

    let url = format!("{}/admin/faults", app.base);
    let put = app.http.put(&url).json(&json!({"error_rate": 0})).send().await.expect("put");
    assert_eq!(put.status().as_u16(), 200);
    let id = app.begin().await;
    assert_eq!(app.inbox_code(&id).await.len(), 6);

    let put = app.http.put(&url).json(&json!({"capacity": 1, "latency_ms": 300})).send().await.expect("put");
    assert_eq!(put.status().as_u16(), 200);
    let calls = (0..4).map(|_| app.post("/v1/verifications", body.clone()));
    let statuses: Vec<u16> = futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    assert!(statuses.contains(&201) && statuses.contains(&503), "{statuses:?}");

    let put = app.http.put(&url).json(&json!({"capacity": 0, "latency_ms": 0, "timeout_rate": 1})).send().await;
    assert_eq!(put.expect("put").status().as_u16(), 200);
    let hung = app.http.post(format!("{}/v1/verifications", app.base)).json(&body).timeout(Duration::from_millis(500));
    let error = hung.send().await.expect_err("a timeout fault hangs the call");
    assert!(error.is_timeout(), "{error}");
    app.shutdown.trigger();
    drop(app.task);
}

#[tokio::test]
async fn a_retried_start_with_the_same_idempotency_key_opens_one_transaction() {
    let app = start(Config::ephemeral(ProviderKind::SmsCode)).await;
    let body = json!({"name": "박지은", "rrn": rrn(), "phone": PHONE});
    let send =
        |key: &'static str| app.http.post(format!("{}/v1/verifications", app.base)).header("Idempotency-Key", key).json(&body).send();
    let first: Value = send("start-1").await.expect("post").json().await.expect("json");
    let code = app.inbox_code(first["transaction_id"].as_str().expect("id")).await;
    let again: Value = send("start-1").await.expect("post").json().await.expect("json");
    assert_eq!(first["transaction_id"], again["transaction_id"]);
    assert_eq!(app.inbox_code(first["transaction_id"].as_str().expect("id")).await, code, "no second SMS");
    let other: Value = send("start-2").await.expect("post").json().await.expect("json");
    assert_ne!(first["transaction_id"], other["transaction_id"]);
    let long = "k".repeat(200);
    let status = app.http.post(format!("{}/v1/verifications", app.base)).header("Idempotency-Key", long).json(&body).send().await;
    assert_eq!(status.expect("post").status().as_u16(), 400);
    app.stop().await;
}

#[tokio::test]
async fn ping_is_faulted_and_over_capacity_can_queue_instead_of_refusing() {
    let app = start(Config::ephemeral(ProviderKind::AppApproval)).await;
    let (status, body) = app.get("/v1/ping").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let url = format!("{}/admin/faults", app.base);
    app.http.put(&url).json(&json!({"error_rate": 1.0})).send().await.expect("put").error_for_status().expect("200");
    assert_eq!(app.get("/v1/ping").await.0, 503, "a probe sees the same faults as users");

    let slow = json!({"error_rate": 0, "capacity": 1, "over_capacity": "slow", "latency_p50_ms": 100, "latency_p99_ms": 100});
    let faults: Value = app.http.put(&url).json(&slow).send().await.expect("put").json().await.expect("json");
    assert_eq!((faults["over_capacity"].as_str(), faults["latency_p50_ms"].as_u64()), (Some("slow"), Some(100)));
    let started = std::time::Instant::now();
    let calls = (0..3).map(|_| app.get("/v1/ping"));
    let statuses: Vec<u16> = futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses, vec![200, 200, 200], "queued, not refused");
    assert!(started.elapsed() >= Duration::from_millis(290), "one at a time: {:?}", started.elapsed());
    let bad = app.http.put(&url).json(&json!({"latency_p50_ms": 500})).send().await.expect("put");
    assert_eq!(bad.status().as_u16(), 400, "p99 below p50 is rejected");
    app.stop().await;
}
