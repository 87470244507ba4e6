//! The sender's claim reads the head of the due index whatever the backlog
//! and whatever the planner knows: its plan has no sort, no hash and no scan
//! of the whole table, on a table never analysed and on one analysed while
//! it was small (the state of a new database in the first minutes of a surge).
//! And a claim is a token every update of its round must match: a round
//! whose lease expired while another claimed the row changes nothing.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::TestApp;
use notification::store::{Attempt, DeliveryStore, CLAIM_DUE, CLAIM_PLANNER};
use uuid::Uuid;
use yeyak_platform::db::{self, DatabaseSettings};
use yeyak_proto::events::v1::routing::RESERVATION_CONFIRMED;

/// Adds `n` deliveries, due an hour from now (the running sender leaves them
/// alone; the plan is the same as for due ones).
async fn backlog(app: &TestApp, n: i32) {
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, state, attempts, next_attempt_at)
         SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), $2::text, '\x01'::bytea,
                '010-****-5678', 'text', 'pending', 0, now() + interval '1 hour'
         FROM generate_series(1, $1)",
    )
    .bind(n)
    .bind(RESERVATION_CONFIRMED)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn claim_plan(app: &TestApp) -> String {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(CLAIM_PLANNER).execute(&mut *tx).await.unwrap();
    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {CLAIM_DUE}"))
        .bind(50i64)
        .bind(30.0f64)
        .bind(Uuid::new_v4())
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    lines.join("\n")
}

fn assert_reads_the_head(plan: &str) {
    for node in ["Sort", "Hash", "Bitmap", "Seq Scan"] {
        assert!(!plan.contains(node), "a {node} in the claim's plan:\n{plan}");
    }
    assert!(plan.contains("Index Scan using deliveries_due"), "{plan}");
    assert!(plan.contains("Tid Scan"), "{plan}");
}

#[tokio::test]
async fn the_claim_reads_the_head_of_the_due_index_with_or_without_statistics() {
    let app = TestApp::spawn().await;
    backlog(&app, 20_000).await;
    assert_reads_the_head(&claim_plan(&app).await);

    sqlx::query("DELETE FROM deliveries").execute(&app.pool).await.unwrap();
    backlog(&app, 100).await;
    sqlx::query("ANALYZE deliveries").execute(&app.pool).await.unwrap();
    backlog(&app, 20_000).await;
    assert_reads_the_head(&claim_plan(&app).await);
    app.stop().await;
}

/// The row as the test reads it: state, gateway, generation, attempts, still leased.
async fn row(pool: &sqlx::PgPool, id: Uuid) -> (String, Option<String>, i32, i32, bool) {
    sqlx::query_as(
        "SELECT state, gateway, generation, attempts, coalesce(leased_until > now(), false) FROM deliveries WHERE message_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_round_whose_lease_expired_changes_nothing_once_another_claimed_the_row() {
    // The store alone, on a migrated database of its own: no sender running.
    let settings = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", Uuid::new_v4().simple()));
    notification::startup::migrate(&settings).await.unwrap();
    let pool = db::connect(&settings, false).await.unwrap();
    let store = DeliveryStore::new(pool.clone());
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, state, attempts, next_attempt_at)
         VALUES ($1, gen_random_uuid(), gen_random_uuid(), $2, '\x01'::bytea, '010-****-5678', 'text', 'pending', 0, now())",
    )
    .bind(id)
    .bind(RESERVATION_CONFIRMED)
    .execute(&pool)
    .await
    .unwrap();
    let lease = Duration::from_secs(30);
    let [first] = store.claim_due(10, lease).await.unwrap().try_into().ok().unwrap();
    // The first round stalls (a slow database, a paused process) past its lease.
    sqlx::query("UPDATE deliveries SET leased_until = now() - interval '1 second' WHERE message_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let [second] = store.claim_due(10, lease).await.unwrap().try_into().ok().unwrap();
    assert_eq!((first.message_id, second.message_id), (id, id));
    assert_ne!(first.claim, second.claim, "each claim has its own token");
    assert_eq!(
        store.hand_over(second.claim, "kt", &[(id, 0)]).await.unwrap(),
        vec![id],
        "the second round names its gateway with its batch"
    );
    assert!(store.hand_to(id, second.claim, "kt", 0).await.unwrap(), "and again alone (a failover)");

    // The first round wakes up: none of its updates applies.
    let late = Attempt { message_id: id, claim: first.claim, generation: 0, posted: true };
    assert!(!store.hand_to(id, first.claim, "lgu", 0).await.unwrap(), "no other gateway is named");
    assert!(store.hand_over(first.claim, "lgu", &[(id, 0)]).await.unwrap().is_empty(), "not with the batch either");
    assert!(!store.mark_attempt_failed(&late, Some(Duration::from_secs(1)), "late").await.unwrap(), "the gateway is not cleared");
    assert!(!store.mark_unknown(&late, "lgu", Duration::from_secs(1), "late").await.unwrap());
    assert_eq!(row(&pool, id).await, ("pending".into(), Some("kt".into()), 0, 0, true), "the second round's row, untouched");

    // The second round's own updates apply.
    let own = Attempt { message_id: id, claim: second.claim, generation: 0, posted: true };
    assert!(store.mark_unknown(&own, "kt", Duration::from_secs(1), "no answer").await.unwrap());
    assert_eq!(row(&pool, id).await, ("unknown".into(), Some("kt".into()), 0, 1, false));
    pool.close().await;
    db::drop_database(&settings).await.unwrap();
}
