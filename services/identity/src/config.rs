//! Identity settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    redis_store::RedisSettings,
    tokens::{self, Issuer, KeyRing, SigningKey},
    Secret,
};

use crate::providers::ProviderConfig;

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    /// Signs identity assertions.
    pub signing_key: SigningKey,
    /// Verifies admission passes.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    /// Key of the pseudonymous subject id, shared with the registry only.
    pub subject_hash_key: Secret<String>,
    pub providers: Vec<ProviderConfig>,
    pub challenge_ttl: Duration,
    pub assertion_ttl: Duration,
    /// Deadline of every call to a provider.
    pub provider_timeout: Duration,
    /// Wrong codes allowed per challenge before it is burnt.
    pub max_attempts: u32,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let signing_key = tokens::config::signing_key(env, Issuer::Identity)?;
        let trusted = tokens::config::trusted_keys(env, None)?;
        let subject_hash_key = match env.secret("SUBJECT_HASH_KEY") {
            Some(k) => k,
            None if env.environment()? == Environment::Dev => {
                tracing::warn!("dev mode: generated a subject hash key; the registry will not know anybody");
                Secret::new(uuid::Uuid::new_v4().to_string())
            }
            None => {
                return Err(ConfigError::Missing { key: "YEYAK_SUBJECT_HASH_KEY".into(), reason: "needed to pseudonymise subjects".into() })
            }
        };
        let providers =
            ProviderConfig::parse_list(&env.string("PROVIDERS", "carrier-sms=http://127.0.0.1:18082,kakao-cert=http://127.0.0.1:18083"))?;
        Ok(Self {
            server: ServerSettings::from_env(env, 50052, 9102)?,
            redis: RedisSettings::from_env(env)?,
            signing_key,
            trusted,
            queue_ids: tokens::config::queue_ids(env),
            subject_hash_key,
            providers,
            challenge_ttl: Duration::from_secs(env.parse("CHALLENGE_TTL_SECONDS", 180)?),
            assertion_ttl: Duration::from_secs(env.parse("ASSERTION_TTL_SECONDS", 1_800)?),
            provider_timeout: Duration::from_millis(env.parse("PROVIDER_TIMEOUT_MS", 3_000)?),
            max_attempts: env.parse("MAX_CODE_ATTEMPTS", 5)?,
        })
    }
}
