//! Seeding: deterministic, consistent summaries, and safe when two replicas
//! start at once.
#![allow(clippy::unwrap_used)]
mod common;

use inventory::{domain::catalogue, seed_demo};
use yeyak_platform::db;

#[tokio::test]
async fn concurrent_seeds_write_the_catalogue_once() {
    let (_, settings) = common::fresh_database();
    let pool = db::connect(&settings, true).await.expect("connect");
    inventory::store::migrate(&pool).await.expect("migrate");
    let today = chrono::NaiveDate::from_ymd_opt(2021, 7, 26).expect("date");
    let (a, b) = tokio::join!(seed_demo(&pool, 3, 2, today), seed_demo(&pool, 3, 2, today));
    let (a, b) = (a.expect("seed a"), b.expect("seed b"));
    assert!(a.seeded != b.seeded, "exactly one replica seeds: {a:?} {b:?}");
    let report = if a.seeded { a } else { b };
    let plan = catalogue::clinics(3);
    let slot_count: usize = plan.iter().map(|c| catalogue::slots(c, today + chrono::Days::new(1), 2).len()).sum();
    assert_eq!((report.provinces, report.districts, report.clinics, report.slots), (17, 250, plan.len() as u64, slot_count as u64));
    let offers: usize = plan.iter().map(|c| c.vaccines.len()).sum();
    assert_eq!(report.days, offers as u64 * 2, "one summary per clinic, vaccine and day");
    let (frozen, counted): (bool, i64) =
        sqlx::query_as("SELECT bool_and(booked = 0), count(*) FROM daily_availability").fetch_one(&pool).await.expect("summaries");
    assert!(frozen && counted as u64 == report.days);

    let (slots, first, last): (i64, chrono::NaiveDate, chrono::NaiveDate) =
        sqlx::query_as("SELECT count(*), min(local_date), max(local_date) FROM slots").fetch_one(&pool).await.expect("count");
    assert_eq!(slots as usize, slot_count);
    assert_eq!((first.to_string(), last.to_string()), ("2021-07-27".into(), "2021-07-28".into()));
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM daily_availability d
         JOIN (SELECT clinic_id, vaccine_code, local_date, sum(capacity) AS cap FROM slots GROUP BY 1, 2, 3) s USING (clinic_id, vaccine_code, local_date)
         WHERE d.capacity <> s.cap",
    )
    .fetch_one(&pool)
    .await
    .expect("compare");
    assert_eq!(mismatched, 0, "day summaries add up their slots");
    let again = seed_demo(&pool, 3, 2, today).await.expect("seed again");
    assert!(!again.seeded);
    pool.close().await;
    db::drop_database(&settings).await.expect("drop");
}
