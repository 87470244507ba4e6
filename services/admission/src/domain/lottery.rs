//! The pre-opening lottery. Everyone who joins before the opening is drawn
//! into a uniformly shuffled order at the opening, so hammering at the exact
//! second gains nothing. The shuffle is a keyed pseudo-random permutation of
//! `[0, n)`: a 4-round Feistel network (Luby–Rackoff) over the smallest
//! power-of-four domain that holds `n`, with cycle-walking back into `[0, n)`.
//! Each place is computed on its own in O(1) from (seed, n, arrival index),
//! so the server stores nothing per person, every replica computes the same
//! draw, and operators can recompute it from the published seed.
use sha2::{Digest as _, Sha256};

const ROUNDS: u8 = 4;

/// The place (0-based) drawn for the `k`-th pre-opening arrival out of `n`.
pub fn draw(seed: &[u8], n: u64, k: u64) -> u64 {
    assert!(k < n, "arrival index {k} outside a pool of {n}");
    let bits = domain_bits(n);
    let mut x = k;
    // Cycle-walking: the domain is at most 4n, so few steps are expected;
    // the walk always ends because the Feistel network is a bijection.
    loop {
        x = feistel(seed, bits, x);
        if x < n {
            return x;
        }
    }
}

/// Even number of bits, at least 2, with 2^bits >= n.
fn domain_bits(n: u64) -> u32 {
    let needed = 64 - (n.max(2) - 1).leading_zeros();
    (needed + needed % 2).max(2)
}

fn feistel(seed: &[u8], bits: u32, x: u64) -> u64 {
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let (mut left, mut right) = (x >> half, x & mask);
    for round in 0..ROUNDS {
        let f = round_function(seed, round, right) & mask;
        (left, right) = (right, left ^ f);
    }
    (left << half) | right
}

fn round_function(seed: &[u8], round: u8, value: u64) -> u64 {
    let digest = Sha256::new().chain_update(seed).chain_update([round]).chain_update(value.to_be_bytes()).finalize();
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_permutation(seed: &[u8], n: u64) -> bool {
        let mut seen = vec![false; n as usize];
        (0..n).all(|k| {
            let p = draw(seed, n, k) as usize;
            !std::mem::replace(&mut seen[p], true)
        })
    }

    #[test]
    fn every_arrival_gets_exactly_one_place() {
        for n in [1, 2, 3, 5, 16, 17, 1000, 4097, 20_011] {
            assert!(is_permutation(b"event-seed", n), "not a permutation for n={n}");
        }
    }

    #[test]
    fn the_draw_is_reproducible_and_depends_on_the_seed() {
        let a: Vec<u64> = (0..50).map(|k| draw(b"seed-a", 50, k)).collect();
        let again: Vec<u64> = (0..50).map(|k| draw(b"seed-a", 50, k)).collect();
        let b: Vec<u64> = (0..50).map(|k| draw(b"seed-b", 50, k)).collect();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>(), "arrival order is not kept");
    }

    #[test]
    fn early_arrivals_gain_nothing_on_average() {
        // The first tenth of arrivals should land all over the line, with a
        // mean place near the middle (uniform: 0.5 ± a few percent).
        let n = 40_000u64;
        let early: Vec<u64> = (0..n / 10).map(|k| draw(b"opening-night", n, k)).collect();
        let mean = early.iter().sum::<u64>() as f64 / early.len() as f64 / n as f64;
        assert!((0.47..0.53).contains(&mean), "mean relative place of early arrivals: {mean}");
        let in_first_decile = early.iter().filter(|p| **p < n / 10).count() as f64 / early.len() as f64;
        assert!((0.08..0.12).contains(&in_first_decile), "share of early arrivals in the first decile: {in_first_decile}");
    }
}
