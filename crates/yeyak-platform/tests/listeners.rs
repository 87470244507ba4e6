//! The internal listener: internal RPCs are served on their own port and never
//! on the public one, health answers on both, and each port's reflection lists
//! exactly what that port serves.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::fakes::{Internal, Public};
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tonic_reflection::pb::v1::{
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse, ServerReflectionRequest,
};
use yeyak_platform::{
    config::ServerSettings,
    grpc::{client, GrpcServer},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::{
    inventory::v1::{
        slot_catalog_service_client::SlotCatalogServiceClient, slot_catalog_service_server::SlotCatalogServiceServer, GetSlotRequest,
    },
    notification::v1::{
        notification_service_client::NotificationServiceClient, notification_service_server::NotificationServiceServer,
        GetDeliveryStatusRequest,
    },
};

fn channel(addr: &str) -> tonic::transport::Channel {
    client::channel(addr, &client::ClientSettings::default()).unwrap()
}

async fn listed_services(addr: &str) -> Vec<String> {
    let mut reflection = ServerReflectionClient::new(channel(addr));
    let request = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
    let mut answers = reflection.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let Some(Ok(answer)) = answers.next().await else { panic!("no reflection answer") };
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else { panic!("not a service list") };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "current_thread")]
async fn internal_rpcs_live_on_their_own_port_only() {
    let ready = GrpcServer::new(ServerSettings::ephemeral(), Metrics::new("test"))
        .add(NotificationServiceServer::new(Public))
        .add_internal(SlotCatalogServiceServer::new(Internal))
        .bind()
        .await
        .unwrap();
    let (public, internal) = (ready.local_addr().to_string(), ready.internal_addr().unwrap().to_string());
    assert_ne!(public, internal);
    let shutdown = Shutdown::new();
    let task = tokio::spawn({
        let stop = shutdown.clone();
        async move {
            ready.set_serving().await;
            ready.run(stop).await
        }
    });
    let get_slot = |addr: String| async move { SlotCatalogServiceClient::new(channel(&addr)).get_slot(GetSlotRequest::default()).await };
    assert_eq!(get_slot(public.clone()).await.unwrap_err().code(), Code::Unimplemented, "never on the public port");
    assert_eq!(get_slot(internal.clone()).await.unwrap_err().code(), Code::NotFound, "served on the internal port");
    let delivery = |addr: String| async move {
        NotificationServiceClient::new(channel(&addr)).get_delivery_status(GetDeliveryStatusRequest::default()).await
    };
    assert!(delivery(public.clone()).await.is_ok());
    assert_eq!(delivery(internal.clone()).await.unwrap_err().code(), Code::Unimplemented, "public RPCs stay public");
    for addr in [&public, &internal] {
        let mut health = HealthClient::new(channel(addr));
        assert!(health.check(HealthCheckRequest { service: "yeyak.inventory.v1.SlotCatalogService".into() }).await.is_ok());
    }
    assert_eq!(listed_services(&public).await, ["grpc.health.v1.Health", "yeyak.notification.v1.NotificationService"]);
    assert_eq!(listed_services(&internal).await, ["grpc.health.v1.Health", "yeyak.inventory.v1.SlotCatalogService"]);
    shutdown.trigger();
    task.await.unwrap().unwrap();
}
