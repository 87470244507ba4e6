//! The operator API: every call needs `authorization: Bearer <token>`.
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use tonic::{Request, Response, Status};
use yeyak_proto::admission::v1::{self as pb, admission_operator_service_server::AdmissionOperatorService};

use super::State;
use crate::{domain, error::AdmissionError};

pub struct OperatorApi {
    state: Arc<State>,
}

impl OperatorApi {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }

    /// Compares digests so the comparison time does not depend on the token.
    fn authenticate<T>(&self, request: &Request<T>) -> Result<(), AdmissionError> {
        let expected = self.state.config.operator_token.as_ref().ok_or(AdmissionError::Unauthenticated)?;
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AdmissionError::Unauthenticated)?;
        if Sha256::digest(given.as_bytes()) == Sha256::digest(expected.expose().as_bytes()) {
            Ok(())
        } else {
            Err(AdmissionError::Unauthenticated)
        }
    }

    async fn settings(&self, queue: &str) -> Result<pb::AdmissionSettings, AdmissionError> {
        self.state.store.invalidate(queue);
        let defaults = self.state.config.defaults(queue);
        let snap = self.state.store.snapshot(queue, &defaults).await?;
        Ok(pb::AdmissionSettings {
            queue_id: queue.to_owned(),
            admission_rate_per_second: snap.settings.rate_per_second,
            max_active_sessions: snap.settings.max_active,
            paused: snap.settings.paused,
            joined: snap.joined(),
            admitted: snap.admitted,
            closed: snap.settings.closed,
            active_sessions: snap.active,
            measured_rate_per_second: snap.measured_rate,
            opens_at: Some(yeyak_proto::timestamp(defaults.opens_at_ms.div_euclid(1000), 0)),
            pre_opening_joined: snap.pool.unwrap_or(snap.pre_joined),
            // Published only once the draw is final, so nobody can predict it.
            lottery_seed: if snap.pool.is_some() { String::from_utf8_lossy(&snap.seed).into_owned() } else { String::new() },
        })
    }

    async fn flag(&self, queue: &str, flag: &str, on: bool) -> Result<pb::AdmissionSettings, AdmissionError> {
        self.state.known_queue(queue)?;
        self.state.store.set_flag(queue, flag, on).await?;
        tracing::info!(queue, flag, on, "admission flag changed by operator");
        self.settings(queue).await
    }
}

#[tonic::async_trait]
impl AdmissionOperatorService for OperatorApi {
    async fn get_admission_settings(
        &self,
        request: Request<pb::GetAdmissionSettingsRequest>,
    ) -> Result<Response<pb::GetAdmissionSettingsResponse>, Status> {
        self.authenticate(&request)?;
        let queue = request.into_inner().queue_id;
        self.state.known_queue(&queue)?;
        Ok(Response::new(pb::GetAdmissionSettingsResponse { settings: Some(self.settings(&queue).await?) }))
    }

    async fn set_admission_settings(
        &self,
        request: Request<pb::SetAdmissionSettingsRequest>,
    ) -> Result<Response<pb::SetAdmissionSettingsResponse>, Status> {
        self.authenticate(&request)?;
        let req = request.into_inner();
        self.state.known_queue(&req.queue_id)?;
        domain::validate_settings(req.admission_rate_per_second, req.max_active_sessions)
            .map_err(|(field, reason)| AdmissionError::InvalidArgument { field, reason })?;
        self.state
            .store
            .set_rate(&req.queue_id, req.admission_rate_per_second, req.max_active_sessions)
            .await
            .map_err(AdmissionError::from)?;
        tracing::info!(queue = %req.queue_id, rate = req.admission_rate_per_second, max_active = req.max_active_sessions, "admission settings changed by operator");
        Ok(Response::new(pb::SetAdmissionSettingsResponse { settings: Some(self.settings(&req.queue_id).await?) }))
    }

    async fn pause_admission(&self, request: Request<pb::PauseAdmissionRequest>) -> Result<Response<pb::PauseAdmissionResponse>, Status> {
        self.authenticate(&request)?;
        let settings = self.flag(&request.into_inner().queue_id, "paused", true).await?;
        Ok(Response::new(pb::PauseAdmissionResponse { settings: Some(settings) }))
    }

    async fn resume_admission(
        &self,
        request: Request<pb::ResumeAdmissionRequest>,
    ) -> Result<Response<pb::ResumeAdmissionResponse>, Status> {
        self.authenticate(&request)?;
        let settings = self.flag(&request.into_inner().queue_id, "paused", false).await?;
        Ok(Response::new(pb::ResumeAdmissionResponse { settings: Some(settings) }))
    }

    async fn drain_queue(&self, request: Request<pb::DrainQueueRequest>) -> Result<Response<pb::DrainQueueResponse>, Status> {
        self.authenticate(&request)?;
        let settings = self.flag(&request.into_inner().queue_id, "closed", true).await?;
        Ok(Response::new(pb::DrainQueueResponse { settings: Some(settings) }))
    }
}
