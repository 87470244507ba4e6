//! Ticket keys from a mounted Secret (`YEYAK_TICKET_KEYS_FILE`) are re-read
//! when the kubelet swaps the file (new directory, atomic `..data` symlink
//! swap): a whole rotation — accept the new key, sign with it, drop the old
//! one — happens on a running replica, without a restart.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, Deployment, Replica};
use tonic::Code;
use yeyak_platform::tokens::{self, HmacKey, HmacKeys, QueueTicket};
use yeyak_testkit::mount::Mounted;

const FILE: &str = "ticket-keys";

/// The key file as a Secret volume the kubelet updates.
fn mounted(text: &str) -> Mounted {
    Mounted::new("ticket-keys", &[(FILE, text)])
}

async fn code(r: &Replica, ticket: &str, who: &str) -> Code {
    r.status(ticket, who).await.map_or_else(|s| s.code(), |_| Code::Ok)
}

async fn until(r: &Replica, ticket: &str, who: &str, expected: Code, what: &str) {
    eventually(Duration::from_secs(3), what, || async { code(r, ticket, who).await == expected }).await;
}

#[tokio::test]
async fn ticket_keys_rotate_on_a_running_replica_through_a_secret_update() {
    let d = Deployment::new(&[("ADMISSION_RATE", "0.001")]);
    let t1 = d.ticket_keys.active();
    let t2 = HmacKey::new("t2", &[42; 32]);
    let mut mount = mounted(&format!("{}\n", t1.secret_spec()));
    let r = d
        .start_with(&[
            // Unset the variable form: the keys come from the file only.
            ("TICKET_KEYS", String::new()),
            ("TICKET_KEYS_FILE", mount.path(FILE).display().to_string()),
            ("KEY_RELOAD_INTERVAL_MS", "50".into()),
        ])
        .await;
    let joined = r.join(&client(1)).await.unwrap();
    assert!(joined.ticket.starts_with("v1.t1."));
    // The same ticket, signed with the key the rotation brings in.
    let claims: QueueTicket = tokens::verify_hmac(&d.ticket_keys, &joined.ticket, 0).unwrap();
    let with_t2 = tokens::sign_hmac(&HmacKeys::new(t2.clone(), []), &claims);
    assert_eq!(code(&r, &joined.ticket, &client(1)).await, Code::Ok);
    assert_eq!(code(&r, &with_t2, &client(1)).await, Code::Unauthenticated, "t2 is not accepted yet");

    // 1. t2 is accepted on every replica before anyone signs with it.
    mount.update(&[(FILE, &format!("{},{}\n", t1.secret_spec(), t2.secret_spec()))]);
    until(&r, &with_t2, &client(1), Code::Ok, "t2 to be accepted").await;
    assert!(r.join(&client(2)).await.unwrap().ticket.starts_with("v1.t1."), "t1 still signs");

    // 2. t2 signs; t1 tickets still verify.
    mount.update(&[(FILE, &format!("{},{}\n", t2.secret_spec(), t1.secret_spec()))]);
    eventually(Duration::from_secs(3), "t2 to sign", || async { r.join(&client(3)).await.unwrap().ticket.starts_with("v1.t2.") }).await;
    assert_eq!(code(&r, &joined.ticket, &client(1)).await, Code::Ok, "the old ticket keeps its place");

    // A broken file is refused: the keys in force stay.
    mount.update(&[(FILE, "t3:too-short\n")]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(code(&r, &joined.ticket, &client(1)).await, Code::Ok);
    assert!(r.join(&client(4)).await.unwrap().ticket.starts_with("v1.t2."));

    // 3. t1 is removed: its tickets are refused.
    mount.update(&[(FILE, &format!("{}\n", t2.secret_spec()))]);
    until(&r, &joined.ticket, &client(1), Code::Unauthenticated, "t1 to be removed").await;
    assert_eq!(code(&r, &with_t2, &client(1)).await, Code::Ok);
    r.stop().await;
}
