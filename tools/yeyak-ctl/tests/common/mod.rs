//! One admission deployment per test (its own database, Redis prefix and
//! RabbitMQ namespace), two named operators, and the real `yeyak-ctl`
//! binary run against it as a child process.
#![allow(dead_code, clippy::unwrap_used)]
pub(crate) mod notification;

use std::process::{Command, Output};

use admission::{config::Config, startup::Application};
use serde_json::Value;
use yeyak_platform::{
    config::Env,
    grpc::client,
    tokens::{HmacKey, HmacKeys, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::admission::v1::{admission_service_client::AdmissionServiceClient, JoinQueueRequest};

pub(crate) const OPERATOR: &str = "ops-token-for-the-ctl-tests-0001";
pub(crate) const SUPPORT: &str = "support-token-for-the-ctl-tests-02";

pub(crate) struct Admission {
    prefix: String,
    grpc: String,
    metrics_port: u16,
    shutdown: Shutdown,
}

impl Admission {
    pub(crate) async fn start() -> Self {
        let prefix = format!("test:{}", uuid::Uuid::new_v4().simple());
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let ticket = HmacKeys::new(HmacKey::new("t1", &uuid::Uuid::new_v4().as_bytes().repeat(2)), []);
        let amqp = amqp(&prefix);
        let pairs = [
            ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
            ("METRICS_ADDR", format!("127.0.0.1:{metrics_port}")),
            ("SIGNING_KEY", SigningKey::generate(Issuer::Admission, "k1").secret_spec()),
            ("TICKET_KEYS", ticket.active().secret_spec()),
            ("OPERATORS", format!("kim.ops:operator:{OPERATOR},lee.support:support:{SUPPORT}")),
            ("QUEUE_IDS", "q1".to_owned()),
            ("REDIS_KEY_PREFIX", prefix.clone()),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX", prefix.clone()),
            ("DATABASE_URL", database_url(&prefix)),
            ("ADMISSION_TICK_MS", "20".to_owned()),
            // The automatic rate, steered by a real service's metrics: its own.
            ("ADMISSION_CONTROL_TARGETS", format!("admission=http://127.0.0.1:{metrics_port}/metrics")),
            ("AMQP_EXCHANGE", amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
        ];
        let env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
        let grpc = format!("http://{}", app.grpc_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self { prefix, grpc, metrics_port, shutdown }
    }

    pub(crate) fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }

    /// `yeyak-ctl` against this deployment, with `token` as the operator's
    /// (given the way a shell profile gives it: in the environment).
    pub(crate) fn ctl(&self, token: &str, args: &[&str]) -> Ran {
        let mut all = vec!["--admission", &self.grpc];
        all.extend_from_slice(args);
        run_ctl(token, &all)
    }

    pub(crate) async fn join(&self, client_id: &str) {
        let channel = client::channel(&self.grpc, &client::ClientSettings::default()).unwrap();
        let request = JoinQueueRequest { queue_id: "q1".into(), client_id: client_id.into(), ..Default::default() };
        AdmissionServiceClient::new(channel).join_queue(request).await.unwrap();
    }
}

/// The binary's outcome, and the assertions tests make on it.
pub(crate) struct Ran(Output);

pub(crate) fn run_ctl(token: &str, args: &[&str]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yeyak-ctl"));
    command
        .args(args)
        .env_remove("YEYAK_CTL_TOKEN_FILE")
        .env_remove("YEYAK_CTL_METRICS")
        .env_remove("YEYAK_CTL_ADMISSION")
        .env_remove("YEYAK_CTL_NOTIFICATION");
    if token.is_empty() {
        command.env_remove("YEYAK_CTL_TOKEN");
    } else {
        command.env("YEYAK_CTL_TOKEN", token);
    }
    // The admission under test runs on this runtime: let it keep serving.
    Ran(tokio::task::block_in_place(|| command.output()).unwrap())
}

impl Ran {
    fn describe(&self) -> String {
        format!(
            "status {:?}\nstdout: {}\nstderr: {}",
            self.0.status,
            String::from_utf8_lossy(&self.0.stdout),
            String::from_utf8_lossy(&self.0.stderr)
        )
    }

    pub(crate) fn ok_text(&self) -> String {
        assert!(self.0.status.success(), "yeyak-ctl failed: {}", self.describe());
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }

    pub(crate) fn ok_json(&self) -> Value {
        serde_json::from_str(&self.ok_text()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.describe()))
    }

    /// Stderr of a usage error (exit 2).
    pub(crate) fn failed_usage(&self) -> String {
        assert_eq!(self.0.status.code(), Some(2), "expected a usage error: {}", self.describe());
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }

    /// Stderr of a run that exited 1 with nothing on stdout.
    pub(crate) fn failed(&self) -> String {
        assert_eq!(self.0.status.code(), Some(1), "expected a refusal: {}", self.describe());
        assert!(self.0.stdout.is_empty(), "a refusal prints nothing on stdout: {}", self.describe());
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }
}

fn database_url(prefix: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", prefix.trim_start_matches("test:"))
}

fn amqp(prefix: &str) -> yeyak_platform::messaging::AmqpSettings {
    yeyak_platform::messaging::AmqpSettings::for_test(&prefix.replace(':', "-"))
}

impl Drop for Admission {
    /// Stops the service, then deletes its Redis keys, database and RabbitMQ
    /// namespace on a thread of its own (the test's runtime is ending).
    fn drop(&mut self) {
        self.shutdown.trigger();
        let (prefix, amqp, database) = (self.prefix.clone(), amqp(&self.prefix), database_url(&self.prefix));
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(yeyak_platform::messaging::delete_namespace(&amqp, &[admission::consumers::sessions::QUEUE]));
                let settings = yeyak_platform::db::DatabaseSettings::with_url(database);
                let _ = rt.block_on(yeyak_platform::db::drop_database(&settings));
            }
            let Ok(client) = redis::Client::open("redis://127.0.0.1:6379/0") else { return };
            let Ok(mut conn) = client.get_connection() else { return };
            let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query(&mut conn).unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        });
        let _ = cleanup.join();
    }
}
