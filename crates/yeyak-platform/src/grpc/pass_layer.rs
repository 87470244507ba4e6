//! The admission-pass check in front of a service, as a tower layer rather
//! than a tonic interceptor: an interceptor is synchronous, so a new pass's
//! signature would be checked alone; here it joins the batch of signatures
//! other requests are waiting on (see [`SignatureBatcher`](crate::tokens::SignatureBatcher)).
//! Wrap only the service that needs passes: health and reflection stay open.
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tonic::{body::Body, codegen::http, server::NamedService};
use tower::{Layer, Service};

use super::pass::PassVerifier;

/// Rejects calls without a good pass; attaches [`VerifiedPass`](super::VerifiedPass)
/// to the rest, where [`verified_pass`](super::pass::verified_pass) finds it.
#[derive(Clone, Debug)]
pub struct PassLayer {
    verifier: PassVerifier,
}

impl PassLayer {
    pub fn new(verifier: PassVerifier) -> Self {
        Self { verifier }
    }
}

impl PassVerifier {
    /// `service` behind the pass check (the layer applied to one service).
    pub fn guard<S>(&self, service: S) -> PassService<S> {
        PassLayer::new(self.clone()).layer(service)
    }
}

impl<S> Layer<S> for PassLayer {
    type Service = PassService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        PassService { inner, verifier: self.verifier.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct PassService<S> {
    inner: S,
    verifier: PassVerifier,
}

impl<S: NamedService> NamedService for PassService<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

impl<S> Service<http::Request<Body>> for PassService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let verifier = self.verifier.clone();
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let method = request.uri().path().to_owned();
            match verifier.verify_headers(request.headers(), &method, chrono::Utc::now().timestamp()).await {
                Ok(verified) => {
                    request.extensions_mut().insert(verified);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}
