use super::*;

const CEILING: f64 = 100.0;
const FLOOR: f64 = 5.0;

fn bad() -> Verdict {
    Verdict::Degraded("eligibility: error ratio 0.5 > 0.05".into())
}

/// The rates of `verdicts` in order, from the ceiling.
fn run(law: &Law, verdicts: &[Verdict]) -> Vec<f64> {
    let mut c = Controller::starting_at(CEILING);
    verdicts.iter().map(|v| c.step(law, v, CEILING, FLOOR).rate).collect()
}

#[test]
fn a_degraded_backend_halves_the_rate_every_other_interval_down_to_the_floor() {
    let rates = run(&Law::default(), &vec![bad(); 12]);
    assert_eq!(rates, vec![50.0, 50.0, 25.0, 25.0, 12.5, 12.5, 6.25, 6.25, 5.0, 5.0, 5.0, 5.0]);
    let eager = Law { cooldown_intervals: 0, ..Law::default() };
    assert_eq!(run(&eager, &vec![bad(); 5]), vec![50.0, 25.0, 12.5, 6.25, 5.0]);
}

#[test]
fn a_recovered_backend_climbs_back_linearly_after_the_hysteresis_and_stops_at_the_ceiling() {
    let mut c = Controller::starting_at(FLOOR);
    let law = Law::default();
    let rates: Vec<f64> = (0..25).map(|_| c.step(&law, &Verdict::Healthy, CEILING, FLOOR).rate).collect();
    assert_eq!(&rates[..4], &[5.0, 5.0, 10.0, 15.0], "two intervals of patience, then +5 % of the ceiling each");
    assert!(rates.iter().all(|r| *r <= CEILING), "never above the ceiling");
    assert_eq!(rates[24], CEILING);
    let changes = rates.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(changes, 19, "monotone: one direction only");
}

#[test]
fn the_band_and_unknown_hold_and_reset_the_patience() {
    let law = Law::default();
    let mut c = Controller::starting_at(50.0);
    for v in [Verdict::Healthy, Verdict::Healthy, Verdict::Band("a: latency 300 ms".into()), Verdict::Healthy, Verdict::Healthy] {
        let d = c.step(&law, &v, CEILING, FLOOR);
        assert_eq!((d.rate, d.direction), (50.0, Direction::Hold), "{}", d.reason);
    }
    let d = c.step(&law, &Verdict::Unknown("b: first read".into()), CEILING, FLOOR);
    assert_eq!(d.direction, Direction::Hold);
    let d = c.step(&law, &Verdict::Healthy, CEILING, FLOOR);
    assert_eq!((d.rate, d.direction), (55.0, Direction::Up), "unknown does not reset the streak");
}

#[test]
fn a_lowered_ceiling_or_a_raised_floor_moves_the_rate_at_once() {
    let law = Law::default();
    let mut c = Controller::starting_at(80.0);
    let d = c.step(&law, &Verdict::Band("x".into()), 40.0, FLOOR);
    assert_eq!((d.rate, d.direction), (40.0, Direction::Down));
    assert!(d.reason.contains("kept within [5, 40]"), "{}", d.reason);
    let d = c.step(&law, &Verdict::Band("x".into()), 40.0, 60.0);
    assert_eq!((d.rate, d.direction), (40.0, Direction::Hold), "a floor above the ceiling is the ceiling");
    let d = c.step(&law, &Verdict::Band("x".into()), 100.0, 60.0);
    assert_eq!((d.rate, d.direction), (60.0, Direction::Up));
}

#[test]
fn alternating_evidence_does_not_make_the_rate_swing() {
    // Worst case for oscillation: the backend flips every interval.
    let verdicts: Vec<Verdict> = (0..40).map(|i| if i % 2 == 0 { bad() } else { Verdict::Healthy }).collect();
    let rates = run(&Law::default(), &verdicts);
    let ups = rates.windows(2).filter(|w| w[1] > w[0]).count();
    assert_eq!(ups, 0, "never two healthy intervals in a row: never a climb");
    assert_eq!(*rates.last().unwrap(), FLOOR);
}
