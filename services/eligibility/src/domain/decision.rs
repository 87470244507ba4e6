//! The decision for one person at one instant. Pure: the clock, the registry
//! record and the booked state come in as arguments, so every boundary is
//! testable and the command-line tool explains exactly what the server does.
//!
//! Order of evaluation (the first rule that refuses gives the reason):
//! 1. cohorts by the asserted birth date: none → NOT_IN_COHORT; none of
//!    their windows open now for this birth date (rotation digit included)
//!    and no priority group could change that → WINDOW_NOT_OPEN (with when it
//!    opens) or WINDOW_CLOSED. This is the cheap rejection: no registry call.
//! 2. the registry: unknown → UNKNOWN_PERSON; not insured → NOT_INSURED.
//! 3. cohorts by the registry's birth date and priority groups: none →
//!    NOT_IN_COHORT; none open now → WINDOW_NOT_OPEN / WINDOW_CLOSED.
//! 4. doses: given → ALREADY_VACCINATED; booked → ALREADY_BOOKED; an earlier
//!    dose missing or the interval not over → TOO_EARLY_FOR_DOSE.
//! 5. eligible, through the first open window in file order.
//!
//! Proxy limits come after (the subject's eligibility is what counts).
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

mod explain;
mod reason;

pub use explain::explain;
pub use reason::Reason;

use super::{
    calendar::{fmt_seoul, rotation_digit, seoul_date},
    rules::{Cohort, Interval, Part, Rules, Window},
};

/// What the registry says about a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub birth_date: NaiveDate,
    pub insured: bool,
    #[serde(default)]
    pub priority_groups: Vec<String>,
    /// Dates doses were given, in order.
    #[serde(default)]
    pub doses: Vec<NaiveDate>,
}

/// The window that applies to the person, narrowed to their own interval
/// (their rotation day or the catch-up period).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowView {
    pub id: String,
    pub interval: Interval,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub eligible: Result<(), Reason>,
    pub detail: String,
    pub cohort_id: String,
    pub window: Option<WindowView>,
    pub earliest_date: Option<NaiveDate>,
}

impl Decision {
    pub fn refuse(reason: Reason, detail: impl Into<String>) -> Self {
        Self { eligible: Err(reason), detail: detail.into(), cohort_id: String::new(), window: None, earliest_date: None }
    }
}

/// Where the person stands in time with respect to a set of cohorts.
#[derive(Clone, Debug)]
enum Timing<'a> {
    Open(&'a Cohort, &'a Window, Interval),
    NotYet(&'a Cohort, &'a Window, Interval),
    Closed(&'a Cohort, &'a Window, Interval),
    /// The cohorts have no window for this dose at all.
    NoWindow(&'a Cohort),
}

/// The timing over `cohorts` for someone with birth-date `digit`: the first
/// open interval in file order; else the soonest to open; else the last to
/// have closed.
fn timing<'a>(rules: &'a Rules, cohorts: &[&'a Cohort], digit: u8, dose: u32, now: DateTime<Utc>) -> Option<Timing<'a>> {
    let mut next: Option<Timing<'a>> = None;
    let mut last: Option<Timing<'a>> = None;
    for cohort in cohorts {
        for window in rules.windows_of(&cohort.id).filter(|w| w.books_dose(dose)) {
            for interval in window.intervals_for(digit) {
                if interval.contains(now) {
                    return Some(Timing::Open(cohort, window, interval));
                }
                if now < interval.opens_at {
                    if !matches!(&next, Some(Timing::NotYet(_, _, n)) if n.opens_at <= interval.opens_at) {
                        next = Some(Timing::NotYet(cohort, window, interval));
                    }
                } else if !matches!(&last, Some(Timing::Closed(_, _, l)) if l.closes_at >= interval.closes_at) {
                    last = Some(Timing::Closed(cohort, window, interval));
                }
            }
        }
    }
    next.or(last).or_else(|| cohorts.first().map(|c| Timing::NoWindow(c)))
}

fn digit_note(interval: &Interval) -> String {
    match interval.part {
        Part::Whole => String::new(),
        Part::RotationDay { digit } => format!(" (rotation day of birth dates ending in {digit})"),
        Part::CatchUp => " (catch-up after the rotation)".into(),
    }
}

/// The refusal a timing gives, or `None` when a window is open.
fn refusal(timing: &Timing<'_>, dose: u32) -> Option<Decision> {
    let view = |w: &Window, i: &Interval| Some(WindowView { id: w.id.clone(), interval: *i });
    match timing {
        Timing::Open(..) => None,
        Timing::NotYet(c, w, i) => Some(Decision {
            eligible: Err(Reason::WindowNotOpen),
            detail: format!("window {} opens at {}{}", w.id, fmt_seoul(i.opens_at), digit_note(i)),
            cohort_id: c.id.clone(),
            window: view(w, i),
            earliest_date: None,
        }),
        Timing::Closed(c, w, i) => Some(Decision {
            eligible: Err(Reason::WindowClosed),
            detail: format!("window {} closed at {}{}", w.id, fmt_seoul(i.closes_at), digit_note(i)),
            cohort_id: c.id.clone(),
            window: view(w, i),
            earliest_date: None,
        }),
        Timing::NoWindow(c) => Some(Decision {
            eligible: Err(Reason::WindowNotOpen),
            detail: format!("no booking window for dose {dose} of cohort {} is scheduled yet", c.id),
            cohort_id: c.id.clone(),
            window: None,
            earliest_date: None,
        }),
    }
}

fn not_in_cohort() -> Decision {
    Decision::refuse(Reason::NotInCohort, "no cohort of the current rules covers this person")
}

/// The cheap pre-check on the asserted birth date alone (step 1): a
/// decision when the registry cannot change the answer, `None` otherwise.
pub fn precheck(rules: &Rules, birth: NaiveDate, dose: u32, now: DateTime<Utc>) -> Option<Decision> {
    let candidates: Vec<&Cohort> = rules.cohorts.iter().filter(|c| c.admits_birth(birth)).collect();
    if candidates.is_empty() {
        return Some(not_in_cohort());
    }
    let digit = rotation_digit(birth);
    let all = timing(rules, &candidates, digit, dose, now)?;
    if matches!(all, Timing::Open(..)) {
        return None;
    }
    // Nothing is open for this birth date. Cohorts that need a priority group
    // may or may not count (the registry knows); if the answer is the same
    // with or without them, give it now.
    let certain: Vec<&Cohort> = candidates.iter().copied().filter(|c| c.priority_groups.is_empty()).collect();
    let without_groups = refusal(&timing(rules, &certain, digit, dose, now)?, dose)?;
    let with_groups = refusal(&all, dose)?;
    (without_groups == with_groups).then_some(with_groups)
}

/// Everything the decision needs besides the rules and the clock.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The birth date in the verified identity assertion.
    pub asserted_birth: NaiveDate,
    /// The registry's record; `None`: the registry does not know the person.
    pub person: Option<&'a Person>,
    /// The reservation already held for this dose, if any.
    pub booked: Option<&'a str>,
    pub dose: u32,
}

/// The full decision (steps 1-5).
pub fn decide(rules: &Rules, facts: Facts<'_>, now: DateTime<Utc>) -> Decision {
    // Dose numbers start at 1 (the gRPC layer refuses 0; be safe anyway).
    let dose = facts.dose.max(1);
    if let Some(decision) = precheck(rules, facts.asserted_birth, dose, now) {
        return decision;
    }
    let Some(person) = facts.person else { return Decision::refuse(Reason::UnknownPerson, "the registry does not know this person") };
    if !person.insured {
        return Decision::refuse(Reason::NotInsured, "not covered by national health insurance");
    }
    let members: Vec<&Cohort> =
        rules.cohorts.iter().filter(|c| c.admits_birth(person.birth_date) && c.admits_groups(&person.priority_groups)).collect();
    let Some(timing) = timing(rules, &members, rotation_digit(person.birth_date), dose, now) else { return not_in_cohort() };
    if let Some(refused) = refusal(&timing, dose) {
        return refused;
    }
    let Timing::Open(cohort, window, interval) = timing else { return not_in_cohort() };
    let mut decision = Decision {
        eligible: Ok(()),
        detail: String::new(),
        cohort_id: cohort.id.clone(),
        window: Some(WindowView { id: window.id.clone(), interval }),
        earliest_date: None,
    };
    let given = person.doses.len();
    let refuse = |mut d: Decision, reason: Reason, detail: String| {
        d.eligible = Err(reason);
        d.detail = detail;
        d
    };
    if given >= dose as usize {
        let on = person.doses.get(dose as usize - 1).map(|d| format!(" on {d}")).unwrap_or_default();
        return refuse(decision, Reason::AlreadyVaccinated, format!("dose {dose} was already given{on}"));
    }
    if let Some(reservation) = facts.booked {
        return refuse(decision, Reason::AlreadyBooked, format!("dose {dose} is already booked (reservation {reservation})"));
    }
    if dose as usize > given + 1 {
        return refuse(decision, Reason::TooEarlyForDose, format!("dose {} must come first", given + 1));
    }
    if let Some(previous) = person.doses.last() {
        let days = rules.dose_interval.days_after(dose - 1);
        let earliest = *previous + Duration::days(i64::from(days));
        decision.earliest_date = Some(earliest);
        if seoul_date(now) < earliest {
            return refuse(
                decision,
                Reason::TooEarlyForDose,
                format!("dose {dose} not before {earliest}: {days} days after dose {} on {previous}", dose - 1),
            );
        }
    }
    decision.detail = format!(
        "cohort {} may book dose {dose} in window {} until {}{}",
        cohort.id,
        window.id,
        fmt_seoul(interval.closes_at),
        digit_note(&interval)
    );
    decision
}

#[cfg(test)]
mod tests;
