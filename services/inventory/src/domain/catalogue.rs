//! The deterministic demo catalogue: the same inputs always give the same
//! clinics, vaccines, slots, ids and sizes, so demos, load tests and the
//! end-to-end harness can rely on them. Every choice comes from a SHA-256 of
//! a readable label, not from a random generator.
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::regions::{Province, PROVINCES};

pub const VACCINES: [&str; 4] = ["pfizer", "moderna", "az", "janssen"];
/// Hourly slots from 09:00 to 17:00 Seoul time.
pub const FIRST_HOUR: u32 = 9;
pub const SLOTS_PER_DAY: u32 = 8;
const PREFIXES: [&str; 10] = ["튼튼", "연세", "행복", "미래", "바른", "365", "하나", "새봄", "푸른", "우리"];
const KINDS: [&str; 5] = ["내과의원", "가정의학과의원", "소아청소년과의원", "이비인후과의원", "병원"];

#[derive(Clone, Debug)]
pub struct DemoClinic {
    pub clinic_id: Uuid,
    pub province_code: &'static str,
    pub district_code: &'static str,
    pub name: String,
    pub address: String,
    /// One or two of [`VACCINES`].
    pub vaccines: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub struct DemoSlot {
    pub slot_id: Uuid,
    pub vaccine_code: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    /// 5 to 20 places.
    pub capacity: i32,
}

fn digest(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// A version-8 UUID (custom bytes) derived from `label`.
fn derived_id(label: &str) -> Uuid {
    let d = digest(label);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Every district's clinics, `per_district` each.
pub fn clinics(per_district: u32) -> Vec<DemoClinic> {
    PROVINCES.iter().flat_map(|p| p.districts.iter().flat_map(move |d| (1..=per_district).map(move |n| clinic(p, *d, n)))).collect()
}

fn clinic(province: &Province, (district_code, district_name): (&'static str, &'static str), n: u32) -> DemoClinic {
    let label = format!("clinic:{district_code}:{n}");
    let d = digest(&label);
    let first = usize::from(d[0]) % VACCINES.len();
    let mut vaccines = vec![VACCINES[first]];
    if d[1].is_multiple_of(2) {
        vaccines.push(VACCINES[(first + 1 + usize::from(d[2]) % (VACCINES.len() - 1)) % VACCINES.len()]);
    }
    let prefix = PREFIXES[usize::from(d[3]) % PREFIXES.len()];
    let kind = KINDS[usize::from(d[4]) % KINDS.len()];
    DemoClinic {
        clinic_id: derived_id(&label),
        province_code: province.code,
        district_code,
        name: format!("{prefix}{kind} {district_name} {n}호점"),
        address: format!("{} {district_name} 예약로{}길 {}", province.name, n / 10 + 1, n % 10 * 7 + 1),
        vaccines,
    }
}

/// A slot id: the clinic id's first 8 bytes, then 8 bytes of the slot label's
/// digest. Slots of one clinic are neighbours in the primary-key index, so a
/// loader that writes clinics in id order fills both slot indexes page by page
/// (ten million random-key inserts would instead touch pages all over them).
fn slot_id(clinic_id: Uuid, label: &str) -> Uuid {
    let d = digest(label);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&clinic_id.as_bytes()[..8]);
    bytes[8..].copy_from_slice(&d[..8]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A clinic's slots for `days` days from `first_day`, every vaccine it offers,
/// [`SLOTS_PER_DAY`] hourly slots a day, in (vaccine, start) order.
pub fn slots(clinic: &DemoClinic, first_day: NaiveDate, days: u32) -> Vec<DemoSlot> {
    let mut out = Vec::with_capacity(clinic.vaccines.len() * days as usize * SLOTS_PER_DAY as usize);
    for vaccine in &clinic.vaccines {
        for offset in 0..days {
            let Some(day) = first_day.checked_add_days(Days::new(u64::from(offset))) else { continue };
            for hour in FIRST_HOUR..FIRST_HOUR + SLOTS_PER_DAY {
                let (Some(starts_at), Some(ends_at)) = (seoul_time(day, hour), seoul_time(day, hour + 1)) else { continue };
                let label = format!("slot:{}:{vaccine}:{day}:{hour}", clinic.clinic_id);
                let d = digest(&label);
                out.push(DemoSlot {
                    slot_id: slot_id(clinic.clinic_id, &label),
                    vaccine_code: vaccine,
                    starts_at,
                    ends_at,
                    local_date: day,
                    capacity: 5 + i32::from(d[31] % 16),
                });
            }
        }
    }
    out
}

fn seoul_time(day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?);
    Seoul.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn deterministic_and_within_bounds() {
        let a = clinics(3);
        let b = clinics(3);
        let districts: usize = PROVINCES.iter().map(|p| p.districts.len()).sum();
        assert_eq!(a.len(), districts * 3);
        assert_eq!(a.iter().map(|c| c.clinic_id).collect::<Vec<_>>(), b.iter().map(|c| c.clinic_id).collect::<Vec<_>>());
        assert_eq!(a.iter().map(|c| c.clinic_id).collect::<HashSet<_>>().len(), a.len());
        for c in &a {
            assert!((1..=2).contains(&c.vaccines.len()));
            assert!(c.vaccines.iter().all(|v| VACCINES.contains(v)));
            assert_eq!(c.vaccines.iter().collect::<HashSet<_>>().len(), c.vaccines.len(), "no vaccine twice");
            assert!(c.district_code.starts_with(c.province_code));
        }
        assert!(a.iter().any(|c| c.vaccines.len() == 2) && a.iter().any(|c| c.vaccines.len() == 1));
    }

    #[test]
    fn slots_are_hourly_nine_to_five_seoul() {
        let clinic = &clinics(1)[0];
        let day = NaiveDate::from_ymd_opt(2021, 7, 26).unwrap();
        let slots = slots(clinic, day, 2);
        assert_eq!(slots.len(), clinic.vaccines.len() * 2 * 8);
        let first = &slots[0];
        assert_eq!(first.starts_at.to_rfc3339(), "2021-07-26T00:00:00+00:00", "09:00 KST");
        assert_eq!(slots[7].ends_at.to_rfc3339(), "2021-07-26T08:00:00+00:00", "17:00 KST");
        assert_eq!(slots[8].local_date.to_string(), "2021-07-27");
        assert!(slots.iter().all(|s| (5..=20).contains(&s.capacity)));
        assert_eq!(slots.iter().map(|s| s.slot_id).collect::<HashSet<_>>().len(), slots.len());
        let again = super::slots(clinic, day, 2);
        assert_eq!(again[5].slot_id, slots[5].slot_id);
        assert_eq!(again[5].capacity, slots[5].capacity);
    }
}
