//! `--chaos`: faults injected into a local deployment (processes on this
//! machine, as `make run` or the test stack starts them) while the crowd
//! runs, on a schedule drawn from a seed the report prints, so a run can
//! be replayed. Each fault is marked on the report's time charts.
mod inject;
mod procs;

use rand::{rngs::StdRng, seq::SliceRandom as _, Rng as _, SeedableRng as _};

pub(crate) use inject::{run, Injected, Injector};

use crate::scenario::Chaos;

pub(crate) const KINDS: [&str; 6] = ["kill", "term", "redis-flush", "broker-cut", "slow-provider", "slow-sms"];

/// The seed of `make test`'s chaos evening (chaos-ci.toml): one of the few
/// whose six faults are of six kinds (a unit test below checks it).
pub const CI_SEED: u64 = 49;

/// Our six services: the only processes chaos stops (the mocks stand for
/// third parties, whose failures are the `slow-*` faults).
pub(crate) const SERVICES: [&str; 6] = ["admission", "identity", "eligibility", "inventory", "reservation", "notification"];

/// One fault to inject.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Planned {
    /// Seconds after the run's start.
    pub(crate) t: f64,
    pub(crate) kind: &'static str,
    /// A service, `redis` or a third party.
    pub(crate) target: String,
    /// Every replica of the service, not one.
    pub(crate) all: bool,
    /// Seconds until it is undone (restart, normal speed again).
    pub(crate) hold: f64,
}

/// The faults of a run, in time order, drawn from `seed` alone (and the
/// scenario): the same seed, the same evening's faults.
pub(crate) fn schedule(chaos: &Chaos, seed: u64, opening: f64, services: &[&str]) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed);
    let kinds: Vec<&'static str> = KINDS.iter().copied().filter(|k| chaos.kinds.iter().any(|c| c == k)).collect();
    let mut plan: Vec<Planned> = (0..chaos.faults)
        .filter_map(|_| {
            let kind = *kinds.choose(&mut rng)?;
            let (from, to) = chaos.window_seconds;
            let t = opening + from + rng.gen::<f64>() * (to - from);
            let restart = rng.gen_range(chaos.restart_after_seconds.0..=chaos.restart_after_seconds.1);
            let (target, all, hold) = match kind {
                "kill" | "term" => ((*services.choose(&mut rng)?).to_owned(), rng.gen_bool(0.3), restart),
                "redis-flush" => ("redis".to_owned(), false, 0.0),
                "broker-cut" => ("rabbitmq".to_owned(), false, chaos.cut_seconds),
                "slow-provider" => ("carrier-sms".to_owned(), false, chaos.slow_seconds),
                _ => ("sms-gateway".to_owned(), false, chaos.slow_seconds),
            };
            Some(Planned { t, kind, target, all, hold })
        })
        .collect();
    plan.sort_by(|a, b| a.t.total_cmp(&b.t));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_faults_and_another_seed_draws_others() {
        let chaos = Chaos { faults: 8, ..Chaos::default() };
        let a = schedule(&chaos, 7, 10.0, &SERVICES);
        assert_eq!(a.len(), 8);
        assert_eq!(a, schedule(&chaos, 7, 10.0, &SERVICES));
        assert_ne!(a, schedule(&chaos, 8, 10.0, &SERVICES));
        assert!(a.windows(2).all(|w| w[0].t <= w[1].t));
        assert!(a.iter().all(|f| (10.0..=40.0).contains(&f.t)), "{a:?}");
        let stopped: Vec<_> = a.iter().filter(|f| f.kind == "kill" || f.kind == "term").collect();
        assert!(stopped.iter().all(|f| SERVICES.contains(&f.target.as_str()) && (1.0..=4.0).contains(&f.hold)));
    }

    /// `make test`'s chaos evening (tests/tests/surge_chaos.rs) runs
    /// chaos-ci.toml with this seed: it must meet every kind of fault.
    #[test]
    fn the_ci_seed_draws_every_kind_of_fault() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/chaos-ci.toml");
        let scenario = crate::scenario::Scenario::load(path.as_ref()).expect("chaos-ci.toml");
        let plan = schedule(&scenario.chaos, CI_SEED, 5.0, &SERVICES);
        let missing: Vec<_> = KINDS.iter().filter(|k| !plan.iter().any(|f| f.kind == **k)).collect();
        assert!(missing.is_empty(), "seed {CI_SEED} draws no {missing:?}: {plan:?}");
    }

    #[test]
    fn only_the_kinds_asked_for_are_drawn() {
        let chaos = Chaos { faults: 20, kinds: vec!["slow-sms".into()], ..Chaos::default() };
        assert!(schedule(&chaos, 1, 0.0, &SERVICES).iter().all(|f| f.kind == "slow-sms" && f.target == "sms-gateway"));
    }
}
