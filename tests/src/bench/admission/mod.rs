//! The waiting room's opening-night surge (`bench_admission`): its flags,
//! the two servers it runs as child processes and its report.
//!
//! Both servers are this same binary in a server mode, so each is served
//! exactly as shipped (the platform `GrpcServer`) and its memory can be read
//! from `/proc` apart from the load generator's.
use super::args::{defaults_to, Connections};

pub mod floor;
mod proofs;
pub mod report;
pub mod room;

/// Opening-night surge against the waiting room, beside a no-op RPC served the same way.
#[derive(clap::Parser, Debug)]
#[command(name = "bench_admission", mut_arg("channels", defaults_to("8")))]
pub struct Args {
    #[command(flatten)]
    pub surge: Surge,
    /// Internal: serve the no-op floor RPC (the benchmark's own child process).
    #[arg(long, hide = true, conflicts_with = "serve_admission")]
    pub serve_noop: bool,
    /// Internal: serve admission, configured from the environment.
    #[arg(long, hide = true)]
    pub serve_admission: bool,
}

/// The size and shape of the surge.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Surge {
    /// Distinct clients joining the line.
    #[arg(long, default_value_t = 1_000_000)]
    pub joins: u64,
    /// GetQueueStatus calls spread over the whole line.
    #[arg(long, default_value_t = 1_000_000)]
    pub polls: u64,
    /// Admissions per second configured on the server; 500 keeps the share of
    /// polls that mint a pass at a few percent, as in a real surge.
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// Calls of the no-op RPC that make the floor.
    #[arg(long, default_value_t = 300_000)]
    pub floor_calls: u64,
    /// Calls in flight.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Admission requires device keys and every join carries a device proof
    /// (each client its own key; proofs signed before the clock starts).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub device_binding: bool,
    #[command(flatten)]
    pub connections: Connections,
}

impl Surge {
    pub fn announce(&self) {
        let Self { joins, polls, rate, concurrency, device_binding, .. } = *self;
        let nchan = self.connections.channels;
        println!("surge: {joins} joins, {polls} polls, configured rate {rate}/s, {concurrency} in flight over {nchan} HTTP/2 connections");
        println!("device binding: {}", if device_binding { "required, a device proof per join" } else { "off" });
        println!(
            "machine: {} cores shared by the generator, the server process and Redis",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
}

/// The channels of one server's load: a 30-second deadline, since a call
/// queued behind a million others may wait long and still count.
fn channels(addr: &str, surge: &Surge) -> anyhow::Result<Vec<tonic::transport::Channel>> {
    super::grpc::channels(addr, surge.connections.channels, &super::grpc::settings(std::time::Duration::from_secs(30)))
}
