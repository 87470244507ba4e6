//! Shared pieces of the benchmark programs: a closed-loop load generator
//! with latency percentiles, and helpers to run a server as a child process
//! (so its memory can be measured and it is served exactly as in production).
pub mod load;
pub mod process;
