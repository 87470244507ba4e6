//! The browser edge (docs/edge.md). Browsers speak gRPC-Web over HTTP/1.1
//! or HTTP/2; the services speak native gRPC and know nothing of browsers.
//! This small process in between turns one into the other for the public
//! RPCs only (`routes`), with CORS for the configured origins (`cors`),
//! and scales on its own: it holds no state. The citizen page's files are
//! served by a separate static server (`statics`, `yeyak-static`), never
//! by the edge or a booking service.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod cors;
pub mod deadline;
pub mod metrics;
pub mod proxy;
pub mod routes;
pub mod statics;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{middleware::from_fn, routing::get, Router};
use tokio::net::TcpListener;
use tonic_web::GrpcWebLayer;
use tower::ServiceBuilder;
use yeyak_platform::{grpc::client::ClientSettings, metrics::Metrics, Shutdown};

pub use config::Config;

/// How long the edge waits for an upstream connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound, not yet serving, edge (port 0 in tests).
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    metrics_addr: Option<SocketAddr>,
    /// Stops the metrics listener once the edge has drained.
    metrics_stop: Shutdown,
}

/// Liveness and readiness: the edge holds no state, so being able to
/// answer is being ready. Never behind the in-flight limit.
async fn healthy() -> &'static str {
    "ok\n"
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let address = listener.local_addr()?;
        let settings = ClientSettings { connect_timeout: CONNECT_TIMEOUT, request_timeout: config.max_deadline, tls: config.tls.clone() };
        let routes = routes::Routes::new(&config.upstreams, &settings)?;
        let registry = Metrics::new("edge");
        let edge_metrics = metrics::EdgeMetrics::registered(&registry);
        let proxy = proxy::Proxy::new(routes, config.default_deadline, config.max_deadline, config.max_in_flight, edge_metrics);
        let metrics_stop = Shutdown::new();
        let metrics_addr = match config.metrics_addr.as_str() {
            "off" => None,
            addr => Some(registry.serve(addr, metrics_stop.clone()).await.with_context(|| format!("binding metrics on {addr}"))?),
        };
        let grpc_web = ServiceBuilder::new().layer(cors::layer(&config.allowed_origins)?).layer(GrpcWebLayer::new()).service(proxy);
        let allowed = Arc::new(config.allowed_origins.clone());
        let router = Router::new()
            .route("/healthz", get(healthy))
            .route("/readyz", get(healthy))
            .fallback_service(grpc_web)
            .layer(from_fn(move |request, next| cors::only_listed_origins(allowed.clone(), request, next)));
        tracing::info!(%address, origins = ?config.allowed_origins, "edge listening");
        Ok(Self { listener, address, router, metrics_addr, metrics_stop })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served, unless `YEYAK_METRICS_ADDR=off`.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Serves until `shutdown` fires, then lets calls in flight finish.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(async move { shutdown.wait().await }).await;
        self.metrics_stop.trigger();
        Ok(served?)
    }
}
