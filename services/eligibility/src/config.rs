//! Eligibility settings from `YEYAK_*` variables. Every value has a default
//! that works on a developer machine.
use std::{path::PathBuf, time::Duration};

use crate::domain::BatchSettings;

use yeyak_platform::{
    config::{ConfigError, Env, ServerSettings},
    messaging::AmqpSettings,
    redis_store::RedisSettings,
    tls::{check_third_party_url, PlainHttp, TlsSettings},
    tokens::{self, KeyRing},
};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    /// Verifies admission passes and identity assertions.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    /// The ended sessions the pass check follows (docs/admission.md).
    pub sessions: yeyak_platform::sessions::SessionsSettings,
    /// `YEYAK_REGISTRY_URL`: the national insurance registry's API.
    pub registry_url: String,
    /// `YEYAK_TLS_*`: what an `https://` registry is verified against.
    pub tls: TlsSettings,
    /// `YEYAK_REGISTRY_TIMEOUT_MS`: deadline of every registry call.
    pub registry_timeout: Duration,
    /// `YEYAK_REGISTRY_MAX_BATCH` / `YEYAK_REGISTRY_MAX_IN_FLIGHT` /
    /// `YEYAK_REGISTRY_PARALLEL_FROM` / `YEYAK_REGISTRY_MAX_WAIT_MS` /
    /// `YEYAK_REGISTRY_QUEUE`: how
    /// concurrent lookups are coalesced.
    pub registry_batch: BatchSettings,
    /// `YEYAK_RULES_FILE`: the cohort rules file (TOML).
    pub rules_file: PathBuf,
    /// `YEYAK_RULE_SETS_DIR`: named rule sets (`<name>.toml`) that booking
    /// events may name; unset: only the rules file.
    pub rule_sets_dir: Option<PathBuf>,
    /// `YEYAK_RULES_RELOAD_INTERVAL_MS`: how often the rules file's
    /// modification time is checked (0: only on SIGHUP).
    pub rules_reload_interval: Duration,
    /// `YEYAK_REDIS_URL`, `YEYAK_REDIS_KEY_PREFIX`: the lookup cache, the
    /// booked set, proxy counters and processed event ids.
    pub redis: RedisSettings,
    /// `YEYAK_AMQP_URL`, `YEYAK_AMQP_EXCHANGE`, `YEYAK_AMQP_QUEUE_PREFIX`:
    /// reservation events arrive on the queue `<prefix>.eligibility.bookings`.
    pub amqp: AmqpSettings,
    /// `YEYAK_CACHE_TTL_SECONDS`: how long a registry answer is reused.
    pub cache_ttl: Duration,
    /// `YEYAK_BOOKED_TTL_SECONDS`: how long a booking is remembered (the
    /// reservation database stays the authority; this is the fast answer).
    pub booked_ttl: Duration,
    /// `YEYAK_PROXY_MAX_SUBJECTS`: people one agent may act for per event.
    pub proxy_max_subjects: u32,
    /// `YEYAK_PROXY_TTL_SECONDS`: how long an agent's count per event lives.
    pub proxy_ttl: Duration,
    /// `YEYAK_VERIFIED_TOKEN_CACHE`: identity assertions whose signature was
    /// verified, remembered (per generation; 0: off). Passes are remembered
    /// by the platform's pass check.
    pub verified_tokens: usize,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let seconds = |key: &str, default: u64| env.parse(key, default).map(Duration::from_secs);
        let config = Self {
            server: ServerSettings::from_env(env, 50053, 9103)?,
            trusted: tokens::config::trusted_keys(env, None)?,
            queue_ids: tokens::config::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            registry_url: env.string("REGISTRY_URL", "http://127.0.0.1:18081").trim_end_matches('/').to_owned(),
            tls: TlsSettings::from_env(env)?,
            registry_timeout: Duration::from_millis(env.parse("REGISTRY_TIMEOUT_MS", 1_500)?),
            registry_batch: BatchSettings {
                max_batch: env.parse::<usize>("REGISTRY_MAX_BATCH", 128)?.clamp(1, 256),
                max_in_flight: env.parse::<usize>("REGISTRY_MAX_IN_FLIGHT", 4)?.max(1),
                parallel_from: env.parse::<usize>("REGISTRY_PARALLEL_FROM", 32)?.max(1),
                max_wait: Duration::from_millis(env.parse("REGISTRY_MAX_WAIT_MS", 5)?),
                queue: env.parse::<usize>("REGISTRY_QUEUE", 8192)?.max(1),
            },
            rules_file: PathBuf::from(env.string("RULES_FILE", "services/eligibility/rules/demo.toml")),
            rule_sets_dir: env.raw("RULE_SETS_DIR").filter(|d| !d.trim().is_empty()).map(PathBuf::from),
            rules_reload_interval: Duration::from_millis(env.parse("RULES_RELOAD_INTERVAL_MS", 2_000)?),
            redis: RedisSettings::from_env(env)?,
            amqp: AmqpSettings::from_env(env)?,
            cache_ttl: seconds("CACHE_TTL_SECONDS", 30)?,
            booked_ttl: seconds("BOOKED_TTL_SECONDS", 180 * 86_400)?,
            proxy_max_subjects: env.parse("PROXY_MAX_SUBJECTS", 4)?,
            proxy_ttl: seconds("PROXY_TTL_SECONDS", 30 * 86_400)?,
            verified_tokens: env.parse("VERIFIED_TOKEN_CACHE", tokens::remembered::DEFAULT_REMEMBERED)?,
        };
        check_third_party_url("REGISTRY_URL", &config.registry_url, PlainHttp::from_env(env)?)?;
        for (key, value) in
            [("CACHE_TTL_SECONDS", config.cache_ttl), ("BOOKED_TTL_SECONDS", config.booked_ttl), ("PROXY_TTL_SECONDS", config.proxy_ttl)]
        {
            if value.is_zero() {
                return Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: "must be at least 1 second".into() });
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_without_any_variable() {
        let c = Config::from_env(&Env::from_pairs::<_, String, String>([])).unwrap();
        assert_eq!(c.registry_url, "http://127.0.0.1:18081");
        assert_eq!((c.cache_ttl, c.proxy_max_subjects), (Duration::from_secs(30), 4));
        assert_eq!(c.redis.key_prefix, "yeyak");
        assert_eq!(c.amqp.queue_prefix, "yeyak");
        assert_eq!(c.rules_reload_interval, Duration::from_secs(2));
        let err = Config::from_env(&Env::from_pairs([("CACHE_TTL_SECONDS", "0")])).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("YEYAK_CACHE_TTL_SECONDS"), "{err}");
        let c = Config::from_env(&Env::from_pairs([("PROXY_MAX_SUBJECTS", "2"), ("REGISTRY_URL", "http://r:1/")])).unwrap();
        assert_eq!((c.proxy_max_subjects, c.registry_url.as_str()), (2, "http://r:1"));
    }
}
