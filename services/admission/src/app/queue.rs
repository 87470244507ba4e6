//! A citizen's side of the waiting room: joining (or rejoining with the
//! ticket already held), polling, and ending an admitted session. The place
//! in line lives in the signed ticket; the store only keeps counters.
use yeyak_platform::tokens::{self, client_binding, AdmissionPass, Confirmation, QueueTicket};

use super::{now_ms, Origin, Proof, WaitingRoom};
use crate::{
    domain::{standing, IssuedPass, Place, QueueView},
    error::AdmissionError,
    store::{JoinStep, Joined},
};

/// What a new entry may come with: a proof of work, a device proof, an
/// identity assertion (empty when none).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JoinProofs<'a> {
    pub(crate) work: Option<&'a Proof>,
    pub(crate) device: Option<&'a str>,
    pub(crate) identity: &'a str,
}

/// Steps a join may need (a block of places, the pool frozen, a block
/// behind a concurrent one) before it is done.
const JOIN_STEPS: usize = 6;

impl WaitingRoom {
    /// Joins the line: the signed ticket (a place, or an entry in the
    /// pre-opening lottery) and what its holder sees. A new entry is counted
    /// against the client's and the source's join limits and, when the queue
    /// asks for it, paid for with a proof of work. In an identity-first
    /// event a person's second join returns their entry (`entrant`).
    pub(crate) async fn join(
        &self,
        queue: &str,
        client_id: &str,
        origin: &Origin,
        proofs: JoinProofs<'_>,
    ) -> Result<(String, QueueView), AdmissionError> {
        let JoinProofs { work: proof, device: device_proof, identity } = proofs;
        let now = now_ms();
        let opens_at_ms = self.check_arrival(queue, now)?.opens_at_ms;
        let device = self.device_claim(device_proof, now / 1000)?;
        // With a device key, the key is the client the limits count.
        self.guard.admit(device.as_ref().map_or(client_id, |d| d.jkt.as_str()), origin)?;
        // Before any proof is spent: a join that forgot the assertion of an
        // identity-first event can come back with it and the same proofs.
        self.require_assertion(queue, identity)?;
        self.check_proof(queue, client_id, proof).await?;
        let jkt = self.device_key(device, now / 1000).await?;
        let entrant = self.entrant(queue, identity, now / 1000).await?;
        let entry = self.entry_for(queue, entrant.as_ref(), opens_at_ms).await?;
        let issued_at = now / 1000;
        let ticket = QueueTicket {
            queue_id: queue.to_owned(),
            place: entry.place,
            lottery_entry: entry.lottery_entry,
            client_binding: client_binding(client_id),
            session_id: entry.session_id,
            jkt,
            issued_at,
            expires_at: issued_at + self.policy.ticket_ttl.as_secs() as i64,
        };
        let view = self.view(&ticket, now).await?;
        Ok((tokens::sign_hmac(&self.policy.ticket_keys, &ticket), view))
    }

    /// A place in line, or a lottery entry, never handed out before: the
    /// store hands them out within blocks reserved in PostgreSQL.
    pub(super) async fn take_place(&self, queue: &str, opens_at_ms: i64) -> Result<Joined, AdmissionError> {
        for _ in 0..JOIN_STEPS {
            let low_water = self.policy.place_block;
            match self.checked(queue, || self.store.join(queue, opens_at_ms, low_water)).await? {
                JoinStep::Done(joined, None) => return Ok(joined),
                JoinStep::Done(joined, Some(short)) => {
                    // The place is taken (and the proofs spent): reserving
                    // ahead only saves a later join a round trip, so its
                    // failure must not fail this join; the next join that
                    // finds the block short reserves it.
                    if let Err(e) = self.reserve_ahead(queue, short).await {
                        tracing::warn!(queue, error = %e, "reserving the next block ahead failed; a later join will");
                    }
                    return Ok(joined);
                }
                JoinStep::Reserve(short) => self.reserve(queue, short).await?,
                JoinStep::FreezePool(entries) => self.freeze_pool(queue, entries).await?,
            }
        }
        Err(AdmissionError::Contended)
    }

    /// Reconnecting with the ticket already held: the same place, never a
    /// worse one, and the same ticket back. Not counted against the join
    /// limits and no proof of work: it creates no entry, costs what a poll
    /// costs, and a person whose connection drops must always get back in.
    pub(crate) async fn rejoin(&self, queue: &str, client_id: &str, ticket: String) -> Result<(String, QueueView), AdmissionError> {
        let now = now_ms();
        let claims = self.verify_ticket(&ticket, client_id, now / 1000)?;
        if claims.queue_id != queue {
            return Err(AdmissionError::TicketForAnotherQueue);
        }
        let view = self.view(&claims, now).await?;
        Ok((ticket, view))
    }

    /// What the holder of `ticket` sees now.
    pub(crate) async fn status(&self, ticket: &str, client_id: &str) -> Result<QueueView, AdmissionError> {
        let now = now_ms();
        let claims = self.verify_ticket(ticket, client_id, now / 1000)?;
        self.view(&claims, now).await
    }

    /// Ends an admitted session: its seat goes back to the pool at once, and
    /// no new pass is minted for the place.
    pub(crate) async fn end_session(&self, ticket: &str, client_id: &str) -> Result<QueueView, AdmissionError> {
        let now = now_ms();
        let claims = self.verify_ticket(ticket, client_id, now / 1000)?;
        let queue = &claims.queue_id;
        let defaults = self.known_queue(queue)?;
        let snap = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        let position = match snap.position(place(&claims)) {
            Some(position) if position <= snap.admitted => position,
            _ => return Err(AdmissionError::NotAdmitted),
        };
        self.free_seat(queue, position).await?;
        self.end_pass(queue, &claims.session_id).await?;
        self.store.invalidate(queue);
        self.view(&claims, now).await
    }

    /// A ticket signed by us, for a queue we serve, held by the client it was
    /// issued to.
    fn verify_ticket(&self, ticket: &str, client_id: &str, now_unix: i64) -> Result<QueueTicket, AdmissionError> {
        let claims: QueueTicket = tokens::verify_hmac(&self.policy.ticket_keys, ticket, now_unix).map_err(AdmissionError::BadTicket)?;
        if claims.client_binding != client_binding(client_id) {
            return Err(AdmissionError::WrongClient);
        }
        self.known_queue(&claims.queue_id)?;
        Ok(claims)
    }

    async fn view(&self, ticket: &QueueTicket, now_ms: i64) -> Result<QueueView, AdmissionError> {
        let queue = &ticket.queue_id;
        let defaults = self.known_queue(queue)?;
        let snap = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        let difficulty = self.difficulty(queue, &snap.settings);
        let Some(position) = snap.position(place(ticket)) else {
            let view = QueueView::pre_opening(ticket.lottery_entry.unwrap_or(0), defaults.opens_at_ms, now_ms);
            return Ok(QueueView { join_difficulty_bits: difficulty, admission_slowed: snap.settings.slowed(), ..view });
        };
        let standing = standing(position, &snap);
        let pass = if standing.admitted {
            self.checked(queue, || self.store.seat(queue, position))
                .await?
                .map(|seat_expiry_ms| self.pass(ticket, position, seat_expiry_ms, now_ms))
        } else {
            None
        };
        let view = QueueView::in_line(position, standing, pass, defaults.opens_at_ms, now_ms);
        Ok(QueueView { join_difficulty_bits: difficulty, admission_slowed: snap.settings.slowed(), ..view })
    }

    /// A pass for an admitted place, expiring with its seat.
    fn pass(&self, ticket: &QueueTicket, position: u64, seat_expiry_ms: i64, now_ms: i64) -> IssuedPass {
        let pass = AdmissionPass {
            queue_id: ticket.queue_id.clone(),
            place: position,
            client_binding: ticket.client_binding.clone(),
            session_id: ticket.session_id.clone(),
            cnf: ticket.jkt.clone().map(|jkt| Confirmation { jkt }),
            issued_at: now_ms / 1000,
            expires_at: seat_expiry_ms / 1000,
        };
        IssuedPass { token: tokens::sign(&self.policy.signing_key, &pass), expires_at: pass.expires_at }
    }
}

fn place(ticket: &QueueTicket) -> Place {
    ticket.lottery_entry.map_or(Place::InLine(ticket.place), Place::PreOpening)
}

/// A session id: 128 random bits drawn at the join and carried in the
/// signed ticket, so every replica mints the same one for the ticket's
/// holder, whatever Redis forgot, and nobody can guess another's.
pub(super) fn new_session_id() -> String {
    let bits: [u8; 16] = rand::random();
    hex::encode(bits)
}
