//! Calls to the operator API as the named operators of `creds` make them,
//! and what the tests read back (delivery rows, the audit trail).
use std::time::Duration;

use tonic::{Code, Request};
use uuid::Uuid;
use yeyak_proto::notification::v1 as pb;

use super::{creds, TestApp};

/// Olga holds `operator`: she changes things.
pub(crate) fn op<T>(message: T) -> Request<T> {
    creds::as_staff(creds::OPERATOR_TOKEN, message)
}

/// Sam holds `support`: he reads.
pub(crate) fn support<T>(message: T) -> Request<T> {
    creds::as_staff(creds::SUPPORT_TOKEN, message)
}

impl TestApp {
    pub(crate) async fn replay(&self, message_id: &str, dry_run: bool) -> Result<pb::ReplayDeliveryResponse, tonic::Status> {
        let req = pb::ReplayDeliveryRequest { message_id: message_id.into(), dry_run };
        Ok(self.operator.clone().replay_delivery(op(req)).await?.into_inner())
    }

    /// ResolveUnknown, asked again while a sender is checking the row
    /// (ABORTED: a few seconds at most).
    pub(crate) async fn resolve(&self, message_id: &str, verdict: pb::GatewayVerdict, dry_run: bool) -> pb::ResolveUnknownResponse {
        for _ in 0..100 {
            let req = pb::ResolveUnknownRequest { message_id: message_id.into(), verdict: verdict as i32, dry_run };
            match self.operator.clone().resolve_unknown(op(req)).await {
                Ok(answer) => return answer.into_inner(),
                Err(e) if e.code() == Code::Aborted => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("ResolveUnknown: {e:?}"),
            }
        }
        panic!("ResolveUnknown kept answering ABORTED")
    }

    pub(crate) async fn discard(&self, message_id: &str, dry_run: bool) -> pb::DiscardDeliveryResponse {
        let req = pb::DiscardDeliveryRequest { message_id: message_id.into(), dry_run };
        self.operator.clone().discard_delivery(op(req)).await.expect("DiscardDelivery").into_inner()
    }

    pub(crate) async fn resend(&self, reservation_id: Uuid, dry_run: bool) -> Result<pb::ResendForReservationResponse, tonic::Status> {
        let req = pb::ResendForReservationRequest { reservation_id: reservation_id.to_string(), dry_run };
        Ok(self.operator.clone().resend_for_reservation(op(req)).await?.into_inner())
    }

    /// GetDelivery as support staff read it.
    pub(crate) async fn detail(&self, message_id: &str) -> pb::DeliveryDetail {
        let req = pb::GetDeliveryRequest { message_id: message_id.into() };
        self.operator.clone().get_delivery(support(req)).await.expect("GetDelivery").into_inner().delivery.expect("a delivery")
    }

    pub(crate) async fn list(&self, state: pb::DeliveryState, page_size: u32, page_token: &str) -> pb::ListDeliveriesResponse {
        let req = pb::ListDeliveriesRequest { state: state as i32, page_size, page_token: page_token.into() };
        self.operator.clone().list_deliveries(support(req)).await.expect("ListDeliveries").into_inner()
    }

    /// Whether the row still holds its sealed number.
    pub(crate) async fn sealed_kept(&self, message_id: &str) -> bool {
        let id: Uuid = message_id.parse().unwrap();
        sqlx::query_scalar("SELECT sealed_contact IS NOT NULL FROM deliveries WHERE message_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Audit rows of `action`: (operator, resource, old, new).
    pub(crate) async fn audited(&self, action: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
        sqlx::query_as("SELECT operator, resource, old_value, new_value FROM operator_audit WHERE action = $1 ORDER BY at")
            .bind(action)
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

/// The state of a delivery detail.
pub(crate) fn state_of(d: &pb::DeliveryDetail) -> pb::DeliveryState {
    d.delivery.as_ref().and_then(|d| pb::DeliveryState::try_from(d.state).ok()).unwrap_or_default()
}
