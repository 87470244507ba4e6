//! Prometheus-format metrics, one registry per service instance (several
//! services can share a process in tests without mixing their numbers).
use std::{sync::Arc, time::Duration};

use parking_lot::Mutex;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

use crate::shutdown::Shutdown;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: String,
}

/// Request counts by method and status code, and latency by method.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    requests: Family<RpcLabels, Counter>,
    latency: Family<MethodLabel, Histogram>,
}

impl RpcMetrics {
    pub fn observe(&self, method: &str, code: &'static str, elapsed: Duration) {
        self.requests.get_or_create(&RpcLabels { method: method.to_owned(), code }).inc();
        self.latency.get_or_create(&MethodLabel { method: method.to_owned() }).observe(elapsed.as_secs_f64());
    }
}

/// A document the metrics listener serves beside `/metrics` (an issuer's
/// JWKS), produced at each request.
type Document = Arc<dyn Fn() -> String + Send + Sync>;

/// A service's metrics registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    rpc: RpcMetrics,
    jwks: Arc<Mutex<Option<Document>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("jwks", &self.jwks.lock().is_some()).finish()
    }
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "yeyak",
            [(std::borrow::Cow::Borrowed("service"), std::borrow::Cow::Owned(service.to_owned()))].into_iter(),
        );
        let requests = Family::<RpcLabels, Counter>::default();
        let latency = Family::<MethodLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        });
        registry.register("grpc_server_requests", "gRPC requests handled, by method and status code", requests.clone());
        registry.register("grpc_server_latency_seconds", "gRPC handling latency", latency.clone());
        Self { registry: Arc::new(Mutex::new(registry)), rpc: RpcMetrics { requests, latency }, jwks: Arc::default() }
    }

    /// Serves `document()` at `/.well-known/jwks.json` on the metrics
    /// listener (plain HTTP, where an edge proxy fetches remote JWKS).
    pub fn publish_jwks(&self, document: impl Fn() -> String + Send + Sync + 'static) {
        *self.jwks.lock() = Some(Arc::new(document));
    }

    pub fn rpc(&self) -> RpcMetrics {
        self.rpc.clone()
    }

    /// Registers a service-specific metric.
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        self.registry.lock().register(name, help, metric);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry.lock());
        out
    }

    /// Serves `/metrics` on `addr` until shutdown. Returns the bound address.
    pub async fn serve(&self, addr: &str, shutdown: Shutdown) -> std::io::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (metrics, jwks) = (self.clone(), self.jwks.clone());
        let app = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let m = metrics.clone();
                    async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.encode()) }
                }),
            )
            .route(
                "/.well-known/jwks.json",
                axum::routing::get(move || {
                    let document = jwks.lock().clone();
                    async move {
                        use axum::{http::StatusCode, response::IntoResponse as _};
                        match document {
                            Some(d) => ([(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")], d()).into_response(),
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await;
        });
        Ok(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_metrics_are_encoded_with_service_label() {
        let m = Metrics::new("svc");
        m.rpc().observe("/a.B/C", "OK", Duration::from_millis(3));
        let text = m.encode();
        assert!(text.contains("yeyak_grpc_server_requests_total{"), "{text}");
        assert!(text.contains("service=\"svc\""), "{text}");
        assert!(text.contains("method=\"/a.B/C\""), "{text}");
    }
}
