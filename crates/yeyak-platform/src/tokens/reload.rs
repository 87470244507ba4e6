//! Key sets re-read while the service runs, so a key rotation is an update of
//! the mounted Secret and not a restart.
//!
//! A key set configured from a file (`YEYAK_TRUSTED_KEYS_FILE`,
//! `YEYAK_TICKET_KEYS_FILE`) remembers it ([`KeySource`]). [`KeyWatch`]
//! looks at each such file's fingerprint (modification time, size, inode:
//! the kubelet's symlink swap changes the inode) every
//! `YEYAK_KEY_RELOAD_INTERVAL_MS` (5 s by default; 0 never), re-reads and
//! re-parses it on a change and swaps the new set in for every holder at
//! once. A file that does not parse (or lists no key) is refused: the keys
//! in force stay, an error is logged (with the file and the reason, never
//! key material) and `yeyak_key_reloads_total{outcome="invalid"}` counts it.
use std::{path::PathBuf, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};

use super::{HmacKeys, KeyRing};
use crate::{
    config::ConfigError,
    metrics::Metrics,
    sessions::EndedSessions,
    watch::{self, FileWatch, Fingerprint},
    Shutdown,
};

/// Where a key set was read from and how often to look at it again.
#[derive(Clone, Debug)]
pub struct KeySource {
    /// The setting, as errors and logs name it (`YEYAK_TRUSTED_KEYS`).
    pub setting: String,
    pub path: PathBuf,
    pub interval: Duration,
    /// The file's fingerprint just before the keys in force were read.
    pub read_as: Option<Fingerprint>,
}

impl KeySource {
    /// Takes the fingerprint now: call it before reading the file.
    pub fn new(setting: &str, path: impl Into<PathBuf>, interval: Duration) -> Self {
        let path = path.into();
        Self { setting: setting.to_owned(), read_as: Fingerprint::of(&path), path, interval }
    }
}

/// A key set that can be replaced from its file's text.
pub trait Reloadable: Send + Sync + 'static {
    fn source(&self) -> Option<&KeySource>;
    /// `Ok(None)`: the same keys as in force; `Ok(Some(kids))`: replaced.
    fn reload(&self, text: &str) -> Result<Option<Vec<String>>, ConfigError>;
}

impl Reloadable for KeyRing {
    fn source(&self) -> Option<&KeySource> {
        KeyRing::source(self)
    }
    fn reload(&self, text: &str) -> Result<Option<Vec<String>>, ConfigError> {
        KeyRing::reload(self, text)
    }
}

impl Reloadable for HmacKeys {
    fn source(&self) -> Option<&KeySource> {
        HmacKeys::source(self)
    }
    fn reload(&self, text: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let setting = self.source().map_or("key set", |s| s.setting.as_str()).to_owned();
        HmacKeys::reload(self, &setting, text)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    keys: String,
    outcome: &'static str,
}

/// The key sets of one service to keep up to date with their files, and
/// the ended sessions its pass check follows: what the service trusts,
/// kept current while it runs.
pub struct KeyWatch {
    targets: Vec<Arc<dyn Reloadable>>,
    reloads: Family<ReloadLabels, Counter>,
    ended: Option<EndedSessions>,
}

impl KeyWatch {
    /// Registers `yeyak_key_reloads_total{keys, outcome}` (`reloaded`, `invalid`).
    pub fn new(metrics: &Metrics) -> Self {
        let reloads = Family::<ReloadLabels, Counter>::default();
        metrics.register("key_reloads", "Key set files re-read after a change, by setting and outcome", reloads.clone());
        Self { targets: Vec::new(), reloads, ended: None }
    }

    /// Follows `ended` (see [`crate::sessions`]) while [`KeyWatch::run`] runs.
    pub fn following(mut self, ended: EndedSessions) -> Self {
        self.ended = Some(ended);
        self
    }

    /// Watches `keys` if they came from a file (a clone shares the keys).
    pub fn with(mut self, keys: impl Reloadable) -> Self {
        if keys.source().is_some() {
            self.targets.push(Arc::new(keys));
        }
        self
    }

    /// Watches every file until `shutdown`; returns at once if none.
    pub async fn run(self, shutdown: Shutdown) {
        if let Some(ended) = &self.ended {
            ended.spawn(&shutdown);
        }
        let watches = self.targets.into_iter().filter_map(|target| {
            let source = target.source()?.clone();
            let file = FileWatch::new(&source.path, source.read_as);
            let reloads = self.reloads.clone();
            tracing::info!(keys = %source.setting, file = %source.path.display(), every_ms = source.interval.as_millis() as u64, "watching the key file");
            Some(watch::every(source.interval, shutdown.clone(), file, move |file: &mut FileWatch| {
                check(file, &*target, &source.setting, &reloads)
            }))
        });
        futures_util::future::join_all(watches).await;
    }
}

/// One look at the file: re-read and swap if it changed.
fn check(file: &mut FileWatch, target: &dyn Reloadable, setting: &str, reloads: &Family<ReloadLabels, Counter>) {
    if !file.changed() {
        return;
    }
    let outcome = crate::secret::read_file(file.path())
        .map_err(|reason| ConfigError::Invalid { key: format!("{setting}_FILE"), reason })
        .and_then(|text| target.reload(text.expose()));
    let path = file.path().display();
    match outcome {
        Ok(None) => tracing::debug!(keys = %setting, file = %path, "key file touched; same keys"),
        Ok(Some(kids)) => {
            reloads.get_or_create(&ReloadLabels { keys: setting.to_owned(), outcome: "reloaded" }).inc();
            tracing::info!(keys = %setting, file = %path, ?kids, "key set reloaded");
        }
        Err(e) => {
            reloads.get_or_create(&ReloadLabels { keys: setting.to_owned(), outcome: "invalid" }).inc();
            tracing::error!(keys = %setting, file = %path, error = %e, "key file refused; the keys in force stay");
        }
    }
}

#[cfg(test)]
mod tests;
