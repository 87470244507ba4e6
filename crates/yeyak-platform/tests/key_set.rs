//! An issuer's public keys, published over gRPC and at
//! `/.well-known/jwks.json` on the metrics listener, follow a key rotation,
//! and verify its tokens with an independent JWT library.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use jsonwebtoken::{decode, jwk::JwkSet as TheirSet, Algorithm, DecodingKey, Validation};
use yeyak_platform::{
    config::ServerSettings,
    grpc::{client, GrpcServer, KeySetApi},
    metrics::Metrics,
    tokens::{self, client_binding, AdmissionPass, Issuer, KeyRing, SigningKey},
    Shutdown,
};
use yeyak_proto::keys::v1::{key_set_service_client::KeySetServiceClient, GetKeySetRequest};

#[tokio::test]
async fn the_key_set_is_served_over_grpc_and_http_and_follows_a_rotation() {
    let old = SigningKey::generate(Issuer::Admission, "adm-old");
    let identity = SigningKey::generate(Issuer::Identity, "idn-1");
    let mut ring = KeyRing::parse(&format!("{},{}", old.trusted_entry(), identity.trusted_entry())).unwrap();
    let current = SigningKey::generate(Issuer::Admission, "adm-new");
    ring.trust(&current);
    let api = KeySetApi::new(ring.clone(), Issuer::Admission);
    let metrics = Metrics::new("admission");
    let jwks = api.clone();
    metrics.publish_jwks(move || jwks.jwks_json());
    let settings = ServerSettings { metrics_addr: "127.0.0.1:0".into(), ..ServerSettings::ephemeral() };
    let shutdown = Shutdown::new();
    let metrics_at = metrics.serve(&settings.metrics_addr, shutdown.clone()).await.unwrap();
    let ready = GrpcServer::new(settings, metrics.clone()).add(api.service()).bind().await.unwrap();
    let addr = ready.local_addr().to_string();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move { ready.run(stop).await });

    let mut grpc = KeySetServiceClient::new(client::channel(&addr, &client::ClientSettings::default()).unwrap());
    let got = grpc.get_key_set(GetKeySetRequest {}).await.unwrap().into_inner();
    assert_eq!(
        got.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["adm-new", "adm-old"],
        "current and previous, no identity key"
    );
    assert_eq!(got.issuer, "urn:yeyak:admission");
    assert!(got.keys.iter().all(|k| k.alg == "EdDSA" && k.crv == "Ed25519"));

    let url = format!("http://{metrics_at}/.well-known/jwks.json");
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let document = response.text().await.unwrap();
    assert_eq!(document, got.jwks_json, "one document, two transports");

    // Another library verifies a pass signed now with the keys as fetched.
    let now = chrono::Utc::now().timestamp();
    let pass = AdmissionPass {
        queue_id: "event-1".into(),
        place: 3,
        client_binding: client_binding("device"),
        session_id: "ab".repeat(16),
        cnf: None,
        issued_at: now,
        expires_at: now + 600,
    };
    let token = tokens::sign(&current, &pass);
    let theirs: TheirSet = serde_json::from_str(&document).unwrap();
    let jwk = theirs.find("adm-new").unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["event-1"]);
    validation.set_issuer(&["urn:yeyak:admission"]);
    assert!(decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok());

    // Rotation: the old key leaves the trusted file; the set follows.
    ring.reload(&identity.trusted_entry()).unwrap();
    let after: TheirSet = serde_json::from_str(&reqwest::get(&url).await.unwrap().text().await.unwrap()).unwrap();
    assert_eq!(after.keys.iter().filter_map(|k| k.common.key_id.as_deref()).collect::<Vec<_>>(), ["adm-new"]);
    shutdown.trigger();
    task.await.unwrap().unwrap();
}
