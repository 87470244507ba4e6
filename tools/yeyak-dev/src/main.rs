//! Developer tool used by `make run`:
//! - `yeyak-dev keys`: prints fresh key material as shell `export` lines
//!   (`contact-keys`: only the pair that seals and opens phone numbers);
//! - `yeyak-dev certs`: a test CA and one certificate per service, as
//!   cert-manager's Secret files (the chart-driven run's internal TLS);
//! - `yeyak-dev demo`: books one appointment through the running stack,
//!   printing each step (addresses from `YEYAK_*_ADDR` variables, `https://`
//!   ones checked against `YEYAK_TLS_CA_FILE`);
//! - `yeyak-dev verify-stream`: identity verifications back to back, with a
//!   JSON count of what failed (the chart-driven run's stream);
//! - `yeyak-dev link`: the services' path to RabbitMQ, which
//!   `yeyak-surge --chaos` cuts and restores through its admin API.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use yeyak_dev::{demo, keys::DevKeys};
use yeyak_platform::{config::Env, tls::TlsSettings};

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[derive(Parser)]
#[command(name = "yeyak-dev", about = "Dev keys and the scripted demo booking for `make run`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print fresh key material as shell `export` lines (`make run` keeps them in .run/dev.env).
    Keys,
    /// Print a fresh contact key pair alone (notification's YEYAK_CONTACT_KEYS and
    /// reservation's YEYAK_CONTACT_PUBLIC_KEY), for a .run/dev.env that lacks them.
    ContactKeys,
    /// Write a test CA and a certificate per service, laid out as cert-manager's
    /// `kubernetes.io/tls` Secrets (tests only: valid a week, the CA's key is not kept).
    Certs(CertsArgs),
    /// Book one appointment through the running stack, printing each step.
    Demo(Box<DemoArgs>),
    /// Verify identities back to back for a while and print what failed, as JSON.
    VerifyStream(Box<StreamArgs>),
    /// Print a synthetic person of the mock registry who may book dose 1 (name,
    /// resident number, phone), to try the citizen page with (`make run`).
    /// Synthetic data, printed on request only; never use real numbers.
    Person(PersonArgs),
    /// Forward a port to the broker through a link that `PUT /admin/link {"up": false}`
    /// cuts (open connections dropped, new ones refused) and `{"up": true}` restores.
    Link(LinkArgs),
}

#[derive(Args)]
struct PersonArgs {
    /// The seed the registry mock generated its people with.
    #[arg(long, env = "YEYAK_REGISTRY_SEED", default_value_t = yeyak_population::DEFAULT_SEED)]
    registry_seed: u64,
    /// People in the registry (`make run` seeds YEYAK_SEED_COUNT).
    #[arg(long, env = "YEYAK_SEED_COUNT", default_value_t = 1_000_000)]
    registry_count: u64,
}

/// `make run` points the services' `YEYAK_AMQP_URL` at `--listen`.
#[derive(Args)]
struct LinkArgs {
    #[arg(long, default_value = "127.0.0.1:5673")]
    listen: String,
    /// The broker (`host:port`).
    #[arg(long, default_value = "127.0.0.1:5672")]
    upstream: String,
    /// The admin API (HTTP; loopback only: it takes no credentials).
    #[arg(long, default_value = "127.0.0.1:18087")]
    admin: String,
}

/// `<DIR>/ca.crt`, and `<DIR>/<NAME>/{tls.crt,tls.key,ca.crt}` for each NAME.
#[derive(Args)]
struct CertsArgs {
    /// Where to write the files (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// The Services' namespace: each certificate is valid for NAME, NAME.<NS>.svc,
    /// NAME.<NS>.svc.cluster.local, localhost and 127.0.0.1.
    #[arg(long)]
    namespace: String,
    /// Service names, one certificate (server and client auth) each.
    #[arg(required = true)]
    names: Vec<String>,
}

/// A stream of verifications through the same stack as the demo.
#[derive(Args)]
struct StreamArgs {
    #[command(flatten)]
    stack: DemoArgs,
    /// People verifying at once (each admitted once, then verifying again and again).
    #[arg(long, default_value_t = 4)]
    workers: u64,
    /// How long the stream runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Where the running stack listens; the defaults are `make run`'s ports
/// (plain HTTP/2). An `https://host:port` address is reached over TLS with
/// the platform's client settings: `YEYAK_TLS_CA_FILE` (trusted beside the
/// system roots) and, for a server that asks, `YEYAK_TLS_CLIENT_CERT_FILE`
/// and `YEYAK_TLS_CLIENT_KEY_FILE`.
#[derive(Args)]
struct DemoArgs {
    #[arg(long, env = "YEYAK_ADMISSION_ADDR", default_value = "127.0.0.1:50051")]
    admission: String,
    #[arg(long, env = "YEYAK_IDENTITY_ADDR", default_value = "127.0.0.1:50052")]
    identity: String,
    #[arg(long, env = "YEYAK_ELIGIBILITY_ADDR", default_value = "127.0.0.1:50053")]
    eligibility: String,
    #[arg(long, env = "YEYAK_INVENTORY_ADDR", default_value = "127.0.0.1:50054")]
    inventory: String,
    #[arg(long, env = "YEYAK_RESERVATION_ADDR", default_value = "127.0.0.1:50055")]
    reservation: String,
    #[arg(long, env = "YEYAK_NOTIFICATION_ADDR", default_value = "127.0.0.1:50056")]
    notification: String,
    #[arg(long, env = "YEYAK_SMS_GATEWAY_URL", default_value = "http://127.0.0.1:18084")]
    sms_gateway_url: String,
    /// `provider=url` pairs: the demo reads the phone's inbox at the provider's mock.
    #[arg(
        long,
        env = "YEYAK_IDP_URLS",
        default_value = "carrier-sms=http://127.0.0.1:18082,kakao-cert=http://127.0.0.1:18083,naver-cert=http://127.0.0.1:18085,fin-cert=http://127.0.0.1:18086"
    )]
    idp_urls: String,
    #[arg(long, env = "YEYAK_QUEUE_ID", default_value = "demo")]
    queue_id: String,
    /// The seed the registry mock generated its people with, so the demo books a real one.
    #[arg(long, env = "YEYAK_REGISTRY_SEED", default_value_t = yeyak_population::DEFAULT_SEED)]
    registry_seed: u64,
}

impl DemoArgs {
    fn endpoints(self) -> anyhow::Result<demo::Endpoints> {
        let tls = TlsSettings::from_env(&Env::process())?;
        let idp_urls = self.idp_urls.split(',').filter_map(|e| e.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned()))).collect();
        Ok(demo::Endpoints {
            admission: self.admission,
            identity: self.identity,
            eligibility: self.eligibility,
            inventory: self.inventory,
            reservation: self.reservation,
            notification: self.notification,
            sms_gateway_url: self.sms_gateway_url,
            idp_urls,
            queue_id: self.queue_id,
            operator_token: std::env::var("YEYAK_OPERATOR_TOKEN").ok().filter(|t| !t.is_empty()),
            tls,
        })
    }
}

/// `make run` and shells may export a setting as an empty string; that has
/// always meant "the default", which clap would otherwise take as the value.
/// Runs before any thread exists, so changing the environment is safe.
fn forget_empty_settings() {
    for (name, value) in std::env::vars_os() {
        if value.is_empty() && name.to_string_lossy().starts_with("YEYAK_") {
            std::env::remove_var(name);
        }
    }
}

fn main() -> anyhow::Result<()> {
    forget_empty_settings();
    match Cli::parse().command {
        Command::Keys => {
            print!("{}", DevKeys::generate().to_env());
            Ok(())
        }
        Command::ContactKeys => {
            print!("{}", yeyak_dev::keys::contact_env(&yeyak_platform::contact::ContactKeys::generate("dev-contact-1")));
            Ok(())
        }
        Command::Certs(args) => {
            let written = yeyak_dev::certs::write(&args.dir, &args.namespace, &args.names)?;
            // Paths only: the keys stay in their files.
            println!("test CA: {}", written.ca.display());
            for dir in &written.services {
                println!("{}: tls.crt, tls.key, ca.crt", dir.display());
            }
            Ok(())
        }
        Command::Demo(args) => tokio::runtime::Runtime::new()?.block_on(run_demo(*args)),
        Command::VerifyStream(args) => tokio::runtime::Runtime::new()?.block_on(run_stream(*args)),
        Command::Link(args) => tokio::runtime::Runtime::new()?.block_on(run_link(args)),
        Command::Person(args) => {
            // A random entry each time, so two people trying the page do not collide.
            let start = rand::random::<u64>() % args.registry_count.max(1);
            let p = (start..args.registry_count)
                .chain(0..start)
                .map(|i| yeyak_population::person(args.registry_seed, i))
                .find(|p| p.insured && p.doses.is_empty())
                .ok_or_else(|| anyhow::anyhow!("no bookable person in the registry"))?;
            println!("name: {}\nresident number: {}\nphone: {}", p.name, p.rrn.expose(), p.phone);
            Ok(())
        }
    }
}

/// Serves until SIGINT or SIGTERM (`make run` stops it with the stack).
async fn run_link(args: LinkArgs) -> anyhow::Result<()> {
    let link = yeyak_dev::link::Link::start(&args.listen, &args.upstream, &args.admin).await?;
    println!("broker link {} -> {}; admin {}/admin/link", link.addr(), args.upstream, link.admin_url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    Ok(())
}

async fn run_stream(args: StreamArgs) -> anyhow::Result<()> {
    let seed = args.stack.registry_seed;
    let people = (0..args.workers)
        .map(|i| yeyak_population::person(seed, i))
        .map(|p| demo::Person { name: p.name, rrn: p.rrn.expose().to_owned(), phone: p.phone })
        .collect();
    let report = yeyak_dev::stream::run(&args.stack.endpoints()?, people, std::time::Duration::from_secs(args.seconds)).await?;
    println!("{}", report.to_json());
    if report.failed > 0 {
        anyhow::bail!("{} of {} verifications failed", report.failed, report.failed + report.verified);
    }
    Ok(())
}

async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let seed = args.registry_seed;
    let endpoints = args.endpoints()?;
    // A random stretch of the registry, so repeated demos book different people.
    let skip: u64 = rand::random::<u64>() % 50_000;
    let p = (skip..skip + 10_000).map(|i| yeyak_population::person(seed, i)).find(|p| p.insured && p.doses.is_empty());
    let p = p.ok_or_else(|| anyhow::anyhow!("no bookable person found in the registry sample"))?;
    let person = demo::Person { name: p.name, rrn: p.rrn.expose().to_owned(), phone: p.phone };
    println!("Demo booking for registry person #{} (born {})", p.index, p.birth_date);
    let outcome = demo::run(&endpoints, &person, &|line| println!("  {line}")).await?;
    println!("Done: reservation {} confirmed; {} SMS recorded by the gateway.", outcome.reservation_id, outcome.sms_texts.len());
    Ok(())
}
