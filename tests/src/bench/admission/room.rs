//! Admission as a child process (Redis on loopback, a private key prefix and
//! AMQP namespace), and the surge's two phases against it: everyone joins,
//! then the line polls until admitted.
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use tonic::{transport::Channel, Request};
use yeyak_platform::{
    config::Env,
    messaging::{self, AmqpSettings},
    tokens::dpop::PROOF_HEADER,
    Shutdown,
};
use yeyak_proto::admission::v1::{
    admission_operator_service_client::AdmissionOperatorServiceClient, admission_service_client::AdmissionServiceClient, AdmissionSettings,
    GetAdmissionSettingsRequest, GetQueueStatusRequest, JoinQueueRequest,
};

use super::{channels, Surge};
use crate::bench::{
    cleanup,
    closed_loop::{self, Calls, Load, Phase},
    pick,
    process::ServerProcess,
};

const TOKEN: &str = "bench-operator-token";
const QUEUE: &str = "surge";

/// The child process's side (`--serve-admission`).
pub async fn serve() -> anyhow::Result<()> {
    let app = admission::startup::Application::build(admission::config::Config::from_env(&Env::process())?).await?;
    println!("LISTENING {}", app.grpc_addr());
    app.run_until_stopped(Shutdown::on_signals()).await
}

/// The joins: their calls, and the server's memory before and after.
pub struct Joins {
    pub phase: Phase<Calls>,
    /// Server CPU seconds over the phase.
    pub server_cpu: f64,
    pub rss_before: u64,
    pub rss_after: u64,
}

/// The polls: their calls, how many returned a pass, and the admission rate
/// the operator API reports over the polling window.
pub struct Polls {
    pub phase: Phase<Calls>,
    /// Server CPU seconds over the phase.
    pub server_cpu: f64,
    pub passes: usize,
    pub line: AdmissionSettings,
    pub measured_rate: f64,
    pub window: Duration,
}

pub struct WaitingRoom {
    server: ServerProcess,
    channels: Arc<Vec<Channel>>,
    tickets: Arc<Vec<OnceLock<String>>>,
    redis_prefix: String,
    amqp: AmqpSettings,
    /// Admission's own database for this run (its marks and batches).
    database: yeyak_platform::db::DatabaseSettings,
}

fn client_id(i: u64) -> String {
    format!("bench-client-{i:016}")
}

impl WaitingRoom {
    pub async fn start(surge: &Surge) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("bench:{tag}");
        let amqp = AmqpSettings::for_test(&format!("bench-{tag}"));
        let rate = surge.rate.to_string();
        let database_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_bench_{tag}");
        let binding = if surge.device_binding { "required" } else { "optional" };
        let settings: [(&str, &str); 15] = [
            ("ENV", "dev"),
            ("DEVICE_BINDING", binding),
            ("GRPC_ADDR", "127.0.0.1:0"),
            ("METRICS_ADDR", "off"),
            ("QUEUE_IDS", QUEUE),
            ("OPERATOR_TOKEN", TOKEN),
            ("MAX_ACTIVE_SESSIONS", "100000000"),
            ("MAX_CONCURRENT_RPCS", "100000"),
            ("PASS_TTL_SECONDS", "3600"),
            ("REDIS_KEY_PREFIX", &redis_prefix),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX", &redis_prefix),
            ("DATABASE_URL", &database_url),
            ("ADMISSION_RATE", &rate),
            ("AMQP_EXCHANGE", &amqp.exchange),
            ("AMQP_QUEUE_PREFIX", &amqp.queue_prefix),
        ];
        let env: Vec<(String, String)> = settings.iter().map(|(k, v)| (format!("YEYAK_{k}"), (*v).to_owned())).collect();
        let server = ServerProcess::spawn("--serve-admission", &env)?;
        let channels = Arc::new(channels(&server.addr, surge)?);
        let tickets = Arc::new((0..surge.joins).map(|_| OnceLock::new()).collect());
        // Let the server settle before its memory is read.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let database = yeyak_platform::db::DatabaseSettings::with_url(database_url);
        Ok(Self { server, channels, tickets, redis_prefix, amqp, database })
    }

    /// Every client joins once; each keeps its ticket for polling.
    pub async fn join(&self, surge: &Surge) -> Joins {
        let proofs = Arc::new(if surge.device_binding { super::proofs::join_proofs(surge.joins) } else { Vec::new() });
        let (rss_before, cpu_before) = (self.server.rss_bytes(), self.server.cpu_seconds());
        let (channels, tickets) = (self.channels.clone(), self.tickets.clone());
        let phase = closed_loop::run(Load::calls(surge.joins, surge.concurrency), move |i| {
            let mut c = AdmissionServiceClient::new(pick(&channels, i).clone());
            let tickets = tickets.clone();
            let mut req = Request::new(JoinQueueRequest {
                queue_id: QUEUE.into(),
                client_id: client_id(i),
                existing_ticket: String::new(),
                ..Default::default()
            });
            if let Some(Ok(proof)) = proofs.get(i as usize).map(|p| p.parse()) {
                req.metadata_mut().insert(PROOF_HEADER, proof);
            }
            async move {
                match c.join_queue(req).await {
                    Ok(r) => tickets[i as usize].set(r.into_inner().ticket).is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
        Joins { phase, server_cpu: self.server.cpu_seconds() - cpu_before, rss_before, rss_after: self.server.rss_bytes() }
    }

    /// Pollers as real clients: everyone in line polls, and a client that
    /// received its pass stops polling and goes on to book.
    pub async fn poll(&self, surge: &Surge) -> anyhow::Result<Polls> {
        let joins = surge.joins;
        let (admitted_before, started) = (self.settings().await?.admitted, Instant::now());
        let cpu_before = self.server.cpu_seconds();
        let done: Arc<Vec<AtomicBool>> = Arc::new((0..joins).map(|_| AtomicBool::default()).collect());
        let (channels, tickets, admitted) = (self.channels.clone(), self.tickets.clone(), done.clone());
        let phase = closed_loop::run(Load::calls(surge.polls, surge.concurrency), move |i| {
            let mut c = AdmissionServiceClient::new(pick(&channels, i).clone());
            // The admitted are the front of the line, one block: stepping to
            // the next client would walk through all of them (thousands of
            // loads per poll late in a run); a multiplicative hop leaves the
            // block in about one step, so picking a poller costs the same
            // whatever the number admitted.
            let mut k = (i.wrapping_mul(7919)) % joins;
            while admitted[k as usize].load(Ordering::Relaxed) {
                k = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) % joins;
            }
            let ticket = tickets[k as usize].get().cloned().unwrap_or_default();
            let admitted = admitted.clone();
            async move {
                match c.get_queue_status(GetQueueStatusRequest { ticket, client_id: client_id(k) }).await {
                    Ok(r) => {
                        if r.into_inner().status.is_some_and(|s| !s.admission_pass.is_empty()) {
                            admitted[k as usize].store(true, Ordering::Relaxed);
                        }
                        true
                    }
                    Err(_) => false,
                }
            }
        })
        .await;
        let server_cpu = self.server.cpu_seconds() - cpu_before;
        let passes = done.iter().filter(|d| d.load(Ordering::Relaxed)).count();
        let line = self.settings().await?;
        let window = started.elapsed();
        let measured_rate = (line.admitted - admitted_before) as f64 / window.as_secs_f64();
        Ok(Polls { phase, server_cpu, passes, line, measured_rate, window })
    }

    /// The line as the operator API reports it.
    async fn settings(&self) -> anyhow::Result<AdmissionSettings> {
        let mut operator = AdmissionOperatorServiceClient::new(self.channels[0].clone());
        let mut req = Request::new(GetAdmissionSettingsRequest { queue_id: QUEUE.into() });
        req.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse()?);
        Ok(operator.get_admission_settings(req).await?.into_inner().settings.unwrap_or_default())
    }

    /// Stops the server and removes its queues, Redis keys and database; a
    /// failed cleanup does not fail a finished run.
    pub async fn stop(self) {
        drop(self.server);
        let _ = yeyak_platform::db::drop_database(&self.database).await;
        let _ = messaging::delete_namespace(&self.amqp, &[admission::consumers::sessions::QUEUE]).await;
        let _ = cleanup::delete_redis_prefix(&self.redis_prefix).await;
    }
}
