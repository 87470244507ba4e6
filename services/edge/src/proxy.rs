//! Forwards a call (already turned from gRPC-Web into gRPC by
//! `tonic_web`) to its public service, byte for byte: the pass, the client
//! id and the device proof travel as the browser sent them, and the
//! service checks them as for any native client. The edge adds only what a
//! proxy must: a deadline no longer than its own limit, the caller's
//! address appended to `x-forwarded-for`, and a fast refusal when full.
use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::extract::ConnectInfo;
use http::{header, HeaderValue, Request, Response};
use tokio::sync::Semaphore;
use tonic::{body::Body, Status};
use tower::{Service, ServiceExt as _};

use crate::{
    deadline,
    metrics::{EdgeMetrics, Outcome},
    routes::Routes,
};

/// Hop-by-hop headers of the browser's HTTP/1.1 connection; HTTP/2
/// forbids them.
const HOP_BY_HOP: [header::HeaderName; 5] =
    [header::CONNECTION, header::TRANSFER_ENCODING, header::UPGRADE, header::HOST, header::HeaderName::from_static("keep-alive")];

#[derive(Clone)]
pub struct Proxy {
    routes: Routes,
    default_deadline: Duration,
    max_deadline: Duration,
    in_flight: Arc<Semaphore>,
    metrics: EdgeMetrics,
}

impl Proxy {
    pub fn new(routes: Routes, default_deadline: Duration, max_deadline: Duration, max_in_flight: usize, metrics: EdgeMetrics) -> Self {
        Self { routes, default_deadline, max_deadline, in_flight: Arc::new(Semaphore::new(max_in_flight)), metrics }
    }
}

/// A gRPC status as the whole response (HTTP 200, status in the headers:
/// a "trailers-only" answer, which gRPC-Web carries too).
fn refuse(status: Status) -> Response<Body> {
    status.into_http()
}

impl Service<Request<Body>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let metrics = self.metrics.clone();
        let Some(channel) = self.routes.upstream(&path) else {
            tracing::debug!(%path, "not a public RPC");
            metrics.count(&path, Outcome::NotPublic);
            return Box::pin(async move { Ok(refuse(Status::unimplemented(format!("{path} is not served to browsers")))) });
        };
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            let mut status = Status::resource_exhausted("the edge is at its limit of calls in flight; try again shortly");
            status.metadata_mut().insert("retry-after", tonic::metadata::MetadataValue::from_static("1"));
            metrics.count(&path, Outcome::Shed);
            return Box::pin(async move { Ok(refuse(status)) });
        };
        let (mut parts, body) = request.into_parts();
        let asked = parts.headers.get(deadline::HEADER).and_then(|v| v.to_str().ok()).and_then(deadline::parse);
        let limit = asked.unwrap_or(self.default_deadline).min(self.max_deadline);
        for name in &HOP_BY_HOP {
            parts.headers.remove(name);
        }
        parts.headers.insert(deadline::HEADER, deadline::encode(limit));
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            if let Ok(value) = HeaderValue::from_str(&peer.ip().to_string()) {
                parts.headers.append("x-forwarded-for", value);
            }
        }
        parts.version = http::Version::HTTP_2;
        let forwarded = Request::from_parts(parts, body);
        let mut channel = channel;
        Box::pin(async move {
            let _permit = permit;
            let _counted = metrics.in_flight();
            let started = tokio::time::Instant::now();
            // The upstream enforces the same deadline; this one covers a
            // connection that never opens or a server that never answers.
            let call = async move { channel.ready().await?.call(forwarded).await };
            match tokio::time::timeout(limit, call).await {
                Ok(Ok(response)) => {
                    metrics.forwarded(&path, started.elapsed().as_secs_f64());
                    Ok(response)
                }
                Ok(Err(e)) => {
                    tracing::warn!(%path, error = %e, "upstream unreachable");
                    metrics.count(&path, Outcome::Unreachable);
                    Ok(refuse(Status::unavailable("the service is unreachable; try again shortly")))
                }
                Err(_) => {
                    metrics.count(&path, Outcome::Deadline);
                    Ok(refuse(Status::deadline_exceeded(format!("no answer within {} ms", limit.as_millis()))))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Upstreams;

    fn proxy(max_in_flight: usize, metrics: &EdgeMetrics) -> Proxy {
        // Port 9 (discard) has no listener here: every upstream is down.
        let down = "http://127.0.0.1:9".to_owned();
        let upstreams = Upstreams {
            admission: down.clone(),
            identity: down.clone(),
            eligibility: down.clone(),
            inventory: down.clone(),
            reservation: down,
        };
        let routes = Routes::new(&upstreams, &yeyak_platform::grpc::client::ClientSettings::default()).unwrap();
        Proxy::new(routes, Duration::from_secs(2), Duration::from_secs(5), max_in_flight, metrics.clone())
    }

    async fn call(proxy: &mut Proxy, path: &str) -> Response<Body> {
        let request = Request::builder().method("POST").uri(path).header("content-type", "application/grpc").body(Body::empty()).unwrap();
        proxy.call(request).await.unwrap()
    }

    fn status(response: &Response<Body>) -> (String, Option<String>) {
        let h = response.headers();
        (h["grpc-status"].to_str().unwrap().to_owned(), h.get("retry-after").map(|v| v.to_str().unwrap().to_owned()))
    }

    #[tokio::test]
    async fn a_full_edge_refuses_at_once_with_a_retry_hint_and_a_closed_path_is_never_forwarded() {
        const REGIONS: &str = "/yeyak.inventory.v1.InventoryService/ListRegions";
        const OPERATOR: &str = "/yeyak.admission.v1.AdmissionOperatorService/SetAdmissionRate";
        let metrics = EdgeMetrics::default();
        let full = call(&mut proxy(0, &metrics), REGIONS).await;
        assert_eq!(status(&full), ((tonic::Code::ResourceExhausted as i32).to_string(), Some("1".to_owned())));
        let closed = call(&mut proxy(0, &metrics), OPERATOR).await;
        assert_eq!(status(&closed).0, (tonic::Code::Unimplemented as i32).to_string(), "checked before the limit");
        let started = std::time::Instant::now();
        let down = call(&mut proxy(10, &metrics), REGIONS).await;
        assert_eq!(status(&down).0, (tonic::Code::Unavailable as i32).to_string());
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        // Each refusal is counted as what it was, under a label from the closed list.
        let counted = |path, outcome| metrics.calls(path, outcome);
        assert_eq!(
            [counted(REGIONS, Outcome::Shed), counted(OPERATOR, Outcome::NotPublic), counted(REGIONS, Outcome::Unreachable)],
            [1, 1, 1]
        );
        assert_eq!(counted(REGIONS, Outcome::Forwarded), 0);
    }
}
