//! The funnel against the real Redis: a session reaching a stage again
//! (another search, a second verification, from another replica sharing the
//! Redis) is counted once; another session is counted; a refusal is counted
//! with its reason; stages counted where they happen count every call.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use yeyak_platform::{
    metrics::{Funnel, Metrics, Stage},
    redis_store::{self, RedisSettings},
};

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn a_session_is_counted_once_per_stage_across_replicas() {
    let prefix = format!("test:{}", uuid::Uuid::new_v4().simple());
    let conn = redis_store::connect(&RedisSettings::for_test(&prefix)).await.unwrap();
    let (one, two) = (Metrics::new("svc"), Metrics::new("svc"));
    let replica_one = Funnel::new(&one, Some((conn.clone(), prefix.clone())));
    let replica_two = Funnel::new(&two, Some((conn.clone(), prefix.clone())));
    for _ in 0..3 {
        replica_one.first("demo", Stage::Searched, "session-a");
        replica_two.first("demo", Stage::Searched, "session-a");
    }
    replica_two.first("demo", Stage::Searched, "session-b");
    replica_one.refused("demo", "NOT_IN_COHORT", "session-c");
    replica_one.refused("demo", "NOT_IN_COHORT", "session-c");
    replica_one.count("demo", Stage::Booked);
    replica_one.count("demo", Stage::Booked);
    // The marks are set in the background.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (a, b) = (one.encode(), two.encode());
    let searched = |t: &str| value(t, r#"yeyak_funnel_total{service="svc",event="demo",stage="searched"}"#).unwrap_or(0.0);
    assert_eq!(searched(&a) + searched(&b), 2.0, "{a}\n{b}");
    assert_eq!(value(&a, r#"yeyak_funnel_total{service="svc",event="demo",stage="not_eligible"}"#), Some(1.0), "{a}");
    assert_eq!(value(&a, r#"yeyak_funnel_not_eligible_total{service="svc",event="demo",reason="NOT_IN_COHORT"}"#), Some(1.0), "{a}");
    assert_eq!(value(&a, r#"yeyak_funnel_total{service="svc",event="demo",stage="booked"}"#), Some(2.0), "{a}");

    let mut c = conn.clone();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut c).await.unwrap();
    assert_eq!(keys.len(), 3, "one mark per session and stage: {keys:?}");
    let _: () = redis::cmd("DEL").arg(keys).query_async(&mut c).await.unwrap();
}
