//! The rules file, and the rules in force, reloadable at run time without a
//! restart. The file is where the rules are kept, as Redis is where the
//! booked set is kept: reading and watching it is storage work, so it lives
//! here and `domain::rules` stays a pure parser of its text.
//!
//! The file is re-read when its modification time or size changes (checked
//! every `YEYAK_RULES_RELOAD_INTERVAL_MS`) and on SIGHUP. A new file that
//! fails validation is refused: the rules in force stay, the reason is logged
//! (with the line and the rule) and exposed as `last_error()` and as metrics
//! (`yeyak_eligibility_rules_reloads_total{outcome="invalid"}`,
//! `yeyak_eligibility_rules_valid` = 0) until a valid file replaces it.
use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash as _, Hasher as _},
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use parking_lot::{Mutex, RwLock};
use yeyak_platform::metrics::Metrics;

mod sets;
mod watch;

pub use sets::RuleSets;
pub(crate) use watch::{watch, Hangups};

use crate::{
    domain::{Rules, RulesError},
    metrics::RulesMetrics,
};

/// Reads and validates a rules file (the command-line tool's `validate`).
pub(crate) fn read(path: &Path) -> Result<Rules, RulesError> {
    Rules::parse(&read_text(path)?)
}

fn read_text(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|e| RulesError::Io(format!("{}: {e}", path.display())))
}

/// What the file looked like when last read. The inode is there for a
/// Kubernetes ConfigMap mount: the kubelet puts new content in a new file
/// behind the same path (a symlink swap), which can keep the size and, within
/// the file system's clock tick, the modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    #[cfg(unix)]
    let inode = |m: &std::fs::Metadata| std::os::unix::fs::MetadataExt::ino(m);
    #[cfg(not(unix))]
    let inode = |_: &std::fs::Metadata| 0;
    std::fs::metadata(path).ok().map(|m| Fingerprint { modified: m.modified().ok(), len: m.len(), inode: inode(&m) })
}

fn content_hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[derive(Debug)]
struct WatchState {
    seen: Option<Fingerprint>,
    content: u64,
    last_error: Option<String>,
}

/// The outcome of one reload attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reload {
    /// The file did not change (or changed back to what is in force).
    Unchanged,
    Reloaded {
        from: String,
        to: String,
    },
    /// Refused; the rules in force stay.
    Invalid(String),
}

/// The rules in force. Readers take a cheap `Arc` snapshot per request, so a
/// reload never changes the rules under a decision being made.
pub struct RulesHandle {
    path: PathBuf,
    current: RwLock<Arc<Rules>>,
    state: Mutex<WatchState>,
    metrics: RulesMetrics,
}

impl RulesHandle {
    /// Loads the file at start: an invalid file stops the service here.
    pub(crate) fn load(path: &Path, metrics: &Metrics) -> Result<Arc<Self>, RulesError> {
        Self::load_with(path, RulesMetrics::register(metrics))
    }

    /// Loads with metrics of its own (a named rule set's are not exported).
    pub(crate) fn load_with(path: &Path, m: RulesMetrics) -> Result<Arc<Self>, RulesError> {
        let seen = fingerprint(path);
        let text = read_text(path)?;
        let rules = Rules::parse(&text)?;
        m.in_force(&rules.version);
        Ok(Arc::new(Self {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(rules)),
            state: Mutex::new(WatchState { seen, content: content_hash(&text), last_error: None }),
            metrics: m,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<Rules> {
        self.current.read().clone()
    }

    /// Why the last reload was refused, while the file on disk is still that
    /// refused one.
    pub fn last_error(&self) -> Option<String> {
        self.state.lock().last_error.clone()
    }

    /// Reloads if the file's modification time or size changed.
    pub(crate) fn check(&self) -> Reload {
        let now = fingerprint(&self.path);
        let changed = self.state.lock().seen != now;
        if changed {
            self.reload()
        } else {
            Reload::Unchanged
        }
    }

    /// Re-reads the file whatever its modification time says (SIGHUP).
    pub(crate) fn reload(&self) -> Reload {
        let seen = fingerprint(&self.path);
        let text = match read_text(&self.path) {
            Ok(text) => text,
            Err(e) => return self.refuse(seen, None, e),
        };
        let hash = content_hash(&text);
        {
            let mut state = self.state.lock();
            if state.content == hash {
                state.seen = seen;
                if state.last_error.take().is_some() {
                    self.metrics.back_in_force();
                    tracing::info!(file = %self.path.display(), "rules file is back to the rules in force");
                }
                return Reload::Unchanged;
            }
        }
        match Rules::parse(&text) {
            Err(e) => self.refuse(seen, Some(hash), e),
            Ok(rules) => {
                let to = rules.version.clone();
                let from = std::mem::replace(&mut *self.current.write(), Arc::new(rules)).version.clone();
                *self.state.lock() = WatchState { seen, content: hash, last_error: None };
                self.metrics.reloaded(&to);
                tracing::info!(file = %self.path.display(), %from, %to, "rules reloaded");
                Reload::Reloaded { from, to }
            }
        }
    }

    fn refuse(&self, seen: Option<Fingerprint>, hash: Option<u64>, error: RulesError) -> Reload {
        let message = error.to_string();
        let in_force = self.current().version.clone();
        {
            let mut state = self.state.lock();
            state.seen = seen;
            if let Some(hash) = hash {
                // Remember the refused content so it is not re-parsed every tick.
                state.content = hash;
            }
            state.last_error = Some(message.clone());
        }
        self.metrics.refused();
        tracing::warn!(file = %self.path.display(), %in_force, error = %message, "rules reload refused; the rules in force stay");
        Reload::Invalid(message)
    }
}

#[cfg(test)]
mod tests;
