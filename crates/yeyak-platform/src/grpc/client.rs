//! Outbound gRPC channels: lazy (a peer that is down does not stop start-up),
//! with a connect timeout and a deadline on every call, so a dependency that
//! is down yields UNAVAILABLE or DEADLINE_EXCEEDED fast instead of a hang.
use std::{future::Future, time::Duration};

use tonic::{
    transport::{Channel, Endpoint},
    Status,
};

use crate::{
    metrics::RpcMetrics,
    tls::{TlsConnector, TlsSettings},
};

#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// What an `https://` address is verified against and shown.
    pub tls: TlsSettings,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_millis(500), request_timeout: Duration::from_secs(2), tls: TlsSettings::default() }
    }
}

/// Builds a lazy channel to `addr`: `host:port` or `http://host:port` for
/// plain HTTP/2, `https://host:port` for TLS with the platform's client
/// configuration (mutual TLS when a client certificate is configured).
pub fn channel(addr: &str, settings: &ClientSettings) -> anyhow::Result<Channel> {
    let (tls, rest) = match addr.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        Some((scheme, _)) => anyhow::bail!("{addr:?}: unknown scheme {scheme:?} (http or https)"),
        None => (false, addr),
    };
    let endpoint = Endpoint::from_shared(format!("http://{rest}"))?
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(if tls {
        endpoint.connect_with_connector_lazy(TlsConnector::new(settings.tls.client_config(&[b"h2"])?))
    } else {
        endpoint.connect_lazy()
    })
}

/// Records one outbound call of `path` in the `grpc_client_*` series:
/// started, then handled with its status code (a call cut off by our own
/// deadline counts as DeadlineExceeded) and the time it took. `metrics`
/// comes from [`crate::metrics::Metrics::grpc_client`] with the methods of
/// the services called ([`super::layer::service_methods`]).
pub async fn metered<T>(metrics: &RpcMetrics, path: &str, call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    let method = metrics.method(path);
    method.started();
    let started = std::time::Instant::now();
    let result = call.await;
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    method.handled(code as i32, started.elapsed());
    result
}

/// Whether a call failed because its server was going away before it took
/// the call: refused by an HTTP/2 GOAWAY without error (a graceful drain
/// finishes every stream it took and refuses the later ones), or never
/// written because the connection closed first (hyper's "canceled"). Either
/// way the call was never processed and can go again, on a new connection,
/// without doing its work twice. gRPC's own clients retry these
/// transparently; tonic does not, which a replica's rolling restart shows.
pub fn is_refused(status: &Status) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(error) = source {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            return h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR);
        }
        if error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_canceled) {
            return true;
        }
        source = error.source();
    }
    false
}

/// Makes `call` once more if the server refused it while draining
/// ([`is_refused`]); any other outcome is returned as it is.
pub async fn retry_refused<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    match call().await {
        Err(status) if is_refused(&status) => {
            tracing::debug!(%status, "the server was draining; the call goes again on a new connection");
            call().await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_refused_call_goes_again() {
        let mut calls = 0;
        let answer = retry_refused(|| {
            calls += 1;
            async { Err::<(), _>(Status::unavailable("down")) }
        })
        .await;
        assert_eq!((answer.unwrap_err().code(), calls), (tonic::Code::Unavailable, 1), "an outage is not a refusal");
        assert!(!is_refused(&Status::internal("h2 protocol error: http2 error")), "the message alone proves nothing");
    }
}
