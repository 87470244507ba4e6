//! One way to run a gRPC server: health and reflection on every server, the
//! [`RpcLayer`](super::layer::RpcLayer) in front, a server-side deadline, and
//! SIGTERM → NOT_SERVING → drain within the grace period.
use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use tonic::{
    body::Body,
    codegen::{http, Service},
    server::NamedService,
    service::RoutesBuilder,
    transport::{server::TcpIncoming, Server},
};
use tonic_health::{server::HealthReporter, ServingStatus};

use crate::{
    config::ServerSettings,
    grpc::layer::{methods_of, RpcLayer},
    metrics::Metrics,
    shutdown::{Shutdown, AFTER_GRACE},
    tls::ServerTls,
};

use super::incoming::{tls_incoming, Probes};

/// The health-check name a liveness probe asks for.
pub const LIVENESS: &str = "yeyak.liveness";

/// What a listener can route to: a tonic service (generated servers, health,
/// reflection, and the layers around them).
pub trait Routable:
    Service<http::Request<Body>, Error = Infallible, Response: axum::response::IntoResponse, Future: Send + 'static>
    + NamedService
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Routable for S where
    S: Service<http::Request<Body>, Error = Infallible, Response: axum::response::IntoResponse, Future: Send + 'static>
        + NamedService
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The services of one listener, before it is bound.
#[derive(Default)]
struct Routes {
    builder: RoutesBuilder,
    names: Vec<&'static str>,
}

impl Routes {
    fn add<S: Routable>(&mut self, service: S) {
        self.names.push(S::NAME);
        self.builder.add_service(service);
    }
}

pub struct GrpcServer {
    settings: ServerSettings,
    metrics: Metrics,
    public: Routes,
    internal: Routes,
}

impl GrpcServer {
    pub fn new(settings: ServerSettings, metrics: Metrics) -> Self {
        Self { settings, metrics, public: Routes::default(), internal: Routes::default() }
    }

    /// A service on the public listener (`YEYAK_GRPC_ADDR`).
    #[allow(clippy::should_implement_trait)]
    pub fn add<S: Routable>(mut self, service: S) -> Self {
        self.public.add(service);
        self
    }

    /// A service on the internal listener (`YEYAK_INTERNAL_GRPC_ADDR`): RPCs
    /// only other services call. It is never reachable on the public port,
    /// so a gateway cannot expose it by mistake and a NetworkPolicy, which
    /// admits ports and not RPCs, can admit only its one caller.
    pub fn add_internal<S: Routable>(mut self, service: S) -> Self {
        self.internal.add(service);
        self
    }

    /// Binds the listeners (port 0 picks a free port); health starts
    /// NOT_SERVING until the service calls [`Ready::set_serving`].
    pub async fn bind(self) -> anyhow::Result<Ready> {
        let (health, health_service) = tonic_health::server::health_reporter();
        let names: Vec<&'static str> = self.public.names.iter().chain(&self.internal.names).copied().collect();
        for name in &names {
            health.set_service_status(*name, ServingStatus::NotServing).await;
        }
        health.set_service_status("", ServingStatus::NotServing).await;
        // Liveness says only that the process serves gRPC at all: it never
        // changes, so a dependency outage never fails it (the service's own
        // name, asked by readiness, carries that).
        health.set_service_status(LIVENESS, ServingStatus::Serving).await;
        let tls = ServerTls::new(&self.settings.tls, b"h2")?;
        let public = Listener::bind(&self.settings.grpc_addr, self.public, &health_service, tls.clone(), false).await?;
        let internal = if self.internal.names.is_empty() {
            None
        } else {
            Some(Listener::bind(&self.settings.internal_grpc_addr, self.internal, &health_service, tls, true).await?)
        };
        let probes = match self.settings.health_grpc_addr.as_str() {
            "" => None,
            addr => Some(Probes::bind(addr, &health_service).await?),
        };
        Ok(Ready { public, internal, probes, health, names, settings: self.settings, metrics: self.metrics })
    }
}

/// A bound server, not yet serving.
pub struct Ready {
    public: Listener,
    internal: Option<Listener>,
    probes: Option<Probes>,
    health: HealthReporter,
    names: Vec<&'static str>,
    settings: ServerSettings,
    metrics: Metrics,
}

impl Ready {
    pub fn local_addr(&self) -> SocketAddr {
        self.public.addr
    }

    /// The internal listener's address, when the server has internal services.
    pub fn internal_addr(&self) -> Option<SocketAddr> {
        self.internal.as_ref().map(|l| l.addr)
    }

    /// The plaintext health-check listener's address, when configured.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.probes.as_ref().map(|p| p.addr)
    }

    /// Reports SERVING (overall and per service): call once dependencies are up.
    pub async fn set_serving(&self) {
        set_all(&self.health, &self.names, ServingStatus::Serving).await;
    }

    /// Serves until `shutdown`, then reports NOT_SERVING, stops accepting and
    /// lets in-flight RPCs finish for at most the grace period. It also
    /// bounds the rest of the process's stop: once triggered, a process
    /// shutdown ends the process at the grace plus [`AFTER_GRACE`] at the
    /// latest, naming the calls still in flight.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Ready { public, internal, probes, health, names, settings, metrics } = self;
        shutdown.limit(settings.shutdown_grace + AFTER_GRACE);
        if !settings.metrics_addr.is_empty() {
            let at = metrics.serve(&settings.metrics_addr, shutdown.clone()).await?;
            tracing::info!(%at, "metrics listening");
        }
        // One limit for the process, whichever listener a call comes in on.
        let layer = RpcLayer::new(settings.max_concurrent_rpcs, metrics.grpc_server(methods_of(&names)));
        // For good: calls cut off by the grace keep running (and holding
        // what they hold) until the runtime drops them.
        let rpcs = layer.clone();
        shutdown.report(move || rpcs.in_flight());
        let drained = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.wait().await;
                set_all(&health, &names, ServingStatus::NotServing).await;
                tracing::info!("draining in-flight RPCs");
            }
        };
        let internal = async {
            match internal {
                Some(listener) => listener.serve(&settings, layer.clone(), shutdown.wait()).await,
                None => Ok(()),
            }
        };
        let probes = async {
            match probes {
                Some(probes) => probes.serve(shutdown.wait()).await,
                None => Ok(()),
            }
        };
        let serve = async { tokio::try_join!(public.serve(&settings, layer.clone(), drained), internal, probes).map(drop) };
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => {
                result?;
                tracing::info!("in-flight RPCs drained");
            }
            _ = async { shutdown.wait().await; tokio::time::sleep(settings.shutdown_grace).await } => {
                let in_flight = layer.in_flight();
                tracing::warn!(grace = ?settings.shutdown_grace, ?in_flight, "grace period over, stopping with RPCs in flight");
            }
        }
        Ok(())
    }
}

/// One listening socket and the routes it serves: its own services, health,
/// and reflection that lists exactly those services.
struct Listener {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    routes: RoutesBuilder,
    /// TLS on this listener, and whether it is the internal one (which
    /// requires a client certificate when a client CA is configured).
    tls: Option<(Arc<ServerTls>, bool)>,
}

impl Listener {
    async fn bind<H: Routable>(
        addr: &str,
        mut routes: Routes,
        health: &H,
        tls: Option<Arc<ServerTls>>,
        internal: bool,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(yeyak_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        for name in &routes.names {
            reflection = reflection.with_service_name(*name);
        }
        routes.builder.add_service(health.clone());
        routes.builder.add_service(reflection.build_v1()?);
        Ok(Self { listener, addr, routes: routes.builder, tls: tls.map(|t| (t, internal)) })
    }

    async fn serve(self, settings: &ServerSettings, layer: RpcLayer, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let router = Server::builder().timeout(settings.request_timeout).layer(layer).add_routes(self.routes.routes());
        match self.tls {
            // Small gRPC frames must not wait for delayed ACKs (Nagle).
            None => router.serve_with_incoming_shutdown(TcpIncoming::from(self.listener).with_nodelay(Some(true)), signal).await?,
            Some((tls, internal)) => router.serve_with_incoming_shutdown(tls_incoming(self.listener, tls, internal), signal).await?,
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
