//! The phone number of a booking lives in plain text only where it must: in
//! the booking request, in notification's memory for the gateway call, and
//! at the SMS gateway. The whole stack runs in this process with every log
//! line captured (TRACE, every crate); a person books end to end and gets
//! the SMS (so notification could open the sealed number), then the test
//! scans every column of every table of reservation's and notification's
//! databases (outbox and inbox included), every message the events exchange
//! carried (a private queue bound to it before the booking), and the logs of
//! our services, for the number with and without hyphens.
//!
//! One test in its own binary: the capturing subscriber is process-global.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt as _;
use lapin::{options::*, types::FieldTable, Connection, ConnectionProperties};
use sqlx::{PgPool, Row as _};
use yeyak_e2e::stack::Stack;
use yeyak_testkit::logs::Capture;

/// The forms of a number to look for: digits only and hyphenated.
fn forms(phone: &str) -> Vec<String> {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    vec![d.clone(), format!("{}-{}-{}", &d[..3], &d[3..d.len() - 4], &d[d.len() - 4..])]
}

fn found(haystack: &[u8], forms: &[String]) -> bool {
    forms.iter().any(|f| haystack.windows(f.len()).any(|w| w == f.as_bytes()))
}

/// In text: a form standing alone, not digits inside a longer run of hex or
/// digits (a TLS handshake's hex dump can hold any 11 digits).
fn found_in_text(text: &str, forms: &[String]) -> bool {
    let bytes = text.as_bytes();
    forms.iter().any(|f| {
        text.match_indices(f.as_str()).any(|(i, _)| {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(i + f.len()).copied();
            !before.is_some_and(|b| b.is_ascii_alphanumeric()) && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        })
    })
}

/// Every column of every table in `pool`'s public schema holding a form of
/// the number: bytea columns as raw bytes, everything else as text.
async fn scan_database(pool: &PgPool, forms: &[String]) -> Vec<String> {
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut hits = Vec::new();
    for c in &columns {
        let (table, column, kind): (String, String, String) = (c.get(0), c.get(1), c.get(2));
        let values: Vec<Vec<u8>> = if kind == "bytea" {
            sqlx::query_scalar(&format!(r#"SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL"#)).fetch_all(pool).await.unwrap()
        } else {
            let text: Vec<String> = sqlx::query_scalar(&format!(r#"SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL"#))
                .fetch_all(pool)
                .await
                .unwrap();
            text.into_iter().map(String::into_bytes).collect()
        };
        if values.iter().any(|v| found(v, forms)) {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

/// A private queue on the stack's events exchange, for every routing key.
async fn tap(exchange: &str) -> (Connection, lapin::Consumer) {
    let conn = Connection::connect("amqp://guest:guest@127.0.0.1:5672/%2f", ConnectionProperties::default()).await.unwrap();
    let channel = conn.create_channel().await.unwrap();
    // The services declare it as they start (each as its publisher or consumer connects), which may be
    // after the stack answers: declared here too, with the same arguments.
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(exchange.into(), lapin::ExchangeKind::Topic, durable, FieldTable::default()).await.unwrap();
    let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
    let queue = channel.queue_declare("".into(), options, FieldTable::default()).await.unwrap();
    channel
        .queue_bind(queue.name().clone(), exchange.into(), "#".into(), QueueBindOptions::default(), FieldTable::default())
        .await
        .unwrap();
    let options = BasicConsumeOptions { no_ack: true, ..Default::default() };
    let consumer = channel.basic_consume(queue.name().clone(), "personal-data".into(), options, FieldTable::default()).await.unwrap();
    (conn, consumer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_phone_number_is_nowhere_at_rest_on_the_bus_or_in_the_logs() {
    let capture = Capture::default();
    tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(capture.clone()).try_init().unwrap();
    let stack = Stack::start(500).await.expect("stack starts");
    let (conn, mut consumer) = tap(&format!("test.{}.events", stack.tag)).await;
    // A number with some variety, so that no run of zeros matches it.
    let person = (0..50)
        .map(|skip| stack.bookable_person(skip))
        .find(|p| p.phone[3..].chars().collect::<std::collections::HashSet<_>>().len() >= 5)
        .unwrap();
    let forms = forms(&person.phone);

    let outcome = yeyak_dev::demo::run(&stack.endpoints, &person, &|_| {}).await.expect("demo booking");
    // The gateway got the plain number: notification could open it.
    assert_eq!(outcome.sms_texts.len(), 1, "{:?}", outcome.sms_texts);
    let sent: serde_json::Value =
        reqwest::get(format!("{}/v1/messages?to={}", stack.endpoints.sms_gateway_url, forms[0])).await.unwrap().json().await.unwrap();
    assert_eq!(sent["messages"].as_array().map_or(0, Vec::len), 1, "{sent}");

    // The bus: every message the exchange carried until the SMS went out.
    let mut messages = Vec::new();
    while let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_secs(2), consumer.next()).await {
        messages.push((d.routing_key.to_string(), format!("{:?}", d.properties), d.data));
    }
    assert!(messages.iter().any(|(key, _, _)| key == "reservation.confirmed.v1"), "the tap saw the booking");
    let planted = b"payload with 01012345678".to_vec();
    assert!(found(&planted, &["01012345678".into()]), "the scanner finds a planted number");
    for (key, properties, payload) in &messages {
        assert!(!found(payload, &forms) && !found(properties.as_bytes(), &forms), "the number in a {key} message");
    }

    // The databases, outbox and inbox included.
    for service in ["reservation", "notification"] {
        let pool =
            yeyak_platform::db::connect(&yeyak_platform::db::DatabaseSettings::with_url(stack.database_url(service)), false).await.unwrap();
        // First prove the scan can fail: a planted number is found.
        sqlx::query("CREATE TABLE planted (note text, blob bytea)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO planted VALUES ($1, NULL), (NULL, $2)")
            .bind(format!("call {}", forms[1]))
            .bind(format!("\x01{}", forms[0]).into_bytes())
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(scan_database(&pool, &forms).await, ["planted.note", "planted.blob"]);
        sqlx::query("DROP TABLE planted").execute(&pool).await.unwrap();
        let outbox: i64 =
            sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('outbox', 'processed_events')")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(outbox, 1, "{service} has its outbox or inbox to scan");
        assert_eq!(scan_database(&pool, &forms).await, Vec::<String>::new(), "the number at rest in {service}");
        pool.close().await;
    }

    // The logs of our services (the mock third parties are not ours: the
    // mock gateway and identity providers are where the number goes).
    let logs = capture.text();
    assert!(logs.contains("\"target\":\"notification"), "the capture saw notification's logs");
    let ours: Vec<&str> = logs.lines().filter(|l| !l.contains("\"target\":\"mock_") && !l.contains("\"target\":\"yeyak_mockkit")).collect();
    assert!(found_in_text(&format!("{{\"to\":\"{}\"}}", forms[1]), &forms), "the log scanner finds a planted number");
    let leaks: Vec<&&str> = ours.iter().filter(|l| found_in_text(l, &forms)).take(5).collect();
    assert!(leaks.is_empty(), "the number in the logs:\n{leaks:#?}");

    let _ = conn.close(200, "done".into()).await;
    stack.stop().await.expect("clean stop");
}
