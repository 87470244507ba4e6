//! Admission against a real Redis: places in line, rejoining, forged
//! tickets, the operator API, pausing and the configured rate.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use admission::{config::Config, startup::Application};
use tonic::{transport::Channel, Code, Request};
use yeyak_platform::{
    config::Env,
    grpc::client,
    tokens::{self, client_binding, AdmissionPass, Issuer, KeyRing, QueueTicket, SigningKey},
    Shutdown,
};
use yeyak_proto::admission::v1::{
    admission_operator_service_client::AdmissionOperatorServiceClient, admission_service_client::AdmissionServiceClient, *,
};

struct Harness {
    channel: Channel,
    key: SigningKey,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

const TOKEN: &str = "operator-secret-for-tests";

async fn start(rate: f64) -> Harness {
    let key = SigningKey::generate(Issuer::Admission, "t1");
    let env = Env::from_pairs([
        ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("METRICS_ADDR".into(), "off".into()),
        ("SIGNING_KEY".into(), key.secret_spec()),
        ("OPERATOR_TOKEN".into(), TOKEN.into()),
        ("QUEUE_IDS".into(), "q1".into()),
        ("ADMISSION_RATE".into(), rate.to_string()),
        ("REDIS_KEY_PREFIX".into(), format!("test:{}", uuid::Uuid::new_v4().simple())),
    ]);
    let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Harness { channel, key, shutdown, task }
}

impl Harness {
    fn queue(&self) -> AdmissionServiceClient<Channel> {
        AdmissionServiceClient::new(self.channel.clone())
    }
    fn operator(&self) -> AdmissionOperatorServiceClient<Channel> {
        AdmissionOperatorServiceClient::new(self.channel.clone())
    }
    async fn join(&self, client: &str) -> JoinQueueResponse {
        let req = JoinQueueRequest { queue_id: "q1".into(), client_id: client.into(), existing_ticket: String::new() };
        self.queue().join_queue(req).await.unwrap().into_inner()
    }
    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap().unwrap();
    }
}

fn op<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test]
async fn places_are_assigned_in_order_and_rejoining_keeps_the_place() {
    let h = start(0.001).await;
    let a = h.join("client-aaaaaaaaaaaaaaaa").await;
    let b = h.join("client-bbbbbbbbbbbbbbbb").await;
    assert_eq!(a.status.as_ref().unwrap().position, 1);
    assert_eq!(b.status.as_ref().unwrap().position, 2);
    assert_eq!(b.status.as_ref().unwrap().people_ahead, 1);
    let again = JoinQueueRequest { queue_id: "q1".into(), client_id: "client-bbbbbbbbbbbbbbbb".into(), existing_ticket: b.ticket.clone() };
    let rejoined = h.queue().join_queue(again.clone()).await.unwrap().into_inner();
    assert_eq!(rejoined.ticket, b.ticket);
    assert_eq!(rejoined.status.unwrap().position, 2);
    // Someone else's ticket is useless.
    let stolen = JoinQueueRequest { client_id: "client-cccccccccccccccc".into(), ..again };
    assert_eq!(h.queue().join_queue(stolen).await.unwrap_err().code(), Code::PermissionDenied);
    h.stop().await;
}

#[tokio::test]
async fn forged_altered_and_foreign_tickets_are_rejected() {
    let h = start(0.001).await;
    let client = "client-dddddddddddddddd";
    let forger = SigningKey::generate(Issuer::Admission, "t1");
    let claims = QueueTicket { q: "q1".into(), pos: 1, cb: client_binding(client), iat: 0, exp: i64::MAX };
    for ticket in [
        tokens::sign(&forger, &claims),
        tokens::sign(&SigningKey::generate(Issuer::Admission, "unknown"), &claims),
        tokens::sign(&h.key, &QueueTicket { q: "other".into(), ..claims.clone() }),
        tokens::sign(&h.key, &AdmissionPass { q: "q1".into(), pos: 1, cb: client_binding(client), sid: "s".into(), iat: 0, exp: i64::MAX }),
        "v1.t1.e30.AAAA".to_string(),
    ] {
        let status = h.queue().get_queue_status(GetQueueStatusRequest { ticket, client_id: client.into() }).await.unwrap_err();
        assert!(matches!(status.code(), Code::Unauthenticated | Code::NotFound), "{status:?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn operator_api_refuses_unauthenticated_callers() {
    let h = start(1.0).await;
    let mut op_client = h.operator();
    let get = GetAdmissionSettingsRequest { queue_id: "q1".into() };
    assert_eq!(op_client.get_admission_settings(Request::new(get.clone())).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(op_client.get_admission_settings(op(get.clone(), "wrong")).await.unwrap_err().code(), Code::Unauthenticated);
    let pause = PauseAdmissionRequest { queue_id: "q1".into() };
    assert_eq!(op_client.pause_admission(op(pause.clone(), "wrong")).await.unwrap_err().code(), Code::Unauthenticated);
    assert!(op_client.pause_admission(op(pause, TOKEN)).await.unwrap().into_inner().settings.unwrap().paused);
    let bad = SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 0.0, max_active_sessions: 1 };
    let status = op_client.set_admission_settings(op(bad, TOKEN)).await.unwrap_err();
    assert_eq!(yeyak_platform::grpc::status::field_violations(&status), vec!["admission_rate_per_second"]);
    h.stop().await;
}

#[tokio::test]
async fn pausing_stops_admission_and_says_why_and_resuming_admits_at_the_rate() {
    let h = start(20.0).await;
    let mut op_client = h.operator();
    op_client.pause_admission(op(PauseAdmissionRequest { queue_id: "q1".into() }, TOKEN)).await.unwrap();
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(h.join(&format!("client-{i:016}")).await.ticket);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let poll = |i: usize| GetQueueStatusRequest { ticket: tickets[i].clone(), client_id: format!("client-{i:016}") };
    let status = h.queue().get_queue_status(poll(0)).await.unwrap().into_inner().status.unwrap();
    assert_eq!(status.state, QueueState::Waiting as i32);
    assert!(status.admission_pass.is_empty());
    assert_eq!(status.estimated_wait_seconds, None);
    assert!(status.estimate_unknown_reason.contains("paused"), "{}", status.estimate_unknown_reason);

    op_client.resume_admission(op(ResumeAdmissionRequest { queue_id: "q1".into() }, TOKEN)).await.unwrap();
    let started = tokio::time::Instant::now();
    loop {
        let last = h.queue().get_queue_status(poll(9)).await.unwrap().into_inner().status.unwrap();
        if last.state == QueueState::Admitted as i32 {
            let ring = {
                let mut r = KeyRing::default();
                r.trust(&h.key);
                r
            };
            let pass: AdmissionPass = tokens::verify(&ring, &last.admission_pass, chrono_now()).unwrap();
            assert_eq!((pass.q.as_str(), pass.pos), ("q1", 10));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "10 people at 20/s took too long");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // 10 people at 20 per second with at most one second of banked credit:
    // never all at once after a pause.
    assert!(started.elapsed() >= Duration::from_millis(200), "admitted in a burst: {:?}", started.elapsed());
    h.stop().await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
