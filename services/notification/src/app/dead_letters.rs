//! The consumer's dead-letter queue, for operators: count and summarise it
//! (the `support` role), move messages back to the consumer's queue or drop
//! them (the `operator` role). A replayed event goes through the idempotent
//! consumer: one whose delivery already exists (its event id is in the
//! inbox) sends nothing, however often it is replayed.
//!
//! Taken messages stay unacked until their audit row is written: a call
//! whose record cannot be written moves and drops nothing (the messages go
//! back), and a crash before the broker settles them leaves them where they
//! were, possibly also replayed, which the consumer makes harmless.
use std::collections::HashSet;

use uuid::Uuid;
use yeyak_platform::{
    messaging::dead_letters::{DeadLetter, Taken},
    operators::{self, OperatorIdentity, Role},
};

use super::Deliveries;
use crate::error::Error;

/// Messages summarised in an answer at most.
pub(crate) const MAX_SHOWN: usize = 100;
/// Event ids named in one audit row at most.
const MAX_AUDITED_IDS: usize = 100;

/// A dead letter and whether its event was recorded already.
pub(crate) struct Letter {
    pub(crate) letter: DeadLetter,
    pub(crate) already_recorded: bool,
}

/// What a move or a drop did (or would do).
pub(crate) struct Settled {
    pub(crate) count: u64,
    pub(crate) remaining: u64,
    pub(crate) letters: Vec<Letter>,
}

/// Move back or drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settle {
    Replay,
    Discard,
}

impl Deliveries {
    /// The queue's name, its count and its first `limit` messages (put back
    /// in order).
    pub(crate) async fn dead_letters(&self, staff: &OperatorIdentity, limit: u64) -> Result<(String, u64, Vec<Letter>), Error> {
        const ACTION: &str = "notification.list_dead_letters";
        staff.require(Role::Support, ACTION)?;
        let count = self.dead_letters.count().await?;
        let letters = if limit == 0 || count == 0 {
            Vec::new()
        } else {
            let taken = self.dead_letters.take(limit).await?;
            let letters = self.with_inbox(&taken).await;
            taken.put_back().await?;
            letters?
        };
        let queue = self.dead_letters.queue();
        let event = operators::audit(staff, ACTION, &format!("queue {queue}"), None, Some(&format!("{count} messages")));
        self.store.record_audit(&event).await?;
        Ok((queue, count, letters))
    }

    /// Moves (`Replay`) or drops (`Discard`) up to `limit` messages from the
    /// oldest (`None`: every message there when the call starts).
    pub(crate) async fn settle_dead_letters(
        &self,
        staff: &OperatorIdentity,
        how: Settle,
        limit: Option<u64>,
        dry_run: bool,
    ) -> Result<Settled, Error> {
        let action = match how {
            Settle::Replay => "notification.replay_dead_letters",
            Settle::Discard => "notification.discard_dead_letters",
        };
        staff.require(Role::Operator, action)?;
        let count = self.dead_letters.count().await?;
        let n = limit.unwrap_or(count).min(count);
        let taken = self.dead_letters.take(if dry_run { n.min(MAX_SHOWN as u64) } else { n }).await?;
        let letters = match self.with_inbox(&taken).await {
            Ok(letters) => letters,
            Err(e) => {
                taken.put_back().await?;
                return Err(e);
            }
        };
        let queue = self.dead_letters.queue();
        let ids: Vec<String> =
            letters.iter().take(MAX_AUDITED_IDS).map(|l| l.letter.event_id.map(|id| id.to_string()).unwrap_or_default()).collect();
        let verb = if how == Settle::Replay { "replay" } else { "discard" };
        let new = match dry_run {
            true => format!("dry run: would {verb} {n}: {}", ids.join(" ")),
            false => format!("{verb} {}: {}", taken.len(), ids.join(" ")),
        };
        let event = operators::audit(staff, action, &format!("queue {queue}"), Some(&format!("{count} messages")), Some(&new));
        if let Err(e) = self.store.record_audit(&event).await {
            taken.put_back().await?;
            return Err(e.into());
        }
        let done = match (dry_run, how) {
            (true, _) => {
                taken.put_back().await?;
                n
            }
            (false, Settle::Replay) => taken.replay().await?,
            (false, Settle::Discard) => taken.discard().await?,
        };
        if !dry_run {
            tracing::info!(%queue, messages = done, operator = staff.name(), action, "dead letters settled by an operator");
        }
        let remaining = if dry_run { count } else { count.saturating_sub(done) };
        Ok(Settled { count: done, remaining, letters: letters.into_iter().take(MAX_SHOWN).collect() })
    }

    /// Each taken letter with whether the consumer recorded its event.
    async fn with_inbox(&self, taken: &Taken) -> Result<Vec<Letter>, Error> {
        let ids: Vec<Uuid> = taken.letters().filter_map(|l| l.event_id).collect();
        let recorded: HashSet<Uuid> = self.store.recorded_events(&ids).await?.into_iter().collect();
        Ok(taken
            .letters()
            .map(|l| Letter { already_recorded: l.event_id.is_some_and(|id| recorded.contains(&id)), letter: l.clone() })
            .collect())
    }
}
