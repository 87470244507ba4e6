//! Key rotation with overlap: a new deployment signs with a new key while
//! still trusting the old one, so tickets and passes issued before the deploy
//! keep working until they expire.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, Deployment};
use tonic::metadata::MetadataMap;
use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    tokens::{HmacKey, Issuer, KeyRing, SigningKey},
};
use yeyak_proto::admission::v1::*;

fn metadata(pass: &str, client_id: &str) -> MetadataMap {
    let mut md = MetadataMap::new();
    md.insert(PASS_HEADER, pass.parse().unwrap());
    md.insert(CLIENT_ID_HEADER, client_id.parse().unwrap());
    md
}

#[tokio::test]
async fn a_deploy_with_a_new_key_keeps_old_tickets_and_passes_valid_until_they_expire() {
    let d = Deployment::new(&[("ADMISSION_RATE", "100")]);
    let old = d.start().await;
    let joined = old.join(&client(1)).await.unwrap();
    eventually(Duration::from_secs(3), "admitted", || async {
        old.status(&joined.ticket, &client(1)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    let old_pass = old.status(&joined.ticket, &client(1)).await.unwrap();
    old.stop().await;

    // The new deployment signs passes with k2 and tickets with t2, and still
    // accepts tickets signed with t1.
    let k2 = SigningKey::generate(Issuer::Admission, "k2");
    let t2 = HmacKey::new("t2", &[42; 32]);
    let tickets = format!("{},{}", t2.secret_spec(), d.ticket_keys.active().secret_spec());
    let new = d.start_with(&[("SIGNING_KEY", k2.secret_spec()), ("TICKET_KEYS", tickets)]).await;
    let rejoin =
        JoinQueueRequest { queue_id: "q1".into(), client_id: client(1), existing_ticket: joined.ticket.clone(), ..Default::default() };
    let status = new.queue().join_queue(rejoin).await.unwrap().into_inner().status.unwrap();
    assert_eq!(status.position, joined.status.unwrap().position, "the old ticket keeps its place");
    assert_eq!(
        yeyak_platform::tokens::jws::key_id(&status.admission_pass).as_deref(),
        Some("k2"),
        "new passes are signed with the new key"
    );

    // Services trust both keys during the overlap.
    let mut ring = KeyRing::default();
    ring.trust(&d.key);
    ring.trust(&k2);
    let verifier = PassVerifier::new(ring, ["q1".to_string()]);
    let now = chrono::Utc::now().timestamp();
    assert!(verifier.verify_metadata(&metadata(&old_pass.admission_pass, &client(1)), now).is_ok(), "the old pass still works");
    assert!(verifier.verify_metadata(&metadata(&status.admission_pass, &client(1)), now).is_ok());
    let expiry = old_pass.pass_expires_at.unwrap().seconds;
    let expired = verifier.verify_metadata(&metadata(&old_pass.admission_pass, &client(1)), expiry).unwrap_err();
    assert_eq!(expired.code(), tonic::Code::Unauthenticated, "until it expires");
    new.stop().await;
}
