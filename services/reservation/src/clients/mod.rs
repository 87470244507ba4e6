//! The two services a booking consults before it writes anything: eligibility
//! (behind the pass: the caller's pass is forwarded, `eligibility`) and the
//! slot catalogue (internal, `catalog`); and the catalogue's supply reads
//! (internal, `supply`) that supply changes move bookings with. Every call
//! has a deadline, so a dependency that is down or slow turns into
//! UNAVAILABLE quickly and nothing is written.
mod catalog;
mod eligibility;
mod supply;

use std::{future::Future, sync::Arc, time::Duration};

use tonic::{transport::Channel, Code, Request, Status};
use tracing::{Instrument as _, Span};
use yeyak_platform::{
    grpc::{
        client::{self, ClientSettings},
        layer::service_methods,
    },
    metrics::{rpc::Method, Metrics},
    telemetry,
    tls::TlsSettings,
};

pub(crate) use catalog::CatalogClient;
pub(crate) use eligibility::{EligibilityClient, Verdict};
pub(crate) use supply::{Candidates, SupplyCatalogClient};

/// Why a dependency could not serve a call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// Down, slow or overloaded: the caller may retry.
    #[error("{dependency} unavailable: {cause}")]
    Unavailable { dependency: &'static str, cause: String },
    /// A refusal the caller can act on; it reaches the caller with its code.
    #[error("{dependency} refused ({refusal:?}): {message}")]
    Refused { dependency: &'static str, refusal: Refusal, message: String },
}

/// The refusals of a dependency that pass through to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    FailedPrecondition,
    OutOfRange,
}

/// A lazy channel: a dependency that is down does not stop start-up. An
/// `https://` address is called over TLS with `tls` (mutual TLS to
/// inventory's internal listener when a client certificate is configured).
fn channel(addr: &str, timeout: Duration, tls: &TlsSettings) -> anyhow::Result<Channel> {
    let settings = ClientSettings { connect_timeout: timeout.min(Duration::from_millis(500)), request_timeout: timeout, tls: tls.clone() };
    client::channel(addr, &settings)
}

/// A request bounded by the deadline and carrying the trace of `span`, the
/// call's client span (`telemetry::rpc_client_span`, none when tracing is off).
fn request<T>(message: T, timeout: Duration, span: &Span) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    telemetry::inject_traceparent_of(span, &mut request);
    request
}

/// The `grpc_client_*` series of one method of `service` (`package.Service`).
fn client_metrics(metrics: &Metrics, service: &str, method: &str) -> Arc<Method> {
    metrics.grpc_client(service_methods(&[service])).method(&format!("/{service}/{method}")).clone()
}

/// Bounds the call by the deadline whatever the transport does; the call
/// runs in `span`, marked failed if it fails, and is counted in `rpc` (a
/// call cut off by the deadline as DeadlineExceeded).
async fn call<T>(
    dependency: &'static str,
    timeout: Duration,
    span: Span,
    rpc: &Method,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, ClientError> {
    rpc.started();
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(timeout, call).instrument(span.clone()).await;
    let code = match &outcome {
        Ok(Ok(_)) => Code::Ok,
        Ok(Err(status)) => status.code(),
        Err(_) => Code::DeadlineExceeded,
    };
    rpc.handled(code as i32, started.elapsed());
    let result = match outcome {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(classify(dependency, status)),
        Err(_) => Err(ClientError::Unavailable { dependency, cause: format!("no answer within {timeout:?}") }),
    };
    if let Err(e) = &result {
        telemetry::set_error(&span, e.to_string());
    }
    result
}

/// Refusals the caller can act on pass through; anything else means the
/// dependency cannot serve now.
fn classify(dependency: &'static str, status: Status) -> ClientError {
    let refusal = match status.code() {
        Code::InvalidArgument => Refusal::InvalidArgument,
        Code::NotFound => Refusal::NotFound,
        Code::PermissionDenied => Refusal::PermissionDenied,
        Code::Unauthenticated => Refusal::Unauthenticated,
        Code::FailedPrecondition => Refusal::FailedPrecondition,
        Code::OutOfRange => Refusal::OutOfRange,
        _ => return ClientError::Unavailable { dependency, cause: status.to_string() },
    };
    ClientError::Refused { dependency, refusal, message: status.message().to_owned() }
}
