//! The `grpc-timeout` header (gRPC over HTTP/2: an integer of at most 8
//! digits and a unit), read from the caller and written for the upstream.
use std::time::Duration;

use http::HeaderValue;

pub const HEADER: &str = "grpc-timeout";

/// The caller's deadline; `None` if absent or malformed (the edge's
/// default then applies, as for a caller that named none).
pub fn parse(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Milliseconds, which every deadline the edge writes fits in.
pub fn encode(deadline: Duration) -> HeaderValue {
    let ms = deadline.as_millis().clamp(1, 99_999_999);
    HeaderValue::from_str(&format!("{ms}m")).unwrap_or(HeaderValue::from_static("10000m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_malformed_values() {
        assert_eq!(parse("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("7u"), Some(Duration::from_micros(7)));
        for bad in ["", "S", "5", "5s", "-5S", "123456789S", "1.5S"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(encode(Duration::from_millis(1500)), "1500m");
        assert_eq!(encode(Duration::from_nanos(10)), "1m");
    }
}
