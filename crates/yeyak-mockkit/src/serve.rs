//! How a mock third party serves: plain HTTP on loopback for `make run`, or
//! HTTPS when given a certificate (`YEYAK_TLS_CERT_FILE` and
//! `YEYAK_TLS_KEY_FILE`, as the services' listeners), so the services' TLS
//! to third parties is tested against a real handshake.
use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use yeyak_platform::{
    config::{ConfigError, Env},
    tls::{ServerTls, ServerTlsSettings},
    Shutdown,
};

/// The TLS a mock serves, if any.
pub fn tls_from_env(env: &Env) -> Result<Option<Arc<ServerTls>>, ConfigError> {
    let settings = ServerTlsSettings::from_env(env)?;
    ServerTls::new(&settings, b"http/1.1").map_err(|e| ConfigError::Invalid { key: "YEYAK_TLS_CERT_FILE".into(), reason: e.to_string() })
}

/// Serves `router` until `shutdown`, then lets in-flight requests finish.
pub async fn serve(listener: TcpListener, router: Router, tls: Option<Arc<ServerTls>>, shutdown: Shutdown) -> anyhow::Result<()> {
    let stop = async move { shutdown.wait().await };
    match tls {
        None => axum::serve(listener, router).with_graceful_shutdown(stop).await?,
        Some(tls) => axum::serve(TlsListener { listener, tls }, router).with_graceful_shutdown(stop).await?,
    }
    Ok(())
}

struct TlsListener {
    listener: TcpListener,
    tls: Arc<ServerTls>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    /// Handshakes one at a time: a mock serves tests, not the public.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, peer) = match self.listener.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            match self.tls.accept(tcp, false).await {
                Ok(stream) => return (stream, peer),
                Err(e) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
