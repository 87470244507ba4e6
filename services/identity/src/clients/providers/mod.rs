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
pub(crate) mod http;

use std::{future::Future, pin::Pin, time::Duration};

use yeyak_platform::tls::TlsSettings;

use crate::domain::{Method, PersonDetails, ProviderConfig, VerifiedPerson};

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

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
/// `https://` providers are verified with the platform's TLS settings.
pub(crate) fn build(config: &ProviderConfig, retries: u32, tls: &TlsSettings) -> anyhow::Result<Box<dyn Provider>> {
    let profile = match config.method {
        Method::SmsCode => &channel::CARRIER_SMS,
        Method::AppApproval => &channel::CERTIFICATE_APP,
        Method::FinancialCertificate => &channel::FINANCIAL_CERTIFICATE,
    };
    Ok(Box::new(channel::Channel::new(config.clone(), profile, retries, tls)?))
}
