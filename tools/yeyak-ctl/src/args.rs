//! The command line. Addresses and the token come from flags or `YEYAK_CTL_*`
//! variables, so one shell profile per deployment (staging, production)
//! points every command at it; the token never needs to be typed on a
//! command line, where shell history and `ps` would show it.
use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "yeyak-ctl",
    version,
    about = "Run a Yeyak booking evening: admission, the live funnel, eligibility rules, SMS deliveries"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// What every command shares: where the deployment is and who is calling.
#[derive(Debug, Args)]
pub struct Global {
    /// Print JSON (one document per command; one line per refresh with --watch) for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// Admission's gRPC address (`host:port`, `http://` or `https://`).
    #[arg(long, global = true, env = "YEYAK_CTL_ADMISSION", default_value = "http://127.0.0.1:50051")]
    pub admission: String,
    /// Notification's gRPC address (deliveries, dead letters, SMS resends).
    #[arg(long, global = true, env = "YEYAK_CTL_NOTIFICATION", default_value = "http://127.0.0.1:50056")]
    pub notification: String,
    /// Every service's Prometheus `/metrics` URL, comma-separated (the live view reads them).
    #[arg(
        long,
        global = true,
        env = "YEYAK_CTL_METRICS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:9101/metrics,http://127.0.0.1:9102/metrics,http://127.0.0.1:9103/metrics,http://127.0.0.1:9104/metrics,http://127.0.0.1:9105/metrics,http://127.0.0.1:9106/metrics"
    )]
    pub metrics: Vec<String>,
    /// The operator token (`YEYAK_OPERATORS` on the services names its holder and roles).
    #[arg(long = "token", global = true, env = "YEYAK_CTL_TOKEN", hide_env_values = true, hide = true)]
    pub token: Option<String>,
    /// A file holding the operator token (a mounted Secret, a password manager's output).
    #[arg(long, global = true, env = "YEYAK_CTL_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA bundle that `https://` addresses are checked against, beside the system roots.
    #[arg(long, global = true, env = "YEYAK_CTL_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate for listeners that require mutual TLS (with --tls-client-key-file).
    #[arg(long, global = true, env = "YEYAK_CTL_TLS_CLIENT_CERT_FILE", requires = "tls_client_key_file")]
    pub tls_client_cert_file: Option<PathBuf>,
    #[arg(long, global = true, env = "YEYAK_CTL_TLS_CLIENT_KEY_FILE", requires = "tls_client_cert_file")]
    pub tls_client_key_file: Option<PathBuf>,
    /// Deadline of every call, in seconds: a deployment that does not answer is an error, not a hang.
    #[arg(long, global = true, default_value = "5", value_parser = seconds)]
    pub timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Booking events as data: list, create, update, close (with --dry-run; --force for changes that throw people out).
    #[command(subcommand)]
    Events(crate::events::EventsCommand),
    /// One event's waiting room: settings, counts, pause, drain, join difficulty.
    #[command(subcommand)]
    Admission(AdmissionCommand),
    /// The evening at a glance from every service's metrics: the funnel per event, the line, providers.
    Status(StatusArgs),
    /// SMS deliveries that need an operator: list, show, replay, resolve an unknown outcome, discard.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Reservation events notification dead-lettered: list, replay through the idempotent consumer, discard.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLettersCommand),
    /// One SMS on an operator's word.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// A clinic's supply (`clinics`) and supply changes' jobs (`supply`): docs/supply-changes.md.
    #[command(flatten)]
    Supply(crate::supply::args::SupplyCommand),
    /// Eligibility rules: validate a file, explain a person, dry-run hour by hour (the eligibility CLI's commands).
    Rules {
        /// `validate`, `check`, `sample` or `dry-run`, then their flags (`yeyak-ctl rules --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Settings, counts and the measured rate of one event's line.
    Status { event: String },
    /// Change the admission rate and/or the cap on active sessions.
    Set {
        event: String,
        /// People admitted per second (greater than 0, at most 100000).
        #[arg(long)]
        rate: Option<f64>,
        /// Admitted sessions active at once (at least 1).
        #[arg(long)]
        max_active: Option<u64>,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Stop admitting; everyone keeps their place.
    Pause {
        event: String,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Admit again after a pause.
    Resume {
        event: String,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Close the line to new arrivals; everyone already waiting is still admitted.
    Drain {
        event: String,
        #[command(flatten)]
        dry: DryRun,
        /// Then follow the line until nobody waits, with a progress bar.
        #[arg(long)]
        wait: bool,
    },
    /// The automatic admission rate: on (between the floor and the operators' rate) or off.
    Auto {
        event: String,
        #[arg(value_parser = ["on", "off"])]
        switch: String,
        /// The lowest rate the controller may set, people per second (default: unchanged).
        #[arg(long)]
        floor: Option<f64>,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Proof of work each new entry must carry, in leading zero bits (0: none).
    Difficulty {
        event: String,
        bits: u32,
        #[command(flatten)]
        dry: DryRun,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Counts per state and gateway, then the newest deliveries of a state (default: failed and unknown).
    List {
        #[arg(long, value_parser = ["failed", "unknown", "discarded"])]
        state: Option<String>,
        /// Deliveries per state shown (1 to 500).
        #[arg(long, default_value = "20")]
        limit: u32,
        /// Continue a listing (`next page` of the previous one).
        #[arg(long, requires = "state")]
        page: Option<String>,
    },
    /// One delivery: state, gateway, attempts, last error, whether its number is kept.
    Show { message_id: String },
    /// Send a failed delivery again (never one already sent or being sent).
    Replay {
        message_id: String,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Settle an unknown outcome after checking with its gateway: `sent` (it has it) or `not-sent` (send through any gateway).
    Resolve {
        message_id: String,
        #[arg(value_parser = ["sent", "not-sent"])]
        verdict: String,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Stop a delivery that is not sent yet and erase its number.
    Discard {
        message_id: String,
        #[command(flatten)]
        dry: DryRun,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// How many, and the first few summarised (event id, routing key, why, age).
    List {
        /// Messages summarised (0 to 100; each look counts towards the queue's limit of 1000 returns).
        #[arg(long, default_value = "20")]
        limit: u32,
    },
    /// Move messages back to the consumer's queue, oldest first; an event already recorded sends nothing.
    Replay {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Drop messages for good, oldest first.
    Discard {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        dry: DryRun,
    },
}

/// How many dead letters a command takes.
#[derive(Clone, Copy, Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// This many, from the oldest.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Every message in the queue now.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// A new SMS repeating a reservation's latest message, marked as a resend, to the number it keeps.
    Resend {
        reservation_id: String,
        #[command(flatten)]
        dry: DryRun,
    },
}

#[derive(Clone, Copy, Debug, Args)]
pub struct DryRun {
    /// Say what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this event (default: every event the metrics name).
    #[arg(long)]
    pub event: Option<String>,
    /// Redraw every N seconds until Ctrl-C (default: print once).
    #[arg(long, value_parser = seconds)]
    pub watch: Option<Duration>,
}

fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{text:?} is not a number of seconds between 0 and 3600")),
    }
}
