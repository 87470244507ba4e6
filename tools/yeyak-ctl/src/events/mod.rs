//! `yeyak-ctl events …`: booking events as data (admission's operator API).
//! Times are read and shown in Asia/Seoul. A change that would throw out
//! people already inside is refused by admission unless `--force`; `--dry-run`
//! shows what any change would do first.
use chrono::Offset as _;
use serde_json::json;
use yeyak_proto::{
    admission::v1::{
        admission_operator_service_client::AdmissionOperatorServiceClient as Client, BookingEvent, CloseEventRequest, CreateEventRequest,
        EventChange, EventPhase, EventStatus, ListEventsRequest, UpdateEventRequest,
    },
    time,
};

mod args;

use self::args::set;
pub use self::args::{EventsCommand, Fields};
use crate::{
    connect::{Authorized, Deployment},
    refused,
    report::{grouped, rate, Report},
};

pub(crate) async fn run(deployment: &Deployment, command: EventsCommand) -> anyhow::Result<Report> {
    let mut client = Client::new(deployment.operator_channel(&deployment.admission)?);
    match command {
        EventsCommand::List => list(&mut client).await,
        EventsCommand::Create { id, title, opens_at, fields, dry } => {
            let mut event = BookingEvent {
                event_id: id,
                title,
                opens_at: Some(time::from_unix_millis(opens_at)),
                admission_rate_per_second: 50.0,
                max_active_sessions: 10_000,
                ..Default::default()
            };
            fields.apply(&mut event);
            let request = CreateEventRequest { event: Some(event), dry_run: dry.dry_run };
            Ok(change(client.create_event(request).await.map_err(refused)?.into_inner().change))
        }
        EventsCommand::Update { id, title, opens_at, no_closing_time, fields, dry, force } => {
            let mut event = current(&mut client, &id).await?;
            set(&mut event.title, title);
            if let Some(o) = opens_at {
                event.opens_at = Some(time::from_unix_millis(o));
            }
            if no_closing_time {
                event.closes_at = None;
            }
            fields.apply(&mut event);
            let request = UpdateEventRequest { event: Some(event), dry_run: dry.dry_run, force };
            Ok(change(client.update_event(request).await.map_err(refused)?.into_inner().change))
        }
        EventsCommand::Close { id, dry, force } => {
            let request = CloseEventRequest { event_id: id, dry_run: dry.dry_run, force };
            Ok(change(client.close_event(request).await.map_err(refused)?.into_inner().change))
        }
    }
}

async fn listed(client: &mut Client<Authorized>) -> anyhow::Result<Vec<EventStatus>> {
    Ok(client.list_events(ListEventsRequest {}).await.map_err(refused)?.into_inner().events)
}

async fn current(client: &mut Client<Authorized>, id: &str) -> anyhow::Result<BookingEvent> {
    let found = listed(client).await?.into_iter().filter_map(|s| s.event).find(|e| e.event_id == id);
    found.ok_or_else(|| anyhow::anyhow!("no event {id:?} (yeyak-ctl events list)"))
}

async fn list(client: &mut Client<Authorized>) -> anyhow::Result<Report> {
    let events = listed(client).await?;
    let mut text = format!(
        "{:<16} {:<12} {:<17} {:<17} {:<14} {:>9} {:>9} {:>9}  {}\n",
        "EVENT", "PHASE", "OPENS (KST)", "CLOSES (KST)", "RULE SET", "RATE", "WAITING", "ACTIVE", "TITLE"
    );
    let mut rows = Vec::new();
    for s in &events {
        let e = s.event.clone().unwrap_or_default();
        let in_force = s.settings.as_ref().map_or(0.0, |a| a.controlled_rate_per_second);
        text += &format!(
            "{:<16} {:<12} {:<17} {:<17} {:<14} {:>9} {:>9} {:>9}  {}\n",
            e.event_id,
            phase(s.phase()),
            seoul(e.opens_at.as_ref()),
            seoul(e.closes_at.as_ref()),
            if e.rule_set.is_empty() { "(default)" } else { &e.rule_set },
            if s.settings.is_some() { rate(in_force) } else { "-".into() },
            grouped(s.waiting),
            grouped(s.active_sessions),
            e.title
        );
        rows.push(json!({
            "event": event_json(&e), "phase": phase(s.phase()), "joined": s.joined, "waiting": s.waiting,
            "active_sessions": s.active_sessions, "rate_in_force": s.settings.as_ref().map(|a| a.controlled_rate_per_second),
        }));
    }
    Ok(Report::new(text, json!({ "events": rows })))
}

fn change(c: Option<EventChange>) -> Report {
    let c = c.unwrap_or_default();
    let e = c.event.clone().unwrap_or_default();
    let head = match (c.applied, c.needs_force) {
        (true, _) => format!("done: event {} (version {})", e.event_id, e.version),
        (false, true) => format!("dry run: event {} — this change needs --force:", e.event_id),
        (false, false) => format!("dry run: event {} — nothing changed:", e.event_id),
    };
    let text = std::iter::once(head).chain(c.effects.iter().map(|f| format!("  - {f}"))).collect::<Vec<_>>().join("\n");
    Report::new(text, json!({ "applied": c.applied, "needs_force": c.needs_force, "effects": c.effects, "event": event_json(&e) }))
}

fn event_json(e: &BookingEvent) -> serde_json::Value {
    json!({
        "id": e.event_id, "title": e.title, "opens_at": seoul(e.opens_at.as_ref()), "closes_at": e.closes_at.as_ref().map(|t| seoul(Some(t))),
        "rule_set": e.rule_set, "rate": e.admission_rate_per_second, "max_active": e.max_active_sessions,
        "pre_open_seconds": e.pre_opening_window_seconds, "difficulty_bits": e.join_difficulty_bits,
        "identity_first_in": e.identity_first_verify_in, "closed": e.closed, "version": e.version, "updated_by": e.updated_by,
    })
}

fn phase(p: EventPhase) -> &'static str {
    match p {
        EventPhase::Scheduled => "scheduled",
        EventPhase::PreOpening => "pre-opening",
        EventPhase::Open => "open",
        EventPhase::Closing => "closing",
        EventPhase::Closed => "closed",
        EventPhase::Unspecified => "?",
    }
}

fn kst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

/// An instant as Asia/Seoul shows it (UTC+9, no daylight saving).
fn seoul(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(time::from_proto).map_or("-".into(), |t| t.with_timezone(&kst()).format("%Y-%m-%d %H:%M").to_string())
}

/// `2021-07-12 20:00[:00]` (or with `T`) in Asia/Seoul, or RFC 3339 with an offset; unix ms.
pub(super) fn instant(text: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let text = text.replace('T', " ");
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&text, f).ok())
        .and_then(|local| local.and_local_timezone(kst()).single())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| format!("{text:?} is neither `YYYY-MM-DD HH:MM` (Asia/Seoul) nor RFC 3339"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_read_in_seoul_time() {
        let seoul = super::instant("2021-07-12 20:00").unwrap();
        assert_eq!(seoul, super::instant("2021-07-12T11:00:00Z").unwrap());
        assert_eq!(seoul, super::instant("2021-07-12T20:00:00").unwrap());
        assert!(super::instant("tonight").unwrap_err().contains("Asia/Seoul"));
    }
}
