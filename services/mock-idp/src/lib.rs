//! A mock identity provider, standing in for the mobile carriers' SMS
//! verification and the certificate apps' push approval that the identity
//! service uses to learn who a person is. It keeps open transactions in
//! memory, plays the person's phone through `/v1/inbox`, and can be made slow
//! or flaky at run time to exercise the identity service's timeouts and
//! circuit breaking.
//!
//! Faults (a latency distribution, errors, hangs, a capacity that refuses or
//! queues) apply to the calls Yeyak makes (start, confirm and the `ping`
//! status probe), not to the endpoints that simulate the person (inbox,
//! approve). Run one process per provider: the carrier SMS check
//! (`sms_code`), the simple-certificate apps and the financial certificate
//! (`app_approval`: the person approves the push, or signs in the
//! certificate window, which `approve` stands for).
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod routes;
pub mod verification;

/// Shared with the other mocks; see [`yeyak_mockkit`].
pub use yeyak_mockkit::{error, faults};

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::{
    handler::Handler as _,
    middleware::from_fn_with_state,
    routing::{get, post},
    Router,
};
use tokio::net::TcpListener;
use yeyak_platform::Shutdown;

pub use config::{Config, ProviderKind};
pub use verification::{Verifications, MAX_WRONG_ATTEMPTS};
pub use yeyak_mockkit::faults::{FaultInjector, Faults};

/// A bound, not yet serving, provider. Binding in `build` lets tests ask for
/// port 0 and learn the real address before any request is made.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    tls: Option<Arc<yeyak_platform::tls::ServerTls>>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let address = listener.local_addr()?;
        let state = routes::AppState {
            verifications: Verifications::new(config.provider_kind, config.transaction_ttl),
            provider_id: Arc::from(config.provider_id.as_str()),
        };
        let router = router(FaultInjector::new(config.faults), state);
        tracing::info!(%address, provider_id = %config.provider_id, kind = ?config.provider_kind, "mock-idp listening");
        Ok(Self { listener, address, router, tls: config.tls })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` fires, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        yeyak_mockkit::serve::serve(self.listener, self.router, self.tls, shutdown).await
    }
}

/// The routes, with faults on the relying-party endpoints only.
pub fn router(faults: FaultInjector, state: routes::AppState) -> Router {
    let faulty = from_fn_with_state(faults.clone(), faults::inject);
    let provider = Router::new()
        .route("/v1/verifications", post(routes::start.layer(faulty.clone())))
        .route("/v1/verifications/{id}/confirm", post(routes::confirm.layer(faulty.clone())))
        .route("/v1/ping", get(routes::ping.layer(faulty)))
        .route("/v1/verifications/{id}/approve", post(routes::approve))
        .route("/v1/inbox/{phone}", get(routes::inbox))
        .with_state(state);
    let admin = Router::new().route("/admin/faults", get(faults::get_faults).put(faults::put_faults)).with_state(faults);
    Router::new().route("/healthz", get(error::healthz)).merge(provider).merge(admin)
}
