//! Notification settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    contact::{self, ContactKeys},
    db::DatabaseSettings,
    messaging::AmqpSettings,
    operators::Operators,
    tls::{check_third_party_url, PlainHttp, TlsSettings},
    tokens::{config as keys, KeyRing},
};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub environment: Environment,
    /// Base URL of the SMS gateway (`POST {url}/v1/messages`).
    pub sms_gateway_url: String,
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
        if environment == Environment::Production && env.raw("SMS_GATEWAY_URL").is_none() {
            return Err(ConfigError::Missing {
                key: "YEYAK_SMS_GATEWAY_URL".into(),
                reason: "production must name its SMS gateway".into(),
            });
        }
        let sms_max_attempts = env.parse("SMS_MAX_ATTEMPTS", 8u32)?;
        if sms_max_attempts == 0 {
            return Err(ConfigError::Invalid { key: "YEYAK_SMS_MAX_ATTEMPTS".into(), reason: "must be at least 1".into() });
        }
        let sms_concurrency = env.parse("SMS_CONCURRENCY", 16usize)?.max(1);
        let sms_gateway_url = env.string("SMS_GATEWAY_URL", "http://127.0.0.1:18084").trim_end_matches('/').to_owned();
        check_third_party_url("SMS_GATEWAY_URL", &sms_gateway_url, PlainHttp::from_env(env)?)?;
        Ok(Self {
            server: ServerSettings::from_env(env, 50056, 9106)?,
            database: DatabaseSettings::from_env(env, "yeyak_notification")?,
            amqp: AmqpSettings::from_env(env)?,
            environment,
            sms_gateway_url,
            tls: TlsSettings::from_env(env)?,
            sms_max_attempts,
            sms_timeout: Duration::from_millis(env.parse("SMS_TIMEOUT_MS", 2_000)?),
            sms_connect_timeout: Duration::from_millis(env.parse("SMS_CONNECT_TIMEOUT_MS", 500)?),
            sms_concurrency,
            sweep_interval: Duration::from_millis(env.parse("SMS_SWEEP_MS", 500)?),
            contact_keys: contact::keys_from_env(env)?,
            trusted: keys::trusted_keys(env, None)?,
            queue_ids: keys::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            operators: Operators::from_env(env)?,
        })
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
        assert_eq!(c.sms_gateway_url, "http://sms:1");
        assert_eq!(c.sms_max_attempts, 8);
        assert_eq!(c.sms_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::from_env(&Env::from_pairs([("SMS_MAX_ATTEMPTS", "0")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SMS_MAX_ATTEMPTS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("ENV", "production")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SMS_GATEWAY_URL"), "{err}");
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
