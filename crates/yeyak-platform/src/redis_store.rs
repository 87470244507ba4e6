//! Redis: one multiplexed, auto-reconnecting connection per service, with a
//! response timeout so that a Redis outage fails calls fast instead of hanging.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{ConfigError, Env, Secret};

#[derive(Clone, Debug)]
pub struct RedisSettings {
    pub url: Secret<String>,
    /// Prefix of every key this instance writes (tests use a unique one).
    pub key_prefix: String,
    pub timeout: Duration,
}

impl RedisSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.secret("REDIS_URL")?.unwrap_or_else(|| Secret::new("redis://127.0.0.1:6379/0".into())),
            key_prefix: env.string("REDIS_KEY_PREFIX", "yeyak"),
            timeout: Duration::from_millis(env.parse("REDIS_TIMEOUT_MS", 500)?),
        })
    }

    pub fn for_test(prefix: &str) -> Self {
        Self { url: Secret::new("redis://127.0.0.1:6379/0".into()), key_prefix: prefix.into(), timeout: Duration::from_millis(500) }
    }
}

pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(settings.url.expose().as_str())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(settings.timeout))
        .set_response_timeout(Some(settings.timeout))
        .set_number_of_retries(1);
    ConnectionManager::new_with_config(client, config).await
}
