//! Inventory settings from `YEYAK_*` variables.
use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    db::DatabaseSettings,
    messaging::AmqpSettings,
    tokens::{self, KeyRing},
};

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    /// Verifies admission passes on the public API.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    pub environment: Environment,
    /// Demo clinics per district seeded into an empty catalogue; 0 seeds
    /// nothing (the production default: real catalogues are imported).
    pub seed_clinics_per_district: u32,
    /// Days of demo slots, starting tomorrow (Asia/Seoul).
    pub seed_days: u32,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let environment = env.environment()?;
        let default_seed = if environment == Environment::Production { 0 } else { 10 };
        let seed_days = env.parse("SEED_DAYS", 14)?;
        if seed_days > 366 {
            return Err(ConfigError::Invalid { key: "YEYAK_SEED_DAYS".into(), reason: "at most 366 days".into() });
        }
        Ok(Self {
            server: ServerSettings::from_env(env, 50054, 9104)?,
            database: DatabaseSettings::from_env(env, "yeyak_inventory")?,
            amqp: AmqpSettings::from_env(env)?,
            trusted: tokens::config::trusted_keys(env, None)?,
            queue_ids: tokens::config::queue_ids(env),
            environment,
            seed_clinics_per_district: env.parse("SEED_CLINICS_PER_DISTRICT", default_seed)?,
            seed_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_differ_between_dev_and_production() {
        let dev = Config::from_env(&Env::from_pairs([("ENV", "dev")])).unwrap();
        assert_eq!(dev.seed_clinics_per_district, 10);
        assert_eq!(dev.seed_days, 14);
        assert_eq!(dev.server.grpc_addr, "127.0.0.1:50054");
        assert_eq!(dev.database.database_name().as_deref(), Some("yeyak_inventory"));
        let key = tokens::SigningKey::generate(tokens::Issuer::Admission, "k1");
        let prod = Config::from_env(&Env::from_pairs([("ENV", "production"), ("TRUSTED_KEYS", key.trusted_entry().as_str())])).unwrap();
        assert_eq!(prod.seed_clinics_per_district, 0);
    }

    #[test]
    fn bad_seed_settings_name_the_variable() {
        let err = Config::from_env(&Env::from_pairs([("SEED_DAYS", "400")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SEED_DAYS"), "{err}");
        let err = Config::from_env(&Env::from_pairs([("SEED_CLINICS_PER_DISTRICT", "-1")])).unwrap_err().to_string();
        assert!(err.contains("YEYAK_SEED_CLINICS_PER_DISTRICT"), "{err}");
    }
}
