//! Input checks shared by services; each returns `INVALID_ARGUMENT` naming the
//! field, so bad input never reaches a handler's domain code.
use tonic::Status;

use crate::grpc::status::invalid_argument;

/// A non-empty string of at most `max` characters.
pub fn required<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Status> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    if v.chars().count() > max {
        return Err(invalid_argument(field, format!("must be at most {max} characters")));
    }
    Ok(v)
}

/// Whether `c` may appear in an identifier: `[A-Za-z0-9_-]`, what is safe
/// unquoted in a URL, a Redis key, a metric label and a log line.
pub fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// An identifier of `min..=max` characters from `[A-Za-z0-9_-]`.
pub fn token_chars<'a>(field: &str, value: &'a str, min: usize, max: usize) -> Result<&'a str, Status> {
    let ok = (min..=max).contains(&value.len()) && value.chars().all(token_char);
    if ok {
        Ok(value)
    } else {
        Err(invalid_argument(field, format!("must be {min} to {max} characters of [A-Za-z0-9_-]")))
    }
}

pub fn uuid(field: &str, value: &str) -> Result<uuid::Uuid, Status> {
    if value.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    uuid::Uuid::parse_str(value).map_err(|_| invalid_argument(field, "must be a UUID"))
}

/// An ISO-8601 calendar date, "YYYY-MM-DD".
pub fn date(field: &str, value: &str) -> Result<chrono::NaiveDate, Status> {
    if value.is_empty() {
        return Err(invalid_argument(field, "is required"));
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid_argument(field, "must be a date YYYY-MM-DD"))
}

/// A Korean mobile number ("010" then 7 or 8 digits), normalised to digits.
pub fn mobile_phone(field: &str, value: &str) -> Result<String, Status> {
    let digits: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    let ok = digits.chars().all(|c| c.is_ascii_digit())
        && (digits.len() == 10 || digits.len() == 11)
        && ["010", "011", "016", "017", "018", "019"].iter().any(|p| digits.starts_with(p));
    if ok {
        Ok(digits)
    } else {
        Err(invalid_argument(field, "must be a mobile number such as 010-1234-5678"))
    }
}

/// `page_size` with a default and an upper bound.
pub fn page_size(field: &str, value: i32, default: u32, max: u32) -> Result<u32, Status> {
    match value {
        0 => Ok(default),
        v if v < 0 || v as u32 > max => Err(invalid_argument(field, format!("must be between 1 and {max}"))),
        v => Ok(v as u32),
    }
}

/// Masks a phone number for display and logs: "010-****-5678".
pub fn mask_phone(digits: &str) -> String {
    let last = digits.get(digits.len().saturating_sub(4)..).unwrap_or("");
    format!("{}-****-{last}", digits.get(..3).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::status::field_violations;

    #[test]
    fn phone_numbers() {
        assert_eq!(mobile_phone("p", "010-1234-5678").unwrap(), "01012345678");
        assert_eq!(field_violations(&mobile_phone("p", "02-123-4567").unwrap_err()), vec!["p"]);
        assert_eq!(mask_phone("01012345678"), "010-****-5678");
    }

    #[test]
    fn ids_dates_pages() {
        assert!(token_chars("k", "abc", 8, 64).is_err());
        assert!(token_chars("k", "abcdefgh-1", 8, 64).is_ok());
        assert!(token_chars("k", "abcdefgh 1", 8, 64).is_err());
        assert!(date("d", "2021-02-29").is_err());
        assert!(date("d", "2024-02-29").is_ok());
        assert_eq!(page_size("n", 0, 20, 100).unwrap(), 20);
        assert!(page_size("n", 101, 20, 100).is_err());
        assert!(uuid("id", "nope").is_err());
    }
}
