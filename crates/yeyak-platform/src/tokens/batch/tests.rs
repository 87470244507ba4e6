//! The batcher's own tests: batching, forgeries failing alone, a drain task
//! that dies with its runtime.
use ed25519_dalek::{Signer as _, SigningKey};

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_signatures_are_checked_together_and_a_forgery_fails_alone() {
    let batcher = SignatureBatcher::default();
    let (a, b, forger) = (key(1), key(2), key(3));
    let mut calls = Vec::new();
    for i in 0..64u32 {
        let message = format!("token {i}").into_bytes();
        // Every eighth signature is made with a key other than the one it claims.
        let (claimed, signer) = match i % 8 {
            0 => (a.verifying_key(), &forger),
            n if n % 2 == 0 => (a.verifying_key(), &a),
            _ => (b.verifying_key(), &b),
        };
        let signature = signer.sign(&message);
        let batcher = batcher.clone();
        calls.push(tokio::spawn(async move { (i, batcher.verify(claimed, &message, signature).await) }));
    }
    for call in calls {
        let (i, good) = call.await.unwrap();
        assert_eq!(good, i % 8 != 0, "signature {i}");
    }
    // All 64 were queued before the drain task first ran: two batches of 32.
    assert_eq!(batcher.checks(), 2);
}

/// One batcher serves several runtimes (tests; the process's shared one):
/// a runtime that stops with its drain task unfinished must not strand
/// another runtime's callers.
#[test]
fn callers_are_answered_when_the_drain_task_dies_with_its_runtime() {
    let batcher = SignatureBatcher::default();
    let k = key(5);
    let signature = k.sign(b"stranded");
    // A runtime's drain task is still between batches when the runtime stops.
    let first = tokio::runtime::Builder::new_current_thread().build().unwrap();
    first.block_on(async {
        let (batcher, vk) = (batcher.clone(), k.verifying_key());
        tokio::spawn(async move { batcher.verify(vk, b"stranded", signature).await });
        tokio::task::yield_now().await;
    });
    assert!(batcher.queue.lock().draining, "the drain task had not finished");
    drop(first);
    // Another runtime's caller is answered: the dead drain task left no
    // `draining` flag behind.
    let second = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let answered = second.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(5), batcher.verify(k.verifying_key(), b"stranded", signature)).await
    });
    assert_eq!(answered, Ok(true));
}

#[tokio::test(flavor = "current_thread")]
async fn a_lone_signature_is_checked_alone() {
    let batcher = SignatureBatcher::default();
    let k = key(4);
    let signature = k.sign(b"alone");
    assert!(batcher.verify(k.verifying_key(), b"alone", signature).await);
    assert!(!batcher.verify(k.verifying_key(), b"altered", signature).await);
    assert_eq!(batcher.checks(), 2);
}
