//! Inventory settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    db::DatabaseSettings,
    messaging::AmqpSettings,
    operators::Operators,
    redis_store::RedisSettings,
    tokens::{self, KeyRing},
};

use crate::domain::CacheSettings;

/// The national catalogue: 250 districts × 64 clinics = 16,000 clinics.
pub const FULL_SCALE_CLINICS_PER_DISTRICT: u32 = 64;
/// The booking horizon: 8 weeks.
pub const FULL_SCALE_DAYS: u32 = 56;

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    /// Verifies admission passes on the public API.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    /// The ended sessions the pass check follows (docs/admission.md).
    pub sessions: yeyak_platform::sessions::SessionsSettings,
    pub environment: Environment,
    /// Demo clinics per district seeded into an empty catalogue; 0 seeds
    /// nothing (the production default: real catalogues are imported).
    pub seed_clinics_per_district: u32,
    /// Days of demo slots, starting tomorrow (Asia/Seoul).
    pub seed_days: u32,
    /// Redis cache of hot read answers.
    pub cache: CacheSettings,
    /// Who may call the operator API (`YEYAK_OPERATORS`, docs/operators.md).
    /// Read only by the server: `migrate`, `seed` and `resize-slot` need
    /// no operators, so the migration Job is not given their Secret.
    pub operators: Operators,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let environment = env.environment()?;
        let default_seed = if environment == Environment::Production { 0 } else { 10 };
        let seed_days = env.parse("SEED_DAYS", 14)?;
        if seed_days > 366 {
            return Err(ConfigError::Invalid { key: "YEYAK_SEED_DAYS".into(), reason: "at most 366 days".into() });
        }
        Ok(Self {
            server: ServerSettings::from_env(env, 50054, 9104)?,
            database: DatabaseSettings::from_env(env, "yeyak_inventory")?,
            amqp: AmqpSettings::from_env(env)?,
            trusted: tokens::config::trusted_keys(env, None)?,
            queue_ids: tokens::config::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            environment,
            seed_clinics_per_district: env.parse("SEED_CLINICS_PER_DISTRICT", default_seed)?,
            seed_days,
            cache: cache_settings(env)?,
            operators: Operators::from_env(env)?,
        })
    }
}

/// The Redis cache's settings alone (`yeyak-inventory resize-slot` needs them
/// to invalidate what a resize changes, and nothing else of the server's).
pub fn cache_settings(env: &Env) -> Result<CacheSettings, ConfigError> {
    let redis = RedisSettings::from_env(env)?;
    let millis = |key: &str, default: u64| -> Result<Duration, ConfigError> {
        let value: u64 = env.parse(key, default)?;
        if value == 0 {
            return Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: "must be positive".into() });
        }
        Ok(Duration::from_millis(value))
    };
    Ok(CacheSettings {
        url: redis.url,
        mode: redis.mode,
        key_prefix: redis.key_prefix,
        tls: redis.tls,
        enabled: env.parse("CACHE_ENABLED", true)?,
        timeout: millis("CACHE_TIMEOUT_MS", 100)?,
        ttl: millis("CACHE_TTL_MS", 30_000)?,
        regions_ttl: millis("CACHE_REGIONS_TTL_MS", 600_000)?,
        invalidation_interval: millis("CACHE_INVALIDATION_MS", 200)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_differ_between_dev_and_production() {
        let dev = Config::from_env(&Env::from_pairs([("ENV", "dev")])).unwrap();
        assert_eq!(dev.seed_clinics_per_district, 10);
        assert_eq!(dev.seed_days, 14);
        assert_eq!(dev.server.grpc_addr, "127.0.0.1:50054");
        assert_eq!(dev.database.database_name().as_deref(), Some("yeyak_inventory"));
        let key = tokens::SigningKey::generate(tokens::Issuer::Admission, "k1");
        let (operators, trusted) = ("kim.ops:operator:0123456789abcdefghijklmnop", key.trusted_entry());
        let prod_env = [("ENV", "production"), ("TRUSTED_KEYS", trusted.as_str()), ("OPERATORS", operators)];
        let prod = Config::from_env(&Env::from_pairs(prod_env)).unwrap();
        assert_eq!(prod.seed_clinics_per_district, 0);
        assert_eq!(prod.operators.names(), ["kim.ops"]);
        let err = Config::from_env(&Env::from_pairs([("ENV", "production"), ("TRUSTED_KEYS", trusted.as_str())]));
        assert!(err.unwrap_err().to_string().contains("YEYAK_OPERATORS"), "serving in production needs operators");
        assert!(dev.operators.names().is_empty());
        assert!(dev.cache.enabled);
        assert_eq!(
            (dev.cache.key_prefix.as_str(), dev.cache.ttl, dev.cache.timeout),
            ("yeyak", Duration::from_secs(30), Duration::from_millis(100))
        );
    }

    #[test]
    fn cache_settings_are_checked() {
        let c =
            Config::from_env(&Env::from_pairs([("CACHE_ENABLED", "false"), ("REDIS_KEY_PREFIX", "t1"), ("CACHE_TTL_MS", "500")])).unwrap();
        assert!(!c.cache.enabled);
        assert_eq!((c.cache.key_prefix.as_str(), c.cache.ttl), ("t1", Duration::from_millis(500)));
        let err = Config::from_env(&Env::from_pairs([("CACHE_TTL_MS", "0")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_CACHE_TTL_MS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("CACHE_ENABLED", "maybe")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_CACHE_ENABLED"), "{err}");
    }

    #[test]
    fn bad_seed_settings_name_the_variable() {
        let err = Config::from_env(&Env::from_pairs([("SEED_DAYS", "400")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SEED_DAYS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("SEED_CLINICS_PER_DISTRICT", "-1")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SEED_CLINICS_PER_DISTRICT"), "{err}");
    }
}
