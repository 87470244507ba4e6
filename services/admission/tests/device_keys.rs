//! Device-bound passes: a join with a device proof binds every pass of its
//! place to that key (`cnf.jkt`), and a service behind the room accepts the
//! pass only with a fresh proof signed by it. With `YEYAK_DEVICE_BINDING=required`
//! a join without a proof gets no place.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, Deployment, Replica};
use tonic::{metadata::MetadataMap, Code, Request};
use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    tokens::{
        self,
        dpop::{DeviceKey, PROOF_HEADER},
        AdmissionPass, KeyRing,
    },
};
use yeyak_proto::admission::v1::*;

const JOIN: &str = "/yeyak.admission.v1.AdmissionService/JoinQueue";
const BOOK: &str = "/yeyak.reservation.v1.ReservationService/CreateReservation";

fn join_request(client: &str, proof: Option<String>) -> Request<JoinQueueRequest> {
    let mut r = Request::new(JoinQueueRequest {
        queue_id: "q1".into(),
        client_id: client.into(),
        existing_ticket: String::new(),
        ..Default::default()
    });
    if let Some(p) = proof {
        r.metadata_mut().insert(PROOF_HEADER, p.parse().unwrap());
    }
    r
}

async fn pass_of(r: &Replica, ticket: &str, client: &str) -> String {
    eventually(Duration::from_secs(3), "admitted", || async { !r.status(ticket, client).await.unwrap().admission_pass.is_empty() }).await;
    r.status(ticket, client).await.unwrap().admission_pass
}

fn call(pass: &str, client: &str, proof: Option<String>) -> MetadataMap {
    let mut m = MetadataMap::new();
    m.insert(PASS_HEADER, pass.parse().unwrap());
    m.insert(CLIENT_ID_HEADER, client.parse().unwrap());
    if let Some(p) = proof {
        m.insert(PROOF_HEADER, p.parse().unwrap());
    }
    m
}

#[tokio::test]
async fn a_pass_joined_with_a_device_key_works_only_with_that_keys_proofs() {
    let d = Deployment::new(&[("ADMISSION_RATE", "200"), ("DEVICE_BINDING", "required")]);
    let r = d.start().await;
    let now = || chrono::Utc::now().timestamp();
    let device = DeviceKey::generate();

    let refused = r.queue().join_queue(join_request(&client(0), None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains("yeyak-dpop"), "{refused:?}");
    let wrong_method = r.queue().join_queue(join_request(&client(0), Some(device.proof(BOOK, None, now())))).await.unwrap_err();
    assert!(wrong_method.message().contains("another method"), "{wrong_method:?}");

    let proof = device.proof(JOIN, None, now());
    let joined = r.queue().join_queue(join_request(&client(0), Some(proof.clone()))).await.unwrap().into_inner();
    let replayed = r.queue().join_queue(join_request(&client(1), Some(proof))).await.unwrap_err();
    assert!(replayed.message().contains("used before"), "{replayed:?}");

    let pass = pass_of(&r, &joined.ticket, &client(0)).await;
    let ring = KeyRing::parse(&d.key.trusted_entry()).unwrap();
    let claims: AdmissionPass = tokens::verify(&ring, &pass, now()).unwrap();
    assert_eq!(claims.cnf.map(|c| c.jkt).as_deref(), Some(device.thumbprint()), "the pass names the key");

    // A service behind the room.
    let service = PassVerifier::new(ring, ["q1".to_string()]);
    let me = client(0);
    assert!(service.verify_call(&call(&pass, &me, Some(device.proof(BOOK, Some(&pass), now()))), BOOK, now()).is_ok());
    let copied = service.verify_call(&call(&pass, &me, None), BOOK, now()).unwrap_err();
    assert_eq!(copied.code(), Code::Unauthenticated, "the pass and client id alone: {copied:?}");
    let thief = DeviceKey::generate();
    let stolen = service.verify_call(&call(&pass, &me, Some(thief.proof(BOOK, Some(&pass), now()))), BOOK, now()).unwrap_err();
    assert!(stolen.message().contains("another key"), "{stolen:?}");
    r.stop().await;
}

#[tokio::test]
async fn where_keys_are_optional_a_join_without_one_gets_an_unbound_pass() {
    let d = Deployment::new(&[("ADMISSION_RATE", "200"), ("DEVICE_BINDING", "optional")]);
    let r = d.start().await;
    let now = chrono::Utc::now().timestamp();
    let joined = r.queue().join_queue(join_request(&client(0), None)).await.unwrap().into_inner();
    let pass = pass_of(&r, &joined.ticket, &client(0)).await;
    let ring = KeyRing::parse(&d.key.trusted_entry()).unwrap();
    let claims: AdmissionPass = tokens::verify(&ring, &pass, now).unwrap();
    assert_eq!(claims.cnf, None);
    assert!(PassVerifier::new(ring, ["q1".to_string()]).verify_call(&call(&pass, &client(0), None), BOOK, now).is_ok());

    let device = DeviceKey::generate();
    let bound = r.queue().join_queue(join_request(&client(1), Some(device.proof(JOIN, None, now)))).await.unwrap().into_inner();
    let pass = pass_of(&r, &bound.ticket, &client(1)).await;
    let claims: AdmissionPass = tokens::verify(&KeyRing::parse(&d.key.trusted_entry()).unwrap(), &pass, now).unwrap();
    assert!(claims.cnf.is_some(), "a join with a key binds even where keys are optional");
    r.stop().await;
}
