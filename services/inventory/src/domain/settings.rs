//! Settings of the Redis cache of hot answers. A value type here, so that
//! `config.rs` (which reads them) and `store::cache` (which obeys them) need
//! not import each other.
use std::time::Duration;

use yeyak_platform::{config::Secret, redis_store::RedisMode, tls::TlsSettings};

#[derive(Clone, Debug)]
pub struct CacheSettings {
    pub url: Secret<String>,
    /// A single node or a cluster (then `url` lists seed nodes).
    pub mode: RedisMode,
    pub key_prefix: String,
    /// For `rediss://` (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
    /// Off: every read goes to PostgreSQL.
    pub enabled: bool,
    /// Bound on each Redis call (connect and response).
    pub timeout: Duration,
    /// Lifetime of search and availability entries.
    pub ttl: Duration,
    /// Lifetime of the region list (it changes only with the catalogue).
    pub regions_ttl: Duration,
    /// How often coalesced version bumps are flushed.
    pub invalidation_interval: Duration,
}
