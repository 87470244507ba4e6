//! Settings for the mock SMS gateway, from `YEYAK_*` variables with defaults
//! that work on a developer machine. The gateway needs nothing else: it has
//! no database and forgets everything on restart, like a test double should.
use yeyak_platform::config::{ConfigError, Env};

use crate::{behaviour::Behaviour, faults::Faults};

/// Where the gateway listens by default; the notification service's dev
/// config points here.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:18084";

#[derive(Clone, Debug)]
pub struct Config {
    /// `YEYAK_HTTP_ADDR`; port 0 picks a free port (tests).
    pub http_addr: String,
    /// Initial faults (`YEYAK_LATENCY_MS`, ...); changeable at run time.
    pub faults: Faults,
    /// Initial gateway faults (`YEYAK_SMS_DOWN`, ...); changeable at run time.
    pub behaviour: Behaviour,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            faults: Faults::from_env(env)?,
            behaviour: Behaviour::from_env(env)?,
        })
    }

    /// A gateway on `http_addr` without faults.
    pub fn new(http_addr: impl Into<String>) -> Self {
        Self { http_addr: http_addr.into(), faults: Faults::default(), behaviour: Behaviour::default() }
    }

    /// Loopback, free port, no faults: what integration tests want.
    pub fn ephemeral() -> Self {
        Self::new("127.0.0.1:0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_env(&Env::from_pairs::<_, String, String>([])).unwrap();
        assert_eq!(config.http_addr, DEFAULT_HTTP_ADDR);
        assert_eq!(config.faults, Faults::default());
        let config = Config::from_env(&Env::from_pairs([("HTTP_ADDR", "0.0.0.0:9"), ("JITTER_MS", "7")])).unwrap();
        assert_eq!((config.http_addr.as_str(), config.faults.jitter_ms), ("0.0.0.0:9", 7));
        let bad = Config::from_env(&Env::from_pairs([("CAPACITY", "-1")])).map(|_| ()).unwrap_err();
        assert!(bad.to_string().contains("YEYAK_CAPACITY"), "{bad}");
    }
}
