//! The operators' use cases on deliveries: list and read (the `support`
//! role), replay, resolve and discard (the `operator` role). Every call is
//! an audit event, reads included (they show personal delivery state), and
//! a change's row is written in the transaction of the change. What a
//! change does is `domain::operator`'s decision from the locked row, so two
//! operators, or one retrying, can never make the sender send twice.
use uuid::Uuid;
use yeyak_platform::operators::{self, OperatorIdentity, Role};

use super::Deliveries;
use crate::{
    domain::{Change, DeliveryDetail, DeliveryState, Outcome, PageCursor},
    error::Error,
};

const LIST_ACTION: &str = "notification.list_deliveries";
const GET_ACTION: &str = "notification.get_delivery";

/// One page of a listing, and the counts beside it.
pub(crate) struct Listing {
    pub(crate) deliveries: Vec<DeliveryDetail>,
    pub(crate) next: Option<PageCursor>,
    /// (state, gateway, count) for every listed state.
    pub(crate) counts: Vec<(Option<DeliveryState>, Option<String>, u64)>,
}

/// What a change did.
pub(crate) struct Changed {
    pub(crate) outcome: Outcome,
    /// After the change; before it for a dry run or when nothing changed.
    pub(crate) delivery: DeliveryDetail,
}

impl Deliveries {
    /// A page of deliveries in `state` (one of `store::LISTED`), newest first.
    pub(crate) async fn list(
        &self,
        staff: &OperatorIdentity,
        state: DeliveryState,
        page_size: u32,
        after: Option<PageCursor>,
    ) -> Result<Listing, Error> {
        staff.require(Role::Support, LIST_ACTION)?;
        let mut deliveries = self.store.list(state, i64::from(page_size) + 1, after).await?;
        let more = deliveries.len() > page_size as usize;
        deliveries.truncate(page_size as usize);
        let next = more
            .then(|| deliveries.last().map(|d| PageCursor { created_at: d.record.created_at, message_id: d.record.message_id }))
            .flatten();
        let counts = self.store.counts().await?;
        let counts = counts.into_iter().map(|(s, g, n)| (DeliveryState::parse(&s), g, u64::try_from(n).unwrap_or(0))).collect();
        let found = format!("{} deliveries", deliveries.len());
        let event = operators::audit(staff, LIST_ACTION, &format!("deliveries in state {}", state.as_str()), None, Some(&found));
        self.store.record_audit(&event).await?;
        Ok(Listing { deliveries, next, counts })
    }

    /// One delivery.
    pub(crate) async fn delivery(&self, staff: &OperatorIdentity, message_id: Uuid) -> Result<DeliveryDetail, Error> {
        staff.require(Role::Support, GET_ACTION)?;
        let found = self.store.detail(message_id).await?;
        let state = found.as_ref().and_then(|d| d.record.state).map_or("none", DeliveryState::as_str);
        let event = operators::audit(staff, GET_ACTION, &format!("message {message_id}"), None, Some(state));
        self.store.record_audit(&event).await?;
        found.ok_or(Error::UnknownDelivery(message_id))
    }

    /// Replays, resolves or discards one delivery; with `dry_run`, says what
    /// it would do and changes nothing (audited all the same).
    pub(crate) async fn change(&self, staff: &OperatorIdentity, message_id: Uuid, change: Change, dry_run: bool) -> Result<Changed, Error> {
        let action = action(change);
        staff.require(Role::Operator, action)?;
        let Some(locked) = self.store.lock(message_id).await? else {
            let event = operators::audit(staff, action, &format!("message {message_id}"), None, Some("no such delivery"));
            self.store.record_audit(&event).await?;
            return Err(Error::UnknownDelivery(message_id));
        };
        let before = locked.detail.clone();
        let old = describe(&before);
        let resource = format!("message {message_id}");
        let outcome = match change.decide(&before) {
            Ok(outcome) => outcome,
            Err(refusal) => {
                let event = operators::audit(staff, action, &resource, Some(&old), Some(&format!("refused: {refusal}")));
                locked.keep(&event).await?;
                return Err(Error::Refused(refusal));
            }
        };
        if dry_run || outcome != Outcome::Done {
            let what =
                if dry_run { format!("dry run: would {}: {}", change.as_str(), outcome.as_str()) } else { outcome.as_str().to_owned() };
            locked.keep(&operators::audit(staff, action, &resource, Some(&old), Some(&what))).await?;
            return Ok(Changed { outcome, delivery: before });
        }
        let new = match change {
            Change::Replay => "pending, 0 attempts, any gateway, next generation",
            Change::ResolveNotSent => "pending, 0 attempts, any gateway",
            Change::ResolveSent => "sent",
            Change::Discard => "discarded, number erased",
        };
        let event = operators::audit(staff, action, &resource, Some(&old), Some(new));
        let delivery = locked.apply(change, &event).await?;
        if matches!(change, Change::Replay | Change::ResolveNotSent) {
            self.wake.notify_one();
        }
        tracing::info!(%message_id, operator = staff.name(), change = change.as_str(), "delivery changed by an operator");
        Ok(Changed { outcome, delivery })
    }
}

fn action(change: Change) -> &'static str {
    match change {
        Change::Replay => "notification.replay_delivery",
        Change::ResolveSent | Change::ResolveNotSent => "notification.resolve_unknown",
        Change::Discard => "notification.discard_delivery",
    }
}

/// A delivery's state for the audit trail: state, attempts, gateway.
fn describe(d: &DeliveryDetail) -> String {
    let state = d.record.state.map_or("unrecognised", DeliveryState::as_str);
    let gateway = d.record.gateway.as_deref().map(|g| format!(" at {g}")).unwrap_or_default();
    format!("{state}{gateway}, {} attempts", d.record.attempts)
}
