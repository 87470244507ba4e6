//! The operator API (`NotificationOperatorService`): every call needs
//! `authorization: Bearer <token>` of a named operator (docs/operators.md);
//! the use cases check the role (`support` reads, `operator` changes) and
//! write the audit trail. Requests are validated first (that reveals
//! nothing), then the caller is authenticated, then one use case runs.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::status,
    operators::{OperatorIdentity, Operators},
};
use yeyak_proto::notification::v1::{self as pb, notification_operator_service_server::NotificationOperatorService};

use super::{notification::parse_uuid, operator_pb as to};
use crate::{
    app::{Deliveries, Settle, MAX_SHOWN},
    domain::Change,
    error::Error,
};

pub(crate) struct OperatorApi {
    deliveries: Arc<Deliveries>,
    operators: Operators,
}

impl OperatorApi {
    pub(crate) fn new(deliveries: Arc<Deliveries>, operators: Operators) -> Self {
        Self { deliveries, operators }
    }

    fn operator<T>(&self, request: &Request<T>) -> Result<OperatorIdentity, Status> {
        self.operators.authenticate(request.metadata()).map_err(|e| Error::from(e).into())
    }

    /// Replay, resolve or discard, answered alike.
    async fn change<T>(
        &self,
        request: &Request<T>,
        message_id: &str,
        change: Change,
        dry_run: bool,
    ) -> Result<(i32, pb::DeliveryDetail), Status> {
        let id = parse_uuid("message_id", message_id)?;
        let operator = self.operator(request)?;
        let changed = self.deliveries.change(&operator, id, change, dry_run).await?;
        Ok((to::outcome(changed.outcome), to::detail(changed.delivery)))
    }
}

#[tonic::async_trait]
impl NotificationOperatorService for OperatorApi {
    async fn list_deliveries(&self, request: Request<pb::ListDeliveriesRequest>) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let req = request.get_ref();
        let (state, (size, after)) = (to::listed_state(req.state)?, to::page(req.page_size, &req.page_token)?);
        let operator = self.operator(&request)?;
        Ok(Response::new(to::listing(self.deliveries.list(&operator, state, size, after).await?)))
    }

    async fn get_delivery(&self, request: Request<pb::GetDeliveryRequest>) -> Result<Response<pb::GetDeliveryResponse>, Status> {
        let id = parse_uuid("message_id", &request.get_ref().message_id)?;
        let operator = self.operator(&request)?;
        let delivery = self.deliveries.delivery(&operator, id).await?;
        Ok(Response::new(pb::GetDeliveryResponse { delivery: Some(to::detail(delivery)) }))
    }

    async fn replay_delivery(&self, request: Request<pb::ReplayDeliveryRequest>) -> Result<Response<pb::ReplayDeliveryResponse>, Status> {
        let dry_run = request.get_ref().dry_run;
        let (outcome, delivery) = self.change(&request, &request.get_ref().message_id, Change::Replay, dry_run).await?;
        Ok(Response::new(pb::ReplayDeliveryResponse { outcome, delivery: Some(delivery), dry_run }))
    }

    async fn resolve_unknown(&self, request: Request<pb::ResolveUnknownRequest>) -> Result<Response<pb::ResolveUnknownResponse>, Status> {
        let req = request.get_ref();
        let change = match pb::GatewayVerdict::try_from(req.verdict) {
            Ok(pb::GatewayVerdict::Sent) => Change::ResolveSent,
            Ok(pb::GatewayVerdict::NotSent) => Change::ResolveNotSent,
            _ => return Err(status::invalid_argument("verdict", "must be GATEWAY_VERDICT_SENT or GATEWAY_VERDICT_NOT_SENT")),
        };
        let (outcome, delivery) = self.change(&request, &req.message_id, change, req.dry_run).await?;
        Ok(Response::new(pb::ResolveUnknownResponse { outcome, delivery: Some(delivery), dry_run: req.dry_run }))
    }

    async fn discard_delivery(
        &self,
        request: Request<pb::DiscardDeliveryRequest>,
    ) -> Result<Response<pb::DiscardDeliveryResponse>, Status> {
        let dry_run = request.get_ref().dry_run;
        let (outcome, delivery) = self.change(&request, &request.get_ref().message_id, Change::Discard, dry_run).await?;
        Ok(Response::new(pb::DiscardDeliveryResponse { outcome, delivery: Some(delivery), dry_run }))
    }

    async fn resend_for_reservation(
        &self,
        request: Request<pb::ResendForReservationRequest>,
    ) -> Result<Response<pb::ResendForReservationResponse>, Status> {
        let (id, dry_run) = (parse_uuid("reservation_id", &request.get_ref().reservation_id)?, request.get_ref().dry_run);
        let operator = self.operator(&request)?;
        let mut delivery = to::detail(self.deliveries.resend(&operator, id, dry_run).await?);
        if let (true, Some(d)) = (dry_run, delivery.delivery.as_mut()) {
            d.message_id.clear();
        }
        Ok(Response::new(pb::ResendForReservationResponse { delivery: Some(delivery), dry_run }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let limit = request.get_ref().limit;
        if limit as usize > MAX_SHOWN {
            return Err(status::invalid_argument("limit", format!("must be at most {MAX_SHOWN}")));
        }
        let operator = self.operator(&request)?;
        let (queue, count, letters) = self.deliveries.dead_letters(&operator, u64::from(limit)).await?;
        Ok(Response::new(pb::ListDeadLettersResponse { queue, count, messages: letters.into_iter().map(to::letter).collect() }))
    }

    async fn replay_dead_letters(
        &self,
        request: Request<pb::ReplayDeadLettersRequest>,
    ) -> Result<Response<pb::ReplayDeadLettersResponse>, Status> {
        let req = request.get_ref();
        let (limit, dry_run) = (to::how_many(req.limit, req.all)?, req.dry_run);
        let operator = self.operator(&request)?;
        let (moved, remaining, messages) =
            to::letters(self.deliveries.settle_dead_letters(&operator, Settle::Replay, limit, dry_run).await?);
        Ok(Response::new(pb::ReplayDeadLettersResponse { moved, remaining, messages, dry_run }))
    }

    async fn discard_dead_letters(
        &self,
        request: Request<pb::DiscardDeadLettersRequest>,
    ) -> Result<Response<pb::DiscardDeadLettersResponse>, Status> {
        let req = request.get_ref();
        let (limit, dry_run) = (to::how_many(req.limit, req.all)?, req.dry_run);
        let operator = self.operator(&request)?;
        let (discarded, remaining, messages) =
            to::letters(self.deliveries.settle_dead_letters(&operator, Settle::Discard, limit, dry_run).await?);
        Ok(Response::new(pb::DiscardDeadLettersResponse { discarded, remaining, messages, dry_run }))
    }
}
