//! Ed25519 keys with key ids. Signing keys are secrets from configuration;
//! the trusted set ([`KeyRing`](super::KeyRing)) lists public keys with the
//! issuer each belongs to.
use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

use crate::config::ConfigError;

/// Who may sign which tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Issuer {
    Admission,
    Identity,
}

impl Issuer {
    pub fn as_str(self) -> &'static str {
        match self {
            Issuer::Admission => "admission",
            Issuer::Identity => "identity",
        }
    }
}

impl FromStr for Issuer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admission" => Ok(Issuer::Admission),
            "identity" => Ok(Issuer::Identity),
            other => Err(format!("unknown issuer {other:?}")),
        }
    }
}

/// The active signing key of an issuer, parsed from `kid:base64(32-byte seed)`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    issuer: Issuer,
    key: ed25519_zebra::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}:{}, [redacted])", self.issuer.as_str(), self.kid)
    }
}

impl SigningKey {
    pub fn parse(issuer: Issuer, spec: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid { key: "signing key".into(), reason: reason.into() };
        let (kid, seed) = spec.split_once(':').ok_or_else(|| invalid("expected kid:base64seed"))?;
        validate_kid(kid).map_err(|e| invalid(&e))?;
        let seed: [u8; 32] =
            B64.decode(seed.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| invalid("seed must be 32 bytes, base64"))?;
        Ok(Self { kid: kid.to_owned(), issuer, key: ed25519_zebra::SigningKey::from(seed) })
    }

    /// A fresh random key: dev mode and tests only.
    pub fn generate(issuer: Issuer, kid: &str) -> Self {
        let key = ed25519_zebra::SigningKey::new(rand::rngs::OsRng);
        Self { kid: kid.to_owned(), issuer, key }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn issuer(&self) -> Issuer {
        self.issuer
    }
    pub(crate) fn inner(&self) -> &ed25519_zebra::SigningKey {
        &self.key
    }
    pub(crate) fn verifying_key(&self) -> ed25519_zebra::VerificationKey {
        self.key.verification_key()
    }

    /// `issuer:kid:base64(public key)`, the entry verifiers put in their trusted set.
    pub fn trusted_entry(&self) -> String {
        format!("{}:{}:{}", self.issuer.as_str(), self.kid, B64.encode(<[u8; 32]>::from(self.key.verification_key())))
    }

    /// `kid:base64(seed)`, the secret form read back by [`SigningKey::parse`].
    pub fn secret_spec(&self) -> String {
        format!("{}:{}", self.kid, B64.encode(self.key.as_ref()))
    }
}

pub(crate) fn validate_kid(kid: &str) -> Result<(), String> {
    if kid.is_empty() || kid.len() > 64 || !kid.chars().all(crate::validate::token_char) {
        return Err(format!("key id {kid:?} must be 1-64 characters of [A-Za-z0-9_-]"));
    }
    Ok(())
}

/// Fresh key material for a development stack: one signing key per issuer and
/// the matching trusted-keys line.
pub fn generate_key_material() -> (SigningKey, SigningKey, String) {
    let admission = SigningKey::generate(Issuer::Admission, &format!("adm-{}", short_id()));
    let identity = SigningKey::generate(Issuer::Identity, &format!("idn-{}", short_id()));
    let trusted = format!("{},{}", admission.trusted_entry(), identity.trusted_entry());
    (admission, identity, trusted)
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}
