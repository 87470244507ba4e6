use super::*;

#[test]
fn env_rates_are_validated() {
    let env = Env::from_pairs([("ERROR_RATE", "1.5")]);
    let err = Faults::from_env(&env).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("YEYAK_ERROR_RATE"), "{err}");
    let env = Env::from_pairs([("LATENCY_MS", "20"), ("CAPACITY", "3"), ("TIMEOUT_RATE", "0.25")]);
    let faults = Faults::from_env(&env).unwrap();
    assert_eq!((faults.latency_ms, faults.capacity, faults.timeout_rate), (20, 3, 0.25));
}

#[test]
fn partial_updates_keep_other_fields_and_reject_bad_rates() {
    let injector = FaultInjector::new(Faults { latency_ms: 5, ..Faults::default() });
    let after = injector.update(FaultsUpdate { error_rate: Some(0.5), ..FaultsUpdate::default() }).unwrap();
    assert_eq!((after.latency_ms, after.error_rate), (5, 0.5));
    let bad = injector.update(FaultsUpdate { timeout_rate: Some(-0.1), latency_ms: Some(9), ..Default::default() });
    assert_eq!(bad.unwrap_err().message, "timeout_rate: must be between 0 and 1");
    assert_eq!(injector.current().latency_ms, 5, "a rejected update changes nothing");
}

#[test]
fn lognormal_delays_have_the_configured_percentiles() {
    use rand::SeedableRng as _;
    let faults = Faults { latency_p50_ms: 40, latency_p99_ms: 400, ..Faults::default() };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut draws: Vec<f64> = (0..20_000).map(|_| faults.sample_delay(&mut rng).as_secs_f64() * 1000.0).collect();
    draws.sort_by(f64::total_cmp);
    let (p50, p99) = (draws[10_000], draws[19_800]);
    assert!((36.0..44.0).contains(&p50), "p50 {p50}");
    assert!((340.0..470.0).contains(&p99), "p99 {p99}");
    let fixed = Faults { latency_ms: 5, latency_p50_ms: 10, ..Faults::default() };
    assert_eq!(fixed.sample_delay(&mut rng), Duration::from_millis(15), "p99 0 means always the median");
}

#[test]
fn distribution_and_over_capacity_are_validated() {
    let err = Faults::from_env(&Env::from_pairs([("LATENCY_P50_MS", "50"), ("LATENCY_P99_MS", "10")])).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("YEYAK_LATENCY_P99_MS"), "{err}");
    let err = Faults::from_env(&Env::from_pairs([("OVER_CAPACITY", "explode")])).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("YEYAK_OVER_CAPACITY"), "{err}");
    let faults = Faults::from_env(&Env::from_pairs([("OVER_CAPACITY", "slow"), ("HANG_MS", "250")])).unwrap();
    assert_eq!((faults.over_capacity, faults.hang_ms), (OverCapacity::Slow, 250));
    let json: Faults = serde_json::from_str(r#"{"error_rate": 0.5}"#).unwrap();
    assert_eq!((json.error_rate, json.hang_ms), (0.5, 30_000), "missing fields take their defaults");
}

#[tokio::test]
async fn over_capacity_is_refused_or_queued() {
    let injector = FaultInjector::new(Faults { capacity: 1, ..Faults::default() });
    let first = injector.admit().await.unwrap();
    assert!(injector.admit().await.is_none(), "error mode refuses at once");
    assert_eq!(injector.in_flight(), 1);
    injector.update(FaultsUpdate { over_capacity: Some(OverCapacity::Slow), ..Default::default() }).unwrap();
    let queued = tokio::spawn({
        let injector = injector.clone();
        async move { injector.admit().await.is_some() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!queued.is_finished(), "slow mode waits for a slot");
    drop(first);
    assert!(tokio::time::timeout(Duration::from_secs(1), queued).await.unwrap().unwrap(), "admitted once the slot is freed");
    assert_eq!(injector.in_flight(), 0);
    injector.update(FaultsUpdate { hang_ms: Some(30), ..Default::default() }).unwrap();
    let _held = injector.admit().await.unwrap();
    let started = std::time::Instant::now();
    assert!(injector.admit().await.is_none(), "a queued request gives up after hang_ms");
    assert!(started.elapsed() >= Duration::from_millis(30));
}
