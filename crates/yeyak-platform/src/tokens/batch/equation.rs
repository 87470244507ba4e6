//! The batch equation, with one term per signing key rather than per signature.
//!
//! ed25519-dalek's `verify_batch` puts every signature's public key into the
//! multi-scalar multiplication, so a batch of n signatures multiplies 2n + 1
//! points. Our tokens come from a handful of issuer keys (the admission
//! key and the identity key in force), so the coefficients of one key add up
//! first and a batch of n signatures from k keys multiplies n + k + 1 points:
//! for 16 signatures from 2 keys, 19 instead of 33 (measured here: see
//! `docs/benchmarks.md`, eligibility, fifth session).
//!
//! For signatures (R_i, s_i) by keys A_i on messages M_i, with
//! k_i = SHA-512(R_i ‖ A_i ‖ M_i) and fresh random 128-bit z_i, the batch
//! holds when
//!
//!   [8]( −(Σ z_i s_i) B + Σ z_i R_i + Σ_A (Σ_{i: A_i = A} z_i k_i) A ) = 0.
//!
//! That is the cofactored equation: it holds for every signature that single
//! verification accepts, and a signature that single verification rejects
//! passes only if its faults are small-order points, which only the key's
//! holder can produce (our own issuers). ed25519-dalek's batch, without the
//! factor 8, would let such a signature through one time in eight, at random;
//! here the answer does not depend on the coefficients drawn. The s_i must be
//! canonical (below the group order), as single verification requires.
use curve25519_dalek::{
    constants::ED25519_BASEPOINT_POINT,
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
    traits::{IsIdentity as _, VartimeMultiscalarMul as _},
};
use ed25519_dalek::{Signature, VerifyingKey};
use rand::Rng as _;
use sha2::{Digest as _, Sha512};

/// One signature to check: the key it claims, the message, the signature.
pub type Item<'a> = (&'a VerifyingKey, &'a [u8], &'a Signature);

/// True when every signature of the batch is valid (in the sense above);
/// false when at least one is not, without saying which.
pub fn verify_all(items: &[Item<'_>]) -> bool {
    let mut rng = rand::thread_rng();
    let mut b_coefficient = Scalar::ZERO;
    // The base point first, then each R_i, then each distinct key.
    let mut scalars = Vec::with_capacity(items.len() + 4);
    let mut points = Vec::with_capacity(items.len() + 4);
    scalars.push(Scalar::ZERO);
    points.push(Some(ED25519_BASEPOINT_POINT));
    let mut keys: Vec<(&VerifyingKey, Scalar)> = Vec::new();
    for &(key, message, signature) in items {
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes())) else {
            return false;
        };
        let k = Scalar::from_hash(Sha512::new().chain_update(signature.r_bytes()).chain_update(key.as_bytes()).chain_update(message));
        let z = Scalar::from(rng.gen::<u128>());
        b_coefficient += z * s;
        scalars.push(z);
        points.push(CompressedEdwardsY(*signature.r_bytes()).decompress());
        match keys.iter_mut().find(|(known, _)| known.as_bytes() == key.as_bytes()) {
            Some((_, sum)) => *sum += z * k,
            None => keys.push((key, z * k)),
        }
    }
    scalars[0] = -b_coefficient;
    for (key, sum) in keys {
        scalars.push(sum);
        points.push(Some(key.to_edwards()));
    }
    // An R that is not a curve point makes the whole batch fail (None).
    EdwardsPoint::optional_multiscalar_mul(scalars, points).is_some_and(|sum| sum.mul_by_cofactor().is_identity())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};

    use super::*;

    fn signed(seed: u8, message: &[u8]) -> (VerifyingKey, Vec<u8>, Signature) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (key.verifying_key(), message.to_vec(), key.sign(message))
    }

    fn check(batch: &[(VerifyingKey, Vec<u8>, Signature)]) -> bool {
        let items: Vec<Item<'_>> = batch.iter().map(|(k, m, s)| (k, m.as_slice(), s)).collect();
        verify_all(&items)
    }

    #[test]
    fn valid_signatures_from_few_keys_pass_together() {
        let batch: Vec<_> = (0..24u8).map(|i| signed(1 + i % 3, &[i; 40])).collect();
        assert!(check(&batch));
        assert!(check(&batch[..1]));
    }

    #[test]
    fn any_bad_signature_fails_the_batch() {
        let good: Vec<_> = (0..8u8).map(|i| signed(1 + i % 2, &[i; 40])).collect();
        let mut cases = Vec::new();
        // Another message under the same signature.
        let mut altered = good.clone();
        altered[3].1 = b"altered".to_vec();
        cases.push(altered);
        // A key other than the signer's (one the batch knows, and a new one).
        let mut wrong_key = good.clone();
        wrong_key[4].0 = good[5].0;
        cases.push(wrong_key);
        let mut forged = good.clone();
        forged[2] = (good[2].0, b"forged".to_vec(), SigningKey::from_bytes(&[9; 32]).sign(b"forged"));
        cases.push(forged);
        // s made non-canonical: s + l has the same value mod l but is refused.
        let mut bytes = good[1].2.to_bytes();
        let mut carry = 0u16;
        // The group order l, little-endian.
        let mut l = [0u8; 32];
        l[..16].copy_from_slice(&[0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14]);
        l[31] = 0x10;
        for (b, l) in bytes[32..].iter_mut().zip(l) {
            let sum = u16::from(*b) + u16::from(l) + carry;
            (*b, carry) = (sum as u8, sum >> 8);
        }
        let mut non_canonical = good.clone();
        non_canonical[1].2 = Signature::from_bytes(&bytes);
        cases.push(non_canonical);
        // An R that is not a point on the curve.
        let mut bytes = good[6].2.to_bytes();
        bytes[..32].copy_from_slice(&[0xff; 32]);
        let mut off_curve = good.clone();
        off_curve[6].2 = Signature::from_bytes(&bytes);
        cases.push(off_curve);
        for (n, case) in cases.iter().enumerate() {
            assert!(!check(case), "case {n} passed");
            // Single verification agrees that exactly one signature is bad.
            assert_eq!(case.iter().filter(|(k, m, s)| k.verify(m, s).is_err()).count(), 1, "case {n}");
        }
        assert!(check(&good));
    }
}
