//! What a ticket holder sees: place, wait, and — once admitted and while the
//! seat is held — a pass whose expiry is the seat's.
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use yeyak_platform::tokens::{self, AdmissionPass, QueueTicket};
use yeyak_proto::{admission::v1 as pb, timestamp};

use super::State;
use crate::{
    domain::{self, standing::Place},
    error::AdmissionError,
};

pub fn place(ticket: &QueueTicket) -> Place {
    ticket.pre.map_or(Place::InLine(ticket.pos), Place::PreOpening)
}

/// One session id per admitted place, whichever replica mints the pass.
fn session_id(queue: &str, position: u64) -> String {
    let digest = Sha256::new().chain_update(queue.as_bytes()).chain_update(position.to_be_bytes()).finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn ms_to_ts(ms: i64) -> prost_types::Timestamp {
    timestamp(ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as i32)
}

pub async fn status(state: &State, ticket: &QueueTicket, now_ms: i64) -> Result<pb::QueueStatus, AdmissionError> {
    let defaults = state.config.defaults(&ticket.q);
    let snap = state.store.snapshot(&ticket.q, &defaults).await?;
    let opens_at = Some(ms_to_ts(defaults.opens_at_ms));
    let Some(position) = snap.position(place(ticket)) else {
        // Before the opening: no place yet, the lottery draws it.
        let until_open = Duration::from_millis((defaults.opens_at_ms - now_ms).max(0) as u64);
        let poll = domain::poll_interval(&Ok(until_open), ticket.pre.unwrap_or(0)).min(until_open + Duration::from_secs(1));
        return Ok(pb::QueueStatus {
            state: pb::QueueState::PreOpening as i32,
            estimate_unknown_reason: "places are drawn by lottery among everyone who joined before the opening".into(),
            next_poll_after: Some(ms_to_ts(now_ms + poll.as_millis() as i64)),
            opens_at,
            ..Default::default()
        });
    };
    let standing = domain::standing(position, &snap);
    let mut status = pb::QueueStatus {
        state: pb::QueueState::Waiting as i32,
        position,
        people_ahead: standing.people_ahead,
        estimated_wait_seconds: standing.estimated_wait.as_ref().ok().map(Duration::as_secs),
        estimate_unknown_reason: standing.estimated_wait.err().unwrap_or_default().to_owned(),
        next_poll_after: Some(ms_to_ts(now_ms + standing.next_poll_after.as_millis() as i64)),
        opens_at,
        ..Default::default()
    };
    if standing.admitted {
        match state.store.seat(&ticket.q, position).await? {
            Some(seat_expiry_ms) => {
                let exp = seat_expiry_ms / 1000;
                let pass = AdmissionPass {
                    q: ticket.q.clone(),
                    pos: position,
                    cb: ticket.cb.clone(),
                    sid: session_id(&ticket.q, position),
                    iat: now_ms / 1000,
                    exp,
                };
                status.state = pb::QueueState::Admitted as i32;
                status.admission_pass = tokens::sign(&state.config.signing_key, &pass);
                status.pass_expires_at = Some(timestamp(exp, 0));
            }
            None => status.state = pb::QueueState::SessionEnded as i32,
        }
        status.next_poll_after = None;
    }
    Ok(status)
}

/// The place of an admitted ticket, for ending its session.
pub async fn admitted_position(state: &State, ticket: &QueueTicket) -> Result<u64, AdmissionError> {
    let snap = state.store.snapshot(&ticket.q, &state.config.defaults(&ticket.q)).await?;
    match snap.position(place(ticket)) {
        Some(p) if p <= snap.admitted => Ok(p),
        _ => Err(AdmissionError::NotAdmitted),
    }
}
