use super::{render, view::Evening};

fn samples(text: &str) -> Vec<prometheus_parse::Sample> {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).map(|s| s.samples).unwrap_or_default()
}

const ADMISSION: &str = "# TYPE yeyak_queue_waiting gauge
yeyak_queue_waiting{service=\"admission\",event=\"demo\"} 1200
yeyak_queue_last_place_wait_seconds{service=\"admission\",event=\"demo\"} NaN
yeyak_queue_paused{service=\"admission\",event=\"demo\"} 0
yeyak_queue_admission_rate_configured{service=\"admission\",event=\"demo\"} 50
# TYPE yeyak_funnel counter
yeyak_funnel_total{service=\"admission\",event=\"demo\",stage=\"joined\"} 1500
yeyak_funnel_total{service=\"admission\",event=\"demo\",stage=\"admitted\"} 300
# EOF
";

#[test]
fn replicas_add_their_funnel_shares_and_a_provider_shows_its_worst_light() {
    let mut evening = Evening::default();
    evening.add(&samples(ADMISSION));
    evening.add(&samples(
        "yeyak_funnel_total{service=\"reservation\",event=\"demo\",stage=\"booked\"} 20
yeyak_identity_provider_status{service=\"identity\",provider=\"pass\"} 0
yeyak_grpc_server_shed_total{service=\"reservation\"} 3",
    ));
    evening.add(&samples(
        "yeyak_funnel_total{service=\"reservation\",event=\"demo\",stage=\"booked\"} 22
yeyak_identity_provider_status{service=\"identity\",provider=\"pass\"} 2
yeyak_grpc_server_shed_total{service=\"reservation\"} 4",
    ));
    let demo = &evening.events["demo"];
    assert_eq!(demo.stage("joined"), 1500.0);
    assert_eq!(demo.stage("booked"), 42.0);
    assert_eq!(demo.waiting, Some(1200.0));
    assert_eq!(demo.last_place_wait_seconds, None, "NaN is no estimate, not zero");
    assert_eq!(demo.paused, Some(false));
    assert_eq!(evening.providers["pass"], "RED");
    assert_eq!(evening.shed["reservation"], 7.0);
    assert_eq!(evening.answered, 3);
}

#[test]
fn the_text_names_what_nobody_reported_and_who_did_not_answer() {
    let mut evening = Evening::default();
    evening.add(&samples(ADMISSION));
    evening.unreachable.push("http://10.0.0.9:9105/metrics: connection refused".into());
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T21:00:00+09:00").unwrap_or_default();
    let text = render::text(&evening, at);
    assert!(text.contains("1 of 2 metrics endpoints answered"), "{text}");
    assert!(text.contains("event demo: admitting at 50/s (measured -), seats -/-"), "{text}");
    assert!(text.contains("waiting 1,200, admitted -; wait: no honest estimate yet"), "{text}");
    assert!(text.contains("joined 1,500 > admitted 300 > identity 0"), "{text}");
    assert!(text.contains("NOT ANSWERING: http://10.0.0.9:9105/metrics"), "{text}");
}

#[test]
fn one_event_is_kept_when_asked_for() {
    let mut evening = Evening::default();
    evening.add(&samples(ADMISSION));
    evening.add(&samples("yeyak_funnel_total{service=\"admission\",event=\"other\",stage=\"joined\"} 1"));
    let only = evening.only(Some("other"));
    assert_eq!(only.events.keys().collect::<Vec<_>>(), ["other"]);
}
