//! What a configured provider is: its id, where it answers, how the person
//! proves who they are with it, and its share of our concurrency. Parsed from
//! `YEYAK_PROVIDERS`; the adapters that call it are in `clients/providers/`.
use std::{collections::HashMap, str::FromStr};

use yeyak_platform::{config::ConfigError, validate};

/// How the person proves who they are with a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// A code sent by SMS, typed back (`sms_code`).
    SmsCode,
    /// A push approval in a simple-certificate app (`app_approval`).
    AppApproval,
    /// A signature with the financial certificate (`fin_cert`).
    FinancialCertificate,
}

impl Method {
    /// Whether CompleteVerification waits for the person (approval, signature).
    pub(crate) fn polls(self) -> bool {
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
    pub(crate) method: Method,
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
    pub(crate) fn parse_list(spec: &str, default_limit: usize, limits: &str) -> Result<Vec<Self>, ConfigError> {
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
            let valid_id = !id.is_empty() && id.len() <= 64 && id.chars().all(validate::token_char);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_lists() {
        let list = ProviderConfig::parse_list(
            "carrier-sms=http://a:1/, kakao-cert=http://b:2,fin-cert=http://c:3,odd=http://d:4#sms_code",
            64,
            "fin-cert=8",
        )
        .unwrap();
        let got: Vec<_> = list.iter().map(|p| (p.id.as_str(), p.method, p.max_in_flight)).collect();
        assert_eq!(
            got,
            [
                ("carrier-sms", Method::SmsCode, 64),
                ("kakao-cert", Method::AppApproval, 64),
                ("fin-cert", Method::FinancialCertificate, 8),
                ("odd", Method::SmsCode, 64)
            ]
        );
        assert_eq!(list[0].url, "http://a:1");
        for (spec, limits, key) in [
            ("", "", "YEYAK_PROVIDERS"),
            ("x", "", "YEYAK_PROVIDERS"),
            ("a=http://x#fax", "", "YEYAK_PROVIDERS"),
            ("a=ftp://x", "", "YEYAK_PROVIDERS"),
            ("a b=http://x", "", "YEYAK_PROVIDERS"),
            ("a=http://x,a=http://y", "", "YEYAK_PROVIDERS"),
            ("a=http://x", "b=3", "YEYAK_PROVIDER_LIMITS"),
            ("a=http://x", "a=0", "YEYAK_PROVIDER_LIMITS"),
        ] {
            let err = ProviderConfig::parse_list(spec, 64, limits).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(key), "{spec:?} {limits:?}: {err}");
        }
    }
}
