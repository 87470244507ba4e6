//! JoinQueue and GetQueueStatus.
use std::{sync::Arc, time::Duration};

use sha2::{Digest as _, Sha256};
use tonic::{Request, Response, Status};
use yeyak_platform::tokens::{self, client_binding, AdmissionPass, QueueTicket};
use yeyak_proto::admission::v1::{self as pb, admission_service_server::AdmissionService};

use super::State;
use crate::{domain, error::AdmissionError};

pub struct QueueApi {
    state: Arc<State>,
}

impl QueueApi {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }

    fn verify_ticket(&self, ticket: &str, client_id: &str, now: i64) -> Result<QueueTicket, AdmissionError> {
        let t: QueueTicket = tokens::verify(&self.state.config.trusted, ticket, now).map_err(AdmissionError::BadTicket)?;
        if t.cb != client_binding(client_id) {
            return Err(AdmissionError::WrongClient);
        }
        self.state.known_queue(&t.q)?;
        Ok(t)
    }

    async fn status(&self, ticket: &QueueTicket, now: i64) -> Result<pb::QueueStatus, AdmissionError> {
        let snap = self.state.store.snapshot(&ticket.q, &self.state.defaults()).await?;
        let standing = domain::standing(ticket.pos, &snap);
        let mut status = pb::QueueStatus {
            state: pb::QueueState::Waiting as i32,
            position: ticket.pos,
            people_ahead: standing.people_ahead,
            estimated_wait_seconds: standing.estimated_wait.as_ref().ok().map(Duration::as_secs),
            estimate_unknown_reason: standing.estimated_wait.err().unwrap_or_default().to_owned(),
            next_poll_after: Some(yeyak_proto::timestamp(now + standing.next_poll_after.as_secs() as i64, 0)),
            ..Default::default()
        };
        if standing.admitted {
            let exp = now + self.state.config.pass_ttl.as_secs() as i64;
            let pass =
                AdmissionPass { q: ticket.q.clone(), pos: ticket.pos, cb: ticket.cb.clone(), sid: session_id(ticket), iat: now, exp };
            status.state = pb::QueueState::Admitted as i32;
            status.admission_pass = tokens::sign(&self.state.config.signing_key, &pass);
            status.pass_expires_at = Some(yeyak_proto::timestamp(exp, 0));
        }
        Ok(status)
    }
}

/// One session id per admitted place, whichever replica mints the pass.
fn session_id(ticket: &QueueTicket) -> String {
    let digest = Sha256::new().chain_update(ticket.q.as_bytes()).chain_update(ticket.pos.to_be_bytes()).finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn check_client_id(client_id: &str) -> Result<(), AdmissionError> {
    yeyak_platform::validate::token_chars("client_id", client_id, 16, 128)
        .map(|_| ())
        .map_err(|_| AdmissionError::InvalidArgument { field: "client_id", reason: "must be 16 to 128 characters of [A-Za-z0-9_-]".into() })
}

#[tonic::async_trait]
impl AdmissionService for QueueApi {
    async fn join_queue(&self, request: Request<pb::JoinQueueRequest>) -> Result<Response<pb::JoinQueueResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let now = chrono::Utc::now().timestamp();
        if !req.existing_ticket.is_empty() {
            let ticket = self.verify_ticket(&req.existing_ticket, &req.client_id, now)?;
            if ticket.q != req.queue_id {
                return Err(AdmissionError::InvalidArgument { field: "existing_ticket", reason: "is for another queue".into() }.into());
            }
            let status = self.status(&ticket, now).await?;
            return Ok(Response::new(pb::JoinQueueResponse { ticket: req.existing_ticket, status: Some(status) }));
        }
        self.state.known_queue(&req.queue_id)?;
        let pos = self.state.store.join(&req.queue_id).await.map_err(AdmissionError::from)?;
        let ticket = QueueTicket {
            q: req.queue_id,
            pos,
            cb: client_binding(&req.client_id),
            iat: now,
            exp: now + self.state.config.ticket_ttl.as_secs() as i64,
        };
        let status = self.status(&ticket, now).await?;
        let token = tokens::sign(&self.state.config.signing_key, &ticket);
        Ok(Response::new(pb::JoinQueueResponse { ticket: token, status: Some(status) }))
    }

    async fn get_queue_status(&self, request: Request<pb::GetQueueStatusRequest>) -> Result<Response<pb::GetQueueStatusResponse>, Status> {
        let req = request.into_inner();
        if req.ticket.is_empty() {
            return Err(AdmissionError::InvalidArgument { field: "ticket", reason: "is required".into() }.into());
        }
        check_client_id(&req.client_id)?;
        let now = chrono::Utc::now().timestamp();
        let ticket = self.verify_ticket(&req.ticket, &req.client_id, now)?;
        let status = self.status(&ticket, now).await?;
        Ok(Response::new(pb::GetQueueStatusResponse { status: Some(status) }))
    }
}
