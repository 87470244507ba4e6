//! Which signatures of a batch are bad, found by halving.
//!
//! A batch that fails says only that one of its signatures is bad. Checking
//! every member alone then costs n single verifications (each about three
//! times a batched one), so one forged token among 32 made its whole batch
//! cost four times a clean one, and a trickle of garbage with a valid key id
//! made every batch of a surge fail that way. Halving a failed batch instead
//! finds one bad signature among n in about 2·log2(n) smaller batches, and
//! the halves that pass answer for all their members at once.
use ed25519_zebra::batch::{Item, Verifier};

/// Whether each item's signature is valid, in order. `checks` counts the
/// verifications done (batched or single), for the batcher's counters.
pub fn verify_each(items: &[Item], checks: &mut u64) -> Vec<bool> {
    let mut answers = vec![false; items.len()];
    settle(items, &mut answers, checks);
    answers
}

fn settle(items: &[Item], answers: &mut [bool], checks: &mut u64) {
    *checks += 1;
    match items {
        [] => {}
        [one] => answers[0] = one.clone().verify_single().is_ok(),
        _ => {
            if all_valid(items) {
                answers.fill(true);
                return;
            }
            let half = items.len() / 2;
            let (left, right) = answers.split_at_mut(half);
            settle(&items[..half], left, checks);
            settle(&items[half..], right, checks);
        }
    }
}

/// One batch equation over `items` (ZIP 215 rules, terms coalesced per key).
pub fn all_valid(items: &[Item]) -> bool {
    let mut batch = Verifier::new();
    for item in items {
        batch.queue(item.clone());
    }
    batch.verify(rand::thread_rng()).is_ok()
}
