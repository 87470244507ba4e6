//! The evening's invariants, checked at the end through the public APIs
//! (a checker person of its own, queued like everyone), the operator API's
//! counters and the mock SMS gateway.
use std::collections::{BTreeMap, HashMap};

use crate::{
    citizen::Rechecked,
    operator::Sample,
    recorder::{Booked, Person},
    report::model::Invariant,
};

fn invariant(name: &str, held: bool, detail: String) -> Invariant {
    Invariant { name: name.to_owned(), held, detail }
}

/// At most one confirmed booking per person and dose, judged on what the
/// server lists for the people who came back (`rechecked`), and on every
/// booking the crowd was told of: a retry after a timeout must have been
/// answered with the same reservation, a second tab must have been refused,
/// and a confirmed booking must be listed.
pub(crate) fn one_booking_per_person(bookings: &[&Booked], rechecked: &[Rechecked]) -> Invariant {
    let mut per: HashMap<(u64, u32), Vec<&str>> = HashMap::new();
    let listed = rechecked.iter().flat_map(|r| r.listed.iter().chain(&r.second));
    for b in bookings.iter().copied().chain(listed) {
        let ids = per.entry((b.subject, b.dose)).or_default();
        if !ids.contains(&b.reservation_id.as_str()) {
            ids.push(&b.reservation_id);
        }
    }
    let twice: Vec<_> = per.iter().filter(|(_, ids)| ids.len() > 1).map(|((s, d), ids)| format!("#{s} dose {d}: {ids:?}")).collect();
    let unlisted: Vec<_> = rechecked
        .iter()
        .flat_map(|r| {
            bookings.iter().filter(move |b| b.subject == r.subject && !r.listed.iter().any(|l| l.reservation_id == b.reservation_id))
        })
        .map(|b| b.reservation_id.clone())
        .collect();
    let seconds = rechecked.iter().filter(|r| r.second.is_some()).count();
    let agents = bookings.iter().filter(|b| b.by_agent).count();
    let detail = format!(
        "{} people booked ({agents} by an agent); {} came back: {seconds} second tabs booked, {} confirmed bookings not listed {:?}; {} with two bookings of one dose {:?}",
        per.len(),
        rechecked.len(),
        unlisted.len(),
        &unlisted[..unlisted.len().min(3)],
        twice.len(),
        &twice[..twice.len().min(3)]
    );
    let held = twice.is_empty() && unlisted.is_empty() && (bookings.is_empty() || !rechecked.is_empty());
    invariant("at most one active booking per person per dose", held, detail)
}

/// Every booking's confirmation reached its phone exactly once. `messages`
/// are the gateway's `(to, text)`; codes are compared without separators.
pub(crate) fn one_sms_per_booking(bookings: &[&Booked], messages: &[(String, String)]) -> Invariant {
    let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    let mut by_phone: HashMap<&str, Vec<String>> = HashMap::new();
    for (to, text) in messages {
        by_phone.entry(to.as_str()).or_default().push(squash(text));
    }
    let mut wrong = BTreeMap::new();
    for b in bookings {
        let code = squash(&b.booking_code);
        let n = by_phone.get(b.contact_phone.as_str()).map_or(0, |texts| texts.iter().filter(|t| t.contains(&code)).count());
        if n != 1 {
            wrong.insert(b.booking_code.clone(), n);
        }
    }
    let sample: Vec<_> = wrong.iter().take(3).collect();
    let detail = format!("{} bookings, {} messages; {} not texted exactly once {sample:?}", bookings.len(), messages.len(), wrong.len());
    invariant("exactly one SMS per confirmed booking", wrong.is_empty(), detail)
}

/// Slots as the inventory shows them after the run: `(capacity, remaining)`.
pub(crate) fn no_slot_over_capacity(bookings: &[&Booked], slots: &HashMap<String, (u32, u32)>) -> Invariant {
    let mut ours: HashMap<&str, u32> = HashMap::new();
    for b in bookings {
        *ours.entry(b.slot_id.as_str()).or_default() += 1;
    }
    let mut bad = Vec::new();
    for (slot, n) in &ours {
        match slots.get(*slot) {
            // Our bookings must fit, and be counted as taken.
            Some((capacity, remaining)) if *n <= *capacity && capacity - remaining.min(capacity) >= *n => {}
            Some((capacity, remaining)) => bad.push(format!("{slot}: {n} booked, capacity {capacity}, remaining {remaining}")),
            None => bad.push(format!("{slot}: not found")),
        }
    }
    let detail = format!("{} slots booked; {} over capacity or miscounted {:?}", ours.len(), bad.len(), &bad[..bad.len().min(3)]);
    invariant("no slot over capacity", bad.is_empty(), detail)
}

/// Nobody admitted beyond the rate plus its burst, two ways: admission's
/// own `admitted` counter, sampled every second, over every window of at
/// least 5 s and over the whole run (a running maximum, so a counter that
/// reads 0 while its store is rebuilt is no burst); and the admissions the
/// crowd itself saw, over the whole run since the opening. Returns the
/// invariant and `(most admitted in a window, allowed)`.
pub(crate) fn admission_within_rate(samples: &[Sample], people: &[Person], rate: f64, burst: f64, opening: f64) -> (Invariant, u64, f64) {
    const WINDOW: f64 = 5.0;
    let mut seen = 0;
    let samples: Vec<Sample> = samples
        .iter()
        .map(|s| {
            seen = seen.max(s.admitted);
            Sample { t: s.t, admitted: seen }
        })
        .collect();
    let (mut worst, mut worst_allowed, mut ok, mut windows) = (0u64, rate * (WINDOW + burst), true, 0);
    for (i, a) in samples.iter().enumerate() {
        let Some(b) = samples[i..].iter().find(|b| b.t - a.t >= WINDOW) else { break };
        let admitted = b.admitted.saturating_sub(a.admitted);
        // One extra second: a sample is stamped when its answer arrives.
        let allowed = rate * (b.t - a.t + burst + 1.0);
        if admitted > worst {
            (worst, worst_allowed) = (admitted, allowed);
        }
        ok &= admitted as f64 <= allowed;
        windows += 1;
    }
    let last = people.iter().filter_map(|p| p.admitted_at).fold(opening, f64::max);
    let seen_by_crowd = people.iter().filter(|p| p.admitted_at.is_some()).count() as f64;
    let whole_run = rate * (last - opening + burst + 1.0);
    ok &= seen_by_crowd <= whole_run && windows > 0;
    let detail = format!(
        "most admitted in {WINDOW} s: {worst} (allowed {worst_allowed:.0} at {rate}/s plus {burst} s of burst) over {windows} windows; the crowd saw {seen_by_crowd} admitted in {:.0} s after the opening (allowed {whole_run:.0})",
        last - opening
    );
    (invariant("nobody admitted beyond the configured rate plus burst", ok, detail), worst, worst_allowed)
}

/// Bots were not admitted ahead of the share their accepted entries give
/// them: among the entries that waited to the end, the bots' share of the
/// admitted is at most their share of the entries, plus three standard
/// errors.
pub(crate) fn bots_within_their_share(people: &[Person], bot_joins: (u64, u64)) -> Invariant {
    // Bots never give up: counting the citizens who did would favour them.
    let waited: Vec<&Person> = people.iter().filter(|p| p.joined_at.is_some() && !p.gave_up).collect();
    let entries = waited.len() as f64;
    let bots = waited.iter().filter(|p| p.bot).count() as f64;
    let admitted: Vec<_> = waited.iter().filter(|p| p.admitted_at.is_some()).collect();
    let bots_admitted = admitted.iter().filter(|p| p.bot).count() as f64;
    let n = admitted.len().max(1) as f64;
    let share = bots / entries.max(1.0);
    let allowed = share + 3.0 * (share * (1.0 - share) / n).sqrt() + 1.0 / n;
    let got = bots_admitted / n;
    let detail = format!(
        "bot join attempts {}, accepted {}; bots are {:.2}% of entries and {:.2}% of those admitted (at most {:.2}%)",
        bot_joins.0,
        bot_joins.1,
        share * 100.0,
        got * 100.0,
        allowed * 100.0
    );
    invariant("no bot admitted ahead of its entries' share", got <= allowed, detail)
}

/// `planned` attempts were configured: none made means nothing was checked.
pub(crate) fn no_stolen_pass_accepted(stolen: &[(&'static str, bool)], planned: u64) -> Invariant {
    let tried = |kind: &str| stolen.iter().filter(|(k, _)| *k == kind).count();
    let accepted = |kind: &str| stolen.iter().filter(|(k, a)| *k == kind && *a).count();
    let detail = format!(
        "forged: {} tried, {} accepted; copied to another device: {} tried, {} accepted",
        tried("forged"),
        accepted("forged"),
        tried("copied"),
        accepted("copied")
    );
    let held = accepted("forged") + accepted("copied") == 0 && (planned == 0 || tried("forged") + tried("copied") > 0);
    invariant("no forged or copied pass accepted", held, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booked(subject: u64, id: &str, slot: &str, code: &str) -> Booked {
        Booked {
            reservation_id: id.into(),
            booking_code: code.into(),
            slot_id: slot.into(),
            clinic_id: "c".into(),
            vaccine_code: "pfizer".into(),
            contact_phone: format!("010{subject:08}"),
            subject,
            dose: 1,
            by_agent: false,
            after_timeout: false,
        }
    }

    #[test]
    fn a_second_reservation_an_unlisted_one_or_nobody_coming_back_fails() {
        let (a, retry, other) = (booked(1, "r1", "s", "AB12"), booked(1, "r1", "s", "AB12"), booked(1, "r2", "s", "CD34"));
        let back = |listed: Vec<Booked>, second: Option<Booked>| vec![Rechecked { subject: 1, listed, second }];
        assert!(one_booking_per_person(&[&a, &retry], &back(vec![a.clone()], None)).held);
        assert!(!one_booking_per_person(&[&a, &other], &back(vec![a.clone()], None)).held, "two told");
        assert!(!one_booking_per_person(&[&a], &back(vec![a.clone(), other.clone()], None)).held, "a second one listed");
        assert!(!one_booking_per_person(&[&a], &back(vec![a.clone()], Some(other.clone()))).held, "the second tab booked");
        assert!(!one_booking_per_person(&[&a], &back(vec![], None)).held, "confirmed but not listed");
        assert!(!one_booking_per_person(&[&a], &[]).held, "nobody came back to check");
    }

    #[test]
    fn a_missing_or_doubled_text_fails_and_separators_do_not_matter() {
        let b = booked(1, "r1", "s", "AB12-CD34");
        let text = |code: &str| (b.contact_phone.clone(), format!("접종 예약이 확정되었습니다. 예약번호 {code}"));
        assert!(one_sms_per_booking(&[&b], &[text("AB12 CD34")]).held);
        assert!(!one_sms_per_booking(&[&b], &[]).held);
        assert!(!one_sms_per_booking(&[&b], &[text("AB12CD34"), text("AB12-CD34")]).held);
    }

    #[test]
    fn a_slot_holding_more_than_its_capacity_or_not_counting_ours_fails() {
        let bookings = [booked(1, "r1", "s", "A"), booked(2, "r2", "s", "B"), booked(3, "r3", "s", "C")];
        let refs: Vec<&Booked> = bookings.iter().collect();
        let slots = |capacity, remaining| HashMap::from([("s".to_owned(), (capacity, remaining))]);
        assert!(no_slot_over_capacity(&refs, &slots(5, 2)).held);
        assert!(!no_slot_over_capacity(&refs, &slots(2, 0)).held, "three booked into two places");
        assert!(!no_slot_over_capacity(&refs, &slots(5, 4)).held, "the ledger forgot two of ours");
        assert!(!no_slot_over_capacity(&refs, &HashMap::new()).held);
    }

    #[test]
    fn admitting_faster_than_rate_plus_burst_fails() {
        let at = |t: f64, admitted: u64| Sample { t, admitted };
        let steady: Vec<Sample> = (0..20u32).map(|i| at(f64::from(i), u64::from(i) * 100)).collect();
        let crowd = |n: u32, over: f64| -> Vec<Person> {
            (0..n).map(|i| Person { admitted_at: Some(f64::from(i) * over / f64::from(n)), ..Person::default() }).collect()
        };
        assert!(admission_within_rate(&steady, &crowd(1_900, 19.0), 100.0, 0.25, 0.0).0.held);
        let mut burst = steady.clone();
        burst[10].admitted += 800;
        burst.iter_mut().skip(11).for_each(|s| s.admitted += 800);
        assert!(!admission_within_rate(&burst, &[], 100.0, 0.25, 0.0).0.held);
        assert!(!admission_within_rate(&steady[..1], &[], 100.0, 0.25, 0.0).0.held, "one sample proves nothing");
        assert!(!admission_within_rate(&steady, &crowd(3_000, 19.0), 100.0, 0.25, 0.0).0.held, "the crowd saw more than the rate");
        let mut flushed = steady.clone();
        flushed[8].admitted = 0;
        assert!(admission_within_rate(&flushed, &[], 100.0, 0.25, 0.0).0.held, "a counter read as 0 while rebuilt is no burst");
    }

    #[test]
    fn bots_admitted_beyond_their_share_fail() {
        let person =
            |bot: bool, admitted: bool| Person { bot, joined_at: Some(0.0), admitted_at: admitted.then_some(1.0), ..Person::default() };
        // 10% of the entries are bots; half the crowd gets in.
        let fair: Vec<Person> = (0..1000).map(|i| person(i % 10 == 0, (i / 10) % 2 == 0)).collect();
        assert!(bots_within_their_share(&fair, (100, 100)).held);
        let ahead: Vec<Person> = (0..1000).map(|i| person(i % 10 == 0, i % 10 == 0 || i % 3 == 0)).collect();
        assert!(!bots_within_their_share(&ahead, (100, 100)).held);
    }

    #[test]
    fn one_accepted_stolen_pass_fails() {
        assert!(no_stolen_pass_accepted(&[("forged", false), ("copied", false)], 2).held);
        assert!(!no_stolen_pass_accepted(&[("forged", false), ("copied", true)], 2).held);
        assert!(!no_stolen_pass_accepted(&[], 2).held, "none tried");
    }
}
