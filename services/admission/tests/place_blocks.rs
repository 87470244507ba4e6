//! Places are reserved in PostgreSQL a block at a time, and however many
//! joins and replicas find a block short at once they reserve one block
//! between them, so a loss of Redis skips at most two (the one in use and
//! the one ahead). A replica that loses the race to reserve is simulated by
//! moving PostgreSQL's mark past what Redis has seen; a second test runs
//! three replicas concurrently and checks the bound and the uniqueness.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::collections::HashSet;

use common::{client, Deployment};
use futures_util::future::join_all;

const BLOCK: u64 = 4;

async fn mark(pool: &sqlx::PgPool) -> u64 {
    let mark: i64 = sqlx::query_scalar("SELECT places_reserved FROM queue_marks WHERE queue_id = 'q1'").fetch_one(pool).await.unwrap();
    mark as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_reserved_by_another_replica_is_used_not_reserved_again() {
    let d = Deployment::new(&[("PLACE_BLOCK", "4")]);
    let r = d.start().await;
    let pool = sqlx::PgPool::connect(&d.database_url()).await.unwrap();

    // The first join reserves the first block, finds it short at once and
    // reserves the one ahead: two blocks.
    assert_eq!(r.join(&client(1)).await.unwrap().status.unwrap().position, 1);
    assert_eq!(mark(&pool).await, 2 * BLOCK);

    // Another replica, having seen the same limit, reserved the next block
    // in PostgreSQL but has not raised Redis yet.
    sqlx::query("UPDATE queue_marks SET places_reserved = places_reserved + $1 WHERE queue_id = 'q1'")
        .bind(BLOCK as i64)
        .execute(&pool)
        .await
        .unwrap();

    // The fifth join leaves fewer than a block below the limit it saw (8):
    // PostgreSQL is past it already, so nothing more is reserved, and
    // Redis learns the other replica's block.
    for i in 2..=5 {
        assert_eq!(r.join(&client(i)).await.unwrap().status.unwrap().position, i as u64);
    }
    assert_eq!(mark(&pool).await, 3 * BLOCK, "a block already reserved past the seen limit is not reserved again");

    // The other replica's block is used: joins 6 to 12 need no reservation
    // until the ninth leaves fewer than a block, which reserves one.
    for i in 6..=12 {
        assert_eq!(r.join(&client(i)).await.unwrap().status.unwrap().position, i as u64);
    }
    assert_eq!(mark(&pool).await, 4 * BLOCK);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_joins_on_three_replicas_reserve_at_most_two_blocks_ahead() {
    let d = Deployment::new(&[("PLACE_BLOCK", "4")]);
    let replicas = [d.start().await, d.start().await, d.start().await];
    let pool = sqlx::PgPool::connect(&d.database_url()).await.unwrap();
    let mut places = HashSet::new();
    let mut joined = 0u64;
    for round in 0..10 {
        // Twelve joins at once, four on each replica, so every replica finds
        // the same block short at the same moment.
        let joins = (0..12).map(|i| replicas[i % 3].join_owned(client(round * 100 + i)));
        for reply in join_all(joins).await {
            assert!(places.insert(reply.unwrap().status.unwrap().position), "no place is handed out twice");
            joined += 1;
        }
        let reserved = mark(&pool).await;
        assert!(reserved >= joined, "every place handed out was reserved first ({reserved} < {joined})");
        assert!(reserved < joined + 2 * BLOCK, "{reserved} places reserved for {joined} joins: more than two blocks ahead");
    }
    assert_eq!(places, (1..=joined).collect(), "places are 1..=n without gaps while Redis keeps its state");
    for r in replicas {
        r.stop().await;
    }
}
