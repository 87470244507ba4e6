//! The tower layer in front of every gRPC server: a global concurrency limit
//! that sheds at once (RESOURCE_EXHAUSTED with a retry hint) instead of
//! queueing without bound, and per-RPC metrics and trace spans.
//!
//! Health checks and reflection are never shed: under a surge the kubelet's
//! probes must still get SERVING, or Kubernetes restarts pods at the peak.
//! Metrics record a method only if the server serves it; any other path is
//! recorded as [`UNKNOWN_METHOD`], so random paths cannot grow the series.
use std::{
    collections::HashSet,
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

use super::in_flight::InFlight;
use crate::{grpc::status, metrics::RpcMetrics, telemetry};

/// The `method` label of every path the server does not serve.
pub const UNKNOWN_METHOD: &str = "unknown";

/// Paths under these prefixes bypass the concurrency limit.
const NEVER_SHED: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

#[derive(Clone, Debug)]
pub struct RpcLayer {
    permits: Arc<Semaphore>,
    metrics: RpcMetrics,
    known: Arc<HashSet<String>>,
    in_flight: InFlight,
}

impl RpcLayer {
    /// `known_methods`: the full paths (`/package.Service/Method`) the
    /// server serves, the only values the `method` label takes.
    pub fn new(max_concurrent: usize, metrics: RpcMetrics, known_methods: HashSet<String>) -> Self {
        let in_flight = InFlight::new(known_methods.iter().cloned().chain([UNKNOWN_METHOD.to_owned()]));
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), metrics, known: Arc::new(known_methods), in_flight }
    }

    /// The calls whose handler is still running, per method ("RPC <path>
    /// ×<n>"): what a drain that overruns is waiting for.
    pub fn in_flight(&self) -> Vec<String> {
        self.in_flight.describe()
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            permits: self.permits.clone(),
            metrics: self.metrics.clone(),
            known: self.known.clone(),
            in_flight: self.in_flight.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RpcService<S> {
    inner: S,
    permits: Arc<Semaphore>,
    metrics: RpcMetrics,
    known: Arc<HashSet<String>>,
    in_flight: InFlight,
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
        let method = if self.known.contains(path) { path.to_owned() } else { UNKNOWN_METHOD.to_owned() };
        let metrics = self.metrics.clone();
        let permit = if NEVER_SHED.iter().any(|prefix| path.starts_with(prefix)) {
            None
        } else {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                metrics.observe(&method, "RESOURCE_EXHAUSTED", Duration::ZERO);
                let shed = status::resource_exhausted("server is at capacity, retry shortly", Duration::from_secs(1));
                return Box::pin(async move { Ok(shed.into_http()) });
            };
            Some(permit)
        };
        let span = tracing::info_span!("rpc", rpc.method = %method, otel.kind = "server");
        telemetry::set_parent_from_headers(&span, request.headers());
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let entered = self.in_flight.enter(&method);
        Box::pin(
            async move {
                let response = inner.call(request).await;
                drop((permit, entered));
                let code = match &response {
                    Ok(r) => grpc_code_name(r.headers()),
                    Err(_) => "INTERNAL",
                };
                metrics.observe(&method, code, started.elapsed());
                response
            }
            .instrument(span),
        )
    }
}

/// Every method path of the named services (from the descriptors this
/// binary was built with), plus health and reflection.
pub(crate) fn known_methods(names: &[&'static str]) -> HashSet<String> {
    use prost::Message as _;
    let mut known: HashSet<String> =
        ["/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"]
            .into_iter()
            .map(str::to_owned)
            .collect();
    let Ok(set) = prost_types::FileDescriptorSet::decode(yeyak_proto::FILE_DESCRIPTOR_SET) else { return known };
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if names.contains(&full.as_str()) {
                known.extend(service.method.iter().map(|m| format!("/{full}/{}", m.name())));
            }
        }
    }
    known
}

/// Errors are sent "trailers-only", so their code is in the headers; a
/// response without one is a success whose status follows in trailers.
fn grpc_code_name(headers: &http::HeaderMap) -> &'static str {
    let code = headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
        _ => "OTHER",
    }
}
