//! The joins' device proofs, made before the clock starts: each client its
//! own key (so the server's batches share no key, as in a real surge), on
//! every core. Their `iat` is set ahead so that the whole join phase falls
//! in the server's ±60 s window: it must finish within about 100 s of the
//! first proof being signed (at 10,000 joins/s or more for a million).
use std::time::Instant;

use yeyak_platform::tokens::dpop::DeviceKey;

const JOIN: &str = "/yeyak.admission.v1.AdmissionService/JoinQueue";
/// How far ahead of signing the proofs are dated.
const AHEAD_SECS: i64 = 55;

pub(super) fn join_proofs(joins: u64) -> Vec<String> {
    let started = Instant::now();
    let iat = chrono::Utc::now().timestamp() + AHEAD_SECS;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = (joins as usize).div_ceil(threads);
    let proofs: Vec<String> = std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let n = per_thread.min((joins as usize).saturating_sub(t * per_thread));
                scope.spawn(move || (0..n).map(|_| DeviceKey::generate().proof(JOIN, None, iat)).collect::<Vec<_>>())
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("a signing thread")).collect()
    });
    println!("{} device keys and join proofs made in {:.1} s (before the clock)", proofs.len(), started.elapsed().as_secs_f64());
    proofs
}
