//! The command-line tool's "why": the decision and every rule it looked at.
use chrono::{DateTime, Utc};

use super::{decide, Facts};
use crate::domain::{
    calendar::{fmt_seoul, rotation_digit},
    rules::Rules,
};

/// "Why": every rule the decision looked at, one line each, for the
/// command-line tool and support staff.
pub fn explain(rules: &Rules, facts: Facts<'_>, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec![format!("rules version {:?}; now {}", rules.version, fmt_seoul(now))];
    let birth = facts.person.map_or(facts.asserted_birth, |p| p.birth_date);
    match facts.person {
        None => lines.push("registry: unknown person".into()),
        Some(p) => lines.push(format!(
            "registry: born {} (rotation digit {}), {}, priority groups [{}], doses given [{}]",
            p.birth_date,
            rotation_digit(p.birth_date),
            if p.insured { "insured" } else { "NOT insured" },
            p.priority_groups.join(", "),
            p.doses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
    let groups: &[String] = facts.person.map_or(&[], |p| p.priority_groups.as_slice());
    for c in &rules.cohorts {
        let by_birth = c.admits_birth(birth);
        let by_groups = c.admits_groups(groups);
        let verdict = match (by_birth, by_groups) {
            (true, true) => "member",
            (false, _) => "not a member (birth)",
            (true, false) => "not a member (priority group)",
        };
        lines.push(format!("cohort {} ({}): {verdict}", c.id, c.criteria()));
        if by_birth && by_groups {
            for w in rules.windows_of(&c.id) {
                let doses = w.doses.as_ref().map_or("every dose".to_owned(), |d| {
                    format!("dose {}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("/"))
                });
                for i in w.intervals_for(rotation_digit(birth)) {
                    let state = if i.contains(now) {
                        "OPEN now"
                    } else if now < i.opens_at {
                        "not open yet"
                    } else {
                        "closed"
                    };
                    lines.push(format!("  window {} ({doses}): {i}: {state}", w.id));
                }
            }
        }
    }
    if let Some(r) = facts.booked {
        lines.push(format!("booked: dose {} under reservation {r}", facts.dose));
    }
    let d = decide(rules, facts, now);
    let verdict = match d.eligible {
        Ok(()) => "ELIGIBLE".to_owned(),
        Err(reason) => reason.code().to_owned(),
    };
    lines.push(format!("decision for dose {}: {verdict}: {}", facts.dose, d.detail));
    lines
}
