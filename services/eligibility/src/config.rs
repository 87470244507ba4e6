//! Eligibility settings from `YEYAK_*` variables.
use std::{path::PathBuf, time::Duration};

use yeyak_platform::{
    config::{ConfigError, Env, ServerSettings},
    tokens::{self, KeyRing},
};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    /// Verifies admission passes and identity assertions.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    pub registry_url: String,
    /// Deadline of every registry call.
    pub registry_timeout: Duration,
    /// The cohort rules file (TOML).
    pub rules_file: PathBuf,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerSettings::from_env(env, 50053, 9103)?,
            trusted: tokens::config::trusted_keys(env, None)?,
            queue_ids: tokens::config::queue_ids(env),
            registry_url: env.string("REGISTRY_URL", "http://127.0.0.1:18081").trim_end_matches('/').to_owned(),
            registry_timeout: Duration::from_millis(env.parse("REGISTRY_TIMEOUT_MS", 1_500)?),
            rules_file: PathBuf::from(env.string("RULES_FILE", "services/eligibility/rules/demo.toml")),
        })
    }
}
