//! The board over fake upstreams, and the ranking rule.
#![allow(clippy::unwrap_used)]
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use super::*;

struct Fake {
    id: &'static str,
    limit: usize,
    failing: Arc<AtomicBool>,
}

impl Upstream for Fake {
    fn id(&self) -> &str {
        self.id
    }
    fn max_in_flight(&self) -> usize {
        self.limit
    }
    fn probe(&self, _: Duration) -> BoxFuture<'_, Result<(), String>> {
        let failing = self.failing.load(Ordering::SeqCst);
        Box::pin(async move {
            if failing {
                Err("down".into())
            } else {
                Ok(())
            }
        })
    }
}

fn board(limit: usize, breaker: BreakerSettings) -> (Arc<Board<Fake>>, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let upstreams = ["a", "b"].into_iter().map(|id| Fake { id, limit, failing: failing.clone() }).collect();
    let board = Board::new(upstreams, HealthRules::default(), breaker, Duration::from_millis(200), ());
    (Arc::new(board), failing)
}

fn snapshot(id: &str, light: Light) -> Snapshot {
    Snapshot {
        id: id.into(),
        light,
        reason: Reason::Healthy,
        breaker: BreakerState::Closed,
        stats: WindowStats::default(),
        in_flight: 0,
        limit: 1,
    }
}

#[test]
fn healthiest_first_in_configured_order_and_red_is_not_offered() {
    let all = vec![snapshot("a", Light::Yellow), snapshot("b", Light::Red), snapshot("c", Light::Green), snapshot("d", Light::Yellow)];
    let ranked = rank(all);
    let ids: Vec<_> = ranked.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["c", "a", "d", "b"]);
    let ids: Vec<_> = offered(ranked).into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["c", "a", "d"]);
}

fn ids(list: Vec<Snapshot>) -> Vec<String> {
    list.into_iter().map(|s| s.id).collect()
}

#[test]
fn failures_take_an_upstream_off_the_list_and_name_the_alternatives() {
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
    assert_eq!((first.id.as_str(), first.light), ("b", Light::Green), "the busy upstream moves down");
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
    assert_eq!(board.snapshot(a).stats.calls, 0, "a recovered upstream starts with a clean window");
    assert_eq!(ids(board.offered()), ["a", "b"]);
}
