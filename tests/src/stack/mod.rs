//! The whole stack: every service and mock on port 0, each service with a
//! fresh database, and private Redis/RabbitMQ namespaces, so several stacks
//! (tests) run side by side against the same real servers. The mocks run
//! in this process; our six services too ([`Stack::start`]), or each in a
//! child process of its own ([`Stack::start_processes`], see [`process`]).
mod process;
mod services;

use tokio::task::JoinSet;
use yeyak_platform::{config::Env, db, messaging, Shutdown};

use yeyak_dev::{demo, keys::DevKeys};

pub use process::{child_main, Child, Processes};
pub use services::Service;

/// Seed of the synthetic registry population.
pub const REGISTRY_SEED: u64 = 7;

pub struct Stack {
    pub endpoints: demo::Endpoints,
    pub keys: DevKeys,
    pub tag: String,
    pub registry_count: u64,
    /// A restartable stack's path to RabbitMQ, which chaos cuts (`broker-cut`).
    pub broker_link: Option<yeyak_dev::link::Link>,
    shutdown: Shutdown,
    tasks: JoinSet<anyhow::Result<()>>,
    children: Vec<process::Child>,
    databases: Vec<String>,
}

/// Settings as `(name without YEYAK_, value)` pairs.
type Pairs = Vec<(String, String)>;

/// Starts our services in this process or as children.
struct Launcher<'a> {
    processes: Option<&'a Processes>,
    /// Each service on a port chosen before it starts (not port 0), so a
    /// process stopped and started again comes back where clients look.
    fixed_ports: bool,
    tag: &'a str,
    shutdown: &'a Shutdown,
}

/// A started service: a task of this process or a child.
enum Running {
    Task(services::Run),
    Child(process::Child),
}

impl Launcher<'_> {
    async fn start(&self, service: Service, mut pairs: Pairs) -> anyhow::Result<(services::Listening, Running)> {
        if self.fixed_ports {
            for key in ["GRPC_ADDR", "INTERNAL_GRPC_ADDR"] {
                let addr = format!("127.0.0.1:{}", process::restartable_port()?);
                pairs.retain(|(k, _)| k != key);
                pairs.push((key.to_owned(), addr));
            }
        }
        match self.processes {
            Some(processes) => {
                let (listening, child) = processes.start(service, &pairs, self.tag).await?;
                Ok((listening, Running::Child(child)))
            }
            None => {
                let (listening, run) = service.build(&Env::from_pairs(pairs), self.shutdown.clone()).await?;
                Ok((listening, Running::Task(run)))
            }
        }
    }
}

impl Stack {
    /// Starts everything in this process, with `registry_count` synthetic
    /// people in the registry.
    pub async fn start(registry_count: u64) -> anyhow::Result<Self> {
        Self::start_with(registry_count, None, false).await
    }

    /// Starts the mocks in this process and each of our services as a child
    /// process, as `processes` says.
    pub async fn start_processes(registry_count: u64, processes: &Processes) -> anyhow::Result<Self> {
        Self::start_with(registry_count, Some(processes), false).await
    }

    /// Like [`Stack::start_processes`], each service on a fixed port, so
    /// that a test may kill one and start it again (`yeyak-surge --chaos`).
    pub async fn start_restartable(registry_count: u64, processes: &Processes) -> anyhow::Result<Self> {
        Self::start_with(registry_count, Some(processes), true).await
    }

    async fn start_with(registry_count: u64, processes: Option<&Processes>, fixed_ports: bool) -> anyhow::Result<Self> {
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
        let broker_link =
            if fixed_ports { Some(yeyak_dev::link::Link::start("127.0.0.1:0", "127.0.0.1:5672", "127.0.0.1:0").await?) } else { None };
        let common = |extra: Vec<(&str, String)>| -> Pairs {
            let mut pairs: Pairs = vec![
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
            pairs.extend(broker_link.iter().map(|link| ("AMQP_URL".into(), format!("amqp://guest:guest@{}/%2f", link.addr()))));
            pairs.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
            pairs
        };
        let env = |extra| Env::from_pairs(common(extra));

        // The third parties.
        let registry = mock_registry::Application::build(mock_registry::Config::from_env(&env(vec![
            ("DATABASE_URL", db_url("registry")),
            ("SEED_COUNT", registry_count.to_string()),
            ("SEED", REGISTRY_SEED.to_string()),
        ]))?)
        .await?;
        let registry_url = format!("http://{}", registry.address());
        tasks.spawn(registry.run_until_stopped(shutdown.clone()));
        let mut idp_urls = Vec::new();
        for (id, kind) in
            [("carrier-sms", "sms_code"), ("kakao-cert", "app_approval"), ("naver-cert", "app_approval"), ("fin-cert", "app_approval")]
        {
            let idp = mock_idp::Application::build(mock_idp::Config::from_env(&env(vec![
                ("PROVIDER_ID", id.into()),
                ("PROVIDER_KIND", kind.into()),
            ]))?)
            .await?;
            idp_urls.push((id.to_owned(), format!("http://{}", idp.address())));
            tasks.spawn(idp.run_until_stopped(shutdown.clone()));
        }
        let sms = mock_sms::Application::build(mock_sms::Config::from_env(&env(vec![]))?).await?;
        let sms_gateway_url = format!("http://{}", sms.address());
        tasks.spawn(sms.run_until_stopped(shutdown.clone()));

        // Our services, consumers before producers so no event is unroutable.
        let launcher = Launcher { processes, fixed_ports, tag: &tag, shutdown: &shutdown };
        let providers = idp_urls.iter().map(|(id, url)| format!("{id}={url}")).collect::<Vec<_>>().join(",");
        let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
        let (admission, identity, eligibility, inventory, notification) = tokio::try_join!(
            launcher.start(
                Service::Admission,
                common(vec![
                    ("SIGNING_KEY", keys.admission.secret_spec()),
                    ("OPERATOR_TOKEN", keys.operator_token.clone()),
                    ("DATABASE_URL", db_url("admission")),
                    ("ADMISSION_RATE", "200".into()),
                    // A gateway (or yeyak-surge, standing in for one) on
                    // loopback names each person's address.
                    ("TRUSTED_PROXIES", "127.0.0.1/32".into()),
                ])
            ),
            launcher.start(Service::Identity, common(vec![("SIGNING_KEY", keys.identity.secret_spec()), ("PROVIDERS", providers)])),
            launcher.start(Service::Eligibility, common(vec![("REGISTRY_URL", registry_url), ("RULES_FILE", rules.into())])),
            launcher.start(
                Service::Inventory,
                common(vec![("DATABASE_URL", db_url("inventory")), ("SEED_CLINICS_PER_DISTRICT", "2".into()), ("SEED_DAYS", "3".into()),])
            ),
            launcher.start(
                Service::Notification,
                common(vec![
                    ("DATABASE_URL", db_url("notification")),
                    ("SMS_GATEWAY_URL", sms_gateway_url.clone()),
                    ("CONTACT_KEYS", keys.contact.secret_spec()),
                    // Support staff read delivery status with it (the demo does).
                    ("OPERATOR_TOKEN", keys.operator_token.clone()),
                ])
            ),
        )?;
        // Reservation's GetSlot is served on inventory's internal listener only.
        let inventory_internal = inventory.0.internal.clone().unwrap_or_default();
        let reservation = launcher
            .start(
                Service::Reservation,
                common(vec![
                    ("DATABASE_URL", db_url("reservation")),
                    ("CONTACT_PUBLIC_KEY", keys.contact.sealer().public_entry()),
                    ("INVENTORY_ADDR", inventory_internal),
                    ("ELIGIBILITY_ADDR", eligibility.0.grpc.clone()),
                ]),
            )
            .await?;

        let endpoints = demo::Endpoints {
            admission: admission.0.grpc.clone(),
            identity: identity.0.grpc.clone(),
            eligibility: eligibility.0.grpc.clone(),
            inventory: inventory.0.grpc.clone(),
            reservation: reservation.0.grpc.clone(),
            notification: notification.0.grpc.clone(),
            sms_gateway_url,
            idp_urls,
            queue_id: "demo".into(),
            operator_token: Some(keys.operator_token.clone()),
            tls: Default::default(),
        };
        let mut children = Vec::new();
        for (_, running) in [admission, identity, eligibility, inventory, notification, reservation] {
            match running {
                Running::Task(run) => drop(tasks.spawn(run)),
                Running::Child(child) => children.push(child),
            }
        }
        Ok(Self { endpoints, keys, tag, registry_count, broker_link, shutdown, tasks, children, databases })
    }

    /// The URL of `service`'s database in this stack (tests inspect it).
    pub fn database_url(&self, service: &str) -> String {
        format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}_{service}", self.tag)
    }

    /// `name pid` per service started as a child process, as `make run`
    /// writes `.run/pids` (yeyak-surge reads CPU per service from it).
    pub fn pids(&self) -> String {
        self.children.iter().map(|c| c.pid()).map(|(name, pid)| format!("{name} {pid}\n")).collect()
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
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_with(Vec::new()).await
    }

    /// Stops the stack after a test killed some of its services and started
    /// them again (`restarted`): those are stopped too, and a service
    /// process that had already ended is no error.
    pub async fn stop_with(mut self, restarted: Vec<std::process::Child>) -> anyhow::Result<()> {
        let lenient = !restarted.is_empty();
        self.shutdown.trigger();
        let mut first_error = None;
        for stopped in futures_util::future::join_all(restarted.into_iter().map(process::stop_restarted)).await {
            if let Err(e) = stopped {
                first_error.get_or_insert(e);
            }
        }
        let children = self.children.drain(..);
        let stops = children.map(|c| async move {
            if lenient {
                c.stop_unless_ended().await
            } else {
                c.stop().await
            }
        });
        for stopped in futures_util::future::join_all(stops).await {
            if let Err(e) = stopped {
                first_error.get_or_insert(e);
            }
        }
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
                reservation::consumers::supply_changes::QUEUE,
            ],
        )
        .await?;
        first_error.map_or(Ok(()), Err)
    }
}
