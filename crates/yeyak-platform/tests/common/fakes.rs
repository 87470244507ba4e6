//! Two stand-in services for the listener tests: a public one that answers
//! OK, and an internal one whose NOT_FOUND proves a call reached it.
use tonic::{Request, Response, Status};
use yeyak_proto::{
    inventory::v1::{slot_catalog_service_server::SlotCatalogService, GetSlotRequest, GetSlotResponse},
    notification::v1::{notification_service_server::NotificationService, GetDeliveryStatusRequest, GetDeliveryStatusResponse},
};

pub(crate) struct Public;

#[tonic::async_trait]
impl NotificationService for Public {
    async fn get_delivery_status(&self, _: Request<GetDeliveryStatusRequest>) -> Result<Response<GetDeliveryStatusResponse>, Status> {
        Ok(Response::new(GetDeliveryStatusResponse::default()))
    }
}

pub(crate) struct Internal;

#[tonic::async_trait]
impl SlotCatalogService for Internal {
    async fn get_slot(&self, _: Request<GetSlotRequest>) -> Result<Response<GetSlotResponse>, Status> {
        Err(Status::not_found("reached the internal service"))
    }
}
