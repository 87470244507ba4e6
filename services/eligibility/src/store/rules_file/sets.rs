//! Named rule sets, one per file of a directory (`YEYAK_RULE_SETS_DIR`,
//! e.g. a ConfigMap mount): a booking event names the set it is judged by
//! (admission's catalog of events), so several events run at once, each
//! with its own cohorts and windows. The directory is scanned on the same
//! schedule as the rules file: a new file becomes a set without a restart,
//! a changed one reloads (an invalid change is refused and the set in force
//! stays), and an event naming a set this replica does not have is refused
//! as unavailable (the file is on its way, or the event names a wrong set).
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use parking_lot::RwLock;

use super::RulesHandle;
use crate::{
    domain::{Rules, RulesError},
    metrics::RulesMetrics,
};

#[derive(Default)]
pub struct RuleSets {
    dir: Option<PathBuf>,
    named: RwLock<HashMap<String, Arc<RulesHandle>>>,
}

impl RuleSets {
    /// Loads every `*.toml` of `dir` (none when `None`); an invalid file
    /// stops the service at start, as the rules file does.
    pub(crate) fn load(dir: Option<&Path>) -> Result<Self, RulesError> {
        let sets = Self { dir: dir.map(Path::to_owned), named: RwLock::default() };
        for (name, path) in sets.files()? {
            let handle = RulesHandle::load_with(&path, RulesMetrics::default())?;
            tracing::info!(rule_set = %name, version = %handle.current().version, "rule set loaded");
            sets.named.write().insert(name, handle);
        }
        Ok(sets)
    }

    /// The rules of set `name` in force, if this replica has it.
    pub fn get(&self, name: &str) -> Option<Arc<Rules>> {
        self.named.read().get(name).map(|h| h.current())
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.named.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Reloads changed sets and loads new files (blocking file I/O).
    pub(crate) fn check(&self) {
        let files = match self.files() {
            Ok(files) => files,
            Err(e) => return tracing::warn!(error = %e, "cannot list the rule sets directory; the sets in force stay"),
        };
        for (name, path) in files {
            let known = self.named.read().get(&name).cloned();
            match known {
                Some(handle) => {
                    handle.check();
                }
                None => match RulesHandle::load_with(&path, RulesMetrics::default()) {
                    Ok(handle) => {
                        tracing::info!(rule_set = %name, version = %handle.current().version, "new rule set loaded");
                        self.named.write().insert(name, handle);
                    }
                    Err(e) => tracing::warn!(rule_set = %name, error = %e, "new rule set refused"),
                },
            }
        }
    }

    /// `(name, path)` of every `<name>.toml` in the directory.
    fn files(&self) -> Result<Vec<(String, PathBuf)>, RulesError> {
        let Some(dir) = &self.dir else { return Ok(Vec::new()) };
        let entries = std::fs::read_dir(dir).map_err(|e| RulesError::Io(format!("{}: {e}", dir.display())))?;
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
            // A ConfigMap mount holds `..data` links and dot-directories: skip them.
            if let (Some(name), Some("toml")) = (name, path.extension().and_then(|e| e.to_str())) {
                if !name.starts_with('.') && path.is_file() {
                    files.push((name, path));
                }
            }
        }
        Ok(files)
    }
}
