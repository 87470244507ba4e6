//! Settings for the mock identity provider. One process plays one provider;
//! run two (a carrier and a certificate app) to offer both methods.
use std::{str::FromStr, time::Duration};

use yeyak_platform::config::{ConfigError, Env};

use crate::faults::Faults;

pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:18082";
pub const DEFAULT_PROVIDER_ID: &str = "carrier-sms";
/// Real providers give a person about three minutes to answer.
pub const DEFAULT_TTL: Duration = Duration::from_secs(180);

/// How the person proves they hold the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// A mobile carrier texts a 6-digit code that the person types back.
    SmsCode,
    /// A certificate app shows a push notification that the person approves.
    AppApproval,
}

impl FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sms_code" => Ok(Self::SmsCode),
            "app_approval" => Ok(Self::AppApproval),
            other => Err(format!("unknown provider kind {other:?} (sms_code or app_approval)")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `YEYAK_HTTP_ADDR`; port 0 picks a free port (tests).
    pub http_addr: String,
    /// `YEYAK_PROVIDER_ID`: echoed in confirmations so callers can tell providers apart.
    pub provider_id: String,
    /// `YEYAK_PROVIDER_KIND`: `sms_code` or `app_approval`.
    pub provider_kind: ProviderKind,
    /// `YEYAK_TRANSACTION_TTL_SECONDS`: how long a verification stays open.
    pub transaction_ttl: Duration,
    /// Initial faults (`YEYAK_LATENCY_MS`, ...); changeable at run time.
    pub faults: Faults,
    /// HTTPS instead of HTTP when `YEYAK_TLS_CERT_FILE`/`_KEY_FILE` are set.
    pub tls: Option<std::sync::Arc<yeyak_platform::tls::ServerTls>>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            provider_id: env.string("PROVIDER_ID", DEFAULT_PROVIDER_ID),
            provider_kind: env.parse("PROVIDER_KIND", ProviderKind::SmsCode)?,
            transaction_ttl: Duration::from_secs(env.parse("TRANSACTION_TTL_SECONDS", DEFAULT_TTL.as_secs())?),
            faults: Faults::from_env(env)?,
            tls: yeyak_mockkit::serve::tls_from_env(env)?,
        })
    }

    /// A provider of `kind` on `http_addr`, without faults.
    pub fn new(http_addr: impl Into<String>, provider_kind: ProviderKind) -> Self {
        let provider_id = match provider_kind {
            ProviderKind::SmsCode => DEFAULT_PROVIDER_ID,
            ProviderKind::AppApproval => "cert-app",
        };
        Self {
            http_addr: http_addr.into(),
            provider_id: provider_id.into(),
            provider_kind,
            transaction_ttl: DEFAULT_TTL,
            faults: Faults::default(),
            tls: None,
        }
    }

    /// Loopback, free port, no faults: what integration tests want.
    pub fn ephemeral(provider_kind: ProviderKind) -> Self {
        Self::new("127.0.0.1:0", provider_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_env(&Env::from_pairs::<_, String, String>([])).unwrap();
        assert_eq!(config.http_addr, DEFAULT_HTTP_ADDR);
        assert_eq!((config.provider_id.as_str(), config.provider_kind), ("carrier-sms", ProviderKind::SmsCode));
        assert_eq!(config.transaction_ttl, Duration::from_secs(180));
        let env = Env::from_pairs([("PROVIDER_KIND", "app_approval"), ("PROVIDER_ID", "pass-app")]);
        let config = Config::from_env(&env).unwrap();
        assert_eq!((config.provider_id.as_str(), config.provider_kind), ("pass-app", ProviderKind::AppApproval));
        let err = Config::from_env(&Env::from_pairs([("PROVIDER_KIND", "fax")])).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("YEYAK_PROVIDER_KIND"), "{err}");
    }
}
