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
        atomic::{AtomicBool, AtomicUsize, Ordering},
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
    /// Connections being forwarded now.
    open: Arc<AtomicUsize>,
    /// Connections a cut or a retarget dropped, in all.
    dropped: AtomicUsize,
    upstream: Arc<parking_lot::Mutex<String>>,
    generation: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", upstream).await
    }

    /// Listens on `listen` (`host:port`; a fixed port where clients must
    /// find it again, as `make run`'s broker link) and forwards to `upstream`.
    pub async fn start_on(listen: &str, upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(AtomicUsize::new(0));
        let (generation, _) = watch::channel(0u64);
        let upstream = Arc::new(parking_lot::Mutex::new(upstream.to_owned()));
        let task = tokio::spawn(accept_loop(listener, upstream.clone(), up.clone(), open.clone(), generation.clone()));
        Ok(Self { addr, up, open, dropped: AtomicUsize::new(0), upstream, generation, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The dependency "goes down": open connections drop, new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.drop_open();
    }

    fn drop_open(&self) {
        self.dropped.fetch_add(self.open.load(Ordering::SeqCst), Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Connections forwarded now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Connections that were open when the link was cut or retargeted, in
    /// all: proof that clients were using it.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// The dependency "comes back".
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// The endpoint moves to another server (a managed failover's DNS
    /// switch): open connections drop, new ones go to `upstream`.
    pub fn retarget(&self, upstream: &str) {
        *self.upstream.lock() = upstream.to_owned();
        self.drop_open();
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
    open: Arc<AtomicUsize>,
    generation: watch::Sender<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if !up.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = upstream.lock().clone();
        let mut cut = generation.subscribe();
        let open = open.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(&upstream).await else { return };
            open.fetch_add(1, Ordering::SeqCst);
            // Small request/response protocols stall on delayed ACKs otherwise.
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                _ = cut.changed() => {},
            }
            open.fetch_sub(1, Ordering::SeqCst);
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
        assert_eq!(proxy.open(), 1);
        proxy.cut();
        assert_eq!(proxy.dropped(), 1, "the cut counted the connection it dropped");
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
