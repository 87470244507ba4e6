//! The shared server stack: health, overload shedding with a retry hint, and
//! a graceful drain that lets an in-flight RPC finish after SIGTERM.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use tonic::{Code, Request, Response, Status};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
use yeyak_platform::{
    config::ServerSettings,
    grpc::{client, GrpcServer},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::notification::v1::{
    notification_service_client::NotificationServiceClient,
    notification_service_server::{NotificationService, NotificationServiceServer},
    GetDeliveryStatusRequest, GetDeliveryStatusResponse,
};

/// Answers after 400 ms: long enough to overlap calls and a shutdown.
struct Slow;

#[tonic::async_trait]
impl NotificationService for Slow {
    async fn get_delivery_status(&self, _: Request<GetDeliveryStatusRequest>) -> Result<Response<GetDeliveryStatusResponse>, Status> {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(Response::new(GetDeliveryStatusResponse::default()))
    }
}

async fn start(max_concurrent: usize) -> (String, Shutdown, tokio::task::JoinHandle<anyhow::Result<()>>, Metrics) {
    let settings = ServerSettings { max_concurrent_rpcs: max_concurrent, ..ServerSettings::ephemeral() };
    let metrics = Metrics::new("test");
    let ready = GrpcServer::new(settings, metrics.clone()).add(NotificationServiceServer::new(Slow)).bind().await.unwrap();
    let addr = ready.local_addr().to_string();
    let mut health = HealthClient::new(client::channel(&addr, &client::ClientSettings::default()).unwrap());
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        ready.set_serving().await;
        ready.run(stop).await
    });
    let mut status = None;
    for _ in 0..50 {
        status = health.check(HealthCheckRequest { service: String::new() }).await.ok().map(|r| r.into_inner().status);
        if status == Some(ServingStatus::Serving as i32) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, Some(ServingStatus::Serving as i32), "health reports SERVING");
    (addr, shutdown, task, metrics)
}

fn call(addr: &str) -> impl std::future::Future<Output = Result<Response<GetDeliveryStatusResponse>, Status>> {
    let mut c = NotificationServiceClient::new(client::channel(addr, &client::ClientSettings::default()).unwrap());
    async move { c.get_delivery_status(GetDeliveryStatusRequest::default()).await }
}

#[tokio::test(flavor = "current_thread")]
async fn overload_is_shed_at_once_with_a_retry_hint() {
    let (addr, shutdown, task, metrics) = start(1).await;
    let first = tokio::spawn(call(&addr));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let shed = call(&addr).await.unwrap_err();
    assert_eq!(shed.code(), Code::ResourceExhausted);
    assert!(started.elapsed() < Duration::from_millis(200), "shed without waiting: {:?}", started.elapsed());
    assert_eq!(shed.metadata().get("retry-after").unwrap(), "1");
    assert!(first.await.unwrap().is_ok());
    assert!(metrics.encode().contains(r#"grpc_method="GetDeliveryStatus",grpc_type="unary",grpc_code="ResourceExhausted"} 1"#));
    shutdown.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_drains_the_call_in_flight() {
    let (addr, shutdown, task, _) = start(8).await;
    let in_flight = tokio::spawn(call(&addr));
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.trigger();
    assert!(in_flight.await.unwrap().is_ok(), "the in-flight call completes during the drain");
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
    assert!(call(&addr).await.is_err(), "no new calls after shutdown");
}

async fn health(addr: &str, service: &str) -> Result<i32, Status> {
    let mut c = HealthClient::new(client::channel(addr, &client::ClientSettings::default()).unwrap());
    c.check(HealthCheckRequest { service: service.into() }).await.map(|r| r.into_inner().status)
}

#[tokio::test(flavor = "current_thread")]
async fn health_checks_are_never_shed() {
    let (addr, shutdown, task, metrics) = start(1).await;
    let first = tokio::spawn(call(&addr));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(call(&addr).await.unwrap_err().code(), Code::ResourceExhausted, "the limit is saturated");
    let shed = r#"yeyak_grpc_server_shed_total{service="test",grpc_service="yeyak.notification.v1.NotificationService",grpc_method="GetDeliveryStatus"} 1"#;
    let text = metrics.encode();
    assert!(text.contains(shed), "the shed call is counted: {text}");
    let in_flight = r#"yeyak_grpc_server_in_flight{service="test",grpc_service="yeyak.notification.v1.NotificationService",grpc_method="GetDeliveryStatus"} 1"#;
    assert!(text.contains(in_flight), "the call holding the limit is in flight: {text}");
    let serving = ServingStatus::Serving as i32;
    assert_eq!(health(&addr, "").await.unwrap(), serving, "a probe at the limit still gets an answer");
    assert_eq!(health(&addr, "yeyak.notification.v1.NotificationService").await.unwrap(), serving);
    assert_eq!(health(&addr, yeyak_platform::grpc::LIVENESS).await.unwrap(), serving);
    assert!(first.await.unwrap().is_ok());
    shutdown.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn methods_the_server_does_not_serve_share_one_metric_label() {
    use yeyak_proto::admission::v1::{admission_service_client::AdmissionServiceClient, JoinQueueRequest};
    let (addr, shutdown, task, metrics) = start(8).await;
    let mut foreign = AdmissionServiceClient::new(client::channel(&addr, &client::ClientSettings::default()).unwrap());
    let err = foreign.join_queue(JoinQueueRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    call(&addr).await.unwrap();
    let text = metrics.encode();
    let unknown = r#"grpc_server_handled_total{service="test",grpc_service="unknown",grpc_method="unknown",grpc_type="unknown",grpc_code="Unimplemented"} 1"#;
    assert!(text.contains(unknown), "{text}");
    assert!(!text.contains("AdmissionService"), "no series per unknown path: {text}");
    let served =
        r#"grpc_service="yeyak.notification.v1.NotificationService",grpc_method="GetDeliveryStatus",grpc_type="unary",grpc_code="OK"} 1"#;
    assert!(text.contains(served), "{text}");
    shutdown.trigger();
    task.await.unwrap().unwrap();
}
