//! Where the deployment listens, and the connections the crowd shares. A
//! gateway keeps a few HTTP/2 connections per service and multiplexes its
//! users over them; the simulator does the same (`connections` each).
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use anyhow::Context as _;
use serde::Deserialize;
use tonic::transport::Channel;
use yeyak_platform::grpc::client;

/// The endpoints file (TOML); `make run` writes `.run/endpoints.toml`.
/// The operator token is never in it: `YEYAK_OPERATOR_TOKEN`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointsFile {
    pub admission: String,
    pub identity: String,
    pub eligibility: String,
    pub inventory: String,
    pub reservation: String,
    /// The mock SMS gateway's base URL (the exactly-one-SMS check).
    pub sms_gateway_url: String,
    /// Provider id → the mock provider's base URL (the phone's inbox).
    pub idp_urls: BTreeMap<String, String>,
    /// The synthetic registry the deployment's registry mock holds.
    pub registry_seed: u64,
    pub registry_count: u64,
    /// `name pid` lines (`.run/pids`): CPU per service is read from `/proc`.
    #[serde(default)]
    pub pids_file: Option<PathBuf>,
    /// The deployment's Redis and its key prefixes: `--chaos` loses them
    /// (`redis-flush`).
    #[serde(default = "default_redis_url")]
    pub redis_url: String,
    #[serde(default = "default_redis_prefixes")]
    pub redis_prefixes: Vec<String>,
    /// Data store → the name its processes run under on this machine
    /// (`postgres = "postgres"`): their CPU per booked person feeds the
    /// plan's sizing of PostgreSQL, Redis and RabbitMQ (`cpu.rs`).
    #[serde(default)]
    pub data_stores: BTreeMap<String, String>,
    /// The admin URL of the services' link to RabbitMQ (`yeyak-dev link`,
    /// which `make run` starts): `--chaos` cuts it (`broker-cut`).
    #[serde(default)]
    pub broker_link_url: Option<String>,
    /// HTTP/2 connections per service.
    #[serde(default = "default_connections")]
    pub connections: usize,
}

fn default_connections() -> usize {
    4
}

fn default_redis_url() -> String {
    "redis://127.0.0.1:6379/0".into()
}

fn default_redis_prefixes() -> Vec<String> {
    vec!["yeyak".into()]
}

impl EndpointsFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut file: Self = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        // A relative pids file is relative to the endpoints file.
        if let (Some(pids), Some(dir)) = (&file.pids_file, path.parent()) {
            if pids.is_relative() {
                file.pids_file = Some(dir.join(pids));
            }
        }
        Ok(file)
    }
}

/// A few channels to one service, used in turn.
pub struct Pool {
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl Pool {
    fn new(addr: &str, connections: usize) -> anyhow::Result<Self> {
        let settings = client::ClientSettings {
            connect_timeout: Duration::from_secs(2),
            // Each step has its own deadline below this; a call that
            // outlives it is an error the report shows, not a hang.
            request_timeout: Duration::from_secs(15),
            tls: yeyak_platform::tls::TlsSettings::default(),
        };
        let channels = (0..connections.max(1)).map(|_| client::channel(addr, &settings)).collect::<anyhow::Result<_>>()?;
        Ok(Self { channels, next: AtomicUsize::new(0) })
    }

    pub fn get(&self) -> Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        self.channels[i].clone()
    }
}

pub struct Targets {
    pub admission: Pool,
    pub identity: Pool,
    pub eligibility: Pool,
    pub inventory: Pool,
    pub reservation: Pool,
    pub file: EndpointsFile,
}

impl Targets {
    pub fn connect(file: EndpointsFile) -> anyhow::Result<Self> {
        let n = file.connections;
        Ok(Self {
            admission: Pool::new(&file.admission, n).context("admission")?,
            identity: Pool::new(&file.identity, n).context("identity")?,
            eligibility: Pool::new(&file.eligibility, n).context("eligibility")?,
            inventory: Pool::new(&file.inventory, n).context("inventory")?,
            reservation: Pool::new(&file.reservation, n).context("reservation")?,
            file,
        })
    }

    pub fn idp_url(&self, provider: &str) -> Option<&str> {
        self.file.idp_urls.get(provider).map(String::as_str)
    }
}
