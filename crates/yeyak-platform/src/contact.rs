//! Contact details (phone numbers) sealed so that only notification can read
//! them. Reservation holds only notification's current public key: it seals
//! the number the moment a booking is validated and never sees it again.
//! The sealed bytes are what its database, its events, the outbox and
//! notification's database hold; notification opens them in memory, just
//! before it calls the SMS gateway.
//!
//! A sealed contact is `0x01 | kid length (1 byte) | kid | sealed box`: the
//! sealed box is libsodium's `crypto_box_seal` (X25519 with a fresh ephemeral
//! key per message, XSalsa20-Poly1305), whose plaintext is `context length
//! (1 byte) | context | number`. The context (a reservation id) binds the
//! sealed value to its reservation, so a copy pasted into another one does
//! not open. The key id says which of notification's keys opens it:
//! notification holds its current key and the previous ones
//! (`YEYAK_CONTACT_KEYS`, the first seals), so a key rotation never strands a
//! value sealed before it.
use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use crypto_box::{PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::config::{ConfigError, Env, Environment};

const VERSION: u8 = 1;
const MAX_KID: usize = 64;

/// Why a sealed contact does not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("not a sealed contact")]
    Malformed,
    #[error("sealed under key {0:?}, which this service does not hold")]
    UnknownKey(String),
    #[error("sealed contact does not open (tampered, or sealed for another reservation)")]
    Invalid,
}

/// Seals contacts to notification's current public key (reservation's side).
#[derive(Clone)]
pub struct ContactSealer {
    kid: String,
    public: PublicKey,
}

impl fmt::Debug for ContactSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format!("ContactSealer({})", self.public_entry()))
    }
}

impl ContactSealer {
    /// `kid:base64(32-byte X25519 public key)`.
    pub fn parse(setting: &str, spec: &str) -> Result<Self, ConfigError> {
        let (kid, key) = split_entry(setting, spec.trim())?;
        Ok(Self { kid, public: PublicKey::from(key) })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `YEYAK_CONTACT_PUBLIC_KEY` value of this key.
    pub fn public_entry(&self) -> String {
        format!("{}:{}", self.kid, B64.encode(self.public.as_bytes()))
    }

    /// Seals `contact` for the holder of the secret key, bound to `context`
    /// (at most 255 bytes).
    pub fn seal(&self, context: &[u8], contact: &str) -> Vec<u8> {
        let context = &context[..context.len().min(255)];
        let mut plain = Zeroizing::new(Vec::with_capacity(1 + context.len() + contact.len()));
        plain.push(context.len() as u8);
        plain.extend_from_slice(context);
        plain.extend_from_slice(contact.as_bytes());
        // Sealing with a valid key cannot fail (an AEAD error needs a
        // ciphertext to check); an empty value would only fail to open.
        let boxed = self.public.seal(&mut rand::rngs::OsRng, &plain).unwrap_or_default();
        let mut out = Vec::with_capacity(2 + self.kid.len() + boxed.len());
        out.push(VERSION);
        out.push(self.kid.len() as u8);
        out.extend_from_slice(self.kid.as_bytes());
        out.extend_from_slice(&boxed);
        out
    }
}

/// Notification's secret keys, the current one first (it is the one
/// reservation seals to); the others still open what was sealed before a
/// rotation.
#[derive(Clone)]
pub struct ContactKeys {
    keys: Vec<(String, SecretKey)>,
}

impl fmt::Debug for ContactKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactKeys").field("kids", &self.kids()).finish_non_exhaustive()
    }
}

impl ContactKeys {
    /// Comma-separated `kid:base64(32-byte X25519 secret key)`, current first.
    pub fn parse(setting: &str, spec: &str) -> Result<Self, ConfigError> {
        let keys = spec
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| split_entry(setting, e).map(|(kid, key)| (kid, SecretKey::from(key))))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(invalid(setting, "no key"));
        }
        for (i, (kid, _)) in keys.iter().enumerate() {
            if keys[..i].iter().any(|(k, _)| k == kid) {
                return Err(invalid(setting, &format!("key id {kid:?} appears twice")));
            }
        }
        Ok(Self { keys })
    }

    /// A fresh key (dev mode, tests and `yeyak-dev keys`).
    pub fn generate(kid: &str) -> Self {
        Self { keys: vec![(kid.to_owned(), SecretKey::generate(&mut rand::rngs::OsRng))] }
    }

    /// These keys with `current` in front: the state after a rotation.
    pub fn rotated_to(&self, current: ContactKeys) -> Self {
        let mut keys = current.keys;
        for (kid, key) in &self.keys {
            if !keys.iter().any(|(k, _)| k == kid) {
                keys.push((kid.clone(), key.clone()));
            }
        }
        Self { keys }
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    /// The sealer reservation must use: the current key's public half.
    pub fn sealer(&self) -> ContactSealer {
        let (kid, key) = &self.keys[0];
        ContactSealer { kid: kid.clone(), public: key.public_key() }
    }

    /// The `YEYAK_CONTACT_KEYS` value (a secret: never log it).
    pub fn secret_spec(&self) -> String {
        let entries: Vec<String> = self.keys.iter().map(|(kid, key)| format!("{kid}:{}", B64.encode(key.to_bytes()))).collect();
        entries.join(",")
    }

    /// Opens a sealed contact bound to `context`, in memory (wiped on drop).
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<String>, OpenError> {
        let (kid, boxed) = match sealed {
            [VERSION, n, rest @ ..] if rest.len() > usize::from(*n) => rest.split_at(usize::from(*n)),
            _ => return Err(OpenError::Malformed),
        };
        let kid = std::str::from_utf8(kid).map_err(|_| OpenError::Malformed)?;
        let (_, key) = self.keys.iter().find(|(k, _)| k == kid).ok_or_else(|| OpenError::UnknownKey(kid.to_owned()))?;
        let plain = Zeroizing::new(key.unseal(boxed).map_err(|_| OpenError::Invalid)?);
        let (n, rest) = plain.split_first().ok_or(OpenError::Invalid)?;
        let context = &context[..context.len().min(255)];
        if rest.len() < usize::from(*n) || &rest[..usize::from(*n)] != context {
            return Err(OpenError::Invalid);
        }
        let contact = std::str::from_utf8(&rest[usize::from(*n)..]).map_err(|_| OpenError::Invalid)?;
        Ok(Zeroizing::new(contact.to_owned()))
    }
}

/// The key id of a sealed contact, if it is one (for logs and metrics).
pub fn sealed_kid(sealed: &[u8]) -> Option<&str> {
    match sealed {
        [VERSION, n, rest @ ..] if rest.len() > usize::from(*n) => std::str::from_utf8(&rest[..usize::from(*n)]).ok(),
        _ => None,
    }
}

/// `YEYAK_CONTACT_PUBLIC_KEY` (or `_FILE`): reservation's sealer. Outside dev
/// mode it is required; dev mode without it seals to a throwaway key, so
/// notification cannot open what this replica sends (no SMS), and says so.
pub fn sealer_from_env(env: &Env) -> Result<ContactSealer, ConfigError> {
    match env.secret("CONTACT_PUBLIC_KEY")? {
        Some(spec) => ContactSealer::parse("YEYAK_CONTACT_PUBLIC_KEY", spec.expose()),
        None if env.environment()? == Environment::Dev => {
            let sealer = ContactKeys::generate(&format!("throwaway-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).sealer();
            tracing::warn!(
                kid = sealer.kid(),
                "dev mode: no YEYAK_CONTACT_PUBLIC_KEY; phone numbers are sealed to a throwaway key and no SMS can be sent"
            );
            Ok(sealer)
        }
        None => Err(ConfigError::Missing {
            key: "YEYAK_CONTACT_PUBLIC_KEY".into(),
            reason: "outside dev mode phone numbers must be sealed to notification's public key".into(),
        }),
    }
}

/// `YEYAK_CONTACT_KEYS` (or `_FILE`, a mounted Secret): notification's keys.
/// Outside dev mode they are required; dev mode generates one and logs its
/// public half for reservation.
pub fn keys_from_env(env: &Env) -> Result<ContactKeys, ConfigError> {
    match env.secret("CONTACT_KEYS")? {
        Some(spec) => ContactKeys::parse("YEYAK_CONTACT_KEYS", spec.expose()),
        None if env.environment()? == Environment::Dev => {
            let keys = ContactKeys::generate(&format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
            tracing::warn!(
                public_key = keys.sealer().public_entry(),
                "dev mode: generated a fresh contact key; reservation must seal to it"
            );
            Ok(keys)
        }
        None => Err(ConfigError::Missing {
            key: "YEYAK_CONTACT_KEYS".into(),
            reason: "outside dev mode the keys that open phone numbers must come from a secret".into(),
        }),
    }
}

fn split_entry(setting: &str, entry: &str) -> Result<(String, [u8; 32]), ConfigError> {
    let (kid, key) = entry.split_once(':').ok_or_else(|| invalid(setting, "expected kid:base64(32-byte key)"))?;
    if kid.is_empty() || kid.len() > MAX_KID || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(invalid(setting, "a key id is 1-64 letters, digits, '-', '_' or '.'"));
    }
    let bytes = Zeroizing::new(
        B64.decode(key.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(key))
            .map_err(|_| invalid(setting, &format!("key {kid:?} is not base64")))?,
    );
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| invalid(setting, &format!("key {kid:?} is not 32 bytes")))?;
    Ok((kid.to_owned(), key))
}

fn invalid(setting: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid { key: setting.to_owned(), reason: reason.to_owned() }
}

#[cfg(test)]
#[path = "contact_tests.rs"]
mod tests;
