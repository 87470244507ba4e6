//! What creating, changing or closing an event does, in words an operator
//! reads before confirming (the dry run) and finds in the audit trail.
use chrono::Offset as _;

use super::{Effect, EventDefinition, People};

/// Asia/Seoul has kept UTC+9 without daylight saving since 1988.
pub(crate) fn seoul(ms: i64) -> String {
    let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| chrono::Utc.fix());
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&kst).format("%Y-%m-%d %H:%M:%S KST").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

pub(crate) fn create_effects(def: &EventDefinition) -> Vec<Effect> {
    let arrivals = match def.pre_open_ms {
        Some(w) => format!("arrivals from {} join its lottery", seoul(def.opens_at_ms - w)),
        None => "arrivals before the opening join its lottery".into(),
    };
    let closes = def.closes_at_ms.map_or("until closed".into(), |c| format!("no new arrivals after {}", seoul(c)));
    vec![Effect::plain(format!(
        "creates event {} opening at {} ({arrivals}; {closes}), {} people/s, at most {} active, rule set {}",
        def.id,
        seoul(def.opens_at_ms),
        def.rate,
        def.max_active,
        if def.rule_set.is_empty() { "default" } else { &def.rule_set },
    ))]
}

pub(crate) fn update_effects(old: &EventDefinition, new: &EventDefinition, people: &People) -> Vec<Effect> {
    let mut out = Vec::new();
    let inside = people.waiting + people.active;
    if old.opens_at_ms != new.opens_at_ms {
        let text = format!("moves the opening from {} to {}", seoul(old.opens_at_ms), seoul(new.opens_at_ms));
        out.push(if people.joined > 0 {
            Effect::disruptive(format!(
                "{text}, after {} people joined: who is in the lottery and who holds a place no longer match what they were told",
                people.joined
            ))
        } else {
            Effect::plain(text)
        });
    }
    if old.rule_set != new.rule_set {
        let text = format!("judges eligibility by rule set {:?} instead of {:?}", new.rule_set, old.rule_set);
        out.push(if inside > 0 {
            Effect::disruptive(format!(
                "{text}: {} waiting and {} admitted people may no longer be eligible",
                people.waiting, people.active
            ))
        } else {
            Effect::plain(text)
        });
    }
    if old.verify_in != new.verify_in {
        let text = format!("identity first: {:?} instead of {:?}", new.verify_in, old.verify_in);
        out.push(if people.joined > 0 {
            Effect::disruptive(format!("{text}, after {} people joined without it", people.joined))
        } else {
            Effect::plain(text)
        });
    }
    if old.closes_at_ms != new.closes_at_ms {
        let text = new.closes_at_ms.map_or("takes arrivals until closed".into(), |c| format!("no new arrivals after {}", seoul(c)));
        out.push(Effect::plain(text));
    }
    if old.pre_open_ms != new.pre_open_ms {
        let text = new.pre_open_ms.map_or("arrivals may join any time before the opening".into(), |w| {
            format!("arrivals may join from {} (people already in keep their entries)", seoul(new.opens_at_ms - w))
        });
        out.push(Effect::plain(text));
    }
    if old.rate != new.rate || old.max_active != new.max_active {
        out.push(Effect::plain(format!(
            "admits {} people/s, at most {} active (was {}, {})",
            new.rate, new.max_active, old.rate, old.max_active
        )));
        if new.max_active < people.active {
            out.push(Effect::plain(format!(
                "nobody is admitted until fewer than {} of the {} active remain",
                new.max_active, people.active
            )));
        }
    }
    if old.pow_bits != new.pow_bits {
        out.push(Effect::plain(format!("asks {} bits of proof of work per new entry (was {})", new.pow_bits, old.pow_bits)));
    }
    if old.title != new.title {
        out.push(Effect::plain(format!("renames it {:?}", new.title)));
    }
    if out.is_empty() {
        out.push(Effect::plain("changes nothing".into()));
    }
    out
}

pub(crate) fn close_effects(people: &People) -> Vec<Effect> {
    if people.waiting + people.active == 0 {
        return vec![Effect::plain("closes the event: nobody is waiting or admitted".into())];
    }
    vec![Effect::disruptive(format!(
        "closes the event: {} waiting people will not be admitted, and the passes of {} admitted people stop working at every service",
        people.waiting, people.active
    ))]
}
