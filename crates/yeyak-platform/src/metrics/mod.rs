//! Prometheus-format metrics, one registry per service instance (several
//! services can share a process in tests without mixing their numbers).
//! Every series carries `service="<name>"`. gRPC metrics keep the standard
//! names (`grpc_server_*`, `grpc_client_*`, see [`rpc`]); everything else is
//! prefixed `yeyak_`.
use std::sync::Arc;

use parking_lot::Mutex;

use prometheus_client::registry::Registry;

use crate::shutdown::Shutdown;

pub mod funnel;
pub mod probes;
pub mod rpc;

pub use funnel::{Funnel, Stage};
pub use probes::Probes;
pub use rpc::{MethodInfo, RpcMetrics};

/// A document the metrics listener serves beside `/metrics` (an issuer's
/// JWKS), produced at each request.
type Document = Arc<dyn Fn() -> String + Send + Sync>;

/// A service's metrics registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    server: rpc::Families,
    client: rpc::Families,
    jwks: Arc<Mutex<Option<Document>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("jwks", &self.jwks.lock().is_some()).finish()
    }
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        let mut registry =
            Registry::with_labels([(std::borrow::Cow::Borrowed("service"), std::borrow::Cow::Owned(service.to_owned()))].into_iter());
        let (server, client) = (rpc::Families::new(), rpc::Families::new());
        server.register(&mut registry, "grpc_server");
        client.register(&mut registry, "grpc_client");
        Self { registry: Arc::new(Mutex::new(registry)), server, client, jwks: Arc::default() }
    }

    /// The server series of `methods` (and of paths not served).
    pub fn grpc_server(&self, methods: impl IntoIterator<Item = MethodInfo>) -> RpcMetrics {
        self.server.methods(methods)
    }

    /// The client series of `methods`, for a client calling them.
    pub fn grpc_client(&self, methods: impl IntoIterator<Item = MethodInfo>) -> RpcMetrics {
        self.client.methods(methods)
    }

    /// Serves `document()` at `/.well-known/jwks.json` on the metrics
    /// listener (plain HTTP, where an edge proxy fetches remote JWKS).
    pub fn publish_jwks(&self, document: impl Fn() -> String + Send + Sync + 'static) {
        *self.jwks.lock() = Some(Arc::new(document));
    }

    /// Registers a service-specific metric as `yeyak_<name>`.
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        self.registry.lock().register(format!("yeyak_{name}"), help, metric);
    }

    /// Registers a collector, asked for its metrics at each scrape (for
    /// values read when asked: queue depths, outbox lag).
    pub fn register_collector(&self, collector: Box<dyn prometheus_client::collector::Collector>) {
        self.registry.lock().register_collector(collector);
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
    use std::time::Duration;

    use super::*;

    fn method(service: &str, method: &str) -> MethodInfo {
        MethodInfo { path: format!("/{service}/{method}"), service: service.into(), method: method.into(), kind: "unary" }
    }

    #[test]
    fn rpc_metrics_have_the_standard_names_and_labels() {
        let m = Metrics::new("svc");
        let rpc = m.grpc_server([method("a.B", "C")]);
        rpc.method("/a.B/C").started();
        rpc.method("/a.B/C").handled(14, Duration::from_millis(3));
        rpc.method("/x.Y/Z").shed();
        let text = m.encode();
        let handled =
            r#"grpc_server_handled_total{service="svc",grpc_service="a.B",grpc_method="C",grpc_type="unary",grpc_code="Unavailable"} 1"#;
        assert!(text.contains(handled), "{text}");
        assert!(text.contains(r#"grpc_server_started_total{service="svc",grpc_service="a.B",grpc_method="C",grpc_type="unary"} 1"#));
        assert!(
            text.contains(r#"grpc_server_handling_seconds_count{service="svc",grpc_service="a.B",grpc_method="C",grpc_type="unary"} 1"#)
        );
        let shed = r#"yeyak_grpc_server_shed_total{service="svc",grpc_service="unknown",grpc_method="unknown"} 1"#;
        assert!(text.contains(shed), "{text}");
        assert!(text.contains(r#"grpc_code="ResourceExhausted"} 1"#), "a shed call is handled with its code: {text}");
        assert!(!text.contains("x.Y"), "no series per unknown path: {text}");
    }

    #[test]
    fn client_series_and_service_metrics_share_the_registry() {
        let m = Metrics::new("svc");
        m.grpc_client([method("a.B", "C")]).method("/a.B/C").handled(0, Duration::from_millis(1));
        m.register("things", "Things", prometheus_client::metrics::counter::Counter::<u64>::default());
        let text = m.encode();
        assert!(text
            .contains(r#"grpc_client_handled_total{service="svc",grpc_service="a.B",grpc_method="C",grpc_type="unary",grpc_code="OK"} 1"#));
        assert!(text.contains("yeyak_things_total{service=\"svc\"} 0"), "{text}");
    }

    #[test]
    fn codes_are_named_as_go_names_them() {
        assert_eq!(
            [rpc::code_name(0), rpc::code_name(8), rpc::code_name(16), rpc::code_name(99)],
            ["OK", "ResourceExhausted", "Unauthenticated", "Unknown"]
        );
    }
}
