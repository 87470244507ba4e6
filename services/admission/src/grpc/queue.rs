//! JoinQueue, GetJoinChallenge, GetQueueStatus and EndSession.
use std::{sync::Arc, time::Duration};

use tonic::{Request, Response, Status};
use yeyak_platform::{grpc::status, tokens::dpop::PROOF_HEADER};
use yeyak_proto::{
    admission::v1::{self as pb, admission_service_server::AdmissionService},
    time,
};

use crate::{
    app::{JoinProofs, Origin, Proof, WaitingRoom},
    domain::{Phase, QueueView},
};

/// Metadata entries of a proof of work sent with JoinQueue.
pub(super) const CHALLENGE: &str = "yeyak-join-challenge";
pub(super) const SOLUTION: &str = "yeyak-join-solution";

pub(crate) struct QueueApi {
    room: Arc<WaitingRoom>,
}

impl QueueApi {
    pub(crate) fn new(room: Arc<WaitingRoom>) -> Self {
        Self { room }
    }
}

#[tonic::async_trait]
impl AdmissionService for QueueApi {
    async fn join_queue(&self, request: Request<pb::JoinQueueRequest>) -> Result<Response<pb::JoinQueueResponse>, Status> {
        let (origin, proof) = (origin(&request), proof(&request)?);
        let device = request.metadata().get(PROOF_HEADER).map(|v| v.to_str().map(str::to_owned)).transpose();
        let device = device.map_err(|_| status::invalid_argument(PROOF_HEADER, "must be the device proof as signed"))?;
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let (ticket, view) = if req.existing_ticket.is_empty() {
            let proofs = JoinProofs { work: proof.as_ref(), device: device.as_deref(), identity: &req.identity_assertion };
            self.room.join(&req.queue_id, &req.client_id, &origin, proofs).await?
        } else {
            self.room.rejoin(&req.queue_id, &req.client_id, req.existing_ticket).await?
        };
        Ok(Response::new(pb::JoinQueueResponse { ticket, status: Some(queue_status(view)) }))
    }

    async fn get_join_challenge(
        &self,
        request: Request<pb::GetJoinChallengeRequest>,
    ) -> Result<Response<pb::GetJoinChallengeResponse>, Status> {
        let issued = self.room.challenge(&request.into_inner().queue_id).await?;
        Ok(Response::new(pb::GetJoinChallengeResponse {
            challenge: issued.token,
            difficulty_bits: issued.bits.into(),
            expires_at: Some(time::from_unix_millis(issued.expires_at * 1000)),
        }))
    }

    async fn get_queue_status(&self, request: Request<pb::GetQueueStatusRequest>) -> Result<Response<pb::GetQueueStatusResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let view = self.room.status(required_ticket(&req.ticket)?, &req.client_id).await?;
        Ok(Response::new(pb::GetQueueStatusResponse { status: Some(queue_status(view)) }))
    }

    async fn end_session(&self, request: Request<pb::EndSessionRequest>) -> Result<Response<pb::EndSessionResponse>, Status> {
        let req = request.into_inner();
        check_client_id(&req.client_id)?;
        let view = self.room.end_session(required_ticket(&req.ticket)?, &req.client_id).await?;
        Ok(Response::new(pb::EndSessionResponse { status: Some(queue_status(view)) }))
    }
}

fn check_client_id(client_id: &str) -> Result<(), Status> {
    yeyak_platform::validate::token_chars("client_id", client_id, 16, 128)
        .map(|_| ())
        .map_err(|_| status::invalid_argument("client_id", "must be 16 to 128 characters of [A-Za-z0-9_-]"))
}

/// The TCP peer and the `x-forwarded-for` entries, for the source limit.
fn origin<T>(request: &Request<T>) -> Origin {
    let forwarded = request.metadata().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    Origin { peer: request.remote_addr().map(|a| a.ip()), forwarded }
}

/// The proof of work in the metadata, if the client sent one.
fn proof<T>(request: &Request<T>) -> Result<Option<Proof>, Status> {
    let entry = |key| request.metadata().get(key).map(|v| v.to_str().map(str::trim));
    match (entry(CHALLENGE), entry(SOLUTION)) {
        (None, None) => Ok(None),
        (Some(Ok(challenge)), Some(Ok(counter))) => {
            let counter = counter.parse().map_err(|_| status::invalid_argument(SOLUTION, "must be a decimal counter (u64)"))?;
            Ok(Some(Proof { challenge: challenge.to_owned(), counter }))
        }
        (Some(Err(_)), _) => Err(status::invalid_argument(CHALLENGE, "must be the challenge token as given")),
        (_, Some(Err(_))) => Err(status::invalid_argument(SOLUTION, "must be a decimal counter (u64)")),
        (Some(_), None) => Err(status::invalid_argument(SOLUTION, format!("is required with {CHALLENGE}"))),
        (None, Some(_)) => Err(status::invalid_argument(CHALLENGE, format!("is required with {SOLUTION}"))),
    }
}

fn required_ticket(ticket: &str) -> Result<&str, Status> {
    if ticket.is_empty() {
        return Err(status::invalid_argument("ticket", "is required"));
    }
    Ok(ticket)
}

fn queue_status(view: QueueView) -> pb::QueueStatus {
    let (state, admission_pass, pass_expires_at) = match view.phase {
        Phase::PreOpening => (pb::QueueState::PreOpening, String::new(), None),
        Phase::Waiting => (pb::QueueState::Waiting, String::new(), None),
        Phase::Admitted(pass) => (pb::QueueState::Admitted, pass.token, Some(time::from_unix_millis(pass.expires_at * 1000))),
        Phase::SessionEnded => (pb::QueueState::SessionEnded, String::new(), None),
    };
    pb::QueueStatus {
        state: state as i32,
        position: view.position,
        people_ahead: view.people_ahead,
        estimated_wait_seconds: view.estimated_wait.as_ref().ok().map(Duration::as_secs),
        estimate_unknown_reason: view.estimated_wait.err().unwrap_or_default().to_owned(),
        next_poll_after: view.next_poll_at_ms.map(time::from_unix_millis),
        admission_pass,
        pass_expires_at,
        // No opening configured: unset, not 1970.
        opens_at: (view.opens_at_ms > 0).then(|| time::from_unix_millis(view.opens_at_ms)),
        join_difficulty_bits: view.join_difficulty_bits.into(),
        admission_slowed: view.admission_slowed,
    }
}
