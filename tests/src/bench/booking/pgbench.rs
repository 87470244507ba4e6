//! The floor: `pgbench -b tpcb-like` on a scratch database of the same
//! PostgreSQL, the standard measure of what this server commits per second.
use std::process::Command;

use anyhow::{bail, Context as _};
use uuid::Uuid;

fn binary() -> anyhow::Result<String> {
    if let Ok(out) = Command::new("which").arg("pgbench").output() {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !path.is_empty() {
            return Ok(path);
        }
    }
    // Debian keeps it beside the server, off PATH.
    let mut found: Vec<_> =
        std::fs::read_dir("/usr/lib/postgresql")?.flatten().map(|e| e.path().join("bin/pgbench")).filter(|p| p.exists()).collect();
    found.sort();
    found.pop().map(|p| p.display().to_string()).context("pgbench not found")
}

fn run(bin: &str, db: &str, clients: u64, seconds: u64) -> anyhow::Result<f64> {
    let init = Command::new(bin).args(["-h", "127.0.0.1", "-U", "postgres", "-i", "-q", "-s", "10", db]).output()?;
    if !init.status.success() {
        bail!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let (clients, seconds) = (clients.to_string(), seconds.to_string());
    let args = ["-h", "127.0.0.1", "-U", "postgres", "-b", "tpcb-like", "-c", &clients, "-j", "2", "-T", &seconds, db];
    let out = Command::new(bin).args(args).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench output: {text}"))
}

/// TPS of `pgbench -b tpcb-like -s 10 -c clients -j 2 -T seconds`; the
/// scratch database is dropped whatever happens.
pub fn tpcb_like(clients: u64, seconds: u64) -> anyhow::Result<f64> {
    let bin = binary()?;
    let db = format!("yeyak_bench_pgbench_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let psql = |sql: &str| Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql]).status();
    if !psql(&format!("CREATE DATABASE {db}"))?.success() {
        bail!("could not create {db}");
    }
    let result = run(&bin, &db, clients, seconds);
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    result
}
