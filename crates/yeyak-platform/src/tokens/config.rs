//! Keys from configuration. Outside dev mode a service refuses to start
//! without its keys; dev mode generates fresh ones (never a built-in key).
use super::{Issuer, KeyRing, SigningKey};
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
/// service's own signing key, if any, is always trusted too.
pub fn trusted_keys(env: &Env, own: Option<&SigningKey>) -> Result<KeyRing, ConfigError> {
    let mut ring = KeyRing::parse(&env.string("TRUSTED_KEYS", ""))?;
    if let Some(key) = own {
        ring.trust(key);
    }
    if ring.is_empty() && env.environment()? == Environment::Production {
        return Err(ConfigError::Missing { key: "YEYAK_TRUSTED_KEYS".into(), reason: "no key to verify tokens with".into() });
    }
    Ok(ring)
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
    fn dev_generates_fresh_keys() {
        let env = Env::from_pairs([("ENV", "dev")]);
        let a = signing_key(&env, Issuer::Admission).unwrap();
        let b = signing_key(&env, Issuer::Admission).unwrap();
        assert_ne!(a.trusted_entry(), b.trusted_entry());
    }
}
