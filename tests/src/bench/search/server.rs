//! The inventory service as shipped, in this process, on the bench
//! catalogue; and what the workload needs to know of that catalogue.
use std::net::SocketAddr;

use anyhow::Context as _;
use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    messaging::{self, AmqpSettings},
    tokens::SigningKey,
    Shutdown,
};

use super::DATABASE;

pub struct Server {
    pub addr: SocketAddr,
    /// The service's own connection pool (the floor uses it too).
    pub pool: PgPool,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    amqp: AmqpSettings,
}

impl Server {
    /// Inventory trusting `key`'s passes, with its Redis cache on or off;
    /// `tag` keeps its queues and keys apart from other runs.
    pub async fn start(key: &SigningKey, tag: &str, cache: bool) -> anyhow::Result<Self> {
        let amqp = AmqpSettings::for_test(tag);
        let env = Env::from_pairs([
            ("GRPC_ADDR", "127.0.0.1:0".to_string()),
            ("METRICS_ADDR", "off".to_string()),
            ("DATABASE_URL", DATABASE.to_string()),
            ("AMQP_EXCHANGE", amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
            ("REDIS_KEY_PREFIX", format!("bench:{tag}")),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX", format!("bench:{tag}")),
            ("CACHE_ENABLED", cache.to_string()),
            ("TRUSTED_KEYS", key.trusted_entry()),
            ("QUEUE_IDS", "demo".to_string()),
            ("SEED_CLINICS_PER_DISTRICT", "0".to_string()),
            ("MAX_CONCURRENT_RPCS", "100000".to_string()),
        ]);
        let app = inventory::startup::Application::build(inventory::config::Config::from_env(&env)?).await?;
        let (addr, pool) = (app.grpc_addr(), app.store().pool().clone());
        let shutdown = Shutdown::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Self { addr, pool, shutdown, task, amqp })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.task.await??;
        messaging::delete_namespace(&self.amqp, &[inventory::consumers::availability::QUEUE]).await?;
        Ok(())
    }
}

/// The regions, offers and clinics the workload picks from.
pub struct Catalogue {
    pub districts: Vec<String>,
    pub provinces: Vec<String>,
    pub offers: Vec<(Uuid, String)>,
    pub clinic_ids: Vec<Uuid>,
    pub first_day: NaiveDate,
    /// Days between the first and the last day with slots.
    pub days: u64,
}

impl Catalogue {
    /// Seeds the full catalogue into the bench database if it is not there
    /// yet (64 clinics per district, 56 days), then reads it.
    pub async fn seed_and_read(pool: &PgPool) -> anyhow::Result<Self> {
        let today = inventory::domain::today_seoul(chrono::Utc::now());
        let report = inventory::seed_demo(pool, 64, 56, today).await?;
        if report.seeded {
            println!(
                "seeded {} clinics, {} slots, {} day summaries into yeyak_bench_inventory in {:.1} s",
                report.clinics,
                report.slots,
                report.days,
                report.elapsed_ms as f64 / 1000.0
            );
        }
        let (clinics, slots, first_day, last_day): (i64, i64, NaiveDate, NaiveDate) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM clinics), (SELECT count(*) FROM slots), min(local_date), max(local_date) FROM daily_availability",
        )
        .fetch_one(pool)
        .await
        .context("the bench catalogue")?;
        println!("catalogue: {clinics} clinics, {slots} slots, {first_day} .. {last_day} (database yeyak_bench_inventory)");
        Ok(Self {
            districts: sqlx::query_scalar("SELECT code FROM districts ORDER BY code").fetch_all(pool).await?,
            provinces: sqlx::query_scalar("SELECT code FROM provinces ORDER BY code").fetch_all(pool).await?,
            offers: sqlx::query_as("SELECT clinic_id, vaccine_code FROM clinic_vaccines").fetch_all(pool).await?,
            clinic_ids: sqlx::query_scalar("SELECT clinic_id FROM clinics").fetch_all(pool).await?,
            first_day,
            days: u64::try_from((last_day - first_day).num_days()).unwrap_or(0),
        })
    }
}
