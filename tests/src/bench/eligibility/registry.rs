//! The registry's database: generated and loaded for the run (timed), its
//! primary-key SELECT as the floor, and the separate 20-million load test.
use std::sync::Arc;

use sqlx::PgPool;
use yeyak_platform::{
    db::{self, DatabaseSettings},
    Secret,
};

use super::{
    database, millions,
    transcript::{Measured, Transcript},
    Args, HASH_KEY, SEED,
};
use crate::bench::{
    args::ClosedLoop,
    closed_loop::{self, Load},
    cpu::DatabaseMeter,
};

/// How long `count` people took to generate and load, with `decimals`
/// digits of seconds (one for a million, none for twenty).
fn loaded(count: u64, report: &mock_registry::SeedReport, decimals: usize) -> String {
    let secs = |d: std::time::Duration| d.as_secs_f64();
    format!(
        "generate + load {} people: {:.*} s (COPY {:.*} s, indexes {:.*} s) = {:.0} people/s",
        millions(count),
        decimals,
        secs(report.elapsed),
        decimals,
        secs(report.copy_elapsed),
        decimals,
        secs(report.index_elapsed),
        count as f64 / secs(report.elapsed)
    )
}

/// The registry database of this run, with its synthetic population.
pub struct Registry {
    pub database: DatabaseSettings,
    /// Also lists the database's backends for [`DatabaseMeter`].
    pub pool: PgPool,
    pub population: u64,
}

impl Registry {
    /// Generates and loads `--people` into a fresh database (binary COPY), timed.
    pub async fn seed(args: &Args, tag: &str, out: &mut Transcript) -> anyhow::Result<Self> {
        let database = database(tag, "registry");
        let pool = mock_registry::connect_and_migrate(&database).await?;
        let population = args.people;
        let report = mock_registry::seed(&pool, &Secret::new(HASH_KEY.to_owned()), SEED, population).await?;
        out.note(loaded(population, &report, 1));
        Ok(Self { database, pool, population })
    }

    pub fn name(&self) -> String {
        self.database.database_name().unwrap_or_default()
    }

    /// The registry's primary-key SELECT through an sqlx pool like the
    /// registry's own, closed loop at the same concurrency: the least a
    /// lookup of a person can cost on this machine.
    pub async fn floor(&self, subjects: Arc<Vec<String>>, phases: &ClosedLoop, when: &str) -> anyhow::Result<Measured> {
        let floor_pool = db::connect(&self.database, false).await?;
        let meter = DatabaseMeter::start(&self.pool, &self.name()).await;
        let kept = floor_pool.clone(); // its backends must still exist when the meter stops
        let phase = closed_loop::run(Load::timed(phases.duration(), phases.concurrency), move |i| {
            let (pool, subjects) = (floor_pool.clone(), subjects.clone());
            async move {
                let id = &subjects[(i % subjects.len() as u64) as usize];
                mock_registry::routes::find_subject(&pool, id).await.is_ok_and(|s| s.is_some())
            }
        })
        .await;
        let cpu = meter.stop(&self.pool).await;
        kept.close().await;
        let label = format!("floor ({when}): registry primary-key SELECT, sqlx PgPool (16 connections)");
        Ok(Measured { label, phase, cpu, calls_per_item: 1 })
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        self.pool.close().await;
        Ok(db::drop_database(&self.database).await?)
    }
}

/// Generates and loads `count` people into another fresh database, timed,
/// and drops it; with fewer than 20 million, extrapolates to 20 million.
pub async fn load_test(count: u64, tag: &str, out: &mut Transcript) -> anyhow::Result<()> {
    let load_db = database(tag, "load");
    let load_pool = mock_registry::connect_and_migrate(&load_db).await?;
    let result = mock_registry::seed(&load_pool, &Secret::new(HASH_KEY.to_owned()), SEED, count).await;
    load_pool.close().await;
    db::drop_database(&load_db).await?;
    let report = result?;
    let rate = count as f64 / report.elapsed.as_secs_f64();
    out.keep(String::new());
    out.keep(loaded(count, &report, 0));
    if count < 20_000_000 {
        out.keep(format!(
            "extrapolated to 20 M at that rate: {:.0} s (index builds grow slightly faster than linearly)",
            20_000_000.0 / rate
        ));
    }
    out.print_last();
    Ok(())
}
