//! How far the event consumers are behind the bookings, read from their own
//! databases. A booking benchmark that stopped the clock while inventory and
//! notification still had events queued would count work it had not paid
//! for: the booking figure is taken over the phase plus the time the
//! consumers need to catch up.
use std::time::{Duration, Instant};

use sqlx::PgPool;
use yeyak_platform::db::{self, DatabaseSettings};
use yeyak_proto::events::v1::routing::RESERVATION_CONFIRMED;

/// The stack's reservation, inventory and notification databases.
pub struct Backlog {
    reservation: PgPool,
    inventory: PgPool,
    notification: PgPool,
}

/// Work not done yet, in events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Behind {
    /// Committed in reservation's outbox, not yet on the bus.
    pub unpublished: i64,
    /// Booking events the availability read model has not applied.
    pub inventory: i64,
    /// Confirmations whose SMS the gateway has not accepted yet.
    pub sms: i64,
}

impl Behind {
    pub fn is_zero(&self) -> bool {
        *self == Behind::default()
    }
}

impl Backlog {
    pub async fn connect(tag: &str) -> anyhow::Result<Self> {
        let pool = |service: &str| {
            let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_{service}");
            async move { db::connect(&DatabaseSettings::with_url(url), false).await }
        };
        Ok(Self { reservation: pool("reservation").await?, inventory: pool("inventory").await?, notification: pool("notification").await? })
    }

    pub async fn behind(&self) -> anyhow::Result<Behind> {
        let (events, unpublished): (i64, i64) = sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox")
            .fetch_one(&self.reservation)
            .await?;
        let confirmed: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE routing_key = $1")
            .bind(RESERVATION_CONFIRMED)
            .fetch_one(&self.reservation)
            .await?;
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events").fetch_one(&self.inventory).await?;
        let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetch_one(&self.notification).await?;
        Ok(Behind { unpublished, inventory: events - applied, sms: confirmed - sent })
    }

    /// Waits until nothing is behind; how long that took.
    pub async fn drain(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let behind = self.behind().await?;
            if behind.is_zero() {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(started.elapsed() < limit, "consumers still behind after {limit:?}: {behind:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) {
        self.reservation.close().await;
        self.inventory.close().await;
        self.notification.close().await;
    }
}
