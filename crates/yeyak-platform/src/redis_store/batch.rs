//! Batches of commands about many entities (cache writes of many subjects,
//! version bumps of many scopes), each command within one slot.
//!
//! A pipeline is one request to one node, and the cluster client routes it
//! whole: by its first command that names a key, refusing it (`CROSSSLOT`,
//! before sending) when another command names a different slot, and to a
//! random node when no command's route is a single slot (an `MGET` alone).
//! It does not split a pipeline by node (redis 1.8,
//! `cluster_handling/async_connection/routing.rs`, `route_for_pipeline`).
//! So on a cluster a batch becomes one pipeline per slot, each sent to the
//! node owning that slot, all at once; on a single node it stays one pipeline.
use std::collections::HashMap;

use futures_util::future::try_join_all;
use redis::{
    cluster_routing::{Route, SingleNodeRoutingInfo, Slot, SlotAddr},
    Cmd, ErrorKind, FromRedisValue, Pipeline, RedisResult, Value,
};

use super::RedisConn;

/// Runs `cmds` and returns their replies in order. Each entry names a key the
/// command touches (`routing_key`); every key of one command must share its
/// slot. Commands with keys of one slot keep their relative order. On a
/// single node, a handle from [`RedisConn::idempotent`] sends the pipeline
/// again if the connection dropped.
pub async fn query_by_slot<T: FromRedisValue>(conn: &RedisConn, cmds: Vec<(String, Cmd)>) -> RedisResult<Vec<T>> {
    let Some(cluster) = conn.cluster() else {
        let mut pipe = redis::pipe();
        for (_, cmd) in cmds {
            pipe.add_command(cmd);
        }
        // Through the handle, so that an idempotent one replays the pipeline.
        return pipe.query_async(&mut conn.clone()).await;
    };
    let total = cmds.len();
    let mut groups: HashMap<Slot, (String, Vec<usize>, Pipeline)> = HashMap::new();
    for (index, (key, cmd)) in cmds.into_iter().enumerate() {
        let group = groups.entry(Slot::for_key(key.as_bytes())).or_insert_with(|| (key, Vec::new(), redis::pipe()));
        group.1.push(index);
        group.2.add_command(cmd);
    }
    let sent = groups.into_values().map(|(key, indexes, pipe)| {
        let mut conn = cluster.clone();
        async move {
            let route = SingleNodeRoutingInfo::SpecificNode(Route::with_key(key.as_bytes(), SlotAddr::Master));
            let values = conn.route_pipeline(pipe, 0, indexes.len(), route).await?;
            let replies: Vec<T> = redis::from_redis_value(Value::Array(values).extract_error()?)?;
            Ok::<_, redis::RedisError>((indexes, replies))
        }
    });
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
    for (indexes, replies) in try_join_all(sent).await? {
        if replies.len() != indexes.len() {
            return Err((ErrorKind::Client, "pipeline answered the wrong number of commands").into());
        }
        for (index, reply) in indexes.into_iter().zip(replies) {
            out[index] = Some(reply);
        }
    }
    out.into_iter().map(|reply| reply.ok_or_else(|| (ErrorKind::Client, "a batched command got no reply").into())).collect()
}
