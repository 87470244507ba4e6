//! Identity talks HTTPS to a provider (a real mock provider serving TLS
//! with a certificate from a CA made at test time): resident numbers never
//! travel in the clear, and a provider whose certificate is not from a
//! trusted CA is refused before anything is sent to it.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{identity_env, mint_pass, with_pass, Idp, Person};
use identity::{config::Config, startup::Application};
use tonic::Code;
use yeyak_platform::{
    config::Env,
    grpc::client,
    tls::TlsSettings,
    tokens::{Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, CompleteVerificationRequest};
use yeyak_testkit::tls::{TempDir, TestCa};

/// A carrier-SMS mock provider serving HTTPS with `issued`, on port 0.
async fn https_provider(dir: &TempDir, ca: &TestCa, shutdown: &Shutdown) -> Idp {
    let issued = ca.issue("carrier-sms");
    let (cert, key) = (dir.write("idp.crt", &issued.cert_pem), dir.write("idp.key", &issued.key_pem));
    let env = Env::from_pairs([
        ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("PROVIDER_ID", "carrier-sms".to_owned()),
        ("PROVIDER_KIND", "sms_code".to_owned()),
        ("TLS_CERT_FILE", cert.display().to_string()),
        ("TLS_KEY_FILE", key.display().to_string()),
    ]);
    let idp = mock_idp::Application::build(mock_idp::Config::from_env(&env).unwrap()).await.unwrap();
    let url = format!("https://localhost:{}", idp.address().port());
    tokio::spawn(idp.run_until_stopped(shutdown.clone()));
    Idp { id: "carrier-sms", url }
}

/// An identity server trusting the CA in `ca_file`, against `idp`.
async fn identity(
    idp: &Idp,
    ca_file: &std::path::Path,
    shutdown: &Shutdown,
) -> (IdentityServiceClient<tonic::transport::Channel>, SigningKey) {
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity_key = SigningKey::generate(Issuer::Identity, "i1");
    let prefix = common::unique("tls");
    let ca = ca_file.display().to_string();
    let env = Env::from_pairs(identity_env(std::slice::from_ref(idp), &admission, &identity_key, &prefix, &[("TLS_CA_FILE", &ca)]));
    let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    (IdentityServiceClient::new(channel), admission)
}

#[tokio::test]
async fn providers_are_called_over_verified_https_only() {
    let (ca, other_ca) = (TestCa::new("provider CA"), TestCa::new("someone else's CA"));
    let dir = TempDir::new("identity-tls");
    let ca_file = dir.write("ca.crt", ca.cert_pem());
    let other_ca_file = dir.write("other-ca.crt", other_ca.cert_pem());
    let shutdown = Shutdown::new();
    let idp = https_provider(&dir, &ca, &shutdown).await;
    let tls = TlsSettings { ca_file: Some(ca_file.clone()), ..TlsSettings::default() };
    let http = tls.http_client(reqwest::Client::builder().timeout(Duration::from_secs(10))).unwrap();

    // Trusting the provider's CA: the whole SMS-code flow over HTTPS.
    let (mut trusting, admission) = identity(&idp, &ca_file, &shutdown).await;
    let (person, pass) = (Person::new(7), mint_pass(&admission, "sid-tls"));
    let started = trusting.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = common::inbox(&http, &idp.url, &person.phone).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let done = trusting.complete_verification(with_pass(&pass, complete)).await.unwrap().into_inner();
    assert!(!done.identity_assertion.is_empty());

    // Trusting only another CA: the handshake fails, nothing is sent.
    let (mut wary, admission) = identity(&idp, &other_ca_file, &shutdown).await;
    let (stranger, pass) = (Person::new(8), mint_pass(&admission, "sid-tls-2"));
    let refused = wary.start_verification(with_pass(&pass, stranger.start("carrier-sms"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let inbox = http.get(format!("{}/v1/inbox/{}", idp.url, stranger.phone)).send().await.unwrap();
    assert_eq!(inbox.status(), reqwest::StatusCode::NOT_FOUND, "the provider never heard of the stranger");
    shutdown.trigger();
}
