//! Shared pieces of the benchmark programs: a closed-loop load generator
//! with latency percentiles, and helpers to run a server as a child process
//! (so its memory can be measured and it is served exactly as in production).
pub mod backlog;
pub mod cpu;
pub mod load;
pub mod process;
pub mod thin_front;

/// The value after `name` on the command line (`--people 1000`), or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A deterministic pseudo-random number per (index, salt) (SplitMix64), so a
/// run picks the same people and slots every time.
pub fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
