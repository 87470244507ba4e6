//! A supply change end to end as people see it: the real inventory, the
//! reservation process, notification and the mock SMS gateway. Closing a
//! clinic's day moves some bookings and cancels the rest, and each person
//! gets exactly one SMS saying which (with their booking code), however
//! long one waits for a second.
#![allow(clippy::unwrap_used)]
mod common;
mod supply_world;

use std::{collections::HashMap, time::Duration};

use serde_json::Value;
use uuid::Uuid;
use yeyak_platform::{config::Env, db, Shutdown};

use supply_world::{jeju_clinic, phone, World};

/// What the gateway "sent": (to, text).
async fn sent(http: &reqwest::Client, sms: &str) -> Vec<(String, String)> {
    let body: Value = http.get(format!("{sms}/v1/messages")).send().await.unwrap().json().await.unwrap();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    messages.iter().map(|m| (m["to"].as_str().unwrap_or_default().to_owned(), m["text"].as_str().unwrap_or_default().to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_gets_one_sms_saying_what_changed() {
    let world = World::start(3).await;
    let gateway = mock_sms::Application::build(mock_sms::Config::new("127.0.0.1:0")).await.unwrap();
    let sms = format!("http://{}", gateway.address());
    let sms_stop = Shutdown::new();
    tokio::spawn(gateway.run_until_stopped(sms_stop.clone()));
    let notification_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}_ntf", world.tag);
    let env = Env::from_pairs([
        ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("METRICS_ADDR", "off".to_owned()),
        ("DATABASE_URL", notification_url.clone()),
        ("AMQP_EXCHANGE", world.amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX", world.amqp.queue_prefix.clone()),
        ("SMS_GATEWAYS", format!("kt={sms}")),
        ("CONTACT_KEYS", world.keys.contact.secret_spec()),
        ("TRUSTED_KEYS", world.keys.trusted()),
    ]);
    let notification = notification::startup::Application::build(notification::config::Config::from_env(&env).unwrap()).await.unwrap();
    let notification_stop = Shutdown::new();
    let notification_task = tokio::spawn(notification.run_until_stopped(notification_stop.clone()));

    let clinic = jeju_clinic("50110", 1);
    let vaccine = clinic.vaccines[0];
    let day = world.first_day;
    let closed = world.slots(&clinic, vaccine, day, 1);
    // The clinic's next day takes 200 of the 320; its neighbours a few more.
    world.set_capacity(&clinic, &world.slots(&clinic, vaccine, day + chrono::Days::new(1), 2), 0).await;
    world.set_capacity(&clinic, &world.slots(&clinic, vaccine, day + chrono::Days::new(1), 1), 25).await;
    world.set_neighbours_capacity(&clinic, 1).await;
    let ids = world.seed_bookings(&clinic, &closed, 40, true).await;
    let codes: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>("SELECT reservation_id, booking_code FROM reservations")
        .fetch_all(&world.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let process = world.spawn_reservation(2).await;
    let change = world.close_day(&clinic, day, false).await;
    world.wait_done(&change.change_id, Duration::from_secs(60)).await;
    let outcome: HashMap<Uuid, String> =
        sqlx::query_as("SELECT reservation_id, state FROM supply_change_items").fetch_all(&world.pool).await.unwrap().into_iter().collect();
    let moved = outcome.values().filter(|s| *s == "moved").count();
    println!("moved {moved}, cancelled {}", outcome.len() - moved);
    assert!(moved >= 200 && moved < ids.len(), "some moved, some cancelled");

    let http = reqwest::Client::new();
    common::eventually(Duration::from_secs(60), "an SMS for every person", || async {
        (sent(&http, &sms).await.len() >= ids.len()).then_some(())
    })
    .await;
    // Anything sent twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = sent(&http, &sms).await;
    assert_eq!(messages.len(), ids.len(), "one SMS per person, no more");
    let by_phone: HashMap<String, String> = messages.into_iter().collect();
    for (n, id) in ids.iter().enumerate() {
        let text = by_phone.get(&phone(n)).unwrap_or_else(|| panic!("no SMS to person {n}"));
        let code = &codes[id];
        assert!(text.contains(&format!("{}-{}", &code[..4], &code[4..])), "{text} names the booking");
        let expected =
            if outcome[id] == "moved" { "일정 변경으로 예약이" } else { "일정 변경으로 예약이 취소되었습니다" };
        assert!(text.contains(expected), "{text}");
        assert_eq!(outcome[id] == "moved", text.contains("옮겨졌습니다"), "{text}");
    }
    process.kill().await;
    notification_stop.trigger();
    tokio::time::timeout(Duration::from_secs(20), notification_task).await.unwrap().unwrap().unwrap();
    sms_stop.trigger();
    db::drop_database(&db::DatabaseSettings::with_url(notification_url)).await.unwrap();
    world.stop_with(&[notification::consumers::reservations::QUEUE]).await;
}
