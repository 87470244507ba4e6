use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};

use super::replay::{Replay, ReplayCache};
use super::*;
use crate::tokens::sig;

const BOOK: &str = "/yeyak.reservation.v1.ReservationService/CreateReservation";

fn verifies(proof: &Proof<'_>) -> bool {
    let key = sig::public_key(proof.key.into()).expect("a curve point");
    sig::verify_one(&key, proof.signed, &proof.signature.signature())
}

#[test]
fn the_thumbprint_is_rfc_8037s() {
    // RFC 8037, appendix A.3.
    assert_eq!(thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

#[test]
fn a_proof_holds_for_its_key_method_pass_and_time_only() {
    let device = DeviceKey::generate();
    let token = device.proof(BOOK, Some("the-pass"), 1_000);
    let proof = Proof::parse(&token).unwrap();
    assert!(verifies(&proof));
    let jkt = device.thumbprint();
    assert_eq!(proof.check(jkt, |m| m == BOOK, Some("the-pass"), 1_000), Ok(()));
    assert_eq!(proof.check(jkt, |m| m == BOOK, Some("the-pass"), 1_000 + PROOF_WINDOW_SECS), Ok(()));
    let other = DeviceKey::generate();
    assert_eq!(proof.check(other.thumbprint(), |m| m == BOOK, Some("the-pass"), 1_000), Err(ProofError::WrongKey));
    assert_eq!(proof.check(jkt, |m| m == "/other/Method", Some("the-pass"), 1_000), Err(ProofError::WrongMethod));
    assert_eq!(proof.check(jkt, |m| m == BOOK, Some("another-pass"), 1_000), Err(ProofError::WrongPass));
    assert_eq!(proof.check(jkt, |m| m == BOOK, None, 1_000), Err(ProofError::WrongPass));
    assert_eq!(proof.check(jkt, |m| m == BOOK, Some("the-pass"), 1_001 + PROOF_WINDOW_SECS), Err(ProofError::Stale));
    assert_eq!(proof.check(jkt, |m| m == BOOK, Some("the-pass"), 999 - PROOF_WINDOW_SECS), Err(ProofError::Stale));
}

#[test]
fn another_keys_proof_naming_this_key_does_not_verify() {
    let (device, thief) = (DeviceKey::generate(), DeviceKey::generate());
    let stolen = device.proof(BOOK, Some("p"), 5);
    let forged = thief.proof(BOOK, Some("p"), 5);
    // The thief's header and claims under the device's header: the signature is the thief's.
    let (d_header, f_rest) = (stolen.split('.').next().unwrap(), forged.split_once('.').unwrap().1);
    let spliced = format!("{d_header}.{f_rest}");
    let proof = Proof::parse(&spliced).unwrap();
    assert_eq!(proof.check(device.thumbprint(), |m| m == BOOK, Some("p"), 5), Ok(()));
    assert!(!verifies(&proof), "the signature is the thief's");
}

#[test]
fn every_changed_character_is_refused() {
    let device = DeviceKey::generate();
    let token = device.proof(BOOK, Some("p"), 5);
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let Ok(changed) = String::from_utf8(bytes) else { continue };
        if changed == token {
            continue;
        }
        let held = Proof::parse(&changed)
            .map(|p| p.check(device.thumbprint(), |m| m == BOOK, Some("p"), 5).is_ok() && verifies(&p))
            .unwrap_or(false);
        assert!(!held, "character {i} changed and the proof still holds");
    }
}

#[test]
fn headers_other_than_eddsa_over_ed25519_are_malformed() {
    let device = DeviceKey::generate();
    let token = device.proof(BOOK, None, 5);
    let (_, rest) = token.split_once('.').unwrap();
    let x = B64.encode([9u8; 32]);
    for header in [
        serde_json::json!({"typ": "dpop+jwt", "alg": "none", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}}),
        serde_json::json!({"typ": "JWT", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}}),
        serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "X25519", "x": x}}),
        serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "EC", "crv": "Ed25519", "x": x}}),
        serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "short"}}),
    ] {
        let spliced = format!("{}.{rest}", B64.encode(header.to_string()));
        assert_eq!(Proof::parse(&spliced).unwrap_err(), ProofError::Malformed, "{header}");
    }
    assert_eq!(Proof::parse("a.b").unwrap_err(), ProofError::Malformed);
    assert_eq!(Proof::parse(&"x".repeat(2000)).unwrap_err(), ProofError::Malformed);
}

#[test]
fn a_proof_is_accepted_once_and_forgotten_after_its_window() {
    let cache = ReplayCache::default();
    assert_eq!(cache.first_use("a", 100, 100), Ok(()));
    assert_eq!(cache.first_use("a", 100, 101), Err(Replay::Seen));
    assert_eq!(cache.first_use("b", 100, 101), Ok(()));
    assert_eq!(cache.first_use("c", 100 + PROOF_WINDOW_SECS, 100 + PROOF_WINDOW_SECS), Ok(()));
    assert_eq!(cache.len(), 3);
    // Once `iat` 100 is out of the window, its bucket goes.
    let later = 100 + 3 * PROOF_WINDOW_SECS;
    assert_eq!(cache.first_use("d", later, later), Ok(()));
    assert_eq!(cache.len(), 1, "only the live bucket is kept");
}

#[test]
fn a_full_bucket_refuses_rather_than_forgets() {
    let cache = ReplayCache::with_capacity(2);
    assert_eq!(cache.first_use("a", 10, 10), Ok(()));
    assert_eq!(cache.first_use("b", 10, 10), Ok(()));
    assert_eq!(cache.first_use("c", 10, 10), Err(Replay::Full));
    assert_eq!(cache.first_use("a", 10, 10), Err(Replay::Seen));
}
