//! JoinQueue, GetQueueStatus and EndSession.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::tokens::{self, client_binding, QueueTicket};
use yeyak_proto::admission::v1::{self as pb, admission_service_server::AdmissionService};

use super::{status, State};
use crate::{error::AdmissionError, store::Joined};

pub struct QueueApi {
    state: Arc<State>,
}

impl QueueApi {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }

    fn verify_ticket(&self, ticket: &str, client_id: &str, now: i64) -> Result<QueueTicket, AdmissionError> {
        if ticket.is_empty() {
            return Err(AdmissionError::InvalidArgument { field: "ticket", reason: "is required".into() });
        }
        let t: QueueTicket = tokens::verify_hmac(&self.state.config.ticket_keys, ticket, now).map_err(AdmissionError::BadTicket)?;
        if t.cb != client_binding(client_id) {
            return Err(AdmissionError::WrongClient);
        }
        self.state.known_queue(&t.q)?;
        Ok(t)
    }
}

fn check_client_id(client_id: &str) -> Result<(), AdmissionError> {
    yeyak_platform::validate::token_chars("client_id", client_id, 16, 128)
        .map(|_| ())
        .map_err(|_| AdmissionError::InvalidArgument { field: "client_id", reason: "must be 16 to 128 characters of [A-Za-z0-9_-]".into() })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tonic::async_trait]
impl AdmissionService for QueueApi {
    async fn join_queue(&self, request: Request<pb::JoinQueueRequest>) -> Result<Response<pb::JoinQueueResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let now = now_ms();
        if !req.existing_ticket.is_empty() {
            // Reconnecting: the same place, never a worse one.
            let ticket = self.verify_ticket(&req.existing_ticket, &req.client_id, now / 1000)?;
            if ticket.q != req.queue_id {
                return Err(AdmissionError::InvalidArgument { field: "existing_ticket", reason: "is for another queue".into() }.into());
            }
            let status = status::status(&self.state, &ticket, now).await?;
            return Ok(Response::new(pb::JoinQueueResponse { ticket: req.existing_ticket, status: Some(status) }));
        }
        self.state.known_queue(&req.queue_id)?;
        let opens_at = self.state.config.defaults(&req.queue_id).opens_at_ms;
        let (pos, pre) = match self.state.store.join(&req.queue_id, opens_at).await.map_err(AdmissionError::from)? {
            Joined::Closed => return Err(AdmissionError::Closed.into()),
            Joined::PreOpening(k) => (0, Some(k)),
            Joined::InLine(p) => (p, None),
        };
        let exp = now / 1000 + self.state.config.ticket_ttl.as_secs() as i64;
        let ticket = QueueTicket { q: req.queue_id, pos, pre, cb: client_binding(&req.client_id), iat: now / 1000, exp };
        let status = status::status(&self.state, &ticket, now).await?;
        Ok(Response::new(pb::JoinQueueResponse {
            ticket: tokens::sign_hmac(&self.state.config.ticket_keys, &ticket),
            status: Some(status),
        }))
    }

    async fn get_queue_status(&self, request: Request<pb::GetQueueStatusRequest>) -> Result<Response<pb::GetQueueStatusResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let now = now_ms();
        let ticket = self.verify_ticket(&req.ticket, &req.client_id, now / 1000)?;
        let status = status::status(&self.state, &ticket, now).await?;
        Ok(Response::new(pb::GetQueueStatusResponse { status: Some(status) }))
    }

    async fn end_session(&self, request: Request<pb::EndSessionRequest>) -> Result<Response<pb::EndSessionResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let now = now_ms();
        let ticket = self.verify_ticket(&req.ticket, &req.client_id, now / 1000)?;
        let position = status::admitted_position(&self.state, &ticket).await?;
        self.state.store.end_session(&ticket.q, position).await.map_err(AdmissionError::from)?;
        let status = status::status(&self.state, &ticket, now).await?;
        Ok(Response::new(pb::EndSessionResponse { status: Some(status) }))
    }
}
