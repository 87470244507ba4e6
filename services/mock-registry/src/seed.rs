//! Loading the synthetic population with `COPY people FROM STDIN`.
//!
//! Rows are generated on a blocking thread and streamed in chunks of a few
//! MB while PostgreSQL ingests the previous chunk; the two indexes are
//! dropped during the load and rebuilt once at the end, which keeps the
//! load linear in the population size (random HMAC keys would otherwise
//! make every insert a random B-tree page write).
use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use yeyak_platform::{pseudonym::subject_id, Secret};

use crate::population::person;

/// Bytes per COPY message: big enough to amortise round trips, small
/// enough to keep memory flat at 20 million people.
const CHUNK_BYTES: usize = 4 << 20;
/// Serialises concurrent seeders (several replicas starting at once).
const SEED_LOCK: i64 = 0x5965_7961_6b52_6567; // "YeyakReg"

const COPY_PEOPLE: &str = "COPY people (subject_id, rrn, name, birth_date, sex, region_code, insured, \
                           priority_groups, doses) FROM STDIN";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedReport {
    pub count: u64,
    pub seed: u64,
    pub key_fingerprint: String,
    pub elapsed: Duration,
}

/// First 16 hex chars of SHA-256 of the key: enough to notice that the key
/// changed without storing anything that helps recover it.
pub fn key_fingerprint(hash_key: &Secret<String>) -> String {
    Sha256::digest(hash_key.expose().as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Replaces the whole population with `count` people generated from `seed`.
pub async fn seed(pool: &PgPool, hash_key: &Secret<String>, seed: u64, count: u64) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEED_LOCK).execute(&mut *tx).await?;
    let report = load(&mut tx, hash_key, seed, count, started).await?;
    tx.commit().await?;
    tracing::info!(count, seed, elapsed_ms = report.elapsed.as_millis() as u64, "registry seeded");
    Ok(report)
}

/// Seeds unless the registry already holds exactly this population
/// (same count, seed and key fingerprint); `None` means nothing was done.
pub async fn ensure_seeded(pool: &PgPool, hash_key: &Secret<String>, seed: u64, count: u64) -> anyhow::Result<Option<SeedReport>> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEED_LOCK).execute(&mut *tx).await?;
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT key, value FROM registry_meta").fetch_all(&mut *tx).await?;
    let stored = |key: &str| rows.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.clone());
    let wanted = meta(hash_key, seed, count);
    if wanted.iter().all(|(key, value)| stored(key).as_deref() == Some(value.as_str())) {
        tracing::info!(count, seed, "registry already seeded");
        return Ok(None);
    }
    let report = load(&mut tx, hash_key, seed, count, started).await?;
    tx.commit().await?;
    tracing::info!(count, seed, elapsed_ms = report.elapsed.as_millis() as u64, "registry re-seeded");
    Ok(Some(report))
}

fn meta(hash_key: &Secret<String>, seed: u64, count: u64) -> [(&'static str, String); 3] {
    [("population_size", count.to_string()), ("generator_seed", seed.to_string()), ("subject_key_fingerprint", key_fingerprint(hash_key))]
}

/// Truncate, bulk load, rebuild indexes, record the meta; all in the
/// caller's transaction, so a failed load leaves the old population intact.
async fn load(conn: &mut PgConnection, hash_key: &Secret<String>, seed: u64, count: u64, started: Instant) -> anyhow::Result<SeedReport> {
    for statement in [
        "SET LOCAL maintenance_work_mem = '256MB'",
        "TRUNCATE people",
        "ALTER TABLE people DROP CONSTRAINT IF EXISTS people_pkey, DROP CONSTRAINT IF EXISTS people_rrn_key",
    ] {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let key = hash_key.clone();
    let producer = tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 1024);
        let mut line = String::with_capacity(256);
        for index in 0..count {
            line.clear();
            row(&key, seed, index, &mut line);
            chunk.extend_from_slice(line.as_bytes());
            if chunk.len() >= CHUNK_BYTES && tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
                return; // The loader failed; its error is reported there.
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
    });
    let mut copy = conn.copy_in_raw(COPY_PEOPLE).await?;
    while let Some(chunk) = rx.recv().await {
        copy.send(chunk).await?;
    }
    producer.await.context("population generator panicked")?;
    let copied = copy.finish().await?;
    anyhow::ensure!(copied == count, "COPY loaded {copied} rows, expected {count}");
    for statement in [
        "ALTER TABLE people ADD CONSTRAINT people_pkey PRIMARY KEY (subject_id), \
         ADD CONSTRAINT people_rrn_key UNIQUE (rrn)",
        "DELETE FROM registry_meta",
        "ANALYZE people",
    ] {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    let meta = meta(hash_key, seed, count);
    for (key, value) in &meta {
        sqlx::query("INSERT INTO registry_meta (key, value) VALUES ($1, $2)").bind(key).bind(value).execute(&mut *conn).await?;
    }
    let [_, _, (_, key_fingerprint)] = meta;
    Ok(SeedReport { count, seed, key_fingerprint, elapsed: started.elapsed() })
}

/// One COPY text-format line. Names, codes and dates never contain tabs,
/// newlines or backslashes, so no escaping is needed.
fn row(key: &Secret<String>, seed: u64, index: u64, out: &mut String) {
    let p = person(seed, index);
    let insured = if p.insured { 't' } else { 'f' };
    let _ = write!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{insured}\t{{{}}}\t{{",
        subject_id(key, &p.rrn),
        p.rrn.expose(),
        p.name,
        p.birth_date,
        p.sex.code(),
        p.region_code,
        p.priority_groups.join(","),
    );
    for (i, dose) in p.doses.iter().enumerate() {
        let _ = write!(out, "{}{dose}", if i > 0 { "," } else { "" });
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_copy_text_format() {
        let key = Secret::new("k".to_owned());
        let mut line = String::new();
        row(&key, 1, 3, &mut line);
        let p = person(1, 3);
        let fields: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 9, "{line}");
        assert_eq!(fields[0], subject_id(&key, &p.rrn));
        assert_eq!((fields[1], fields[3]), (p.rrn.expose(), p.birth_date.to_string().as_str()));
        assert!(fields[7].starts_with('{') && fields[8].ends_with('}'));
        assert_eq!(key_fingerprint(&key).len(), 16);
        assert_ne!(key_fingerprint(&key), key_fingerprint(&Secret::new("k2".to_owned())));
    }
}
