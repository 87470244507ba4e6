//! What a run leaves in the shared Redis: every benchmark writes under its
//! own key prefix and removes it at the end, so runs never see each other's
//! state (or another engineer's).

/// Deletes every key under `prefix:`; how many it found.
pub async fn delete_redis_prefix(prefix: &str) -> anyhow::Result<u64> {
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0")?.get_multiplexed_async_connection().await?;
    let (mut cursor, mut found) = (0u64, 0u64);
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(format!("{prefix}:*")).arg("COUNT").arg(1000).query_async(&mut conn).await?;
        if !keys.is_empty() {
            found += keys.len() as u64;
            let () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}
