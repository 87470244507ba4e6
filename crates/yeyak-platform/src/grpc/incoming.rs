//! What a listener accepts besides plain gRPC: connections after their TLS
//! handshake, and the plaintext health-only listener of the kubelet's probes.
use std::{net::SocketAddr, sync::Arc};

use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    service::RoutesBuilder,
    transport::{server::TcpIncoming, Server},
};

use super::server::Routable;
use crate::tls::ServerTls;

/// The plaintext listener of the kubelet's gRPC probes: health checks and
/// nothing else, so serving it in the clear exposes no RPC.
pub(super) struct Probes {
    listener: tokio::net::TcpListener,
    pub(super) addr: SocketAddr,
    routes: RoutesBuilder,
}

impl Probes {
    pub(super) async fn bind<H: Routable>(addr: &str, health: &H) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut routes = RoutesBuilder::default();
        routes.add_service(health.clone());
        Ok(Self { listener, addr, routes })
    }

    pub(super) async fn serve(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        Server::builder().add_routes(self.routes.routes()).serve_with_incoming_shutdown(TcpIncoming::from(self.listener), signal).await?;
        Ok(())
    }
}

/// Accepted connections after their TLS handshake. Each handshake runs in
/// its own task, so one slow or silent client never holds up the others;
/// a failed one (no client certificate, another CA) is dropped here.
pub(super) fn tls_incoming(
    listener: tokio::net::TcpListener,
    tls: Arc<ServerTls>,
    internal: bool,
) -> ReceiverStream<std::io::Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => { tracing::warn!(error = %e, "accept failed"); continue }
                },
                // The server stopped serving: stop accepting.
                _ = tx.closed() => return,
            };
            let (tls, tx) = (tls.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                match tls.accept(tcp, internal).await {
                    Ok(stream) => drop(tx.send(Ok(stream)).await),
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
