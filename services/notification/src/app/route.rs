//! Failing over between gateways without ever sending twice. A message goes
//! to the healthiest gateway that will take a call now; to the next one only
//! when the previous provably does not have it (`domain::gateway`). An
//! outcome that stays unknown ends the round: the delivery waits for that
//! gateway's answer (`unknown`), it is never sent elsewhere meanwhile.
//!
//! The delivery row names the gateway before the message leaves for it
//! (`DeliveryStore::hand_to`), so a round that dies before recording its
//! outcome is resumed by asking that gateway first.
use uuid::Uuid;

use super::Deliveries;
use crate::{
    domain::{gateway::Lookup, SendOutcome},
    store::Claimed,
};

/// What one round achieved for one delivery.
#[derive(Debug)]
pub(super) enum Routed {
    Sent {
        gateway: String,
        duplicate: bool,
    },
    /// Handed to `gateway`, which could not tell whether it has it.
    Unknown {
        gateway: String,
        reason: String,
    },
    /// No gateway has it (each tried one said so, the others refused calls).
    NotTaken(String),
    /// The message itself was refused.
    Rejected(String),
}

impl Deliveries {
    /// Sends `c` to `phone` through the gateways. `planned` is the gateway
    /// the row was handed to for this round (none when it resumes one).
    pub(super) async fn route(&self, c: &Claimed, phone: &str, planned: Option<&str>) -> Routed {
        let mut tried: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        if let Some(gateway) = &c.gateway {
            // An earlier round handed it over and never learned the outcome.
            match self.ask(gateway, c.message_id).await {
                Lookup::Found => return Routed::Sent { gateway: gateway.clone(), duplicate: true },
                Lookup::Absent => reasons.push(format!("gateway {gateway} does not have it")),
                Lookup::Unknown(reason) => return Routed::Unknown { gateway: gateway.clone(), reason },
            }
            tried.push(gateway.clone());
        }
        let mut named = c.gateway.clone().or(planned.map(str::to_owned));
        for candidate in self.gateways.ranked() {
            let Some(slot) = self.gateways.find(&candidate.id).filter(|_| !tried.contains(&candidate.id)) else { continue };
            let permit = match self.gateways.acquire(slot) {
                Ok(permit) => permit,
                Err(refusal) => {
                    reasons.push(format!("gateway {} not called ({refusal:?})", slot.id()));
                    continue;
                }
            };
            if named.as_deref() != Some(slot.id()) {
                if let Err(e) = self.store.hand_to(&[c.message_id], slot.id()).await {
                    // Unrecorded, it must not leave: next round.
                    reasons.push(format!("could not record the hand-over to {}: {e}", slot.id()));
                    return Routed::NotTaken(reasons.join("; "));
                }
                named = Some(slot.id().to_owned());
            }
            tried.push(slot.id().to_owned());
            let outcome = slot.upstream.send(c.message_id, phone, &c.text).await;
            permit.finish(outcome.healthy());
            let gateway = slot.id().to_owned();
            match outcome {
                SendOutcome::Accepted { duplicate, .. } => return Routed::Sent { gateway, duplicate },
                SendOutcome::Rejected(reason) => return Routed::Rejected(reason),
                SendOutcome::NotTaken(reason) => reasons.push(reason),
                SendOutcome::Unknown(reason) => match self.ask(&gateway, c.message_id).await {
                    Lookup::Found => return Routed::Sent { gateway, duplicate: false },
                    Lookup::Absent => reasons.push(format!("{reason}; it does not have it")),
                    Lookup::Unknown(why) => return Routed::Unknown { gateway, reason: format!("{reason}; {why}") },
                },
            }
        }
        if reasons.is_empty() {
            reasons.push("no gateway configured".into());
        }
        Routed::NotTaken(reasons.join("; "))
    }

    /// Asks `gateway` whether it has `message_id`, under the call deadline.
    async fn ask(&self, gateway: &str, message_id: Uuid) -> Lookup {
        match self.gateways.find(gateway) {
            Some(slot) => slot.upstream.lookup(message_id).await,
            None => Lookup::Unknown(format!("gateway {gateway} is no longer configured: an operator must resolve it")),
        }
    }
}
