//! The tower layer in front of every gRPC server: a global concurrency limit
//! that sheds at once (RESOURCE_EXHAUSTED with a retry hint) instead of
//! queueing without bound, and per-RPC metrics and trace spans.
//!
//! Health checks and reflection are never shed: under a surge the kubelet's
//! probes must still get SERVING, or Kubernetes restarts pods at the peak.
//! Metrics record a method only if the server serves it; any other path is
//! recorded under the `unknown` labels, so random paths cannot grow the
//! series. Shed calls are counted as started, shed and handled with
//! ResourceExhausted.
use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::sync::Semaphore;
use tonic::codegen::http;
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::in_flight::{self, Entered};
use crate::{
    grpc::status,
    metrics::{rpc::UNKNOWN, MethodInfo, RpcMetrics},
    telemetry,
};

/// Paths under these prefixes bypass the concurrency limit.
const NEVER_SHED: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

#[derive(Clone, Debug)]
pub struct RpcLayer {
    permits: Arc<Semaphore>,
    /// The series of every method served (from [`methods_of`]).
    metrics: RpcMetrics,
}

impl RpcLayer {
    pub fn new(max_concurrent: usize, metrics: RpcMetrics) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), metrics }
    }

    /// The calls whose handler is still running, per method ("RPC <path>
    /// ×<n>"): what a drain that overruns is waiting for.
    pub fn in_flight(&self) -> Vec<String> {
        in_flight::describe(&self.metrics)
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcService { inner, permits: self.permits.clone(), metrics: self.metrics.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct RpcService<S> {
    inner: S,
    permits: Arc<Semaphore>,
    metrics: RpcMetrics,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for RpcService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let method = self.metrics.method(path).clone();
        let permit = if NEVER_SHED.iter().any(|prefix| path.starts_with(prefix)) {
            None
        } else {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                method.shed();
                let shed = status::resource_exhausted("server is at capacity, retry shortly", Duration::from_secs(1));
                return Box::pin(async move { Ok(shed.into_http()) });
            };
            Some(permit)
        };
        let info = &method.info;
        let span = tracing::info_span!(
            "rpc",
            otel.name = %info.path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %info.service,
            rpc.method = %info.method,
        );
        telemetry::set_parent_from_headers(&span, request.headers());
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        method.started();
        let entered = Entered::new(&method);
        Box::pin(
            async move {
                let response = inner.call(request).await;
                drop((permit, entered));
                let code = match &response {
                    Ok(r) => grpc_code(r.headers()),
                    Err(_) => tonic::Code::Internal as i32,
                };
                method.handled(code, started.elapsed());
                response
            }
            .instrument(span),
        )
    }
}

/// Every method of the named services, plus health and reflection: what a
/// server built with them serves.
pub(crate) fn methods_of(names: &[&'static str]) -> Vec<MethodInfo> {
    let info = |service: &str, method: &str, kind: &'static str| MethodInfo {
        path: format!("/{service}/{method}"),
        service: service.to_owned(),
        method: method.to_owned(),
        kind,
    };
    let mut methods = vec![
        info("grpc.health.v1.Health", "Check", "unary"),
        info("grpc.health.v1.Health", "Watch", "server_stream"),
        info("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", "bidi_stream"),
    ];
    methods.extend(service_methods(names));
    methods
}

/// Every method of the named services (`package.Service`), from the
/// descriptors this binary was built with.
pub fn service_methods(names: &[&str]) -> Vec<MethodInfo> {
    use prost::Message as _;
    let Ok(set) = prost_types::FileDescriptorSet::decode(yeyak_proto::FILE_DESCRIPTOR_SET) else { return Vec::new() };
    let mut methods = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if !names.contains(&full.as_str()) {
                continue;
            }
            methods.extend(service.method.iter().map(|m| MethodInfo {
                path: format!("/{full}/{}", m.name()),
                service: full.clone(),
                method: m.name().to_owned(),
                kind: match (m.client_streaming(), m.server_streaming()) {
                    (false, false) => "unary",
                    (true, false) => "client_stream",
                    (false, true) => "server_stream",
                    (true, true) => "bidi_stream",
                },
            }));
        }
    }
    debug_assert!(methods.iter().all(|m| m.path != UNKNOWN));
    methods
}

/// Errors are sent "trailers-only", so their code is in the headers; a
/// response without one is a success whose status follows in trailers.
fn grpc_code(headers: &http::HeaderMap) -> i32 {
    headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0)
}
