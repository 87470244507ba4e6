//! What a service sees of its dependencies, every few seconds: whether
//! PostgreSQL, Redis and RabbitMQ answer (`yeyak_dependency_up`), how full
//! its database pool is, how far its outbox lags behind (count and age of
//! the oldest unpublished row), and how many messages wait in each queue it
//! consumes and in that queue's dead-letter queue. Probed from the service
//! itself, so "unreachable from this service" is what an alert says, not
//! "down somewhere". Each probe has a deadline; a probe that fails sets the
//! dependency to 0 and never blocks a request.
use std::{sync::atomic::AtomicU64, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
};
use sqlx::PgPool;

use super::Metrics;
use crate::{messaging::AmqpSettings, redis_store::RedisConn, shutdown::Shutdown};

/// How often the dependencies are probed.
const EVERY: Duration = Duration::from_secs(5);
/// A probe's deadline.
const DEADLINE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Dependency {
    dependency: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct State {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    queue: String,
}

type F64 = Gauge<f64, AtomicU64>;

/// The dependencies of one service, and the gauges they set.
#[derive(Default)]
pub struct Probes {
    postgres: Option<PgPool>,
    outbox: bool,
    redis: Option<RedisConn>,
    amqp: Option<(AmqpSettings, Vec<String>)>,
    up: Family<Dependency, Gauge>,
    pool: Family<State, Gauge>,
    pool_max: Gauge,
    unpublished: Gauge,
    oldest: F64,
    ready: Family<Queue, Gauge>,
    dead: Family<Queue, Gauge>,
}

impl Probes {
    pub fn new() -> Self {
        Self::default()
    }

    /// The service's PostgreSQL; `outbox`: it owns an outbox table.
    pub fn postgres(mut self, pool: PgPool, outbox: bool) -> Self {
        self.postgres = Some(pool);
        self.outbox = outbox;
        self
    }

    pub fn redis(mut self, conn: RedisConn) -> Self {
        self.redis = Some(conn);
        self
    }

    /// The broker, and the queues this service consumes (names without the prefix).
    pub fn amqp(mut self, settings: AmqpSettings, queues: &[&str]) -> Self {
        self.amqp = Some((settings, queues.iter().map(|q| (*q).to_owned()).collect()));
        self
    }

    /// Registers the gauges (before [`Probes::run`]).
    pub fn registered(self, metrics: &Metrics) -> Self {
        metrics.register("dependency_up", "1 when the dependency answered this service's last probe", self.up.clone());
        if self.postgres.is_some() {
            metrics.register("db_pool_connections", "Database pool connections by state (idle, in_use)", self.pool.clone());
            metrics.register("db_pool_max_connections", "Database pool size limit", self.pool_max.clone());
        }
        if self.outbox {
            metrics.register("outbox_unpublished", "Outbox rows not yet published", self.unpublished.clone());
            metrics.register(
                "outbox_oldest_unpublished_seconds",
                "Age of the oldest unpublished outbox row (0: none)",
                self.oldest.clone(),
            );
        }
        if self.amqp.is_some() {
            metrics.register("consumer_ready_messages", "Messages ready in a queue this service consumes", self.ready.clone());
            metrics.register(
                "consumer_dead_letters",
                "Messages in the dead-letter queue of a queue this service consumes",
                self.dead.clone(),
            );
        }
        self
    }

    /// Probes every few seconds until shutdown.
    pub async fn run(self, shutdown: Shutdown) {
        let mut channel = None;
        // The first probe waits a period: the service's consumers declare
        // their queues meanwhile (a passive declare of a missing queue makes
        // the broker close the channel, which lapin logs as an error).
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = shutdown.wait() => return,
            }
            self.probe_postgres().await;
            self.probe_redis().await;
            channel = self.probe_amqp(channel).await;
        }
    }

    fn set_up(&self, dependency: &'static str, up: bool) {
        self.up.get_or_create(&Dependency { dependency }).set(i64::from(up));
    }

    async fn probe_postgres(&self) {
        let Some(pool) = &self.postgres else { return };
        let idle = pool.num_idle() as i64;
        self.pool.get_or_create(&State { state: "idle" }).set(idle);
        self.pool.get_or_create(&State { state: "in_use" }).set(i64::from(pool.size()) - idle);
        self.pool_max.set(i64::from(pool.options().get_max_connections()));
        let query = if self.outbox {
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0) FROM outbox WHERE published_at IS NULL"
        } else {
            "SELECT 0::bigint, 0::float8"
        };
        let answer = tokio::time::timeout(DEADLINE, sqlx::query_as::<_, (i64, f64)>(query).fetch_one(pool)).await;
        match answer {
            Ok(Ok((rows, age))) => {
                self.set_up("postgres", true);
                self.unpublished.set(rows);
                self.oldest.set(age);
            }
            _ => self.set_up("postgres", false),
        }
    }

    async fn probe_redis(&self) {
        let Some(conn) = &self.redis else { return };
        let mut conn = conn.clone();
        let ping = tokio::time::timeout(DEADLINE, redis::cmd("PING").query_async::<String>(&mut conn)).await;
        self.set_up("redis", matches!(ping, Ok(Ok(_))));
    }

    /// Reads each queue's depth with a passive declare; a failure drops the
    /// channel (the broker closes it on a missing queue) and reopens it next time.
    async fn probe_amqp(&self, channel: Option<(lapin::Connection, lapin::Channel)>) -> Option<(lapin::Connection, lapin::Channel)> {
        let (settings, queues) = self.amqp.as_ref()?;
        let (conn, channel) = match channel.filter(|(c, ch)| c.status().connected() && ch.status().connected()) {
            Some(open) => open,
            None => match tokio::time::timeout(DEADLINE, crate::messaging::open_channel(settings)).await {
                Ok(Ok(open)) => open,
                _ => {
                    self.set_up("rabbitmq", false);
                    return None;
                }
            },
        };
        for queue in queues {
            let name = format!("{}.{queue}", settings.queue_prefix);
            for (gauge, full) in [(&self.ready, name.clone()), (&self.dead, format!("{name}.dlq"))] {
                let options = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
                let declared = channel.queue_declare(full.as_str().into(), options, Default::default());
                match tokio::time::timeout(DEADLINE, declared).await {
                    Ok(Ok(q)) => {
                        gauge.get_or_create(&Queue { queue: queue.clone() }).set(i64::from(q.message_count()));
                    }
                    // Not declared yet (the consumer is starting): the broker
                    // answered, and closed the channel; try again later.
                    Ok(Err(_)) => {
                        self.set_up("rabbitmq", true);
                        return None;
                    }
                    Err(_) => {
                        self.set_up("rabbitmq", false);
                        return None;
                    }
                }
            }
        }
        self.set_up("rabbitmq", true);
        Some((conn, channel))
    }
}
