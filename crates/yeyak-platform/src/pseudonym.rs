//! Resident registration numbers (주민등록번호) and the pseudonymous subject id
//! derived from them. The raw number is personal data: it is validated here,
//! hashed with a secret key, and never logged (`Rrn`'s Debug is redacted).
use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::config::Secret;

/// A validated resident registration number (13 digits, no hyphen).
#[derive(Clone, PartialEq, Eq)]
pub struct Rrn(String);

impl fmt::Debug for Rrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rrn([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RrnError {
    #[error("must be 13 digits, YYMMDD-SNNNNNC")]
    Format,
    #[error("birth date part is not a real date")]
    BirthDate,
    #[error("check digit does not match")]
    CheckDigit,
}

impl Rrn {
    pub fn parse(input: &str) -> Result<Self, RrnError> {
        let digits: String = input.chars().filter(|c| *c != '-').collect();
        if digits.len() != 13 || !digits.bytes().all(|b| b.is_ascii_digit()) || input.chars().filter(|c| *c == '-').count() > 1 {
            return Err(RrnError::Format);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        if birth_date_of(&d).is_none() {
            return Err(RrnError::BirthDate);
        }
        if check_digit(&d[..12]) != d[12] {
            return Err(RrnError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// Builds a valid number from a birth date, sex digit and serial (synthetic data).
    pub fn synthesize(birth: chrono::NaiveDate, female: bool, serial: u32) -> Self {
        use chrono::Datelike as _;
        let century = if birth.year() >= 2000 { 2 } else { 0 };
        let s = century + 1 + u32::from(female);
        let head = format!("{:02}{:02}{:02}{}{:05}", birth.year() % 100, birth.month(), birth.day(), s, serial % 100_000);
        let d: Vec<u32> = head.bytes().map(|b| u32::from(b - b'0')).collect();
        Self(format!("{head}{}", check_digit(&d)))
    }

    pub fn birth_date(&self) -> chrono::NaiveDate {
        let d: Vec<u32> = self.0.bytes().map(|b| u32::from(b - b'0')).collect();
        birth_date_of(&d).unwrap_or_default()
    }

    /// The raw digits: only for sending to the registry or a provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn check_digit(d: &[u32]) -> u32 {
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d.iter().zip(W).map(|(a, w)| a * w).sum();
    (11 - sum % 11) % 10
}

fn birth_date_of(d: &[u32]) -> Option<chrono::NaiveDate> {
    let century = match d[6] {
        1 | 2 | 5 | 6 => 1900,
        3 | 4 | 7 | 8 => 2000,
        9 | 0 => 1800,
        _ => return None,
    };
    let year = century + (d[0] * 10 + d[1]) as i32;
    chrono::NaiveDate::from_ymd_opt(year, d[2] * 10 + d[3], d[4] * 10 + d[5])
}

/// The pseudonymous subject id: HMAC-SHA256(key, rrn), hex. Identity and the
/// registry share the key; nobody else can link the id back to a person.
pub fn subject_id(key: &Secret<String>, rrn: &Rrn) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    mac.update(rrn.0.as_bytes());
    let out = mac.finalize().into_bytes();
    hex::encode(&out[..20])
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this branch cannot be taken.
    Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| unreachable_hmac())
}

/// Masks a name for display: "홍길동" → "홍*동", "Kim" → "K*m", "이순" → "이*".
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_and_birth_dates() {
        let r = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1967, 3, 5).unwrap(), false, 12345);
        assert_eq!(Rrn::parse(r.expose()), Ok(r.clone()));
        assert_eq!(r.birth_date().to_string(), "1967-03-05");
        let mut wrong = r.expose().to_owned();
        let last = (wrong.pop().unwrap().to_digit(10).unwrap() + 1) % 10;
        wrong.push(char::from_digit(last, 10).unwrap());
        assert_eq!(Rrn::parse(&wrong), Err(RrnError::CheckDigit));
        assert_eq!(Rrn::parse("670305-1234"), Err(RrnError::Format));
        assert_eq!(Rrn::parse("671305-1234567"), Err(RrnError::BirthDate));
        let leap = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(), true, 1);
        assert_eq!(leap.birth_date().to_string(), "2000-02-29");
        assert!(!format!("{leap:?}").contains(leap.expose()));
    }

    #[test]
    fn subject_ids_are_keyed() {
        let r = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(), false, 7);
        let a = subject_id(&Secret::new("k1".into()), &r);
        assert_eq!(a.len(), 40);
        assert_eq!(a, subject_id(&Secret::new("k1".into()), &r));
        assert_ne!(a, subject_id(&Secret::new("k2".into()), &r));
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("홍길동"), "홍*동");
        assert_eq!(mask_name("남궁민수"), "남**수");
        assert_eq!(mask_name("이순"), "이*");
    }
}
