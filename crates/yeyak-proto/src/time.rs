//! `google.protobuf.Timestamp` to and from `chrono`, in one place so every
//! service converts instants the same way (and none of them truncates nanos
//! or accepts an out-of-range instant differently from the others).
use chrono::{DateTime, Utc};
use prost_types::Timestamp;

/// An instant as a protobuf timestamp.
pub fn to_proto(at: DateTime<Utc>) -> Timestamp {
    // Sub-second nanos stay below 2·10⁹ (even in a leap second): they fit an i32.
    Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// Milliseconds since the Unix epoch (admission's clock unit) as a protobuf timestamp.
pub fn from_unix_millis(ms: i64) -> Timestamp {
    // rem_euclid(1000) * 10⁶ < 10⁹: it fits an i32.
    Timestamp { seconds: ms.div_euclid(1000), nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0) }
}

/// The instant a protobuf timestamp names; `None` when it is out of
/// `chrono`'s range or its nanos are negative or above a second.
pub fn from_proto(ts: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_nanos() {
        let at = DateTime::from_timestamp(1_627_297_200, 123_456_789).expect("valid instant");
        assert_eq!(from_proto(&to_proto(at)), Some(at));
    }

    #[test]
    fn millis_before_the_epoch_keep_positive_nanos() {
        assert_eq!(from_unix_millis(-1), Timestamp { seconds: -1, nanos: 999_000_000 });
        assert_eq!(from_unix_millis(1_500), Timestamp { seconds: 1, nanos: 500_000_000 });
    }

    #[test]
    fn refuses_negative_nanos() {
        assert_eq!(from_proto(&Timestamp { seconds: 0, nanos: -1 }), None);
    }
}
