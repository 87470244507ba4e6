//! The proof of work a queue may ask of every new entry (hashcash-style).
//!
//! The server hands out a signed, short-lived challenge; the client finds a
//! counter such that `SHA-256("yeyak-join-pow/v1" ‖ len ‖ challenge ‖ len ‖
//! client key ‖ counter)` starts with `bits` zero bits, which takes `2^bits`
//! hashes on average and one hash to check. The client key is inside the
//! hash, so a solution found for one client id is worth nothing to another,
//! and the challenge is inside it, so nobody can solve ahead of time.
//!
//! Public: clients (the tests, the demo, a front end's reference) solve with
//! [`solve`]; the server checks with [`meets`].
use sha2::{Digest as _, Sha256};

/// The most a queue may ask for: 2^32 hashes is minutes on a phone.
pub const MAX_BITS: u8 = 32;

/// The hash of one attempt. Lengths are prefixed so that no two (challenge,
/// key) pairs hash the same bytes.
pub fn digest(challenge: &str, client_key: &str, counter: u64) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"yeyak-join-pow/v1")
        .chain_update((challenge.len() as u32).to_be_bytes())
        .chain_update(challenge.as_bytes())
        .chain_update((client_key.len() as u32).to_be_bytes())
        .chain_update(client_key.as_bytes())
        .chain_update(counter.to_be_bytes())
        .finalize()
        .into()
}

/// Leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `counter` solves `challenge` for `client_key` at `bits`: one hash.
pub fn meets(challenge: &str, client_key: &str, counter: u64, bits: u8) -> bool {
    leading_zero_bits(&digest(challenge, client_key, counter)) >= u32::from(bits)
}

/// The client's side: the first counter that solves the challenge (about
/// `2^bits` hashes). `bits` 0 is solved by any counter.
pub fn solve(challenge: &str, client_key: &str, bits: u8) -> u64 {
    (0..=u64::MAX).find(|&counter| meets(challenge, client_key, counter, bits)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leading_zero_bits() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x10]), 11);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn a_solution_is_bound_to_its_challenge_and_client() {
        let counter = solve("challenge-a", "client-0000000000000001", 12);
        assert!(meets("challenge-a", "client-0000000000000001", counter, 12));
        // The same work for another client or challenge is worthless (each
        // would pass by chance with probability 2^-12; these inputs do not).
        assert!(!meets("challenge-a", "client-0000000000000002", counter, 12));
        assert!(!meets("challenge-b", "client-0000000000000001", counter, 12));
        assert!(meets("anything", "anyone", 7, 0));
    }
}
