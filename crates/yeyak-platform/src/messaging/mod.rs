//! RabbitMQ: integration events on one durable topic exchange, routing keys
//! `<context>.<event>.v1`, AMQP message id = event id. Publishing waits for
//! the broker's confirm; consumers ack only after their work committed, so
//! delivery is at-least-once and consumers deduplicate (see [`inbox`]).
//! Every queue is a quorum queue with a delivery limit (see [`queues`] for
//! what that changes); consumers and the outbox relay reconnect with
//! jittered exponential backoff. The W3C trace context goes with each
//! message (`traceparent` header): publishing and handling are spans of the
//! trace that caused the event (`spans.rs`, `docs/tracing.md`).
mod backoff;
pub mod batches;
pub mod consumer;
pub mod dead_letters;
pub mod inbox;
pub mod outbox;
pub mod publisher;
pub mod queues;
mod spans;
pub mod tables;

use crate::{
    config::{ConfigError, Env, Secret},
    tls::TlsSettings,
};

pub use batches::{consume_batches, consume_each, one_by_one};
pub use consumer::{consume, Delivery, HandlerError};
pub use publisher::{PublishError, Publisher};
pub use queues::{QueueError, QueueSpec};

#[derive(Clone, Debug)]
pub struct AmqpSettings {
    pub url: Secret<String>,
    /// The topic exchange events are published to.
    pub exchange: String,
    /// Prefix of the queues this instance declares (tests use a unique one).
    pub queue_prefix: String,
    /// For `amqps://`: the CA bundle and client certificate (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
}

impl AmqpSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.secret("AMQP_URL")?.unwrap_or_else(|| Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f".into())),
            exchange: env.string("AMQP_EXCHANGE", "yeyak.events"),
            queue_prefix: env.string("AMQP_QUEUE_PREFIX", "yeyak"),
            tls: TlsSettings::from_env(env)?,
        })
    }

    /// A private exchange and queue names, so parallel tests never meet.
    pub fn for_test(tag: &str) -> Self {
        Self {
            url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f".into()),
            exchange: format!("test.{tag}.events"),
            queue_prefix: format!("test.{tag}"),
            tls: TlsSettings::default(),
        }
    }
}

/// How long opening a connection and channel may take. A broker that accepts
/// TCP but no longer answers (seen with a wedged RabbitMQ) would otherwise
/// hold a consumer's reconnect loop, or a test's clean-up, forever.
const OPEN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) async fn open_channel(settings: &AmqpSettings) -> lapin::Result<(lapin::Connection, lapin::Channel)> {
    match tokio::time::timeout(OPEN_DEADLINE, open_channel_now(settings)).await {
        Ok(opened) => opened,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the broker did not answer within 10 s").into()),
    }
}

async fn open_channel_now(settings: &AmqpSettings) -> lapin::Result<(lapin::Connection, lapin::Channel)> {
    use lapin::options::ExchangeDeclareOptions;
    let (url, properties) = (settings.url.expose(), lapin::ConnectionProperties::default());
    let conn = if url.starts_with("amqps://") {
        crate::tls::install_provider();
        let tls = settings.tls.amqp_config().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        lapin::Connection::connect_with_config(url, properties, tls, lapin::runtime::default_runtime()?).await?
    } else {
        lapin::Connection::connect(url, properties).await?
    };
    let channel = conn.create_channel().await?;
    channel
        .exchange_declare(
            settings.exchange.as_str().into(),
            lapin::ExchangeKind::Topic,
            ExchangeDeclareOptions { durable: true, ..Default::default() },
            lapin::types::FieldTable::default(),
        )
        .await?;
    Ok((conn, channel))
}

/// Deletes the exchange and the named queues (with their dead-letter queues)
/// of a test namespace: durable queues would otherwise outlive every test run.
///
/// It first waits a second. A quorum queue with at-least-once dead-lettering
/// deleted within milliseconds of its declaration (a test that ends while
/// its service's consumer is still declaring) crashes RabbitMQ's dead-letter
/// worker as it starts (`rabbit_fifo_dlx_worker`); a few such crashes in a
/// row take its supervisor (`rabbit_fifo_dlx_sup`) down, and from then on
/// every such queue on the broker is broken until `rabbitmqctl stop_app &&
/// rabbitmqctl start_app` (seen on 3.x with a test suite's teardowns).
pub async fn delete_namespace(settings: &AmqpSettings, queues: &[&str]) -> lapin::Result<()> {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let deleted = tokio::time::timeout(OPEN_DEADLINE * 3, delete_now(settings, queues)).await;
    deleted.unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "namespace not deleted within 30 s").into()))
}

async fn delete_now(settings: &AmqpSettings, queues: &[&str]) -> lapin::Result<()> {
    let (conn, channel) = open_channel(settings).await?;
    for queue in queues {
        for suffix in ["", ".dlq"] {
            let name = format!("{}.{queue}{suffix}", settings.queue_prefix);
            channel.queue_delete(name.as_str().into(), Default::default()).await?;
        }
    }
    channel.exchange_delete(settings.exchange.as_str().into(), Default::default()).await?;
    conn.close(200, "namespace deleted".into()).await
}
