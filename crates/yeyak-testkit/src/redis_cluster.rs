//! A private Redis Cluster of three masters on loopback, for tests of the
//! cluster mode (`YEYAK_REDIS_MODE=cluster`); the shared Redis on 6379 is
//! never touched.
//!
//! Ports: a node needs its port P and its cluster bus port P + 10000. Several
//! test binaries start clusters at once, so a port is picked at random,
//! checked free (both ports) and then proven ours: the server answering on P
//! must report our child's process id, else another harness won the race and
//! we pick again.
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Nodes' ports are drawn from here; bus ports land 10000 higher (below 40000).
const PORTS: std::ops::Range<u32> = 20_000..30_000;
const START_LIMIT: Duration = Duration::from_secs(20);

struct Node {
    port: u16,
    child: Child,
}

/// Killed, and its files removed, on drop.
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts three `redis-server --cluster-enabled yes`, joins them with
    /// `redis-cli --cluster create` and waits for `cluster_state:ok` on each.
    pub async fn start() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("yeyak-redis-cluster-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir)?;
        let mut cluster = Self { nodes: Vec::new(), dir };
        for _ in 0..3 {
            let node = start_node(&cluster.dir).await?;
            cluster.nodes.push(node);
        }
        let mut create = tokio::process::Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let out = create.args(["--cluster-replicas", "0", "--cluster-yes"]).stdin(Stdio::null()).output().await?;
        if !out.status.success() {
            return Err(other(format!("redis-cli --cluster create failed: {}", String::from_utf8_lossy(&out.stdout))));
        }
        let deadline = Instant::now() + START_LIMIT;
        for node in &cluster.nodes {
            while !cli(node.port, &["CLUSTER", "INFO"]).await.is_some_and(|info| info.contains("cluster_state:ok")) {
                if Instant::now() > deadline {
                    return Err(other(format!("node {} never reported cluster_state:ok", node.port)));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(cluster)
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The seed node URLs, comma-separated: the value of `YEYAK_REDIS_URL`.
    pub fn url(&self) -> String {
        self.nodes.iter().map(|n| format!("redis://127.0.0.1:{}", n.port)).collect::<Vec<_>>().join(",")
    }

    /// The keys matching `pattern` on every node: shows that a test's data
    /// went to this cluster, and spread over its nodes.
    pub async fn keys(&self, pattern: &str) -> Vec<(u16, String)> {
        let mut keys = Vec::new();
        for port in self.ports() {
            let listed = cli(port, &["--raw", "KEYS", pattern]).await.unwrap_or_default();
            keys.extend(listed.lines().filter(|k| !k.is_empty()).map(|k| (port, k.to_owned())));
        }
        keys
    }

    /// `REDIS_MODE` and `REDIS_URL` for a service's `Env::from_pairs`.
    pub fn env(&self) -> [(String, String); 2] {
        [("REDIS_MODE".into(), "cluster".into()), ("REDIS_URL".into(), self.url())]
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_node(dir: &Path) -> std::io::Result<Node> {
    for _ in 0..20 {
        let port = free_port_pair()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(dir.join(format!("nodes-{port}.conf")))
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join(format!("redis-{port}.log")))
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut node = Node { port, child };
        if ours(&mut node).await {
            return Ok(node);
        }
        let _ = node.child.kill();
        let _ = node.child.wait();
    }
    Err(other("no free port pair for a Redis Cluster node after 20 tries".into()))
}

/// Whether the server on the node's port is the child we started.
async fn ours(node: &mut Node) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    let expected = format!("process_id:{}", node.child.id());
    while Instant::now() < deadline {
        if let Ok(Some(_)) = node.child.try_wait() {
            return false; // it exited: the port was taken after all
        }
        if let Some(info) = cli(node.port, &["INFO", "server"]).await {
            return info.lines().any(|l| l.trim() == expected);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A random port P in [`PORTS`] with P and P + 10000 both free right now.
fn free_port_pair() -> std::io::Result<u16> {
    for attempt in 0..200u32 {
        let span = PORTS.end - PORTS.start;
        let port = PORTS.start + (unique().wrapping_add(attempt.wrapping_mul(7919)) % span);
        let (Ok(port), Ok(bus)) = (u16::try_from(port), u16::try_from(port + 10_000)) else { continue };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", bus)).is_ok() {
            return Ok(port);
        }
    }
    Err(other("no free port pair found".into()))
}

/// `redis-cli -p port args...`'s output, if it answered without error.
async fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out =
        tokio::process::Command::new("redis-cli").arg("-p").arg(port.to_string()).args(args).stdin(Stdio::null()).output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.starts_with("Could not connect") && !text.starts_with("ERR")).then_some(text)
}

/// Varies between calls and processes (no `rand` in this crate).
fn unique() -> u32 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

fn other(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn two_harnesses_at_once_get_their_own_clusters_and_clean_up() {
        let (a, b) = tokio::join!(RedisCluster::start(), RedisCluster::start());
        let (a, b) = (a.expect("first cluster"), b.expect("second cluster"));
        let mut ports = a.ports();
        ports.extend(b.ports());
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 6, "{ports:?}");
        let slots = cli(a.ports()[0], &["CLUSTER", "INFO"]).await.expect("cluster info");
        assert!(slots.contains("cluster_slots_assigned:16384") && slots.contains("cluster_known_nodes:3"), "{slots}");
        let (port, dir) = (a.ports()[0], a.dir.clone());
        drop(a);
        assert!(cli(port, &["PING"]).await.is_none(), "the node is stopped");
        assert!(!dir.exists(), "its files are removed");
    }
}
