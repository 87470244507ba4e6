//! Pruning the outbox against the real PostgreSQL: only rows published
//! longer ago than the retention go, a row stuck unpublished stays, and one
//! statement never deletes more than its batch.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;
use yeyak_platform::{
    db::{self, DatabaseSettings},
    messaging::outbox,
};

const TABLE: &str = "CREATE TABLE outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
    routing_key text NOT NULL, payload bytea NOT NULL, traceparent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)";

/// Appends `n` rows, published `published_ago` ago (`None`: not published).
async fn append(pool: &PgPool, n: usize, published_ago: Option<&str>) {
    for _ in 0..n {
        let published = published_ago.map(|ago| format!("now() - interval '{ago}'")).unwrap_or_else(|| "NULL".into());
        sqlx::query(&format!(
            "INSERT INTO outbox (event_id, routing_key, payload, published_at) VALUES ($1, 'test.thing.v1', '', {published})"
        ))
        .bind(Uuid::new_v4())
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn count(pool: &PgPool, filter: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM outbox WHERE {filter}")).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn prunes_only_rows_published_before_the_retention_and_a_batch_at_a_time() {
    let settings = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_outbox_{}", Uuid::new_v4().simple()));
    let pool = db::connect(&settings, true).await.unwrap();
    sqlx::query(TABLE).execute(&pool).await.unwrap();
    // In time order, as ids grow: old published rows with one stuck
    // unpublished among them, then recent ones, then what waits to go out.
    append(&pool, 12, Some("8 days")).await;
    append(&pool, 1, None).await;
    append(&pool, 18, Some("8 days")).await;
    append(&pool, 5, Some("1 hour")).await;
    append(&pool, 3, None).await;

    let week = Duration::from_secs(7 * 24 * 3600);
    let first = outbox::prune(&pool, week, 10).await.unwrap();
    assert_eq!(first, 10, "one statement deletes at most its batch");
    let mut total = first;
    loop {
        let n = outbox::prune(&pool, week, 10).await.unwrap();
        assert!(n <= 10);
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 30, "every row published eight days ago, and nothing else");
    assert_eq!(count(&pool, "published_at IS NULL").await, 4, "unpublished rows stay, the stuck one too");
    assert_eq!(count(&pool, "published_at IS NOT NULL").await, 5, "recently published rows stay");
    assert_eq!(outbox::RETENTION, week);
    pool.close().await;
    db::drop_database(&settings).await.unwrap();
}
