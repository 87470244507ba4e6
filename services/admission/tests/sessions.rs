//! Seats: at most `max_active_sessions` admitted at once; a seat comes back
//! when its session ends or its pass expires. Draining closes the line to
//! newcomers but still admits everyone waiting.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, op, Deployment};
use tonic::Code;
use yeyak_proto::admission::v1::*;

async fn admitted(r: &common::Replica, tickets: &[String]) -> usize {
    let mut n = 0;
    for (i, t) in tickets.iter().enumerate() {
        if r.status(t, &client(i)).await.unwrap().state == QueueState::Admitted as i32 {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn seats_are_capped_and_come_back_when_a_session_ends() {
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("MAX_ACTIVE_SESSIONS", "2")]);
    let r = d.start().await;
    let mut tickets = Vec::new();
    for i in 0..4 {
        tickets.push(r.join(&client(i)).await.unwrap().ticket);
    }
    eventually(Duration::from_secs(3), "two seats filled", || async { admitted(&r, &tickets).await == 2 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(admitted(&r, &tickets).await, 2, "no third seat while two are active");
    let waiting = r.status(&tickets[2], &client(2)).await.unwrap();
    assert_eq!(waiting.state, QueueState::Waiting as i32);

    let ended = r.queue().end_session(EndSessionRequest { ticket: tickets[0].clone(), client_id: client(0) }).await.unwrap().into_inner();
    assert_eq!(ended.status.unwrap().state, QueueState::SessionEnded as i32);
    assert!(r.status(&tickets[0], &client(0)).await.unwrap().admission_pass.is_empty(), "no new pass after the session ended");
    eventually(Duration::from_secs(3), "the freed seat goes to the next in line", || async {
        r.status(&tickets[2], &client(2)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    let not_admitted = r.queue().end_session(EndSessionRequest { ticket: tickets[3].clone(), client_id: client(3) }).await.unwrap_err();
    assert_eq!(not_admitted.code(), Code::FailedPrecondition);
    r.stop().await;
}

#[tokio::test]
async fn an_expired_pass_gives_its_seat_back() {
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("MAX_ACTIVE_SESSIONS", "1"), ("PASS_TTL_SECONDS", "1")]);
    let r = d.start().await;
    let a = r.join(&client(0)).await.unwrap().ticket;
    let b = r.join(&client(1)).await.unwrap().ticket;
    eventually(Duration::from_secs(2), "first admitted", || async {
        r.status(&a, &client(0)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    let pass = r.status(&a, &client(0)).await.unwrap();
    let expires = pass.pass_expires_at.unwrap().seconds;
    assert!(expires <= chrono::Utc::now().timestamp() + 1, "the pass lives as long as its seat");
    eventually(Duration::from_secs(4), "second admitted after the first seat expired", || async {
        r.status(&b, &client(1)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    assert_eq!(r.status(&a, &client(0)).await.unwrap().state, QueueState::SessionEnded as i32);
    r.stop().await;
}

#[tokio::test]
async fn draining_closes_the_line_but_admits_everyone_waiting() {
    let d = Deployment::new(&[("ADMISSION_RATE", "50")]);
    let r = d.start().await;
    let mut tickets = Vec::new();
    for i in 0..5 {
        tickets.push(r.join(&client(i)).await.unwrap().ticket);
    }
    let settings = r.operator().drain_queue(op(DrainQueueRequest { queue_id: "q1".into() })).await.unwrap().into_inner().settings.unwrap();
    assert!(settings.closed);
    assert_eq!(r.join(&client(9)).await.unwrap_err().code(), Code::FailedPrecondition);
    eventually(Duration::from_secs(3), "all five admitted", || async { admitted(&r, &tickets).await == 5 }).await;
    r.stop().await;
}

#[tokio::test]
async fn a_booking_event_frees_the_seat_of_the_place_that_booked() {
    let d = Deployment::new(&[("ADMISSION_RATE", "100"), ("MAX_ACTIVE_SESSIONS", "1")]);
    let r = d.start().await;
    let a = r.join(&client(0)).await.unwrap().ticket;
    let b = r.join(&client(1)).await.unwrap().ticket;
    eventually(Duration::from_secs(3), "first admitted", || async {
        r.status(&a, &client(0)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    let position = r.status(&a, &client(0)).await.unwrap().position;
    common::publish_booking(&d, position, "").await;
    eventually(Duration::from_secs(5), "the freed seat goes to the next in line", || async {
        r.status(&b, &client(1)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    assert_eq!(r.status(&a, &client(0)).await.unwrap().state, QueueState::SessionEnded as i32);
    r.stop().await;
}
