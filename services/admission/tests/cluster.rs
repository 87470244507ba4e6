//! The waiting room on a Redis Cluster (`YEYAK_REDIS_MODE=cluster`): join,
//! poll, admission within the seats, a seat given back, the operator's
//! settings, with one queue's keys on one slot (the join and advance scripts
//! and the snapshot pipeline would be refused otherwise).
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, op, Deployment};
use yeyak_proto::admission::v1::*;
use yeyak_testkit::redis_cluster::RedisCluster;

async fn state(r: &common::Replica, ticket: &str, i: usize) -> i32 {
    r.status(ticket, &client(i)).await.unwrap().state
}

#[tokio::test]
async fn the_waiting_room_runs_on_a_redis_cluster() {
    let cluster = RedisCluster::start().await.unwrap();
    let [mode, url] = cluster.env();
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("MAX_ACTIVE_SESSIONS", "2"), (&mode.0, &mode.1), (&url.0, &url.1)]);
    let r = d.start().await;

    let mut tickets = Vec::new();
    for i in 0..4 {
        let joined = r.join(&client(i)).await.unwrap();
        assert_eq!(joined.status.unwrap().position, i as u64 + 1);
        tickets.push(joined.ticket);
    }
    let admitted = |n: usize| {
        let (r, tickets) = (&r, &tickets);
        async move {
            let mut count = 0;
            for (i, t) in tickets.iter().enumerate() {
                count += usize::from(state(r, t, i).await == QueueState::Admitted as i32);
            }
            count == n
        }
    };
    eventually(Duration::from_secs(3), "two seats filled", || admitted(2)).await;
    assert!(!r.status(&tickets[0], &client(0)).await.unwrap().admission_pass.is_empty(), "the first in line holds a pass");
    assert_eq!(state(&r, &tickets[2], 2).await, QueueState::Waiting as i32);

    r.queue().end_session(EndSessionRequest { ticket: tickets[0].clone(), client_id: client(0) }).await.unwrap();
    eventually(Duration::from_secs(3), "the freed seat goes to the next in line", || async {
        state(&r, &tickets[2], 2).await == QueueState::Admitted as i32
    })
    .await;

    let set = SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 7.0, max_active_sessions: 5 };
    r.operator().set_admission_settings(op(set)).await.unwrap();
    let got = r.operator().get_admission_settings(op(GetAdmissionSettingsRequest { queue_id: "q1".into() })).await.unwrap().into_inner();
    let got = got.settings.unwrap();
    assert_eq!((got.admission_rate_per_second, got.max_active_sessions), (7.0, 5));

    // Every key of the queue (the catalog of events is one key of its own).
    let keys: Vec<_> = cluster.keys(&format!("{}:*", d.prefix)).await.into_iter().filter(|(_, k)| k.contains("{q1}")).collect();
    assert!(cluster.keys(&format!("{}:events", d.prefix)).await.len() == 1, "the catalog of events is published on a cluster too");
    let nodes: std::collections::BTreeSet<u16> = keys.iter().map(|(port, _)| *port).collect();
    assert!(keys.len() >= 5 && nodes.len() == 1, "one queue's keys live on one node of the cluster: {keys:?}");
    r.stop().await;
}
