//! The operator API: every call needs `authorization: Bearer <token>` of a
//! named operator (`YEYAK_OPERATORS`, docs/operators.md); the use cases
//! check the role and write the audit trail.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::operators::{OperatorIdentity, Operators};
use yeyak_proto::{
    admission::v1::{self as pb, admission_operator_service_server::AdmissionOperatorService},
    time,
};

use super::events;
use crate::{
    app::{QueueOverview, WaitingRoom},
    domain::Flag,
    error::AdmissionError,
};

pub(crate) struct OperatorApi {
    room: Arc<WaitingRoom>,
    operators: Operators,
}

impl OperatorApi {
    pub(crate) fn new(room: Arc<WaitingRoom>, operators: Operators) -> Self {
        Self { room, operators }
    }

    fn authenticate<T>(&self, request: &Request<T>) -> Result<OperatorIdentity, AdmissionError> {
        Ok(self.operators.authenticate(request.metadata())?)
    }
}

#[tonic::async_trait]
impl AdmissionOperatorService for OperatorApi {
    async fn get_admission_settings(
        &self,
        request: Request<pb::GetAdmissionSettingsRequest>,
    ) -> Result<Response<pb::GetAdmissionSettingsResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let overview = self.room.settings(&operator, &request.into_inner().queue_id).await?;
        Ok(Response::new(pb::GetAdmissionSettingsResponse { settings: Some(settings(overview)) }))
    }

    async fn set_admission_settings(
        &self,
        request: Request<pb::SetAdmissionSettingsRequest>,
    ) -> Result<Response<pb::SetAdmissionSettingsResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        let overview = self.room.set_settings(&operator, &req.queue_id, req.admission_rate_per_second, req.max_active_sessions).await?;
        Ok(Response::new(pb::SetAdmissionSettingsResponse { settings: Some(settings(overview)) }))
    }

    async fn pause_admission(&self, request: Request<pb::PauseAdmissionRequest>) -> Result<Response<pb::PauseAdmissionResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let overview = self.room.set_flag(&operator, &request.into_inner().queue_id, Flag::Paused, true).await?;
        Ok(Response::new(pb::PauseAdmissionResponse { settings: Some(settings(overview)) }))
    }

    async fn resume_admission(
        &self,
        request: Request<pb::ResumeAdmissionRequest>,
    ) -> Result<Response<pb::ResumeAdmissionResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let overview = self.room.set_flag(&operator, &request.into_inner().queue_id, Flag::Paused, false).await?;
        Ok(Response::new(pb::ResumeAdmissionResponse { settings: Some(settings(overview)) }))
    }

    async fn set_join_difficulty(
        &self,
        request: Request<pb::SetJoinDifficultyRequest>,
    ) -> Result<Response<pb::SetJoinDifficultyResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        let overview = self.room.set_join_difficulty(&operator, &req.queue_id, req.difficulty_bits).await?;
        Ok(Response::new(pb::SetJoinDifficultyResponse { settings: Some(settings(overview)) }))
    }

    async fn set_automatic_admission(
        &self,
        request: Request<pb::SetAutomaticAdmissionRequest>,
    ) -> Result<Response<pb::SetAutomaticAdmissionResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        let overview = self.room.set_automatic(&operator, &req.queue_id, req.enabled, req.floor_rate_per_second).await?;
        Ok(Response::new(pb::SetAutomaticAdmissionResponse { settings: Some(settings(overview)) }))
    }

    async fn list_events(&self, request: Request<pb::ListEventsRequest>) -> Result<Response<pb::ListEventsResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let listed = self.room.list_events(&operator, chrono::Utc::now().timestamp_millis()).await?;
        Ok(Response::new(pb::ListEventsResponse { events: listed.into_iter().map(events::overview).collect() }))
    }

    async fn create_event(&self, request: Request<pb::CreateEventRequest>) -> Result<Response<pb::CreateEventResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        let change = self.room.create_event(&operator, events::definition(req.event)?, req.dry_run).await?;
        Ok(Response::new(pb::CreateEventResponse { change: events::change(change) }))
    }

    async fn update_event(&self, request: Request<pb::UpdateEventRequest>) -> Result<Response<pb::UpdateEventResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        let change = self.room.update_event(&operator, events::definition(req.event)?, req.dry_run, req.force).await?;
        Ok(Response::new(pb::UpdateEventResponse { change: events::change(change) }))
    }

    async fn close_event(&self, request: Request<pb::CloseEventRequest>) -> Result<Response<pb::CloseEventResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let req = request.into_inner();
        if req.event_id.is_empty() {
            return Err(yeyak_platform::grpc::status::invalid_argument("event_id", "is required"));
        }
        let change = self.room.close_event(&operator, &req.event_id, req.dry_run, req.force).await?;
        Ok(Response::new(pb::CloseEventResponse { change: events::change(change) }))
    }

    async fn drain_queue(&self, request: Request<pb::DrainQueueRequest>) -> Result<Response<pb::DrainQueueResponse>, Status> {
        let operator = self.authenticate(&request)?;
        let overview = self.room.set_flag(&operator, &request.into_inner().queue_id, Flag::Closed, true).await?;
        Ok(Response::new(pb::DrainQueueResponse { settings: Some(settings(overview)) }))
    }
}

fn settings(overview: QueueOverview) -> pb::AdmissionSettings {
    let snap = &overview.snapshot;
    pb::AdmissionSettings {
        queue_id: overview.queue_id,
        admission_rate_per_second: snap.settings.rate_per_second,
        max_active_sessions: snap.settings.max_active,
        paused: snap.settings.paused,
        joined: snap.joined(),
        admitted: snap.admitted,
        closed: snap.settings.closed,
        active_sessions: snap.active,
        measured_rate_per_second: snap.measured_rate,
        // Whole seconds, as configured; unset when no opening is configured.
        opens_at: (overview.opens_at_ms > 0).then(|| time::from_unix_millis(overview.opens_at_ms.div_euclid(1000) * 1000)),
        pre_opening_joined: snap.lottery_pool(),
        lottery_seed: snap.published_seed().map(|seed| String::from_utf8_lossy(seed).into_owned()).unwrap_or_default(),
        join_difficulty_bits: overview.join_difficulty_bits.into(),
        automatic_admission: overview.automatic,
        controlled_rate_per_second: snap.settings.effective_rate(),
        floor_rate_per_second: overview.floor,
        rate_change_reason: snap.settings.controlled.as_ref().map(|c| c.reason.clone()).unwrap_or_default(),
        rate_changed_at: snap.settings.controlled.as_ref().filter(|c| c.changed_at_ms > 0).map(|c| time::from_unix_millis(c.changed_at_ms)),
    }
}
