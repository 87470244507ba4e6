//! `amqps://` to the real broker: the consumer and the confirming publisher
//! connect over TLS, verifying the endpoint with the CA from
//! `YEYAK_TLS_CA_FILE`, and a message goes through. The TLS endpoint is a
//! test terminator in front of the shared RabbitMQ (which this workplace
//! must not reconfigure): the broker protocol is real, its own TLS listener
//! is not what is tested. An endpoint of another CA is refused.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use yeyak_platform::{
    messaging::{consume, publisher::Outgoing, PublishError, Publisher},
    tls::TlsSettings,
    Secret, Shutdown,
};
use yeyak_testkit::{
    tls::{TempDir, TestCa},
    tls_terminator::TlsTerminator,
};

#[tokio::test]
async fn events_flow_over_amqps_with_the_configured_ca() {
    let (ca, other_ca) = (TestCa::new("broker CA"), TestCa::new("someone else's CA"));
    let dir = TempDir::new("amqp-tls");
    let endpoint = TlsTerminator::start(&ca.issue("rabbitmq"), "127.0.0.1:5672".parse().unwrap()).await;
    let plain = common::namespace();
    let mut secure = plain.clone();
    secure.url = Secret::new(format!("amqps://guest:guest@localhost:{}/%2f", endpoint.port()));
    secure.tls = TlsSettings { ca_file: Some(dir.write("ca.crt", ca.cert_pem())), ..TlsSettings::default() };

    let shutdown = Shutdown::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(consume(secure.clone(), "tls", &["tls.checked.v1"], shutdown.clone(), move |d| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(d.payload);
            Ok(())
        }
    }));
    let queue = format!("{}.tls", plain.queue_prefix);
    common::eventually(Duration::from_secs(10), "the consumer declared its queue over TLS", || async {
        common::depth(&plain, &queue).await.is_some()
    })
    .await;
    let event = Outgoing {
        event_id: uuid::Uuid::new_v4(),
        routing_key: "tls.checked.v1".into(),
        payload: b"over TLS".to_vec(),
        traceparent: String::new(),
    };
    Publisher::new(secure.clone()).publish_all(std::slice::from_ref(&event)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    assert_eq!(got, b"over TLS");

    let mut wary = secure.clone();
    wary.tls = TlsSettings { ca_file: Some(dir.write("other.crt", other_ca.cert_pem())), ..TlsSettings::default() };
    let refused = Publisher::new(wary).publish_all(&[event]).await.unwrap_err();
    assert!(matches!(refused, PublishError::Unreachable(_)), "{refused:?}");

    shutdown.trigger();
    yeyak_platform::messaging::delete_namespace(&plain, &["tls"]).await.unwrap();
}
