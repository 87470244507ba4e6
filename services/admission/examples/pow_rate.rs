//! What stuffing the pre-opening lottery costs an attacker, with this
//! deployment's settings (`docs/stuffing.md`). Not a test: a measurement.
//!
//! ```sh
//! cargo run --release -p admission --example pow_rate             # defaults
//! YEYAK_JOIN_POW_BITS='*=20' cargo run --release -p admission --example pow_rate -- 1000000 1000 60 4
//! #                                                      pool size, top places, pre-opening minutes, replicas
//! ```
//!
//! It measures, on one core of this machine, the raw SHA-256 rate on an input
//! of the proof's size (the floor: no client can hash faster with this code)
//! and the rate of proof attempts (`domain::proof::meets`), then times real
//! solves; and it computes how many lottery entries give a 50 % chance of one
//! of the top places, and what the join limits and the proof of work make
//! those entries cost.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use admission::{config::Config, domain::proof};
use sha2::{Digest as _, Sha256};
use yeyak_platform::config::Env;

fn arg(i: usize, default: f64) -> f64 {
    std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// Hashes per second of `f` over about `for_how_long`.
fn rate(for_how_long: Duration, mut f: impl FnMut(u64) -> bool) -> f64 {
    let (start, mut n, mut hits) = (Instant::now(), 0u64, 0u64);
    while start.elapsed() < for_how_long {
        for _ in 0..10_000 {
            hits += u64::from(f(n));
            n += 1;
        }
    }
    std::hint::black_box(hits);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Resident memory of the per-client limiter per remembered key: 1 M keys
/// as the guard keys them (16 bytes of SHA-256), RSS before and after.
fn limiter_memory() {
    use governor::{Quota, RateLimiter};
    let rss = || {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm.split_whitespace().nth(1).and_then(|p| p.parse::<f64>().ok()).unwrap_or(0.0) * 4096.0
    };
    let keys = 1_000_000u32;
    let before = rss();
    let limiter = RateLimiter::keyed(Quota::per_minute(std::num::NonZeroU32::new(3).unwrap()));
    for i in 0..keys {
        let key: [u8; 16] = Sha256::digest(i.to_be_bytes())[..16].try_into().unwrap();
        let _ = limiter.check_key(&key);
    }
    let after = rss();
    println!("join limiter: {} keys remembered, {:.0} bytes of RSS per key", limiter.len(), (after - before) / f64::from(keys));
}

/// Fewest entries `m` with P(at least one of them among the top `top` of a
/// pool of `pool` honest entries plus `m`) >= 1/2, places drawn uniformly.
fn entries_for_even_odds(pool: f64, top: f64) -> f64 {
    let chance = |m: f64| 1.0 - (1.0 - top / (pool + m)).powf(m);
    let (mut lo, mut hi) = (1.0_f64, pool * 10.0);
    while hi - lo > 0.5 {
        let mid = ((lo + hi) / 2.0).floor();
        if chance(mid) >= 0.5 {
            hi = mid;
        } else {
            lo = mid + 1.0;
        }
    }
    hi.ceil()
}

fn main() {
    let (pool, top, minutes, replicas) = (arg(1, 1_000_000.0), arg(2, 1_000.0), arg(3, 60.0), arg(4, 1.0));
    let config = Config::from_env(&Env::process()).expect("configuration");
    let bits = config.proof_bits.values().copied().max().unwrap_or(0);
    let (client, source) = (config.join.per_client, config.join.per_source);
    let challenge = "v1.t1.eyJxIjoiZGVtbyIsImQiOjIwLCJuIjoiMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYiLCJpYXQiOjAsImV4cCI6MH0.sig";
    let key = "client-0123456789abcdef";

    // The floor: SHA-256 of an input as long as a proof attempt's.
    let mut input = vec![0u8; 17 + 4 + challenge.len() + 4 + key.len() + 8];
    let floor = rate(Duration::from_secs(2), |n| {
        input[..8].copy_from_slice(&n.to_be_bytes());
        Sha256::digest(&input)[0] == 0
    });
    let attempts = rate(Duration::from_secs(2), |n| proof::meets(challenge, key, n, 8));
    println!("one core: raw SHA-256 {floor:.0}/s (floor), proof attempts {attempts:.0}/s ({:.2} of the floor)", attempts / floor);

    // Real solves at a few difficulties: the mean matches 2^bits / rate.
    for d in [12u8, 16, 18] {
        let (start, solves) = (Instant::now(), 16);
        for i in 0..solves {
            std::hint::black_box(proof::solve(&format!("{challenge}{i}"), key, d));
        }
        let mean = start.elapsed().as_secs_f64() / f64::from(solves);
        println!("  {d} bits: {mean:.4} s per solve measured ({solves} solves), {:.4} s expected", 2f64.powi(d.into()) / attempts);
    }

    limiter_memory();

    let m = entries_for_even_odds(pool, top);
    let per = |burst: u32, per_minute: u32| (f64::from(burst) + f64::from(per_minute) * minutes) * replicas;
    let (per_key, per_address) = (per(client.burst, client.per_minute), per(source.burst, source.per_minute));
    let cpu = m * 2f64.powi(bits.into()) / attempts;
    println!("\npool {pool:.0} honest entries, top {top:.0} places, {minutes:.0} min before the opening, {replicas:.0} replica(s)");
    println!("entries for a 50% chance of one top place: {m:.0} (p per entry = {:.2e})", top / (pool + m));
    println!("join limits: {per_key:.0} entries per client key, {per_address:.0} per address over the window");
    println!("  client keys needed: {:.0} (free: a client id is any random string)", (m / per_key).ceil());
    println!("  addresses needed:   {:.0} (IPv4 address or IPv6 /64)", (m / per_address).ceil());
    println!(
        "  time from one address at its sustained rate: {:.0} s",
        (m - f64::from(source.burst)).max(0.0) / (f64::from(source.per_minute.max(1)) / 60.0)
    );
    println!("proof of work at {bits} bits: {:.3} CPU s per entry (also what an honest join costs on this core; a phone is", cpu / m);
    println!("  several times slower), {cpu:.1} CPU s for {m:.0} entries");
}
