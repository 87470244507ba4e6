//! Identity settings from `YEYAK_*` variables. Every threshold of the health
//! rules, the breaker, the bulkheads and the abuse limits is configurable;
//! the defaults are documented in `docs/identity.md`.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    redis_store::RedisSettings,
    tls::{check_third_party_url, PlainHttp, TlsSettings},
    tokens::{self, Issuer, KeyRing, SigningKey},
    Secret,
};

use crate::domain::{
    health::{BreakerSettings, HealthRules},
    ProviderConfig,
};

/// The providers `make run` starts (`scripts/run.sh` passes its own list).
pub const DEFAULT_PROVIDERS: &str = "carrier-sms=http://127.0.0.1:18082#sms_code,kakao-cert=http://127.0.0.1:18083#app_approval,\
                                     naver-cert=http://127.0.0.1:18085#app_approval,fin-cert=http://127.0.0.1:18086#fin_cert";

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    /// Signs identity assertions.
    pub signing_key: SigningKey,
    /// Verifies admission passes.
    pub trusted: KeyRing,
    /// Verifies identity's own assertions (GrantConsent): the trusted keys
    /// plus the signing key, so a rotation's old key keeps working.
    pub assertions: KeyRing,
    pub queue_ids: Vec<String>,
    /// The ended sessions the pass check follows (docs/admission.md).
    pub sessions: yeyak_platform::sessions::SessionsSettings,
    /// Key of the pseudonymous subject id, shared with the registry only.
    pub subject_hash_key: Secret<String>,
    /// `YEYAK_PROVIDERS`, with `YEYAK_PROVIDER_MAX_IN_FLIGHT` / `YEYAK_PROVIDER_LIMITS`.
    pub providers: Vec<ProviderConfig>,
    /// What `https://` providers are verified against (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
    /// `YEYAK_PROVIDER_TIMEOUT_MS`: deadline of every call to a provider.
    pub provider_timeout: Duration,
    /// `YEYAK_PROVIDER_RETRIES`: retries of idempotent provider calls (start, probe).
    pub provider_retries: u32,
    pub health: HealthRules,
    pub breaker: BreakerSettings,
    /// `YEYAK_MAX_IN_FLIGHT_VERIFICATIONS`: Start/CompleteVerification calls
    /// served at once per replica; beyond, RESOURCE_EXHAUSTED at once.
    pub max_in_flight_verifications: usize,
    pub challenge_ttl: Duration,
    pub assertion_ttl: Duration,
    /// `YEYAK_CONSENT_TTL_SECONDS`: how long a consent token for proxy booking lasts.
    pub consent_ttl: Duration,
    /// `YEYAK_MAX_CODE_ATTEMPTS`: wrong codes per challenge before it is burnt.
    pub max_code_attempts: u32,
    /// `YEYAK_ATTEMPT_WINDOW_SECONDS`: window of the per-subject, per-phone and per-pass counters.
    pub attempt_window: Duration,
    pub max_attempts_per_subject: u32,
    pub max_attempts_per_phone: u32,
    pub max_attempts_per_pass: u32,
    /// `YEYAK_PROXY_LIMIT`: distinct people one admission pass may verify
    /// (oneself plus one parent by default).
    pub proxy_limit: u32,
    /// `YEYAK_PLACE_BINDING_TTL_SECONDS`: how long a verified person stays
    /// bound to the admission session (place in line) they verified under,
    /// per event; a second place of the same event is refused meanwhile.
    /// Default the ticket lifetime (the event); 0 turns the binding off.
    pub place_binding_ttl: Duration,
    /// `YEYAK_APPROVAL_WAIT_MS`: how long CompleteVerification waits for an
    /// app approval or certificate signature before answering "pending".
    pub approval_wait: Duration,
    /// `YEYAK_APPROVAL_POLL_MS`: how often it asks the provider meanwhile.
    pub approval_poll: Duration,
}

fn millis(env: &Env, key: &str, default: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(env.parse(key, default)?))
}

fn ratio(env: &Env, key: &str, default: f64) -> Result<f64, ConfigError> {
    let v: f64 = env.parse(key, default)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: "must be between 0 and 1".into() })
    }
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let signing_key = tokens::config::signing_key(env, Issuer::Identity)?;
        let trusted = tokens::config::trusted_keys(env, None)?;
        let subject_hash_key = match env.secret("SUBJECT_HASH_KEY")? {
            Some(k) => k,
            None if env.environment()? == Environment::Dev => {
                tracing::warn!("dev mode: generated a subject hash key; the registry will not know anybody");
                Secret::new(uuid::Uuid::new_v4().to_string())
            }
            None => {
                return Err(ConfigError::Missing { key: "YEYAK_SUBJECT_HASH_KEY".into(), reason: "needed to pseudonymise subjects".into() })
            }
        };
        let providers = ProviderConfig::parse_list(
            &env.string("PROVIDERS", DEFAULT_PROVIDERS),
            env.parse("PROVIDER_MAX_IN_FLIGHT", 64)?,
            &env.string("PROVIDER_LIMITS", ""),
        )?;
        let plain_http = PlainHttp::from_env(env)?;
        for provider in &providers {
            check_third_party_url("PROVIDERS", &provider.url, plain_http)?;
        }
        let defaults = HealthRules::default();
        let health = HealthRules {
            window: Duration::from_secs(env.parse("HEALTH_WINDOW_SECONDS", defaults.window.as_secs())?.max(1)),
            min_calls: env.parse("HEALTH_MIN_CALLS", defaults.min_calls)?,
            yellow_success: ratio(env, "HEALTH_YELLOW_SUCCESS", defaults.yellow_success)?,
            red_success: ratio(env, "HEALTH_RED_SUCCESS", defaults.red_success)?,
            yellow_p99: millis(env, "HEALTH_YELLOW_P99_MS", defaults.yellow_p99.as_millis() as u64)?,
            red_p50: millis(env, "HEALTH_RED_P50_MS", defaults.red_p50.as_millis() as u64)?,
            yellow_saturation: ratio(env, "HEALTH_YELLOW_SATURATION", defaults.yellow_saturation)?,
        };
        if health.red_success > health.yellow_success {
            return Err(ConfigError::Invalid {
                key: "YEYAK_HEALTH_RED_SUCCESS".into(),
                reason: "must not exceed YEYAK_HEALTH_YELLOW_SUCCESS".into(),
            });
        }
        let b = BreakerSettings::default();
        let breaker = BreakerSettings {
            consecutive_failures: env.parse("BREAKER_CONSECUTIVE_FAILURES", b.consecutive_failures)?.max(1),
            open_for: millis(env, "BREAKER_OPEN_MS", b.open_for.as_millis() as u64)?,
            max_open_for: millis(env, "BREAKER_MAX_OPEN_MS", b.max_open_for.as_millis() as u64)?,
            probe_interval: millis(env, "BREAKER_PROBE_INTERVAL_MS", b.probe_interval.as_millis() as u64)?.max(Duration::from_millis(10)),
            probes_to_close: env.parse("BREAKER_PROBES_TO_CLOSE", b.probes_to_close)?.max(1),
        };
        let server = ServerSettings::from_env(env, 50052, 9102)?;
        let provider_timeout = millis(env, "PROVIDER_TIMEOUT_MS", 3_000)?;
        let approval_wait = millis(env, "APPROVAL_WAIT_MS", 2_000)?;
        if approval_wait + provider_timeout > server.request_timeout {
            tracing::warn!("APPROVAL_WAIT_MS + PROVIDER_TIMEOUT_MS exceed REQUEST_TIMEOUT_MS; waits are cut to the caller's deadline");
        }
        // A ring of its own (a clone would share, and trust identity's key
        // for passes too); it follows YEYAK_TRUSTED_KEYS_FILE all the same.
        let mut assertions = trusted.fork();
        assertions.trust(&signing_key);
        Ok(Self {
            server,
            redis: RedisSettings::from_env(env)?,
            signing_key,
            trusted,
            assertions,
            queue_ids: tokens::config::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            subject_hash_key,
            providers,
            tls: TlsSettings::from_env(env)?,
            provider_timeout,
            provider_retries: env.parse("PROVIDER_RETRIES", 1)?,
            health,
            breaker,
            max_in_flight_verifications: env.parse("MAX_IN_FLIGHT_VERIFICATIONS", 512)?,
            challenge_ttl: Duration::from_secs(env.parse("CHALLENGE_TTL_SECONDS", 180)?),
            assertion_ttl: Duration::from_secs(env.parse("ASSERTION_TTL_SECONDS", 1_800)?),
            // At most a week: a consent cannot be withdrawn before it expires.
            consent_ttl: Duration::from_secs(env.parse::<u64>("CONSENT_TTL_SECONDS", 86_400)?.clamp(60, 7 * 86_400)),
            max_code_attempts: env.parse("MAX_CODE_ATTEMPTS", 5)?,
            attempt_window: Duration::from_secs(env.parse("ATTEMPT_WINDOW_SECONDS", 900)?.max(1)),
            max_attempts_per_subject: env.parse("MAX_ATTEMPTS_PER_SUBJECT", 10)?,
            max_attempts_per_phone: env.parse("MAX_ATTEMPTS_PER_PHONE", 10)?,
            max_attempts_per_pass: env.parse("MAX_ATTEMPTS_PER_PASS", 20)?,
            proxy_limit: env.parse("PROXY_LIMIT", 2)?,
            place_binding_ttl: Duration::from_secs(env.parse("PLACE_BINDING_TTL_SECONDS", 86_400)?),
            approval_wait,
            approval_poll: millis(env, "APPROVAL_POLL_MS", 250)?.max(Duration::from_millis(10)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = Config::from_env(&Env::from_pairs([("METRICS_ADDR", "off")])).unwrap();
        assert_eq!(c.providers.len(), 4);
        assert_eq!((c.proxy_limit, c.max_code_attempts, c.health.min_calls), (2, 5, 10));
        assert_eq!(c.breaker.consecutive_failures, 5);
        for (key, value) in
            [("HEALTH_RED_SUCCESS", "1.5"), ("PROVIDERS", "x"), ("PROVIDER_LIMITS", "nobody=3"), ("MAX_ATTEMPTS_PER_PASS", "-1")]
        {
            let err = Config::from_env(&Env::from_pairs([(key, value)])).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(&format!("YEYAK_{key}")), "{key}: {err}");
        }
        let err = Config::from_env(&Env::from_pairs([("HEALTH_RED_SUCCESS", "0.99")])).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("YEYAK_HEALTH_RED_SUCCESS"), "{err}");
    }
}
