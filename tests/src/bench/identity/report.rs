//! The run's table and verdicts: every ratio against the mean of the two
//! floors, since the machine's speed drifts within a run.
use super::{phase::Phase, setup::End};

/// The phases of a full run, in the order they ran.
pub struct Run {
    pub floor: Phase,
    pub thin_plain: Phase,
    pub thin_platform: Phase,
    pub healthy: Phase,
    pub floor_again: Phase,
    pub degraded: Phase,
}

pub fn print(run: &Run, end: &End) {
    println!();
    println!("| phase | verifications/s | success users see | p50 ms | p99 ms | p99.9 ms | verified | failed | rerouted | cores busy (bench + Redis) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in [&run.floor, &run.thin_plain, &run.thin_platform, &run.healthy, &run.floor_again, &run.degraded] {
        println!("{}", p.row());
    }
    println!();
    verdicts(run);
    if let Some(h) = &end.carrier_health {
        println!("carrier at the end: {h}");
    }
    println!("{} Redis keys removed", end.removed);
}

fn verdicts(run: &Run) {
    let Run { floor: first, thin_plain, thin_platform, healthy, degraded, .. } = run;
    let floors = [first, &run.floor_again];
    let verdict = |ok: bool| if ok { "MET" } else { "NOT MET" };
    let floor = floors.iter().map(|p| p.rate()).sum::<f64>() / floors.len() as f64;
    let ratio = healthy.rate() / floor;
    println!("floor (mean of {} runs) = {floor:.0}/s", floors.len());
    // The target since #21: beside the thin front on the same server stack,
    // since no gRPC service can reach the floor's ratio (docs/benchmarks.md).
    let thin = healthy.rate() / thin_platform.rate();
    println!(
        "  throughput identity / thin front on the platform server = {:.0} / {:.0} = {thin:.2} (target >= 0.75): {}",
        healthy.rate(),
        thin_platform.rate(),
        verdict(thin >= 0.75)
    );
    println!(
        "  identity / floor = {:.0} / {floor:.0} = {ratio:.2} (the earlier target, 0.60, is above the thin front's own ceiling)",
        healthy.rate()
    );
    println!("  ceiling, thin gRPC front (plain tonic) / floor = {:.2}", thin_plain.rate() / floor);
    println!("  ceiling on the platform server, thin front / floor = {:.2}", thin_platform.rate() / floor);
    let success = degraded.success();
    println!("  success users see, carrier failing 50% = {:.2}% (target >= 99%): {}", success * 100.0, verdict(success >= 0.99));
    let p99 = degraded.pct(0.99) / healthy.pct(0.99);
    println!(
        "  p99 failing / healthy = {:.2} ms / {:.2} ms = {p99:.2} (target <= 2.0): {}",
        degraded.pct(0.99),
        healthy.pct(0.99),
        verdict(p99 <= 2.0)
    );
    let cpu = |p: &Phase| 1e6 * (p.cores + p.redis_cores) / p.rate().max(1.0);
    println!(
        "  CPU per verification (this process + Redis): floor {:.0} us, thin front {:.0} / {:.0} us, identity {:.0} us",
        cpu(first),
        cpu(thin_plain),
        cpu(thin_platform),
        cpu(healthy)
    );
}
