// The kubelet's symlink swap, as on the nodes.
#![cfg(unix)]
use std::path::Path;

use super::*;
use crate::tokens::{sign, AssertionVerifier, HmacKey, IdentityAssertion, Issuer, SigningKey, TokenError};

/// A Secret mounted as a directory, updated the way the kubelet does it: the
/// new content goes into a fresh directory and the `..data` symlink is
/// swapped atomically; `dir/<name>` links to `..data/<name>` throughout.
struct Mount {
    dir: PathBuf,
    versions: usize,
}

impl Mount {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("yeyak-keys-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut mount = Self { dir, versions: 0 };
        mount.update(name, text);
        std::os::unix::fs::symlink(Path::new("..data").join(name), mount.dir.join(name)).unwrap();
        mount
    }

    fn update(&mut self, name: &str, text: &str) {
        self.versions += 1;
        let version = format!("..v{}", self.versions);
        std::fs::create_dir_all(self.dir.join(&version)).unwrap();
        std::fs::write(self.dir.join(&version).join(name), text).unwrap();
        std::os::unix::fs::symlink(&version, self.dir.join("..data_tmp")).unwrap();
        std::fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn assertion() -> IdentityAssertion {
    IdentityAssertion {
        subject: "s".into(),
        birth_date: "1960-01-01".into(),
        name: "n".into(),
        provider: "p".into(),
        assurance_level: 1,
        session_id: "x".into(),
        queue_id: String::new(),
        issued_at: 0,
        expires_at: i64::MAX,
    }
}

#[tokio::test]
async fn a_symlink_swap_reloads_every_holder_and_a_bad_file_keeps_the_keys() {
    let (i1, i2) = (SigningKey::generate(Issuer::Identity, "i1"), SigningKey::generate(Issuer::Identity, "i2"));
    let mut mount = Mount::new("trusted-keys", &i1.trusted_entry());
    let path = mount.dir.join("trusted-keys");
    let source = KeySource::new("YEYAK_TRUSTED_KEYS", &path, Duration::from_millis(10));
    let ring = KeyRing::parse(&std::fs::read_to_string(&path).unwrap()).unwrap().with_source(source);
    let verifier = AssertionVerifier::new(ring.clone(), 16);
    let metrics = Metrics::new("test");
    let shutdown = Shutdown::new();
    let task = tokio::spawn(KeyWatch::new(&metrics).with(ring.clone()).run(shutdown.clone()));

    let (old, new) = (sign(&i1, &assertion()), sign(&i2, &assertion()));
    assert!(verifier.verify(&old, 0).await.is_ok());
    assert_eq!(verifier.verify(&new, 0).await, Err(TokenError::UnknownKey));

    mount.update("trusted-keys", &format!("{},{}", i1.trusted_entry(), i2.trusted_entry()));
    eventually("the new key is trusted", || ring.get("i2").is_some()).await;
    assert!(verifier.verify(&new, 0).await.is_ok(), "the verifier's clone sees it");
    assert!(verifier.verify(&old, 0).await.is_ok(), "the old key is still listed");

    mount.update("trusted-keys", "identity:i3:not-a-key");
    eventually("the refusal is counted", || metrics.encode().contains("outcome=\"invalid\"} 1")).await;
    assert_eq!(ring.kids(), ["i1", "i2"], "a bad file keeps the keys in force");

    mount.update("trusted-keys", &i2.trusted_entry());
    eventually("the old key is removed", || ring.get("i1").is_none()).await;
    assert_eq!(verifier.verify(&old, 0).await, Err(TokenError::UnknownKey), "even though it was remembered");
    assert!(verifier.verify(&new, 0).await.is_ok());
    let text = metrics.encode();
    assert!(text.contains("yeyak_key_reloads_total{service=\"test\",keys=\"YEYAK_TRUSTED_KEYS\",outcome=\"reloaded\"} 2"), "{text}");

    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(2), task).await.expect("the watch stops on shutdown").unwrap();
}

#[tokio::test]
async fn ticket_keys_follow_their_file_and_keys_without_a_file_are_not_watched() {
    let (t1, t2) = (HmacKey::new("t1", &[1; 32]), HmacKey::new("t2", &[2; 32]));
    let mut mount = Mount::new("ticket-keys", &t1.secret_spec());
    let path = mount.dir.join("ticket-keys");
    let keys = HmacKeys::parse("YEYAK_TICKET_KEYS", &t1.secret_spec()).unwrap().with_source(KeySource::new(
        "YEYAK_TICKET_KEYS",
        &path,
        Duration::from_millis(10),
    ));
    let shutdown = Shutdown::new();
    let pinned_only = KeyRing::default();
    let task = tokio::spawn(KeyWatch::new(&Metrics::new("test")).with(keys.clone()).with(pinned_only).run(shutdown.clone()));
    mount.update("ticket-keys", &format!("{},{}", t2.secret_spec(), t1.secret_spec()));
    eventually("t2 signs", || keys.active().kid() == "t2").await;
    assert_eq!(keys.kids(), ["t2", "t1"]);
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();

    // Nothing from a file: the watch has nothing to do and returns.
    let idle = KeyWatch::new(&Metrics::new("test")).with(KeyRing::default()).run(Shutdown::new());
    tokio::time::timeout(Duration::from_secs(1), idle).await.expect("returns at once");
}
