//! Pass verification under forged traffic.
//!
//! ```sh
//! cargo run --release -p yeyak-platform --example bench_tokens -- [--passes 40000] [--concurrency 64] [--rounds 3]
//! ```
//!
//! Mints `passes` valid passes (one per client) before the clock starts,
//! then has `concurrency` tasks on the process's 2-worker runtime push every
//! pass through a fresh `PassVerifier` (the server's batched check, no pass
//! remembered yet: the first-call surge of an opening) and times how long
//! the valid ones take:
//!
//! 1. **clean** (the floor): valid passes only;
//! 2. **5 % forged, bots**: one forged pass (a real key id, a well-formed
//!    signature by another key) after every 19 valid ones, sent by 100 bot
//!    client ids in turn;
//! 3. **5 % forged, fresh ids**: the same, each forgery from a client id
//!    never seen before, so no memory of failures helps;
//! 4. **5 % forged, bots, no forgery window**: phase 2 with the window off,
//!    halving alone.
//!
//! Rounds alternate the phases; the figure is valid passes per second, and
//! each forged phase's ratio to the clean one of the same round (median).
use std::{sync::Arc, time::Instant};

use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    tokens::{self, client_binding, suspects::Suspects, AdmissionPass, Issuer, KeyRing, SignatureBatcher, SigningKey},
};

struct Call {
    headers: tonic::codegen::http::HeaderMap,
    valid: bool,
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pass(client: &str, place: u64) -> AdmissionPass {
    let now = chrono::Utc::now().timestamp();
    AdmissionPass {
        queue_id: "bench".into(),
        place,
        client_binding: client_binding(client),
        session_id: format!("{place:032x}"),
        cnf: None,
        issued_at: now,
        expires_at: now + 3_600,
    }
}

fn call(token: &str, client: &str, valid: bool) -> Call {
    let mut headers = tonic::codegen::http::HeaderMap::new();
    headers.insert(PASS_HEADER, token.parse().expect("ascii"));
    headers.insert(CLIENT_ID_HEADER, client.parse().expect("ascii"));
    Call { headers, valid }
}

/// The calls of one phase: every 20th forged when `forged` says how.
fn calls(key: &SigningKey, forger: &SigningKey, n: usize, forged: Option<bool>) -> Vec<Call> {
    let mut out = Vec::with_capacity(n + n / 19);
    for i in 0..n {
        let client = format!("person-{i}");
        out.push(call(&tokens::sign(key, &pass(&client, i as u64)), &client, true));
        if let (Some(fresh_ids), true) = (forged, i % 19 == 18) {
            let bot = if fresh_ids { format!("fresh-{i}") } else { format!("bot-{}", i % 100) };
            out.push(call(&tokens::sign(forger, &pass(&bot, 1)), &bot, false));
        }
    }
    out
}

/// Valid passes verified per second by `concurrency` tasks.
async fn run(verifier: PassVerifier, calls: Arc<Vec<Call>>, concurrency: usize) -> f64 {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (verifier, calls, next) = (verifier.clone(), calls.clone(), next.clone());
            tokio::spawn(async move {
                let now = chrono::Utc::now().timestamp();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(c) = calls.get(i) else { return };
                    let ok = verifier.verify_headers(&c.headers, "/bench/Call", now).await.is_ok();
                    assert_eq!(ok, c.valid, "call {i}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a verifier task");
    }
    calls.iter().filter(|c| c.valid).count() as f64 / started.elapsed().as_secs_f64()
}

/// The cost of one signature alone and in batches of 32, on the same tokens.
fn signature_costs(key: &SigningKey, ring: &KeyRing) {
    let tokens: Vec<String> = (0..4_096u64).map(|i| tokens::sign(key, &pass(&format!("c{i}"), i))).collect();
    let parsed: Vec<(tokens::sig::VerificationKey, Vec<u8>, tokens::sig::Signature)> = tokens
        .iter()
        .map(|t| {
            let (input, sig) = t.rsplit_once('.').expect("a JWS");
            let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).expect("base64");
            let kid = tokens::jws::key_id(t).expect("kid");
            (ring.get(&kid).expect("key").1, input.as_bytes().to_vec(), tokens::sig::screen(&sig).expect("screened").signature())
        })
        .collect();
    let started = Instant::now();
    for (k, m, s) in &parsed {
        assert!(tokens::sig::verify_one(k, m, s));
    }
    let single = started.elapsed().as_secs_f64() * 1e6 / parsed.len() as f64;
    let items: Vec<tokens::batch::Item> =
        parsed.iter().map(|(k, m, s)| tokens::batch::Item::from((tokens::sig::VerificationKeyBytes::from(*k), *s, &m[..]))).collect();
    let started = Instant::now();
    for chunk in items.chunks(32) {
        assert!(tokens::batch::all_valid(chunk));
    }
    let batched = started.elapsed().as_secs_f64() * 1e6 / items.len() as f64;
    println!(
        "one signature alone: {single:.1} µs; in batches of 32 from one key: {batched:.1} µs per signature ({:.2} of alone)",
        batched / single
    );
}

fn main() {
    let (n, concurrency, rounds) = (arg("--passes", 40_000), arg("--concurrency", 64), arg("--rounds", 3));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let key = SigningKey::generate(Issuer::Admission, "bench");
    let forger = SigningKey::generate(Issuer::Admission, "bench");
    let ring = KeyRing::parse(&key.trusted_entry()).expect("ring");
    signature_costs(&key, &ring);
    let phases: [(&str, Option<bool>, i64); 4] = [
        ("clean (floor)", None, 5_000),
        ("5 % forged, 100 bots", Some(false), 5_000),
        ("5 % forged, fresh client ids", Some(true), 5_000),
        ("5 % forged, 100 bots, no forgery window", Some(false), 0),
    ];
    let prepared: Vec<Arc<Vec<Call>>> = phases.iter().map(|(_, forged, _)| Arc::new(calls(&key, &forger, n, *forged))).collect();
    let mut figures = vec![Vec::new(); phases.len()];
    for round in 0..rounds {
        for (p, (name, _, window)) in phases.iter().enumerate() {
            let verifier = PassVerifier::new(ring.clone(), ["bench".to_string()])
                .with_batcher(SignatureBatcher::with_max_batch(tokens::batch::MAX_BATCH), Suspects::new(16_384, *window));
            let rate = runtime.block_on(run(verifier, prepared[p].clone(), concurrency));
            println!("round {round}: {name}: {rate:.0} valid passes/s");
            figures[p].push(rate);
        }
    }
    println!("\n| phase | valid passes/s (median) | ratio to clean (median of rounds) |\n|---|---|---|");
    for (p, (name, _, _)) in phases.iter().enumerate() {
        let mut ratios: Vec<f64> = figures[p].iter().zip(&figures[0]).map(|(f, c)| f / c).collect();
        ratios.sort_by(f64::total_cmp);
        let mut rates = figures[p].clone();
        rates.sort_by(f64::total_cmp);
        println!("| {name} | {:.0} | {:.2} |", rates[rates.len() / 2], ratios[ratios.len() / 2]);
    }
}
