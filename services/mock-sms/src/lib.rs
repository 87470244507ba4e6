//! A mock SMS gateway, standing in for the carrier-facing bulk SMS provider
//! that the notification service delivers through. It "sends" nothing: it
//! records each accepted message so that tests and the demo can read them
//! back, and it de-duplicates on `Idempotency-Key` (the caller's reference)
//! the way real gateways do, which is what makes at-least-once delivery from
//! the outbox safe. `GET /v1/messages/{reference}` answers whether a
//! reference was accepted, and voids one that was not (`messages`), which
//! is what makes failing over to another gateway safe.
//!
//! Fault injection (latency, errors, hangs, capacity) applies to
//! `POST /v1/messages` only; the gateway's own faults (`behaviour`: down,
//! accept then answer late or never) to sending, the lookup and `/healthz`;
//! reading the record back is an observer's view.
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod behaviour;
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

pub use api::Gateway;
pub use behaviour::{AfterAccept, Behaviour, Switches};
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
        let gateway = Gateway { store: MessageStore::default(), switches: Switches::new(config.behaviour) };
        let router = router(FaultInjector::new(config.faults), gateway);
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

/// The routes; the shared faults wrap only the send endpoint, the one
/// Yeyak sends through.
pub fn router(faults: FaultInjector, gateway: Gateway) -> Router {
    let faulty = from_fn_with_state(faults.clone(), faults::inject);
    let switches = gateway.switches.clone();
    let messages = Router::new()
        .route("/v1/messages", post(api::send.layer(faulty)).get(api::list))
        .route("/v1/messages/{reference}", get(api::status))
        .with_state(gateway);
    let admin = Router::new().route("/admin/faults", get(faults::get_faults).put(faults::put_faults)).with_state(faults);
    let own = Router::new()
        .route("/healthz", get(behaviour::healthz))
        .route("/admin/gateway", get(behaviour::get_behaviour).put(behaviour::put_behaviour))
        .with_state(switches);
    own.merge(messages).merge(admin)
}
