//! Which third-party URLs a service may call. Resident numbers and phone
//! numbers travel to identity providers, the registry and the SMS gateway:
//! outside dev mode a plain `http://` URL is refused unless the deployment
//! says so explicitly (`YEYAK_ALLOW_PLAIN_HTTP=true`, for mocks inside the
//! cluster, never for a real third party).
use crate::config::{ConfigError, Env, Environment};

/// Whether plain `http://` third parties are allowed, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlainHttp {
    /// Dev mode: the mocks on loopback speak plain HTTP.
    Dev,
    /// `YEYAK_ALLOW_PLAIN_HTTP=true` outside dev mode.
    Allowed,
    Refused,
}

impl PlainHttp {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(match (env.environment()?, env.parse("ALLOW_PLAIN_HTTP", false)?) {
            (Environment::Dev, _) => Self::Dev,
            (Environment::Production, true) => Self::Allowed,
            (Environment::Production, false) => Self::Refused,
        })
    }
}

/// Checks one third-party URL from setting `key` (named in the error).
pub fn check_third_party_url(key: &str, url: &str, plain: PlainHttp) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { key: format!("YEYAK_{key}"), reason };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if !lower.starts_with("http://") {
        return Err(invalid(format!("{url:?} is not an http:// or https:// URL")));
    }
    match plain {
        PlainHttp::Dev | PlainHttp::Allowed => Ok(()),
        PlainHttp::Refused => Err(invalid(format!(
            "{url:?} is plain HTTP outside dev mode: personal data would travel unencrypted. \
             Use https://, or set YEYAK_ALLOW_PLAIN_HTTP=true for an in-cluster mock"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_outside_dev_unless_allowed() {
        let prod = PlainHttp::from_env(&Env::from_pairs([("ENV", "production")])).unwrap();
        let err = check_third_party_url("REGISTRY_URL", "http://registry:8081", prod).unwrap_err().to_string();
        assert!(err.contains("YEYAK_REGISTRY_URL") && err.contains("YEYAK_ALLOW_PLAIN_HTTP"), "{err}");
        assert!(check_third_party_url("REGISTRY_URL", "https://registry:8081", prod).is_ok());
        assert!(check_third_party_url("REGISTRY_URL", "HTTPS://registry", prod).is_ok());
        let allowed = PlainHttp::from_env(&Env::from_pairs([("ENV", "production"), ("ALLOW_PLAIN_HTTP", "true")])).unwrap();
        assert!(check_third_party_url("REGISTRY_URL", "http://registry:8081", allowed).is_ok());
        let dev = PlainHttp::from_env(&Env::default()).unwrap();
        assert!(check_third_party_url("REGISTRY_URL", "http://127.0.0.1:18081", dev).is_ok());
        assert!(check_third_party_url("REGISTRY_URL", "ftp://x", dev).is_err());
    }
}
