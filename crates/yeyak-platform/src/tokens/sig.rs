//! The one set of Ed25519 rules every token check applies, batched or alone.
//!
//! Verification is `ed25519-zebra`'s, which implements ZIP 215: a signature
//! is valid when `[8][s]B = [8]R + [8][k]A`, with `s` canonical and `R` any
//! encoding of a curve point. The batch equation is the same cofactored
//! equation, so whether a borderline token passes never depends on what
//! else shares its batch (the hand-written batch equation we had before
//! could disagree with dalek's single check on such tokens).
//!
//! [`screen`] is the cheap part of those rules, run before a signature may
//! join a batch: a token that fails it never costs a batch anything.
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
pub use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};

use super::TokenError;

/// A signature that passed [`screen`]: 64 bytes, `s` below the group
/// order, `R` the encoding of a curve point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screened(pub(crate) Signature);

impl Screened {
    pub fn signature(&self) -> Signature {
        self.0
    }
}

/// The checks that need no scalar multiplication. A forger who knows a key
/// id (they are public) can still pass them; they bound what garbage costs
/// to one hash and one point decompression.
pub fn screen(bytes: &[u8]) -> Result<Screened, TokenError> {
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| TokenError::Malformed)?;
    let signature = Signature::from_bytes(&bytes);
    if Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes())).is_none() {
        return Err(TokenError::BadSignature);
    }
    if CompressedEdwardsY(*signature.r_bytes()).decompress().is_none() {
        return Err(TokenError::BadSignature);
    }
    Ok(Screened(signature))
}

/// One signature checked alone, under the same rules as a batch.
pub fn verify_one(key: &VerificationKey, message: &[u8], signature: &Signature) -> bool {
    key.verify(signature, message).is_ok()
}

/// Parses a trusted 32-byte public key; `None` when it is not a curve point
/// or is of small order (a key any signature would satisfy).
pub fn public_key(bytes: [u8; 32]) -> Option<VerificationKey> {
    let point = CompressedEdwardsY(bytes).decompress()?;
    if point.is_small_order() {
        return None;
    }
    VerificationKey::try_from(bytes).ok()
}
