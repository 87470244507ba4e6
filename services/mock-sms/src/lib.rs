//! A mock SMS gateway, standing in for the carrier-facing bulk SMS provider
//! that the notification service delivers through. It "sends" nothing: it
//! records each accepted message so that tests and the demo can read them
//! back, and it de-duplicates on `Idempotency-Key` the way real gateways do,
//! which is what makes at-least-once delivery from the outbox safe.
//!
//! Fault injection (latency, errors, hangs, capacity) applies to
//! `POST /v1/messages` only; reading the record back is an observer's view.
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod messages;

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
use tokio::net::TcpListener;
use yeyak_platform::Shutdown;

pub use config::Config;
pub use messages::{Message, MessageStore};
pub use yeyak_mockkit::faults::{FaultInjector, Faults};

/// A bound, not yet serving, gateway. Binding in `build` lets tests ask for
/// port 0 and learn the real address before any request is made.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let address = listener.local_addr()?;
        let router = router(FaultInjector::new(config.faults), MessageStore::default());
        tracing::info!(%address, "mock-sms listening");
        Ok(Self { listener, address, router })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` fires, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
        Ok(())
    }
}

/// The routes; faults wrap only the send endpoint, the one Yeyak calls.
pub fn router(faults: FaultInjector, store: MessageStore) -> Router {
    let faulty = from_fn_with_state(faults.clone(), faults::inject);
    let messages = Router::new().route("/v1/messages", post(messages::send.layer(faulty)).get(messages::list)).with_state(store);
    let admin = Router::new().route("/admin/faults", get(faults::get_faults).put(faults::put_faults)).with_state(faults);
    Router::new().route("/healthz", get(error::healthz)).merge(messages).merge(admin)
}
