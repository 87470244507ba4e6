//! Identity providers. Each is one adapter behind [`Provider`]; adding a
//! provider is one module plus a `YEYAK_PROVIDERS` entry.
mod health;
mod http;

use std::{future::Future, pin::Pin};

pub use health::{Health, Light};
pub use http::HttpProvider;
use yeyak_platform::{config::ConfigError, pseudonym::Rrn};
use yeyak_proto::identity::v1::ProviderKind;

/// `id=url` entries; the kind follows from the id (`*-sms*` are SMS-code
/// providers, the rest app approvals) unless given as `id=url#kind`.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: String,
    pub url: String,
    pub kind: ProviderKind,
    pub display_name: String,
}

impl ProviderConfig {
    pub fn parse_list(spec: &str) -> Result<Vec<Self>, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { key: "YEYAK_PROVIDERS".into(), reason };
        let mut out = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, rest) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not id=url")))?;
            let (url, kind) = match rest.split_once('#') {
                Some((u, "sms_code")) => (u, ProviderKind::SmsCode),
                Some((u, "app_approval")) => (u, ProviderKind::AppApproval),
                Some((_, k)) => return Err(invalid(format!("unknown kind {k:?}"))),
                None if id.contains("sms") => (rest, ProviderKind::SmsCode),
                None => (rest, ProviderKind::AppApproval),
            };
            out.push(Self { id: id.to_owned(), url: url.trim_end_matches('/').to_owned(), kind, display_name: display_name(id) });
        }
        if out.is_empty() {
            return Err(invalid("at least one provider is required".into()));
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

/// What a person hands over to start a verification.
#[derive(Debug)]
pub struct PersonDetails {
    pub name: String,
    pub rrn: Rrn,
    pub phone: String,
}

/// What a provider vouches for once the person proved who they are.
#[derive(Debug)]
pub struct VerifiedPerson {
    pub name: String,
    pub rrn: Rrn,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
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

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One verification channel (carrier, certificate app...).
pub trait Provider: Send + Sync {
    fn config(&self) -> &ProviderConfig;
    /// Starts a verification; returns the provider's transaction id.
    fn start<'a>(&'a self, person: &'a PersonDetails) -> BoxFuture<'a, Result<String, ProviderError>>;
    /// Completes it with the code (empty for app approvals).
    fn confirm<'a>(&'a self, transaction: &'a str, code: &'a str) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>>;
}
