//! Everything the benchmark programs (`src/bin/bench_*.rs`) run, so each
//! program's `main` is only its list of phases.
//!
//! Shared by all of them: the closed-loop load generator
//! ([`closed_loop`]), latency percentiles ([`latency`]), CPU from `/proc`
//! ([`cpu`]), the command-line flags they have in common ([`args`]), the
//! tokens they sign before the clock starts ([`tokens`]), gRPC connections
//! ([`grpc`]) and what a run leaves behind in Redis ([`cleanup`]). Then one
//! module per benchmark with its own flags and phases.
pub mod admission;
pub mod args;
pub mod backlog;
pub mod booking;
pub mod cleanup;
pub mod closed_loop;
pub mod cpu;
pub mod eligibility;
pub mod grpc;
pub mod identity;
pub mod latency;
pub mod process;
pub mod search;
pub mod thin_front;
pub mod tokens;

/// A deterministic pseudo-random number per (index, salt) (SplitMix64), so a
/// run picks the same people and slots every time.
pub fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The item `r` lands on, for spreading calls over connections or picking
/// from a list with a [`mix`] value.
pub fn pick<T>(items: &[T], r: u64) -> &T {
    &items[usize::try_from(r % items.len() as u64).unwrap_or(0)]
}
