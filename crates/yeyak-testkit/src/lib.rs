//! Test-only tools. Never a dependency of a service binary.
//!
//! [`Proxy`] stands between one service and a real dependency. `cut()`
//! simulates the dependency going down for that service only (open
//! connections are dropped, new ones refused) while other tests keep using the
//! same real server; `restore()` brings it back.
#![forbid(unsafe_code)]

pub mod logs;
pub mod mount;
pub mod postgres;
pub mod redis_cluster;
pub mod redis_server;
pub mod redis_tls;
pub mod tls;
pub mod tls_terminator;
mod wait;

pub use wait::eventually;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    upstream: Arc<parking_lot::Mutex<String>>,
    generation: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let upstream = Arc::new(parking_lot::Mutex::new(upstream.to_owned()));
        let task = tokio::spawn(accept_loop(listener, upstream.clone(), up.clone(), generation.clone()));
        Ok(Self { addr, up, upstream, generation, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The dependency "goes down": open connections drop, new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// The dependency "comes back".
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// The endpoint moves to another server (a managed failover's DNS
    /// switch): open connections drop, new ones go to `upstream`.
    pub fn retarget(&self, upstream: &str) {
        *self.upstream.lock() = upstream.to_owned();
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: Arc<parking_lot::Mutex<String>>,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if !up.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = upstream.lock().clone();
        let mut cut = generation.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(&upstream).await else { return };
            // Small request/response protocols stall on delayed ACKs otherwise.
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                _ = cut.changed() => {},
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test]
    async fn forwards_cuts_and_restores() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let echo_addr = echo.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(&echo_addr.to_string()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut conn = TcpStream::connect(proxy.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        conn.write_all(b"ping").await.unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&buf, b"ping");
        proxy.cut();
        let mut rest = Vec::new();
        let n = conn.read_to_end(&mut rest).await.unwrap_or(0);
        assert_eq!(n, 0, "the open connection was dropped");
        let mut refused = TcpStream::connect(proxy.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refused.read(&mut buf).await.unwrap_or(0), 0, "new connections are closed at once");
        proxy.restore();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        again.write_all(b"pong").await.unwrap_or_else(|e| panic!("{e}"));
        again.read_exact(&mut buf).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&buf, b"pong");
    }
}
