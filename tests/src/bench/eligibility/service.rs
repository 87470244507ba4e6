//! The service under test, in this process: the registry mock (HTTP) on the
//! run's database and the eligibility service as shipped (the real
//! `Application`: pass check, identity assertion, rules, Redis, registry
//! client). Registry batching settings may be tried from the environment.
use yeyak_platform::{
    config::Env,
    messaging::{self, AmqpSettings},
    tokens::{Issuer, SigningKey},
    Shutdown,
};

use super::registry::Registry;
use crate::bench::cleanup;

/// The registry batching settings passed through from the environment
/// (`YEYAK_REGISTRY_MAX_IN_FLIGHT=1 bench_eligibility ...`).
const PASSED: [&str; 3] = ["REGISTRY_MAX_IN_FLIGHT", "REGISTRY_MAX_BATCH", "REGISTRY_PARALLEL_FROM"];

pub struct Service {
    pub addr: String,
    /// The keys the people's tokens are signed with; eligibility trusts both.
    pub admission: SigningKey,
    pub identity: SigningKey,
    shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    leftovers: Leftovers,
}

/// The run's queues and Redis keys, removed at the very end.
pub struct Leftovers {
    amqp: AmqpSettings,
    redis_prefix: String,
}

impl Service {
    pub async fn start(registry: &Registry, tag: &str) -> anyhow::Result<Self> {
        let shutdown = Shutdown::new();
        let registry_app = mock_registry::Application::build(mock_registry::Config::ephemeral(registry.database.clone())).await?;
        let registry_url = format!("http://{}", registry_app.address());
        let registry_task = tokio::spawn(registry_app.run_until_stopped(shutdown.clone()));
        let admission = SigningKey::generate(Issuer::Admission, "bench-a");
        let identity = SigningKey::generate(Issuer::Identity, "bench-i");
        let amqp = AmqpSettings::for_test(&format!("bench{tag}"));
        let redis_prefix = format!("bench:{tag}");
        let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/eligibility/rules/demo.toml");
        let passed = PASSED.into_iter().filter_map(|k| std::env::var(format!("YEYAK_{k}")).ok().map(|v| (k.to_owned(), v)));
        let env = Env::from_pairs(passed.chain([
            ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("METRICS_ADDR".into(), "off".into()),
            ("TRUSTED_KEYS".into(), format!("{},{}", admission.trusted_entry(), identity.trusted_entry())),
            ("QUEUE_IDS".into(), "bench".into()),
            ("REGISTRY_URL".into(), registry_url),
            ("RULES_FILE".into(), rules.into()),
            ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            ("AMQP_EXCHANGE".into(), amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX".into(), amqp.queue_prefix.clone()),
            ("CACHE_TTL_SECONDS".into(), "600".into()),
        ]));
        let app = eligibility::startup::Application::build(eligibility::config::Config::from_env(&env)?).await?;
        let addr = app.grpc_addr().to_string();
        let app_task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let (tasks, leftovers) = (vec![app_task, registry_task], Leftovers { amqp, redis_prefix });
        Ok(Self { addr, admission, identity, shutdown, tasks, leftovers })
    }

    /// Stops eligibility, then the registry; what they leave is removed later.
    pub async fn stop(self) -> Leftovers {
        self.shutdown.trigger();
        for task in self.tasks {
            let _ = task.await;
        }
        self.leftovers
    }
}

impl Leftovers {
    pub async fn remove(self) -> anyhow::Result<()> {
        messaging::delete_namespace(&self.amqp, &[eligibility::consumers::bookings::QUEUE]).await?;
        cleanup::delete_redis_prefix(&self.redis_prefix).await?;
        Ok(())
    }
}
