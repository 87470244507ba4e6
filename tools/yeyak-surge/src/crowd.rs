//! The crowd, drawn before the run from the scenario's seed: who each
//! citizen is (a registry entry, eligible or not), when they arrive, and
//! what they will do.
use anyhow::ensure;
use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
use yeyak_population::SyntheticPerson;

use crate::{citizen::Plan, scenario::Scenario};

/// Walks the registry from `offset`, handing out each entry once.
struct Registry {
    seed: u64,
    count: u64,
    next_eligible: u64,
    next_other: u64,
}

impl Registry {
    fn take(&mut self, eligible: bool) -> anyhow::Result<u64> {
        let cursor = if eligible { &mut self.next_eligible } else { &mut self.next_other };
        loop {
            ensure!(*cursor < self.count, "the registry's {} people are too few for this scenario (or --people-from)", self.count);
            let p: SyntheticPerson = yeyak_population::person(self.seed, *cursor);
            *cursor += 1;
            // Dose 1 for the insured who have none; everybody else is refused.
            if (p.insured && p.doses.is_empty()) == eligible {
                return Ok(p.index);
            }
        }
    }
}

/// One plan per citizen, in arrival order. People come from the registry
/// at `offset` on, so two runs against one deployment can use different
/// people (a person booked by an earlier run would be refused).
pub(crate) fn plans(scenario: &Scenario, registry_seed: u64, registry_count: u64, offset: u64) -> anyhow::Result<Vec<Plan>> {
    let mut rng = StdRng::seed_from_u64(scenario.seed ^ 0x5eed);
    let mut registry = Registry { seed: registry_seed, count: registry_count, next_eligible: offset, next_other: offset };
    let b = &scenario.behaviour;
    let patience = scenario.limits.patience_seconds as f64;
    scenario
        .arrival_times()
        .into_iter()
        .map(|arrival| {
            let eligible = !rng.gen_bool(b.not_eligible_share);
            let index = registry.take(eligible)?;
            let parent = if rng.gen_bool(b.proxy_share) { Some(registry.take(true)?) } else { None };
            Ok(Plan {
                index,
                parent,
                arrival,
                abandon_after: rng.gen_bool(b.abandon_share).then(|| rng.gen_range(0.5..patience.max(1.0) / 4.0)),
                reconnect_after: rng.gen_bool(b.reconnect_share).then(|| rng.gen_range(0.5..5.0)),
                retry_after_timeout: rng.gen_bool(b.retry_after_timeout_share),
                seed: rng.gen(),
            })
        })
        .collect()
}
