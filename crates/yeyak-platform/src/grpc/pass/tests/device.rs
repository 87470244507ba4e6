//! Device-bound passes: the pass works only with a fresh proof from its key.
use super::{md, pass, setup, M};
use crate::grpc::pass::{PassVerifier, PROOF_HEADER};
use crate::tokens::{dpop::DeviceKey, sign, AdmissionPass, Confirmation, SigningKey};
use tonic::{metadata::MetadataMap, Code};

const NOW: i64 = 10;

fn bound(key: &SigningKey, device: &DeviceKey) -> String {
    sign(key, &AdmissionPass { cnf: Some(Confirmation { jkt: device.thumbprint().into() }), ..pass("q1", "client-a") })
}

fn with_proof(pass: &str, proof: &str) -> MetadataMap {
    let mut m = md(pass, "client-a");
    m.insert(PROOF_HEADER, proof.parse().unwrap());
    m
}

fn refusal(v: &PassVerifier, m: &MetadataMap, method: &str) -> String {
    let err = v.verify_call(m, method, NOW).unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    err.message().to_owned()
}

#[test]
fn a_bound_pass_works_with_a_fresh_proof_from_its_key_only() {
    let (key, v) = setup();
    let device = DeviceKey::generate();
    let token = bound(&key, &device);
    assert!(refusal(&v, &md(&token, "client-a"), M).contains("missing yeyak-dpop"));
    let proof = device.proof(M, Some(&token), NOW);
    let ok = v.verify_call(&with_proof(&token, &proof), M, NOW).unwrap();
    assert_eq!(ok.proof.as_deref(), Some(proof.as_str()), "kept for forwarding");
    assert!(refusal(&v, &with_proof(&token, &proof), M).contains("used before"), "a replay");
    let next = device.proof(M, Some(&token), NOW);
    assert!(v.verify_call(&with_proof(&token, &next), M, NOW).is_ok(), "each call its own proof");

    let thief = DeviceKey::generate();
    assert!(refusal(&v, &with_proof(&token, &thief.proof(M, Some(&token), NOW)), M).contains("another key"));
    assert!(refusal(&v, &with_proof(&token, &device.proof("/other/Call", Some(&token), NOW)), M).contains("another method"));
    assert!(refusal(&v, &with_proof(&token, &device.proof(M, Some("other"), NOW)), M).contains("another pass"));
    assert!(refusal(&v, &with_proof(&token, &device.proof(M, Some(&token), NOW - 61)), M).contains("too old"));
    assert!(refusal(&v, &with_proof(&token, "not.a.proof"), M).contains("not a device proof"));
    assert!(v.verify_metadata(&with_proof(&token, &device.proof(M, Some(&token), NOW)), NOW).is_err(), "no method, no pass");
}

#[test]
fn an_unbound_pass_needs_no_proof() {
    let (key, v) = setup();
    let token = sign(&key, &pass("q1", "client-a"));
    assert!(v.verify_call(&md(&token, "client-a"), M, NOW).is_ok());
}

#[test]
fn a_forwarded_proof_is_accepted_where_configured_and_not_counted_twice() {
    let (key, v) = setup();
    const BOOK: &str = "/yeyak.reservation.v1.ReservationService/CreateReservation";
    let v = v.accepting_forwarded_from([BOOK.to_string()]);
    let device = DeviceKey::generate();
    let token = bound(&key, &device);
    let proof = device.proof(BOOK, Some(&token), NOW);
    assert!(v.verify_call(&with_proof(&token, &proof), M, NOW).is_ok());
    assert!(v.verify_call(&with_proof(&token, &proof), M, NOW).is_ok(), "the booking service may retry its call");
    let elsewhere = device.proof("/yeyak.inventory.v1.InventoryService/Search", Some(&token), NOW);
    assert!(refusal(&v, &with_proof(&token, &elsewhere), M).contains("another method"));
}

#[tokio::test]
async fn proofs_are_checked_in_batches_with_passes() {
    let (key, v) = setup();
    let devices: Vec<DeviceKey> = (0..20).map(|_| DeviceKey::generate()).collect();
    let calls = devices.iter().map(|d| {
        let token = bound(&key, d);
        let m = with_proof(&token, &d.proof(M, Some(&token), NOW));
        let v = v.clone();
        async move { v.verify_headers(&m.into_headers(), M, NOW).await.is_ok() }
    });
    assert!(futures_util::future::join_all(calls).await.into_iter().all(|ok| ok));
    let thief = DeviceKey::generate();
    let token = bound(&key, &devices[0]);
    let m = with_proof(&token, &thief.proof(M, Some(&token), NOW));
    assert_eq!(v.verify_headers(&m.into_headers(), M, NOW).await.unwrap_err().code(), Code::Unauthenticated);
}
