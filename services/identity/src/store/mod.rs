//! Challenges in Redis with a TTL, so a verification started on one replica
//! completes on another. A challenge holds no personal data: only the
//! provider, its transaction id, the admission session and an attempt count.
use redis::{aio::ConnectionManager, AsyncCommands as _};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Challenge {
    pub provider_id: String,
    pub transaction_id: String,
    /// Admission session the verification runs under.
    pub sid: String,
}

#[derive(Clone)]
pub struct ChallengeStore {
    conn: ConnectionManager,
    prefix: String,
}

impl ChallengeStore {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self { conn, prefix: format!("{prefix}:identity:challenge") }
    }

    pub async fn put(&self, id: &str, challenge: &Challenge, ttl_secs: u64) -> redis::RedisResult<()> {
        let json = serde_json::to_string(challenge).unwrap_or_default();
        self.conn.clone().set_ex(format!("{}:{id}", self.prefix), json, ttl_secs).await
    }

    pub async fn get(&self, id: &str) -> redis::RedisResult<Option<Challenge>> {
        let raw: Option<String> = self.conn.clone().get(format!("{}:{id}", self.prefix)).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// Removes the challenge; true only for the caller that removed it, so a
    /// challenge completes at most once even with concurrent calls.
    pub async fn take(&self, id: &str) -> redis::RedisResult<bool> {
        let removed: u64 = self.conn.clone().del(format!("{}:{id}", self.prefix)).await?;
        Ok(removed == 1)
    }

    /// Counts a wrong code; returns the attempts made so far.
    pub async fn count_attempt(&self, id: &str, ttl_secs: u64) -> redis::RedisResult<u32> {
        let key = format!("{}:{id}:attempts", self.prefix);
        let (n,): (u32,) = redis::pipe()
            .incr(&key, 1)
            .ignore()
            .expire(&key, ttl_secs as i64)
            .ignore()
            .get(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n)
    }
}
