//! Three identity replicas as separate processes (the real `yeyak-identity`
//! binary) sharing one Redis: a verification started on one continues and
//! completes on the others, wrong codes and the proxy limit count across
//! replicas, and no replica's own log output carries the number.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{process::Stdio, sync::Arc, time::Duration};

use common::{identity_env, start_idps, unique, with_pass, Person};
use parking_lot::Mutex;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};
use tonic::Code;
use yeyak_platform::{
    grpc::client,
    tokens::{self, IdentityAssertion, Issuer, KeyRing, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, *};

struct Replica {
    child: Child,
    client: IdentityServiceClient<tonic::transport::Channel>,
    output: Arc<Mutex<String>>,
}

/// Starts one replica and waits for the address it logs when listening.
async fn replica(env: &[(String, String)]) -> Replica {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yeyak-identity"));
    command.env_clear().envs(env.iter().map(|(k, v)| (format!("YEYAK_{k}"), v.clone()))).env("YEYAK_LOG", "debug");
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let mut addr_tx = Some(addr_tx);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let out = output.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            if line.contains("identity listening") {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                if let Some(tx) = addr_tx.take() {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap().to_owned());
                }
            }
            out.lock().push_str(&line);
            out.lock().push('\n');
        }
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let err = output.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            err.lock().push_str(&line);
            err.lock().push('\n');
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx).await.expect("replica did not start").unwrap();
    let channel = client::channel(&addr, &client::ClientSettings::default()).unwrap();
    Replica { child, client: IdentityServiceClient::new(channel), output }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_challenges_attempts_and_the_proxy_limit() {
    let shutdown = Shutdown::new();
    let idps = start_idps(&shutdown).await;
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity_key = SigningKey::generate(Issuer::Identity, "i1");
    let prefix = unique("replicas");
    let env = identity_env(&idps, &admission, &identity_key, &prefix, &[]);
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(replica(&env).await);
    }
    let mut c: Vec<_> = replicas.iter().map(|r| r.client.clone()).collect();
    let http = reqwest::Client::new();
    let url = |id: &str| idps.iter().find(|i| i.id == id).unwrap().url.clone();
    let pass = common::mint_pass(&admission, "sid-replicas");
    let mut ring = KeyRing::default();
    ring.trust(&identity_key);
    let (me, parent, stranger) = (Person::new(900), Person::new(901), Person::new(902));

    // Started on replica 0, a wrong code on replica 1, completed on replica 2.
    let started = c[0].start_verification(with_pass(&pass, me.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = common::inbox(&http, &url("carrier-sms"), &me.phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let bad = CompleteVerificationRequest { challenge_id: started.challenge_id.clone(), code: wrong.into() };
    let status = c[1].complete_verification(with_pass(&pass, bad)).await.unwrap_err();
    assert_eq!(status.message(), "code: wrong code, 4 attempts left");
    let good = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let done = c[2].complete_verification(with_pass(&pass, good.clone())).await.unwrap().into_inner();
    let a: IdentityAssertion = tokens::verify(&ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!((a.session_id.as_str(), a.provider.as_str()), ("sid-replicas", "carrier-sms"));
    assert_eq!(c[0].complete_verification(with_pass(&pass, good)).await.unwrap_err().code(), Code::NotFound, "single use everywhere");

    // An app approval started on replica 1 completes on replica 0.
    let started = c[1].start_verification(with_pass(&pass, parent.start("kakao-cert"))).await.unwrap().into_inner();
    let (tx, _) = common::inbox(&http, &url("kakao-cert"), &parent.phone).await;
    common::approve(&http, &url("kakao-cert"), &tx).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code: String::new() };
    c[0].complete_verification(with_pass(&pass, complete)).await.unwrap();

    // Two people verified through two replicas: the third refuses a third person.
    let refused = c[2].start_verification(with_pass(&pass, stranger.start("carrier-sms"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    for r in &mut replicas {
        r.child.start_kill().unwrap();
        r.child.wait().await.unwrap();
    }
    let logs: String = replicas.iter().map(|r| r.output.lock().clone()).collect();
    assert_eq!(logs.matches("identity verified").count(), 2, "the replicas' logs were captured");
    for p in [&me, &parent, &stranger] {
        for form in p.rrn_forms() {
            assert!(!logs.contains(&form), "{form} in a replica's log");
        }
        assert!(!logs.contains(&p.phone));
    }
    shutdown.trigger();
    common::cleanup(&prefix).await;
}
