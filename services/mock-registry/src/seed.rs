//! Loading the synthetic population with `COPY people FROM STDIN` in
//! PostgreSQL's binary format.
//!
//! Rows are generated on blocking threads (one per core, each a share of the
//! index range) and streamed in chunks of a few MB while PostgreSQL ingests
//! the previous ones; the two indexes are dropped during the load and
//! rebuilt once at the end, which keeps the load linear in the population
//! size (random HMAC keys would otherwise make every insert a random B-tree
//! page write). The binary format spares PostgreSQL parsing dates and arrays
//! from text (about 40% of the COPY time), the "C" collation of the key
//! columns makes the index builds about three times faster, and the tables
//! are unlogged (see the migrations): 20 million people load in minutes.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::{Datelike as _, NaiveDate};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use yeyak_platform::Secret;

use yeyak_population::person;

/// Bytes per COPY message: big enough to amortise round trips, small
/// enough to keep memory flat at 20 million people.
const CHUNK_BYTES: usize = 4 << 20;
/// People per unit of work handed to a generator thread.
const BLOCK: u64 = 16_384;
/// Serialises concurrent seeders (several replicas starting at once).
const SEED_LOCK: i64 = 0x5965_7961_6b52_6567; // "YeyakReg"

const COPY_PEOPLE: &str = "COPY people (subject_id, rrn, name, birth_date, sex, region_code, insured, \
                           priority_groups, doses) FROM STDIN WITH (FORMAT binary)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedReport {
    pub count: u64,
    pub seed: u64,
    pub key_fingerprint: String,
    pub elapsed: Duration,
    /// Generating and COPYing the rows.
    pub copy_elapsed: Duration,
    /// Rebuilding the two unique indexes and ANALYZE.
    pub index_elapsed: Duration,
}

/// First 16 hex chars of SHA-256 of the key: enough to notice that the key
/// changed without storing anything that helps recover it.
pub fn key_fingerprint(hash_key: &Secret<String>) -> String {
    hex::encode(&Sha256::digest(hash_key.expose().as_bytes())[..8])
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
        "SET LOCAL maintenance_work_mem = '512MB'",
        "TRUNCATE people",
        "ALTER TABLE people DROP CONSTRAINT IF EXISTS people_pkey, DROP CONSTRAINT IF EXISTS people_rrn_key",
    ] {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8) as u64;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2 * threads as usize);
    let mac = Arc::new(SubjectMac::new(hash_key));
    let mut producers = Vec::new();
    for thread in 0..threads {
        let (tx, mac) = (tx.clone(), mac.clone());
        producers.push(tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
            let mut block = thread;
            while block * BLOCK < count {
                for index in block * BLOCK..((block + 1) * BLOCK).min(count) {
                    row(&mac, seed, index, &mut chunk);
                    if chunk.len() >= CHUNK_BYTES
                        && tx.blocking_send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096))).is_err()
                    {
                        return; // The loader failed; its error is reported there.
                    }
                }
                block += threads;
            }
            if !chunk.is_empty() {
                let _ = tx.blocking_send(chunk);
            }
        }));
    }
    drop(tx);
    let mut copy = conn.copy_in_raw(COPY_PEOPLE).await?;
    copy.send(BINARY_HEADER.to_vec()).await?;
    while let Some(chunk) = rx.recv().await {
        copy.send(chunk).await?;
    }
    for producer in producers {
        producer.await.context("population generator panicked")?;
    }
    copy.send((-1i16).to_be_bytes().to_vec()).await?;
    let copied = copy.finish().await?;
    anyhow::ensure!(copied == count, "COPY loaded {copied} rows, expected {count}");
    let copy_elapsed = started.elapsed();
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
    let elapsed = started.elapsed();
    Ok(SeedReport { count, seed, key_fingerprint, elapsed, copy_elapsed, index_elapsed: elapsed - copy_elapsed })
}

/// The subject id, HMAC-SHA256(key, rrn) truncated to 20 bytes in lowercase
/// hex, with the keyed state computed once (equal to
/// `yeyak_platform::pseudonym::subject_id`, about twice as fast per row).
pub struct SubjectMac(Hmac<Sha256>);

impl SubjectMac {
    pub fn new(key: &Secret<String>) -> Self {
        // HMAC accepts keys of any length.
        Self(Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length")))
    }

    /// Writes the 40 hex characters of `rrn`'s subject id into `out`.
    pub fn write_hex(&self, rrn: &str, out: &mut [u8; 40]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.0.clone();
        mac.update(rrn.as_bytes());
        let digest = mac.finalize().into_bytes();
        for (i, b) in digest.iter().take(20).enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
    }
}

/// "PGCOPY\n\xff\r\n\0", no flags, no header extension.
const BINARY_HEADER: [u8; 19] = *b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Element type OIDs of the two array columns.
const TEXT_OID: i32 = 25;
const DATE_OID: i32 = 1082;

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Days since 2000-01-01, PostgreSQL's binary date.
fn pg_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 730_120
}

/// A one-dimensional array without NULLs: ndim, has-null, element type,
/// then the dimension (length, lower bound 1) and the elements.
fn array(out: &mut Vec<u8>, oid: i32, elements: &[&[u8]]) {
    let body: usize = if elements.is_empty() { 12 } else { 20 + elements.iter().map(|e| 4 + e.len()).sum::<usize>() };
    out.extend_from_slice(&(body as i32).to_be_bytes());
    out.extend_from_slice(&i32::from(!elements.is_empty()).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&oid.to_be_bytes());
    if !elements.is_empty() {
        out.extend_from_slice(&(elements.len() as i32).to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
        for e in elements {
            field(out, e);
        }
    }
}

/// One row of the binary COPY stream.
fn row(mac: &SubjectMac, seed: u64, index: u64, out: &mut Vec<u8>) {
    let p = person(seed, index);
    let mut subject = [0u8; 40];
    mac.write_hex(p.rrn.expose(), &mut subject);
    out.extend_from_slice(&9i16.to_be_bytes());
    field(out, &subject);
    field(out, p.rrn.expose().as_bytes());
    field(out, p.name.as_bytes());
    field(out, &pg_date(p.birth_date).to_be_bytes());
    field(out, p.sex.code().as_bytes());
    field(out, p.region_code.as_bytes());
    field(out, &[u8::from(p.insured)]);
    let groups: Vec<&[u8]> = p.priority_groups.iter().map(|g| g.as_bytes()).collect();
    array(out, TEXT_OID, &groups);
    let doses: Vec<[u8; 4]> = p.doses.iter().map(|d| pg_date(*d).to_be_bytes()).collect();
    let doses: Vec<&[u8]> = doses.iter().map(<[u8; 4]>::as_slice).collect();
    array(out, DATE_OID, &doses);
}

#[cfg(test)]
mod tests;
