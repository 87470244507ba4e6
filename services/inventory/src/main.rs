//! `yeyak-inventory` serves the inventory API. Operator subcommands:
//!
//! - `yeyak-inventory seed [--clinics-per-district N] [--days D]` loads the
//!   deterministic national catalogue into an empty database (default: the
//!   full scale, 64 clinics in each of the 250 districts, 56 days);
//! - `yeyak-inventory resize-slot --slot ID --capacity N` changes one slot's
//!   size; the running servers publish the change to the reservation ledger.
//!
//! Both read the same `YEYAK_*` settings as the server (database, Redis).
use anyhow::{bail, Context as _};
use inventory::{
    config::{Config, FULL_SCALE_CLINICS_PER_DISTRICT, FULL_SCALE_DAYS},
    domain, ops,
    startup::Application,
    store::{cache::Cache, CatalogStore},
};
use yeyak_platform::{config::Env, db, metrics::Metrics, Shutdown};

const USAGE: &str = "usage: yeyak-inventory [serve]
       yeyak-inventory seed [--clinics-per-district N] [--days D]
       yeyak-inventory resize-slot --slot SLOT_ID --capacity N";

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init("inventory");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("seed") => seed(&args[1..]).await,
        Some("resize-slot") => resize(&args[1..]).await,
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.grpc_addr(), "inventory listening");
    app.run_until_stopped(Shutdown::on_signals()).await
}

/// `--name value` pairs; every name must be one of `known`.
fn flags<'a>(args: &'a [String], known: &[&str]) -> anyhow::Result<Vec<(&'a str, &'a str)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(name) = it.next() {
        if !known.contains(&name.as_str()) {
            bail!("unknown option {name:?}\n{USAGE}");
        }
        let value = it.next().with_context(|| format!("{name} needs a value"))?;
        out.push((name.as_str(), value.as_str()));
    }
    Ok(out)
}

async fn seed(args: &[String]) -> anyhow::Result<()> {
    let (mut per_district, mut days) = (FULL_SCALE_CLINICS_PER_DISTRICT, FULL_SCALE_DAYS);
    for (name, value) in flags(args, &["--clinics-per-district", "--days"])? {
        let n: u32 = value.parse().with_context(|| format!("{name} must be a number"))?;
        match name {
            "--clinics-per-district" => per_district = n,
            _ => days = n,
        }
    }
    if per_district == 0 || days == 0 || days > 366 {
        bail!("--clinics-per-district must be positive and --days between 1 and 366");
    }
    let config = Config::from_env(&Env::process())?;
    let pool = db::connect(&config.database, true).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    let today = domain::today_seoul(chrono::Utc::now());
    let report = inventory::seed_demo(&pool, per_district, days, today).await?;
    if report.seeded {
        println!(
            "seeded {} provinces, {} districts, {} clinics, {} slots, {} day summaries in {:.1} s",
            report.provinces,
            report.districts,
            report.clinics,
            report.slots,
            report.days,
            report.elapsed_ms as f64 / 1000.0
        );
    } else {
        println!("the catalogue already has clinics; nothing seeded");
    }
    pool.close().await;
    Ok(())
}

async fn resize(args: &[String]) -> anyhow::Result<()> {
    let (mut slot, mut capacity) = (None, None);
    for (name, value) in flags(args, &["--slot", "--capacity"])? {
        match name {
            "--slot" => slot = Some(value.parse::<uuid::Uuid>().context("--slot must be a slot id (UUID)")?),
            _ => capacity = Some(value.parse::<u32>().context("--capacity must be a number")?),
        }
    }
    let (Some(slot), Some(capacity)) = (slot, capacity) else { bail!("--slot and --capacity are required\n{USAGE}") };
    let config = Config::from_env(&Env::process())?;
    let pool = db::connect(&config.database, false).await?;
    let store = CatalogStore::new(pool.clone());
    let cache = Cache::new(config.cache.clone(), &Metrics::new("inventory"))?;
    let resized = ops::resize_slot(&store, &cache, slot, capacity).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match resized.event_id {
        Some(event) => println!(
            "slot {slot}: {} -> {} places; event {event} queued for the reservation ledger",
            resized.previous_capacity, resized.capacity
        ),
        None => println!("slot {slot} already has {capacity} places; nothing changed"),
    }
    pool.close().await;
    Ok(())
}
