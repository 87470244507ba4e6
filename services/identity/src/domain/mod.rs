//! Rules of identity: what a valid name is, and what an assertion says.
use yeyak_platform::{
    pseudonym::{mask_name, subject_id, Rrn},
    tokens::IdentityAssertion,
    Secret,
};

/// Names of 1–40 characters: Hangul syllables, Latin letters, spaces, and the
/// hyphen or apostrophe of Latin names.
pub fn validate_name(name: &str) -> Result<String, &'static str> {
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

/// Who vouched for the person, and under which admission session.
pub struct Vouched<'a> {
    pub provider: &'a str,
    pub assurance: u8,
    pub sid: &'a str,
}

/// Builds the pseudonymous assertion; the number itself goes no further.
pub fn assertion(key: &Secret<String>, rrn: &Rrn, name: &str, by: &Vouched<'_>, now: i64, ttl_secs: i64) -> IdentityAssertion {
    IdentityAssertion {
        sub: subject_id(key, rrn),
        birth: rrn.birth_date().format("%Y-%m-%d").to_string(),
        name: mask_name(name),
        prov: by.provider.to_owned(),
        aal: by.assurance,
        sid: by.sid.to_owned(),
        iat: now,
        exp: now + ttl_secs,
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
    fn assertion_carries_no_number() {
        let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1966, 7, 1).unwrap(), false, 42);
        let by = Vouched { provider: "carrier-sms", assurance: 1, sid: "sid" };
        let a = assertion(&Secret::new("k".into()), &rrn, "홍길동", &by, 100, 60);
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains(rrn.expose()));
        assert_eq!(a.birth, "1966-07-01");
        assert_eq!(a.name, "홍*동");
        assert_eq!(a.exp, 160);
    }
}
