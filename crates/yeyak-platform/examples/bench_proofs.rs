//! The cost of device proofs per protected call.
//!
//! ```sh
//! cargo run --release -p yeyak-platform --example bench_proofs -- [--calls 100000] [--people 2000] [--rounds 3]
//! ```
//!
//! `people` passes are minted and verified once (remembered, as they are
//! after a person's first call), then `concurrency` tasks on a 2-worker
//! runtime push `calls` calls through the server's check (`verify_headers`,
//! as the pass layer runs it), people taken in turn:
//!
//! 1. **unbound** (the floor): passes without `cnf`, no proof;
//! 2. **bound, batched**: passes bound to each person's device key, each
//!    call with its own proof (signed before the clock starts), proofs'
//!    signatures checked in batches as the servers do;
//! 3. **bound, alone**: the same with batching off.
//!
//! The figure is calls per second; the cost of a proof is the CPU time per
//! call beyond the floor's (2 workers busy: 2 s of CPU per second).
use std::{sync::Arc, time::Instant};

use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    tokens::{
        self, client_binding,
        dpop::{DeviceKey, PROOF_HEADER},
        suspects::Suspects,
        AdmissionPass, Confirmation, Issuer, KeyRing, SignatureBatcher, SigningKey,
    },
};

const METHOD: &str = "/yeyak.inventory.v1.InventoryService/SearchClinics";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn headers(token: &str, client: &str, proof: Option<String>) -> tonic::codegen::http::HeaderMap {
    let mut h = tonic::codegen::http::HeaderMap::new();
    h.insert(PASS_HEADER, token.parse().expect("ascii"));
    h.insert(CLIENT_ID_HEADER, client.parse().expect("ascii"));
    if let Some(p) = proof {
        h.insert(PROOF_HEADER, p.parse().expect("ascii"));
    }
    h
}

type Person = (String, String, DeviceKey);

/// `people` passes with their client ids and device keys.
fn persons(key: &SigningKey, people: usize, bound: bool) -> Vec<Person> {
    let now = chrono::Utc::now().timestamp();
    (0..people)
        .map(|i| {
            let (client, device) = (format!("person-{i:08}"), DeviceKey::generate());
            let cnf = bound.then(|| Confirmation { jkt: device.thumbprint().into() });
            let pass = AdmissionPass {
                queue_id: "bench".into(),
                place: i as u64,
                client_binding: client_binding(&client),
                session_id: format!("{i:032x}"),
                cnf,
                issued_at: now,
                expires_at: now + 3_600,
            };
            (tokens::sign(key, &pass), client, device)
        })
        .collect()
}

/// `n` calls, people in turn; bound passes get a fresh proof each.
fn calls(persons: &[Person], n: usize, bound: bool) -> Vec<tonic::codegen::http::HeaderMap> {
    let now = chrono::Utc::now().timestamp();
    (0..n)
        .map(|i| {
            let (pass, client, device) = &persons[i % persons.len()];
            headers(pass, client, bound.then(|| device.proof(METHOD, Some(pass), now)))
        })
        .collect()
}

/// Calls per second through `verifier`, which has seen every pass once.
async fn run(verifier: PassVerifier, calls: Arc<Vec<tonic::codegen::http::HeaderMap>>, concurrency: usize) -> f64 {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (verifier, calls, next) = (verifier.clone(), calls.clone(), next.clone());
            tokio::spawn(async move {
                let now = chrono::Utc::now().timestamp();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(h) = calls.get(i) else { return };
                    let checked = verifier.verify_headers(h, METHOD, now).await;
                    assert!(checked.is_ok(), "call {i}: {checked:?}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a verifier task");
    }
    calls.len() as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let (n, people, rounds) = (arg("--calls", 100_000), arg("--people", 2_000), arg("--rounds", 3));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let key = SigningKey::generate(Issuer::Admission, "bench");
    let ring = KeyRing::parse(&key.trusted_entry()).expect("ring");
    let phases: [(&str, bool, usize); 3] = [
        ("unbound passes (floor)", false, tokens::batch::MAX_BATCH),
        ("bound, proofs batched", true, tokens::batch::MAX_BATCH),
        ("bound, proofs alone", true, 1),
    ];
    let mut figures = vec![Vec::new(); phases.len()];
    for round in 0..rounds {
        for (p, (name, bound, batch)) in phases.iter().enumerate() {
            let verifier = PassVerifier::new(ring.clone(), ["bench".to_string()])
                .with_batcher(SignatureBatcher::with_max_batch(*batch), Suspects::new(16_384, 5_000));
            // Every pass seen once (its own proof), then the measured calls.
            let persons = persons(&key, people, *bound);
            let warm = Arc::new(calls(&persons, people, *bound));
            let measured = Arc::new(calls(&persons, n, *bound));
            runtime.block_on(run(verifier.clone(), warm, 64));
            let rate = runtime.block_on(run(verifier, measured, 64));
            println!("round {round}: {name}: {rate:.0} calls/s");
            figures[p].push(rate);
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let floor = median(&figures[0]);
    println!("\n| phase | calls/s (median) | ratio to floor | CPU per call beyond the floor |\n|---|---|---|---|");
    for (p, (name, _, _)) in phases.iter().enumerate() {
        let rate = median(&figures[p]);
        let extra_us = 2e6 / rate - 2e6 / floor;
        println!("| {name} | {rate:.0} | {:.2} | {extra_us:.1} µs |", rate / floor);
    }
}
