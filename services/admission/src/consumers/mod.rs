//! Inbound bus events: reservation events end the admitted session that
//! booked. `sessions::QUEUE` is public for the deployments (and tests) that
//! clean up their RabbitMQ namespace.
pub mod sessions;
