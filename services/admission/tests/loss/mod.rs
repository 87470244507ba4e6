//! People in line and what the tests read about them, for the data-loss
//! tests (`data_loss.rs`, `lagging_replica.rs`).
#![allow(dead_code, clippy::unwrap_used)] // shared by several test files

use yeyak_platform::tokens::{self, AdmissionPass, KeyRing, QueueTicket};
use yeyak_proto::admission::v1::*;

use crate::common::{client, op, Deployment, Replica};

/// Someone who joined, with the ticket they keep.
pub(crate) struct Person {
    pub(crate) client: String,
    pub(crate) ticket: String,
    pub(crate) position: u64,
}

impl Person {
    pub(crate) async fn join(r: &Replica, i: usize) -> Self {
        let client = client(i);
        let joined = r.join(&client).await.unwrap();
        Self { position: joined.status.unwrap().position, client, ticket: joined.ticket }
    }

    pub(crate) async fn status(&self, r: &Replica) -> QueueStatus {
        r.status(&self.ticket, &self.client).await.unwrap()
    }

    pub(crate) async fn state(&self, r: &Replica) -> QueueState {
        QueueState::try_from(self.status(r).await.state).unwrap()
    }

    /// The pass a poll hands out now (the person must be admitted).
    pub(crate) async fn pass(&self, r: &Replica) -> String {
        let s = self.status(r).await;
        assert_eq!(s.state, QueueState::Admitted as i32, "{} is not admitted: {s:?}", self.client);
        s.admission_pass
    }
}

/// What a pass says, checked as every service checks it.
pub(crate) fn pass_claims(d: &Deployment, pass: &str) -> AdmissionPass {
    let mut ring = KeyRing::default();
    ring.trust(&d.key);
    tokens::verify(&ring, pass, chrono::Utc::now().timestamp()).unwrap()
}

/// The session id a ticket's passes will carry.
pub(crate) fn ticket_session(d: &Deployment, ticket: &str) -> String {
    let claims: QueueTicket = tokens::verify_hmac(&d.ticket_keys, ticket, chrono::Utc::now().timestamp()).unwrap();
    claims.session_id
}

pub(crate) async fn settings(r: &Replica) -> AdmissionSettings {
    let req = op(GetAdmissionSettingsRequest { queue_id: "q1".into() });
    r.operator().get_admission_settings(req).await.unwrap().into_inner().settings.unwrap()
}

pub(crate) async fn state(r: &Replica, ticket: &str, client: &str) -> QueueState {
    QueueState::try_from(r.status(ticket, client).await.unwrap().state).unwrap()
}
