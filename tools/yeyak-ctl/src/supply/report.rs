//! What the supply-change commands print: the same facts as text for people
//! and JSON for scripts. Times in Korea's time zone; the text lists the 20
//! most used target slots, the JSON all of them.
use serde_json::{json, Value};
use yeyak_proto::{inventory::v1 as inv, reservation::v1 as res, time::from_proto};

use crate::report::{grouped, Report};

/// Target slots the text lists (the JSON has every one).
const SHOWN: usize = 20;

fn kst(t: Option<&prost_types::Timestamp>) -> String {
    let seoul = chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    t.and_then(from_proto).map_or_else(|| "-".to_owned(), |t| t.with_timezone(&seoul).format("%Y-%m-%d %H:%M KST").to_string())
}

fn rfc3339(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(from_proto).map(|t| t.to_rfc3339())
}

fn n(count: u32) -> String {
    grouped(u64::from(count))
}

fn targets_text(targets: &[res::SupplyTarget], new_vaccine: Option<&str>) -> String {
    let mut text = String::new();
    for t in targets.iter().take(SHOWN) {
        let slot =
            if t.slot_id.is_empty() { format!("(the new {} slot)", new_vaccine.unwrap_or(&t.vaccine_code)) } else { t.slot_id.clone() };
        text.push_str(&format!("    {:>6}  {}  {:<8} {}  {slot}\n", n(t.count), kst(t.starts_at.as_ref()), t.vaccine_code, t.clinic_name));
    }
    if targets.len() > SHOWN {
        text.push_str(&format!("    … and {} more slots (--json lists them all)\n", targets.len() - SHOWN));
    }
    text
}

fn targets_json(targets: &[res::SupplyTarget]) -> Value {
    targets
        .iter()
        .map(|t| {
            json!({
                "slot_id": (!t.slot_id.is_empty()).then_some(&t.slot_id), "clinic_id": t.clinic_id, "clinic_name": t.clinic_name,
                "vaccine": t.vaccine_code, "starts_at": rfc3339(t.starts_at.as_ref()), "count": t.count,
            })
        })
        .collect()
}

fn catalogue_json(c: &inv::SupplyChange) -> Value {
    let closed: Vec<Value> = c
        .closed
        .iter()
        .map(|s| {
            let slot = s.slot.clone().unwrap_or_default();
            json!({
                "slot_id": slot.slot_id, "vaccine": slot.vaccine_code, "starts_at": rfc3339(slot.starts_at.as_ref()),
                "capacity": slot.capacity, "replacement_slot_id": (!s.replacement_slot_id.is_empty()).then_some(&s.replacement_slot_id),
            })
        })
        .collect();
    json!({
        "change_id": (!c.change_id.is_empty()).then_some(&c.change_id), "closed": closed, "booked": c.booked,
        "already_closed": c.already_closed, "earlier_change_ids": c.earlier_change_ids, "already_started": c.already_started,
        "max_move_days": c.max_move_days,
    })
}

/// "close 16 slots of clinic C (starting … to …), 40 places booked", or
/// its past tense, or "replace … by moderna slots".
fn what_closes(c: &inv::SupplyChange, new_vaccine: Option<&str>, done: bool) -> String {
    let starts: Vec<Option<&prost_types::Timestamp>> =
        c.closed.iter().map(|s| s.slot.as_ref().and_then(|s| s.starts_at.as_ref())).collect();
    let clinic = c.closed.first().and_then(|s| s.slot.as_ref()).map_or("", |s| s.clinic_id.as_str());
    let (verb, by) = match (new_vaccine, done) {
        (None, false) => ("close", String::new()),
        (None, true) => ("closed", String::new()),
        (Some(v), false) => ("replace", format!(" by {v} slots")),
        (Some(v), true) => ("replaced", format!(" by {v} slots")),
    };
    format!(
        "{verb} {} slots of clinic {clinic} (starting {} to {}){by}, {} places booked",
        c.closed.len(),
        kst(starts.first().copied().flatten()),
        kst(starts.last().copied().flatten()),
        n(c.booked)
    )
}

fn already(c: &inv::SupplyChange) -> String {
    let mut text = String::new();
    if c.already_closed > 0 {
        text.push_str(&format!(
            "  {} slots of the scope were closed already (change {})\n",
            n(c.already_closed),
            c.earlier_change_ids.join(", ")
        ));
    }
    if c.already_started > 0 {
        text.push_str(&format!("  {} slots of the scope have started: left alone\n", n(c.already_started)));
    }
    text
}

pub(crate) fn dry_run(c: &inv::SupplyChange, plan: &res::PlanSupplyChangeResponse, new_vaccine: Option<&str>) -> Report {
    let mut text = String::from("dry run, nothing changed\n");
    if c.closed.is_empty() {
        text.push_str("would change nothing: no open slot in the scope\n");
    } else {
        text.push_str(&format!("would {}\n", what_closes(c, new_vaccine, false)));
    }
    text.push_str(&already(c));
    text.push_str(&format!(
        "their bookings (reservation's plan, moves of up to {} days, {} open slots considered):\n  {} affected: {} would move, {} would be cancelled (no equivalent slot with a place)\n",
        c.max_move_days,
        n(plan.candidate_slots),
        n(plan.affected),
        n(plan.moved),
        n(plan.cancelled)
    ));
    if !plan.targets.is_empty() {
        text.push_str(&format!("  to {} slots (most first):\n{}", plan.targets.len(), targets_text(&plan.targets, new_vaccine)));
    }
    let json = json!({
        "dry_run": true, "catalogue": catalogue_json(c),
        "plan": {
            "closing_slots": plan.closing_slots, "affected": plan.affected, "moved": plan.moved, "cancelled": plan.cancelled,
            "candidate_slots": plan.candidate_slots, "targets": targets_json(&plan.targets),
        },
    });
    Report::new(text, json)
}

/// A real change: what inventory did, and the job's end when followed.
pub(crate) fn changed(c: &inv::SupplyChange, new_vaccine: Option<&str>, done: Option<&res::GetSupplyChangeResponse>) -> Report {
    let mut text = if c.change_id.is_empty() {
        let why = if c.already_closed > 0 { "the scope's slots are closed already" } else { "no open slot in the scope" };
        format!("nothing to change: {why}\n{}", already(c))
    } else {
        format!(
            "done: {}; change {id}\n{}  reservation moves or cancels their bookings: yeyak-ctl supply status {id} --wait\n",
            what_closes(c, new_vaccine, true),
            already(c),
            id = c.change_id
        )
    };
    let mut json = json!({ "dry_run": false, "catalogue": catalogue_json(c) });
    if let Some(done) = done {
        let status = status(done);
        text.push_str(&status.text);
        json["job"] = status.json["job"].clone();
    }
    Report::new(text, json)
}

pub(crate) fn status(s: &res::GetSupplyChangeResponse) -> Report {
    let done = s.state == res::SupplyChangeState::Done as i32;
    let when = if done { format!("done at {}", kst(s.finished_at.as_ref())) } else { "running".to_owned() };
    let mut text = format!(
        "supply change {}: {when} (started {} by {})\n  clinic {}, {} slots closed, moves of up to {} days\n  {} bookings: {} moved, {} cancelled, {} left alone (changed by their holder), {} waiting\n",
        s.change_id,
        kst(s.started_at.as_ref()),
        s.requested_by,
        s.clinic_id,
        n(s.closed_slots),
        s.max_move_days,
        n(s.total),
        n(s.moved),
        n(s.cancelled),
        n(s.skipped),
        n(s.pending)
    );
    if !s.targets.is_empty() {
        text.push_str(&format!("  moved to (most first):\n{}", targets_text(&s.targets, None)));
    }
    let json = json!({ "job": {
        "change_id": s.change_id, "state": if done { "done" } else { "running" }, "clinic_id": s.clinic_id,
        "closed_slots": s.closed_slots, "requested_by": s.requested_by, "started_at": rfc3339(s.started_at.as_ref()),
        "finished_at": rfc3339(s.finished_at.as_ref()), "max_move_days": s.max_move_days, "total": s.total, "pending": s.pending,
        "moved": s.moved, "cancelled": s.cancelled, "skipped": s.skipped, "targets": targets_json(&s.targets),
    }});
    Report::new(text, json)
}

pub(crate) fn resized(r: &inv::ResizeSlotResponse) -> Report {
    let head = match (r.dry_run, r.changed) {
        _ if r.previous_capacity == r.capacity => "nothing to change: ",
        (true, _) => "dry run, nothing changed; would resize ",
        (false, true) => "done: ",
        (false, false) => "nothing changed: ",
    };
    let mut text = format!("{head}slot {}: {} -> {} places, {} booked\n", r.slot_id, r.previous_capacity, r.capacity, r.booked);
    if r.capacity < r.booked {
        text.push_str("  below what is booked: every booking is kept and none is taken until cancellations bring it within the new size\n");
    }
    let json = json!({ "resize": {
        "slot_id": r.slot_id, "previous_capacity": r.previous_capacity, "capacity": r.capacity, "booked": r.booked,
        "changed": r.changed, "dry_run": r.dry_run,
    }});
    Report::new(text, json)
}
