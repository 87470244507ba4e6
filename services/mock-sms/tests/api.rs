//! Drives a real mock-sms process over HTTP on a loopback port.
use std::time::Duration;

use mock_sms::{Application, Config};
use serde_json::{json, Value};
use yeyak_platform::Shutdown;

struct Running {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
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
    async fn send(&self, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}/v1/messages", self.base)).json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("send");
        (response.status().as_u16(), response.json().await.expect("json body"))
    }

    async fn messages(&self, query: &str) -> Vec<Value> {
        let url = format!("{}/v1/messages{query}", self.base);
        let body: Value = self.http.get(url).send().await.expect("list").json().await.expect("json");
        body["messages"].as_array().expect("messages array").clone()
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("join").expect("server result");
    }
}

#[tokio::test]
async fn same_idempotency_key_twice_records_one_message() {
    let app = start(Config::ephemeral()).await;
    let body = json!({"to": "01012345678", "text": "[Yeyak] 예약이 확정되었습니다"});
    let (status, first) = app.send(Some("outbox-42"), body.clone()).await;
    assert_eq!(status, 202);
    assert_eq!(first["duplicate"], false);
    let (status, second) = app.send(Some("outbox-42"), body).await;
    assert_eq!(status, 202);
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["gateway_id"], first["gateway_id"]);

    let (_, other) = app.send(Some("outbox-43"), json!({"to": "01099998888", "text": "other"})).await;
    assert_ne!(other["gateway_id"], first["gateway_id"]);

    let all = app.messages("").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["idempotency_key"], "outbox-42");
    assert_eq!(all[0]["text"], "[Yeyak] 예약이 확정되었습니다");
    let received = all[0]["received_at"].as_str().expect("received_at");
    assert!(chrono::DateTime::parse_from_rfc3339(received).is_ok(), "{received}");
    let filtered = app.messages("?to=01099998888").await;
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["gateway_id"], other["gateway_id"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let app = start(Config::ephemeral()).await;
    let (status, body) = app.send(None, json!({"to": "01012345678", "text": "x"})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap_or("").contains("Idempotency-Key"), "{body}");
    let (status, body) = app.send(Some("k"), json!({"to": "010-1234", "text": "x"})).await;
    assert_eq!((status, body["error"].as_str().unwrap_or("").starts_with("to:")), (400, true), "{body}");
    let (status, body) = app.send(Some("k"), json!({"to": "01012345678", "text": "가".repeat(1001)})).await;
    assert_eq!((status, body["error"].as_str().unwrap_or("").starts_with("text:")), (400, true), "{body}");
    let (status, body) = app.send(Some("k"), json!({"to": "01012345678"})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap_or("").contains("`text`"), "{body}");
    assert!(app.messages("").await.is_empty(), "rejected requests record nothing");
    app.stop().await;
}

#[tokio::test]
async fn faults_change_at_run_time_and_spare_health_and_admin() {
    let mut config = Config::ephemeral();
    config.faults.error_rate = 1.0;
    let app = start(config).await;
    let (status, body) = app.send(Some("k1"), json!({"to": "01012345678", "text": "x"})).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("injected fault")));
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!((health.status().as_u16(), health.text().await.expect("text")), (200, "ok".to_owned()));

    let url = format!("{}/admin/faults", app.base);
    let put = app.http.put(&url).json(&json!({"error_rate": 0.0, "latency_ms": 150})).send().await.expect("put");
    assert_eq!(put.status().as_u16(), 200);
    let faults: Value = app.http.get(&url).send().await.expect("get").json().await.expect("json");
    assert_eq!((faults["error_rate"].as_f64(), faults["latency_ms"].as_u64()), (Some(0.0), Some(150)));

    let started = std::time::Instant::now();
    let (status, _) = app.send(Some("k1"), json!({"to": "01012345678", "text": "x"})).await;
    assert_eq!(status, 202);
    assert!(started.elapsed() >= Duration::from_millis(150), "latency applies: {:?}", started.elapsed());

    let bad = app.http.put(&url).json(&json!({"timeout_rate": 2})).send().await.expect("put");
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.expect("json");
    assert!(body["error"].as_str().unwrap_or("").contains("timeout_rate"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn capacity_sheds_concurrent_requests() {
    let mut config = Config::ephemeral();
    config.faults.capacity = 1;
    config.faults.latency_ms = 300;
    let app = start(config).await;
    let keys: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
    let sends = keys.iter().map(|k| app.send(Some(k), json!({"to": "01012345678", "text": "x"})));
    let statuses: Vec<u16> = futures_util::future::join_all(sends).await.into_iter().map(|(s, _)| s).collect();
    assert!(statuses.contains(&202), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    assert_eq!(app.messages("").await.len(), statuses.iter().filter(|s| **s == 202).count());
    app.stop().await;
}
