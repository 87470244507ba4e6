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
        self.lookup_answer(key).await.0
    }

    /// The lookup's status and body.
    async fn lookup_answer(&self, key: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}/v1/messages/{key}", self.base)).send().await.expect("lookup");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
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
    let (status, body) = gw.lookup_answer("r2").await;
    assert_eq!((status, body["status"].as_str()), (404, Some("absent")), "an explicit answer: {body}");
    assert_eq!(gw.send("r2").await.expect("send"), 410, "a voided reference is never sent");
    assert_eq!(gw.count().await, 1);
    gw.shutdown.trigger();
}

#[tokio::test]
async fn a_send_taken_in_after_its_caller_gave_up_is_refused_once_the_lookup_voided_it() {
    let gw = start().await;
    gw.behave(json!({"accept_delay_ms": 1000})).await;
    let gave_up = gw.send("m.0").await.expect_err("the caller's deadline passes first");
    assert!(gave_up.is_timeout(), "{gave_up:?}");
    let (status, body) = gw.lookup_answer("m.0").await;
    assert_eq!((status, body["status"].as_str()), (404, Some("absent")), "not taken in yet: {body}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(gw.count().await, 0, "the late copy was refused: the lookup voided it");
    gw.behave(json!({"accept_delay_ms": 0})).await;
    assert_eq!(gw.send("m.1").await.expect("send"), 202, "the next generation goes through");
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
