//! The edge's settings, from `YEYAK_*` variables. Outside dev mode the
//! browser origins must be named: a wildcard would let any site drive a
//! citizen's session from its own page.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, Environment},
    tls::TlsSettings,
};

/// Where the edge listens by default (`make run`'s page calls it here).
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8090";
/// Beside the services' 9101–9106 of `make run`.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9107";

/// The page's origin in dev mode (the static server's default address).
pub const DEV_ORIGINS: &str = "http://127.0.0.1:8080,http://localhost:8080";

/// The public services' native gRPC addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstreams {
    pub admission: String,
    pub identity: String,
    pub eligibility: String,
    pub inventory: String,
    pub reservation: String,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `YEYAK_HTTP_ADDR`; port 0 picks a free port (tests).
    pub http_addr: String,
    /// `YEYAK_METRICS_ADDR` (`127.0.0.1:9107`; `off`): the edge's `/metrics`.
    pub metrics_addr: String,
    /// `YEYAK_ALLOWED_ORIGINS`: exact origins, comma separated.
    pub allowed_origins: Vec<String>,
    pub upstreams: Upstreams,
    /// `YEYAK_DEFAULT_DEADLINE_MS`: a call whose client named no deadline gets this one.
    pub default_deadline: Duration,
    /// `YEYAK_MAX_DEADLINE_MS`: no call holds an upstream longer.
    pub max_deadline: Duration,
    /// `YEYAK_MAX_IN_FLIGHT`: calls beyond this are refused at once
    /// (`RESOURCE_EXHAUSTED` with `retry-after`), never queued.
    pub max_in_flight: usize,
    /// `YEYAK_TLS_*`: how `https://` upstreams are verified, and the client
    /// certificate shown to them (mutual TLS inside the cluster).
    pub tls: TlsSettings,
}

fn ms(env: &Env, key: &str, default: u64) -> Result<Duration, ConfigError> {
    let value: u64 = env.parse(key, default)?;
    if value == 0 {
        return Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: "must be above 0".into() });
    }
    Ok(Duration::from_millis(value))
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let dev = env.environment()? == Environment::Dev;
        let origins = match env.raw("ALLOWED_ORIGINS") {
            Some(list) => list,
            None if dev => DEV_ORIGINS.to_owned(),
            None => {
                return Err(ConfigError::Missing {
                    key: "YEYAK_ALLOWED_ORIGINS".into(),
                    reason: "the page's origins (https://booking.example.kr,...) outside dev mode".into(),
                })
            }
        };
        let allowed_origins: Vec<String> = origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        if let Some(bad) = allowed_origins.iter().find(|o| o.contains('*') || !(o.starts_with("http://") || o.starts_with("https://"))) {
            return Err(ConfigError::Invalid {
                key: "YEYAK_ALLOWED_ORIGINS".into(),
                reason: format!("{bad:?} is not an exact origin (scheme://host[:port], no wildcard)"),
            });
        }
        if allowed_origins.is_empty() {
            return Err(ConfigError::Invalid { key: "YEYAK_ALLOWED_ORIGINS".into(), reason: "names no origin".into() });
        }
        let upstreams = Upstreams {
            // `https://` for a service that only speaks TLS.
            admission: env.string("ADMISSION_ADDR", "http://127.0.0.1:50051"),
            identity: env.string("IDENTITY_ADDR", "http://127.0.0.1:50052"),
            eligibility: env.string("ELIGIBILITY_ADDR", "http://127.0.0.1:50053"),
            inventory: env.string("INVENTORY_ADDR", "http://127.0.0.1:50054"),
            reservation: env.string("RESERVATION_ADDR", "http://127.0.0.1:50055"),
        };
        let (default_deadline, max_deadline) = (ms(env, "DEFAULT_DEADLINE_MS", 10_000)?, ms(env, "MAX_DEADLINE_MS", 30_000)?);
        if default_deadline > max_deadline {
            return Err(ConfigError::Invalid { key: "YEYAK_DEFAULT_DEADLINE_MS".into(), reason: "above YEYAK_MAX_DEADLINE_MS".into() });
        }
        let max_in_flight: usize = env.parse("MAX_IN_FLIGHT", 2_000)?;
        if max_in_flight == 0 {
            return Err(ConfigError::Invalid { key: "YEYAK_MAX_IN_FLIGHT".into(), reason: "must be above 0".into() });
        }
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            metrics_addr: env.string("METRICS_ADDR", DEFAULT_METRICS_ADDR),
            allowed_origins,
            upstreams,
            default_deadline,
            max_deadline,
            max_in_flight,
            tls: TlsSettings::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))))
    }

    #[test]
    fn dev_mode_allows_the_local_page_and_production_must_name_its_origins() {
        let dev = config(&[("ENV", "dev")]).unwrap();
        assert_eq!(dev.allowed_origins, ["http://127.0.0.1:8080", "http://localhost:8080"]);
        let missing = config(&[("ENV", "production")]).unwrap_err().to_string();
        assert!(missing.contains("YEYAK_ALLOWED_ORIGINS"), "{missing}");
        let prod = config(&[("ENV", "production"), ("ALLOWED_ORIGINS", "https://booking.example.kr")]).unwrap();
        assert_eq!(prod.allowed_origins, ["https://booking.example.kr"]);
    }

    #[test]
    fn a_wildcard_or_an_inverted_deadline_is_refused() {
        for origins in ["*", "https://*.example.kr", "booking.example.kr", " , "] {
            let err = config(&[("ENV", "production"), ("ALLOWED_ORIGINS", origins)]).unwrap_err().to_string();
            assert!(err.contains("YEYAK_ALLOWED_ORIGINS"), "{origins}: {err}");
        }
        let err = config(&[("DEFAULT_DEADLINE_MS", "40000")]).unwrap_err().to_string();
        assert!(err.contains("YEYAK_DEFAULT_DEADLINE_MS"), "{err}");
        assert!(config(&[("MAX_DEADLINE_MS", "0")]).is_err());
        assert!(config(&[("MAX_IN_FLIGHT", "0")]).is_err());
    }
}
