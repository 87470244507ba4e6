//! CORS for the configured origins only. A gRPC-Web call from a page is a
//! non-simple request (its content type and headers), so the browser asks
//! first; an origin not listed gets no `Access-Control-Allow-Origin` and
//! the browser never sends the call. A call that carries an unlisted
//! `Origin` anyway is refused here with 403 before it reaches a service.
use std::time::Duration;

use axum::{extract::Request, middleware::Next, response::IntoResponse};
use http::{header, HeaderName, HeaderValue, Method, StatusCode};
use tower_http::cors::{AllowOrigin, CorsLayer};
use yeyak_platform::{
    grpc::{CLIENT_ID_HEADER, PASS_HEADER},
    tokens::dpop::PROOF_HEADER,
};

/// What the page sends: gRPC-Web's own headers and Yeyak's metadata, the
/// same names a native client uses.
pub fn request_headers() -> Vec<HeaderName> {
    [header::CONTENT_TYPE.as_str(), "x-grpc-web", "x-user-agent", "grpc-timeout", PASS_HEADER, CLIENT_ID_HEADER, PROOF_HEADER]
        .into_iter()
        .map(HeaderName::from_static)
        .collect()
}

/// What the page must read: the status (in headers for a trailers-only
/// answer), its rich details, and the server's retry hint.
pub fn response_headers() -> Vec<HeaderName> {
    ["grpc-status", "grpc-message", "grpc-status-details-bin", "retry-after"].into_iter().map(HeaderName::from_static).collect()
}

pub fn layer(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins.iter().map(|o| HeaderValue::from_str(o)).collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST])
        .allow_headers(request_headers())
        .expose_headers(response_headers())
        .max_age(Duration::from_secs(600)))
}

/// Refuses a request whose `Origin` is not listed (preflights included:
/// the CORS layer answers those itself for listed origins only).
pub async fn only_listed_origins(allowed: std::sync::Arc<Vec<String>>, request: Request, next: Next) -> axum::response::Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let listed = origin.to_str().map(|o| allowed.iter().any(|a| a == o)).unwrap_or(false);
        if !listed {
            return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
        }
    }
    next.run(request).await
}
