//! What an operator sees of a dead-lettered message: ids and the broker's
//! reasons (the `x-death` header), never its payload, which may hold
//! personal data (sealed or not, it is not the operator's to read).
use chrono::{DateTime, Utc};
use lapin::types::{AMQPValue, FieldTable};

use super::REPLAYED_ROUTING_KEY;

/// One dead-lettered message, summarised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The AMQP message id: the event id.
    pub event_id: Option<uuid::Uuid>,
    /// The event's routing key (not the dead-letter queue's).
    pub routing_key: String,
    /// The last death's reason: `rejected`, `delivery_limit`, `expired`…
    pub reason: String,
    /// The queue it died in.
    pub from_queue: String,
    /// How often it died there.
    pub deaths: u64,
    /// When it last died.
    pub dead_lettered_at: Option<DateTime<Utc>>,
}

impl DeadLetter {
    pub(super) fn of(delivery: &lapin::message::Delivery) -> Self {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        // The newest death is first (RabbitMQ moves a repeated one to the front).
        let death = match headers.inner().get("x-death") {
            Some(AMQPValue::FieldArray(deaths)) => deaths.as_slice().iter().find_map(|d| match d {
                AMQPValue::FieldTable(t) => Some(t.clone()),
                _ => None,
            }),
            _ => None,
        }
        .unwrap_or_default();
        let first_key = match death.inner().get("routing-keys") {
            Some(AMQPValue::FieldArray(keys)) => keys.as_slice().iter().find_map(text),
            _ => None,
        };
        let routing_key = headers
            .inner()
            .get(REPLAYED_ROUTING_KEY)
            .and_then(text)
            .or(first_key)
            .or_else(|| delivery.properties.kind().as_ref().map(|k| k.as_str().to_owned()))
            .unwrap_or_else(|| delivery.routing_key.as_str().to_owned());
        Self {
            event_id: delivery.properties.message_id().as_ref().and_then(|s| s.as_str().parse().ok()),
            routing_key,
            reason: field_text(&death, "reason").unwrap_or_default(),
            from_queue: field_text(&death, "queue").unwrap_or_default(),
            deaths: match death.inner().get("count") {
                Some(AMQPValue::LongLongInt(n)) => u64::try_from(*n).unwrap_or(0),
                Some(AMQPValue::LongInt(n)) => u64::try_from(*n).unwrap_or(0),
                Some(AMQPValue::LongUInt(n)) => u64::from(*n),
                _ => 0,
            },
            dead_lettered_at: match death.inner().get("time") {
                Some(AMQPValue::Timestamp(secs)) => i64::try_from(*secs).ok().and_then(|s| DateTime::from_timestamp(s, 0)),
                _ => None,
            },
        }
    }
}

fn field_text(table: &FieldTable, key: &str) -> Option<String> {
    table.inner().get(key).and_then(text)
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lapin::{
        types::{FieldArray, ShortString},
        BasicProperties,
    };

    use super::*;

    fn delivery(headers: FieldTable) -> lapin::message::Delivery {
        let props = BasicProperties::default().with_message_id("0190a0b0-0000-7000-8000-000000000001".into()).with_headers(headers);
        let mut d = lapin::message::Delivery::mock(1, ShortString::from(""), ShortString::from("test.notification.sms.dlq"), false, vec![]);
        d.properties = props;
        d
    }

    #[test]
    fn the_newest_death_is_read_and_the_payload_never() {
        let mut death = FieldTable::default();
        death.insert("reason".into(), AMQPValue::LongString("rejected".into()));
        death.insert("queue".into(), AMQPValue::LongString("test.notification.sms".into()));
        death.insert("count".into(), AMQPValue::LongLongInt(2));
        death.insert("time".into(), AMQPValue::Timestamp(1_700_000_000));
        death.insert(
            "routing-keys".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::LongString("reservation.confirmed.v1".into())])),
        );
        let mut headers = FieldTable::default();
        headers.insert("x-death".into(), AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])));
        let letter = DeadLetter::of(&delivery(headers.clone()));
        assert_eq!(letter.routing_key, "reservation.confirmed.v1");
        assert_eq!((letter.reason.as_str(), letter.from_queue.as_str(), letter.deaths), ("rejected", "test.notification.sms", 2));
        assert_eq!(letter.dead_lettered_at.unwrap().timestamp(), 1_700_000_000);
        assert!(letter.event_id.is_some());
        // A replayed copy that died again names its event by our header.
        headers.insert(REPLAYED_ROUTING_KEY.into(), AMQPValue::LongString("reservation.cancelled.v1".into()));
        assert_eq!(DeadLetter::of(&delivery(headers)).routing_key, "reservation.cancelled.v1");
    }
}
