//! HMAC-SHA256 tokens for what only the issuer itself verifies (queue
//! tickets): about fifty times cheaper than Ed25519, which matters when
//! millions of people poll. Never for passes or assertions, whose verifiers
//! must not be able to mint them.
//!
//! Like a [`KeyRing`](super::KeyRing), [`HmacKeys`] is a cheap handle whose
//! clones all see a reloaded key set at once (lock-free reads).
use std::{collections::HashMap, fmt, sync::Arc};

use arc_swap::ArcSwap;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use hmac::{Hmac, Mac as _};
use parking_lot::Mutex;
use sha2::Sha256;

use super::{reload::KeySource, signed_part, verify_with, TokenClaims, TokenError};
use crate::{config::ConfigError, Secret};

/// One HMAC key with its key id; the secret is wiped when dropped.
#[derive(Clone)]
pub struct HmacKey {
    kid: String,
    secret: Secret<Vec<u8>>,
    /// The MAC with the key already absorbed: cloning it spares every
    /// ticket check the two hashes of the padded key.
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({}, [redacted])", self.kid)
    }
}

impl HmacKey {
    pub fn new(kid: &str, secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as hmac::Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Self { kid: kid.to_owned(), secret: Secret::new(secret.to_vec()), keyed }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }

    /// `kid:base64(secret)`, as read by [`HmacKeys::parse`].
    pub fn secret_spec(&self) -> String {
        format!("{}:{}", self.kid, base64::engine::general_purpose::STANDARD.encode(self.secret.expose()))
    }
}

/// The active key (signs) and every key still accepted (rotation overlap).
struct HmacSet {
    active: HmacKey,
    accepted: HashMap<String, HmacKey>,
}

impl HmacSet {
    fn new(active: HmacKey, older: impl IntoIterator<Item = HmacKey>) -> Self {
        let mut accepted: HashMap<String, HmacKey> = older.into_iter().map(|k| (k.kid.clone(), k)).collect();
        accepted.insert(active.kid.clone(), active.clone());
        Self { active, accepted }
    }

    fn same_as(&self, other: &Self) -> bool {
        let same = |a: &HmacKey, b: &HmacKey| a.kid == b.kid && a.secret == b.secret;
        same(&self.active, &other.active)
            && self.accepted.len() == other.accepted.len()
            && self.accepted.iter().all(|(kid, k)| other.accepted.get(kid).is_some_and(|o| same(k, o)))
    }

    /// The active key id first, then the others sorted.
    fn kids(&self) -> Vec<String> {
        let mut others: Vec<String> = self.accepted.keys().filter(|k| **k != self.active.kid).cloned().collect();
        others.sort();
        std::iter::once(self.active.kid.clone()).chain(others).collect()
    }
}

struct Shared {
    current: ArcSwap<HmacSet>,
    reloading: Mutex<()>,
    source: Option<KeySource>,
}

/// The ticket keys in force: the first signs, all verify.
#[derive(Clone)]
pub struct HmacKeys {
    shared: Arc<Shared>,
}

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKeys").field("kids", &self.kids()).field("source", &self.shared.source).finish()
    }
}

impl HmacKeys {
    pub fn new(active: HmacKey, older: impl IntoIterator<Item = HmacKey>) -> Self {
        Self::from_set(HmacSet::new(active, older), None)
    }

    fn from_set(set: HmacSet, source: Option<KeySource>) -> Self {
        Self { shared: Arc::new(Shared { current: ArcSwap::from_pointee(set), reloading: Mutex::new(()), source }) }
    }

    /// `kid:base64(secret)` entries, comma-separated; the first one signs.
    /// `key` names the setting in errors, which never quote a secret.
    pub fn parse(key: &str, spec: &str) -> Result<Self, ConfigError> {
        Ok(Self::from_set(parse_set(key, spec)?, None))
    }

    /// The file the keys came from, for the reload watcher. Call it before
    /// cloning (configuration does).
    pub fn with_source(self, source: KeySource) -> Self {
        let set = self.shared.current.load();
        Self::from_set(HmacSet { active: set.active.clone(), accepted: set.accepted.clone() }, Some(source))
    }

    pub fn source(&self) -> Option<&KeySource> {
        self.shared.source.as_ref()
    }

    /// The key that signs now.
    pub fn active(&self) -> HmacKey {
        self.shared.current.load().active.clone()
    }

    /// The key ids in force, the active one first.
    pub fn kids(&self) -> Vec<String> {
        self.shared.current.load().kids()
    }

    /// Replaces the keys with `spec` (named `key` in errors); an invalid
    /// spec changes nothing. `Ok(None)`: the same keys as in force.
    pub fn reload(&self, key: &str, spec: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let set = parse_set(key, spec)?;
        let _one_writer = self.shared.reloading.lock();
        if self.shared.current.load().same_as(&set) {
            return Ok(None);
        }
        let kids = set.kids();
        self.shared.current.store(Arc::new(set));
        Ok(Some(kids))
    }
}

fn parse_set(key: &str, spec: &str) -> Result<HmacSet, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { key: key.into(), reason };
    let mut keys = Vec::new();
    for (n, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
        let (kid, secret) = entry.split_once(':').ok_or_else(|| invalid(format!("entry {} is not kid:base64secret", n + 1)))?;
        super::keys::validate_kid(kid)
            .map_err(|_| invalid(format!("entry {}: the key id must be 1-64 characters of [A-Za-z0-9_-]", n + 1)))?;
        let secret = Secret::new(
            base64::engine::general_purpose::STANDARD.decode(secret).map_err(|_| invalid(format!("secret of {kid} is not base64")))?,
        );
        if secret.expose().len() < 32 {
            return Err(invalid(format!("secret of {kid} must be at least 32 bytes")));
        }
        if keys.iter().any(|k: &HmacKey| k.kid == kid) {
            return Err(invalid(format!("key id {kid} listed twice")));
        }
        keys.push(HmacKey::new(kid, secret.expose()));
    }
    let mut keys = keys.into_iter();
    let active = keys.next().ok_or_else(|| invalid("no key".into()))?;
    Ok(HmacSet::new(active, keys))
}

pub fn sign_hmac<C: TokenClaims>(keys: &HmacKeys, claims: &C) -> String {
    let set = keys.shared.current.load();
    let signed = signed_part(&set.active.kid, claims);
    let mut mac = set.active.mac();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", B64.encode(mac.finalize().into_bytes()))
}

pub fn verify_hmac<C: TokenClaims>(keys: &HmacKeys, token: &str, now_unix: i64) -> Result<C, TokenError> {
    verify_with(token, now_unix, |kid, signed, sig| {
        let mut mac = keys.shared.current.load().accepted.get(kid).ok_or(TokenError::UnknownKey)?.mac();
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
        QueueTicket {
            queue_id: "q".into(),
            place: pos,
            lottery_entry: None,
            client_binding: "c".into(),
            session_id: "s".into(),
            jkt: None,
            issued_at: 0,
            expires_at: 100,
        }
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
        let secret = base64::engine::general_purpose::STANDARD.encode([5; 32]);
        for leaky in [secret.clone(), format!("{spec},{secret}"), format!("{secret}:{secret}")] {
            let err = HmacKeys::parse("YEYAK_TICKET_KEYS", &leaky).unwrap_err().to_string();
            assert!(!err.contains(&secret[..8]), "an error never quotes a secret: {err}");
        }
    }

    #[test]
    fn a_reload_reaches_every_clone_and_an_invalid_one_changes_nothing() {
        let (t1, t2) = (HmacKey::new("t1", &[1; 32]), HmacKey::new("t2", &[2; 32]));
        let keys = HmacKeys::new(t1.clone(), []);
        let holder = keys.clone();
        let old = sign_hmac(&holder, &ticket(1));
        let new = sign_hmac(&HmacKeys::new(t2.clone(), []), &ticket(2));
        assert_eq!(verify_hmac::<QueueTicket>(&holder, &new, 0), Err(TokenError::UnknownKey));

        let both = format!("{},{}", t1.secret_spec(), t2.secret_spec());
        assert_eq!(keys.reload("K", &both).unwrap(), Some(vec!["t1".to_string(), "t2".to_string()]));
        assert_eq!(verify_hmac::<QueueTicket>(&holder, &new, 0).unwrap(), ticket(2), "accepted before it signs");
        assert!(sign_hmac(&holder, &ticket(3)).starts_with("v1.t1."), "t1 still signs");
        assert_eq!(keys.reload("K", &both).unwrap(), None, "unchanged");
        assert!(keys.reload("K", "t3:short").is_err());
        assert!(keys.reload("K", "").is_err());
        assert_eq!(holder.kids(), ["t1", "t2"]);

        keys.reload("K", &format!("{},{}", t2.secret_spec(), t1.secret_spec())).unwrap();
        assert!(sign_hmac(&holder, &ticket(3)).starts_with("v1.t2."), "switched signer");
        keys.reload("K", &t2.secret_spec()).unwrap();
        assert_eq!(verify_hmac::<QueueTicket>(&holder, &old, 0), Err(TokenError::UnknownKey), "removed");
        assert!(!format!("{holder:?}").contains(&t2.secret_spec()[3..]), "no key material in Debug");
    }
}
