//! A mock of the national health-insurance registry: another agency's
//! system that Yeyak's eligibility service asks whether a person is insured,
//! when they were born, which priority groups they belong to and which doses
//! they already had. It owns its PostgreSQL database and fills it with a
//! deterministic synthetic population (`yeyak_population::person`, a crate of
//! its own so that eligibility's command-line tool can sample the same people
//! without depending on this mock), so a demo can pick a real registered
//! person and tests can know their data in advance.
//!
//! Faults (latency, errors, hangs, capacity) apply to the lookup API.
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod routes;
pub mod seed;

/// Shared with the other mocks; see [`yeyak_mockkit`].
pub use yeyak_mockkit::{error, faults};

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::{
    handler::Handler as _,
    middleware::from_fn_with_state,
    routing::{get, post},
    Router,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use yeyak_platform::{
    db::{connect, DatabaseSettings},
    Shutdown,
};

pub use cli::Command;
pub use config::Config;
pub use seed::{ensure_seeded, key_fingerprint, seed, SeedReport};
pub use yeyak_mockkit::faults::{FaultInjector, Faults};
/// The population this registry loads, under the names its callers know.
pub use yeyak_population::{self as population, person, Sex, SyntheticPerson};

/// The registry's schema, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects (creating the database if needed: it is a mock) and migrates.
pub async fn connect_and_migrate(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let name = settings.database_name().unwrap_or_default();
    let pool = connect(settings, true).await.with_context(|| format!("connecting to database {name:?}"))?;
    MIGRATOR.run(&pool).await.context("migrating the registry schema")?;
    Ok(pool)
}

/// A bound, not yet serving, registry. Binding in `build` lets tests ask for
/// port 0 and learn the real address before any request is made.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    pool: PgPool,
}

impl Application {
    /// Connects, migrates, seeds when `seed_count` is set and the stored
    /// population differs, then binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = connect_and_migrate(&config.database).await?;
        if let Some(count) = config.seed_count {
            ensure_seeded(&pool, config.require_hash_key()?, config.seed, count).await?;
        }
        let listener = TcpListener::bind(&config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let address = listener.local_addr()?;
        let router = router(FaultInjector::new(config.faults), pool.clone());
        tracing::info!(%address, "mock-registry listening");
        Ok(Self { listener, address, router, pool })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The registry's database, for seeding and inspection from tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown` fires, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
        self.pool.close().await;
        Ok(())
    }
}

/// The routes, with faults on the lookup API only (not on the statistics).
pub fn router(faults: FaultInjector, pool: PgPool) -> Router {
    let faulty = from_fn_with_state(faults.clone(), faults::inject);
    let lookups = Router::new()
        .route("/v1/subjects/{subject_id}", get(routes::get_subject.layer(faulty.clone())))
        .route("/v1/subjects/batch-get", post(routes::batch_get.layer(faulty)))
        .route("/v1/stats/birth-dates", get(routes::birth_date_stats))
        .with_state(pool);
    let admin = Router::new().route("/admin/faults", get(faults::get_faults).put(faults::put_faults)).with_state(faults);
    Router::new().route("/healthz", get(error::healthz)).merge(lookups).merge(admin)
}
