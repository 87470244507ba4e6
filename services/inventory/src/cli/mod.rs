//! The operator subcommands of `yeyak-inventory`:
//!
//! - `yeyak-inventory seed [--clinics-per-district N] [--days D]` loads the
//!   deterministic national catalogue into an empty database (default: the
//!   full scale, 64 clinics in each of the 250 districts, 56 days);
//! - `yeyak-inventory resize-slot --slot ID --capacity N` changes one slot's
//!   size; the running servers publish the change to the reservation ledger.
//!
//! - `yeyak-inventory migrate` applies the migrations and exits.
//!
//! All read the same `YEYAK_*` settings as the server (database, Redis), and
//! only those: operators and keys are the server's alone.
use anyhow::anyhow;
use clap::{value_parser, Args, Parser, Subcommand};
use inventory::{
    app::Catalogue,
    config::{cache_settings, FULL_SCALE_CLINICS_PER_DISTRICT, FULL_SCALE_DAYS},
    domain,
    store::{self, cache::Cache, CatalogStore},
};
use yeyak_platform::{config::Env, db, metrics::Metrics};

#[derive(Debug, Parser)]
#[command(name = "yeyak-inventory", about = "Clinic catalogue and availability: the server, and its operator commands")]
pub(crate) struct Cli {
    /// Without a command, serves.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the inventory API (the default).
    Serve,
    /// Apply the database migrations and exit (the Helm hook Job).
    Migrate,
    /// Load the deterministic catalogue into an empty database.
    Seed(SeedArgs),
    /// Change one slot's size (published to the reservation ledger).
    ResizeSlot(ResizeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// Clinics in each of the 250 districts.
    #[arg(long, value_name = "N", default_value_t = FULL_SCALE_CLINICS_PER_DISTRICT, value_parser = value_parser!(u32).range(1..))]
    clinics_per_district: u32,
    /// Days of slots from tomorrow (Asia/Seoul).
    #[arg(long, value_name = "D", default_value_t = FULL_SCALE_DAYS, value_parser = value_parser!(u32).range(1..=366))]
    days: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ResizeArgs {
    /// The slot's id (a UUID).
    #[arg(long, value_name = "SLOT_ID")]
    slot: uuid::Uuid,
    /// The new number of places.
    #[arg(long, value_name = "N")]
    capacity: u32,
}

const DATABASE: &str = "yeyak_inventory";

pub(crate) async fn migrate() -> anyhow::Result<()> {
    // Only the database settings: the migration step gets no service keys.
    let database = db::DatabaseSettings::from_env(&Env::process(), DATABASE)?;
    let pool = db::connect(&database, true).await?;
    store::migrate(&pool).await?;
    pool.close().await;
    tracing::info!("inventory migrations applied");
    Ok(())
}

pub(crate) async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let database = db::DatabaseSettings::from_env(&Env::process(), DATABASE)?;
    let pool = db::connect(&database, true).await?;
    store::migrate(&pool).await?;
    let today = domain::today_seoul(chrono::Utc::now());
    let report = inventory::seed_demo(&pool, args.clinics_per_district, args.days, today).await?;
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

pub(crate) async fn resize_slot(args: ResizeArgs) -> anyhow::Result<()> {
    let ResizeArgs { slot, capacity } = args;
    let env = Env::process();
    let pool = db::connect(&db::DatabaseSettings::from_env(&env, DATABASE)?, false).await?;
    let cache = Cache::new(cache_settings(&env)?, &Metrics::new("inventory"))?;
    let catalogue = Catalogue::new(CatalogStore::new(pool.clone()), cache);
    let resized = catalogue.resize_slot(slot, capacity).await.map_err(|e| anyhow!("{e}"))?;
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Command>, clap::Error> {
        Cli::try_parse_from(std::iter::once("yeyak-inventory").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn the_commands_and_their_defaults() {
        Cli::command().debug_assert();
        assert!(parse(&[]).unwrap().is_none(), "no command serves");
        assert!(matches!(parse(&["serve"]).unwrap(), Some(Command::Serve)));
        let Some(Command::Seed(seed)) = parse(&["seed"]).unwrap() else { panic!("seed") };
        assert_eq!((seed.clinics_per_district, seed.days), (FULL_SCALE_CLINICS_PER_DISTRICT, FULL_SCALE_DAYS));
        let Some(Command::Seed(seed)) = parse(&["seed", "--clinics-per-district", "10", "--days", "14"]).unwrap() else { panic!("seed") };
        assert_eq!((seed.clinics_per_district, seed.days), (10, 14));
        let id = uuid::Uuid::from_u128(7);
        let Some(Command::ResizeSlot(r)) = parse(&["resize-slot", "--slot", &id.to_string(), "--capacity", "4"]).unwrap() else {
            panic!("resize-slot")
        };
        assert_eq!((r.slot, r.capacity), (id, 4));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &["seed", "--days", "0"][..],
            &["seed", "--days", "367"],
            &["seed", "--clinics-per-district", "0"],
            &["seed", "--days", "many"],
            &["resize-slot", "--slot", "slot-1", "--capacity", "4"],
            &["resize-slot", "--capacity", "4"],
            &["resize-slot", "--slot", "00000000-0000-0000-0000-000000000007"],
            &["resize"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
