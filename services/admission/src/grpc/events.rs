//! Booking events on the wire: the definition an operator sends, and what
//! a change did, where an event stands and who is in it.
use yeyak_platform::grpc::status;
use yeyak_proto::{admission::v1 as pb, time};

use crate::{
    app::{EventChange, EventOverview},
    domain::{EventDefinition, EventPhase, InvalidEvent, StoredEvent},
};

/// The definition in a request; INVALID_ARGUMENT when there is none.
pub(super) fn definition(event: Option<pb::BookingEvent>) -> Result<EventDefinition, tonic::Status> {
    let e = event.ok_or_else(|| status::invalid_argument("event", "is required"))?;
    let ms = |t: &Option<_>| t.as_ref().and_then(time::from_proto).map(|t| t.timestamp_millis());
    Ok(EventDefinition {
        opens_at_ms: ms(&e.opens_at).unwrap_or(0),
        closes_at_ms: ms(&e.closes_at),
        id: e.event_id,
        title: e.title,
        rule_set: e.rule_set,
        rate: e.admission_rate_per_second,
        max_active: e.max_active_sessions,
        pre_open_ms: e.pre_opening_window_seconds.map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)),
        pow_bits: u8::try_from(e.join_difficulty_bits).unwrap_or(u8::MAX),
        verify_in: Some(e.identity_first_verify_in).filter(|v| !v.is_empty()),
    })
}

/// The request field an invalid definition names.
pub(super) fn field(invalid: InvalidEvent) -> &'static str {
    match invalid {
        InvalidEvent::Id => "event.event_id",
        InvalidEvent::Title => "event.title",
        InvalidEvent::OpensAt => "event.opens_at",
        InvalidEvent::ClosesAt => "event.closes_at",
        InvalidEvent::RuleSet => "event.rule_set",
        InvalidEvent::Rate => "event.admission_rate_per_second",
        InvalidEvent::MaxActive => "event.max_active_sessions",
        InvalidEvent::PreOpen => "event.pre_opening_window_seconds",
        InvalidEvent::Difficulty => "event.join_difficulty_bits",
        InvalidEvent::VerifyIn => "event.identity_first_verify_in",
    }
}

pub(super) fn event(e: StoredEvent) -> pb::BookingEvent {
    let d = e.def;
    pb::BookingEvent {
        event_id: d.id,
        title: d.title,
        opens_at: (d.opens_at_ms > 0).then(|| time::from_unix_millis(d.opens_at_ms)),
        closes_at: d.closes_at_ms.map(time::from_unix_millis),
        rule_set: d.rule_set,
        admission_rate_per_second: d.rate,
        max_active_sessions: d.max_active,
        pre_opening_window_seconds: d.pre_open_ms.map(|w| (w / 1000).unsigned_abs()),
        join_difficulty_bits: d.pow_bits.into(),
        identity_first_verify_in: d.verify_in.unwrap_or_default(),
        closed: e.closed,
        version: e.version,
        updated_at: (e.updated_at_ms > 0).then(|| time::from_unix_millis(e.updated_at_ms)),
        updated_by: e.updated_by,
    }
}

pub(super) fn change(c: EventChange) -> Option<pb::EventChange> {
    let needs_force = c.needs_force();
    Some(pb::EventChange {
        effects: c.effects.into_iter().map(|e| e.text).collect(),
        needs_force,
        applied: c.applied,
        event: Some(event(c.event)),
    })
}

pub(super) fn overview(o: EventOverview) -> pb::EventStatus {
    let queue_id = o.event.def.id.clone();
    pb::EventStatus {
        phase: phase(o.phase) as i32,
        joined: o.people.joined,
        waiting: o.people.waiting,
        active_sessions: o.people.active,
        settings: o.settings.map(|s| pb::AdmissionSettings {
            queue_id,
            admission_rate_per_second: s.rate_per_second,
            max_active_sessions: s.max_active,
            paused: s.paused,
            closed: s.closed,
            controlled_rate_per_second: s.effective_rate(),
            joined: o.people.joined,
            active_sessions: o.people.active,
            ..Default::default()
        }),
        event: Some(event(o.event)),
    }
}

fn phase(p: EventPhase) -> pb::EventPhase {
    match p {
        EventPhase::Scheduled => pb::EventPhase::Scheduled,
        EventPhase::PreOpening => pb::EventPhase::PreOpening,
        EventPhase::Open => pb::EventPhase::Open,
        EventPhase::Closing => pb::EventPhase::Closing,
        EventPhase::Closed => pb::EventPhase::Closed,
    }
}
