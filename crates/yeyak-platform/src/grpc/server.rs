//! One way to run a gRPC server: health and reflection on every server, the
//! [`RpcLayer`](super::layer::RpcLayer) in front, a server-side deadline, and
//! SIGTERM → NOT_SERVING → drain within the grace period.
use std::{convert::Infallible, net::SocketAddr};

use tonic::{
    body::Body,
    codegen::{http, Service},
    server::NamedService,
    service::RoutesBuilder,
    transport::Server,
};
use tonic_health::{server::HealthReporter, ServingStatus};

use crate::{config::ServerSettings, grpc::layer::RpcLayer, metrics::Metrics, shutdown::Shutdown};

pub struct GrpcServer {
    settings: ServerSettings,
    metrics: Metrics,
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl GrpcServer {
    pub fn new(settings: ServerSettings, metrics: Metrics) -> Self {
        Self { settings, metrics, routes: RoutesBuilder::default(), names: Vec::new() }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn add<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Error = Infallible> + NamedService + Clone + Send + Sync + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Binds the listener (port 0 picks a free port); health starts NOT_SERVING
    /// until the service calls [`Ready::set_serving`].
    pub async fn bind(self) -> anyhow::Result<Ready> {
        let listener = tokio::net::TcpListener::bind(&self.settings.grpc_addr).await?;
        let addr = listener.local_addr()?;
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.names {
            health.set_service_status(*name, ServingStatus::NotServing).await;
        }
        health.set_service_status("", ServingStatus::NotServing).await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(yeyak_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let mut routes = self.routes;
        routes.add_service(health_service);
        routes.add_service(reflection);
        Ok(Ready { listener, addr, routes, health, names: self.names, settings: self.settings, metrics: self.metrics })
    }
}

/// A bound server, not yet serving.
pub struct Ready {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    routes: RoutesBuilder,
    health: HealthReporter,
    names: Vec<&'static str>,
    settings: ServerSettings,
    metrics: Metrics,
}

impl Ready {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.names.clone()
    }

    /// Reports SERVING (overall and per service): call once dependencies are up.
    pub async fn set_serving(&self) {
        set_all(&self.health, &self.names, ServingStatus::Serving).await;
    }

    /// Serves until `shutdown`, then reports NOT_SERVING, stops accepting and
    /// lets in-flight RPCs finish for at most the grace period.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Ready { listener, routes, health, names, settings, metrics, .. } = self;
        if !settings.metrics_addr.is_empty() {
            let at = metrics.serve(&settings.metrics_addr, shutdown.clone()).await?;
            tracing::info!(%at, "metrics listening");
        }
        let signal = {
            let shutdown = shutdown.clone();
            let health = health.clone();
            let names = names.clone();
            async move {
                shutdown.wait().await;
                set_all(&health, &names, ServingStatus::NotServing).await;
                tracing::info!("draining in-flight RPCs");
            }
        };
        let serve = Server::builder()
            .timeout(settings.request_timeout)
            .layer(RpcLayer::new(settings.max_concurrent_rpcs, metrics.rpc()))
            .add_routes(routes.routes())
            // Small gRPC frames must not wait for delayed ACKs (Nagle).
            .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)), signal);
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => result?,
            _ = async { shutdown.wait().await; tokio::time::sleep(settings.shutdown_grace).await } => {
                tracing::warn!(grace = ?settings.shutdown_grace, "grace period over, stopping with RPCs in flight");
            }
        }
        Ok(())
    }
}

async fn set_all(health: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in names {
        health.set_service_status(*name, status).await;
    }
    health.set_service_status("", status).await;
}
