//! The use cases of identity, one type: [`Verification`]. It lists the
//! providers in the order their health ranks them ([`Verification::providers`]),
//! starts and completes a verification through the routing board (breaker,
//! bulkhead, deadline) against the Redis attempt limits, with the challenge
//! sealed in its id ([`start`], [`complete`]), and issues consent tokens
//! ([`consent`]). It
//! knows no transport: the handlers in `grpc/` validate the request, call it
//! and map its [`IdentityError`].
mod complete;
mod consent;
mod start;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use yeyak_platform::metrics::Funnel;

use crate::{
    clients::{Board, Refusal, Slot},
    config::Config,
    domain::{challenge::Sealer, health::Light, Method},
    error::{IdentityError, Unavailability},
    metrics::IdentityMetrics,
    store::{Counter, Limit, Store},
};

/// Verifies people through the providers and issues their tokens.
pub(crate) struct Verification {
    config: Arc<Config>,
    board: Arc<Board>,
    store: Store,
    /// Seals each challenge into its id and opens it on completion.
    sealer: Sealer,
    metrics: IdentityMetrics,
    /// `identity_started` and `verified`, once per admitted session.
    funnel: Funnel,
}

/// A provider as the front end is offered it.
#[derive(Clone, Debug)]
pub(crate) struct OfferedProvider {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) method: Method,
    pub(crate) light: Light,
}

impl Verification {
    pub(crate) fn new(config: Arc<Config>, board: Arc<Board>, store: Store, metrics: IdentityMetrics, funnel: Funnel) -> Self {
        let sealer = Sealer::new(config.subject_hash_key.expose().as_bytes());
        Self { config, board, store, sealer, metrics, funnel }
    }

    /// The providers that are not RED, healthiest first.
    pub(crate) fn providers(&self) -> Vec<OfferedProvider> {
        self.board
            .offered()
            .into_iter()
            .filter_map(|s| {
                let p = self.board.find(&s.id)?.upstream.config();
                Some(OfferedProvider { id: p.id.clone(), display_name: p.display_name.clone(), method: p.method, light: s.light })
            })
            .collect()
    }

    /// Whether `id` names a configured provider. Handlers ask before parsing
    /// the person's details, so an unknown provider is the error reported.
    pub(crate) fn check_provider(&self, id: &str) -> Result<(), IdentityError> {
        self.slot(id).map(|_| ())
    }

    fn slot(&self, id: &str) -> Result<&Slot, IdentityError> {
        self.board.find(id).ok_or_else(|| IdentityError::UnknownProvider(id.to_owned()))
    }

    fn refused(&self, slot: &Slot, refusal: Refusal) -> IdentityError {
        let (why, retry_after) = match refusal {
            Refusal::CircuitOpen { retry_in } => (Unavailability::CircuitOpen, retry_in.max(Duration::from_secs(1))),
            Refusal::Saturated => (Unavailability::Saturated, Duration::from_secs(1)),
        };
        tracing::debug!(provider = slot.id(), why = why.name(), "provider call refused");
        IdentityError::ProviderUnavailable {
            provider: slot.id().to_owned(),
            why,
            alternatives: self.board.alternatives(slot.id()),
            retry_after,
            cause: why.name().to_owned(),
        }
    }

    fn failed(&self, slot: &Slot, cause: String) -> IdentityError {
        IdentityError::ProviderUnavailable {
            provider: slot.id().to_owned(),
            why: Unavailability::Failed,
            alternatives: self.board.alternatives(slot.id()),
            retry_after: Duration::from_secs(1),
            cause,
        }
    }

    fn limit(&self, counter: Counter, id: &str, max: u32, window: Duration) -> Limit {
        Limit { counter, key: self.store.counter_key(counter, id), max, window }
    }

    /// The per-subject, per-phone and per-pass counters.
    fn person_limits(&self, subject: &str, phone_key: &str, session_id: &str) -> Vec<Limit> {
        let (c, w) = (&self.config, self.config.attempt_window);
        vec![
            self.limit(Counter::Subject, subject, c.max_attempts_per_subject, w),
            self.limit(Counter::Phone, phone_key, c.max_attempts_per_phone, w),
            self.limit(Counter::Pass, session_id, c.max_attempts_per_pass, w),
        ]
    }

    fn provider_deadline(&self, answer_by: Instant) -> Duration {
        self.config.provider_timeout.min(answer_by.saturating_duration_since(Instant::now()))
    }
}
