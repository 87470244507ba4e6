//! Admission settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    redis_store::RedisSettings,
    tokens::{self, Issuer, KeyRing, SigningKey},
    Secret,
};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    /// Signs tickets and passes.
    pub signing_key: SigningKey,
    /// Verifies tickets (the own key plus keys still valid after rotation).
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    /// Bearer token of the operator API; `None` disables it (dev only).
    pub operator_token: Option<Secret<String>>,
    /// Rate a queue starts with until an operator changes it.
    pub default_rate_per_second: f64,
    pub default_max_active: u64,
    pub pass_ttl: Duration,
    pub ticket_ttl: Duration,
    /// How often each replica advances the admission frontier.
    pub tick: Duration,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let signing_key = tokens::config::signing_key(env, Issuer::Admission)?;
        let trusted = tokens::config::trusted_keys(env, Some(&signing_key))?;
        let operator_token = env.secret("OPERATOR_TOKEN");
        if operator_token.is_none() && env.environment()? == Environment::Production {
            return Err(ConfigError::Missing { key: "YEYAK_OPERATOR_TOKEN".into(), reason: "the operator API needs a token".into() });
        }
        Ok(Self {
            server: ServerSettings::from_env(env, 50051, 9101)?,
            redis: RedisSettings::from_env(env)?,
            signing_key,
            trusted,
            queue_ids: tokens::config::queue_ids(env),
            operator_token,
            default_rate_per_second: env.parse("ADMISSION_RATE", 50.0)?,
            default_max_active: env.parse("MAX_ACTIVE_SESSIONS", 10_000)?,
            pass_ttl: Duration::from_secs(env.parse("PASS_TTL_SECONDS", 1_200)?),
            ticket_ttl: Duration::from_secs(env.parse("TICKET_TTL_SECONDS", 86_400)?),
            tick: Duration::from_millis(env.parse("ADMISSION_TICK_MS", 100)?),
        })
    }
}
