use super::*;

fn counts(handled: f64, errors: f64, shed: f64, buckets: &[(f64, f64)]) -> Counts {
    Counts { handled, errors, shed, buckets: buckets.to_vec() }
}

fn interval(handled: f64, errors: f64, shed: f64, buckets: &[(f64, f64)]) -> Reading {
    Reading::Counted(Interval { handled, errors, shed, buckets: buckets.to_vec() })
}

const FAST: [(f64, f64); 3] = [(0.1, 100.0), (1.0, 100.0), (f64::INFINITY, 100.0)];

#[test]
fn an_interval_is_the_difference_and_a_restart_starts_from_zero() {
    let before = counts(100.0, 5.0, 1.0, &[(0.1, 90.0), (f64::INFINITY, 100.0)]);
    let after = counts(150.0, 15.0, 1.0, &[(0.1, 120.0), (f64::INFINITY, 150.0)]);
    let i = after.since(&before);
    assert_eq!((i.handled, i.errors, i.shed), (50.0, 10.0, 0.0));
    assert_eq!(i.buckets, vec![(0.1, 30.0), (f64::INFINITY, 50.0)]);
    let restarted = counts(7.0, 0.0, 0.0, &[(0.1, 7.0), (f64::INFINITY, 7.0)]).since(&after);
    assert_eq!(restarted.handled, 7.0, "everything since the restart");
}

#[test]
fn quantiles_interpolate_within_their_bucket() {
    let i = Interval { handled: 100.0, buckets: vec![(0.1, 50.0), (0.5, 100.0), (f64::INFINITY, 100.0)], ..Interval::default() };
    assert!((i.quantile(0.5).unwrap() - 0.1).abs() < 1e-9);
    assert!((i.quantile(0.75).unwrap() - 0.3).abs() < 1e-9);
    let slow = Interval { handled: 10.0, buckets: vec![(0.1, 0.0), (0.5, 0.0), (f64::INFINITY, 10.0)], ..Interval::default() };
    assert_eq!(slow.quantile(0.95), Some(0.5), "the +Inf bucket answers the largest finite bound");
    assert_eq!(Interval::default().quantile(0.95), None);
}

#[test]
fn errors_shedding_slowness_and_silence_each_degrade() {
    let t = Thresholds::default();
    let one = |r: Reading| assess(&[("eligibility".into(), r)], &t);
    assert_eq!(one(interval(100.0, 0.0, 0.0, &FAST)), Verdict::Healthy);
    let Verdict::Degraded(why) = one(interval(100.0, 40.0, 0.0, &FAST)) else { panic!("errors") };
    assert!(why.contains("eligibility: error ratio 0.400 > 0.050"), "{why}");
    assert!(matches!(one(interval(100.0, 5.0, 5.0, &FAST)), Verdict::Degraded(w) if w.contains("shed ratio")));
    let slow = [(0.1, 0.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
    assert!(matches!(one(interval(100.0, 0.0, 0.0, &slow)), Verdict::Degraded(w) if w.contains("latency 955 ms > 500 ms")));
    let lost = |persistent| Reading::Unreachable { why: "timed out".into(), persistent };
    assert!(matches!(one(lost(true)), Verdict::Degraded(w) if w.contains("unreachable")));
    assert!(matches!(one(lost(false)), Verdict::Unknown(_)), "one failed read holds");
    assert!(matches!(assess(&[], &t), Verdict::Degraded(_)), "nothing read is not healthy");
}

#[test]
fn the_band_holds_a_first_read_is_unknown_and_a_quiet_interval_is_healthy() {
    let t = Thresholds::default();
    let one = |r: Reading| assess(&[("reservation".into(), r)], &t);
    assert!(matches!(one(interval(100.0, 3.0, 0.0, &FAST)), Verdict::Band(w) if w.contains("error ratio 0.030")));
    assert!(matches!(one(Reading::First), Verdict::Unknown(_)));
    assert_eq!(one(interval(3.0, 1.0, 0.0, &FAST)), Verdict::Healthy, "one failure in 3 calls is no trend");
    assert_eq!(one(interval(12.0, 1.0, 0.0, &FAST)), Verdict::Band("reservation: error ratio 0.083".into()), "nor in 12");
    assert!(matches!(one(interval(3.0, 3.0, 0.0, &FAST)), Verdict::Degraded(_)), "but every call failing is, however few");
    let mixed = [("a".to_owned(), Reading::First), ("b".to_owned(), interval(100.0, 50.0, 0.0, &FAST))];
    assert!(matches!(assess(&mixed, &t), Verdict::Degraded(w) if w.starts_with("b:")), "degraded wins");
}

#[test]
fn a_service_is_judged_on_all_its_processes_together() {
    let t = Thresholds::default();
    let slow = [(0.1, 0.0), (1.0, 8.0), (f64::INFINITY, 8.0)];
    // Each pod alone is too quiet for a p95; together they are not.
    let pods = [("identity".to_owned(), interval(8.0, 0.0, 0.0, &slow)), ("identity".to_owned(), interval(8.0, 0.0, 0.0, &slow))];
    assert!(matches!(assess(&pods, &t), Verdict::Degraded(w) if w.contains("identity: latency")));
    assert_eq!(assess(&pods[..1], &t), Verdict::Healthy);
    // One failing pod of three holds the rate; two of three condemn the service.
    let lost = || Reading::Unreachable { why: "refused".into(), persistent: true };
    let three = |a: Reading, b: Reading| {
        [("eligibility".to_owned(), a), ("eligibility".to_owned(), b), ("eligibility".to_owned(), interval(100.0, 0.0, 0.0, &FAST))]
    };
    assert!(matches!(assess(&three(lost(), interval(100.0, 0.0, 0.0, &FAST)), &t), Verdict::Unknown(_)));
    assert!(matches!(assess(&three(lost(), lost()), &t), Verdict::Degraded(w) if w.contains("metrics unreachable")));
}
