//! One inventory instance per test: a fresh database, a private exchange and
//! queue prefix, and a signing key whose passes it trusts.
#![allow(dead_code)]

use std::time::Duration;

use inventory::{
    app::Catalogue,
    config::Config,
    consumers::availability,
    startup::Application,
    store::{cache::Cache, CatalogStore},
};
use tonic::{transport::Channel, Request};
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    messaging::{publisher::Outgoing, AmqpSettings, PublishError, Publisher},
    tokens::{client_binding, sign, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::inventory::v1::{
    inventory_service_client::InventoryServiceClient, slot_catalog_service_client::SlotCatalogServiceClient, ClinicSummary,
    SearchClinicsRequest,
};

pub(crate) const CLIENT_ID: &str = "test-client-0123456789";
/// The token of `kim.ops`, who holds the `operator` role.
pub(crate) const OPERATOR_TOKEN: &str = "ops-token-for-the-inventory-tests-1";
/// The token of `lee.support`, who holds only `support`.
pub(crate) const SUPPORT_TOKEN: &str = "support-token-for-the-inventory-t2";

pub(crate) struct TestApp {
    pub addr: std::net::SocketAddr,
    /// The internal listener (`SlotCatalogService`).
    pub internal_addr: std::net::SocketAddr,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub key: SigningKey,
    pub today: chrono::NaiveDate,
    pub store: CatalogStore,
    pub cache: Cache,
    /// Prefix of every Redis key this instance writes.
    pub redis_prefix: String,
    shutdown: Shutdown,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// How to start the instance.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// Redis as the service sees it (a proxy in outage tests); the real one by default.
    pub redis_url: Option<String>,
    /// `redis_url` lists the seed nodes of a Redis Cluster.
    pub redis_cluster: bool,
    pub cache_disabled: bool,
}

pub(crate) fn fresh_database() -> (String, DatabaseSettings) {
    let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", uuid::Uuid::new_v4().simple());
    (url.clone(), DatabaseSettings::with_url(url))
}

pub(crate) async fn spawn(clinics_per_district: u32, days: u32) -> TestApp {
    spawn_with(clinics_per_district, days, Options::default()).await
}

pub(crate) async fn spawn_with(clinics_per_district: u32, days: u32, options: Options) -> TestApp {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (url, database) = fresh_database();
    let key = SigningKey::generate(Issuer::Admission, "test-admission");
    let amqp = AmqpSettings::for_test(&tag);
    let redis_prefix = format!("test:{tag}");
    let env = Env::from_pairs([
        ("GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("METRICS_ADDR", "off".to_string()),
        ("DATABASE_URL", url),
        ("AMQP_EXCHANGE", amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
        ("REDIS_URL", options.redis_url.unwrap_or_else(|| REDIS_URL.to_string())),
        ("REDIS_MODE", if options.redis_cluster { "cluster" } else { "single" }.to_string()),
        ("REDIS_KEY_PREFIX", redis_prefix.clone()),
        // The admission catalogue and ended sessions this test follows are its own:
        // the default prefix is shared with `make run` on the same Redis.
        ("SESSIONS_REDIS_KEY_PREFIX", redis_prefix.clone()),
        ("CACHE_ENABLED", (!options.cache_disabled).to_string()),
        ("CACHE_INVALIDATION_MS", "20".to_string()),
        ("TRUSTED_KEYS", key.trusted_entry()),
        ("QUEUE_IDS", "demo".to_string()),
        ("SEED_CLINICS_PER_DISTRICT", clinics_per_district.to_string()),
        ("SEED_DAYS", days.to_string()),
        ("OPERATORS", format!("kim.ops:operator:{OPERATOR_TOKEN},lee.support:support:{SUPPORT_TOKEN}")),
    ]);
    let config = Config::from_env(&env).expect("config");
    let today = inventory::domain::today_seoul(chrono::Utc::now());
    let app = Application::build(config).await.expect("build");
    let (addr, internal_addr) = (app.grpc_addr(), app.internal_grpc_addr());
    let (store, cache) = (app.store(), app.cache());
    let shutdown = Shutdown::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp { addr, internal_addr, database, amqp, key, today, store, cache, redis_prefix, shutdown, server }
}

pub(crate) const REDIS_URL: &str = "redis://127.0.0.1:6379/0";

/// Deletes every key under `prefix` (tests clean up after themselves).
pub(crate) async fn delete_redis_keys(prefix: &str) {
    let client = redis::Client::open(REDIS_URL).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.expect("keys");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.expect("del");
    }
}

/// Keys under `prefix` matching `pattern` (after the prefix).
pub(crate) async fn redis_keys(prefix: &str, pattern: &str) -> Vec<String> {
    let client = redis::Client::open(REDIS_URL).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    redis::cmd("KEYS").arg(format!("{prefix}:{pattern}")).query_async(&mut conn).await.expect("keys")
}

impl TestApp {
    pub(crate) async fn inventory(&self) -> InventoryServiceClient<Channel> {
        InventoryServiceClient::connect(format!("http://{}", self.addr)).await.expect("connect")
    }

    pub(crate) async fn catalog(&self) -> SlotCatalogServiceClient<Channel> {
        SlotCatalogServiceClient::connect(format!("http://{}", self.internal_addr)).await.expect("connect")
    }

    /// The slot catalogue's client pointed at the public port, where it must not be served.
    pub(crate) async fn catalog_on_public_port(&self) -> SlotCatalogServiceClient<Channel> {
        SlotCatalogServiceClient::connect(format!("http://{}", self.addr)).await.expect("connect")
    }

    /// The operators' API (bearer tokens, no pass).
    pub(crate) async fn operators(
        &self,
    ) -> yeyak_proto::inventory::v1::inventory_operator_service_client::InventoryOperatorServiceClient<Channel> {
        yeyak_proto::inventory::v1::inventory_operator_service_client::InventoryOperatorServiceClient::connect(format!(
            "http://{}",
            self.addr
        ))
        .await
        .expect("connect")
    }

    /// The internal supply reads (reservation's, on the internal listener).
    pub(crate) async fn supply(&self) -> yeyak_proto::inventory::v1::supply_catalog_service_client::SupplyCatalogServiceClient<Channel> {
        yeyak_proto::inventory::v1::supply_catalog_service_client::SupplyCatalogServiceClient::connect(format!(
            "http://{}",
            self.internal_addr
        ))
        .await
        .expect("connect")
    }

    /// A request carrying a valid admission pass for [`CLIENT_ID`].
    pub(crate) fn with_pass<T>(&self, message: T) -> Request<T> {
        let now = chrono::Utc::now().timestamp();
        let pass = AdmissionPass {
            queue_id: "demo".into(),
            place: 1,
            client_binding: client_binding(CLIENT_ID),
            session_id: "sid-1".into(),
            cnf: None,
            issued_at: now,
            expires_at: now + 600,
        };
        let mut request = Request::new(message);
        request.metadata_mut().insert("yeyak-admission-pass", sign(&self.key, &pass).parse().expect("ascii"));
        request.metadata_mut().insert("yeyak-client-id", CLIENT_ID.parse().expect("ascii"));
        request
    }

    /// The operator's use cases (slot resizes) over this instance's store and cache.
    pub(crate) fn catalogue(&self) -> Catalogue {
        Catalogue::new(self.store.clone(), self.cache.clone())
    }

    /// SearchClinics for `region` and `vaccine` from day `from` to day `to`
    /// (offsets from today), with a pass, one page of up to 100.
    pub(crate) async fn search(&self, region: &str, vaccine: &str, from: u64, to: u64) -> Result<Vec<ClinicSummary>, tonic::Status> {
        let req = SearchClinicsRequest {
            region_code: region.into(),
            vaccine_code: vaccine.into(),
            from_date: self.day(from),
            to_date: self.day(to),
            page_size: 100,
            ..Default::default()
        };
        Ok(self.inventory().await.search_clinics(self.with_pass(req)).await?.into_inner().clinics)
    }

    pub(crate) fn day(&self, offset: u64) -> String {
        (self.today + chrono::Days::new(offset)).to_string()
    }

    /// Publishes to the test exchange, retrying while the consumer's queue is
    /// not bound yet (the broker reports the message as unroutable).
    pub(crate) async fn publish(&self, publisher: &Publisher, event: Outgoing) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match publisher.publish_all(std::slice::from_ref(&event)).await {
                Ok(()) => return,
                Err(PublishError::Unroutable(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("publish failed: {e}"),
            }
        }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(15), self.server).await.expect("stops in time").expect("join").expect("clean stop");
        db::drop_database(&self.database).await.expect("drop database");
        yeyak_platform::messaging::delete_namespace(&self.amqp, &[availability::QUEUE]).await.expect("delete test queues");
        delete_redis_keys(&self.redis_prefix).await;
    }
}

#[allow(unused_imports)] // not every test binary waits for something
pub(crate) use yeyak_testkit::eventually;

/// A request carrying `token` as an operator's bearer token (none when empty).
pub(crate) fn as_operator<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if !token.is_empty() {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    }
    request
}
