//! The edge in front of a real inventory service (its own database): a
//! gRPC-Web client over HTTP/1.1 — what a browser sends — reaches the
//! public search with its pass and client id as metadata, and the service
//! still checks them; operator and internal RPCs are refused by the edge
//! itself; a dead upstream is `UNAVAILABLE` at once; CORS answers listed
//! origins only.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tonic::{Code, Request};
use tonic_web::GrpcWebClientLayer;
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    messaging::AmqpSettings,
    tokens::{client_binding, sign, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::{
    admission::v1::{admission_service_client::AdmissionServiceClient, JoinQueueRequest},
    inventory::v1::{
        inventory_operator_service_client::InventoryOperatorServiceClient, inventory_service_client::InventoryServiceClient,
        slot_catalog_service_client::SlotCatalogServiceClient, GetSlotRequest, ListRegionsRequest,
    },
};

const PAGE: &str = "http://127.0.0.1:8080";
const CLIENT_ID: &str = "edge-test-client-0123456789";

struct World {
    edge: String,
    /// The edge's `/metrics`.
    metrics: String,
    key: SigningKey,
    database: DatabaseSettings,
    amqp: AmqpSettings,
    stops: Vec<Shutdown>,
}

async fn start() -> World {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}");
    let key = SigningKey::generate(Issuer::Admission, "edge-test");
    let amqp = AmqpSettings::for_test(&tag);
    let env = Env::from_pairs([
        ("GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("METRICS_ADDR", "off".to_string()),
        ("DATABASE_URL", url.clone()),
        ("AMQP_EXCHANGE", amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
        ("REDIS_KEY_PREFIX", format!("test:{tag}")),
        ("SESSIONS_REDIS_KEY_PREFIX", format!("test:{tag}")),
        ("CACHE_ENABLED", "false".to_string()),
        ("TRUSTED_KEYS", key.trusted_entry()),
        ("QUEUE_IDS", "demo".to_string()),
        ("SEED_CLINICS_PER_DISTRICT", "1".to_string()),
        ("SEED_DAYS", "1".to_string()),
        ("OPERATORS", "kim.ops:operator:ops-token-for-the-edge-tests-0001".to_string()),
    ]);
    let inventory = inventory::startup::Application::build(inventory::config::Config::from_env(&env).unwrap()).await.unwrap();
    let (public, internal) = (inventory.grpc_addr(), inventory.internal_grpc_addr());
    let inventory_stop = Shutdown::new();
    tokio::spawn(inventory.run_until_stopped(inventory_stop.clone()));
    // Nothing listens on port 9: the other upstreams are down.
    let edge_env = Env::from_pairs([
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("METRICS_ADDR", "127.0.0.1:0".to_string()),
        ("ALLOWED_ORIGINS", PAGE.to_string()),
        ("INVENTORY_ADDR", format!("http://{public}")),
        ("ADMISSION_ADDR", "http://127.0.0.1:9".to_string()),
        // An internal listener named as if public: the edge still routes
        // only public service names, whatever the address.
        ("RESERVATION_ADDR", format!("http://{internal}")),
    ]);
    let edge = edge::Application::build(edge::Config::from_env(&edge_env).unwrap()).await.unwrap();
    let address = edge.address();
    let metrics = format!("http://{}/metrics", edge.metrics_address().unwrap());
    let edge_stop = Shutdown::new();
    tokio::spawn(edge.run_until_stopped(edge_stop.clone()));
    World {
        edge: format!("http://{address}"),
        metrics,
        key,
        database: DatabaseSettings::with_url(url),
        amqp,
        stops: vec![edge_stop, inventory_stop],
    }
}

impl World {
    /// A gRPC-Web channel over HTTP/1.1, as a browser calls.
    fn grpc_web(
        &self,
    ) -> (
        tower::util::BoxCloneService<http::Request<tonic::body::Body>, http::Response<tonic::body::Body>, tonic::codegen::StdError>,
        http::Uri,
    ) {
        let client = Client::builder(TokioExecutor::new()).build_http();
        let service = tower::ServiceBuilder::new().layer(GrpcWebClientLayer::new()).service(client);
        let service = tower::ServiceExt::map_response(tower::ServiceExt::map_err(service, Into::into), |r: http::Response<_>| {
            r.map(tonic::body::Body::new)
        });
        (tower::util::BoxCloneService::new(service), self.edge.parse().unwrap())
    }

    fn with_pass<T>(&self, message: T) -> Request<T> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let pass = AdmissionPass {
            queue_id: "demo".into(),
            place: 1,
            client_binding: client_binding(CLIENT_ID),
            session_id: "sid-edge".into(),
            cnf: None,
            issued_at: now,
            expires_at: now + 600,
        };
        let mut request = Request::new(message);
        request.metadata_mut().insert("yeyak-admission-pass", sign(&self.key, &pass).parse().unwrap());
        request.metadata_mut().insert("yeyak-client-id", CLIENT_ID.parse().unwrap());
        request
    }

    async fn stop(self) {
        for stop in &self.stops {
            stop.trigger();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        db::drop_database(&self.database).await.unwrap();
        yeyak_platform::messaging::delete_namespace(&self.amqp, &["inventory.availability"]).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_reaches_the_public_rpcs_only_and_every_check_still_applies() {
    let world = start().await;
    let (channel, origin) = world.grpc_web();
    let mut inventory = InventoryServiceClient::with_origin(channel.clone(), origin.clone());

    let regions = inventory.list_regions(world.with_pass(ListRegionsRequest::default())).await.unwrap().into_inner();
    assert!(!regions.provinces.is_empty(), "the catalogue answered through the edge");
    // The edge adds no pass: without one the service refuses, as for a native client.
    let refused = inventory.list_regions(ListRegionsRequest::default()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    // Operator and internal services are answered by the edge, never forwarded.
    let mut operators = InventoryOperatorServiceClient::with_origin(channel.clone(), origin.clone());
    let mut request = Request::new(Default::default());
    request.metadata_mut().insert("authorization", "Bearer ops-token-for-the-edge-tests-0001".parse().unwrap());
    let closed = operators.close_slots(request).await.unwrap_err();
    assert_eq!(closed.code(), Code::Unimplemented, "{closed:?}");
    let mut catalog = SlotCatalogServiceClient::with_origin(channel.clone(), origin.clone());
    let internal = catalog.get_slot(GetSlotRequest::default()).await.unwrap_err();
    assert_eq!(internal.code(), Code::Unimplemented, "{internal:?}");

    // A public service that is down: UNAVAILABLE at once, not a hang.
    let mut admission = AdmissionServiceClient::with_origin(channel, origin);
    let started = Instant::now();
    let down = admission.join_queue(JoinQueueRequest { queue_id: "demo".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // The edge counted what it did with each call, under labels from its closed list.
    let text = reqwest::get(&world.metrics).await.unwrap().text().await.unwrap();
    let count = |upstream: &str, outcome: &str| {
        let series = format!(r#"yeyak_edge_calls_total{{service="edge",upstream="{upstream}",action="{outcome}"}} "#);
        text.lines().find_map(|l| l.strip_prefix(series.as_str())).map(|v| v.trim().parse::<u64>().unwrap())
    };
    assert_eq!(count("inventory", "forwarded"), Some(2), "the pass and the no-pass call reached inventory:\n{text}");
    assert_eq!(count("other", "not_public"), Some(2), "the operator and internal calls:\n{text}");
    assert_eq!(count("admission", "unreachable"), Some(1), "{text}");
    assert!(text.contains("yeyak_edge_upstream_seconds_count{service=\"edge\",upstream=\"inventory\"} 2"), "{text}");
    assert!(text.contains("yeyak_edge_in_flight{service=\"edge\"} 0"), "{text}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_the_listed_origin_and_refuses_any_other() {
    let world = start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/yeyak.inventory.v1.InventoryService/ListRegions", world.edge);
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-grpc-web,yeyak-admission-pass,yeyak-client-id,yeyak-dpop")
            .send()
    };
    let listed = preflight(PAGE).await.unwrap();
    assert!(listed.status().is_success(), "{}", listed.status());
    let h = listed.headers();
    assert_eq!(h["access-control-allow-origin"], PAGE);
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_owned();
    for name in ["yeyak-admission-pass", "yeyak-client-id", "yeyak-dpop", "x-grpc-web"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    let other = preflight("https://evil.example").await.unwrap();
    assert_eq!(other.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A call carrying an unlisted origin is refused before any service sees it.
    let call =
        http.post(&url).header("origin", "https://evil.example").header("content-type", "application/grpc-web+proto").body(vec![0u8; 5]);
    assert_eq!(call.send().await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
    // Health is plain HTTP and needs no origin.
    assert_eq!(http.get(format!("{}/healthz", world.edge)).send().await.unwrap().text().await.unwrap(), "ok\n");
    world.stop().await;
}
