//! A private `redis-server` a test may restart empty, replicate and fail
//! over — what happens to a managed cache node in production — without ever
//! touching the shared Redis on 6379. It keeps nothing on disk (`--save ""
//! --appendonly no`, as the bootstrap runs Redis), so a restart on the same
//! port comes back with no data at all.
use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    process::{Child, Command},
};

use crate::tls::TempDir;

/// Killed, and its files removed, on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    replica_of: Option<u16>,
    dir: TempDir,
}

impl RedisServer {
    /// A primary on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::spawn(None).await
    }

    /// A replica of `primary` (`--replicaof`), once it has synced.
    pub async fn replica_of(primary: &RedisServer) -> std::io::Result<Self> {
        let replica = Self::spawn(Some(primary.port)).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !replica.command(&["INFO", "replication"]).await?.contains("master_link_status:up") {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("the replica did not sync with its primary"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(replica)
    }

    async fn spawn(replica_of: Option<u16>) -> std::io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = Self { child: None, port, replica_of, dir: TempDir::new("redis") };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> std::io::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path());
        if let Some(primary) = self.replica_of {
            command.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        self.child = Some(command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn()?);
        // Ours, not whatever else may answer on the port (taken meanwhile).
        let pid = self.child.as_ref().and_then(Child::id).ok_or_else(|| std::io::Error::other("redis-server has no pid"))?;
        let ours = format!("process_id:{pid}\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.command(&["INFO", "server"]).await.is_ok_and(|info| info.contains(&ours)) {
            // Exited (its port taken, say): say so now rather than in 10 s.
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                return Err(std::io::Error::other(format!("redis-server exited at start-up on port {}: {status}", self.port)));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other("redis-server did not start"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `kill -9`: whatever was not replicated is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Killed and started again on the same port, with no data.
    pub async fn restart_empty(&mut self) -> std::io::Result<()> {
        self.kill().await;
        self.launch().await
    }

    /// Stops following its primary and keeps what it has (a promotion; or,
    /// before the primary dies, a replica that stopped receiving writes).
    pub async fn promote(&mut self) -> std::io::Result<()> {
        self.replica_of = None;
        self.command(&["REPLICAOF", "NO", "ONE"]).await.map(drop)
    }

    /// One command over a fresh connection (RESP), its reply as text. An
    /// error reply is an `Err`.
    pub async fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).await?;
        let mut reply = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        // A reply is complete when it parses; small replies come in one read.
        loop {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.map_err(std::io::Error::other)??;
            if n == 0 {
                return Err(std::io::Error::other("redis-server closed the connection"));
            }
            reply.extend_from_slice(&buf[..n]);
            if let Some(text) = complete(&reply) {
                return text;
            }
        }
    }
}

/// The reply if it is complete: a simple string, integer, error or a bulk
/// string (what the commands above answer).
fn complete(reply: &[u8]) -> Option<std::io::Result<String>> {
    let text = String::from_utf8_lossy(reply);
    let (head, rest) = text.split_once("\r\n")?;
    match head.as_bytes().first()? {
        b'-' => Some(Err(std::io::Error::other(head[1..].to_owned()))),
        b'+' | b':' => Some(Ok(head[1..].to_owned())),
        b'$' => {
            let len: i64 = head[1..].parse().ok()?;
            if len < 0 {
                return Some(Ok(String::new()));
            }
            (rest.len() >= len as usize + 2).then(|| Ok(rest[..len as usize].to_owned()))
        }
        // Arrays and the rest: whatever arrived, once the first line did.
        _ => Some(Ok(text.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn restarts_empty_and_refuses_a_port_another_server_holds() {
        let mut server = RedisServer::start().await.unwrap_or_else(|e| panic!("{e}"));
        server.command(&["SET", "k", "v"]).await.unwrap_or_else(|e| panic!("{e}"));
        server.restart_empty().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(server.command(&["GET", "k"]).await.unwrap_or_else(|e| panic!("{e}")), "", "nothing kept");

        let started = Instant::now();
        let mut second = RedisServer { child: None, port: server.port, replica_of: None, dir: TempDir::new("redis") };
        let e = second.launch().await.unwrap_err();
        assert!(e.to_string().contains("exited at start-up"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5), "reported at once, not after the deadline");
    }
}
