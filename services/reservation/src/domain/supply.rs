//! Where a booking goes when its slot closes (docs/supply-changes.md): the
//! rules of a supply change's moves, pure so that the job and its dry run
//! choose by the same code and unit tests check them without a database.
//!
//! - **Equivalent**: the same vaccine, or an allowed substitute
//!   ([`substitutes`]); starting within the change's bound of days of the
//!   closed slot, and at least [`MIN_NOTICE`] from now; for a second or later
//!   dose, never earlier than the closed slot ([`later_only`]).
//! - **Nearest**: the same clinic, then the same district, then the rest of
//!   the province (inventory offers nothing further); within each, the same
//!   vaccine before a substitute, then the smallest distance in time.
//! - A booking takes the first such slot with a place; with none it is
//!   cancelled.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Slot;

/// A move lands on a slot at least this far ahead: nobody learns at 10:55
/// that they are expected at 11:00.
pub(crate) const MIN_NOTICE: Duration = Duration::hours(2);

/// The vaccines that may stand in for `vaccine` in a dose series. Only the
/// two mRNA vaccines are interchangeable (the 2021 guidance let a Pfizer
/// series continue with Moderna and back); a viral-vector dose (az,
/// janssen) moves only to its own vaccine.
pub(crate) fn substitutes(vaccine: &str) -> &'static [&'static str] {
    match vaccine {
        "pfizer" => &["moderna"],
        "moderna" => &["pfizer"],
        _ => &[],
    }
}

/// A second or later dose moves only to a later slot: eligibility checked
/// the interval since the previous dose against the booked date, and an
/// earlier date could break it. A first dose may move either way.
pub(crate) fn later_only(dose_number: u32) -> bool {
    dose_number > 1
}

/// Candidate indices, best first, per closed slot and [`later_only`].
pub(crate) type Rankings = HashMap<(Uuid, bool), Vec<usize>>;

/// Every closed slot's rankings, both ways; the closed slots themselves are
/// no target.
pub(crate) fn rankings(closing: &[Closing], home: &Home, candidates: &[Candidate], max_move_days: u32, now: DateTime<Utc>) -> Rankings {
    let excluded: HashSet<Uuid> = closing.iter().map(|c| c.slot_id).collect();
    let mut all = Rankings::new();
    for c in closing {
        for later in [false, true] {
            all.insert((c.slot_id, later), ranked(c, home, candidates, Rule { max_move_days, now, later_only: later }, &excluded));
        }
    }
    all
}

/// What makes a candidate a booking's equivalent, besides the vaccine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rule {
    pub(crate) max_move_days: u32,
    pub(crate) now: DateTime<Utc>,
    pub(crate) later_only: bool,
}

/// Every vaccine a booking of `vaccines` may move to, sorted.
pub(crate) fn allowed_vaccines<'a>(vaccines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut all: Vec<String> =
        vaccines.into_iter().flat_map(|v| std::iter::once(v).chain(substitutes(v).iter().copied())).map(str::to_owned).collect();
    all.sort();
    all.dedup();
    all
}

/// A closed slot whose bookings move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Closing {
    pub(crate) slot_id: Uuid,
    pub(crate) vaccine_code: String,
    pub(crate) starts_at: DateTime<Utc>,
}

/// An open slot a booking may move to, as the catalogue describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) slot: Slot,
    pub(crate) district_code: String,
    /// The catalogue's size: the ledger's when it has no row yet.
    pub(crate) capacity: u32,
}

/// The clinic whose slots close, and its district.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Home {
    pub(crate) clinic_id: String,
    pub(crate) district_code: String,
}

/// The starts worth asking the catalogue for: within `max_move_days` of a
/// closed slot and at least [`MIN_NOTICE`] from `now`; `None` when nothing
/// qualifies (every closed slot is in the past).
pub(crate) fn candidate_window(closing: &[Closing], max_move_days: u32, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let reach = Duration::days(i64::from(max_move_days));
    let first = closing.iter().map(|c| c.starts_at).min()? - reach;
    let last = closing.iter().map(|c| c.starts_at).max()? + reach + Duration::seconds(1);
    let from = first.max(now + MIN_NOTICE);
    (from < last).then_some((from, last))
}

/// The indices of `candidates` a booking of `closing` may move to, best
/// first. `excluded` are slots that close in the same change.
pub(crate) fn ranked(closing: &Closing, home: &Home, candidates: &[Candidate], rule: Rule, excluded: &HashSet<Uuid>) -> Vec<usize> {
    let Rule { max_move_days, now, later_only } = rule;
    let reach = Duration::days(i64::from(max_move_days));
    let subs = substitutes(&closing.vaccine_code);
    let mut fit: Vec<(u8, bool, i64, DateTime<Utc>, Uuid, usize)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.slot.vaccine_code == closing.vaccine_code || subs.contains(&c.slot.vaccine_code.as_str()))
        .filter(|(_, c)| (c.slot.starts_at - closing.starts_at).abs() <= reach && c.slot.starts_at >= now + MIN_NOTICE)
        .filter(|(_, c)| !later_only || c.slot.starts_at >= closing.starts_at)
        .filter(|(_, c)| c.slot.slot_id != closing.slot_id && !excluded.contains(&c.slot.slot_id))
        .map(|(i, c)| {
            let tier = if c.slot.clinic_id == home.clinic_id {
                0
            } else if c.district_code == home.district_code {
                1
            } else {
                2
            };
            let distance = (c.slot.starts_at - closing.starts_at).num_seconds().abs();
            (tier, c.slot.vaccine_code != closing.vaccine_code, distance, c.slot.starts_at, c.slot.slot_id, i)
        })
        .collect();
    fit.sort_unstable();
    fit.into_iter().map(|f| f.5).collect()
}

/// What the job would do: bookings moved per target slot, and cancelled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) moved: BTreeMap<Uuid, u32>,
    pub(crate) cancelled: u32,
}

/// The job's choices, simulated: each booking (reservation, closed slot,
/// dose; in the job's order, by reservation id) takes the first slot of its
/// ranking with room left in `room` (places left per candidate slot).
pub(crate) fn plan(bookings: &[(Uuid, Uuid, u32)], rankings: &Rankings, candidates: &[Candidate], mut room: HashMap<Uuid, u32>) -> Planned {
    let mut planned = Planned::default();
    for (_, from, dose) in bookings {
        let target = rankings
            .get(&(*from, later_only(*dose)))
            .into_iter()
            .flatten()
            .map(|&i| candidates[i].slot.slot_id)
            .find(|id| room.get(id).is_some_and(|r| *r > 0));
        match target {
            Some(id) => {
                if let Some(r) = room.get_mut(&id) {
                    *r -= 1;
                }
                *planned.moved.entry(id).or_default() += 1;
            }
            None => planned.cancelled += 1,
        }
    }
    planned
}

#[cfg(test)]
#[path = "supply_tests.rs"]
mod tests;
