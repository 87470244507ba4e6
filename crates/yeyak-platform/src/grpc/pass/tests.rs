//! The pass check: good and bad passes, key removal, batched and single
//! checks agreeing, forgers refused for a moment.
use super::*;
use crate::tokens::{sign, Issuer, SigningKey};

const M: &str = "/yeyak.test.v1.Service/Call";

fn setup() -> (SigningKey, PassVerifier) {
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let mut ring = KeyRing::default();
    ring.trust(&key);
    (key, PassVerifier::new(ring, ["q1".to_string()]))
}

fn md(pass: &str, client: &str) -> MetadataMap {
    let mut m = MetadataMap::new();
    m.insert(PASS_HEADER, pass.parse().unwrap());
    m.insert(CLIENT_ID_HEADER, client.parse().unwrap());
    m
}

fn pass(q: &str, client: &str) -> AdmissionPass {
    AdmissionPass {
        queue_id: q.into(),
        place: 1,
        client_binding: client_binding(client),
        session_id: "s".into(),
        cnf: None,
        issued_at: 0,
        expires_at: 100,
    }
}

#[test]
fn accepts_a_good_pass_and_rejects_the_rest() {
    let (key, v) = setup();
    let good = sign(&key, &pass("q1", "client-a"));
    assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok());
    assert!(v.verify_metadata(&md(&good, "client-a"), 11).is_ok(), "remembered");
    assert_eq!(v.remembered_len(), 1, "verified once, then remembered");
    assert_eq!(v.verify_metadata(&md(&good, "client-b"), 10).unwrap_err().code(), tonic::Code::PermissionDenied);
    // A remembered pass still expires.
    assert_eq!(v.verify_metadata(&md(&good, "client-a"), 100).unwrap_err().code(), tonic::Code::Unauthenticated);
    let other_q = sign(&key, &pass("q2", "client-a"));
    assert_eq!(v.verify_metadata(&md(&other_q, "client-a"), 10).unwrap_err().code(), tonic::Code::PermissionDenied);
    assert_eq!(v.verify_metadata(&MetadataMap::new(), 10).unwrap_err().code(), tonic::Code::Unauthenticated);
    let forged = sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass("q1", "client-a"));
    let unknown_kid = sign(&SigningKey::generate(Issuer::Admission, "zz"), &pass("q1", "client-a"));
    let promoted = sign(&key, &AdmissionPass { place: 0, ..pass("q1", "client-a") });
    let altered = format!("{}.{}", promoted.rsplit_once('.').unwrap().0, good.rsplit_once('.').unwrap().1);
    for bad in [forged, unknown_kid, altered, "not-a-pass".to_string()] {
        assert_eq!(v.verify_metadata(&md(&bad, "client-a"), 10).unwrap_err().code(), tonic::Code::Unauthenticated, "{bad}");
    }
    let mut referer_only = MetadataMap::new();
    referer_only.insert("referer", "https://ncvr.kdca.go.kr/".parse().unwrap());
    assert!(v.verify_metadata(&referer_only, 10).is_err());
}

#[test]
fn a_remembered_pass_is_refused_once_its_key_is_removed() {
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let v = PassVerifier::new(KeyRing::parse(&key.trusted_entry()).unwrap(), ["q1".to_string()]);
    let good = sign(&key, &pass("q1", "client-a"));
    assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok());
    let other = SigningKey::generate(Issuer::Admission, "a2");
    assert!(v.ring.reload(&format!("{},{}", key.trusted_entry(), other.trusted_entry())).unwrap().is_some());
    assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok(), "still listed");
    v.ring.reload(&other.trusted_entry()).unwrap();
    assert_eq!(v.verify_metadata(&md(&good, "client-a"), 10).unwrap_err().code(), tonic::Code::Unauthenticated, "removed");
    assert!(v.verify_metadata(&md(&sign(&other, &pass("q1", "client-a")), "client-a"), 10).is_ok());
}

/// The server's batched check on raw headers answers as the one-at-a-time check.
#[tokio::test]
async fn the_header_check_answers_like_the_metadata_check() {
    let (key, v) = setup();
    let good = sign(&key, &pass("q1", "client-a"));
    let forged = sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass("q1", "client-a"));
    let cases = [
        md(&good, "client-a"),
        md(&good, "client-b"),
        md(&sign(&key, &pass("q2", "client-a")), "client-a"),
        md(&forged, "client-a"),
        md("not-a-pass", "client-a"),
        MetadataMap::new(),
    ];
    for (i, metadata) in cases.into_iter().enumerate() {
        let fresh = PassVerifier::new(v.ring.as_ref().clone(), ["q1".to_string()]);
        let one = v.verify_metadata(&metadata, 10).map(|p| p.pass).map_err(|s| s.code());
        let batched = fresh.verify_headers(&metadata.into_headers(), M, 10).await.map(|p| p.pass).map_err(|s| s.code());
        assert_eq!(one, batched, "case {i}");
    }
    assert_eq!(v.verify_metadata(&md(&good, "client-a"), 100).unwrap_err().code(), tonic::Code::Unauthenticated, "expired");
}

/// A client that sent a forged pass is refused new passes briefly, without
/// a signature check; others are not, and its verified pass still works.
#[tokio::test]
async fn a_forger_is_refused_new_passes_for_a_moment() {
    let (key, v) = setup();
    let v = v.with_batcher(SignatureBatcher::with_max_batch(8), Suspects::new(16, 60_000));
    let held = sign(&key, &pass("q1", "bot"));
    assert!(v.verify_headers(&md(&held, "bot").into_headers(), M, 10).await.is_ok());
    let forged = sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass("q1", "bot"));
    let err = v.verify_headers(&md(&forged, "bot").into_headers(), M, 10).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let checks = v.batcher.checks();
    let fresh = sign(&key, &AdmissionPass { place: 2, ..pass("q1", "bot") });
    let err = v.verify_headers(&md(&fresh, "bot").into_headers(), M, 10).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    assert!(err.message().contains("forged"), "{}", err.message());
    let retry = tonic_types::StatusExt::get_details_retry_info(&err).and_then(|r| r.retry_delay).expect("a retry hint");
    assert!(retry > std::time::Duration::from_secs(50));
    assert_eq!(v.batcher.checks(), checks, "refused without a signature check");
    assert!(v.verify_headers(&md(&held, "bot").into_headers(), M, 11).await.is_ok(), "the pass it holds still works");
    let person = sign(&key, &pass("q1", "person"));
    assert!(v.verify_headers(&md(&person, "person").into_headers(), M, 10).await.is_ok(), "other clients are not refused");
}

mod device;
