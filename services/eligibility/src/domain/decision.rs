//! The decision for one person at one instant. Pure: the clock and the
//! registry record come in as arguments, so every boundary is testable.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Asia::Seoul;

use super::rules::{Rules, Window};

/// What the registry says about a person.
#[derive(Clone, Debug)]
pub struct Person {
    pub birth_date: NaiveDate,
    pub insured: bool,
    /// Dates doses were given, in order.
    pub doses: Vec<NaiveDate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    NotInCohort,
    WindowNotOpen,
    WindowClosed,
    AlreadyVaccinated,
    TooEarlyForDose,
    NotInsured,
    UnknownPerson,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub eligible: Result<(), Reason>,
    pub detail: String,
    pub cohort_id: String,
    pub window: Option<Window>,
    pub earliest_date: Option<NaiveDate>,
}

impl PartialEq for Window {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

fn no(reason: Reason, detail: impl Into<String>) -> Decision {
    Decision { eligible: Err(reason), detail: detail.into(), cohort_id: String::new(), window: None, earliest_date: None }
}

/// The cheap pre-check on the asserted birth date alone: people outside every
/// cohort are turned away before the registry is asked.
pub fn precheck(rules: &Rules, birth: NaiveDate) -> Option<Decision> {
    match rules.cohort_of(birth) {
        None => Some(no(Reason::NotInCohort, "no cohort of the current rules covers this birth date")),
        Some(_) => None,
    }
}

pub fn decide(rules: &Rules, person: Option<&Person>, dose: u32, now: DateTime<Utc>) -> Decision {
    let Some(person) = person else { return no(Reason::UnknownPerson, "the registry does not know this person") };
    if !person.insured {
        return no(Reason::NotInsured, "not covered by national health insurance");
    }
    let Some(cohort) = rules.cohort_of(person.birth_date) else {
        return no(Reason::NotInCohort, "no cohort of the current rules covers this birth date");
    };
    let mut decision = Decision { cohort_id: cohort.id.clone(), ..no(Reason::NotInCohort, "") };
    if person.doses.len() >= dose as usize {
        decision.eligible = Err(Reason::AlreadyVaccinated);
        decision.detail = format!("dose {dose} was already given");
        return decision;
    }
    if dose as usize > person.doses.len() + 1 {
        decision.eligible = Err(Reason::TooEarlyForDose);
        decision.detail = format!("dose {} must come first", person.doses.len() + 1);
        return decision;
    }
    let today = now.with_timezone(&Seoul).date_naive();
    if let Some(previous) = person.doses.last() {
        let earliest = *previous + Duration::days(i64::from(rules.min_dose_interval_days));
        decision.earliest_date = Some(earliest);
        if today < earliest {
            decision.eligible = Err(Reason::TooEarlyForDose);
            decision.detail = format!("dose {dose} not before {earliest}");
            return decision;
        }
    }
    let mut windows: Vec<&Window> = rules.windows.iter().filter(|w| w.cohort == cohort.id).collect();
    windows.sort_by_key(|w| w.opens_at);
    if let Some(open) = windows.iter().find(|w| w.opens_at <= now && now < w.closes_at) {
        decision.window = Some((*open).clone());
        decision.eligible = Ok(());
        decision.detail = format!("cohort {} may book in window {}", cohort.id, open.id);
    } else if let Some(next) = windows.iter().find(|w| now < w.opens_at) {
        decision.window = Some((*next).clone());
        decision.eligible = Err(Reason::WindowNotOpen);
        decision.detail = format!("window {} opens at {}", next.id, next.opens_at.with_timezone(&Seoul));
    } else {
        decision.window = windows.last().map(|w| (*w).clone());
        decision.eligible = Err(Reason::WindowClosed);
        decision.detail = "every booking window of this cohort has closed".into();
    }
    decision
}

#[cfg(test)]
mod tests;
