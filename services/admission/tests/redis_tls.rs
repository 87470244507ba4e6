//! The waiting room over `rediss://` against a real TLS-only `redis-server`
//! (a private one, with certificates from a CA made at test time): it joins
//! and admits with the CA from `YEYAK_TLS_CA_FILE`, shows its client
//! certificate to a Redis that requires one, and refuses to start against a
//! server whose certificate it cannot verify.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use admission::{config::Config, startup::Application};
use common::{client, eventually, Deployment};
use yeyak_platform::config::Env;
use yeyak_proto::admission::v1::QueueState;
use yeyak_testkit::{
    redis_tls::TlsRedis,
    tls::{TempDir, TestCa},
};

fn path(p: std::path::PathBuf) -> String {
    p.display().to_string()
}

#[tokio::test]
async fn the_waiting_room_runs_on_a_tls_redis_and_verifies_it() {
    let (ca, other_ca) = (TestCa::new("redis CA"), TestCa::new("someone else's CA"));
    let dir = TempDir::new("admission-redis-tls");
    let (ca_file, other_ca_file) = (path(dir.write("ca.crt", ca.cert_pem())), path(dir.write("other.crt", other_ca.cert_pem())));
    let me = ca.issue("admission");
    let (cert, key) = (path(dir.write("client.crt", &me.cert_pem)), path(dir.write("client.key", &me.key_pem)));
    let redis = TlsRedis::start(&ca.issue("redis"), Some(ca.cert_pem())).await.unwrap();
    let url = redis.url();

    let d = Deployment::new(&[
        ("REDIS_URL", &url),
        ("TLS_CA_FILE", &ca_file),
        ("TLS_CLIENT_CERT_FILE", &cert),
        ("TLS_CLIENT_KEY_FILE", &key),
        ("ADMISSION_RATE", "100"),
    ]);
    let r = d.start().await;
    let joined = r.join(&client(0)).await.unwrap();
    assert_eq!(joined.status.unwrap().position, 1);
    eventually(Duration::from_secs(3), "admitted through the TLS Redis", || async {
        r.status(&joined.ticket, &client(0)).await.unwrap().state == QueueState::Admitted as i32
    })
    .await;

    let d = &d;
    let build = |extra: Vec<(String, String)>| async move {
        let mut pairs = d.env();
        pairs.retain(|(k, _)| !k.starts_with("TLS_"));
        pairs.extend(extra);
        Application::build(Config::from_env(&Env::from_pairs(pairs)).unwrap()).await
    };
    let untrusted =
        vec![("TLS_CA_FILE".to_owned(), other_ca_file), ("TLS_CLIENT_CERT_FILE".to_owned(), cert), ("TLS_CLIENT_KEY_FILE".to_owned(), key)];
    let err = format!("{:#}", build(untrusted).await.err().unwrap());
    assert!(err.to_lowercase().contains("certificate"), "a server certificate from another CA is refused: {err}");
    let err = format!("{:#}", build(vec![("TLS_CA_FILE".to_owned(), ca_file)]).await.err().unwrap());
    assert!(!err.contains("YEYAK_"), "refused by the server, not by the configuration: {err}");
}
