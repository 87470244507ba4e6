//! Identity verification (`bench_identity`): its flags, the front end that
//! drives identity as a browser's back end would, the phases and the report.
//!
//! Everything runs in one process: four mock providers with zero latency,
//! identity behind the platform `GrpcServer` as shipped, two thin fronts
//! ([`crate::bench::thin_front`]) and the load generator. With zero-latency
//! providers a verification's throughput is its CPU, so each phase also
//! reports the cores it kept busy.
use super::args::{defaults_to, ClosedLoop};

pub mod front_end;
pub mod phase;
pub mod report;
pub mod setup;

/// The front end's client id: every pass is bound to it.
const CLIENT: &str = "bench-identity-front-end";
const QUEUE: &str = "bench";
/// The four channels: id, mock kind, identity kind. The first is the
/// carrier, the provider the front end picks first and the one made to fail.
const PROVIDERS: [(&str, &str, &str); 4] = [
    ("carrier-sms", "sms_code", "sms_code"),
    ("kakao-cert", "app_approval", "app_approval"),
    ("naver-cert", "app_approval", "app_approval"),
    ("fin-cert", "app_approval", "fin_cert"),
];
/// gRPC connections the front end spreads its users over (as a gateway would).
const CHANNELS: usize = 4;

/// Identity verifications per second beside direct provider calls, then with one provider failing half its calls.
#[derive(clap::Parser, Debug)]
#[command(name = "bench_identity", mut_arg("concurrency", defaults_to("64")), mut_arg("seconds", defaults_to("10")))]
pub struct Args {
    #[command(flatten)]
    pub phases: ClosedLoop,
    /// Admission passes minted before the run, one per verification (more are signed on the fly).
    #[arg(long, default_value_t = 60_000)]
    pub passes: u32,
    /// Profiling aid: run only the identity phase with all providers healthy.
    #[arg(long)]
    pub healthy_only: bool,
}
