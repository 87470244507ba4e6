//! The pre-opening lottery, end to end: everyone who joined before the
//! opening gets exactly one of the first places, in an order drawn from the
//! published seed, and everyone after the opening queues behind them in order.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{client, eventually, op, Deployment};
use yeyak_proto::admission::v1::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_opening_arrivals_are_drawn_into_the_first_places_and_later_arrivals_follow_in_order() {
    let opens_at = chrono::Utc::now() + chrono::Duration::milliseconds(4000);
    let spec = format!("q1={}", opens_at.to_rfc3339());
    let d = Deployment::new(&[("QUEUE_OPENS_AT", spec.as_str()), ("ADMISSION_RATE", "1000")]);
    let r = d.start().await;
    let pre = 40;
    // Concurrent joins, so the whole pool arrives well before the opening.
    let joined = futures_util::future::join_all((0..pre).map(|i| r.join_owned(client(i)))).await;
    assert!(chrono::Utc::now() < opens_at, "precondition: every pre-opening join finished before the opening");
    let mut tickets = Vec::new();
    for j in joined {
        let j = j.unwrap();
        let status = j.status.unwrap();
        assert_eq!(status.state, QueueState::PreOpening as i32);
        assert!(status.admission_pass.is_empty(), "nobody is admitted before the opening");
        assert!(status.estimate_unknown_reason.contains("lottery"));
        assert_eq!(status.opens_at.map(|t| t.seconds), Some(opens_at.timestamp()), "the configured opening");
        tickets.push(j.ticket);
    }
    let settings = || async {
        r.operator()
            .get_admission_settings(op(GetAdmissionSettingsRequest { queue_id: "q1".into() }))
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap()
    };
    assert!(settings().await.lottery_seed.is_empty(), "the seed stays secret until the draw is final");
    tokio::time::sleep((opens_at - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(50)).await;
    for i in pre..pre + 10 {
        tickets.push(r.join(&client(i)).await.unwrap().ticket);
    }
    let mut places = Vec::new();
    for (i, t) in tickets.iter().enumerate() {
        places.push(r.status(t, &client(i)).await.unwrap().position);
    }
    let mut drawn = places[..pre].to_vec();
    drawn.sort_unstable();
    assert_eq!(drawn, (1..=pre as u64).collect::<Vec<_>>(), "every pre-opening arrival exactly once, all first");
    assert_eq!(places[pre..], (pre as u64 + 1..=pre as u64 + 10).collect::<Vec<_>>(), "then first come first served");
    assert_ne!(places[..pre], (1..=pre as u64).collect::<Vec<_>>(), "arrival order before the opening does not count");

    let s = settings().await;
    assert_eq!(s.pre_opening_joined, pre as u64);
    assert!(!s.lottery_seed.is_empty());
    for (ticket, place) in tickets[..pre].iter().zip(&places) {
        let claims: yeyak_platform::tokens::QueueTicket = yeyak_platform::tokens::verify_hmac(&d.ticket_keys, ticket, 0).unwrap();
        let k = claims.lottery_entry.expect("a pre-opening ticket carries its arrival index");
        let recomputed = 1 + admission::domain::lottery::draw(s.lottery_seed.as_bytes(), pre as u64, k);
        assert_eq!(recomputed, *place, "operators can recompute the draw from the published seed");
    }
    eventually(Duration::from_secs(5), "everyone admitted at 1000/s", || async {
        r.status(&tickets[pre + 9], &client(pre + 9)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;
    r.stop().await;
}
