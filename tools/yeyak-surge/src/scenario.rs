//! The scenario file (TOML): who comes, when, and how they behave. Every
//! share is of `people`; everything random is drawn from `seed`, so a run
//! can be repeated. `docs/surge.md` describes each field.
use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{ensure, Context as _};
use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Citizens simulated (bots come on top, see [`Bots`]).
    pub people: u64,
    pub arrivals: Arrivals,
    #[serde(default)]
    pub behaviour: Behaviour,
    #[serde(default)]
    pub bots: Bots,
    pub event: Event,
    #[serde(default)]
    pub limits: Limits,
    /// What `--chaos` does to a local deployment during the run.
    #[serde(default)]
    pub chaos: Chaos,
    /// The full-size figures this scenario stands for: `plan` scales the
    /// measured costs to them (`bookings`, `requests`, `peak_minutes`,
    /// `waiting`, `admission_rate_per_second`; see `plan::FullSize`).
    #[serde(default)]
    pub full_size: BTreeMap<String, f64>,
}

/// The arrival curve: some people in the pre-opening window, a spike in
/// the opening second, the rest over a tail that thins out exponentially.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// Seconds between the start of the run and the opening.
    pub pre_opening_seconds: f64,
    pub pre_opening_share: f64,
    /// Share arriving within the opening second.
    pub spike_share: f64,
    /// The rest arrive after the opening, with this mean delay.
    pub tail_mean_seconds: f64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Not eligible (the registry says so): they stop at the check.
    pub not_eligible_share: f64,
    /// Give up while waiting (close the tab) at a random point.
    pub abandon_share: f64,
    /// Lose the connection while waiting and come back with their ticket.
    pub reconnect_share: f64,
    /// Book for a parent as well (a second verification, an agent booking).
    pub proxy_share: f64,
    /// Their first booking call times out on their side; they retry it
    /// with the same idempotency key.
    pub retry_after_timeout_share: f64,
    /// Come back after the evening to list their bookings and try a second
    /// tab (besides every proxy booking and every retried one).
    pub recheck_share: f64,
    /// Think time between steps, uniform in `[min, max]` milliseconds.
    pub think_ms: (u64, u64),
}

/// Bots: many entries from one client, and passes they did not earn.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bots {
    pub clients: u64,
    /// Join attempts per bot client, all in the opening second.
    pub joins_per_client: u64,
    /// Calls made with a made-up pass, and with a pass copied from an
    /// admitted citizen (presented by another device).
    pub forged_passes: u64,
    pub copied_passes: u64,
}

/// The booking event the run creates (and closes at the end).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub admission_rate_per_second: f64,
    pub max_active_sessions: u64,
    #[serde(default)]
    pub rule_set: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// People in flight at once; arrivals beyond wait for a free place.
    pub concurrency: usize,
    /// The run stops (people still waiting give up) after this long.
    pub max_seconds: u64,
    /// How long a person waits in the queue before giving up.
    pub patience_seconds: u64,
}

/// The faults `--chaos` injects, drawn from the chaos seed: `faults` of
/// `kinds` at random times of the window (seconds after the opening).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Chaos {
    pub faults: u32,
    /// `kill` (SIGKILL), `term` (SIGTERM), `redis-flush` (the deployment's
    /// Redis keys lost, as a restart without persistence loses them),
    /// `broker-cut` (the services' link to RabbitMQ cut, then restored),
    /// `slow-provider`, `slow-sms`.
    pub kinds: Vec<String>,
    pub window_seconds: (f64, f64),
    /// A killed service is started again after this many seconds.
    pub restart_after_seconds: (f64, f64),
    /// A slowed third party answers this much later, for `slow_seconds`.
    pub slow_ms: u64,
    pub slow_seconds: f64,
    /// A cut broker link is restored after this many seconds.
    pub cut_seconds: f64,
}

impl Default for Chaos {
    fn default() -> Self {
        Self {
            faults: 4,
            kinds: crate::chaos::KINDS.map(String::from).to_vec(),
            window_seconds: (0.0, 30.0),
            restart_after_seconds: (1.0, 4.0),
            slow_ms: 1_500,
            slow_seconds: 8.0,
            cut_seconds: 5.0,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { concurrency: 2_000, max_seconds: 600, patience_seconds: 300 }
    }
}

fn default_seed() -> u64 {
    2021
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let scenario: Self = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        scenario.validate().with_context(|| format!("checking {}", path.display()))?;
        Ok(scenario)
    }

    fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.people > 0, "people: at least one");
        let a = &self.arrivals;
        ensure!(a.pre_opening_seconds >= 0.0 && a.tail_mean_seconds >= 0.0, "arrivals: seconds cannot be negative");
        ensure!(a.pre_opening_share + a.spike_share <= 1.0, "arrivals: pre_opening_share + spike_share above 1");
        let b = &self.behaviour;
        for (name, share) in [
            ("arrivals.pre_opening_share", a.pre_opening_share),
            ("arrivals.spike_share", a.spike_share),
            ("behaviour.not_eligible_share", b.not_eligible_share),
            ("behaviour.abandon_share", b.abandon_share),
            ("behaviour.reconnect_share", b.reconnect_share),
            ("behaviour.proxy_share", b.proxy_share),
            ("behaviour.retry_after_timeout_share", b.retry_after_timeout_share),
            ("behaviour.recheck_share", b.recheck_share),
        ] {
            ensure!((0.0..=1.0).contains(&share), "{name}: a share is between 0 and 1, not {share}");
        }
        ensure!(b.think_ms.0 <= b.think_ms.1, "behaviour.think_ms: [min, max]");
        ensure!(self.event.admission_rate_per_second > 0.0, "event.admission_rate_per_second: above 0");
        ensure!(self.limits.concurrency > 0, "limits.concurrency: at least one");
        ensure!(self.limits.patience_seconds >= 10, "limits.patience_seconds: at least 10");
        let c = &self.chaos;
        for kind in &c.kinds {
            ensure!(crate::chaos::KINDS.contains(&kind.as_str()), "chaos.kinds: {kind:?} is not one of {:?}", crate::chaos::KINDS);
        }
        ensure!(c.window_seconds.0 <= c.window_seconds.1, "chaos.window_seconds: [from, to]");
        ensure!(c.restart_after_seconds.0 <= c.restart_after_seconds.1, "chaos.restart_after_seconds: [min, max]");
        ensure!(
            c.window_seconds.0 >= 0.0 && c.restart_after_seconds.0 >= 0.0 && c.slow_seconds >= 0.0,
            "chaos: seconds cannot be negative"
        );
        Ok(())
    }

    /// Each citizen's arrival, in seconds from the start of the run, sorted.
    pub fn arrival_times(&self) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let a = &self.arrivals;
        let opening = a.pre_opening_seconds;
        let mut times: Vec<f64> = (0..self.people)
            .map(|_| {
                let u: f64 = rng.gen();
                if u < a.pre_opening_share {
                    rng.gen::<f64>() * opening
                } else if u < a.pre_opening_share + a.spike_share {
                    opening + rng.gen::<f64>()
                } else {
                    // Exponential with the tail's mean, after the spike.
                    opening + 1.0 - a.tail_mean_seconds * (1.0 - rng.gen::<f64>()).ln()
                }
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times
    }

    pub fn opening(&self) -> Duration {
        Duration::from_secs_f64(self.arrivals.pre_opening_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci() -> Scenario {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/ci.toml");
        Scenario::load(Path::new(path)).unwrap()
    }

    #[test]
    fn the_arrival_curve_has_its_pre_opening_share_spike_and_tail() {
        let s = ci();
        let times = s.arrival_times();
        let opening = s.arrivals.pre_opening_seconds;
        let before = times.iter().filter(|t| **t < opening).count() as f64 / times.len() as f64;
        let spike = times.iter().filter(|t| (opening..opening + 1.0).contains(*t)).count() as f64 / times.len() as f64;
        assert!((before - s.arrivals.pre_opening_share).abs() < 0.05, "{before}");
        assert!((spike - s.arrivals.spike_share).abs() < 0.05, "{spike}");
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(times, s.arrival_times(), "the same seed draws the same crowd");
    }

    #[test]
    fn every_shipped_scenario_loads_and_has_its_full_size_figures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let s = Scenario::load(&entry.unwrap().path()).unwrap();
            crate::plan::FullSize::from_map(&s.full_size).unwrap();
            names.push(s.name);
        }
        names.sort();
        assert_eq!(names, ["2021-18-49", "2021-53-54", "chaos-ci", "ci", "cohort-100k"]);
    }

    #[test]
    fn a_share_outside_zero_to_one_is_refused_naming_the_field() {
        let mut s = ci();
        s.behaviour.abandon_share = 1.5;
        assert!(s.validate().unwrap_err().to_string().contains("behaviour.abandon_share"));
    }
}
