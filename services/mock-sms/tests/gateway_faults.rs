//! The contract notification's failover relies on, on a real mock-sms over
//! HTTP: a lookup by reference, voiding of a reference it does not have,
//! and the faults that make an outcome unknown (accepted, then answered too
//! late or not at all) or the gateway plainly down.
use std::time::Duration;

use mock_sms::{Application, Config};
use serde_json::{json, Value};
use yeyak_platform::Shutdown;

struct Running {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
}

async fn start() -> Running {
    let app = Application::build(Config::ephemeral()).await.expect("build");
    let base = format!("http://{}", app.address());
    let shutdown = Shutdown::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().expect("client");
    Running { base, http, shutdown }
}

impl Running {
    async fn send(&self, key: &str) -> Result<u16, reqwest::Error> {
        let body = json!({"to": "01012345678", "text": "hello"});
        let response = self.http.post(format!("{}/v1/messages", self.base)).header("Idempotency-Key", key).json(&body).send().await?;
        let status = response.status().as_u16();
        response.bytes().await?;
        Ok(status)
    }

    async fn lookup(&self, key: &str) -> u16 {
        self.http.get(format!("{}/v1/messages/{key}", self.base)).send().await.expect("lookup").status().as_u16()
    }

    async fn behave(&self, body: Value) {
        let put = self.http.put(format!("{}/admin/gateway", self.base)).json(&body).send().await.expect("put");
        assert_eq!(put.status().as_u16(), 200);
    }

    async fn count(&self) -> usize {
        let body: Value = self.http.get(format!("{}/v1/messages", self.base)).send().await.expect("list").json().await.expect("json");
        body["messages"].as_array().map_or(0, Vec::len)
    }
}

#[tokio::test]
async fn a_lookup_finds_accepted_references_and_voids_unknown_ones() {
    let gw = start().await;
    assert_eq!(gw.send("r1").await.expect("send"), 202);
    assert_eq!(gw.lookup("r1").await, 200);
    assert_eq!(gw.lookup("r2").await, 404);
    assert_eq!(gw.send("r2").await.expect("send"), 410, "a voided reference is never sent");
    assert_eq!(gw.count().await, 1);
    gw.shutdown.trigger();
}

#[tokio::test]
async fn late_and_dropped_answers_still_send_once() {
    let gw = start().await;
    gw.behave(json!({"after_accept": "late", "late_ms": 2000})).await;
    let late = gw.send("late-1").await.expect_err("the answer comes after the client's deadline");
    assert!(late.is_timeout(), "{late:?}");
    gw.behave(json!({"after_accept": "drop"})).await;
    let dropped = gw.send("drop-1").await.expect_err("no answer at all");
    assert!(!dropped.is_connect(), "the request reached the gateway: {dropped:?}");
    assert_eq!(gw.count().await, 2, "both were accepted");
    assert_eq!((gw.lookup("late-1").await, gw.lookup("drop-1").await), (200, 200));
    gw.behave(json!({"after_accept": "answer"})).await;
    assert_eq!(gw.send("late-1").await.expect("send"), 202, "a resend is a duplicate");
    assert_eq!(gw.count().await, 2);
    gw.shutdown.trigger();
}

#[tokio::test]
async fn down_refuses_everything_but_the_observer_view() {
    let gw = start().await;
    gw.behave(json!({"down": true})).await;
    assert_eq!(gw.send("d1").await.expect("send"), 503);
    assert_eq!(gw.lookup("d1").await, 503);
    let health = gw.http.get(format!("{}/healthz", gw.base)).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 503);
    assert_eq!(gw.count().await, 0);
    gw.behave(json!({"down": false})).await;
    assert_eq!(gw.send("d1").await.expect("send"), 202, "nothing was voided while down");
    gw.shutdown.trigger();
}
