//! The proof-of-work difficulty operators set per event during an event
//! (issue #18, §4): SetJoinDifficulty takes effect on every replica, is
//! reported in every queue status and in the settings, refuses challenges
//! issued at a lower difficulty, is audited, and outlives Redis losing the
//! queue's state (it is kept in PostgreSQL). Real servers on port 0, real
//! Redis and PostgreSQL.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{client, eventually, op, Deployment, Replica};
use tonic::{Code, Request};
use tonic_types::StatusExt as _;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::admission::v1::*;

async fn set(r: &Replica, bits: u32) -> Result<AdmissionSettings, tonic::Status> {
    let req = SetJoinDifficultyRequest { queue_id: "q1".into(), difficulty_bits: bits };
    r.operator().set_join_difficulty(op(req)).await.map(|r| r.into_inner().settings.unwrap())
}

async fn challenge(r: &Replica) -> GetJoinChallengeResponse {
    r.queue().get_join_challenge(GetJoinChallengeRequest { queue_id: "q1".into() }).await.unwrap().into_inner()
}

async fn join_with(r: &Replica, who: &str, c: &GetJoinChallengeResponse) -> Result<JoinQueueResponse, tonic::Status> {
    let counter = admission::domain::proof::solve(&c.challenge, who, c.difficulty_bits as u8);
    let mut req = Request::new(JoinQueueRequest {
        queue_id: "q1".into(),
        client_id: who.to_owned(),
        existing_ticket: String::new(),
        ..Default::default()
    });
    req.metadata_mut().insert("yeyak-join-challenge", c.challenge.parse().unwrap());
    req.metadata_mut().insert("yeyak-join-solution", counter.to_string().parse().unwrap());
    r.queue().join_queue(req).await.map(|r| r.into_inner())
}

/// The difficulty a refused join without a proof names.
fn asked(result: Result<JoinQueueResponse, tonic::Status>) -> Option<String> {
    let status = result.err()?;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    Some(status.get_details_error_info().unwrap().metadata["difficulty_bits"].clone())
}

#[tokio::test]
async fn an_operator_raises_and_lowers_the_difficulty_on_every_replica_and_it_outlives_a_loss() {
    let d = Deployment::new(&[]);
    let (r1, r2) = (d.start().await, d.start().await);
    // Every join is a new person: a client id reused in a retry loop could
    // meet its join limit instead of the difficulty the test waits for.
    let fresh = std::sync::atomic::AtomicUsize::new(100);
    let next = || client(fresh.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let first = r1.join(&client(1)).await.unwrap();
    assert_eq!(first.status.unwrap().join_difficulty_bits, 0, "no proof of work by default");

    // Refused: out of range (naming the field), no operator token.
    let too_hard = set(&r1, 33).await.unwrap_err();
    assert_eq!((too_hard.code(), field_violations(&too_hard)), (Code::InvalidArgument, vec!["difficulty_bits".to_owned()]));
    let anonymous = r1.operator().set_join_difficulty(SetJoinDifficultyRequest { queue_id: "q1".into(), difficulty_bits: 8 }).await;
    assert_eq!(anonymous.unwrap_err().code(), Code::Unauthenticated);

    let settings = set(&r1, 8).await.unwrap();
    assert_eq!(settings.join_difficulty_bits, 8);
    // Every replica asks for it within its snapshot's age, and reports it to
    // people already in line (who are never asked for it again).
    eventually(Duration::from_secs(2), "replica 2 asks for 8 bits", || async { asked(r2.join(&next()).await).as_deref() == Some("8") })
        .await;
    assert_eq!(r2.status(&first.ticket, &client(1)).await.unwrap().join_difficulty_bits, 8);
    let c8 = challenge(&r2).await;
    assert_eq!(c8.difficulty_bits, 8);
    join_with(&r1, &client(3), &c8).await.unwrap();

    // Raised mid-event: a challenge issued at the lower difficulty is stale.
    let stale = challenge(&r1).await;
    set(&r2, 10).await.unwrap();
    eventually(Duration::from_secs(2), "replica 1 asks for 10 bits", || async { asked(r1.join(&next()).await).as_deref() == Some("10") })
        .await;
    let weaker = join_with(&r1, &client(4), &stale).await.unwrap_err();
    assert_eq!(field_violations(&weaker), vec!["yeyak-join-challenge"], "{weaker:?}");

    // Redis loses the queue's state: rebuilt from PostgreSQL, with the
    // operator's difficulty.
    drop_queue_state(&d).await;
    let settings = r1.operator().get_admission_settings(op(GetAdmissionSettingsRequest { queue_id: "q1".into() })).await;
    assert_eq!(settings.unwrap().into_inner().settings.unwrap().join_difficulty_bits, 10);
    let c10 = challenge(&r2).await;
    assert_eq!(c10.difficulty_bits, 10);
    join_with(&r2, &client(5), &c10).await.unwrap();

    // Lowered to none: joins need no proof again, everywhere.
    set(&r1, 0).await.unwrap();
    eventually(Duration::from_secs(2), "replica 2 asks for nothing", || async { r2.join(&next()).await.is_ok() }).await;

    // Each change is in the audit trail, old and new value.
    let pool = sqlx::PgPool::connect(&d.database_url()).await.unwrap();
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT action, old_value, new_value FROM operator_audit ORDER BY at").fetch_all(&pool).await.unwrap();
    let changes: Vec<_> = rows.iter().map(|(action, old, new)| (action.as_str(), bits(old), bits(new))).collect();
    assert_eq!(
        changes,
        [
            ("admission.set_join_difficulty", "default", "8"),
            ("admission.set_join_difficulty", "8", "10"),
            ("admission.set_join_difficulty", "10", "0")
        ]
    );
    pool.close().await;
    r1.stop().await;
    r2.stop().await;
}

/// The difficulty an audit value records.
fn bits(value: &Option<String>) -> &str {
    value.as_deref().and_then(|v| v.split("join_pow_bits=").nth(1)).unwrap_or("missing")
}

/// Deletes every Redis key of the queue's state, as a Redis restarted empty would.
async fn drop_queue_state(d: &Deployment) {
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:admission:*", d.prefix)).query_async(&mut conn).await.unwrap();
    assert!(!keys.is_empty(), "the queue's state is in Redis");
    let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
}
