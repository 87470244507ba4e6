//! After the phases, SQL on the reservation database: no slot oversold, no
//! ledger out of step with the reservations, nobody booked twice for a
//! dose, and one confirmed event per reservation.
use uuid::Uuid;
use yeyak_platform::db::{self, DatabaseSettings};
use yeyak_proto::events::v1::routing::RESERVATION_CONFIRMED;

use super::catalogue::Catalogue;

pub struct Checks {
    pub over_ledger: i64,
    pub unbalanced: i64,
    pub oversold: usize,
    pub double: i64,
    pub reservations: i64,
    pub events: i64,
    /// Confirmed bookings of the hot slot.
    pub hot_booked: i64,
}

impl Checks {
    pub async fn read(tag: &str, catalogue: &Catalogue) -> anyhow::Result<Self> {
        let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_reservation");
        let pool = db::connect(&DatabaseSettings::with_url(url), false).await?;
        let over_ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM slot_ledger WHERE booked > capacity").fetch_one(&pool).await?;
        let unbalanced: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM slot_ledger l
             LEFT JOIN (SELECT slot_id, count(*) AS n FROM reservations WHERE state = 'confirmed' GROUP BY slot_id) r USING (slot_id)
             WHERE l.booked <> COALESCE(r.n, 0)",
        )
        .fetch_one(&pool)
        .await?;
        let per_slot: Vec<(Uuid, i64)> =
            sqlx::query_as("SELECT slot_id, count(*) FROM reservations WHERE state = 'confirmed' GROUP BY slot_id")
                .fetch_all(&pool)
                .await?;
        let oversold = per_slot.iter().filter(|(slot, n)| catalogue.capacity_of.get(slot).is_none_or(|c| *n > i64::from(*c))).count();
        let double: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT subject_id, dose_number FROM reservations WHERE state = 'confirmed'
             GROUP BY subject_id, dose_number HAVING count(*) > 1) d",
        )
        .fetch_one(&pool)
        .await?;
        let (reservations, events): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM reservations), (SELECT count(*) FROM outbox WHERE routing_key = $1)")
                .bind(RESERVATION_CONFIRMED)
                .fetch_one(&pool)
                .await?;
        let hot_booked = per_slot.iter().find(|(s, _)| *s == catalogue.hot).map_or(0, |(_, n)| *n);
        pool.close().await;
        Ok(Self { over_ledger, unbalanced, oversold, double, reservations, events, hot_booked })
    }

    pub fn passed(&self) -> bool {
        self.over_ledger == 0 && self.unbalanced == 0 && self.oversold == 0 && self.double == 0 && self.reservations == self.events
    }
}
