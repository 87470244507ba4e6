//! The run's figures: the floor, each phase with its CPU per booking, the
//! ratios against the mean floor and against each floor alone, and the checks.
use super::{catalogue::Catalogue, checks::Checks, phase::Outcome};
use crate::bench::cpu::CpuTimes;

/// pgbench TPS before the stack started and after it stopped.
pub struct Floor {
    pub clients: u64,
    pub before: f64,
    pub after: f64,
}

/// A phase with the CPU readings around it (the phase and its catch-up).
pub struct Measured<'a> {
    pub outcome: &'a Outcome,
    pub cpu: (&'a CpuTimes, &'a CpuTimes),
}

impl Measured<'_> {
    fn lines(&self, name: &str) -> [String; 2] {
        let (before, after) = self.cpu;
        [self.outcome.line(name), format!("{:<34} {}", "", after.per_operation(before, self.outcome.phase.tally.booked))]
    }
}

pub fn lines(floor: &Floor, spread: &Measured<'_>, hot: &Measured<'_>, catalogue: &Catalogue, checks: &Checks) -> Vec<String> {
    let Floor { clients, before, after } = *floor;
    let mean = (before + after) / 2.0;
    let (spread_rate, hot_rate) = (spread.outcome.sustained(), hot.outcome.sustained());
    let mut lines = vec![
        String::new(),
        format!("floor  pgbench tpcb-like (-c {clients})   {mean:>7.0} TPS (mean of {before:.0} before and {after:.0} after)"),
    ];
    lines.extend(spread.lines("phase 1: spread over all slots"));
    lines.extend(hot.lines("phase 2: 10% at one hot slot"));
    lines.extend([
        format!("ratio to the floor: {:.2} (spread), {:.2} (hot); target >= 0.50 (#21; was 0.30)", spread_rate / mean, hot_rate / mean),
        format!(
            "  against the floor before / after alone: spread {:.2} / {:.2}, hot {:.2} / {:.2}",
            spread_rate / before,
            spread_rate / after,
            hot_rate / before,
            hot_rate / after
        ),
        format!("hot slot: {} booked of {} places", checks.hot_booked, catalogue.capacity(&catalogue.hot)),
        "checks on the reservation database:".to_string(),
        format!("  slots with booked > capacity in the ledger:            {}", checks.over_ledger),
        format!("  slots whose ledger count differs from reservations:    {}", checks.unbalanced),
        format!("  slots with more reservations than catalogue places:    {}", checks.oversold),
        format!("  people with two confirmed reservations for one dose:   {}", checks.double),
        format!("  reservations {}, confirmed events in the outbox {}", checks.reservations, checks.events),
        format!("  => {}", if checks.passed() { "zero oversell, zero double bookings" } else { "CHECK FAILED" }),
    ]);
    lines
}
