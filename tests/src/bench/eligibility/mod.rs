//! CheckEligibility against a national-sized registry (`bench_eligibility`):
//! its flags, the registry database, the service under test, the people it
//! checks, the phases, and the transcript printed at the end.
//!
//! Every person has their own admission pass and identity assertion (their
//! own session), as in real life, so a first check costs two signature
//! verifications and a registry lookup; checks that come back with the same
//! tokens (reservation's re-check) skip both.
use yeyak_platform::db::DatabaseSettings;

use super::args::{defaults_to, ClosedLoop, Connections};

pub mod checks;
pub mod people;
pub mod registry;
pub mod service;
pub mod transcript;

const CLIENT_ID: &str = "bench-eligibility-client-01";
const SEED: u64 = 20_210_809;
const HASH_KEY: &str = "bench-eligibility-subject-key";

/// CheckEligibility per second on a registry of `--people` beside a primary-key SELECT; then the time to load `--load` people.
#[derive(clap::Parser, Debug)]
#[command(
    name = "bench_eligibility",
    mut_arg("concurrency", defaults_to("64")),
    mut_arg("seconds", defaults_to("15")),
    mut_arg("channels", defaults_to("4"))
)]
pub struct Args {
    /// People in the registry the checks run against.
    #[arg(long, default_value_t = 1_000_000)]
    pub people: u64,
    /// People generated and loaded into a second database at the end, timed
    /// (the 20 million of the 2021 18-49 round).
    #[arg(long, default_value_t = 20_000_000)]
    pub load: u64,
    #[command(flatten)]
    pub phases: ClosedLoop,
    #[command(flatten)]
    pub connections: Connections,
}

/// A scratch database of this run (`what`: the registry, or the load test).
fn database(tag: &str, what: &str) -> DatabaseSettings {
    DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_bench_eligibility_{what}_{tag}"))
}

fn millions(n: u64) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{} M", n / 1_000_000)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}
