//! Keys from configuration. Outside dev mode a service refuses to start
//! without its keys; dev mode generates fresh ones (never a built-in key).
use std::time::Duration;

use super::{reload::KeySource, HmacKeys, Issuer, KeyRing, SigningKey};
use crate::config::{ConfigError, Env, Environment};

/// `YEYAK_SIGNING_KEY` = `kid:base64(32-byte seed)`.
pub fn signing_key(env: &Env, issuer: Issuer) -> Result<SigningKey, ConfigError> {
    match env.secret("SIGNING_KEY")? {
        Some(spec) => SigningKey::parse(issuer, spec.expose()),
        None if env.environment()? == Environment::Dev => {
            let key = SigningKey::generate(issuer, &format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
            tracing::warn!(kid = key.kid(), "dev mode: generated a fresh signing key; other services must trust {}", key.trusted_entry());
            Ok(key)
        }
        None => Err(ConfigError::Missing {
            key: "YEYAK_SIGNING_KEY".into(),
            reason: "outside dev mode the signing key must come from a secret".into(),
        }),
    }
}

/// `YEYAK_TRUSTED_KEYS` = comma-separated `issuer:kid:base64pub`; the
/// service's own signing key, if any, is always trusted too. From a file
/// (`YEYAK_TRUSTED_KEYS_FILE`), the ring is re-read when the file changes
/// (see [`super::reload`]).
pub fn trusted_keys(env: &Env, own: Option<&SigningKey>) -> Result<KeyRing, ConfigError> {
    let source = key_source(env, "TRUSTED_KEYS")?;
    let spec = env.secret("TRUSTED_KEYS")?;
    let mut ring = KeyRing::parse(spec.as_ref().map_or("", |s| s.expose()))?;
    if let Some(source) = source {
        ring = ring.with_source(source);
    }
    if let Some(key) = own {
        ring.trust(key);
    }
    if ring.is_empty() && env.environment()? == Environment::Production {
        return Err(ConfigError::Missing { key: "YEYAK_TRUSTED_KEYS".into(), reason: "no key to verify tokens with".into() });
    }
    Ok(ring)
}

/// HMAC keys (`kid:base64(secret)`, comma-separated, the first signs) from
/// `YEYAK_<KEY>` or `YEYAK_<KEY>_FILE`; from a file they are re-read when it
/// changes. `None` when neither is set.
pub fn hmac_keys(env: &Env, key: &str) -> Result<Option<HmacKeys>, ConfigError> {
    let source = key_source(env, key)?;
    let Some(spec) = env.secret(key)? else { return Ok(None) };
    let keys = HmacKeys::parse(&format!("YEYAK_{key}"), spec.expose())?;
    Ok(Some(match source {
        Some(source) => keys.with_source(source),
        None => keys,
    }))
}

/// The file behind `YEYAK_<KEY>_FILE`, fingerprinted before it is read, and
/// `YEYAK_KEY_RELOAD_INTERVAL_MS` (default 5000; 0 never re-reads).
fn key_source(env: &Env, key: &str) -> Result<Option<KeySource>, ConfigError> {
    let Some(path) = env.raw(&format!("{key}_FILE")) else { return Ok(None) };
    let interval = Duration::from_millis(env.parse("KEY_RELOAD_INTERVAL_MS", 5_000)?);
    Ok(Some(KeySource::new(&format!("YEYAK_{key}"), path, interval)))
}

/// `YEYAK_QUEUE_IDS`: the queues (booking events) this deployment serves.
pub fn queue_ids(env: &Env) -> Vec<String> {
    env.string("QUEUE_IDS", "demo").split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_to_start_without_keys() {
        let env = Env::from_pairs([("ENV", "production")]);
        assert!(signing_key(&env, Issuer::Admission).is_err());
        assert!(trusted_keys(&env, None).is_err());
    }

    #[test]
    fn key_sets_from_files_remember_the_file() {
        let key = SigningKey::generate(Issuer::Admission, "k1");
        let path = std::env::temp_dir().join(format!("yeyak-trusted-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, format!("{}\n", key.trusted_entry())).unwrap();
        let file = path.to_string_lossy().into_owned();
        let env = Env::from_pairs([("ENV", "production"), ("TRUSTED_KEYS_FILE", file.as_str()), ("KEY_RELOAD_INTERVAL_MS", "250")]);
        let ring = trusted_keys(&env, None).unwrap();
        assert_eq!(ring.kids(), ["k1"]);
        let source = ring.source().unwrap();
        assert_eq!((source.setting.as_str(), source.interval), ("YEYAK_TRUSTED_KEYS", Duration::from_millis(250)));
        assert!(source.read_as.is_some());
        let direct = Env::from_pairs([("TRUSTED_KEYS", key.trusted_entry())]);
        assert!(trusted_keys(&direct, None).unwrap().source().is_none(), "a variable is not watched");
        let both = Env::from_pairs([("TRUSTED_KEYS", key.trusted_entry()), ("TRUSTED_KEYS_FILE", file.clone())]);
        assert!(trusted_keys(&both, None).is_err());

        let ticket = super::super::HmacKey::new("t1", &[4; 32]).secret_spec();
        std::fs::write(&path, ticket).unwrap();
        let env = Env::from_pairs([("TICKET_KEYS_FILE", file.as_str())]);
        let keys = hmac_keys(&env, "TICKET_KEYS").unwrap().unwrap();
        assert_eq!((keys.kids(), keys.source().unwrap().interval), (vec!["t1".to_string()], Duration::from_secs(5)));
        assert!(hmac_keys(&Env::from_pairs([("X", "y")]), "TICKET_KEYS").unwrap().is_none());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn dev_generates_fresh_keys() {
        let env = Env::from_pairs([("ENV", "dev")]);
        let a = signing_key(&env, Issuer::Admission).unwrap();
        let b = signing_key(&env, Issuer::Admission).unwrap();
        assert_ne!(a.trusted_entry(), b.trusted_entry());
    }
}
