//! `yeyak-ctl deliveries`, `dead-letters` and `sms resend` as an operator
//! runs them: the real binary against a real notification (PostgreSQL,
//! RabbitMQ) in front of a mock-sms gateway, every SMS counted there.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{notification::Notification, OPERATOR, SUPPORT};
use serde_json::Value;
use uuid::Uuid;
use yeyak_platform::contact::ContactKeys;

fn phone() -> String {
    format!("010{:08}", Uuid::new_v4().as_u128() % 100_000_000)
}

/// Polls `check` for up to 20 s.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(found) = check() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sms_is_replayed_once_and_a_lost_one_resent_once() {
    let keys = ContactKeys::generate("ctl-a");
    let ntf = Notification::start(&keys).await;
    let ctl = |args: &[&str]| ntf.ctl(OPERATOR, args);
    let empty = ctl(&["deliveries", "list"]).ok_text();
    assert_eq!(empty.matches("no delivery is failed, unknown or discarded").count(), 1, "the counts once: {empty}");
    ntf.sms_down(true).await;
    let (reservation, phone) = (Uuid::new_v4(), phone());
    ntf.confirm(Uuid::now_v7(), reservation, &phone, &keys).await;
    let listed = eventually("a failed delivery", || {
        let list = ctl(&["--json", "deliveries", "list", "--state", "failed"]).ok_json();
        (list["states"]["failed"]["deliveries"].as_array().unwrap().len() == 1).then_some(list)
    })
    .await;
    let failed = &listed["states"]["failed"]["deliveries"][0];
    let id = failed["message_id"].as_str().unwrap().to_owned();
    assert_eq!((failed["number_kept"].as_bool(), failed["gateway"].as_str()), (Some(true), Some("")), "{failed}");
    let text = ctl(&["deliveries", "list"]).ok_text();
    assert!(text.contains("deliveries: failed 1") && text.contains("dead-lettered events: 0") && text.contains("010-****-"), "{text}");
    assert!(!text.contains(&phone), "never the number: {text}");

    let dry = ctl(&["deliveries", "replay", &id, "--dry-run"]).ok_text();
    assert!(dry.starts_with("dry run, nothing changed; would replay it"), "{dry}");
    let refused = ntf.ctl(SUPPORT, &["deliveries", "replay", &id]).failed();
    assert!(refused.contains("PermissionDenied"), "{refused}");
    ntf.sms_down(false).await;
    assert!(ctl(&["deliveries", "replay", &id]).ok_text().starts_with("done"));
    eventually("the replay to be sent", || {
        (ctl(&["--json", "deliveries", "show", &id]).ok_json()["delivery"]["state"] == "sent").then_some(())
    })
    .await;
    let again = ctl(&["--json", "deliveries", "replay", &id]).ok_json();
    assert_eq!(again["outcome"], "already_sent", "{again}");
    assert_eq!(ntf.sms_sent().await, std::slice::from_ref(&id), "replayed: sent once");

    // The person lost it: one new SMS, with its own message id.
    let dry = ctl(&["sms", "resend", &reservation.to_string(), "--dry-run"]).ok_text();
    assert!(dry.starts_with(&format!("dry run, nothing queued; would resend message {id}")), "{dry}");
    let resend = ctl(&["--json", "sms", "resend", &reservation.to_string()]).ok_json();
    let resend_id = resend["delivery"]["message_id"].as_str().unwrap().to_owned();
    assert_eq!(resend["delivery"]["resend_of"], id.as_str(), "{resend}");
    eventually("the resend to be sent", || {
        (ctl(&["--json", "deliveries", "show", &resend_id]).ok_json()["delivery"]["state"] == "sent").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ntf.sms_sent().await, [id.clone(), resend_id], "the original and one resend");
    assert!(ctl(&["deliveries", "discard", &id]).ok_text().starts_with("nothing to do: already sent"));
    let unknown = ctl(&["deliveries", "show", &Uuid::new_v4().to_string()]).failed();
    assert!(unknown.contains("NotFound"), "{unknown}");
    assert!(ctl(&["deliveries", "show", "nope"]).failed().contains("message_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_counted_replayed_once_the_key_is_deployed_and_discarded() {
    let (old, new) = (ContactKeys::generate("ctl-old"), ContactKeys::generate("ctl-new"));
    let mut ntf = Notification::start(&old).await;
    // Sealed to a key this deployment does not hold yet: dead-lettered.
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    ntf.confirm(first, Uuid::new_v4(), &phone(), &new).await;
    ntf.confirm(first, Uuid::new_v4(), &phone(), &new).await; // a duplicate of the first
    ntf.confirm(second, Uuid::new_v4(), &phone(), &new).await;
    let listed = eventually("three dead letters", || {
        let list = ntf.ctl(SUPPORT, &["--json", "dead-letters", "list"]).ok_json();
        (list["count"] == 3).then_some(list)
    })
    .await;
    let events: Vec<&str> = listed["messages"].as_array().unwrap().iter().map(|m| m["event_id"].as_str().unwrap()).collect();
    assert_eq!(events, [first.to_string(), first.to_string(), second.to_string()]);
    assert_eq!(listed["messages"][0]["routing_key"], "reservation.confirmed.v1");
    assert_eq!(listed["messages"][0]["reason"], "rejected");
    let text = ntf.ctl(SUPPORT, &["dead-letters", "list"]).ok_text();
    assert!(text.contains(": 3 dead-lettered") && text.contains("rejected from"), "{text}");

    ntf.restart_with(old.rotated_to(new.clone())).await;
    let dry = ntf.ctl(OPERATOR, &["dead-letters", "replay", "--all", "--dry-run"]).ok_text();
    assert!(dry.starts_with("dry run, nothing changed; would replay 3 of 3"), "{dry}");
    assert!(ntf.ctl(SUPPORT, &["dead-letters", "replay", "--all"]).failed().contains("PermissionDenied"));
    let replayed: Value = ntf.ctl(OPERATOR, &["--json", "dead-letters", "replay", "--all"]).ok_json();
    assert_eq!((replayed["replay"].as_u64(), replayed["remaining"].as_u64()), (Some(3), Some(0)), "{replayed}");
    eventually("two SMS", || {
        let sent = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(ntf.sms_sent()));
        (sent.len() == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ntf.sms_sent().await.len(), 2, "two events, three messages: the duplicate sent nothing");
    assert_eq!(ntf.ctl(SUPPORT, &["--json", "dead-letters", "list"]).ok_json()["count"], 0);

    // One nobody can read: dropped.
    ntf.confirm(Uuid::now_v7(), Uuid::new_v4(), &phone(), &ContactKeys::generate("ctl-stranger")).await;
    eventually("one dead letter", || {
        (ntf.ctl(SUPPORT, &["--json", "dead-letters", "list", "--limit", "0"]).ok_json()["count"] == 1).then_some(())
    })
    .await;
    assert!(ntf.ctl(OPERATOR, &["dead-letters", "discard", "--limit", "5", "--dry-run"]).ok_text().contains("would discard 1 of 1"));
    let gone = ntf.ctl(OPERATOR, &["dead-letters", "discard", "--limit", "5"]).ok_text();
    assert!(gone.starts_with("discarded 1; 0 left"), "{gone}");
    assert!(ntf.ctl(OPERATOR, &["dead-letters", "replay"]).failed_usage().contains("--limit"));
}
