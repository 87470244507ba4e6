//! Stuffing the line (issue #18, §4): joins limited per client and per
//! source address (read through a trusted proxy's `x-forwarded-for`), a
//! retry hint when refused, rejoining and polling never limited, limits per
//! replica; and the optional proof of work, whose challenge buys one entry
//! across replicas. Real servers on port 0, real Redis and PostgreSQL.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{client, Deployment, Replica};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt as _;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::admission::v1::*;

fn join_request(client: &str, via: Option<&str>) -> Request<JoinQueueRequest> {
    let mut r = Request::new(JoinQueueRequest {
        queue_id: "q1".into(),
        client_id: client.into(),
        existing_ticket: String::new(),
        ..Default::default()
    });
    if let Some(xff) = via {
        r.metadata_mut().insert("x-forwarded-for", xff.parse().unwrap());
    }
    r
}

async fn join_via(r: &Replica, client: &str, via: Option<&str>) -> Result<JoinQueueResponse, Status> {
    r.queue().join_queue(join_request(client, via)).await.map(|r| r.into_inner())
}

async fn join_with(r: &Replica, client: &str, challenge: &str, counter: u64) -> Result<JoinQueueResponse, Status> {
    let mut req = join_request(client, None);
    req.metadata_mut().insert("yeyak-join-challenge", challenge.parse().unwrap());
    req.metadata_mut().insert("yeyak-join-solution", counter.to_string().parse().unwrap());
    r.queue().join_queue(req).await.map(|r| r.into_inner())
}

fn assert_throttled(result: Result<JoinQueueResponse, Status>, what: &str) {
    let status = result.expect_err(what);
    assert_eq!(status.code(), Code::ResourceExhausted, "{what}: {status:?}");
    let delay = status.get_details_retry_info().and_then(|r| r.retry_delay).expect("a RetryInfo");
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(60), "{what}: retry in {delay:?}");
    assert!(status.metadata().get("retry-after").is_some(), "{what}: retry-after header");
}

#[tokio::test]
async fn joins_are_limited_per_client_and_per_source_but_rejoins_and_polls_are_not() {
    let d = Deployment::new(&[
        ("JOIN_UNLIMITED_SOURCES", "none"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("JOIN_CLIENT_BURST", "2"),
        ("JOIN_CLIENT_PER_MINUTE", "1"),
        ("JOIN_SOURCE_BURST", "4"),
        ("JOIN_SOURCE_PER_MINUTE", "1"),
    ]);
    let (r1, r2) = (d.start().await, d.start().await);
    // One client key: its burst, then a retry hint.
    let first = join_via(&r1, &client(1), Some("198.51.100.1")).await.unwrap();
    join_via(&r1, &client(1), Some("198.51.100.1")).await.unwrap();
    assert_throttled(join_via(&r1, &client(1), Some("198.51.100.1")).await, "a third join of one client");
    // Reconnecting with the ticket held, and polling, are never limited.
    for _ in 0..6 {
        let again =
            JoinQueueRequest { queue_id: "q1".into(), client_id: client(1), existing_ticket: first.ticket.clone(), ..Default::default() };
        assert_eq!(r1.queue().join_queue(again).await.unwrap().into_inner().ticket, first.ticket);
        r1.status(&first.ticket, &client(1)).await.unwrap();
    }
    // One source address (behind our proxy): other client ids do not help.
    // The refused third join of client 1 cost its source nothing: 2 of 4 used.
    join_via(&r1, &client(2), Some("198.51.100.1")).await.unwrap();
    join_via(&r1, &client(3), Some("198.51.100.1")).await.unwrap();
    assert_throttled(join_via(&r1, &client(4), Some("198.51.100.1")).await, "a fifth join from one address");
    // Addresses the client writes itself are ignored: the right-most counts.
    assert_throttled(join_via(&r1, &client(5), Some("203.0.113.9, 198.51.100.1")).await, "a spoofed left entry");
    join_via(&r1, &client(6), Some("198.51.100.2")).await.expect("another address has its own budget");
    // Limits are per replica: the other replica has its own count.
    join_via(&r2, &client(1), Some("198.51.100.1")).await.expect("replica 2 counts separately");
    r1.stop().await;
    r2.stop().await;
}

#[tokio::test]
async fn a_direct_client_cannot_choose_its_address() {
    // No trusted proxy: the header is the client's own claim and is ignored.
    let d = Deployment::new(&[("JOIN_UNLIMITED_SOURCES", "none"), ("JOIN_SOURCE_BURST", "3"), ("JOIN_SOURCE_PER_MINUTE", "1")]);
    let r = d.start().await;
    for i in 0..3 {
        join_via(&r, &client(i), Some(&format!("198.51.100.{i}"))).await.unwrap();
    }
    assert_throttled(join_via(&r, &client(9), Some("198.51.100.77")).await, "a new header from the same peer");
    r.stop().await;
}

#[tokio::test]
async fn a_proof_of_work_buys_exactly_one_entry_on_any_replica() {
    let d = Deployment::new(&[("JOIN_POW_BITS", "q1=10")]);
    let (r1, r2) = (d.start().await, d.start().await);
    // Without a proof: told what to do, machine-readably.
    let refused = r1.join(&client(1)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let info = refused.get_details_error_info().expect("an ErrorInfo");
    assert_eq!((info.reason.as_str(), info.metadata["difficulty_bits"].as_str()), ("PROOF_OF_WORK_REQUIRED", "10"));

    let challenge = r1.queue().get_join_challenge(GetJoinChallengeRequest { queue_id: "q1".into() }).await.unwrap().into_inner();
    assert_eq!(challenge.difficulty_bits, 10);
    let counter = admission::domain::proof::solve(&challenge.challenge, &client(1), 10);
    let joined = join_with(&r1, &client(1), &challenge.challenge, counter).await.unwrap();
    assert_eq!(joined.status.unwrap().position, 1);

    // The same challenge again, on this replica or another: used.
    for r in [&r1, &r2] {
        let replay = join_with(r, &client(1), &challenge.challenge, counter).await.unwrap_err();
        assert_eq!(replay.code(), Code::InvalidArgument, "{replay:?}");
        assert_eq!(field_violations(&replay), vec!["yeyak-join-challenge"]);
        assert!(replay.message().contains("already used"), "{replay:?}");
    }
    // Work done for one client is worth nothing to another.
    let fresh = r2.queue().get_join_challenge(GetJoinChallengeRequest { queue_id: "q1".into() }).await.unwrap().into_inner();
    let mine = admission::domain::proof::solve(&fresh.challenge, &client(1), 10);
    let theirs = join_with(&r2, &client(2), &fresh.challenge, mine).await.unwrap_err();
    assert_eq!(field_violations(&theirs), vec!["yeyak-join-solution"], "{theirs:?}");
    // An altered challenge is rejected.
    let forged = fresh.challenge.replacen('.', ".x", 2);
    let forged = join_with(&r2, &client(2), &forged, 0).await.unwrap_err();
    assert_eq!(field_violations(&forged), vec!["yeyak-join-challenge"], "{forged:?}");
    // The unused fresh challenge still works for the client it is solved for,
    // and a reconnect needs no proof.
    join_with(&r2, &client(1), &fresh.challenge, mine).await.unwrap();
    let again =
        JoinQueueRequest { queue_id: "q1".into(), client_id: client(1), existing_ticket: joined.ticket.clone(), ..Default::default() };
    r2.queue().join_queue(again).await.unwrap();
    r1.stop().await;
    r2.stop().await;
}
