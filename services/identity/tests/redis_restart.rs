//! Identity against a private `redis-server` restarted empty (never the
//! shared one): the first StartVerification after the restart succeeds and
//! its verification completes with the right assertion; a challenge started
//! before the restart still completes (it travels sealed in its id; only its
//! count of wrong codes went with the data).
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::{start, with_pass, Person, HASH_KEY};
use tonic::Code;
use yeyak_platform::{
    pseudonym::subject_id,
    tokens::{self, IdentityAssertion},
    Secret,
};
use yeyak_proto::identity::v1::CompleteVerificationRequest;
use yeyak_testkit::redis_server::RedisServer;

#[tokio::test]
async fn the_first_verification_after_redis_restarts_empty_succeeds() {
    let mut redis = RedisServer::start().await.unwrap();
    let h = start("restart", &[("REDIS_URL", &redis.url())]).await;
    let (mut c, pass, person) = (h.client(), h.pass("sid-restart"), Person::new(1));
    h.verify(&pass, &person, "carrier-sms").await.unwrap();
    let lost = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, lost_code) = h.inbox("carrier-sms", &person.phone).await;

    redis.restart_empty().await.unwrap();
    let started = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await;
    let started = started.unwrap_or_else(|s| panic!("the first StartVerification after the restart: {s:?}")).into_inner();
    let (_, code) = h.inbox("carrier-sms", &person.phone).await;

    let old =
        c.complete_verification(with_pass(&pass, CompleteVerificationRequest { challenge_id: lost.challenge_id.clone(), code: lost_code }));
    let old = old.await.unwrap_or_else(|s| panic!("a challenge started before the restart: {s:?}")).into_inner();
    assert_eq!(old.subject_id, subject_id(&Secret::new(HASH_KEY.into()), &person.rrn));
    let again =
        c.complete_verification(with_pass(&pass, CompleteVerificationRequest { challenge_id: lost.challenge_id, code: "000000".into() }));
    assert_eq!(again.await.unwrap_err().code(), Code::NotFound, "and it was used once");
    let done = c
        .complete_verification(with_pass(&pass, CompleteVerificationRequest { challenge_id: started.challenge_id, code }))
        .await
        .unwrap()
        .into_inner();
    let a: IdentityAssertion = tokens::verify(&h.ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!((a.subject, a.session_id), (subject_id(&Secret::new(HASH_KEY.into()), &person.rrn), "sid-restart".to_owned()));
    let counted = redis.command(&["GET", &format!("{}:identity:attempts:subject:{}", h.prefix, done.subject_id)]).await.unwrap();
    assert_eq!(counted, "1", "the start after the restart counted once in the new window");
    h.stop().await;
}
