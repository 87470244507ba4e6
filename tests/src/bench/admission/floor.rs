//! The floor: a unary RPC that does nothing, served by the platform
//! `GrpcServer` as admission is, so `admission / floor` is what admission's
//! own work costs over the gRPC path every service pays.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{config::ServerSettings, grpc::GrpcServer, metrics::Metrics, Shutdown};
use yeyak_proto::notification::v1::{
    notification_service_client::NotificationServiceClient,
    notification_service_server::{NotificationService, NotificationServiceServer},
    GetDeliveryStatusRequest, GetDeliveryStatusResponse,
};

use super::{channels, Surge};
use crate::bench::{
    closed_loop::{self, Calls, Load, Phase},
    pick,
    process::ServerProcess,
};

struct NoOp;

#[tonic::async_trait]
impl NotificationService for NoOp {
    async fn get_delivery_status(&self, _: Request<GetDeliveryStatusRequest>) -> Result<Response<GetDeliveryStatusResponse>, Status> {
        Ok(Response::new(GetDeliveryStatusResponse::default()))
    }
}

/// The child process's side (`--serve-noop`): no concurrency limit in the
/// way of the generator.
pub async fn serve() -> anyhow::Result<()> {
    let settings = ServerSettings { max_concurrent_rpcs: 100_000, ..ServerSettings::ephemeral() };
    let ready = GrpcServer::new(settings, Metrics::new("noop")).add(NotificationServiceServer::new(NoOp)).bind().await?;
    println!("LISTENING {}", ready.local_addr());
    ready.set_serving().await;
    ready.run(Shutdown::on_signals()).await
}

/// The floor's calls, and the server CPU seconds they cost.
pub struct Floor {
    pub phase: Phase<Calls>,
    pub server_cpu: f64,
}

/// `--floor-calls` no-op calls through a fresh child process.
pub async fn measure(surge: &Surge) -> anyhow::Result<Floor> {
    let noop = ServerProcess::spawn("--serve-noop", &[])?;
    let channels = Arc::new(channels(&noop.addr, surge)?);
    let cpu_before = noop.cpu_seconds();
    let phase = closed_loop::run(Load::calls(surge.floor_calls, surge.concurrency), move |i| {
        let mut c = NotificationServiceClient::new(pick(&channels, i).clone());
        async move { c.get_delivery_status(GetDeliveryStatusRequest::default()).await.is_ok() }
    })
    .await;
    Ok(Floor { phase, server_cpu: noop.cpu_seconds() - cpu_before })
}
