//! The batcher's own tests: batching, forgeries found by halving, a drain
//! task that dies with its runtime, and batched answers equal to single
//! ones on the edge cases of Ed25519 ([`vectors`]).
use ed25519_zebra::SigningKey;

use super::*;
use crate::tokens::sig::{screen, verify_one, Screened};

mod vectors;

fn key(seed: u8) -> SigningKey {
    SigningKey::from([seed; 32])
}

fn signed(k: &SigningKey, message: &[u8]) -> Screened {
    screen(&k.sign(message).to_bytes()).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_signatures_are_checked_together_and_a_forgery_fails_alone() {
    let batcher = SignatureBatcher::default();
    let (a, b, forger) = (key(1), key(2), key(3));
    let mut calls = Vec::new();
    for i in 0..64u32 {
        let message = format!("token {i}").into_bytes();
        // Every 32nd signature is made with a key other than the one it claims.
        let (claimed, signer) = match i % 32 {
            0 => (a.verification_key(), &forger),
            n if n % 2 == 0 => (a.verification_key(), &a),
            _ => (b.verification_key(), &b),
        };
        let signature = signed(signer, &message);
        let batcher = batcher.clone();
        calls.push(tokio::spawn(async move { (i, batcher.verify(claimed, &message, signature).await) }));
    }
    for call in calls {
        let (i, good) = call.await.unwrap();
        assert_eq!(good, i % 32 != 0, "signature {i}");
    }
    // The first batch takes 32 with one forgery: it fails once and is
    // halved down to the forgery (2 checks per level, 5 levels) instead of
    // 32 single checks; the rest go in smaller batches (see `size`).
    assert_eq!(batcher.signatures(), 64);
    assert!(batcher.batches() <= 6, "{} batches", batcher.batches());
    assert!(batcher.checks() < 40, "{} checks for 64 signatures", batcher.checks());
    assert_eq!(batcher.checks(), 2 * (1 + 2 * 5));
}

#[test]
fn halving_finds_every_bad_signature_and_counts_its_checks() {
    let (a, forger) = (key(1), key(9));
    let item = |i: usize, bad: bool| {
        let message = [i as u8; 40];
        let signer = if bad { &forger } else { &a };
        Item::from((VerificationKeyBytes::from(a.verification_key()), signer.sign(&message), &message[..]))
    };
    for bad in [vec![], vec![0], vec![7], vec![3, 4, 12], (0..16).collect::<Vec<_>>()] {
        let items: Vec<Item> = (0..16).map(|i| item(i, bad.contains(&i))).collect();
        let mut checks = 0;
        let answers = verify_each(&items, &mut checks);
        assert_eq!(answers, (0..16).map(|i| !bad.contains(&i)).collect::<Vec<_>>(), "bad {bad:?}");
        if bad.is_empty() {
            assert_eq!(checks, 1);
        }
        if bad.len() == 1 {
            assert_eq!(checks, 1 + 2 * 4, "one forgery among 16: four levels of halves");
        }
    }
}

/// One batcher serves several runtimes (tests; the process's shared one):
/// a runtime that stops with its drain task unfinished must not strand
/// another runtime's callers.
#[test]
fn callers_are_answered_when_the_drain_task_dies_with_its_runtime() {
    let batcher = SignatureBatcher::default();
    let k = key(5);
    let signature = signed(&k, b"stranded");
    // A runtime's drain task is still between batches when the runtime stops.
    let first = tokio::runtime::Builder::new_current_thread().build().unwrap();
    first.block_on(async {
        let (batcher, vk) = (batcher.clone(), k.verification_key());
        tokio::spawn(async move { batcher.verify(vk, b"stranded", signature).await });
        tokio::task::yield_now().await;
    });
    assert!(batcher.queue.lock().draining, "the drain task had not finished");
    drop(first);
    // Another runtime's caller is answered: the dead drain task left no
    // `draining` flag behind.
    let second = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let answered = second.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(5), batcher.verify(k.verification_key(), b"stranded", signature)).await
    });
    assert_eq!(answered, Ok(true));
}

#[tokio::test(flavor = "current_thread")]
async fn a_lone_signature_is_checked_alone() {
    let batcher = SignatureBatcher::default();
    let k = key(4);
    let signature = signed(&k, b"alone");
    assert!(batcher.verify(k.verification_key(), b"alone", signature).await);
    assert!(!batcher.verify(k.verification_key(), b"altered", signature).await);
    assert!(!batcher.verify_alone(k.verification_key(), b"altered", signature));
    assert!(verify_one(&k.verification_key(), b"alone", &signature.signature()));
    assert_eq!(batcher.checks(), 3);
}
