//! Passes and assertions verify with an independent JWT implementation
//! (the `jsonwebtoken` crate) given only our published JWKS, as an edge
//! proxy would; and a token altered anywhere is refused by both.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test
use jsonwebtoken::{decode, decode_header, jwk::Jwk, Algorithm, DecodingKey, Validation};
use yeyak_platform::tokens::{self, client_binding, jwks::JwkSet, AdmissionPass, IdentityAssertion, Issuer, KeyRing, SigningKey};

fn pass() -> AdmissionPass {
    AdmissionPass {
        queue_id: "covid19-2021-07".into(),
        place: 42,
        client_binding: client_binding("device-1"),
        session_id: "0123456789abcdef".into(),
        cnf: None,
        issued_at: 1_000,
        expires_at: 4_000_000_000,
    }
}

/// The issuer's keys as any verifier fetches them, parsed by the other library.
fn their_key(ring: &KeyRing, issuer: Issuer, kid: &str) -> DecodingKey {
    let json: serde_json::Value = serde_json::from_str(&JwkSet::of(ring, issuer).to_json()).unwrap();
    let jwk = json["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid published").clone();
    let jwk: Jwk = serde_json::from_value(jwk).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

fn theirs(token: &str, key: &DecodingKey, issuer: &str, audience: Option<&str>) -> Result<serde_json::Value, String> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&["exp", "iss", "iat"]);
    decode::<serde_json::Value>(token, key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

#[test]
fn a_pass_verifies_with_another_library_and_any_alteration_is_refused_by_both() {
    let key = SigningKey::generate(Issuer::Admission, "adm-2026");
    let ring = KeyRing::parse(&key.trusted_entry()).unwrap();
    let token = tokens::sign(&key, &pass());
    let theirs_key = their_key(&ring, Issuer::Admission, "adm-2026");

    let header = decode_header(&token).unwrap();
    assert_eq!((header.alg, header.kid.as_deref(), header.typ.as_deref()), (Algorithm::EdDSA, Some("adm-2026"), Some("pass+jwt")));
    let claims = theirs(&token, &theirs_key, "urn:yeyak:admission", Some("covid19-2021-07")).expect("the other library accepts the pass");
    assert_eq!((claims["pos"].as_u64(), claims["sid"].as_str()), (Some(42), Some("0123456789abcdef")));
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(tokens::verify::<AdmissionPass>(&ring, &token, 2_000).unwrap(), pass());
    // The other library checks the audience: a pass for another event is refused.
    assert!(theirs(&token, &theirs_key, "urn:yeyak:admission", Some("another-event")).is_err());
    assert!(theirs(&token, &theirs_key, "urn:yeyak:identity", Some("covid19-2021-07")).is_err());

    // Every character of the token replaced, one at a time: header, claims
    // and signature alike.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut altered_count = 0;
    for (i, c) in token.char_indices() {
        if c == '.' {
            continue;
        }
        for replacement in [alphabet.chars().find(|r| *r != c).unwrap(), alphabet.chars().rev().find(|r| *r != c).unwrap()] {
            let mut altered = token.clone();
            altered.replace_range(i..i + 1, &replacement.to_string());
            assert!(tokens::verify::<AdmissionPass>(&ring, &altered, 2_000).is_err(), "ours accepted a change at {i}");
            assert!(
                theirs(&altered, &theirs_key, "urn:yeyak:admission", Some("covid19-2021-07")).is_err(),
                "theirs accepted a change at {i}"
            );
            altered_count += 1;
        }
    }
    assert!(altered_count > 2 * 300);
    // A part dropped, or a signature moved onto other claims.
    let other = tokens::sign(&key, &AdmissionPass { place: 1, ..pass() });
    let (head, sig) = token.rsplit_once('.').unwrap();
    for bad in [head.to_owned(), format!("{}.{sig}", other.rsplit_once('.').unwrap().0)] {
        assert!(tokens::verify::<AdmissionPass>(&ring, &bad, 2_000).is_err());
        assert!(theirs(&bad, &theirs_key, "urn:yeyak:admission", Some("covid19-2021-07")).is_err());
    }
}

#[test]
fn an_identity_assertion_verifies_with_another_library_under_identitys_keys_only() {
    let (idn, adm) = (SigningKey::generate(Issuer::Identity, "idn-1"), SigningKey::generate(Issuer::Admission, "adm-1"));
    let ring = KeyRing::parse(&format!("{},{}", idn.trusted_entry(), adm.trusted_entry())).unwrap();
    let assertion = IdentityAssertion {
        subject: "pseudonym".into(),
        birth_date: "1962-03-04".into(),
        name: "홍*동".into(),
        provider: "carrier-sms".into(),
        assurance_level: 1,
        session_id: "0123456789abcdef".into(),
        queue_id: "covid19-2021-07".into(),
        issued_at: 1_000,
        expires_at: 4_000_000_000,
    };
    let token = tokens::sign(&idn, &assertion);
    let claims =
        theirs(&token, &their_key(&ring, Issuer::Identity, "idn-1"), "urn:yeyak:identity", Some("covid19-2021-07")).expect("accepted");
    assert_eq!(claims["sub"].as_str(), Some("pseudonym"));
    assert!(JwkSet::of(&ring, Issuer::Identity).keys.iter().all(|k| k.kid != "adm-1"), "identity's set lists only its keys");
    assert_eq!(decode_header(&token).unwrap().typ.as_deref(), Some("assertion+jwt"));
}
