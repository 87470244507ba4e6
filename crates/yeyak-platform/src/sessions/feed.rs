//! Following the streams of ended sessions (see the module docs).
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use parking_lot::{Mutex, RwLock};
use redis::RedisResult;

use super::{catalog, ended_key, Catalog};
use crate::{
    config::{ConfigError, Env},
    redis_store::{self, RedisConn, RedisSettings},
    Shutdown,
};

/// Entries read per command: a backlog is read in pages.
const PAGE: usize = 5_000;

#[derive(Clone, Debug)]
pub struct SessionsSettings {
    /// `off` only where the 2-second bound is given up (documented).
    pub enabled: bool,
    /// Admission's Redis (`YEYAK_SESSIONS_REDIS_URL`, `_KEY_PREFIX`, ...).
    pub redis: RedisSettings,
    pub interval: Duration,
    pub max_staleness: Duration,
    /// At least the longest a pass lives (a seat's longest duration).
    pub retention: Duration,
}

impl SessionsSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: env.string("SESSIONS_FEED", "on") != "off",
            redis: RedisSettings::from_env_named(env, "SESSIONS_REDIS")?,
            interval: Duration::from_millis(env.parse("SESSIONS_POLL_MS", 250)?),
            max_staleness: Duration::from_millis(env.parse("SESSIONS_MAX_STALENESS_MS", 1_500)?),
            retention: Duration::from_secs(env.parse("SESSIONS_RETENTION_S", 1_800)?),
        })
    }
}

/// Whether a pass's session is still live, as far as this replica knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Live,
    Ended,
    /// The streams could not be read for longer than allowed.
    Unknown,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ended session id → when this replica learnt of it (ms), for pruning.
    /// Read on every protected call, written by one task: a read lock.
    ended: RwLock<HashMap<String, i64>>,
    last_read_ms: AtomicI64,
    max_staleness_ms: i64,
    following: bool,
    /// The booking events as last read; `None` until a catalog was read
    /// (then the service's configured queues decide).
    catalog: RwLock<Option<Arc<Catalog>>>,
    /// Until [`EndedSessions::spawn`] takes it.
    reader: Mutex<Option<Reader>>,
}

/// The ended sessions of the events a service serves. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct EndedSessions {
    inner: Arc<Inner>,
}

impl EndedSessions {
    /// Knows of no ended session and never goes stale (feed off, tests).
    pub fn off() -> Self {
        Self::default()
    }

    /// The ended sessions of `queues`, read once now and followed once
    /// [`EndedSessions::spawn`] runs. Connects lazily: a service starts
    /// while Redis is down, and refuses every pass until a read succeeds.
    pub async fn new(settings: &SessionsSettings, queues: Vec<String>) -> RedisResult<Self> {
        if !settings.enabled {
            return Ok(Self::off());
        }
        let conn = redis_store::connect_lazy(&settings.redis)?.idempotent();
        let mut reader = Reader {
            conn,
            prefix: settings.redis.key_prefix.clone(),
            last: queues.into_iter().map(|q| (q, "-".to_owned())).collect(),
            interval: settings.interval,
            retention_ms: settings.retention.as_millis() as i64,
        };
        let feed = Self {
            inner: Arc::new(Inner { max_staleness_ms: settings.max_staleness.as_millis() as i64, following: true, ..Default::default() }),
        };
        feed.read(&mut reader).await;
        *feed.inner.reader.lock() = Some(reader);
        Ok(feed)
    }

    /// One pass over the streams; a failure is logged, and only the time
    /// since the last good read decides what happens to passes.
    async fn read(&self, reader: &mut Reader) {
        let now = chrono::Utc::now().timestamp_millis();
        match reader.read(self, now).await {
            Ok(()) => self.inner.last_read_ms.store(now, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "cannot read the ended sessions: passes are refused once the last read is too old"),
        }
        self.prune(now - reader.retention_ms);
    }

    /// [`EndedSessions::new`] and [`EndedSessions::spawn`] at once.
    pub async fn follow(settings: &SessionsSettings, queues: Vec<String>, shutdown: &Shutdown) -> RedisResult<Self> {
        let feed = Self::new(settings, queues).await?;
        feed.spawn(shutdown);
        Ok(feed)
    }

    /// Reads the streams now and then every interval, until `shutdown`.
    /// Only the first call starts anything.
    pub fn spawn(&self, shutdown: &Shutdown) {
        let Some(mut reader) = self.inner.reader.lock().take() else { return };
        let (feed, shutdown) = (self.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _running = shutdown.track("ended-sessions feed");
            loop {
                feed.read(&mut reader).await;
                tokio::select! {
                    _ = shutdown.wait() => return,
                    _ = tokio::time::sleep(reader.interval) => {}
                }
            }
        });
    }

    pub fn state(&self, session_id: &str, now_ms: i64) -> SessionState {
        if !self.inner.following {
            return SessionState::Live;
        }
        if now_ms - self.inner.last_read_ms.load(Ordering::Relaxed) > self.inner.max_staleness_ms {
            return SessionState::Unknown;
        }
        if self.inner.ended.read().contains_key(session_id) {
            SessionState::Ended
        } else {
            SessionState::Live
        }
    }

    /// Whether passes of `event` are honoured, by the catalog of booking
    /// events; `None` while no catalog has been read (feed off, or an
    /// admission that publishes none).
    pub fn serves(&self, event: &str) -> Option<bool> {
        self.inner.catalog.read().as_ref().map(|c| c.serves(event))
    }

    /// The booking events as last read (eligibility picks rule sets by it).
    pub fn catalog(&self) -> Option<Arc<Catalog>> {
        self.inner.catalog.read().clone()
    }

    /// Sessions known to have ended (metrics, tests).
    pub fn known(&self) -> usize {
        self.inner.ended.read().len()
    }

    fn learn(&self, ids: impl IntoIterator<Item = String>, now_ms: i64) {
        let mut ended = self.inner.ended.write();
        for id in ids {
            ended.entry(id).or_insert(now_ms);
        }
    }

    fn prune(&self, before_ms: i64) {
        self.inner.ended.write().retain(|_, learnt| *learnt >= before_ms);
    }
}

/// Where each stream was read up to.
struct Reader {
    conn: RedisConn,
    prefix: String,
    last: HashMap<String, String>,
    interval: Duration,
    retention_ms: i64,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("queues", &self.last.len()).finish()
    }
}

type Entries = Vec<(String, Vec<(String, String)>)>;

impl Reader {
    /// The catalog when its version changed (then the new events' streams
    /// are followed too); a missing copy keeps the last one read.
    async fn follow_catalog(&mut self, feed: &EndedSessions) -> RedisResult<()> {
        let known = feed.inner.catalog.read().as_ref().map(|c| c.version);
        let Some(version) = catalog::version(&self.conn, &self.prefix).await? else { return Ok(()) };
        if known == Some(version) {
            return Ok(());
        }
        let Some(read) = catalog::read(&self.conn, &self.prefix).await? else { return Ok(()) };
        for event in read.events.keys() {
            self.last.entry(event.clone()).or_insert_with(|| "-".to_owned());
        }
        tracing::info!(version = read.version, events = read.events.len(), "booking events catalog read");
        *feed.inner.catalog.write() = Some(Arc::new(read));
        Ok(())
    }

    async fn read(&mut self, feed: &EndedSessions, now_ms: i64) -> RedisResult<()> {
        self.follow_catalog(feed).await?;
        for (queue, last) in &mut self.last {
            loop {
                let start = if last == "-" { "-".to_owned() } else { format!("({last}") };
                let entries: Entries = redis::cmd("XRANGE")
                    .arg(ended_key(&self.prefix, queue))
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(PAGE)
                    .query_async(&mut self.conn.clone())
                    .await?;
                let full = entries.len() == PAGE;
                if let Some((id, _)) = entries.last() {
                    last.clone_from(id);
                }
                feed.learn(
                    entries.into_iter().flat_map(|(_, fields)| fields.into_iter().filter(|(k, _)| k == "sid").map(|(_, v)| v)),
                    now_ms,
                );
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }
}
