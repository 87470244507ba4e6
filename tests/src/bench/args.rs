//! Command-line flags more than one benchmark takes. The flags are the same
//! everywhere (docs/benchmarks.md documents them); the defaults are each
//! benchmark's own, set on its `Args` with
//! `#[command(mut_arg("seconds", defaults_to("15")))]`, so `--help` shows
//! them. A benchmark that sets none makes the flag required rather than
//! borrow another benchmark's default.
use std::time::Duration;

/// A closed-loop phase: how many calls in flight, for how long.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ClosedLoop {
    /// Calls in flight (closed loop: each sends the next as soon as it is answered).
    #[arg(long)]
    pub concurrency: usize,
    /// Seconds each measured phase lasts.
    #[arg(long)]
    pub seconds: u64,
}

impl ClosedLoop {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// How many HTTP/2 connections the load generator spreads its calls over,
/// as a gateway in front of the service would.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Connections {
    /// HTTP/2 connections of the load generator.
    #[arg(long)]
    pub channels: usize,
}

/// Gives a shared flag this benchmark's default.
pub fn defaults_to(value: &'static str) -> impl FnOnce(clap::Arg) -> clap::Arg {
    move |arg| arg.required(false).default_value(value)
}
