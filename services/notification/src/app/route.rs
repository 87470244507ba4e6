//! Failing over between gateways without ever sending twice. A message goes
//! to the healthiest gateway that will take a call now; to the next one only
//! when the previous provably does not have it (`domain::gateway`). An
//! outcome that stays unknown ends the round: the delivery waits for that
//! gateway's answer (`unknown`), it is never sent elsewhere meanwhile.
//!
//! The delivery row names the gateway and the reference's generation before
//! the message leaves (for the whole batch at once, `DeliveryStore::hand_over`,
//! or just before the send, `DeliveryStore::hand_to`, under the round's
//! claim), so a round that dies before recording its outcome is resumed by
//! asking that gateway first. A lookup that answers "absent" voids that
//! reference at the gateway for good; the message goes on under the next
//! generation, to any gateway (that one included), so a void never makes it
//! unsendable and a late copy of the old reference is still refused.
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
    /// Another round claimed the row (this one's lease expired): nothing was
    /// sent after that, and this round records nothing.
    Overtaken,
}

/// A round's result: what it achieved, the generation of the reference it
/// ended with, and whether it posted the message anywhere.
#[derive(Debug)]
pub(super) struct Round {
    pub(super) routed: Routed,
    pub(super) generation: i32,
    pub(super) posted: bool,
}

impl Round {
    /// A round that ended before any gateway was called.
    pub(super) fn ended(routed: Routed, generation: i32) -> Self {
        Self { routed, generation, posted: false }
    }
}

impl Deliveries {
    /// Sends `c` to `phone` through the gateways; `handed` is the gateway
    /// this round already named in the row (with the batch), if any.
    pub(super) async fn route(&self, c: &Claimed, phone: &str, handed: Option<&str>) -> Round {
        let mut round = Round::ended(Routed::NotTaken(String::new()), c.generation);
        round.routed = self.route_round(c, phone, handed, &mut round).await;
        round
    }

    async fn route_round(&self, c: &Claimed, phone: &str, handed: Option<&str>, round: &mut Round) -> Routed {
        // Gateways posted to in this round (not asked again this round).
        let mut tried: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        // What the row names: (gateway, generation) it was last handed.
        let mut named = c.gateway.clone().or_else(|| handed.map(str::to_owned)).map(|g| (g, c.generation));
        if let Some(gateway) = &c.gateway {
            // An earlier round handed it over and never learned the outcome.
            match self.ask(gateway, c.message_id, round.generation).await {
                Lookup::Found => return Routed::Sent { gateway: gateway.clone(), duplicate: true },
                Lookup::Absent => {
                    reasons.push(format!("gateway {gateway} does not have generation {} (now void there)", round.generation));
                    round.generation += 1;
                }
                Lookup::Unknown(reason) => return Routed::Unknown { gateway: gateway.clone(), reason },
            }
        }
        for candidate in self.gateways.ranked() {
            let Some(slot) = self.gateways.find(&candidate.id).filter(|_| !tried.contains(&candidate.id)) else { continue };
            let permit = match self.gateways.acquire(slot) {
                Ok(permit) => permit,
                Err(refusal) => {
                    reasons.push(format!("gateway {} not called ({refusal:?})", slot.id()));
                    continue;
                }
            };
            let gateway = slot.id().to_owned();
            let handed = (gateway.clone(), round.generation);
            if named.as_ref() != Some(&handed) {
                match self.store.hand_to(c.message_id, c.claim, &gateway, round.generation).await {
                    Ok(true) => named = Some(handed),
                    Ok(false) => return Routed::Overtaken,
                    Err(e) => {
                        // Unrecorded, it must not leave: next round.
                        reasons.push(format!("could not record the hand-over to {gateway}: {e}"));
                        return Routed::NotTaken(reasons.join("; "));
                    }
                }
            }
            tried.push(gateway.clone());
            round.posted = true;
            let outcome = slot.upstream.send(c.message_id, round.generation, phone, &c.text).await;
            permit.finish(outcome.healthy());
            match outcome {
                SendOutcome::Accepted { duplicate, .. } => return Routed::Sent { gateway, duplicate },
                SendOutcome::Rejected(reason) => return Routed::Rejected(reason),
                SendOutcome::NotTaken(reason) => reasons.push(reason),
                SendOutcome::Voided(reason) => {
                    reasons.push(reason);
                    round.generation += 1;
                }
                SendOutcome::Unknown(reason) => match self.ask(&gateway, c.message_id, round.generation).await {
                    Lookup::Found => return Routed::Sent { gateway, duplicate: false },
                    Lookup::Absent => {
                        reasons.push(format!("{reason}; it does not have it (now void there)"));
                        round.generation += 1;
                    }
                    Lookup::Unknown(why) => return Routed::Unknown { gateway, reason: format!("{reason}; {why}") },
                },
            }
        }
        if reasons.is_empty() {
            reasons.push("no gateway configured".into());
        }
        Routed::NotTaken(reasons.join("; "))
    }

    /// Asks `gateway` whether it has this generation of `message_id`, under
    /// the call deadline and within the gateway's bulkhead (a full one is no
    /// answer), past its breaker: an open breaker keeps new messages away,
    /// but the message asked about is already there or not, and waiting for
    /// the breaker to close would hold it for nothing. A failed lookup
    /// counts against the gateway's health; an answered one records nothing
    /// (it must not hide failing sends from the breaker).
    async fn ask(&self, gateway: &str, message_id: Uuid, generation: i32) -> Lookup {
        let Some(slot) = self.gateways.find(gateway) else {
            return Lookup::Unknown(format!("gateway {gateway} is no longer configured: an operator must resolve it"));
        };
        let permit = match self.gateways.acquire_past_breaker(slot) {
            Ok(permit) => permit,
            Err(refusal) => return Lookup::Unknown(format!("gateway {gateway} not asked ({refusal:?})")),
        };
        let answer = slot.upstream.lookup(message_id, generation).await;
        if matches!(answer, Lookup::Unknown(_)) {
            permit.finish(false);
        }
        answer
    }
}
