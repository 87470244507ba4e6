//! HMAC-SHA256 tokens for what only the issuer itself verifies (queue
//! tickets): about fifty times cheaper than Ed25519, which matters when
//! millions of people poll. Never for passes or assertions, whose verifiers
//! must not be able to mint them.
use std::{collections::HashMap, fmt};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::{signed_part, verify_with, TokenClaims, TokenError};
use crate::config::ConfigError;

/// One HMAC key with its key id.
#[derive(Clone)]
pub struct HmacKey {
    kid: String,
    secret: Vec<u8>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({}, [redacted])", self.kid)
    }
}

impl HmacKey {
    pub fn new(kid: &str, secret: &[u8]) -> Self {
        Self { kid: kid.to_owned(), secret: secret.to_vec() }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// `kid:base64(secret)`, as read by [`HmacKeys::parse`].
    pub fn secret_spec(&self) -> String {
        format!("{}:{}", self.kid, base64::engine::general_purpose::STANDARD.encode(&self.secret))
    }
}

/// The active key (signs) and every key still accepted (rotation overlap).
#[derive(Clone, Debug)]
pub struct HmacKeys {
    active: HmacKey,
    accepted: HashMap<String, HmacKey>,
}

impl HmacKeys {
    pub fn new(active: HmacKey, older: impl IntoIterator<Item = HmacKey>) -> Self {
        let mut accepted: HashMap<String, HmacKey> = older.into_iter().map(|k| (k.kid.clone(), k)).collect();
        accepted.insert(active.kid.clone(), active.clone());
        Self { active, accepted }
    }

    /// `kid:base64(secret)` entries, comma-separated; the first one signs.
    pub fn parse(key: &str, spec: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { key: key.into(), reason };
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, secret) =
                entry.split_once(':').ok_or_else(|| invalid(format!("entry for {:?} is not kid:base64secret", entry.split(':').next())))?;
            let secret =
                base64::engine::general_purpose::STANDARD.decode(secret).map_err(|_| invalid(format!("secret of {kid} is not base64")))?;
            if secret.len() < 32 {
                return Err(invalid(format!("secret of {kid} must be at least 32 bytes")));
            }
            keys.push(HmacKey::new(kid, &secret));
        }
        let mut keys = keys.into_iter();
        let active = keys.next().ok_or_else(|| invalid("no key".into()))?;
        Ok(Self::new(active, keys))
    }

    pub fn active(&self) -> &HmacKey {
        &self.active
    }
}

pub fn sign_hmac<C: TokenClaims>(keys: &HmacKeys, claims: &C) -> String {
    let signed = signed_part(&keys.active.kid, claims);
    let mut mac = keys.active.mac();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", B64.encode(mac.finalize().into_bytes()))
}

pub fn verify_hmac<C: TokenClaims>(keys: &HmacKeys, token: &str, now_unix: i64) -> Result<C, TokenError> {
    verify_with(token, now_unix, |kid, signed, sig| {
        let key = keys.accepted.get(kid).ok_or(TokenError::UnknownKey)?;
        let mut mac = key.mac();
        mac.update(signed);
        // Constant-time comparison.
        mac.verify_slice(sig).map_err(|_| TokenError::BadSignature)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::QueueTicket;

    fn ticket(pos: u64) -> QueueTicket {
        QueueTicket { queue_id: "q".into(), place: pos, lottery_entry: None, client_binding: "c".into(), issued_at: 0, expires_at: 100 }
    }

    #[test]
    fn round_trip_rotation_and_forgery() {
        let old = HmacKey::new("t1", &[1; 32]);
        let new = HmacKey::new("t2", &[2; 32]);
        let before = HmacKeys::new(old.clone(), []);
        let after = HmacKeys::new(new, [old]);
        let token = sign_hmac(&before, &ticket(7));
        assert_eq!(verify_hmac::<QueueTicket>(&after, &token, 0).unwrap(), ticket(7), "old tickets survive a rotation");
        assert_eq!(verify_hmac::<QueueTicket>(&HmacKeys::new(HmacKey::new("t1", &[9; 32]), []), &token, 0), Err(TokenError::BadSignature));
        assert_eq!(verify_hmac::<QueueTicket>(&HmacKeys::new(HmacKey::new("t3", &[1; 32]), []), &token, 0), Err(TokenError::UnknownKey));
        assert_eq!(verify_hmac::<QueueTicket>(&after, &token, 100), Err(TokenError::Expired));
        let altered = sign_hmac(&before, &ticket(1));
        let spliced = format!("{}.{}", altered.rsplit_once('.').unwrap().0, token.rsplit_once('.').unwrap().1);
        assert_eq!(verify_hmac::<QueueTicket>(&before, &spliced, 0), Err(TokenError::BadSignature));
    }

    #[test]
    fn parse_names_the_variable_and_rejects_short_secrets() {
        let spec = HmacKey::new("t1", &[3; 32]).secret_spec();
        assert_eq!(HmacKeys::parse("YEYAK_TICKET_KEYS", &spec).unwrap().active().kid(), "t1");
        let err = HmacKeys::parse("YEYAK_TICKET_KEYS", "t1:AAAA").unwrap_err().to_string();
        assert!(err.contains("YEYAK_TICKET_KEYS") && err.contains("32 bytes"), "{err}");
    }
}
