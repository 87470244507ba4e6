//! Notification settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    contact::{self, ContactKeys},
    db::DatabaseSettings,
    health::BreakerSettings,
    messaging::AmqpSettings,
    operators::Operators,
    tls::{check_third_party_url, PlainHttp, TlsSettings},
    tokens::{config as keys, KeyRing},
};

use crate::domain::gateway::{parse_gateways, GatewaySpec};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub environment: Environment,
    /// The SMS gateways, in order of preference among equally healthy ones
    /// (`YEYAK_SMS_GATEWAYS=name=url,name=url`; the older
    /// `YEYAK_SMS_GATEWAY_URL` is one gateway named `primary`).
    pub(crate) sms_gateways: Vec<GatewaySpec>,
    /// When a gateway's breaker opens and how it recovers
    /// (`YEYAK_SMS_BREAKER_FAILURES`, `YEYAK_SMS_BREAKER_OPEN_MS`,
    /// `YEYAK_SMS_PROBE_MS`).
    pub sms_breaker: BreakerSettings,
    /// For an `https://` gateway: CA bundle and client certificate (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
    /// Attempts before a delivery is given up as failed.
    pub sms_max_attempts: u32,
    /// Whole-request deadline of one gateway call: a slow gateway costs a
    /// retry later, never a stuck sender.
    pub sms_timeout: Duration,
    pub sms_connect_timeout: Duration,
    /// Gateway calls in flight at once per replica.
    pub sms_concurrency: usize,
    /// Sweep period that catches due retries and rows written by other
    /// replicas (new rows written here wake the sender at once).
    pub sweep_interval: Duration,
    /// How long a delivery that ended (sent or failed) keeps its sealed
    /// number, for an operator's replay or resend
    /// (`YEYAK_SMS_CONTACT_RETENTION_HOURS`, 168 = 7 days; 0 erases at the
    /// next sweep).
    pub contact_retention: Duration,
    /// How often plain numbers are sealed and expired ones erased
    /// (`YEYAK_SMS_CONTACT_SWEEP_MS`, 300000).
    pub contact_sweep: Duration,
    /// Open the phone numbers reservation seals to this service
    /// (`YEYAK_CONTACT_KEYS`, a mounted Secret: `kid:base64(X25519 secret)`,
    /// comma-separated, current first; keep previous keys listed until
    /// nothing sealed under them can still be sent).
    pub contact_keys: ContactKeys,
    /// Verify the admission passes and identity assertions a person looks up
    /// their own SMS with (`YEYAK_TRUSTED_KEYS`, re-read from its file).
    pub trusted: KeyRing,
    /// The queues whose passes are accepted (`YEYAK_QUEUE_IDS`).
    pub queue_ids: Vec<String>,
    /// The ended sessions the pass check follows (docs/admission.md).
    pub sessions: yeyak_platform::sessions::SessionsSettings,
    /// Support staff (`YEYAK_OPERATORS`, docs/operators.md): required
    /// outside dev mode, since this service serves them.
    pub operators: Operators,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let environment = env.environment()?;
        if environment == Environment::Production && env.raw("SMS_GATEWAY_URL").is_none() && env.raw("SMS_GATEWAYS").is_none() {
            return Err(ConfigError::Missing {
                key: "YEYAK_SMS_GATEWAYS".into(),
                reason: "production must name its SMS gateways (or YEYAK_SMS_GATEWAY_URL, one gateway)".into(),
            });
        }
        let sms_max_attempts = env.parse("SMS_MAX_ATTEMPTS", 8u32)?;
        if sms_max_attempts == 0 {
            return Err(ConfigError::Invalid { key: "YEYAK_SMS_MAX_ATTEMPTS".into(), reason: "must be at least 1".into() });
        }
        let sms_concurrency = env.parse("SMS_CONCURRENCY", 16usize)?.max(1);
        let sms_gateways = gateways(env)?;
        let plain_http = PlainHttp::from_env(env)?;
        for gateway in &sms_gateways {
            check_third_party_url("SMS_GATEWAYS", &gateway.url, plain_http)?;
        }
        let defaults = BreakerSettings::default();
        let sms_breaker = BreakerSettings {
            consecutive_failures: env.parse("SMS_BREAKER_FAILURES", defaults.consecutive_failures)?.max(1),
            open_for: Duration::from_millis(env.parse("SMS_BREAKER_OPEN_MS", defaults.open_for.as_millis() as u64)?),
            probe_interval: Duration::from_millis(env.parse("SMS_PROBE_MS", defaults.probe_interval.as_millis() as u64)?),
            ..defaults
        };
        Ok(Self {
            server: ServerSettings::from_env(env, 50056, 9106)?,
            database: DatabaseSettings::from_env(env, "yeyak_notification")?,
            amqp: AmqpSettings::from_env(env)?,
            environment,
            sms_gateways,
            sms_breaker,
            tls: TlsSettings::from_env(env)?,
            sms_max_attempts,
            sms_timeout: Duration::from_millis(env.parse("SMS_TIMEOUT_MS", 2_000)?),
            sms_connect_timeout: Duration::from_millis(env.parse("SMS_CONNECT_TIMEOUT_MS", 500)?),
            sms_concurrency,
            sweep_interval: Duration::from_millis(env.parse("SMS_SWEEP_MS", 500)?),
            contact_retention: Duration::from_secs(env.parse("SMS_CONTACT_RETENTION_HOURS", 168u64)?.saturating_mul(3600)),
            contact_sweep: Duration::from_millis(env.parse("SMS_CONTACT_SWEEP_MS", 300_000u64)?.max(10)),
            contact_keys: contact::keys_from_env(env)?,
            trusted: keys::trusted_keys(env, None)?,
            queue_ids: keys::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            operators: Operators::from_env(env)?,
        })
    }
}

/// `YEYAK_SMS_GATEWAYS`, else `YEYAK_SMS_GATEWAY_URL` as one gateway.
fn gateways(env: &Env) -> Result<Vec<GatewaySpec>, ConfigError> {
    match env.raw("SMS_GATEWAYS") {
        Some(list) => parse_gateways(&list).map_err(|reason| ConfigError::Invalid { key: "YEYAK_SMS_GATEWAYS".into(), reason }),
        None => {
            let url = env.string("SMS_GATEWAY_URL", "http://127.0.0.1:18084").trim_end_matches('/').to_owned();
            Ok(vec![GatewaySpec { name: "primary".into(), url }])
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use yeyak_platform::tokens::{Issuer, SigningKey};

    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_env(&Env::from_pairs([("SMS_GATEWAY_URL", "http://sms:1/")])).unwrap();
        assert_eq!(c.server.grpc_addr, "127.0.0.1:50056");
        assert_eq!(c.server.metrics_addr, "127.0.0.1:9106");
        assert_eq!(c.database.database_name().as_deref(), Some("yeyak_notification"));
        assert_eq!(c.sms_gateways, [GatewaySpec { name: "primary".into(), url: "http://sms:1".into() }]);
        let c = Config::from_env(&Env::from_pairs([("SMS_GATEWAYS", "a=http://a:1,b=http://b:2/")])).unwrap();
        let names: Vec<_> = c.sms_gateways.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(c.sms_max_attempts, 8);
        assert_eq!(c.sms_timeout, Duration::from_secs(2));
        assert_eq!(c.contact_retention, Duration::from_secs(7 * 24 * 3600));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::from_env(&Env::from_pairs([("SMS_MAX_ATTEMPTS", "0")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SMS_MAX_ATTEMPTS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("ENV", "production")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SMS_GATEWAYS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("SMS_GATEWAYS", "a=http://a,a=http://b")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SMS_GATEWAYS") && err.contains("twice"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("ENV", "production"), ("SMS_GATEWAY_URL", "https://sms")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_CONTACT_KEYS"), "production needs the keys that open phone numbers: {err}");
        let keys = ContactKeys::generate("n2").rotated_to(ContactKeys::generate("n3")).secret_spec();
        let trusted = SigningKey::generate(Issuer::Admission, "a1").trusted_entry();
        let operators = "sam:support:0123456789abcdefghijklmnop";
        let mut pairs = vec![("ENV", "production"), ("SMS_GATEWAY_URL", "https://sms"), ("CONTACT_KEYS", keys.as_str())];
        let err = Config::from_env(&Env::from_pairs(pairs.clone())).unwrap_err().to_string();
        assert!(err.contains("YEYAK_TRUSTED_KEYS"), "production needs the keys that verify passes: {err}");
        pairs.push(("TRUSTED_KEYS", trusted.as_str()));
        let err = Config::from_env(&Env::from_pairs(pairs.clone())).unwrap_err().to_string();
        assert!(err.contains("YEYAK_OPERATORS"), "production needs its support staff named: {err}");
        pairs.push(("OPERATORS", operators));
        let config = Config::from_env(&Env::from_pairs(pairs)).unwrap();
        assert_eq!(config.contact_keys.kids(), ["n3", "n2"]);
        assert_eq!(config.operators.names(), ["sam"]);
    }
}
