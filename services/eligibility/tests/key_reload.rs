//! A key rotation is a Secret update, not a restart: the trusted keys come
//! from a mounted file (`YEYAK_TRUSTED_KEYS_FILE`), the file is replaced the
//! way the kubelet replaces a Secret's files (a new directory, then an atomic
//! swap of the `..data` symlink), and the running server trusts what the new
//! file lists within the reload interval.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use eligibility::{config::Config, consumers::bookings::QUEUE, startup::Application};
use tonic::{transport::Channel, Code, Request};
use yeyak_platform::{
    config::Env,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    messaging::{self, AmqpSettings},
    tokens::{self, client_binding, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::eligibility::v1::{eligibility_service_client::EligibilityServiceClient, CheckEligibilityRequest};
use yeyak_testkit::{eventually, mount::Mounted};

const CLIENT: &str = "client-key-reload-01";
const FILE: &str = "trusted-keys";

/// The key file as a Secret volume the kubelet updates.
fn mounted(text: &str) -> Mounted {
    Mounted::new("trusted-keys", &[(FILE, text)])
}

fn pass(key: &SigningKey) -> String {
    let t = chrono::Utc::now().timestamp();
    let claims = AdmissionPass {
        queue_id: "q1".into(),
        place: 1,
        client_binding: client_binding(CLIENT),
        session_id: "s".into(),
        cnf: None,
        issued_at: t,
        expires_at: t + 600,
    };
    tokens::sign(key, &claims)
}

/// The pass check answers before the handler: UNAUTHENTICATED for a pass it
/// refuses; a pass it accepts reaches the handler, which refuses dose 0
/// with INVALID_ARGUMENT (no registry, no Redis call).
async fn pass_check(channel: &Channel, pass: &str) -> Code {
    let mut r = Request::new(CheckEligibilityRequest { dose_number: 0, ..Default::default() });
    r.metadata_mut().insert(PASS_HEADER, pass.parse().unwrap());
    r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
    EligibilityServiceClient::new(channel.clone()).check_eligibility(r).await.unwrap_err().code()
}

async fn until(channel: &Channel, pass: &str, code: Code, what: &str) {
    eventually(Duration::from_secs(3), what, || async { (pass_check(channel, pass).await == code).then_some(()) }).await;
}

#[tokio::test]
async fn trusted_keys_follow_their_mounted_file_without_a_restart() {
    let (old, new) = (SigningKey::generate(Issuer::Admission, "adm-old"), SigningKey::generate(Issuer::Admission, "adm-new"));
    let mut mount = mounted(&format!("{}\n", old.trusted_entry()));
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let amqp = AmqpSettings::for_test(&tag);
    let env = Env::from_pairs([
        ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("METRICS_ADDR".into(), "off".into()),
        ("TRUSTED_KEYS_FILE".into(), mount.path(FILE).display().to_string()),
        ("KEY_RELOAD_INTERVAL_MS".into(), "50".into()),
        ("QUEUE_IDS".into(), "q1".into()),
        ("RULES_FILE".into(), format!("{}/rules/demo.toml", env!("CARGO_MANIFEST_DIR"))),
        // Never called: every request here stops at the pass check or the dose.
        ("REGISTRY_URL".into(), "http://127.0.0.1:9".into()),
        ("REDIS_KEY_PREFIX".into(), format!("test:{tag}")),
        // The admission catalogue and ended sessions this test follows are its own:
        // the default prefix is shared with `make run` on the same Redis.
        ("SESSIONS_REDIS_KEY_PREFIX".into(), format!("test:{tag}")),
        ("AMQP_EXCHANGE".into(), amqp.exchange.clone()),
        ("AMQP_QUEUE_PREFIX".into(), amqp.queue_prefix.clone()),
    ]);
    let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    let metrics = app.metrics();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let (old_pass, new_pass) = (pass(&old), pass(&new));

    assert_eq!(pass_check(&channel, &old_pass).await, Code::InvalidArgument, "the listed key is trusted");
    assert_eq!(pass_check(&channel, &new_pass).await, Code::Unauthenticated, "a key not listed yet is refused");

    // Step 1 of a rotation: the new key is listed next to the old one.
    mount.update(&[(FILE, &format!("{},{}\n", old.trusted_entry(), new.trusted_entry()))]);
    until(&channel, &new_pass, Code::InvalidArgument, "the new key to be trusted").await;
    assert_eq!(pass_check(&channel, &old_pass).await, Code::InvalidArgument, "old passes still verify while listed");

    // A broken Secret changes nothing.
    mount.update(&[(FILE, "admission:adm-x:not-a-key\n")]);
    eventually(Duration::from_secs(3), "the refused reload to be counted", || async {
        metrics
            .encode()
            .contains("yeyak_key_reloads_total{service=\"eligibility\",keys=\"YEYAK_TRUSTED_KEYS\",outcome=\"invalid\"} 1")
            .then_some(())
    })
    .await;
    assert_eq!(pass_check(&channel, &old_pass).await, Code::InvalidArgument);
    assert_eq!(pass_check(&channel, &new_pass).await, Code::InvalidArgument);

    // Step 3: the old key is removed; its passes are refused, even the one
    // the server had verified and remembered.
    mount.update(&[(FILE, &format!("{}\n", new.trusted_entry()))]);
    until(&channel, &old_pass, Code::Unauthenticated, "the old key to be removed").await;
    assert_eq!(pass_check(&channel, &new_pass).await, Code::InvalidArgument);
    let text = metrics.encode();
    assert!(text.contains("keys=\"YEYAK_TRUSTED_KEYS\",outcome=\"reloaded\"} 2"), "{text}");

    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("stops, key watch included").unwrap().unwrap();
    messaging::delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}
