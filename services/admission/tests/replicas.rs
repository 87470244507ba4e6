//! Several admission replicas as separate processes behind one "load
//! balancer" (the test alternates between them): one order, one rate, and a
//! restarted replica loses nobody's place.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{client, op, Deployment};
use yeyak_platform::grpc::client as grpc_client;
use yeyak_proto::admission::v1::{admission_service_client::AdmissionServiceClient, *};

struct Process {
    child: Child,
    addr: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary and reads its listening address from its log.
fn spawn(d: &Deployment) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yeyak-admission"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("YEYAK_LOG", "info");
    for (k, v) in d.env() {
        cmd.env(format!("YEYAK_{k}"), v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(&line).ok()?;
            (v["fields"]["message"] == "admission listening").then(|| v["fields"]["addr"].as_str().map(str::to_owned)).flatten()
        })
        .expect("the replica logs its address");
    Process { child, addr }
}

fn queue(p: &Process) -> AdmissionServiceClient<tonic::transport::Channel> {
    AdmissionServiceClient::new(grpc_client::channel(&p.addr, &grpc_client::ClientSettings::default()).unwrap())
}

async fn status(p: &Process, ticket: &str, i: usize) -> QueueStatus {
    let req = GetQueueStatusRequest { ticket: ticket.into(), client_id: client(i) };
    queue(p).get_queue_status(req).await.unwrap().into_inner().status.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replica_processes_share_one_order_and_rate_and_a_restart_loses_no_place() {
    let d = Deployment::new(&[("ADMISSION_RATE", "10")]);
    let a = spawn(&d);
    let b = spawn(&d);
    let pause = |p: &Process| {
        let mut o = admission_operator_service_client::AdmissionOperatorServiceClient::new(
            grpc_client::channel(&p.addr, &Default::default()).unwrap(),
        );
        async move { o.pause_admission(op(PauseAdmissionRequest { queue_id: "q1".into() })).await.unwrap() }
    };
    pause(&a).await;
    let mut tickets = Vec::new();
    for i in 0..20 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let req = JoinQueueRequest { queue_id: "q1".into(), client_id: client(i), existing_ticket: String::new(), ..Default::default() };
        let joined = queue(replica).join_queue(req).await.unwrap().into_inner();
        assert_eq!(joined.status.unwrap().position, i as u64 + 1, "one line across replicas, in arrival order");
        tickets.push(joined.ticket);
    }
    // A pause set through A holds on B too (changes reach every replica within a second).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on_b = status(&b, &tickets[0], 0).await;
    assert!(on_b.estimate_unknown_reason.contains("paused"), "{on_b:?}");

    let mut o =
        admission_operator_service_client::AdmissionOperatorServiceClient::new(grpc_client::channel(&b.addr, &Default::default()).unwrap());
    o.resume_admission(op(ResumeAdmissionRequest { queue_id: "q1".into() })).await.unwrap();
    let started = tokio::time::Instant::now();
    // Kill A and start a fresh replica: places survive.
    drop(a);
    let a2 = spawn(&d);
    loop {
        let mut admitted = Vec::new();
        for (i, t) in tickets.iter().enumerate() {
            let replica = if i % 2 == 0 { &a2 } else { &b };
            admitted.push(status(replica, t, i).await.state == QueueState::Admitted as i32);
        }
        assert!(admitted.windows(2).all(|w| w[0] || !w[1]), "admitted strictly in order: {admitted:?}");
        if admitted.iter().all(|x| *x) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(8), "20 people at 10/s took too long");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both replicas tick, yet together they admit at the configured rate.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1400), "two replicas must not double the rate: 20 admitted in {elapsed:?}");
    let rejoin =
        JoinQueueRequest { queue_id: "q1".into(), client_id: client(4), existing_ticket: tickets[4].clone(), ..Default::default() };
    assert_eq!(queue(&a2).join_queue(rejoin).await.unwrap().into_inner().status.unwrap().position, 5);
}
