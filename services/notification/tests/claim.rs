//! The sender's claim reads the head of the due index whatever the backlog
//! and whatever the planner knows: its plan has no sort, no hash and no scan
//! of the whole table, on a table never analysed and on one analysed while
//! it was small (the state of a new database in the first minutes of a surge).
#![allow(clippy::unwrap_used)]
mod common;

use common::TestApp;
use notification::store::{CLAIM_DUE, CLAIM_PLANNER};
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
    let lines: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {CLAIM_DUE}")).bind(50i64).bind(30.0f64).fetch_all(&mut *tx).await.unwrap();
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
