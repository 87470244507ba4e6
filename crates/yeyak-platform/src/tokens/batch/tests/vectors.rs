//! Ed25519's edge cases: small-order keys and R, mixed-order keys,
//! non-canonical point encodings. On these, RFC 8032's cofactorless single
//! check and a cofactored batch can disagree; under ZIP 215 they must not,
//! whatever shares the batch. (The cases follow ed25519-zebra's own
//! small-order and non-canonical vectors, rebuilt here.)
use curve25519_dalek::{
    constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION},
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
};
use ed25519_zebra::{batch::Item, Signature, SigningKey, VerificationKey, VerificationKeyBytes};
use sha2::{Digest as _, Sha512};

use super::super::{all_valid, verify_each};

/// Encodings y + p (y < 19), with and without the sign bit, that decode
/// to a curve point: all non-canonical.
fn non_canonical_points() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for i in 0..19u8 {
        for sign in [0u8, 0x80] {
            let mut bytes = [0xffu8; 32];
            bytes[0] = 237 + i;
            bytes[31] = 0x7f | sign;
            if let Some(p) = CompressedEdwardsY(bytes).decompress() {
                assert_ne!(p.compress().to_bytes(), bytes, "non-canonical");
                out.push(bytes);
            }
        }
    }
    out
}

/// (key, signature, message) cases, each with what ZIP 215 says.
fn cases() -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
    let mut cases = Vec::new();
    let small: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|p| p.compress().to_bytes())
        .chain(non_canonical_points().into_iter().filter(|b| CompressedEdwardsY(*b).decompress().is_some_and(|p| p.is_small_order())))
        .collect();
    assert!(small.len() >= 12, "8 canonical small-order encodings and non-canonical ones");
    // Small-order A and R with s = 0: valid under the cofactored equation.
    for a in &small {
        for r in small.iter().step_by(3) {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(r);
            cases.push((*a, sig, b"Zcash".to_vec()));
        }
    }
    // Mixed order: a real key plus a torsion point, signing as if it were
    // the key (valid cofactored, mostly invalid cofactorless).
    let secret = Scalar::from_bytes_mod_order([7u8; 32]);
    for (n, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let a: EdwardsPoint = ED25519_BASEPOINT_POINT * secret + t;
        let a_bytes = a.compress().to_bytes();
        let message = format!("mixed {n}").into_bytes();
        let r = Scalar::from_bytes_mod_order([n as u8 + 11; 32]);
        let r_bytes = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[n % 8]).compress().to_bytes();
        let k = Scalar::from_hash(Sha512::new().chain_update(r_bytes).chain_update(a_bytes).chain_update(&message));
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice((r + k * secret).as_bytes());
        cases.push((a_bytes, sig, message.clone()));
        // And the same with s off by one: invalid under every rule.
        let mut bad = sig;
        bad[32..].copy_from_slice((r + k * secret + Scalar::ONE).as_bytes());
        cases.push((a_bytes, bad, message));
    }
    // Non-canonical R encodings on a real key's signature.
    let key = SigningKey::from([3u8; 32]);
    for r in non_canonical_points() {
        let mut sig = key.sign(b"nc").to_bytes();
        sig[..32].copy_from_slice(&r);
        cases.push((key.verification_key().into(), sig, b"nc".to_vec()));
    }
    cases
}

#[test]
fn batched_and_single_answers_agree_on_every_edge_case() {
    let good_key = SigningKey::from([1u8; 32]);
    let goods: Vec<Item> = (0..7u8)
        .map(|i| Item::from((VerificationKeyBytes::from(good_key.verification_key()), good_key.sign(&[i; 8]), &[i; 8][..])))
        .collect();
    let (mut valid, mut invalid) = (0, 0);
    for (a, sig, message) in cases() {
        let sig = Signature::from_bytes(&sig);
        let single = VerificationKey::try_from(a).is_ok_and(|vk| vk.verify(&sig, &message).is_ok());
        if single {
            valid += 1;
        } else {
            invalid += 1;
        }
        let item = Item::from((VerificationKeyBytes::from(a), sig, &message[..]));
        assert_eq!(all_valid(std::slice::from_ref(&item)), single, "alone in a batch: {}", hex(&a));
        let mut batch = goods.clone();
        batch.insert(3, item);
        assert_eq!(all_valid(&batch), single, "beside good ones: {}", hex(&a));
        let mut checks = 0;
        let answers = verify_each(&batch, &mut checks);
        assert_eq!(answers[3], single);
        assert!(answers.iter().enumerate().all(|(i, ok)| i == 3 || *ok), "the good ones pass");
    }
    assert!(valid >= 40 && invalid >= 7, "both kinds covered: {valid} valid, {invalid} invalid");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
