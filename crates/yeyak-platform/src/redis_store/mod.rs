//! Redis: one multiplexed, auto-reconnecting connection per service, to a
//! single node or to a Redis Cluster (`YEYAK_REDIS_MODE`), with a response
//! timeout so that a Redis outage fails calls fast instead of hanging.
//!
//! [`connect`] (and [`connect_lazy`]) is the one place that builds clients;
//! the stores only see [`RedisConn`]. In cluster mode every script and
//! pipeline must touch keys of one slot (a shared `{hash tag}`), and batches
//! over many entities go through [`query_by_slot`]. Stores whose commands may
//! run twice take [`RedisConn::idempotent`], so that the first call after a
//! reconnection does not fail (see `conn`).
mod batch;
pub mod claim;
mod conn;

use std::{str::FromStr, time::Duration};

use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig},
    ErrorKind, RedisResult,
};

use self::conn::Node;
pub use self::{batch::query_by_slot, conn::RedisConn};
use crate::{
    config::{ConfigError, Env, Secret},
    tls::TlsSettings,
};

/// How the Redis behind `YEYAK_REDIS_URL` is deployed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedisMode {
    /// One server (or a primary behind a failover address).
    #[default]
    Single,
    /// A Redis Cluster; `YEYAK_REDIS_URL` lists seed nodes, comma-separated.
    Cluster,
}

impl FromStr for RedisMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "single" => Ok(Self::Single),
            "cluster" => Ok(Self::Cluster),
            other => Err(format!("unknown mode {other:?} (single or cluster)")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// One URL (`redis://` or `rediss://`), or in cluster mode several seed
    /// node URLs separated by commas.
    pub url: Secret<String>,
    /// Prefix of every key this instance writes (tests use a unique one).
    pub key_prefix: String,
    pub timeout: Duration,
    pub mode: RedisMode,
    /// For `rediss://`: the CA bundle and client certificate (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
}

impl RedisSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::from_env_named(env, "REDIS")
    }

    /// The settings of another Redis than the service's own, read from
    /// `YEYAK_<name>_URL`, `_KEY_PREFIX`, `_TIMEOUT_MS`, `_MODE`.
    pub fn from_env_named(env: &Env, name: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.secret(&format!("{name}_URL"))?.unwrap_or_else(|| Secret::new("redis://127.0.0.1:6379/0".into())),
            key_prefix: env.string(&format!("{name}_KEY_PREFIX"), "yeyak"),
            timeout: Duration::from_millis(env.parse(&format!("{name}_TIMEOUT_MS"), 500)?),
            mode: env.parse(&format!("{name}_MODE"), RedisMode::Single)?,
            tls: TlsSettings::from_env(env)?,
        })
    }

    pub fn for_test(prefix: &str) -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379/0".into()),
            key_prefix: prefix.into(),
            timeout: Duration::from_millis(500),
            mode: RedisMode::Single,
            tls: TlsSettings::default(),
        }
    }

    /// The URLs of `url`; a single node takes exactly one.
    fn urls(&self) -> RedisResult<Vec<&str>> {
        let urls: Vec<&str> = self.url.expose().split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        match (self.mode, urls.len()) {
            (_, 0) => Err((ErrorKind::InvalidClientConfig, "YEYAK_REDIS_URL is empty").into()),
            (RedisMode::Single, n) if n > 1 => {
                Err((ErrorKind::InvalidClientConfig, "several Redis URLs need YEYAK_REDIS_MODE=cluster").into())
            }
            _ => Ok(urls),
        }
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
    }

    /// The timeouts also bound a request's retries and redirections (the
    /// client's overall timeout defaults to the response timeout), so a
    /// cluster outage fails a call within `timeout` like a single node's.
    fn cluster_client(&self) -> RedisResult<ClusterClient> {
        let builder = ClusterClientBuilder::new(self.urls()?).connection_timeout(self.timeout).response_timeout(self.timeout);
        match self.certificates()? {
            Some(certs) => builder.certs(certs),
            None => builder,
        }
        .build()
    }

    /// A single node's client; `rediss://` verifies the server with the
    /// configured CA (or the system roots when none is configured).
    fn client(&self) -> RedisResult<redis::Client> {
        let url = self.urls()?[0];
        match self.certificates()? {
            Some(certs) if url.starts_with("rediss://") => redis::Client::build_with_tls(url, certs),
            _ => redis::Client::open(url),
        }
    }

    fn certificates(&self) -> RedisResult<Option<redis::TlsCertificates>> {
        crate::tls::install_provider();
        self.tls.redis_certificates().map_err(|e| (ErrorKind::InvalidClientConfig, "TLS settings", e.to_string()).into())
    }
}

/// Connects now: the first command cannot wait on a handshake, and a service
/// that needs Redis to serve fails at start-up rather than on its first call.
pub async fn connect(settings: &RedisSettings) -> RedisResult<RedisConn> {
    match settings.mode {
        RedisMode::Single => {
            let client = settings.client()?;
            let manager = ConnectionManager::new_with_config(client, settings.manager_config()).await?;
            Ok(RedisConn::new(Node::Single(manager), settings.timeout))
        }
        RedisMode::Cluster => Ok(RedisConn::new(Node::Cluster(settings.cluster_client()?.get_async_connection().await?), settings.timeout)),
    }
}

/// Connects in the background, for a service whose Redis is an optimisation
/// and must start while Redis is down (a bad URL still fails here). Needs a
/// Tokio runtime.
pub fn connect_lazy(settings: &RedisSettings) -> RedisResult<RedisConn> {
    match settings.mode {
        RedisMode::Single => {
            let client = settings.client()?;
            let manager = ConnectionManager::new_lazy_with_config(client, settings.manager_config())?;
            Ok(RedisConn::new(Node::Single(manager), settings.timeout))
        }
        RedisMode::Cluster => {
            let config = ClusterConfig::new().set_connection_timeout(settings.timeout).set_response_timeout(settings.timeout);
            let cluster = settings.cluster_client()?.get_pending_async_connection_with_config(config);
            Ok(RedisConn::new(Node::Cluster(cluster), settings.timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_defaults_to_single_and_cluster_takes_seed_lists() {
        let single = RedisSettings::from_env(&Env::from_pairs([("REDIS_URL", "redis://a:1,redis://b:2")])).unwrap();
        assert_eq!(single.mode, RedisMode::Single);
        assert!(single.urls().is_err(), "a single node takes one URL");
        let cluster =
            RedisSettings::from_env(&Env::from_pairs([("REDIS_MODE", "cluster"), ("REDIS_URL", " redis://a:1, rediss://b:2 ,")])).unwrap();
        assert_eq!(cluster.urls().unwrap(), ["redis://a:1", "rediss://b:2"]);
        let err = RedisSettings::from_env(&Env::from_pairs([("REDIS_MODE", "sentinel")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_REDIS_MODE"), "{err}");
    }
}
