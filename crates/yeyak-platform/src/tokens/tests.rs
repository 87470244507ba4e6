use super::*;

fn pass(exp: i64) -> AdmissionPass {
    AdmissionPass {
        queue_id: "q1".into(),
        place: 7,
        client_binding: client_binding("client-a"),
        session_id: "s".into(),
        cnf: None,
        issued_at: 0,
        expires_at: exp,
    }
}

fn ticket() -> QueueTicket {
    QueueTicket {
        queue_id: "q1".into(),
        place: 1,
        lottery_entry: None,
        client_binding: "x".into(),
        session_id: "s".into(),
        jkt: None,
        issued_at: 0,
        expires_at: 100,
    }
}

fn ring_for(keys: &[&SigningKey]) -> KeyRing {
    let spec: Vec<String> = keys.iter().map(|k| k.trusted_entry()).collect();
    KeyRing::parse(&spec.join(",")).unwrap()
}

#[test]
fn round_trip_and_expiry() {
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let ring = ring_for(&[&key]);
    let token = sign(&key, &pass(100));
    assert_eq!(verify::<AdmissionPass>(&ring, &token, 99).unwrap(), pass(100));
    assert_eq!(verify::<AdmissionPass>(&ring, &token, 100), Err(TokenError::Expired));
}

#[test]
fn forged_and_altered_tokens_are_rejected() {
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let other = SigningKey::generate(Issuer::Admission, "a1");
    let ring = ring_for(&[&key]);
    assert_eq!(verify::<AdmissionPass>(&ring, &sign(&other, &pass(100)), 0), Err(TokenError::BadSignature));
    let token = sign(&key, &pass(100));
    let parts: Vec<&str> = token.split('.').collect();
    let altered = sign(&key, &AdmissionPass { place: 1, ..pass(100) });
    let spliced = format!("{}.{}.{}", parts[0], altered.split('.').nth(1).unwrap(), parts[2]);
    assert_eq!(verify::<AdmissionPass>(&ring, &spliced, 0), Err(TokenError::BadSignature));
    let unknown = SigningKey::generate(Issuer::Admission, "zz");
    assert_eq!(verify::<AdmissionPass>(&ring, &sign(&unknown, &pass(100)), 0), Err(TokenError::UnknownKey));
    assert_eq!(verify::<AdmissionPass>(&ring, "garbage", 0), Err(TokenError::Malformed));
}

#[test]
fn a_ticket_is_not_a_pass_and_identity_keys_cannot_mint_passes() {
    let adm = SigningKey::generate(Issuer::Admission, "a1");
    let idn = SigningKey::generate(Issuer::Identity, "i1");
    let ring = ring_for(&[&adm, &idn]);
    let ticket = ticket();
    assert_eq!(verify::<AdmissionPass>(&ring, &sign(&adm, &ticket), 0), Err(TokenError::WrongType));
    assert_eq!(verify::<AdmissionPass>(&ring, &sign(&idn, &pass(100)), 0), Err(TokenError::WrongIssuer));
}

#[test]
fn a_consent_is_not_an_assertion_and_only_identity_issues_it() {
    let adm = SigningKey::generate(Issuer::Admission, "a1");
    let idn = SigningKey::generate(Issuer::Identity, "i1");
    let ring = ring_for(&[&adm, &idn]);
    let consent = ConsentToken {
        subject: "s".into(),
        birth_date: "1960-01-01".into(),
        name: "홍*동".into(),
        agent_subject: "a".into(),
        queue_id: "q1".into(),
        issued_at: 0,
        expires_at: 100,
    };
    let token = sign(&idn, &consent);
    assert_eq!(verify::<ConsentToken>(&ring, &token, 0).unwrap(), consent);
    assert_eq!(verify::<IdentityAssertion>(&ring, &token, 0), Err(TokenError::WrongType));
    assert_eq!(verify::<ConsentToken>(&ring, &sign(&adm, &consent), 0), Err(TokenError::WrongIssuer));
}

#[test]
fn rotation_keeps_old_tokens_valid() {
    let old = SigningKey::generate(Issuer::Admission, "old");
    let new = SigningKey::generate(Issuer::Admission, "new");
    let ring = ring_for(&[&old, &new]);
    assert!(verify::<AdmissionPass>(&ring, &sign(&old, &pass(100)), 0).is_ok());
    assert!(verify::<AdmissionPass>(&ring, &sign(&new, &pass(100)), 0).is_ok());
}

#[test]
fn secret_spec_round_trips() {
    let key = SigningKey::generate(Issuer::Identity, "k-1");
    let parsed = SigningKey::parse(Issuer::Identity, &key.secret_spec()).unwrap();
    assert_eq!(parsed.trusted_entry(), key.trusted_entry());
    assert!(!format!("{parsed:?}").contains(&key.secret_spec()));
}

/// The batched check answers exactly as the one-at-a-time check, for every
/// way a token can be wrong, whether its signature was checked alone or in
/// a batch with good ones.
#[tokio::test(flavor = "current_thread")]
async fn batched_verification_answers_like_single_verification() {
    let adm = SigningKey::generate(Issuer::Admission, "a1");
    let idn = SigningKey::generate(Issuer::Identity, "i1");
    let ring = ring_for(&[&adm, &idn]);
    let good = sign(&adm, &pass(100));
    let altered = format!("{}.{}", sign(&adm, &pass(200)).rsplit_once('.').unwrap().0, good.rsplit_once('.').unwrap().1);
    let ticket = ticket();
    let tokens = [
        good.clone(),
        sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass(100)),
        altered,
        sign(&SigningKey::generate(Issuer::Admission, "zz"), &pass(100)),
        "garbage".to_owned(),
        sign(&adm, &ticket),
        sign(&idn, &pass(100)),
        sign(&adm, &pass(5)),
    ];
    let batcher = SignatureBatcher::default();
    for alongside in [0usize, 6] {
        for token in &tokens {
            let expected = verify::<AdmissionPass>(&ring, token, 10);
            // `alongside` good passes checked in the same batch.
            let mut calls: Vec<_> = (0..alongside)
                .map(|_| {
                    let (ring, batcher, good) = (ring.clone(), batcher.clone(), good.clone());
                    tokio::spawn(async move { verify_batched::<AdmissionPass>(&ring, &batcher, &good, 10).await })
                })
                .collect();
            let (ring, batcher, mine) = (ring.clone(), batcher.clone(), token.clone());
            calls.push(tokio::spawn(async move { verify_batched::<AdmissionPass>(&ring, &batcher, &mine, 10).await }));
            let results = futures_util::future::join_all(calls).await;
            let (mine, others) = results.split_last().unwrap();
            assert_eq!(mine.as_ref().unwrap(), &expected, "{token} beside {alongside} good passes");
            assert!(others.iter().all(|r| r.as_ref().unwrap().is_ok()), "good passes beside {token}");
        }
    }
    assert!(batcher.batches() < batcher.signatures(), "some signatures were checked together");
}

/// The header decides nothing by itself: only EdDSA, only the type asked for.
#[test]
fn headers_other_than_eddsa_of_the_expected_type_are_refused() {
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let ring = ring_for(&[&key]);
    let token = sign(&key, &pass(100));
    let (header, rest) = token.split_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(&B64.decode(header).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["typ"].as_str(), header["kid"].as_str()), (Some("EdDSA"), Some("pass+jwt"), Some("a1")));
    let with = |h: serde_json::Value| format!("{}.{rest}", B64.encode(h.to_string()));
    for (h, want) in [
        (serde_json::json!({"alg": "none", "typ": "pass+jwt", "kid": "a1"}), TokenError::Malformed),
        (serde_json::json!({"alg": "HS256", "typ": "pass+jwt", "kid": "a1"}), TokenError::Malformed),
        (serde_json::json!({"alg": "EdDSA", "kid": "a1"}), TokenError::WrongType),
        (serde_json::json!({"alg": "EdDSA", "typ": "pass+jwt", "kid": "a1", "x": 1}), TokenError::BadSignature),
    ] {
        assert_eq!(verify::<AdmissionPass>(&ring, &with(h.clone()), 0), Err(want), "{h}");
    }
    let claims: serde_json::Value = serde_json::from_slice(&B64.decode(rest.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some("urn:yeyak:admission"), Some("q1")));
    assert_eq!(B64.decode(claims["jti"].as_str().unwrap()).unwrap().len(), 12);
    assert_ne!(sign(&key, &pass(100)), token, "a fresh jti per token");
}
