//! Identity providers, each behind [`Provider`]. The channels that speak the
//! providers' HTTP/JSON API are one adapter ([`channel::Channel`]) with a
//! profile each — [`channel::CARRIER_SMS`] (a 6-digit code by SMS),
//! [`channel::CERTIFICATE_APP`] (Kakao, Naver, PASS: a push approval, polled)
//! and [`channel::FINANCIAL_CERTIFICATE`] (signed with the certificate PIN,
//! polled like an approval). A provider with another protocol is one new
//! `Provider` implementation plus a `YEYAK_PROVIDERS` entry.
//!
//! The HTTP/JSON plumbing is in [`http`]: one deadline per call and bounded
//! retries for idempotent requests only.
mod channel;
pub mod http;

use std::{collections::HashMap, fmt, future::Future, pin::Pin, str::FromStr, time::Duration};

use yeyak_platform::{config::ConfigError, pseudonym::Rrn};
use yeyak_proto::identity::v1::ProviderKind;

/// How the person proves who they are with a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A code sent by SMS, typed back (`sms_code`).
    SmsCode,
    /// A push approval in a simple-certificate app (`app_approval`).
    AppApproval,
    /// A signature with the financial certificate (`fin_cert`).
    FinancialCertificate,
}

impl Method {
    /// What the front end sees: a certificate signature is completed outside
    /// our page, like an app approval, so it is offered as one.
    pub fn proto_kind(self) -> ProviderKind {
        match self {
            Self::SmsCode => ProviderKind::SmsCode,
            Self::AppApproval | Self::FinancialCertificate => ProviderKind::AppApproval,
        }
    }

    /// Whether CompleteVerification waits for the person (approval, signature).
    pub fn polls(self) -> bool {
        self != Self::SmsCode
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sms_code" => Ok(Self::SmsCode),
            "app_approval" => Ok(Self::AppApproval),
            "fin_cert" => Ok(Self::FinancialCertificate),
            other => Err(format!("unknown kind {other:?} (sms_code, app_approval or fin_cert)")),
        }
    }
}

/// One configured provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: String,
    pub url: String,
    pub method: Method,
    pub display_name: String,
    /// Bulkhead: calls to this provider allowed in flight at once (per replica).
    pub max_in_flight: usize,
}

impl ProviderConfig {
    /// Parses `YEYAK_PROVIDERS`: comma-separated `id=url` entries, each with
    /// an optional `#kind` (`sms_code`, `app_approval`, `fin_cert`). Without a
    /// kind, ids containing `sms` are SMS-code providers, ids containing `fin`
    /// financial certificates, the rest app approvals. The order is the
    /// operators' preference among equally healthy providers.
    ///
    /// `limits` is `YEYAK_PROVIDER_LIMITS` (`id=n,...`), overriding
    /// `default_limit` per provider.
    pub fn parse_list(spec: &str, default_limit: usize, limits: &str) -> Result<Vec<Self>, ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid { key: key.into(), reason };
        let mut overrides = HashMap::new();
        for entry in limits.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once('=').and_then(|(id, n)| Some((id.trim().to_owned(), n.trim().parse::<usize>().ok()?)));
            match parsed {
                Some((id, n)) if n > 0 => overrides.insert(id, n),
                _ => return Err(invalid("YEYAK_PROVIDER_LIMITS", format!("{entry:?} is not id=positive number"))),
            };
        }
        let mut out: Vec<Self> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, rest) = entry.split_once('=').ok_or_else(|| invalid("YEYAK_PROVIDERS", format!("{entry:?} is not id=url")))?;
            let id = id.trim();
            let valid_id = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_id {
                return Err(invalid("YEYAK_PROVIDERS", format!("provider id {id:?} must be 1-64 characters of [A-Za-z0-9_-]")));
            }
            let (url, method) = match rest.split_once('#') {
                Some((u, k)) => (u, k.parse().map_err(|e| invalid("YEYAK_PROVIDERS", e))?),
                None if id.contains("sms") => (rest, Method::SmsCode),
                None if id.contains("fin") => (rest, Method::FinancialCertificate),
                None => (rest, Method::AppApproval),
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("YEYAK_PROVIDERS", format!("{id}: {url:?} is not an http(s) URL")));
            }
            if out.iter().any(|p| p.id == id) {
                return Err(invalid("YEYAK_PROVIDERS", format!("provider {id} is listed twice")));
            }
            out.push(Self {
                id: id.to_owned(),
                url: url.trim_end_matches('/').to_owned(),
                method,
                display_name: display_name(id),
                max_in_flight: overrides.remove(id).unwrap_or(default_limit).max(1),
            });
        }
        if out.is_empty() {
            return Err(invalid("YEYAK_PROVIDERS", "at least one provider is required".into()));
        }
        if let Some(id) = overrides.keys().next() {
            return Err(invalid("YEYAK_PROVIDER_LIMITS", format!("{id} is not a configured provider")));
        }
        Ok(out)
    }
}

fn display_name(id: &str) -> String {
    match id {
        "carrier-sms" => "휴대폰 본인확인 (Mobile carrier SMS)".into(),
        "kakao-cert" => "카카오 인증서 (Kakao certificate)".into(),
        "naver-cert" => "네이버 인증서 (Naver certificate)".into(),
        "pass-app" => "PASS 인증서 (PASS app)".into(),
        "fin-cert" => "금융인증서 (Financial certificate)".into(),
        other => other.to_owned(),
    }
}

/// What a person hands over to start a verification. `Debug` is redacted.
pub struct PersonDetails {
    pub name: String,
    pub rrn: Rrn,
    pub phone: String,
}

impl fmt::Debug for PersonDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonDetails([redacted])")
    }
}

/// What a provider vouches for once the person proved who they are.
pub struct VerifiedPerson {
    pub name: String,
    pub rrn: Rrn,
}

impl fmt::Debug for VerifiedPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifiedPerson([redacted])")
    }
}

/// Errors of a provider call. Causes never carry personal data: they are
/// built from status codes and transport errors only.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, timed out, 5xx or a malformed answer: counts against health.
    #[error("provider unreachable or failing: {0}")]
    Unavailable(String),
    #[error("wrong code")]
    WrongCode,
    #[error("approval pending")]
    Pending,
    #[error("transaction unknown or expired")]
    Gone,
    #[error("details rejected")]
    Rejected,
}

impl ProviderError {
    /// Whether the outcome says the provider is unhealthy (business answers
    /// such as a wrong code are healthy answers).
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Per-call options: the deadline, and the key that makes a start idempotent.
#[derive(Clone, Debug)]
pub struct CallOptions {
    pub deadline: Duration,
    pub idempotency_key: String,
}

/// One verification channel (carrier, certificate app...).
pub trait Provider: Send + Sync {
    fn config(&self) -> &ProviderConfig;
    /// Assurance level written into assertions (1 = SMS code, 2 = certificate).
    fn assurance(&self) -> u8;
    /// What the person must do next, shown by the front end.
    fn instructions(&self) -> &'static str;
    /// Starts a verification; returns the provider's transaction id. Must be
    /// idempotent per `call.idempotency_key` if it retries.
    fn start<'a>(&'a self, person: &'a PersonDetails, call: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>>;
    /// Completes it with the code (empty for approvals). Never retried: a
    /// confirmation consumes the transaction.
    fn confirm<'a>(
        &'a self,
        transaction: &'a str,
        code: &'a str,
        deadline: Duration,
    ) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>>;
    /// A cheap health probe (half-open breaker); sees the same faults as users.
    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), ProviderError>>;
}

/// The adapter for one configured provider.
pub fn build(config: &ProviderConfig, retries: u32) -> anyhow::Result<Box<dyn Provider>> {
    Ok(match config.method {
        Method::SmsCode => Box::new(channel::Channel::new(config.clone(), &channel::CARRIER_SMS, retries)?),
        Method::AppApproval => Box::new(channel::Channel::new(config.clone(), &channel::CERTIFICATE_APP, retries)?),
        Method::FinancialCertificate => Box::new(channel::Channel::new(config.clone(), &channel::FINANCIAL_CERTIFICATE, retries)?),
    })
}

#[cfg(test)]
mod tests;
