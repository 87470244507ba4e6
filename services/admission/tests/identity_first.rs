//! Identity-first events (issue #18, §4): the event asks who is joining,
//! and its pre-opening lottery holds exactly one entry per person, however
//! many times and from however many clients or replicas they join, and
//! after Redis lost the queue's state. Real servers on port 0, real Redis
//! and PostgreSQL; the assertions are signed as identity signs them.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{client, eventually, op, Deployment, Replica};
use tonic::Code;
use tonic_types::StatusExt as _;
use yeyak_platform::{
    grpc::status::field_violations,
    tokens::{self, IdentityAssertion, Issuer, SigningKey},
};
use yeyak_proto::admission::v1::*;

fn assertion(key: &SigningKey, subject: &str, verified_in: &str, lifetime: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = IdentityAssertion {
        subject: subject.to_owned(),
        birth_date: "1970-01-01".into(),
        name: "홍*동".into(),
        provider: "carrier".into(),
        assurance_level: 1,
        session_id: uuid::Uuid::new_v4().simple().to_string(),
        queue_id: verified_in.to_owned(),
        issued_at: now - 10,
        expires_at: now + lifetime,
    };
    tokens::sign(key, &claims)
}

async fn join(r: &Replica, client: &str, assertion: &str) -> Result<JoinQueueResponse, tonic::Status> {
    let req = JoinQueueRequest {
        queue_id: "q1".into(),
        client_id: client.into(),
        existing_ticket: String::new(),
        identity_assertion: assertion.into(),
    };
    r.queue().join_queue(req).await.map(|r| r.into_inner())
}

async fn pre_opening_joined(r: &Replica) -> u64 {
    let settings = r.operator().get_admission_settings(op(GetAdmissionSettingsRequest { queue_id: "q1".into() })).await;
    settings.unwrap().into_inner().settings.unwrap().pre_opening_joined
}

#[tokio::test]
async fn the_lottery_holds_one_entry_per_person_whatever_they_join_with() {
    let identity = SigningKey::generate(Issuer::Identity, "id1");
    let opens = chrono::Utc::now() + chrono::Duration::seconds(4);
    let d = Deployment::new(&[
        ("QUEUE_IDS", "q1,q1-verify"),
        ("JOIN_REQUIRE_IDENTITY", "q1=q1-verify"),
        ("TRUSTED_KEYS", &identity.trusted_entry()),
        ("QUEUE_OPENS_AT", &format!("q1={}", opens.to_rfc3339())),
    ]);
    let (r1, r2) = (d.start().await, d.start().await);

    // Refusals, none of which takes an entry.
    let missing = join(&r1, &client(1), "").await.unwrap_err();
    assert_eq!(missing.code(), Code::FailedPrecondition, "{missing:?}");
    let info = missing.get_details_error_info().unwrap();
    assert_eq!((info.reason.as_str(), info.metadata["verify_in_queue"].as_str()), ("IDENTITY_REQUIRED", "q1-verify"));
    let stranger = SigningKey::generate(Issuer::Identity, "id1");
    for (what, token) in [
        ("signed by another key", assertion(&stranger, "subject-a", "q1-verify", 600)),
        ("expired", assertion(&identity, "subject-a", "q1-verify", -5)),
        ("altered", assertion(&identity, "subject-a", "q1-verify", 600).replacen('.', ".e", 1)),
    ] {
        assert_eq!(join(&r1, &client(1), &token).await.unwrap_err().code(), Code::Unauthenticated, "{what}");
    }
    let elsewhere = join(&r1, &client(1), &assertion(&identity, "subject-a", "q1", 600)).await.unwrap_err();
    assert_eq!(field_violations(&elsewhere), vec!["identity_assertion"], "{elsewhere:?}");
    assert_eq!(pre_opening_joined(&r1).await, 0);

    // Person A joins five times from five clients over both replicas, B and
    // C once each: three entries.
    let a = assertion(&identity, "subject-a", "q1-verify", 600);
    let mut a_tickets = Vec::new();
    for i in 0..5 {
        let r = if i % 2 == 0 { &r1 } else { &r2 };
        a_tickets.push((client(10 + i), join(r, &client(10 + i), &a).await.unwrap().ticket));
    }
    join(&r2, &client(20), &assertion(&identity, "subject-b", "q1-verify", 600)).await.unwrap();
    let c_ticket = join(&r1, &client(30), &assertion(&identity, "subject-c", "q1-verify", 600)).await.unwrap().ticket;
    assert_eq!(pre_opening_joined(&r1).await, 3);
    // Person D joins from six clients at the same moment over both replicas
    // (the claim race): still one entry.
    let dee = assertion(&identity, "subject-d", "q1-verify", 600);
    let at_once = (0..6).map(|i| {
        let (r, dee) = (if i % 2 == 0 { &r1 } else { &r2 }, &dee);
        async move { join(r, &client(50 + i), dee).await }
    });
    for joined in futures_util::future::join_all(at_once).await {
        joined.unwrap();
    }
    assert_eq!(pre_opening_joined(&r1).await, 4, "six concurrent joins of one person take one entry");
    // The verification queue itself is an ordinary queue.
    let plain = JoinQueueRequest { queue_id: "q1-verify".into(), client_id: client(40), ..Default::default() };
    r1.queue().join_queue(plain).await.unwrap();

    // Redis loses the queue's state: the entries are in PostgreSQL, so A
    // still gets theirs back and takes no new one. (The rebuilt count starts
    // at the entries reserved ahead, which may have been handed out.)
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:admission:*", d.prefix)).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
    let rebuilt = pre_opening_joined(&r2).await;
    a_tickets.push((client(15), join(&r2, &client(15), &a).await.unwrap().ticket));
    assert_eq!(pre_opening_joined(&r2).await, rebuilt, "A's join after the loss takes no entry");

    // After the draw every ticket of A's holds one and the same place.
    let mut places = Vec::new();
    eventually(Duration::from_secs(15), "the draw", || async { r1.status(&c_ticket, &client(30)).await.is_ok_and(|s| s.position > 0) })
        .await;
    for (who, ticket) in &a_tickets {
        places.push(r1.status(ticket, who).await.unwrap().position);
    }
    assert!(places.iter().all(|p| *p == places[0] && *p > 0), "one place for A: {places:?}");
    assert!(places[0] <= rebuilt, "one of the pool's entries: {places:?}");
    // A person's tickets stay bound to their own client.
    assert_eq!(r1.status(&a_tickets[0].1, &client(30)).await.unwrap_err().code(), Code::PermissionDenied);
    r1.stop().await;
    r2.stop().await;
}
