//! The deterministic synthetic population. `person(seed, index)` is a pure
//! function, so the demo and tests can name a real registered person (their
//! RRN, name and phone) without reading the registry's database, and every
//! machine seeds exactly the same people.
//!
//! Its own crate because two programs need the same people: the mock
//! registry loads them, and eligibility's command-line tool samples them
//! (index -> RRN -> subject id) without depending on the mock itself.
//!
//! Randomness comes from splitmix64 rather than an RNG crate: its output is
//! fixed by its definition, not by a library version.
#![forbid(unsafe_code)]
// Unit tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use chrono::{Days, NaiveDate};
use yeyak_platform::pseudonym::Rrn;

/// The generator seed used unless `YEYAK_SEED` or `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 20_210_226;

/// RRN serials have five digits; the index modulo this is the serial.
const SERIALS: u64 = 100_000;
/// 1930-01-01 ..= 2008-12-31.
const BIRTH_DAYS: u64 = 28_855;
/// Coprime with `2 * BIRTH_DAYS` (= 2·5·29·199), so people sharing a serial
/// land on distinct (birth date, sex) slots: RRNs are unique by construction
/// for up to 100,000 × 57,710 people.
const SLOT_STRIDE: u64 = 7_919;
/// Korea began vaccinating on 2021-02-26; first doses fall in the rest of 2021.
const DOSE_DAYS: u64 = 309;

#[rustfmt::skip]
const FAMILY: [&str; 20] =
    ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "류", "홍"];
#[rustfmt::skip]
const GIVEN: [&str; 32] = [
    "민", "서", "지", "현", "준", "우", "하", "은", "도", "윤", "수", "연", "예", "진", "영", "호", "성", "재", "유", "주",
    "아", "원", "혜", "태", "경", "희", "승", "빈", "나", "동", "상", "미",
];
/// The 17 provinces' two-digit administrative codes, weighted per mille
/// roughly by population (Gyeonggi and Seoul dominate).
#[rustfmt::skip]
const REGIONS: [(&str, u64); 17] = [
    ("11", 183), ("26", 64), ("27", 46), ("28", 58), ("29", 28), ("30", 28), ("31", 21), ("36", 8), ("41", 264),
    ("43", 31), ("44", 41), ("46", 35), ("47", 51), ("48", 64), ("50", 13), ("51", 30), ("52", 35),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The registry's one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
}

/// One registered person. `Debug` redacts the RRN (see [`Rrn`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticPerson {
    pub index: u64,
    pub name: String,
    pub rrn: Rrn,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// "010" and 8 digits; distinct for the first 100 million indices.
    pub phone: String,
    pub region_code: &'static str,
    pub insured: bool,
    /// "healthcare" and/or "education", each for about 2% of people.
    pub priority_groups: Vec<&'static str>,
    /// `doses[i]` is the date dose i+1 was given; about 10% had dose 1.
    pub doses: Vec<NaiveDate>,
}

/// splitmix64's output function: a good 64-bit mixer.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent hash of (seed, index) per attribute `salt`.
fn draw(seed: u64, index: u64, salt: u64) -> u64 {
    splitmix64(splitmix64(seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)) ^ index)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1930, 1, 1).unwrap_or_default()
}

/// The region whose cumulative weight band holds `pick` (0..1000).
fn region(pick: u64) -> &'static str {
    let mut rest = pick;
    for (code, weight) in REGIONS {
        if rest < weight {
            return code;
        }
        rest -= weight;
    }
    REGIONS[0].0
}

/// Person number `index` of the population generated from `seed`.
pub fn person(seed: u64, index: u64) -> SyntheticPerson {
    let serial = index % SERIALS;
    let round = index / SERIALS;
    let slot = (draw(seed, serial, 1) + round * SLOT_STRIDE) % (2 * BIRTH_DAYS);
    let sex = if slot % 2 == 1 { Sex::Female } else { Sex::Male };
    let birth_date = epoch() + Days::new(slot / 2);
    let rrn = Rrn::synthesize(birth_date, sex == Sex::Female, serial as u32);

    let n = draw(seed, index, 2);
    let name = format!("{}{}{}", FAMILY[(n % 20) as usize], GIVEN[((n >> 8) % 32) as usize], GIVEN[((n >> 16) % 32) as usize]);
    let phone = format!("010{:08}", (index % 100_000_000) * 7_654_321 % 100_000_000);

    let region_code = region(draw(seed, index, 3) % 1000);

    let flags = draw(seed, index, 4);
    let insured = flags % 1000 < 995;
    let mut priority_groups = Vec::new();
    if (flags >> 10) % 1000 < 20 {
        priority_groups.push("healthcare");
    }
    if (flags >> 20) % 1000 < 20 {
        priority_groups.push("education");
    }
    let mut doses = Vec::new();
    if (flags >> 30) % 100 < 10 {
        let first = NaiveDate::from_ymd_opt(2021, 2, 26).unwrap_or_default();
        doses.push(first + Days::new((flags >> 40) % DOSE_DAYS));
    }
    SyntheticPerson { index, name, rrn, birth_date, sex, phone, region_code, insured, priority_groups, doses }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn rrns_and_phones_are_unique_and_valid_over_200k_people() {
        let mut rrns = HashSet::new();
        let mut phones = HashSet::new();
        let (mut insured, mut dosed, mut healthcare) = (0, 0, 0);
        for index in 0..200_000 {
            let p = person(7, index);
            assert_eq!(Rrn::parse(p.rrn.expose()).as_ref(), Ok(&p.rrn), "index {index}");
            assert_eq!(p.rrn.birth_date(), p.birth_date);
            assert!(rrns.insert(p.rrn.expose().to_owned()), "duplicate RRN at index {index}");
            assert!(phones.insert(p.phone), "duplicate phone at index {index}");
            insured += u32::from(p.insured);
            dosed += u32::from(!p.doses.is_empty());
            healthcare += u32::from(p.priority_groups.contains(&"healthcare"));
        }
        assert!((198_000..=199_800).contains(&insured), "insured {insured}");
        assert!((18_000..=22_000).contains(&dosed), "dosed {dosed}");
        assert!((3_200..=4_800).contains(&healthcare), "healthcare {healthcare}");
    }

    #[test]
    fn people_are_deterministic_and_plausible() {
        let a = person(42, 17);
        assert_eq!(a, person(42, 17));
        assert_ne!(a.rrn, person(43, 17).rrn, "the seed changes the population");
        assert_eq!(a.name.chars().count(), 3);
        assert_eq!((a.phone.len(), &a.phone[..3]), (11, "010"));
        let range = epoch()..=NaiveDate::from_ymd_opt(2008, 12, 31).unwrap();
        let regions: HashSet<_> = (0..5_000).map(|i| person(42, i).region_code).collect();
        assert_eq!(regions.len(), 17);
        for i in 0..5_000 {
            let p = person(42, i);
            assert!(range.contains(&p.birth_date), "{}", p.birth_date);
            assert!(p.doses.iter().all(|d| d.to_string().starts_with("2021-")));
        }
        assert_eq!(REGIONS.iter().map(|(_, w)| w).sum::<u64>(), 1000);
        assert_eq!(epoch() + Days::new(BIRTH_DAYS - 1), NaiveDate::from_ymd_opt(2008, 12, 31).unwrap());
    }
}
