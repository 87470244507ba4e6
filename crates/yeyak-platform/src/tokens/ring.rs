//! The trusted public keys, replaceable while the service runs.
//!
//! A [`KeyRing`] is a cheap handle: every clone (the pass check, the
//! assertion verifier, the use cases) reads the same key set, and a reload
//! swaps the whole set atomically for all of them at once. Reads are
//! lock-free (`arc_swap`): verification is on every protected RPC's path.
use std::{collections::HashMap, fmt, sync::Arc};

use arc_swap::ArcSwap;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use parking_lot::Mutex;

use super::{keys::validate_kid, reload::KeySource, sig::VerificationKey, Issuer, SigningKey};
use crate::config::ConfigError;

type Keys = HashMap<String, (Issuer, VerificationKey)>;

/// One key set as read at one moment. `generation` differs between any two
/// sets (whatever the ring), so a cache of verified tokens keyed with it
/// forgets everything verified with a set that was replaced.
#[derive(Debug, Default)]
struct KeySet {
    generation: u64,
    keys: Keys,
}

fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Default)]
struct Shared {
    current: ArcSwap<KeySet>,
    /// Keys added with [`KeyRing::trust`] (a service's own signing key):
    /// kept across reloads. Its lock also serialises the writers.
    pinned: Mutex<Keys>,
    source: Option<KeySource>,
}

/// Public keys trusted for verification, by key id.
#[derive(Clone, Default)]
pub struct KeyRing {
    shared: Arc<Shared>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").field("kids", &self.kids()).field("source", &self.shared.source).finish()
    }
}

impl KeyRing {
    /// Parses `issuer:kid:base64pub` entries separated by commas.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let keys = parse_keys(spec)?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(KeySet { generation: next_generation(), keys }),
                ..Default::default()
            }),
        })
    }

    /// Trusts `key` too, in this ring and every clone of it, and keeps
    /// trusting it whatever the reloads bring.
    pub fn trust(&mut self, key: &SigningKey) {
        let mut pinned = self.shared.pinned.lock();
        pinned.insert(key.kid().to_owned(), (key.issuer(), key.verifying_key()));
        let mut keys = self.shared.current.load().keys.clone();
        keys.extend(pinned.iter().map(|(kid, v)| (kid.clone(), *v)));
        self.shared.current.store(Arc::new(KeySet { generation: next_generation(), keys }));
    }

    /// The issuer and public key of `kid` in the set in force.
    pub fn get(&self, kid: &str) -> Option<(Issuer, VerificationKey)> {
        self.shared.current.load().keys.get(kid).copied()
    }

    /// Changes whenever the set is replaced: part of the key of a cache of
    /// verified tokens, so a removed key's tokens are verified (and refused)
    /// again.
    pub fn generation(&self) -> u64 {
        self.shared.current.load().generation
    }

    /// Every key of `issuer` in force, by key id (for its published JWKS).
    pub fn keys_of(&self, issuer: Issuer) -> Vec<(String, VerificationKey)> {
        let mut keys: Vec<_> =
            self.shared.current.load().keys.iter().filter(|(_, (i, _))| *i == issuer).map(|(kid, (_, key))| (kid.clone(), *key)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys
    }

    pub fn is_empty(&self) -> bool {
        self.shared.current.load().keys.is_empty()
    }

    /// The key ids in force, sorted (for logs: ids, never key material).
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.shared.current.load().keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// A ring of its own with the same keys, pinned keys and file: reloaded
    /// from the same file, but what is trusted on it stays on it.
    pub fn fork(&self) -> Self {
        let pinned = self.shared.pinned.lock().clone();
        let keys = self.shared.current.load().keys.clone();
        Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(KeySet { generation: next_generation(), keys }),
                pinned: Mutex::new(pinned),
                source: self.shared.source.clone(),
            }),
        }
    }

    /// The file the keys came from, for the reload watcher. Call it before
    /// cloning the ring (configuration does).
    pub fn with_source(self, source: KeySource) -> Self {
        let mut forked = self.fork();
        if let Some(shared) = Arc::get_mut(&mut forked.shared) {
            shared.source = Some(source);
        }
        forked
    }

    pub fn source(&self) -> Option<&KeySource> {
        self.shared.source.as_ref()
    }

    /// Replaces the set with `spec` (plus the pinned keys). A spec that does
    /// not parse, or lists no key, changes nothing. `Ok(None)`: the same keys
    /// as in force, nothing replaced; `Ok(Some(kids))`: the new key ids.
    pub fn reload(&self, spec: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let mut keys = parse_keys(spec)?;
        if keys.is_empty() {
            return Err(ConfigError::Invalid { key: "YEYAK_TRUSTED_KEYS".into(), reason: "lists no key".into() });
        }
        let pinned = self.shared.pinned.lock();
        keys.extend(pinned.iter().map(|(kid, v)| (kid.clone(), *v)));
        if self.shared.current.load().keys == keys {
            return Ok(None);
        }
        let mut kids: Vec<String> = keys.keys().cloned().collect();
        kids.sort();
        self.shared.current.store(Arc::new(KeySet { generation: next_generation(), keys }));
        drop(pinned);
        Ok(Some(kids))
    }
}

fn parse_keys(spec: &str) -> Result<Keys, ConfigError> {
    let mut keys = Keys::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let invalid = |reason: String| ConfigError::Invalid { key: "YEYAK_TRUSTED_KEYS".into(), reason };
        let mut parts = entry.splitn(3, ':');
        let (Some(issuer), Some(kid), Some(public)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(format!("entry {entry:?} is not issuer:kid:base64pub")));
        };
        let issuer: Issuer = issuer.parse().map_err(invalid)?;
        validate_kid(kid).map_err(invalid)?;
        let bytes: [u8; 32] = B64
            .decode(public)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid(format!("public key of {kid} must be 32 bytes, base64")))?;
        let key = super::sig::public_key(bytes).ok_or_else(|| invalid(format!("public key of {kid} is not a curve point")))?;
        if keys.insert(kid.to_owned(), (issuer, key)).is_some() {
            return Err(invalid(format!("key id {kid} listed twice")));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{sign, verify, AdmissionPass, TokenError};

    fn pass() -> AdmissionPass {
        AdmissionPass {
            queue_id: "q1".into(),
            place: 1,
            client_binding: "c".into(),
            session_id: "s".into(),
            cnf: None,
            issued_at: 0,
            expires_at: 100,
        }
    }

    fn spec(keys: &[&SigningKey]) -> String {
        keys.iter().map(|k| k.trusted_entry()).collect::<Vec<_>>().join(",")
    }

    #[test]
    fn every_clone_sees_a_reload_and_a_bad_spec_keeps_the_keys_in_force() {
        let (k1, k2) = (SigningKey::generate(Issuer::Admission, "k1"), SigningKey::generate(Issuer::Admission, "k2"));
        let ring = KeyRing::parse(&spec(&[&k1])).unwrap();
        let holder = ring.clone();
        let (old, new) = (sign(&k1, &pass()), sign(&k2, &pass()));
        assert_eq!(verify::<AdmissionPass>(&holder, &new, 0), Err(TokenError::UnknownKey));
        let before = holder.generation();

        assert_eq!(ring.reload(&spec(&[&k1, &k2])).unwrap(), Some(vec!["k1".to_string(), "k2".to_string()]));
        assert!(verify::<AdmissionPass>(&holder, &new, 0).is_ok(), "a clone sees the new key");
        assert!(verify::<AdmissionPass>(&holder, &old, 0).is_ok(), "the old key is still listed");
        assert_ne!(holder.generation(), before);

        let generation = holder.generation();
        assert_eq!(ring.reload(&format!(" {} ", spec(&[&k2, &k1]))).unwrap(), None, "same keys: nothing replaced");
        assert_eq!(holder.generation(), generation);
        for bad in ["", " , ", "admission:k3:not-base64", "nobody:k3:AAAA"] {
            assert!(ring.reload(bad).is_err(), "{bad:?}");
        }
        assert_eq!(holder.kids(), ["k1", "k2"], "a refused reload changes nothing");

        assert!(ring.reload(&spec(&[&k2])).unwrap().is_some());
        assert_eq!(verify::<AdmissionPass>(&holder, &old, 0), Err(TokenError::UnknownKey), "removed");
        assert!(verify::<AdmissionPass>(&holder, &new, 0).is_ok());
    }

    #[test]
    fn pinned_keys_survive_reloads_and_a_fork_is_its_own_ring() {
        let (k1, own) = (SigningKey::generate(Issuer::Admission, "k1"), SigningKey::generate(Issuer::Identity, "own"));
        let trusted = KeyRing::parse(&spec(&[&k1])).unwrap();
        let mut assertions = trusted.fork();
        assertions.trust(&own);
        assert_eq!(assertions.kids(), ["k1", "own"]);
        assert_eq!(trusted.kids(), ["k1"], "trusting on a fork leaves the original alone");
        let k2 = SigningKey::generate(Issuer::Admission, "k2");
        assertions.reload(&spec(&[&k2])).unwrap();
        assert_eq!(assertions.kids(), ["k2", "own"], "the pinned key stays");
        assert_eq!(format!("{assertions:?}").matches("k2").count(), 1, "ids only");
        assert!(!format!("{assertions:?}").contains(&B64.encode(<[u8; 32]>::from(k2.verifying_key()))));
    }
}
