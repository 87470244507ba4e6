//! The plan against a synthetic run whose every figure is worked out by hand
//! in the comments.
use std::collections::BTreeMap;

use super::*;
use crate::report::model::{RpcLatency, ServiceCpu, Summary};

/// 1,000 bookings; 2,000 joins and 8,000 polls; CPU seconds per process.
fn measured() -> Summary {
    let cpu = |service: &str, cpu_seconds: f64| ServiceCpu { service: service.to_owned(), cpu_seconds, ms_per_booking: cpu_seconds };
    let calls = |rpc: &str, count: u64| RpcLatency { rpc: rpc.to_owned(), count, ..RpcLatency::default() };
    let mut summary = Summary { bookings: 1_000, people: 1_200, duration_seconds: 100.0, ..Summary::default() };
    summary.cpu = vec![
        cpu("admission", 10.0),
        cpu("identity", 20.0),
        cpu("eligibility", 5.0),
        cpu("inventory", 4.0),
        cpu("reservation", 8.0),
        cpu("notification", 2.0),
        cpu("postgres", 6.0),
        cpu("redis", 1.0),
        cpu("mock-registry", 3.0),
    ];
    summary.latency = vec![calls("admission/JoinQueue", 2_000), calls("admission/GetQueueStatus", 8_000), calls("reservation/Book", 1_000)];
    summary.scenario.full_size = full_map(&[]);
    summary
}

/// 1.5 M bookings and 6 M joins over a 10-minute peak (600 s), 3 M waiting
/// polling twice a minute, admission at 2,000/s.
fn full_map(overrides: &[(&str, f64)]) -> BTreeMap<String, f64> {
    let mut map: BTreeMap<String, f64> =
        [("bookings", 1.5e6), ("requests", 6e6), ("peak_minutes", 10.0), ("waiting", 3e6), ("admission_rate_per_second", 2_000.0)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    map.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), *v)));
    map
}

fn full(overrides: &[(&str, f64)]) -> FullSize {
    FullSize::from_map(&full_map(overrides)).unwrap()
}

fn cores_and_replicas(plan: &CapacityPlan) -> Vec<(&str, u32, u32)> {
    plan.services.iter().map(|s| (s.service.as_str(), s.cores, s.replicas)).collect()
}

#[test]
fn cores_and_replicas_follow_the_measured_costs_by_hand() {
    let plan = plan(&full(&[]), &measured(), 0.25).unwrap();
    // booked/s = min(2,000, 1.5 M / 600 s = 2,500) = 2,000.
    assert_eq!(plan.booked_per_second, 2_000.0);
    // Waiting room: 10 s / 10,000 calls = 1 ms; 6 M / 600 = 10,000 joins/s,
    // 3 M × 2 / 60 = 100,000 polls/s.
    assert_eq!(plan.waiting_room.joins_per_second, 10_000.0);
    assert_eq!(plan.waiting_room.polls_per_second, 100_000.0);
    assert!((plan.waiting_room.cpu_us_per_request - 1_000.0).abs() < 1e-9);
    assert_eq!(
        cores_and_replicas(&plan),
        [
            // 1 ms × 110,000/s = 110 × 1.25 = 137.5 → 138; 138 / 2 = 69.
            ("admission", 138, 69),
            // 20 ms × 2,000/s = 40 × 1.25 = 50 (exactly: no 51st core for float error); 25.
            ("identity", 50, 25),
            // 5 ms → 10 × 1.25 = 12.5 → 13; 6.5 → 7.
            ("eligibility", 13, 7),
            // 4 ms → 8 × 1.25 = 10; 5.
            ("inventory", 10, 5),
            // 8 ms → 16 × 1.25 = 20; 10.
            ("reservation", 20, 10),
            // 2 ms → 4 × 1.25 = 5; 2.5 → 3.
            ("notification", 5, 3),
        ]
    );
    assert_eq!(plan.service("identity").unwrap().cpu_ms_per_booking, 20.0);
    assert_eq!((plan.total_cores(), plan.total_replicas()), (236, 119));
    // PostgreSQL: 6 ms × 2,000 × 1.25 = 15. Redis: max(1 ms × 2,000 = 2,
    // 1 s / 2,000 joins × 10,000 joins/s = 5) × 1.25 = 6.25 → 7.
    let stores = plan.data_store_cores();
    assert_eq!(stores["postgres"], Some(15));
    assert_eq!(stores["redis"], Some(7));
    assert_eq!(stores["rabbitmq"], None);
    // 1.5 M booked × 800 B, nothing per waiting person.
    assert_eq!(plan.redis_memory_bytes, 1.2e9);
    assert_eq!(plan.not_sized, ["mock-registry"]);
}

#[test]
fn the_admission_rate_bounds_the_booking_path_and_small_needs_keep_two_replicas() {
    let plan = plan(&full(&[("admission_rate_per_second", 500.0), ("waiting", 0.0), ("requests", 100.0)]), &measured(), 0.0).unwrap();
    assert_eq!(plan.booked_per_second, 500.0);
    // Admission: 1 ms × 100 / 600 joins/s = 0.17 → 1 core, still 2 replicas.
    // Identity: 20 ms × 500 = 10; notification: 2 ms × 500 = 1.
    assert_eq!(&cores_and_replicas(&plan)[..2], [("admission", 1, 2), ("identity", 10, 5)]);
    assert_eq!(plan.service("notification").map(|s| (s.cores, s.replicas)), Some((1, 2)));
}

#[test]
fn admission_follows_per_call_costs_when_given_and_they_are_checked() {
    let options =
        PlanOptions { headroom: 0.25, admission_us_per_call: Some(PerCall { join_us: 60.0, poll_us: 12.0 }), ..Default::default() };
    let plan = plan_with(&full(&[]), &measured(), &options).unwrap();
    // 60 µs × 10,000 joins/s + 12 µs × 100,000 polls/s = 1.8 s/s × 1.25 = 2.25 → 3 cores (138 from the run's average).
    assert_eq!(plan.service("admission").map(|s| (s.cores, s.replicas)), Some((3, 2)));
    // The booking path is unchanged.
    assert_eq!(plan.service("identity").map(|s| s.cores), Some(50));
    assert!(plan.to_string().contains("60 µs per join, 12 µs per poll"), "{plan}");
    let zero = PlanOptions { admission_us_per_call: Some(PerCall { join_us: 0.0, poll_us: 12.0 }), ..Default::default() };
    let refused = plan_with(&full(&[]), &measured(), &zero).unwrap_err().to_string();
    assert!(refused.contains("admission µs per call"), "{refused}");
}

#[test]
fn replicas_follow_the_configured_replica_size() {
    let options = PlanOptions { headroom: 0.25, cores_per_replica: 4.0, ..PlanOptions::default() };
    let plan = plan_with(&full(&[]), &measured(), &options).unwrap();
    // 138 / 4 = 34.5 → 35; 50 / 4 = 12.5 → 13; 5 / 4 → 2.
    assert_eq!(plan.service("admission").map(|s| s.replicas), Some(35));
    assert_eq!(plan.service("identity").map(|s| s.replicas), Some(13));
    assert_eq!(plan.service("notification").map(|s| s.replicas), Some(2));
}

#[test]
fn a_missing_full_size_key_is_named() {
    let mut summary = measured();
    summary.scenario.full_size.remove("peak_minutes");
    let err = FullSize::from_map(&summary.scenario.full_size).unwrap_err().to_string();
    assert!(err.contains("full_size.peak_minutes"), "{err}");
}

#[test]
fn a_run_without_a_service_cpu_or_bookings_is_refused() {
    let mut summary = measured();
    summary.cpu.retain(|c| c.service != "identity");
    let err = plan(&full(&[]), &summary, 0.3).unwrap_err().to_string();
    assert!(err.contains("no CPU figure for identity"), "{err}");
    summary.cpu.clear();
    assert!(plan(&full(&[]), &summary, 0.3).unwrap_err().to_string().contains("pids file"));
    let none_booked = Summary { bookings: 0, ..measured() };
    assert!(plan(&full(&[]), &none_booked, 0.3).unwrap_err().to_string().contains("booked nobody"));
    assert!(plan(&full(&[]), &measured(), -0.1).unwrap_err().to_string().contains("headroom"));
}

#[test]
fn a_broken_budget_names_the_biggest_service_and_the_excess() {
    let plan = plan(&full(&[]), &measured(), 0.25).unwrap();
    assert_eq!(plan.fits_budget(236.0), None);
    assert_eq!(plan.fits_budget(200.0).unwrap(), "admission needs 138 of the 200 cores: the services need 236 in all, 36 over");
    // Without a crowd to poll, identity is the biggest: 1 + 50 + 13 + 10 + 20 + 5 = 99.
    let quiet = super::plan(&full(&[("waiting", 0.0), ("requests", 0.0)]), &measured(), 0.25).unwrap();
    assert_eq!(quiet.fits_budget(47.6).unwrap(), "identity needs 50 of the 47.6 cores: the services need 99 in all, 51.4 over");
}

#[test]
fn the_table_names_every_service_and_what_was_not_measured() {
    let text = plan(&full(&[]), &measured(), 0.25).unwrap().to_string();
    for service in SERVICES {
        assert!(text.contains(service), "{service} missing from:\n{text}");
    }
    assert!(text.contains("rabbitmq   not measured"), "{text}");
    assert!(text.contains("redis      7 cores"), "{text}");
    assert!(text.contains("total"), "{text}");
    assert!(text.contains("mock-registry"), "{text}");
    assert!(text.contains("the admission rate bounds it"), "{text}");
}

#[test]
fn helm_values_use_the_chart_keys_and_carry_the_pre_scaling_schedule() {
    let values = plan(&full(&[]), &measured(), 0.25).unwrap().to_helm_values();
    let lines: Vec<&str> = values.lines().collect();
    let block = |service: &str| {
        let at = lines.iter().position(|l| *l == format!("{service}:")).unwrap_or_else(|| panic!("no {service}: in\n{values}"));
        lines[at + 1..at + 5].to_vec()
    };
    // 138 cores over 69 replicas: 2,000m each, the limit one replica's 2 cores.
    assert_eq!(block("admission"), ["  replicas: 69", "  resources:", "    requests: {cpu: \"2000m\"}", "    limits: {cpu: \"2000m\"}"]);
    // 5 cores over 3 replicas: 1,666.7 → 1,667m; 13 over 7: 1,857.1 → 1,858m.
    assert_eq!(block("notification")[2], "    requests: {cpu: \"1667m\"}");
    assert_eq!(block("eligibility")[2], "    requests: {cpu: \"1858m\"}");
    // Every line is a comment, a top-level service key or indented under one.
    for line in &lines {
        assert!(line.starts_with('#') || line.starts_with("  ") || SERVICES.iter().any(|s| *line == format!("{s}:")), "{line}");
    }
    // Up at 19:30 for the 20:00 opening, down after the 10-minute peak.
    assert!(values.contains("#       - {start: \"30 19 * * *\", end: \"10 20 * * *\", desiredReplicas: 69}"), "{values}");
    assert!(values.contains("#   autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 25}"), "{values}");
}

#[test]
fn the_pre_scaling_schedule_wraps_around_midnight() {
    let options = PlanOptions { opening: (0, 10), ..PlanOptions::default() };
    let values = plan_with(&full(&[("peak_minutes", 90.5)]), &measured(), &options).unwrap().to_helm_values();
    // 00:10 − 30 min = 23:40; 00:10 + 91 min = 01:41.
    assert!(values.contains("{start: \"40 23 * * *\", end: \"41 1 * * *\""), "{values}");
}
