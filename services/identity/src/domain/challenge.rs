//! A verification under way travels sealed in its challenge id, so no
//! replica stores it: StartVerification writes nothing to Redis for it and
//! CompleteVerification reads no challenge back, on whichever replica it
//! lands. Only what must be shared — wrong codes and single use — stays in
//! Redis, on one counter per attempt (`store`).
//!
//! The id is `c1.` and the base64url of a random 24-byte nonce and the
//! XChaCha20-Poly1305 encryption of the challenge (JSON), under a key derived
//! from the subject-hash key every replica holds: the front end cannot read
//! the pseudonyms inside, nor change a byte without the id being refused.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chacha20poly1305::{
    aead::{Aead as _, KeyInit as _, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use yeyak_platform::validate;

/// What a completion needs to know about its start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    /// The attempt's id: the provider's idempotency key, the name of the
    /// attempt's counter in Redis and the mark it leaves on the person's.
    #[serde(rename = "a")]
    pub attempt: String,
    #[serde(rename = "p")]
    pub provider_id: String,
    #[serde(rename = "t")]
    pub transaction_id: String,
    /// Admission session the verification runs under.
    #[serde(rename = "sid")]
    pub session_id: String,
    /// Pseudonymous subject id (keyed hash of the number) the person claimed.
    #[serde(rename = "sub")]
    pub subject: String,
    /// Keyed hash of the phone number (attempt counting only).
    #[serde(rename = "ph")]
    pub phone_key: String,
    /// Unix milliseconds after which the challenge is refused.
    #[serde(rename = "exp")]
    pub expires_at_ms: i64,
}

const PREFIX: &str = "c1.";
/// Binds the ciphertext to its purpose and format version.
const AAD: &[u8] = b"yeyak.identity.challenge.v1";
const NONCE_LEN: usize = 24;
/// Longest id accepted before any decoding (a provider's transaction id is
/// the only part of unbounded length; ids run ~400 characters).
pub(crate) const MAX_ID_LEN: usize = 2048;

/// Seals and opens challenge ids. Cheap to share; holds the derived key.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// The key is HMAC-SHA256(subject-hash key, label): a key of its own for
    /// this one use, with no new secret to mount; replicas sharing the
    /// subject-hash key (as they must) open each other's challenges.
    pub(crate) fn new(subject_hash_key: &[u8]) -> Self {
        // HMAC takes keys of any length: the fallback is never used.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(subject_hash_key).unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
        mac.update(b"yeyak identity challenge sealing key v1");
        Self { cipher: XChaCha20Poly1305::new(&mac.finalize().into_bytes()) }
    }

    pub(crate) fn seal(&self, challenge: &Challenge) -> String {
        let json = serde_json::to_vec(challenge).unwrap_or_default();
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self.cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: &json, aad: AAD }).unwrap_or_default();
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// The challenge in `id` if this service sealed it and it has not
    /// expired at `now_ms`; `None` for anything else, indistinguishably.
    pub(crate) fn open(&self, id: &str, now_ms: i64) -> Option<Challenge> {
        let raw = URL_SAFE_NO_PAD.decode(id.strip_prefix(PREFIX)?).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let json = self.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: AAD }).ok()?;
        let challenge: Challenge = serde_json::from_slice(&json).ok()?;
        (now_ms < challenge.expires_at_ms).then_some(challenge)
    }
}

/// Whether `id` has the shape of a challenge id (checked before opening it,
/// so a malformed one is named as a bad field, not an unknown challenge).
pub(crate) fn well_formed(id: &str) -> bool {
    id.len() <= MAX_ID_LEN && id.strip_prefix(PREFIX).is_some_and(|b| !b.is_empty() && b.chars().all(validate::token_char))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(expires_at_ms: i64) -> Challenge {
        Challenge {
            attempt: "0f8e2a1b9c3d4e5f60718293a4b5c6d7".into(),
            provider_id: "carrier-sms".into(),
            transaction_id: "tx-1".into(),
            session_id: "sid-1".into(),
            subject: "a".repeat(40),
            phone_key: "b".repeat(40),
            expires_at_ms,
        }
    }

    #[test]
    fn a_sealed_challenge_opens_until_it_expires_and_hides_what_it_holds() {
        let sealer = Sealer::new(b"subject hash key");
        let id = sealer.seal(&challenge(2_000));
        assert!(well_formed(&id) && id.len() < 600, "{id}");
        let raw = URL_SAFE_NO_PAD.decode(&id[PREFIX.len()..]).unwrap_or_default();
        for plain in [&b"carrier-sms"[..], b"sid-1", b"aaaaaaaaaa", b"bbbbbbbbbb"] {
            assert!(!raw.windows(plain.len()).any(|w| w == plain), "nothing inside is readable: {id}");
        }
        assert_eq!(sealer.open(&id, 1_999), Some(challenge(2_000)));
        assert_eq!(sealer.open(&id, 2_000), None, "expired");
        assert_ne!(id, sealer.seal(&challenge(2_000)), "a fresh nonce per seal");
    }

    #[test]
    fn a_changed_or_foreign_id_does_not_open() {
        let sealer = Sealer::new(b"subject hash key");
        let id = sealer.seal(&challenge(2_000));
        assert_eq!(Sealer::new(b"another key").open(&id, 0), None, "another deployment's key");
        for at in [3, id.len() / 2, id.len() - 1] {
            let mut bytes = id.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap_or_default();
            assert_eq!(sealer.open(&tampered, 0), None, "byte {at} changed");
        }
        for bad in ["", "c1.", "c2.AAAA", "nope", "c1.!!!!"] {
            assert_eq!(sealer.open(bad, 0), None, "{bad}");
        }
        assert!(!well_formed("nope") && !well_formed("c1.") && !well_formed(&format!("c1.{}", "A".repeat(MAX_ID_LEN))));
    }
}
