//! Settings for the mock registry, from `YEYAK_*` variables with defaults
//! that work on a developer machine.
use yeyak_platform::{
    config::{ConfigError, Env},
    db::DatabaseSettings,
    Secret,
};

use crate::faults::Faults;

pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:18081";
/// The registry is another agency's system, so it has its own database.
pub const DEFAULT_DATABASE: &str = "yeyak_registry";
/// The generator seed used unless `YEYAK_SEED` or `--seed` says otherwise.
pub use yeyak_population::DEFAULT_SEED;

#[derive(Clone, Debug)]
pub struct Config {
    /// `YEYAK_HTTP_ADDR`; port 0 picks a free port (tests).
    pub http_addr: String,
    /// `YEYAK_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/yeyak_registry`).
    pub database: DatabaseSettings,
    /// `YEYAK_SUBJECT_HASH_KEY`: the HMAC key shared with the identity
    /// service; needed only to seed.
    pub subject_hash_key: Option<Secret<String>>,
    /// `YEYAK_SEED_COUNT`: when set, `serve` makes sure this many people are
    /// loaded before it listens.
    pub seed_count: Option<u64>,
    /// `YEYAK_SEED`: the population generator's seed.
    pub seed: u64,
    /// Initial faults (`YEYAK_LATENCY_MS`, ...); changeable at run time.
    pub faults: Faults,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let seed_count = match env.raw("SEED_COUNT") {
            None => None,
            Some(_) => Some(env.parse("SEED_COUNT", 0u64)?),
        };
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            database: DatabaseSettings::from_env(env, DEFAULT_DATABASE)?,
            subject_hash_key: env.secret("SUBJECT_HASH_KEY")?,
            seed_count,
            seed: env.parse("SEED", DEFAULT_SEED)?,
            faults: Faults::from_env(env)?,
        })
    }

    /// A registry on `http_addr` backed by `database`, not seeding, no faults.
    pub fn new(http_addr: impl Into<String>, database: DatabaseSettings) -> Self {
        Self {
            http_addr: http_addr.into(),
            database,
            subject_hash_key: None,
            seed_count: None,
            seed: DEFAULT_SEED,
            faults: Faults::default(),
        }
    }

    /// Loopback and a free port: what integration tests want.
    pub fn ephemeral(database: DatabaseSettings) -> Self {
        Self::new("127.0.0.1:0", database)
    }

    /// The hash key, or an error that says why it is needed.
    pub fn require_hash_key(&self) -> anyhow::Result<&Secret<String>> {
        self.subject_hash_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "YEYAK_SUBJECT_HASH_KEY is required to seed the registry: subject ids are HMAC(key, rrn) \
                 and must be computed with the same key as the identity service"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_env(&Env::from_pairs::<_, String, String>([])).unwrap();
        assert_eq!(config.http_addr, DEFAULT_HTTP_ADDR);
        assert_eq!(config.database.database_name().as_deref(), Some("yeyak_registry"));
        assert_eq!((config.seed_count, config.seed), (None, DEFAULT_SEED));
        assert!(config.require_hash_key().unwrap_err().to_string().contains("YEYAK_SUBJECT_HASH_KEY"));
        let env = Env::from_pairs([("SEED_COUNT", "2000"), ("SEED", "5"), ("SUBJECT_HASH_KEY", "k")]);
        let config = Config::from_env(&env).unwrap();
        assert_eq!((config.seed_count, config.seed), (Some(2000), 5));
        assert_eq!(config.require_hash_key().unwrap().expose(), "k");
        let err = Config::from_env(&Env::from_pairs([("SEED_COUNT", "lots")])).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("YEYAK_SEED_COUNT"), "{err}");
    }
}
