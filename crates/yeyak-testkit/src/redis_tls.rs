//! A private `redis-server` that speaks TLS only (`--port 0 --tls-port P`;
//! Debian's Redis is built with TLS), serving a certificate the test made,
//! so a service's `rediss://` path runs against a real server. The shared
//! Redis on 6379 is never touched.
use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

use crate::tls::{Issued, TempDir};

/// Killed, and its files removed, on drop.
pub struct TlsRedis {
    _child: Child,
    port: u16,
    _dir: TempDir,
}

impl TlsRedis {
    /// Starts a server for `localhost` with `issued`; clients are not asked
    /// for a certificate unless `client_ca_pem` is given (mutual TLS).
    pub async fn start(issued: &Issued, client_ca_pem: Option<&str>) -> std::io::Result<Self> {
        let dir = TempDir::new("redis-tls");
        let (cert, key) = (dir.write("redis.crt", &issued.cert_pem), dir.write("redis.key", &issued.key_pem));
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--dir")
            .arg(dir.path());
        match client_ca_pem {
            Some(ca) => command.arg("--tls-ca-cert-file").arg(dir.write("client-ca.crt", ca)).args(["--tls-auth-clients", "yes"]),
            // Redis wants a CA file even when it asks no client for a certificate.
            None => command.arg("--tls-ca-cert-file").arg(&cert).args(["--tls-auth-clients", "no"]),
        };
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("redis-server did not start listening on its TLS port"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self { _child: child, port, _dir: dir })
    }

    /// `rediss://localhost:<port>/0`: the name the certificate is for.
    pub fn url(&self) -> String {
        format!("rediss://localhost:{}/0", self.port)
    }
}
