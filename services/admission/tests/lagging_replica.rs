//! A failover to a replica that had not received the last writes: a
//! private primary and replica (`--replicaof`), replication stopped, more
//! people join and are admitted on the primary, the primary is killed and
//! the endpoint moves to the promoted replica (as a managed cache's DNS
//! does). The replica's stale counters must not hand out a place again,
//! demote anyone or undo an operator's change.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;
mod loss;

use std::{collections::HashSet, time::Duration};

use common::{eventually, op, Deployment};
use loss::{pass_claims, settings, Person};
use yeyak_proto::admission::v1::*;
use yeyak_testkit::{redis_server::RedisServer, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_replica_that_missed_the_last_writes_loses_no_place_and_demotes_nobody() {
    let mut primary = RedisServer::start().await.unwrap();
    let mut replica = RedisServer::replica_of(&primary).await.unwrap();
    let endpoint = Proxy::start(&primary.addr()).await.unwrap();
    let url = format!("redis://{}/0", endpoint.addr());
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("REDIS_URL", url.as_str()), ("PLACE_BLOCK", "8")]);
    let replicas = [d.start().await, d.start().await];
    let at = |i: usize| &replicas[i % 2];

    let mut people = Vec::new();
    for i in 0..10 {
        people.push(Person::join(at(i), i).await);
    }
    for (i, p) in people.iter().enumerate() {
        eventually(Duration::from_secs(5), "the first ten admitted", || async { p.state(at(i)).await == QueueState::Admitted }).await;
    }
    // Replication stops: the replica keeps the state of ten people in.
    eventually(Duration::from_secs(5), "the replica caught up", || async {
        let info = replica.command(&["INFO", "replication"]).await.unwrap();
        let primary_info = primary.command(&["INFO", "replication"]).await.unwrap();
        let offset = |s: &str| s.lines().find_map(|l| l.strip_prefix("master_repl_offset:")).map(str::trim).map(str::to_owned);
        offset(&info) == offset(&primary_info)
    })
    .await;
    replica.promote().await.unwrap();

    // Only the primary sees twenty more people join and get in, and the
    // operator pause and slow the queue.
    for i in 10..30 {
        people.push(Person::join(at(i), i).await);
    }
    for (i, p) in people.iter().enumerate() {
        eventually(Duration::from_secs(5), "thirty admitted", || async { p.state(at(i)).await == QueueState::Admitted }).await;
    }
    let mut before = Vec::new();
    for (i, p) in people.iter().enumerate() {
        before.push(pass_claims(&d, &p.pass(at(i)).await));
    }
    let mut operator = replicas[0].operator();
    let req = SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 5.0, max_active_sessions: 500 };
    operator.set_admission_settings(op(req)).await.unwrap();
    operator.pause_admission(op(PauseAdmissionRequest { queue_id: "q1".into() })).await.unwrap();

    // The primary dies; the endpoint now leads to the stale replica.
    primary.kill().await;
    endpoint.retarget(&replica.addr());

    let newcomer = Person::join(at(0), 100).await;
    let earlier: HashSet<u64> = people.iter().map(|p| p.position).collect();
    assert_eq!(earlier.len(), 30);
    assert!(newcomer.position > *earlier.iter().max().unwrap(), "the stale replica handed out place {} again", newcomer.position);
    let s = settings(&replicas[1]).await;
    assert_eq!((s.admission_rate_per_second, s.max_active_sessions, s.paused), (5.0, 500, true), "{s:?}");
    assert_eq!((s.admitted, s.active_sessions), (30, 30), "{s:?}");
    for (i, p) in people.iter().enumerate() {
        let claims = pass_claims(&d, &p.pass(at(i + 1)).await);
        assert_eq!((&claims.session_id, claims.place), (&before[i].session_id, before[i].place), "{} demoted or moved", p.client);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(newcomer.state(at(1)).await, QueueState::Waiting, "the paused queue admitted a newcomer");
    operator.resume_admission(op(ResumeAdmissionRequest { queue_id: "q1".into() })).await.unwrap();
    eventually(Duration::from_secs(10), "the newcomer admitted after the resume", || async {
        newcomer.state(at(0)).await == QueueState::Admitted
    })
    .await;
    let newcomer_session = pass_claims(&d, &newcomer.pass(at(0)).await).session_id;
    assert!(before.iter().all(|c| c.session_id != newcomer_session), "a session id was handed out twice");
    for r in replicas {
        r.stop().await;
    }
}
