//! Admission publishes the keys its passes are signed with (current and
//! previous) over gRPC; a pass it issues verifies with an independent JWT
//! library given only that key set, as an edge proxy would.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, Deployment};
use jsonwebtoken::{decode, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use yeyak_platform::tokens::{Issuer, SigningKey};
use yeyak_proto::keys::v1::{key_set_service_client::KeySetServiceClient, GetKeySetRequest};

#[tokio::test]
async fn a_pass_verifies_with_another_library_from_the_published_key_set() {
    let previous = SigningKey::generate(Issuer::Admission, "k0");
    let identity = SigningKey::generate(Issuer::Identity, "i1");
    let trusted = format!("{},{}", previous.trusted_entry(), identity.trusted_entry());
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("TRUSTED_KEYS", trusted.as_str())]);
    let r = d.start().await;
    let set = KeySetClient(KeySetServiceClient::new(r.channel())).get().await;
    assert_eq!(set.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k0", "k1"], "current and previous, no identity key");

    let ticket = r.join(&client(0)).await.unwrap().ticket;
    eventually(Duration::from_secs(3), "admitted", || async { !r.status(&ticket, &client(0)).await.unwrap().admission_pass.is_empty() })
        .await;
    let pass = r.status(&ticket, &client(0)).await.unwrap().admission_pass;
    let theirs: JwkSet = serde_json::from_str(&set.jwks_json).unwrap();
    let key = DecodingKey::from_jwk(theirs.find("k1").unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["q1"]);
    validation.set_issuer(&[set.issuer.as_str()]);
    let claims = decode::<serde_json::Value>(&pass, &key, &validation).unwrap().claims;
    assert_eq!(claims["aud"], "q1");
    assert!(claims["sid"].as_str().is_some_and(|s| s.len() == 32));
    let wrong = DecodingKey::from_jwk(theirs.find("k0").unwrap()).unwrap();
    assert!(decode::<serde_json::Value>(&pass, &wrong, &validation).is_err(), "the previous key did not sign it");
    r.stop().await;
}

struct KeySetClient(KeySetServiceClient<tonic::transport::Channel>);

impl KeySetClient {
    async fn get(mut self) -> yeyak_proto::keys::v1::GetKeySetResponse {
        self.0.get_key_set(GetKeySetRequest {}).await.unwrap().into_inner()
    }
}
