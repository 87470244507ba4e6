//! One eligibility server in this process against a real mock registry (its
//! own fresh PostgreSQL database, seeded), real Redis and RabbitMQ under a
//! private prefix, with the registry and Redis each behind a cuttable proxy
//! and the clock pinned wherever the test wants it.
#![allow(clippy::unwrap_used, dead_code)] // test set-up code: a failure here should abort the test

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
};

use chrono::{DateTime, TimeZone as _, Utc};
use eligibility::{
    config::Config,
    consumers::bookings::QUEUE,
    startup::Application,
    store::{RulesHandle, Store},
};
use tonic::{transport::Channel, Request};
use yeyak_platform::{
    config::Env,
    db::{drop_database, DatabaseSettings},
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging::{self, AmqpSettings},
    metrics::Metrics,
    pseudonym::subject_id,
    tokens::{self, client_binding, AdmissionPass, ConsentToken, IdentityAssertion, Issuer, SigningKey},
    Secret, Shutdown,
};
use yeyak_population::SyntheticPerson;
use yeyak_proto::eligibility::v1::{eligibility_service_client::EligibilityServiceClient, *};
use yeyak_testkit::Proxy;

pub(crate) const CLIENT: &str = "client-eligibility-01";
pub(crate) const SEED: u64 = 11;
pub(crate) const COUNT: u64 = 20_000;
pub(crate) const HASH_KEY: &str = "eligibility-test-key";
pub(crate) const REDIS: &str = "127.0.0.1:6379";

/// One cohort (born 1962-1966) in one window open from 2021-07-12 20:00 to
/// 2021-12-31 18:00 Seoul time, 21 days between doses.
pub(crate) const RULES_55_59: &str = r#"
version = "api-test"
[dose_interval]
min_days = 21
[[cohort]]
id = "age-55-59"
birth_year_from = 1962
birth_year_to = 1966
[[window]]
id = "round"
cohort = "age-55-59"
opens_at = "2021-07-12T20:00:00"
closes_at = "2021-12-31T18:00:00"
"#;

pub(crate) fn seoul(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Seoul.with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
}

pub(crate) fn rules_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/rules/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) struct Options {
    pub rules: String,
    pub now: DateTime<Utc>,
    pub proxy_max_subjects: u32,
    pub reload_ms: u64,
    /// Seed node URLs of a Redis Cluster to use instead of the shared Redis.
    pub redis_cluster: Option<String>,
    /// A private single node to use, directly, instead of the shared Redis.
    pub redis_url: Option<String>,
}

impl Options {
    pub(crate) fn new(rules: String, now: DateTime<Utc>) -> Self {
        Self { rules, now, proxy_max_subjects: 2, reload_ms: 100, redis_cluster: None, redis_url: None }
    }
}

pub(crate) struct Harness {
    pub channel: Channel,
    pub admission: SigningKey,
    pub identity: SigningKey,
    clock: Arc<AtomicI64>,
    pub rules: Arc<RulesHandle>,
    pub metrics: Metrics,
    pub store: Store,
    pub registry: Proxy,
    pub redis: Proxy,
    pub rules_path: PathBuf,
    pub amqp: AmqpSettings,
    pub redis_prefix: String,
    redis_cluster: Option<String>,
    pub people: Vec<SyntheticPerson>,
    db: DatabaseSettings,
    shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Harness {
    pub(crate) async fn start(options: Options) -> Self {
        let shutdown = Shutdown::new();
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let db = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}"));
        let mut registry_config = mock_registry::Config::ephemeral(db.clone());
        registry_config.subject_hash_key = Some(Secret::new(HASH_KEY.into()));
        registry_config.seed_count = Some(COUNT);
        registry_config.seed = SEED;
        let registry_app = mock_registry::Application::build(registry_config).await.unwrap();
        let registry = Proxy::start(&registry_app.address().to_string()).await.unwrap();
        let mut tasks = vec![tokio::spawn(registry_app.run_until_stopped(shutdown.clone()))];
        let redis = Proxy::start(REDIS).await.unwrap();
        let rules_path = std::env::temp_dir().join(format!("eligibility-test-{tag}.toml"));
        std::fs::write(&rules_path, &options.rules).unwrap();
        let admission = SigningKey::generate(Issuer::Admission, "a1");
        let identity = SigningKey::generate(Issuer::Identity, "i1");
        let amqp = AmqpSettings::for_test(&tag);
        let redis_prefix = format!("test:{tag}");
        let (redis_mode, redis_url) = match (&options.redis_cluster, &options.redis_url) {
            (Some(seeds), _) => ("cluster", seeds.clone()),
            (None, Some(url)) => ("single", url.clone()),
            (None, None) => ("single", format!("redis://{}/0", redis.addr())),
        };
        let env = Env::from_pairs([
            ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("METRICS_ADDR".into(), "off".into()),
            ("TRUSTED_KEYS".into(), format!("{},{}", admission.trusted_entry(), identity.trusted_entry())),
            ("QUEUE_IDS".into(), "q1,q2".into()),
            ("REGISTRY_URL".into(), format!("http://{}", registry.addr())),
            ("REGISTRY_TIMEOUT_MS".into(), "1000".into()),
            ("RULES_FILE".into(), rules_path.display().to_string()),
            ("RULES_RELOAD_INTERVAL_MS".into(), options.reload_ms.to_string()),
            ("REDIS_MODE".into(), redis_mode.into()),
            ("REDIS_URL".into(), redis_url),
            ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            ("REDIS_TIMEOUT_MS".into(), "300".into()),
            ("AMQP_EXCHANGE".into(), amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX".into(), amqp.queue_prefix.clone()),
            ("PROXY_MAX_SUBJECTS".into(), options.proxy_max_subjects.to_string()),
        ]);
        let clock = Arc::new(AtomicI64::new(options.now.timestamp()));
        let reading = clock.clone();
        let app = Application::build_with_clock(
            Config::from_env(&env).unwrap(),
            Arc::new(move || DateTime::from_timestamp(reading.load(Ordering::SeqCst), 0).unwrap()),
        )
        .await
        .unwrap();
        let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
        let (rules, metrics, store) = (app.rules(), app.metrics(), app.store());
        tasks.push(tokio::spawn(app.run_until_stopped(shutdown.clone())));
        let people = (0..COUNT).map(|i| yeyak_population::person(SEED, i)).collect();
        Self {
            channel,
            admission,
            identity,
            clock,
            rules,
            metrics,
            store,
            registry,
            redis,
            rules_path,
            amqp,
            redis_prefix,
            redis_cluster: options.redis_cluster,
            people,
            db,
            shutdown,
            tasks,
        }
    }

    pub(crate) fn set_now(&self, now: DateTime<Utc>) {
        self.clock.store(now.timestamp(), Ordering::SeqCst);
    }

    pub(crate) fn pass(&self, queue: &str, session_id: &str) -> String {
        let t = Utc::now().timestamp();
        let claims = AdmissionPass {
            queue_id: queue.into(),
            place: 1,
            client_binding: client_binding(CLIENT),
            session_id: session_id.into(),
            cnf: None,
            issued_at: t,
            expires_at: t + 600,
        };
        tokens::sign(&self.admission, &claims)
    }

    pub(crate) fn subject_of(p: &SyntheticPerson) -> String {
        subject_id(&Secret::new(HASH_KEY.into()), &p.rrn)
    }

    pub(crate) fn assertion(&self, p: &SyntheticPerson, session_id: &str) -> String {
        let t = Utc::now().timestamp();
        let claims = IdentityAssertion {
            subject: Self::subject_of(p),
            birth_date: p.birth_date.format("%Y-%m-%d").to_string(),
            name: "김*수".into(),
            provider: "carrier-sms".into(),
            assurance_level: 1,
            session_id: session_id.into(),
            queue_id: "q1".into(),
            issued_at: t,
            expires_at: t + 600,
        };
        tokens::sign(&self.identity, &claims)
    }

    /// A consent token `subject` gave `agent` for `queue`, signed with `key`
    /// (identity's, unless a test forges one), valid for `ttl` seconds.
    pub(crate) fn consent_signed(
        &self,
        key: &SigningKey,
        subject: &SyntheticPerson,
        agent: &SyntheticPerson,
        queue: &str,
        ttl: i64,
    ) -> String {
        let t = Utc::now().timestamp();
        let claims = ConsentToken {
            subject: Self::subject_of(subject),
            birth_date: subject.birth_date.format("%Y-%m-%d").to_string(),
            name: "김*수".into(),
            agent_subject: Self::subject_of(agent),
            queue_id: queue.into(),
            issued_at: t - 10,
            expires_at: t + ttl,
        };
        tokens::sign(key, &claims)
    }

    pub(crate) fn consent(&self, subject: &SyntheticPerson, agent: &SyntheticPerson, queue: &str) -> String {
        self.consent_signed(&self.identity, subject, agent, queue, 600)
    }

    /// CheckEligibility with explicit tokens.
    pub(crate) async fn call(
        &self,
        pass: &str,
        subject: String,
        agent: String,
        dose: u32,
    ) -> Result<CheckEligibilityResponse, tonic::Status> {
        self.request(
            pass,
            CheckEligibilityRequest { identity_assertion: subject, agent_assertion: agent, dose_number: dose, ..Default::default() },
        )
        .await
    }

    /// CheckEligibility with any request.
    pub(crate) async fn request(&self, pass: &str, req: CheckEligibilityRequest) -> Result<CheckEligibilityResponse, tonic::Status> {
        let mut r = Request::new(req);
        r.metadata_mut().insert(PASS_HEADER, pass.parse().unwrap());
        r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
        EligibilityServiceClient::new(self.channel.clone()).check_eligibility(r).await.map(|r| r.into_inner())
    }

    /// The person books for themselves in queue q1.
    pub(crate) async fn check(&self, p: &SyntheticPerson, dose: u32) -> CheckEligibilityResponse {
        self.call(&self.pass("q1", "sid-1"), self.assertion(p, "sid-1"), String::new(), dose).await.unwrap()
    }

    /// `agent` books for `subject` under the pass of `queue`.
    pub(crate) async fn check_for(
        &self,
        queue: &str,
        agent: &SyntheticPerson,
        subject: &SyntheticPerson,
    ) -> Result<CheckEligibilityResponse, tonic::Status> {
        self.call(&self.pass(queue, "sid-a"), self.assertion(subject, "sid-a"), self.assertion(agent, "sid-a"), 1).await
    }

    /// The `n`-th registered person (in generator order) matching `pred`.
    pub(crate) fn find_nth(&self, n: usize, pred: impl Fn(&SyntheticPerson) -> bool) -> SyntheticPerson {
        self.people.iter().filter(|p| pred(p)).nth(n).cloned().expect("such a person in the registry")
    }

    pub(crate) fn find(&self, pred: impl Fn(&SyntheticPerson) -> bool) -> SyntheticPerson {
        self.find_nth(0, pred)
    }

    /// Metric value of the line that starts with `prefix` (0 if absent).
    pub(crate) fn metric(&self, prefix: &str) -> f64 {
        self.metrics
            .encode()
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub(crate) async fn redis_keys(&self, pattern: &str) -> Vec<String> {
        if let Some(seeds) = &self.redis_cluster {
            // KEYS goes to every master; the client joins the answers.
            let client = redis::cluster::ClusterClient::new(seeds.split(',').collect::<Vec<_>>()).unwrap();
            let mut conn = client.get_async_connection().await.unwrap();
            return redis::cmd("KEYS").arg(format!("{}:{pattern}", self.redis_prefix)).query_async(&mut conn).await.unwrap();
        }
        let client = redis::Client::open(format!("redis://{REDIS}/0")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS").arg(format!("{}:{pattern}", self.redis_prefix)).query_async(&mut conn).await.unwrap()
    }

    /// Waits until the registry's answer about `subject` is in the cache (it
    /// is written behind the answer, within about a millisecond).
    pub(crate) async fn until_cached(&self, subject: &str) {
        let pattern = format!("eligibility:{{{subject}}}:person");
        eventually(std::time::Duration::from_secs(5), "the registry answer to be cached", || async {
            (self.redis_keys(&pattern).await.len() == 1).then_some(())
        })
        .await;
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        for task in self.tasks {
            task.await.unwrap().unwrap();
        }
        drop_database(&self.db).await.unwrap();
        messaging::delete_namespace(&self.amqp, &[QUEUE]).await.unwrap();
        let client = redis::Client::open(format!("redis://{REDIS}/0")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:*", self.redis_prefix)).query_async(&mut conn).await.unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
        }
        let _ = std::fs::remove_file(&self.rules_path);
    }
}

#[allow(unused_imports)] // not every test binary waits for something
pub(crate) use yeyak_testkit::eventually;

pub(crate) fn born_in(p: &SyntheticPerson, years: std::ops::RangeInclusive<i32>) -> bool {
    years.contains(&chrono::Datelike::year(&p.birth_date))
}
