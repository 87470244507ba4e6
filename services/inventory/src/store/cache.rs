//! Redis cache of the hot read answers (ListRegions, SearchClinics pages,
//! GetAvailability per clinic, vaccine and range), stored as the encoded
//! protobuf responses.
//!
//! Invalidation by version keys ([`versions`]): every entry's key ends with
//! the version of its scope, which bookings move on. Reading the version and
//! the entry is one script call (one round trip).
//! The script reads an entry key it computes, so a scope's version key and
//! its entries share a hash tag (`{clinic:<id>:<vaccine>}`,
//! `{region:<code>:<vaccine>}`): one Redis Cluster slot per scope, and the
//! scopes spread over the cluster.
//!
//! Bumps are coalesced ([`Invalidator`]): during a surge a province sees many
//! bookings a second, and one bump per scope per interval keeps its search
//! pages cacheable at the cost of that interval of extra staleness (on top of
//! the read model's own event lag; the reservation ledger decides bookings).
//! A TTL bounds what a lost bump could leave behind.
//!
//! The cache is an optimisation, never a dependency: any Redis error or a
//! slow answer is counted and the read goes to PostgreSQL; after an error the
//! cache is skipped for a moment (a breaker) so that an outage costs one
//! timeout, not one per request. Every command here may run twice (reads,
//! `SET` of one value, a version moving forward once more), so the
//! connection is idempotent: the first read after a reconnection uses the
//! new connection instead of tripping the breaker. Redis restarted empty
//! costs a miss per answer, each recomputed from PostgreSQL.
use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use prometheus_client::metrics::{counter::Counter, family::Family};
use redis::{AsyncCommands as _, Script};
use yeyak_platform::{
    metrics::Metrics,
    redis_store::{self, query_by_slot, RedisConn, RedisSettings},
};

use crate::domain::CacheSettings;

mod invalidator;
#[cfg(test)]
mod tests;
mod versions;

pub(crate) use invalidator::Invalidator;
use versions::{LOOKUP, VERSION_TTL_SECS};

/// How long the cache is bypassed after a Redis error.
pub(super) const BREAKER_OPEN: Duration = Duration::from_secs(2);

/// What a cached answer depends on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// GetAvailability answers of one clinic and vaccine.
    Clinic { clinic_id: uuid::Uuid, vaccine: String },
    /// SearchClinics answers of one district or province (2 or 5 digit code) and vaccine.
    Region { code: String, vaccine: String },
}

/// A cache lookup's outcome.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit(Vec<u8>),
    /// Not cached: store the answer under this version.
    Miss(String),
    /// The cache cannot be used now.
    Bypass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct Labels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone)]
pub struct Cache {
    conn: Option<RedisConn>,
    prefix: String,
    settings: CacheSettings,
    lookup: Arc<Script>,
    /// Milliseconds since `epoch` until which the breaker stays open.
    open_until: Arc<AtomicI64>,
    epoch: Instant,
    lookups: Family<Labels, Counter>,
}

impl Cache {
    /// Connects lazily: Redis being down at start-up does not stop the service.
    pub fn new(settings: CacheSettings, metrics: &Metrics) -> anyhow::Result<Self> {
        let conn = if settings.enabled {
            let redis = RedisSettings {
                url: settings.url.clone(),
                key_prefix: settings.key_prefix.clone(),
                timeout: settings.timeout,
                mode: settings.mode,
                tls: settings.tls.clone(),
            };
            Some(redis_store::connect_lazy(&redis)?.idempotent())
        } else {
            None
        };
        let lookups = Family::<Labels, Counter>::default();
        metrics.register("inventory_cache_lookups", "Cache lookups by kind and outcome (hit, miss, bypass)", lookups.clone());
        Ok(Self {
            conn,
            prefix: format!("{}:inv", settings.key_prefix),
            settings,
            lookup: Arc::new(Script::new(LOOKUP)),
            open_until: Arc::new(AtomicI64::new(0)),
            epoch: Instant::now(),
            lookups,
        })
    }

    /// Where the funnel marks a session's first search (none when the cache is off).
    pub fn funnel_marks(&self) -> Option<(RedisConn, String)> {
        self.conn.clone().map(|conn| (conn, self.settings.key_prefix.clone()))
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The connection, unless the cache is off or the breaker is open.
    fn usable(&self) -> Option<RedisConn> {
        let conn = self.conn.as_ref()?;
        (self.now_ms() >= self.open_until.load(Ordering::Relaxed)).then(|| conn.clone())
    }

    fn trip(&self, what: &str, e: &dyn std::fmt::Display) {
        let until = self.now_ms() + i64::try_from(BREAKER_OPEN.as_millis()).unwrap_or(2_000);
        let previous = self.open_until.swap(until, Ordering::Relaxed);
        // One warning per outage, not one per request.
        if previous <= self.now_ms() {
            tracing::warn!(error = %e, %what, "redis cache unavailable; reading from PostgreSQL for a while");
        }
    }

    fn count(&self, kind: &'static str, outcome: &'static str) {
        self.lookups.get_or_create(&Labels { kind, outcome }).inc();
    }

    pub fn version_key(&self, scope: &Scope) -> String {
        format!("{}:ver:{}", self.prefix, hash_tag(scope))
    }

    /// The entry key, without its version suffix: on its scope's slot.
    fn entry_key(&self, kind: &str, scope: &Scope, parts: &str) -> String {
        format!("{}:{kind}:{}:{parts}", self.prefix, hash_tag(scope))
    }

    /// Looks up `kind`/`parts` under the current version of `scope`.
    pub(crate) async fn get(&self, kind: &'static str, scope: &Scope, parts: &str) -> Lookup {
        let Some(mut conn) = self.usable() else {
            self.count(kind, "bypass");
            return Lookup::Bypass;
        };
        let result: redis::RedisResult<(String, Option<Vec<u8>>)> = self
            .lookup
            .key(self.version_key(scope))
            .arg(self.entry_key(kind, scope, parts))
            .arg(VERSION_TTL_SECS)
            .invoke_async(&mut conn)
            .await;
        match result {
            Ok((_, Some(bytes))) => {
                self.count(kind, "hit");
                Lookup::Hit(bytes)
            }
            Ok((version, None)) => {
                self.count(kind, "miss");
                Lookup::Miss(version)
            }
            Err(e) => {
                self.trip("lookup", &e);
                self.count(kind, "bypass");
                Lookup::Bypass
            }
        }
    }

    /// Stores an answer computed after [`Cache::get`] returned `Miss(version)`.
    pub(crate) async fn put(&self, kind: &str, scope: &Scope, parts: &str, version: &str, bytes: &[u8]) {
        let Some(mut conn) = self.usable() else { return };
        let key = format!("{}:v{version}", self.entry_key(kind, scope, parts));
        let ttl = self.settings.ttl.as_secs().max(1);
        if let Err(e) = conn.set_ex::<_, _, ()>(key, bytes, ttl).await {
            self.trip("store", &e);
        }
    }

    /// The region list has no scope: it changes only when the catalogue is loaded.
    pub(crate) async fn get_regions(&self) -> Option<Vec<u8>> {
        let Some(mut conn) = self.usable() else {
            self.count("regions", "bypass");
            return None;
        };
        match conn.get::<_, Option<Vec<u8>>>(self.regions_key()).await {
            Ok(Some(bytes)) => {
                self.count("regions", "hit");
                Some(bytes)
            }
            Ok(None) => {
                self.count("regions", "miss");
                None
            }
            Err(e) => {
                self.trip("lookup", &e);
                self.count("regions", "bypass");
                None
            }
        }
    }

    pub(crate) async fn put_regions(&self, bytes: &[u8]) {
        let Some(mut conn) = self.usable() else { return };
        let ttl = self.settings.regions_ttl.as_secs().max(1);
        if let Err(e) = conn.set_ex::<_, _, ()>(self.regions_key(), bytes, ttl).await {
            self.trip("store", &e);
        }
    }

    fn regions_key(&self) -> String {
        format!("{}:regions:all", self.prefix)
    }

    /// Bumps the versions of `scopes` at once: one pipelined round trip (on
    /// a cluster, one per scope's slot, sent together).
    pub(crate) async fn bump(&self, scopes: &BTreeSet<Scope>) -> redis::RedisResult<()> {
        let Some(conn) = &self.conn else { return Ok(()) };
        if scopes.is_empty() {
            return Ok(());
        }
        let cmds = scopes
            .iter()
            .map(|scope| {
                let key = self.version_key(scope);
                (key.clone(), versions::bump(&key))
            })
            .collect();
        query_by_slot::<redis::Value>(conn, cmds).await.map(drop)
    }
}

/// The `{hash tag}` of a scope's keys.
fn hash_tag(scope: &Scope) -> String {
    match scope {
        Scope::Clinic { clinic_id, vaccine } => format!("{{clinic:{clinic_id}:{vaccine}}}"),
        Scope::Region { code, vaccine } => format!("{{region:{code}:{vaccine}}}"),
    }
}
