//! TLS on our gRPC listeners with a CA made at test time: the internal
//! listener requires a client certificate from the configured CA (mutual
//! TLS), the public one serves TLS without one, clients verify the server,
//! and a renewed certificate (a kubelet-style symlink swap) is served to new
//! connections without a restart.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::fakes::{Internal, Public};
use std::{path::Path, sync::Arc, time::Duration};

use tonic::{Code, Response, Status};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
use yeyak_platform::{
    config::ServerSettings,
    grpc::{client, GrpcServer},
    metrics::Metrics,
    tls::{ServerTlsSettings, TlsSettings},
    Shutdown,
};
use yeyak_proto::{
    inventory::v1::{
        slot_catalog_service_client::SlotCatalogServiceClient, slot_catalog_service_server::SlotCatalogServiceServer, GetSlotRequest,
        GetSlotResponse,
    },
    notification::v1::{
        notification_service_client::NotificationServiceClient, notification_service_server::NotificationServiceServer,
        GetDeliveryStatusRequest, GetDeliveryStatusResponse,
    },
};
use yeyak_testkit::{
    mount::Mounted,
    tls::{Issued, TempDir, TestCa},
};

/// The certificate Secret as the kubelet mounts it (cert-manager's key names).
fn files(issued: &Issued) -> [(&'static str, &str); 2] {
    [("tls.crt", issued.cert_pem.as_str()), ("tls.key", issued.key_pem.as_str())]
}

fn client_settings(ca: &Path, identity: Option<(&Path, &Path)>) -> client::ClientSettings {
    let tls = TlsSettings {
        ca_file: Some(ca.to_owned()),
        client_cert_file: identity.map(|i| i.0.to_owned()),
        client_key_file: identity.map(|i| i.1.to_owned()),
    };
    client::ClientSettings { tls, ..Default::default() }
}

async fn get_slot(addr: &str, settings: &client::ClientSettings) -> Result<Response<GetSlotResponse>, Status> {
    SlotCatalogServiceClient::new(client::channel(addr, settings).unwrap()).get_slot(GetSlotRequest::default()).await
}

async fn delivery(addr: &str, settings: &client::ClientSettings) -> Result<Response<GetDeliveryStatusResponse>, Status> {
    NotificationServiceClient::new(client::channel(addr, settings).unwrap()).get_delivery_status(GetDeliveryStatusRequest::default()).await
}

/// The certificate the server presents to a new connection.
async fn served_certificate(addr: std::net::SocketAddr, ca_pem: &str) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    let cert: rustls::pki_types::CertificateDer = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    cert.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_rpcs_need_a_client_certificate_and_renewed_certificates_are_served_without_restart() {
    let (ca, other_ca) = (TestCa::new("yeyak test CA"), TestCa::new("someone else's CA"));
    let dir = TempDir::new("tls-server");
    let ca_file = dir.write("ca.crt", ca.cert_pem());
    let other_ca_file = dir.write("other-ca.crt", other_ca.cert_pem());
    let first = ca.issue("inventory");
    let mut mounted = Mounted::new("tls", &files(&first));
    let reservation = ca.issue("reservation");
    let (cert, key) = (dir.write("client.crt", &reservation.cert_pem), dir.write("client.key", &reservation.key_pem));
    let stranger = other_ca.issue("reservation");
    let (s_cert, s_key) = (dir.write("stranger.crt", &stranger.cert_pem), dir.write("stranger.key", &stranger.key_pem));

    let tls = ServerTlsSettings {
        cert_file: Some(mounted.path("tls.crt")),
        key_file: Some(mounted.path("tls.key")),
        client_ca_file: Some(ca_file.clone()),
    };
    let settings = ServerSettings { tls, health_grpc_addr: "127.0.0.1:0".into(), ..ServerSettings::ephemeral() };
    let ready = GrpcServer::new(settings, Metrics::new("test"))
        .add(NotificationServiceServer::new(Public))
        .add_internal(SlotCatalogServiceServer::new(Internal))
        .bind()
        .await
        .unwrap();
    let (public_addr, internal_addr) = (ready.local_addr(), ready.internal_addr().unwrap());
    let probes = format!("http://127.0.0.1:{}", ready.health_addr().unwrap().port());
    let (public, internal) = (format!("https://localhost:{}", public_addr.port()), format!("https://localhost:{}", internal_addr.port()));
    let shutdown = Shutdown::new();
    let task = tokio::spawn({
        let stop = shutdown.clone();
        async move {
            ready.set_serving().await;
            ready.run(stop).await
        }
    });

    let with_cert = client_settings(&ca_file, Some((&cert, &key)));
    let without_cert = client_settings(&ca_file, None);
    let with_strangers_cert = client_settings(&ca_file, Some((&s_cert, &s_key)));
    let trusting_another_ca = client_settings(&other_ca_file, Some((&cert, &key)));
    assert_eq!(get_slot(&internal, &with_cert).await.unwrap_err().code(), Code::NotFound, "mutual TLS reaches the service");
    // Refused in the handshake, before any RPC: with TLS 1.3 the client
    // learns of it only when it sends, so tonic says UNKNOWN ("transport
    // error"), CANCELLED ("connection closed") or UNAVAILABLE, as the race
    // between its write and the server's alert goes; never the service's
    // own NOT_FOUND.
    for (refused, why) in [
        (&without_cert, "no client certificate"),
        (&with_strangers_cert, "a client certificate from another CA"),
        (&trusting_another_ca, "the client does not trust a server of another CA"),
    ] {
        let err = get_slot(&internal, refused).await.unwrap_err();
        assert!(matches!(err.code(), Code::Unavailable | Code::Unknown | Code::Cancelled), "{why}: {err:?}");
    }
    assert!(delivery(&public, &without_cert).await.is_ok(), "the public listener serves TLS without a client certificate");
    let plain = format!("http://127.0.0.1:{}", public_addr.port());
    assert!(delivery(&plain, &client::ClientSettings::default()).await.is_err(), "plain HTTP/2 is not served");

    // The kubelet's probes cannot speak TLS: health alone answers in the clear on its own port.
    let mut health = HealthClient::new(client::channel(&probes, &client::ClientSettings::default()).unwrap());
    for service in ["yeyak.liveness", "yeyak.inventory.v1.SlotCatalogService"] {
        let answer = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service}");
    }
    let plain = client::ClientSettings::default();
    assert_eq!(get_slot(&probes, &plain).await.unwrap_err().code(), Code::Unimplemented, "no RPC but health in the clear");
    assert_eq!(delivery(&probes, &plain).await.unwrap_err().code(), Code::Unimplemented);

    assert_eq!(served_certificate(public_addr, ca.cert_pem()).await, der_of(&first.cert_pem));
    let renewed = ca.issue("inventory-renewed");
    mounted.update(&files(&renewed));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut served = Vec::new();
    for _ in 0..20 {
        served = served_certificate(internal_addr, ca.cert_pem()).await;
        if served == der_of(&renewed.cert_pem) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(served, der_of(&renewed.cert_pem), "new connections get the renewed certificate");
    assert_eq!(served_certificate(public_addr, ca.cert_pem()).await, der_of(&renewed.cert_pem));
    assert_eq!(get_slot(&internal, &with_cert).await.unwrap_err().code(), Code::NotFound, "still mutual TLS after the renewal");

    // A half-written renewal does not load: the last good certificate stays.
    mounted.update(&[("tls.crt", "not a certificate"), ("tls.key", &renewed.key_pem)]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(served_certificate(public_addr, ca.cert_pem()).await, der_of(&renewed.cert_pem));
    assert!(delivery(&public, &without_cert).await.is_ok());

    shutdown.trigger();
    task.await.unwrap().unwrap();
}

#[test]
fn settings_that_cannot_work_are_refused_at_start_up() {
    use yeyak_platform::config::Env;
    let half = Env::from_pairs([("TLS_CERT_FILE", "/x.crt")]);
    assert!(ServerTlsSettings::from_env(&half).unwrap_err().to_string().contains("together"));
    let mtls_without_cert = Env::from_pairs([("TLS_CLIENT_CA_FILE", "/ca.crt")]);
    assert!(ServerTlsSettings::from_env(&mtls_without_cert).is_err());
    let missing_ca = Env::from_pairs([("TLS_CA_FILE", "/nowhere/ca.crt")]);
    let err = TlsSettings::from_env(&missing_ca).unwrap_err().to_string();
    assert!(err.contains("YEYAK_TLS_CA_FILE") && err.contains("/nowhere/ca.crt"), "{err}");
}
