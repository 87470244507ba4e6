//! The one connection type the stores hold, whatever Redis is deployed: a
//! store written against [`redis::aio::ConnectionLike`] runs unchanged on a
//! single node and on a cluster.
//!
//! A single node's [`ConnectionManager`] notices a dropped connection only
//! when a command fails on it: it hands that error to the caller and
//! reconnects in the background. After Redis restarts, or a load balancer
//! or the server's `timeout` closes an idle connection, the first command
//! of every caller would fail although a new connection is a millisecond
//! away. A handle from [`RedisConn::idempotent`] sends such a command once
//! more, over the new connection, within the call's time budget.
//!
//! Only stores that opt in get this: the redis crate reports a request that
//! never left (the connection's task had already ended) and one whose reply
//! was lost after Redis ran it with the same `BrokenPipe`, so a replay may
//! run a command twice, which only an idempotent command survives.
use std::time::{Duration, Instant};

use redis::{
    aio::{ConnectionLike, ConnectionManager},
    cluster_async::ClusterConnection,
    Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value,
};

/// Cheap to clone: clones share the node connections.
#[derive(Clone)]
pub struct RedisConn {
    node: Node,
    /// Whether a command whose connection dropped is sent once more.
    replay: bool,
    /// What a call may take in all, replay included (`YEYAK_REDIS_TIMEOUT_MS`).
    budget: Duration,
}

#[derive(Clone)]
pub(super) enum Node {
    Single(ConnectionManager),
    /// Routes each command to the node owning its key's slot, follows
    /// redirections while slots move, and refuses a pipeline whose commands
    /// name keys of different slots (see [`super::query_by_slot`]). It
    /// already resends a command whose connection dropped, whatever the
    /// command, within its own timeout: a handle's `replay` adds nothing.
    Cluster(ClusterConnection),
}

impl RedisConn {
    pub(super) fn new(node: Node, budget: Duration) -> Self {
        Self { node, replay: false, budget }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.node, Node::Cluster(_))
    }

    /// A handle for commands that may safely run twice (reads, `SET` of a
    /// value, `DEL`, `SADD`, scripts deduplicated by a request id): one that
    /// fails because the connection dropped is sent again over the
    /// reconnected connection, once, if the time budget allows. Use the
    /// plain handle for anything a second run would change (a bare `INCR`):
    /// its caller sees the error instead of a silent double effect.
    pub fn idempotent(&self) -> Self {
        Self { replay: true, ..self.clone() }
    }

    pub(super) fn cluster(&self) -> Option<&ClusterConnection> {
        match &self.node {
            Node::Cluster(cluster) => Some(cluster),
            Node::Single(_) => None,
        }
    }
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = if self.is_cluster() { "cluster" } else { "single" };
        f.debug_struct("RedisConn").field("mode", &mode).field("replay", &self.replay).finish()
    }
}

/// A dropped connection (broken pipe, reset, closed). Not a refused one:
/// Redis is then not accepting connections, and trying again at once would
/// only make the caller wait longer for the same answer. Not a timeout: the
/// command may still be running, and the budget is spent.
fn dropped(e: &RedisError) -> bool {
    e.is_connection_dropped() && !e.is_connection_refusal()
}

/// The time left for a replay of a call that started at `started`, if its
/// first `result` failed on a dropped connection.
fn replay_window<T>(result: &RedisResult<T>, started: Instant, budget: Duration) -> Option<Duration> {
    let e = result.as_ref().err().filter(|e| dropped(e))?;
    let left = budget.checked_sub(started.elapsed()).filter(|left| !left.is_zero())?;
    tracing::debug!(error = %e, "redis connection dropped; sending the command again over a new connection");
    Some(left)
}

async fn within<T>(left: Duration, attempt: RedisFuture<'_, T>) -> RedisResult<T> {
    match tokio::time::timeout(left, attempt).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "redis did not answer the replayed command in time").into()),
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let (replay, budget) = (self.replay, self.budget);
        let c = match &mut self.node {
            Node::Cluster(c) => return c.req_packed_command(cmd),
            Node::Single(c) => c,
        };
        if !replay {
            return c.req_packed_command(cmd);
        }
        Box::pin(async move {
            let started = Instant::now();
            let first = c.req_packed_command(cmd).await;
            match replay_window(&first, started, budget) {
                Some(left) => within(left, c.req_packed_command(cmd)).await,
                None => first,
            }
        })
    }

    fn req_packed_commands<'a>(&'a mut self, pipeline: &'a Pipeline, offset: usize, count: usize) -> RedisFuture<'a, Vec<Value>> {
        let (replay, budget) = (self.replay, self.budget);
        let c = match &mut self.node {
            Node::Cluster(c) => return c.req_packed_commands(pipeline, offset, count),
            Node::Single(c) => c,
        };
        if !replay {
            return c.req_packed_commands(pipeline, offset, count);
        }
        Box::pin(async move {
            let started = Instant::now();
            let first = c.req_packed_commands(pipeline, offset, count).await;
            match replay_window(&first, started, budget) {
                Some(left) => within(left, c.req_packed_commands(pipeline, offset, count)).await,
                None => first,
            }
        })
    }

    fn get_db(&self) -> i64 {
        match &self.node {
            Node::Single(c) => c.get_db(),
            Node::Cluster(c) => c.get_db(),
        }
    }
}
