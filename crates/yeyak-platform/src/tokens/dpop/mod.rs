//! Device-bound passes: proof of possession in the shape of DPoP (RFC 9449),
//! adapted to gRPC metadata.
//!
//! A client makes an Ed25519 key pair once (a browser: WebCrypto, not
//! extractable) and sends a proof signed with it at JoinQueue; admission
//! puts the key's thumbprint (RFC 7638) in the ticket, and the pass carries
//! it as `cnf.jkt`. From then on every call behind the waiting room carries
//! a fresh proof in [`PROOF_HEADER`]: a JWS with `typ` `dpop+jwt`, the public
//! key in the header (`jwk`), and claims `htm` (`POST`), `htu` (the gRPC
//! method path, not a URL: gateways change the authority), `iat`, a unique
//! `jti`, and `ath` (the SHA-256 of the pass it goes with). A copied pass and
//! client id are then useless without the private key, and a copied proof
//! is good for one call of one method within [`PROOF_WINDOW_SECS`] (a
//! replay within that window is refused by the replica that saw it first:
//! [`replay`]).
pub mod replay;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::sig::{self, Screened, VerificationKeyBytes};

/// The metadata a proof travels in.
pub const PROOF_HEADER: &str = "yeyak-dpop";
/// How far a proof's `iat` may be from the server's clock, either way: a
/// device whose clock is off by more has its proofs refused, with a message
/// that says so (RFC 9449's server nonces would lift that, at the cost of
/// a round trip).
pub const PROOF_WINDOW_SECS: i64 = 60;
/// A proof is about 330 bytes.
const MAX_PROOF: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("missing {PROOF_HEADER} metadata: this pass is bound to a device key, sign a proof with it")]
    Missing,
    #[error("{PROOF_HEADER} is not a device proof (dpop+jwt, EdDSA, an Ed25519 jwk)")]
    Malformed,
    #[error("{PROOF_HEADER} is signed by another key than the one the pass is bound to")]
    WrongKey,
    #[error("{PROOF_HEADER} was made for another method")]
    WrongMethod,
    #[error("{PROOF_HEADER} was made for another pass")]
    WrongPass,
    #[error("{PROOF_HEADER} is too old or from the future: check the device's clock")]
    Stale,
    #[error("{PROOF_HEADER} was used before: sign a new one for every call")]
    Replayed,
    #[error("{PROOF_HEADER} signature is invalid")]
    BadSignature,
}

#[derive(Serialize, Deserialize)]
struct Jwk<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    typ: &'a str,
    alg: &'a str,
    #[serde(borrow)]
    jwk: Jwk<'a>,
}

/// What a proof states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    pub jti: String,
    pub htm: String,
    pub htu: String,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
}

/// The RFC 7638 thumbprint of an Ed25519 public key given as its JWK `x`:
/// SHA-256 of the required members in lexicographic order, base64url.
pub fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// `ath`: the SHA-256 of the pass a proof goes with, base64url.
pub fn token_hash(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

/// The key thumbprint a pass says it is bound to, read without checking
/// anything (a client's look at what it was given).
pub fn bound_key(pass: &str) -> Option<String> {
    let payload = B64.decode(pass.split('.').nth(1)?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    claims.get("cnf")?.get("jkt")?.as_str().map(str::to_owned)
}

/// A proof cut apart and its header checked; its claims are not yet trusted.
#[derive(Debug)]
pub struct Proof<'a> {
    /// The public key's JWK `x`, as sent.
    pub x: String,
    pub key: VerificationKeyBytes,
    pub claims: ProofClaims,
    /// `header.claims` as sent: what the signature covers.
    pub signed: &'a [u8],
    pub signature: Screened,
}

impl<'a> Proof<'a> {
    /// Decodes a proof and screens its signature (see [`sig::screen`]).
    pub fn parse(token: &'a str) -> Result<Self, ProofError> {
        if token.len() > MAX_PROOF {
            return Err(ProofError::Malformed);
        }
        let mut it = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(ProofError::Malformed);
        };
        let header_json = B64.decode(header).map_err(|_| ProofError::Malformed)?;
        let h: Header<'_> = serde_json::from_slice(&header_json).map_err(|_| ProofError::Malformed)?;
        if h.typ != "dpop+jwt" || h.alg != "EdDSA" || h.jwk.kty != "OKP" || h.jwk.crv != "Ed25519" {
            return Err(ProofError::Malformed);
        }
        let key: [u8; 32] = B64.decode(h.jwk.x).ok().and_then(|k| k.try_into().ok()).ok_or(ProofError::Malformed)?;
        let claims: ProofClaims =
            serde_json::from_slice(&B64.decode(payload).map_err(|_| ProofError::Malformed)?).map_err(|_| ProofError::Malformed)?;
        if claims.jti.is_empty() || claims.jti.len() > 64 {
            return Err(ProofError::Malformed);
        }
        let signature = sig::screen(&B64.decode(signature).map_err(|_| ProofError::Malformed)?).map_err(|_| ProofError::BadSignature)?;
        let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
        Ok(Self { x: h.jwk.x.to_owned(), key: VerificationKeyBytes::from(key), claims, signed, signature })
    }

    /// Everything but the signature: the key the pass names, a method this
    /// service accepts, the pass it goes with, and the time.
    pub fn check(&self, jkt: &str, method_ok: impl Fn(&str) -> bool, pass: Option<&str>, now_unix: i64) -> Result<(), ProofError> {
        if thumbprint(&self.x) != jkt {
            return Err(ProofError::WrongKey);
        }
        if self.claims.htm != "POST" || !method_ok(&self.claims.htu) {
            return Err(ProofError::WrongMethod);
        }
        if self.claims.ath.as_deref() != pass.map(token_hash).as_deref() {
            return Err(ProofError::WrongPass);
        }
        if (self.claims.iat - now_unix).abs() > PROOF_WINDOW_SECS {
            return Err(ProofError::Stale);
        }
        Ok(())
    }
}

mod device;
pub use device::DeviceKey;

#[cfg(test)]
mod tests;
