//! Signed tokens: queue tickets and admission passes (issued by admission) and
//! identity assertions (issued by identity), verified by every service.
//!
//! Passes, assertions and consents are JWS compact tokens signed with
//! Ed25519 ([`jws`]); the issuers publish their public keys as JWKS
//! ([`jwks`]). Every key id belongs to exactly one issuer, so a key that
//! signs assertions can never mint a pass. Several key ids may be trusted at
//! once: rotation adds the new key, starts signing with it, and removes the
//! old one only after its longest-lived token expired. Key sets read from
//! files are re-read when the file changes ([`reload`]). Queue tickets, read
//! only by admission, are HMAC tokens of our own format,
//! `v1.<kid>.<b64url(claims)>.<b64url(mac)>` ([`hmac_keys`]).
pub mod batch;
mod claims;
pub mod config;
pub mod dpop;
mod hmac_keys;
pub mod jwks;
pub mod jws;
mod keys;
pub mod reload;
pub mod remembered;
mod ring;
pub mod sig;
pub mod suspects;

pub use batch::SignatureBatcher;
pub use claims::{client_binding, AdmissionPass, Confirmation, ConsentToken, IdentityAssertion, QueueTicket, TokenClaims};
pub use hmac_keys::{sign_hmac, verify_hmac, HmacKey, HmacKeys};
pub use keys::{generate_key_material, Issuer, SigningKey};
pub use reload::{KeySource, KeyWatch};
pub use remembered::{AssertionVerifier, Remembered};
pub use ring::KeyRing;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token was signed with an unknown key id")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token was issued by the wrong issuer for its type")]
    WrongIssuer,
    #[error("token is of the wrong type")]
    WrongType,
    #[error("token has expired")]
    Expired,
}

/// Signs claims with the service's active key: a JWS compact token.
pub fn sign<C: TokenClaims>(key: &SigningKey, claims: &C) -> String {
    let input = jws::signing_input(key.kid(), claims);
    let signature = key.inner().sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

/// Verifies header, signature, issuer, type and expiry (against `now_unix`).
pub fn verify<C: TokenClaims>(ring: &KeyRing, token: &str, now_unix: i64) -> Result<C, TokenError> {
    let parts = jws::split::<C>(token)?;
    let key = issuer_key::<C>(ring, &parts.kid)?;
    let signature = jws::signature(&parts)?;
    if !sig::verify_one(&key, parts.signed, &signature.signature()) {
        return Err(TokenError::BadSignature);
    }
    jws::claims(&parts, now_unix)
}

/// Verifies like [`verify`], with the signature checked in a batch with
/// those of concurrent requests (see [`batch`]).
pub async fn verify_batched<C: TokenClaims>(
    ring: &KeyRing,
    batcher: &SignatureBatcher,
    token: &str,
    now_unix: i64,
) -> Result<C, TokenError> {
    let parts = jws::split::<C>(token)?;
    let key = issuer_key::<C>(ring, &parts.kid)?;
    let signature = jws::signature(&parts)?;
    if !batcher.verify(key, parts.signed, signature).await {
        return Err(TokenError::BadSignature);
    }
    jws::claims(&parts, now_unix)
}

/// The public key of `kid`, when it belongs to the issuer of `C`.
fn issuer_key<C: TokenClaims>(ring: &KeyRing, kid: &str) -> Result<sig::VerificationKey, TokenError> {
    let (issuer, key) = ring.get(kid).ok_or(TokenError::UnknownKey)?;
    if issuer != C::ISSUER {
        return Err(TokenError::WrongIssuer);
    }
    Ok(key)
}

/// Encodes claims (with their type) as the signed part `v1.<kid>.<claims>`
/// of an HMAC token.
pub(crate) fn signed_part<C: TokenClaims>(kid: &str, claims: &C) -> String {
    /// The claims with their type beside them, written in one pass (no
    /// intermediate `serde_json::Value`).
    #[derive(serde::Serialize)]
    struct Typed<'a, C> {
        typ: &'static str,
        #[serde(flatten)]
        claims: &'a C,
    }
    let json = serde_json::to_vec(&Typed { typ: C::TYPE, claims }).unwrap_or_default();
    format!("v1.{kid}.{}", B64.encode(json))
}

/// A token cut at its dots; nothing in it is trusted yet.
struct Parts<'a> {
    kid: &'a str,
    payload: &'a str,
    /// The bytes the signature covers: `v1.<kid>.<claims>`.
    signed: &'a [u8],
    sig: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > 4096 {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some("v1"), Some(kid), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let signed = &token.as_bytes()[..token.len() - sig.len() - 1];
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    Ok(Parts { kid, payload, signed, sig })
}

/// Type and expiry, once the signature held.
fn claims<C: TokenClaims>(parts: &Parts<'_>, now_unix: i64) -> Result<C, TokenError> {
    /// The type alone, read first: a token of another type is refused as
    /// such, whatever its shape. Parsed straight from the bytes (twice) rather
    /// than through a `serde_json::Value`, which allocated every field on
    /// every poll.
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(borrow, default)]
        typ: Option<std::borrow::Cow<'a, str>>,
    }
    let json = B64.decode(parts.payload).map_err(|_| TokenError::Malformed)?;
    let typed: Typed<'_> = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if typed.typ.as_deref() != Some(C::TYPE) {
        return Err(TokenError::WrongType);
    }
    let claims: C = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.expires_at() <= now_unix {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The checks every token gets; `check_signature(kid, signed part, signature)`
/// is the only part that depends on the kind of key.
pub(crate) fn verify_with<C: TokenClaims>(
    token: &str,
    now_unix: i64,
    check_signature: impl FnOnce(&str, &[u8], &[u8]) -> Result<(), TokenError>,
) -> Result<C, TokenError> {
    let parts = split(token)?;
    check_signature(parts.kid, parts.signed, &parts.sig)?;
    claims(&parts, now_unix)
}

#[cfg(test)]
mod tests;
