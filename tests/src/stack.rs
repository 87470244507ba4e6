//! The whole stack in this process: every service and mock on port 0, each
//! service with a fresh database, and private Redis/RabbitMQ namespaces, so
//! several stacks (tests) run side by side against the same real servers.
use std::future::Future;

use tokio::task::JoinSet;
use yeyak_platform::{config::Env, db, messaging, Shutdown};

use yeyak_dev::{demo, keys::DevKeys};

/// Seed of the synthetic registry population.
pub const REGISTRY_SEED: u64 = 7;

pub struct Stack {
    pub endpoints: demo::Endpoints,
    pub keys: DevKeys,
    pub tag: String,
    pub registry_count: u64,
    shutdown: Shutdown,
    tasks: JoinSet<anyhow::Result<()>>,
    databases: Vec<String>,
}

fn spawn<F>(tasks: &mut JoinSet<anyhow::Result<()>>, f: F)
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tasks.spawn(f);
}

impl Stack {
    /// Starts everything with `registry_count` synthetic people in the registry.
    pub async fn start(registry_count: u64) -> anyhow::Result<Self> {
        let _ = yeyak_platform::telemetry::init("e2e");
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let keys = DevKeys::generate();
        let shutdown = Shutdown::new();
        let mut tasks = JoinSet::new();
        let mut databases = Vec::new();
        let mut db_url = |service: &str| {
            let name = format!("yeyak_test_{tag}_{service}");
            databases.push(name.clone());
            format!("postgres://postgres@127.0.0.1:5432/{name}")
        };
        let common = |extra: Vec<(&str, String)>| -> Env {
            let mut pairs: Vec<(String, String)> = vec![
                ("ENV".into(), "dev".into()),
                ("GRPC_ADDR".into(), "127.0.0.1:0".into()),
                ("HTTP_ADDR".into(), "127.0.0.1:0".into()),
                ("METRICS_ADDR".into(), "off".into()),
                ("TRUSTED_KEYS".into(), keys.trusted.clone()),
                ("QUEUE_IDS".into(), "demo".into()),
                ("REDIS_KEY_PREFIX".into(), format!("test:{tag}")),
                // Admission records ended sessions under its own prefix.
                ("SESSIONS_REDIS_KEY_PREFIX".into(), format!("test:{tag}")),
                ("AMQP_EXCHANGE".into(), format!("test.{tag}.events")),
                ("AMQP_QUEUE_PREFIX".into(), format!("test.{tag}")),
                ("SUBJECT_HASH_KEY".into(), keys.subject_hash_key.clone()),
            ];
            pairs.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
            Env::from_pairs(pairs)
        };

        // The third parties.
        let registry = mock_registry::Application::build(mock_registry::Config::from_env(&common(vec![
            ("DATABASE_URL", db_url("registry")),
            ("SEED_COUNT", registry_count.to_string()),
            ("SEED", REGISTRY_SEED.to_string()),
        ]))?)
        .await?;
        let registry_url = format!("http://{}", registry.address());
        spawn(&mut tasks, registry.run_until_stopped(shutdown.clone()));
        let mut idp_urls = Vec::new();
        for (id, kind) in
            [("carrier-sms", "sms_code"), ("kakao-cert", "app_approval"), ("naver-cert", "app_approval"), ("fin-cert", "app_approval")]
        {
            let idp = mock_idp::Application::build(mock_idp::Config::from_env(&common(vec![
                ("PROVIDER_ID", id.into()),
                ("PROVIDER_KIND", kind.into()),
            ]))?)
            .await?;
            idp_urls.push((id.to_owned(), format!("http://{}", idp.address())));
            spawn(&mut tasks, idp.run_until_stopped(shutdown.clone()));
        }
        let sms = mock_sms::Application::build(mock_sms::Config::from_env(&common(vec![]))?).await?;
        let sms_gateway_url = format!("http://{}", sms.address());
        spawn(&mut tasks, sms.run_until_stopped(shutdown.clone()));

        // Our services, consumers before producers so no event is unroutable.
        let providers = idp_urls.iter().map(|(id, url)| format!("{id}={url}")).collect::<Vec<_>>().join(",");
        let admission = admission::startup::Application::build(admission::config::Config::from_env(&common(vec![
            ("SIGNING_KEY", keys.admission.secret_spec()),
            ("OPERATOR_TOKEN", keys.operator_token.clone()),
            ("DATABASE_URL", db_url("admission")),
            ("ADMISSION_RATE", "200".into()),
        ]))?)
        .await?;
        let admission_addr = admission.grpc_addr().to_string();
        spawn(&mut tasks, admission.run_until_stopped(shutdown.clone()));
        let identity = identity::startup::Application::build(identity::config::Config::from_env(&common(vec![
            ("SIGNING_KEY", keys.identity.secret_spec()),
            ("PROVIDERS", providers),
        ]))?)
        .await?;
        let identity_addr = identity.grpc_addr().to_string();
        spawn(&mut tasks, identity.run_until_stopped(shutdown.clone()));
        let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
        let eligibility = eligibility::startup::Application::build(eligibility::config::Config::from_env(&common(vec![
            ("REGISTRY_URL", registry_url),
            ("RULES_FILE", rules.into()),
        ]))?)
        .await?;
        let eligibility_addr = eligibility.grpc_addr().to_string();
        spawn(&mut tasks, eligibility.run_until_stopped(shutdown.clone()));
        let inventory = inventory::startup::Application::build(inventory::config::Config::from_env(&common(vec![
            ("DATABASE_URL", db_url("inventory")),
            ("SEED_CLINICS_PER_DISTRICT", "2".into()),
            ("SEED_DAYS", "3".into()),
        ]))?)
        .await?;
        let inventory_addr = inventory.grpc_addr().to_string();
        // Reservation's GetSlot is served on inventory's internal listener only.
        let inventory_internal_addr = inventory.internal_grpc_addr().to_string();
        spawn(&mut tasks, inventory.run_until_stopped(shutdown.clone()));
        let notification = notification::startup::Application::build(notification::config::Config::from_env(&common(vec![
            ("DATABASE_URL", db_url("notification")),
            ("SMS_GATEWAY_URL", sms_gateway_url.clone()),
            ("CONTACT_KEYS", keys.contact.secret_spec()),
            // Support staff read delivery status with it (the demo does).
            ("OPERATOR_TOKEN", keys.operator_token.clone()),
        ]))?)
        .await?;
        let notification_addr = notification.grpc_addr().to_string();
        spawn(&mut tasks, notification.run_until_stopped(shutdown.clone()));
        let reservation = reservation::startup::Application::build(reservation::config::Config::from_env(&common(vec![
            ("DATABASE_URL", db_url("reservation")),
            ("CONTACT_PUBLIC_KEY", keys.contact.sealer().public_entry()),
            ("INVENTORY_ADDR", inventory_internal_addr),
            ("ELIGIBILITY_ADDR", eligibility_addr.clone()),
        ]))?)
        .await?;
        let reservation_addr = reservation.grpc_addr().to_string();
        spawn(&mut tasks, reservation.run_until_stopped(shutdown.clone()));

        let endpoints = demo::Endpoints {
            admission: admission_addr,
            identity: identity_addr,
            eligibility: eligibility_addr,
            inventory: inventory_addr,
            reservation: reservation_addr,
            notification: notification_addr,
            sms_gateway_url,
            idp_urls,
            queue_id: "demo".into(),
            operator_token: Some(keys.operator_token.clone()),
            tls: Default::default(),
        };
        Ok(Self { endpoints, keys, tag, registry_count, shutdown, tasks, databases })
    }

    /// The URL of `service`'s database in this stack (tests inspect it).
    pub fn database_url(&self, service: &str) -> String {
        format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}_{service}", self.tag)
    }

    /// A registered person who may book dose 1 (insured, not yet vaccinated).
    pub fn bookable_person(&self, skip: usize) -> demo::Person {
        let p = (0..self.registry_count)
            .map(|i| mock_registry::person(REGISTRY_SEED, i))
            .filter(|p| p.insured && p.doses.is_empty())
            .nth(skip)
            .unwrap_or_else(|| mock_registry::person(REGISTRY_SEED, 0));
        demo::Person { name: p.name, rrn: p.rrn.expose().to_owned(), phone: p.phone }
    }

    /// Stops every service (graceful drain), then drops the test databases and
    /// the RabbitMQ exchange and queues this stack declared.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined.map_err(anyhow::Error::from).and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        for name in &self.databases {
            let settings = db::DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/{name}"));
            db::drop_database(&settings).await?;
        }
        let amqp = messaging::AmqpSettings::for_test(&self.tag);
        messaging::delete_namespace(
            &amqp,
            &[
                admission::consumers::sessions::QUEUE,
                eligibility::consumers::bookings::QUEUE,
                inventory::consumers::availability::QUEUE,
                notification::consumers::reservations::QUEUE,
                reservation::consumers::slot_sizes::QUEUE,
            ],
        )
        .await?;
        first_error.map_or(Ok(()), Err)
    }
}
