use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use super::*;
use crate::{
    clients::providers::{BoxFuture, CallOptions, ProviderError},
    domain::{
        health::{Light, Reason},
        Method, PersonDetails, ProviderConfig, VerifiedPerson,
    },
};

struct Fake {
    config: ProviderConfig,
    failing: Arc<AtomicBool>,
}

impl Provider for Fake {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }
    fn assurance(&self) -> u8 {
        1
    }
    fn instructions(&self) -> &'static str {
        ""
    }
    fn start<'a>(&'a self, _: &'a PersonDetails, _: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async { Ok("tx".into()) })
    }
    fn confirm<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>> {
        Box::pin(async { Err(ProviderError::Gone) })
    }
    fn probe(&self, _: Duration) -> BoxFuture<'_, Result<(), ProviderError>> {
        let failing = self.failing.load(Ordering::SeqCst);
        Box::pin(async move {
            if failing {
                Err(ProviderError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        })
    }
}

fn board(limit: usize, breaker: BreakerSettings) -> (Arc<Board>, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let providers: Vec<Box<dyn Provider>> = ["a", "b"]
        .into_iter()
        .map(|id| {
            let config = ProviderConfig {
                id: id.into(),
                url: "http://127.0.0.1:9".into(),
                method: Method::SmsCode,
                display_name: id.into(),
                max_in_flight: limit,
            };
            Box::new(Fake { config, failing: failing.clone() }) as Box<dyn Provider>
        })
        .collect();
    let board = Board::new(providers, HealthRules::default(), breaker, Duration::from_millis(200), IdentityMetrics::default());
    (Arc::new(board), failing)
}

fn ids(list: Vec<Snapshot>) -> Vec<String> {
    list.into_iter().map(|s| s.provider_id).collect()
}

#[test]
fn failures_take_a_provider_off_the_list_and_name_the_alternatives() {
    let (board, _) = board(8, BreakerSettings::default());
    assert_eq!(ids(board.offered()), ["a", "b"], "configured order among equals");
    let a = &board.slots()[0];
    for _ in 0..5 {
        board.acquire(a).unwrap().finish(false);
    }
    assert_eq!(ids(board.offered()), ["b"]);
    assert_eq!(board.ranked()[1].light, Light::Red);
    assert_eq!(board.alternatives("a"), ["b"]);
    assert!(matches!(board.acquire(a).map(|_| ()), Err(Refusal::CircuitOpen { .. })));
}

#[test]
fn a_filling_bulkhead_turns_yellow_then_refuses() {
    let (board, _) = board(4, BreakerSettings::default());
    let a = &board.slots()[0];
    let held: Vec<_> = (0..3).map(|_| board.acquire(a).unwrap()).collect();
    let first = &board.ranked()[0];
    assert_eq!((first.provider_id.as_str(), first.light), ("b", Light::Green), "the busy provider moves down");
    assert_eq!((board.snapshot(a).light, board.snapshot(a).reason), (Light::Yellow, Reason::Saturated));
    let fourth = board.acquire(a).unwrap();
    assert_eq!(board.acquire(a).map(|_| ()).unwrap_err(), Refusal::Saturated);
    drop(fourth);
    drop(held);
    assert_eq!(board.snapshot(a).light, Light::Green);
    assert_eq!(board.snapshot(a).in_flight, 0);
}

#[tokio::test]
async fn recovery_goes_through_half_open_probes_to_green() {
    let settings = BreakerSettings {
        consecutive_failures: 2,
        open_for: Duration::from_millis(60),
        max_open_for: Duration::from_millis(120),
        probe_interval: Duration::from_millis(20),
        probes_to_close: 2,
    };
    let (board, failing) = board(8, settings);
    let a = &board.slots()[0];
    failing.store(true, Ordering::SeqCst);
    board.acquire(a).unwrap().finish(false);
    board.acquire(a).unwrap().finish(false);
    let mut seen = vec![board.snapshot(a).breaker.name()];
    let deadline = Instant::now() + Duration::from_secs(3);
    let observe = |seen: &mut Vec<&'static str>| {
        let name = board.snapshot(a).breaker.name();
        if seen.last() != Some(&name) {
            seen.push(name);
        }
        name
    };
    while Instant::now() < deadline {
        board.tick();
        observe(&mut seen);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let name = observe(&mut seen);
        // Failed probes reopen it; let it recover after one round trip.
        if seen.len() >= 4 {
            failing.store(false, Ordering::SeqCst);
        }
        if name == "closed" {
            break;
        }
    }
    assert_eq!(&seen[..4], ["open", "half_open", "open", "half_open"], "{seen:?}");
    assert_eq!(seen.last(), Some(&"closed"), "{seen:?}");
    assert_eq!(board.snapshot(a).light, Light::Green);
    assert_eq!(board.snapshot(a).stats.calls, 0, "a recovered provider starts with a clean window");
    assert_eq!(ids(board.offered()), ["a", "b"]);
}
