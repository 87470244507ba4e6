//! Where the machine's CPU went during a phase, read from `/proc` before and
//! after: this process (the services and the load generator), PostgreSQL,
//! RabbitMQ and Redis ([`CpuTimes`]), or this process and the PostgreSQL
//! backends of one database ([`DatabaseMeter`]). A figure that moves from run
//! to run is easier to trust when its cost per operation does not; and a
//! change meant to save work shows here even when the machine's noise hides
//! it in the rate. It does not depend on what else runs on the machine.
use std::{collections::HashMap, fs};

use sqlx::PgPool;

/// Kernel clock ticks per second on Linux (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The parts reported, by process name (`comm`); this process is "stack".
const PARTS: [(&str, &str); 3] = [("postgres", "PostgreSQL"), ("beam.smp", "RabbitMQ"), ("redis-server", "Redis")];

/// CPU ticks so far per part.
#[derive(Clone, Debug, Default)]
pub struct CpuTimes(HashMap<&'static str, u64>);

/// `utime + stime` of one process (all its threads), and its name.
pub fn ticks(pid: &str) -> Option<(String, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(") ")?;
    let name = head.split_once(" (")?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU seconds process `pid` has used so far (0 once it has ended).
pub fn seconds(pid: u32) -> f64 {
    ticks(&pid.to_string()).map_or(0.0, |(_, t)| t as f64 / TICKS_PER_SECOND)
}

/// What a PostgreSQL process works for, from its title: a service's
/// database (`yeyak_test_<tag>_<service>`), autovacuum, or the server's own
/// background work (WAL writer, checkpointer...).
fn postgres_role(pid: &str) -> &'static str {
    let title = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if title.contains("autovacuum") {
        return "autovacuum";
    }
    for service in ["reservation", "inventory", "notification", "registry"] {
        if title.contains(&format!("_{service} ")) {
            return service;
        }
    }
    "other"
}

impl CpuTimes {
    /// Now. Processes that ended since the last reading are not counted
    /// (PostgreSQL's backends live as long as the pools' connections).
    pub fn now() -> Self {
        let mut by_part = HashMap::new();
        let me = std::process::id().to_string();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Some((name, t)) = ticks(&pid) else { continue };
            let part = if pid == me { Some("stack") } else { PARTS.iter().find(|(comm, _)| *comm == name).map(|(_, part)| *part) };
            if let Some(part) = part {
                *by_part.entry(part).or_insert(0) += t;
            }
            if part == Some("PostgreSQL") {
                *by_part.entry(postgres_role(&pid)).or_insert(0) += t;
            }
        }
        Self(by_part)
    }

    /// One line: CPU milliseconds per operation for each part, since `before`.
    pub fn per_operation(&self, before: &CpuTimes, operations: u64) -> String {
        let ops = operations.max(1) as f64;
        let ms = |part: &str| {
            let d = self.0.get(part).copied().unwrap_or(0).saturating_sub(before.0.get(part).copied().unwrap_or(0));
            d as f64 / TICKS_PER_SECOND * 1000.0 / ops
        };
        let parts = ["stack", "PostgreSQL", "RabbitMQ", "Redis"];
        let total: f64 = parts.iter().map(|p| ms(p)).sum();
        let each: Vec<String> = parts.iter().map(|p| format!("{p} {:.2}", ms(p))).collect();
        let pg = ["reservation", "inventory", "notification", "registry", "autovacuum", "other"];
        let pg: Vec<String> = pg.iter().map(|p| format!("{p} {:.2}", ms(p))).collect();
        format!("CPU ms per booking: {} = {total:.2} (PostgreSQL: {})", each.join(", "), pg.join(", "))
    }
}

/// CPU used by this process and by the PostgreSQL backends serving one
/// database, since [`DatabaseMeter::start`]. Backends that connect during the
/// phase count from zero; the pool under test must outlive [`DatabaseMeter::stop`].
pub struct DatabaseMeter {
    database: String,
    start: Vec<(u32, f64)>,
}

impl DatabaseMeter {
    async fn backends(pool: &PgPool, database: &str) -> Vec<u32> {
        sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE datname = $1")
            .bind(database)
            .fetch_all(pool)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect()
    }

    /// `pool` only lists the backends; any pool on the same server will do.
    pub async fn start(pool: &PgPool, database: &str) -> Self {
        let mut pids = Self::backends(pool, database).await;
        pids.push(std::process::id());
        Self { database: database.to_owned(), start: pids.into_iter().map(|p| (p, seconds(p))).collect() }
    }

    /// (this process, PostgreSQL) CPU seconds since `start`.
    pub async fn stop(self, pool: &PgPool) -> (f64, f64) {
        let me = std::process::id();
        let mut pids = Self::backends(pool, &self.database).await;
        pids.extend(self.start.iter().map(|(p, _)| *p).filter(|p| *p != me));
        pids.sort_unstable();
        pids.dedup();
        let before = |pid: u32| self.start.iter().find(|(p, _)| *p == pid).map_or(0.0, |(_, c)| *c);
        let mine = seconds(me) - before(me);
        let pg = pids.iter().filter(|p| **p != me).map(|p| (seconds(*p) - before(*p)).max(0.0)).sum();
        (mine, pg)
    }
}
