//! The operator API's messages: use-case values to protobuf. Only masked
//! numbers and ids leave; a dead letter is its ids and reasons, never its
//! payload.
use tonic::Status;
use yeyak_platform::{grpc::status, messaging::dead_letters::DeadLetter};
use yeyak_proto::{notification::v1 as pb, time};

use super::delivery_pb::{state_to_pb, to_pb};
use crate::{
    app::{Letter, Listing, Settled},
    domain::{DeliveryDetail, DeliveryState, Outcome, PageCursor},
    store::LISTED,
};

pub(super) fn detail(d: DeliveryDetail) -> pb::DeliveryDetail {
    pb::DeliveryDetail {
        last_error: d.record.last_error.clone().unwrap_or_default(),
        delivery: Some(to_pb(d.record)),
        number_kept: d.number_kept,
        resend_of: d.resend_of.map(|id| id.to_string()).unwrap_or_default(),
        next_attempt_at: d.next_attempt_at.map(time::to_proto),
    }
}

pub(super) fn outcome(o: Outcome) -> i32 {
    let o = match o {
        Outcome::Done => pb::ChangeOutcome::Done,
        Outcome::AlreadySent => pb::ChangeOutcome::AlreadySent,
        Outcome::InFlight => pb::ChangeOutcome::InFlight,
        Outcome::AlreadyDiscarded => pb::ChangeOutcome::AlreadyDiscarded,
    };
    o as i32
}

/// The listed state a request names (`state`), one of `store::LISTED`.
pub(super) fn listed_state(value: i32) -> Result<DeliveryState, Status> {
    let state = match pb::DeliveryState::try_from(value) {
        Ok(pb::DeliveryState::Failed) => DeliveryState::Failed,
        Ok(pb::DeliveryState::OutcomeUnknown) => DeliveryState::Unknown,
        Ok(pb::DeliveryState::Discarded) => DeliveryState::Discarded,
        _ => {
            return Err(status::invalid_argument(
                "state",
                "must be DELIVERY_STATE_FAILED, DELIVERY_STATE_OUTCOME_UNKNOWN or DELIVERY_STATE_DISCARDED",
            ))
        }
    };
    debug_assert!(LISTED.contains(&state));
    Ok(state)
}

/// `page_size` (0: the default) and `page_token`.
pub(super) fn page(size: u32, token: &str) -> Result<(u32, Option<PageCursor>), Status> {
    let size = match size {
        0 => 50,
        1..=500 => size,
        _ => return Err(status::invalid_argument("page_size", "must be at most 500")),
    };
    let cursor = match token.trim() {
        "" => None,
        t => Some(PageCursor::parse(t).ok_or_else(|| status::invalid_argument("page_token", "not a token this API gave"))?),
    };
    Ok((size, cursor))
}

/// How many dead letters a request names: `limit` 1..=1000, or `all`.
pub(super) fn how_many(limit: u32, all: bool) -> Result<Option<u64>, Status> {
    match (all, limit) {
        (true, _) => Ok(None),
        (false, 1..=1000) => Ok(Some(u64::from(limit))),
        (false, _) => Err(status::invalid_argument("limit", "must be 1 to 1000, or set `all`")),
    }
}

pub(super) fn listing(l: Listing) -> pb::ListDeliveriesResponse {
    pb::ListDeliveriesResponse {
        deliveries: l.deliveries.into_iter().map(detail).collect(),
        next_page_token: l.next.map(|c| c.token()).unwrap_or_default(),
        counts: l
            .counts
            .into_iter()
            .map(|(state, gateway, count)| pb::DeliveryCount {
                state: state_to_pb(state) as i32,
                gateway: gateway.unwrap_or_default(),
                count,
            })
            .collect(),
    }
}

pub(super) fn letter(l: Letter) -> pb::DeadLetter {
    let DeadLetter { event_id, routing_key, reason, from_queue, deaths, dead_lettered_at } = l.letter;
    pb::DeadLetter {
        event_id: event_id.map(|id| id.to_string()).unwrap_or_default(),
        routing_key,
        reason,
        from_queue,
        deaths,
        dead_lettered_at: dead_lettered_at.map(time::to_proto),
        already_recorded: l.already_recorded,
    }
}

pub(super) fn letters(s: Settled) -> (u64, u64, Vec<pb::DeadLetter>) {
    (s.count, s.remaining, s.letters.into_iter().map(letter).collect())
}
