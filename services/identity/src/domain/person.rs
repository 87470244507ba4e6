//! The person: what a valid name is, what an assertion says, and the keyed
//! hashes that stand for a person or a phone wherever we keep state.
use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use yeyak_platform::{
    pseudonym::{mask_name, subject_id, Rrn},
    tokens::IdentityAssertion,
    Secret,
};

/// Names of 1–40 characters: Hangul syllables, Latin letters, spaces, and the
/// hyphen or apostrophe of Latin names.
pub(crate) fn validate_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > 40 {
        return Err("must be 1 to 40 characters");
    }
    let ok = name.chars().all(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c) || c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\'');
    if ok {
        Ok(name.to_owned())
    } else {
        Err("may contain only Hangul, Latin letters and spaces")
    }
}

/// A keyed hash of a phone number, for attempt counting: the number itself
/// is never stored. Domain-separated from the subject id, which uses the
/// same key.
pub(crate) fn phone_key(key: &Secret<String>, phone_digits: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
        // HMAC takes keys of any length; this cannot happen.
        return String::new();
    };
    mac.update(b"yeyak-identity-phone:");
    mac.update(phone_digits.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// What a person hands over to start a verification. `Debug` is redacted.
pub struct PersonDetails {
    pub name: String,
    pub rrn: Rrn,
    pub phone: String,
}

impl fmt::Debug for PersonDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonDetails([redacted])")
    }
}

/// What a provider vouches for once the person proved who they are.
pub struct VerifiedPerson {
    pub name: String,
    pub rrn: Rrn,
}

impl fmt::Debug for VerifiedPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifiedPerson([redacted])")
    }
}

/// Who vouched for the person, and under which admission session.
pub(crate) struct Vouched<'a> {
    pub provider: &'a str,
    pub assurance: u8,
    pub session_id: &'a str,
    /// The event of that session.
    pub queue_id: &'a str,
}

/// Builds the pseudonymous assertion; the number itself goes no further.
pub(crate) fn assertion(key: &Secret<String>, rrn: &Rrn, name: &str, by: &Vouched<'_>, now: i64, ttl_secs: i64) -> IdentityAssertion {
    IdentityAssertion {
        subject: subject_id(key, rrn),
        birth_date: rrn.birth_date().format("%Y-%m-%d").to_string(),
        name: mask_name(name),
        provider: by.provider.to_owned(),
        assurance_level: by.assurance,
        session_id: by.session_id.to_owned(),
        queue_id: by.queue_id.to_owned(),
        issued_at: now,
        expires_at: now + ttl_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate_name(" 홍길동 ").unwrap(), "홍길동");
        assert!(validate_name("John O'Neil").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("Robert'); DROP TABLE--").is_err());
        assert!(validate_name(&"가".repeat(41)).is_err());
    }

    #[test]
    fn phone_keys_are_keyed_and_do_not_contain_the_number() {
        let k = Secret::new("k".to_string());
        let a = phone_key(&k, "01012345678");
        assert_eq!(a.len(), 32);
        assert_eq!(a, phone_key(&k, "01012345678"));
        assert_ne!(a, phone_key(&k, "01012345679"));
        assert_ne!(a, phone_key(&Secret::new("other".to_string()), "01012345678"));
        assert!(!a.contains("12345678"));
    }

    /// Check digit cases on the input the API takes: with and without the
    /// hyphen, each wrong check digit, wrong lengths, impossible dates and
    /// the century digits.
    #[test]
    fn resident_registration_numbers() {
        use yeyak_platform::pseudonym::RrnError;
        // 900101-1234568: weights 2..9,2..5 over 900101123456 sum to 124; (11 - 124 % 11) % 10 = 8.
        assert!(Rrn::parse("9001011234568").is_ok());
        assert_eq!(Rrn::parse("900101-1234568").unwrap().expose(), "9001011234568");
        for wrong in (0..10).filter(|d| *d != 8) {
            assert_eq!(Rrn::parse(&format!("900101-123456{wrong}")), Err(RrnError::CheckDigit), "{wrong}");
        }
        // A remainder of 0 or 1 wraps: (11 - 0) % 10 = 1 and (11 - 1) % 10 = 0.
        assert!(Rrn::parse("900101-1000171").is_ok(), "remainder 0");
        assert_eq!(Rrn::parse("900101-1000170"), Err(RrnError::CheckDigit));
        assert!(Rrn::parse("900101-1000080").is_ok(), "remainder 1");
        assert_eq!(Rrn::parse("900101-1000081"), Err(RrnError::CheckDigit));
        let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(2001, 12, 31).unwrap(), true, 99_999);
        assert_eq!(rrn.birth_date().to_string(), "2001-12-31");
        assert!(rrn.expose().starts_with("0112314"), "2000s women have sex digit 4");
        for bad in ["900101-123456", "900101-12345689", "90010I-1234568", "900101--1234568", "9001-01-1234568", ""] {
            assert_eq!(Rrn::parse(bad), Err(RrnError::Format), "{bad:?}");
        }
        assert_eq!(Rrn::parse("900230-1234568"), Err(RrnError::BirthDate), "30 February");
        assert_eq!(Rrn::parse("901301-1234568"), Err(RrnError::BirthDate), "month 13");
    }

    #[test]
    fn assertion_carries_no_number() {
        let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1966, 7, 1).unwrap(), false, 42);
        let by = Vouched { provider: "carrier-sms", assurance: 1, session_id: "sid", queue_id: "q1" };
        let a = assertion(&Secret::new("k".into()), &rrn, "홍길동", &by, 100, 60);
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains(rrn.expose()));
        assert_eq!(a.birth_date, "1966-07-01");
        assert_eq!(a.name, "홍*동");
        assert_eq!(a.expires_at, 160);
    }

    #[test]
    fn personal_data_is_redacted_in_debug() {
        let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(), false, 5);
        let p = PersonDetails { name: "홍길동".into(), rrn: rrn.clone(), phone: "01012345678".into() };
        assert_eq!(format!("{p:?}"), "PersonDetails([redacted])");
        assert_eq!(format!("{:?}", VerifiedPerson { name: "홍길동".into(), rrn }), "VerifiedPerson([redacted])");
    }
}
