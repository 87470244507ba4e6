//! The least any gRPC identity service can cost: identity's three RPCs, each
//! forwarding straight to the carrier mock over the same HTTP client and
//! doing nothing else — no pass check, validation, attempt limits, Redis,
//! routing board or signature.
//!
//! `bench_identity` drives it with the same front-end code as identity, so
//! `thin front / floor` is the ceiling of `identity / floor` on the machine
//! of that run: what the three gRPC exchanges a verification needs
//! (ListProviders, Start, Complete: a front end's calls to the service,
//! beside the provider calls the floor also makes) cost before identity does
//! any work of its own. It is a
//! measuring stick, never a service: its "assertion" is empty.
use std::net::SocketAddr;

use tonic::{Request, Response, Status};
use yeyak_platform::{config::ServerSettings, grpc::GrpcServer, metrics::Metrics, Shutdown};
use yeyak_proto::identity::v1::{
    self as pb,
    identity_service_server::{IdentityService, IdentityServiceServer},
};

/// The provider id the thin front offers (the front end reads its inbox).
const PROVIDER: &str = "carrier-sms";

pub struct ThinFront {
    http: reqwest::Client,
    carrier: String,
}

fn unavailable(e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("carrier: {e}"))
}

#[tonic::async_trait]
impl IdentityService for ThinFront {
    async fn list_providers(&self, _: Request<pb::ListProvidersRequest>) -> Result<Response<pb::ListProvidersResponse>, Status> {
        let carrier = pb::Provider {
            provider_id: PROVIDER.into(),
            display_name: "Mobile carrier".into(),
            kind: pb::ProviderKind::SmsCode as i32,
            status: pb::ProviderStatus::Green as i32,
        };
        Ok(Response::new(pb::ListProvidersResponse { providers: vec![carrier] }))
    }

    async fn start_verification(
        &self,
        request: Request<pb::StartVerificationRequest>,
    ) -> Result<Response<pb::StartVerificationResponse>, Status> {
        let r = request.into_inner();
        let body = serde_json::json!({ "name": r.name, "rrn": r.resident_registration_number, "phone": r.phone_number });
        let url = format!("{}/v1/verifications", self.carrier);
        let started: serde_json::Value =
            self.http.post(url).json(&body).send().await.map_err(unavailable)?.json().await.map_err(unavailable)?;
        let tx = started["transaction_id"].as_str().ok_or_else(|| unavailable("no transaction id"))?;
        Ok(Response::new(pb::StartVerificationResponse { challenge_id: tx.to_owned(), expires_at: None, instructions: String::new() }))
    }

    async fn complete_verification(
        &self,
        request: Request<pb::CompleteVerificationRequest>,
    ) -> Result<Response<pb::CompleteVerificationResponse>, Status> {
        let r = request.into_inner();
        let url = format!("{}/v1/verifications/{}/confirm", self.carrier, r.challenge_id);
        let confirmed = self.http.post(url).json(&serde_json::json!({ "code": r.code })).send().await.map_err(unavailable)?;
        if !confirmed.status().is_success() {
            return Err(Status::permission_denied(format!("confirm: HTTP {}", confirmed.status())));
        }
        Ok(Response::new(pb::CompleteVerificationResponse::default()))
    }

    async fn grant_consent(&self, _: Request<pb::GrantConsentRequest>) -> Result<Response<pb::GrantConsentResponse>, Status> {
        Err(Status::unimplemented("the thin front only verifies"))
    }
}

/// Serves a thin front on a plain tonic server (TCP_NODELAY on, nothing
/// layered in front) until `shutdown`; returns its address.
pub async fn serve(http: reqwest::Client, carrier: String, shutdown: Shutdown) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let service = IdentityServiceServer::new(ThinFront { http, carrier });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move { shutdown.wait().await }),
    );
    Ok(addr)
}

/// Serves a thin front behind the platform's `GrpcServer` as every Yeyak
/// service is (health, reflection, the RPC layer, the server deadline).
pub async fn serve_on_platform(http: reqwest::Client, carrier: String, shutdown: Shutdown) -> anyhow::Result<SocketAddr> {
    let service = IdentityServiceServer::new(ThinFront { http, carrier });
    let ready = GrpcServer::new(ServerSettings::ephemeral(), Metrics::new("thin_front")).add(service).bind().await?;
    let addr = ready.local_addr();
    ready.set_serving().await;
    tokio::spawn(ready.run(shutdown));
    Ok(addr)
}
