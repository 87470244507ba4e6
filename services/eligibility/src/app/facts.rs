//! What the registry and the booked set say about a subject: the registry's
//! answer from the Redis cache when fresh, and the reservation held for the
//! dose, in one round trip; the registry itself on a miss.
use super::EligibilityCheck;
use crate::{domain::Person, error::EligibilityError, metrics::Lookup, store::Cached};

impl EligibilityCheck {
    /// The registry's answer about `subject` (`None`: unknown to it) and the
    /// reservation held for `dose`, if the booked set knows one.
    pub(super) async fn facts_for(&self, subject: &str, dose: u32) -> Result<(Option<Person>, Option<String>), EligibilityError> {
        let (cached, booked) = match self.store.lookup(subject, dose).await {
            Ok(found) => found,
            Err(e) => {
                // The cache is an optimisation and the booked set a fast
                // answer (reservation's database enforces one booking per
                // dose): carry on without them.
                tracing::warn!(error = %e, "redis unavailable: registry asked directly, booked state unknown");
                self.metrics.looked_up(Lookup::CacheError);
                let person = self.registry.lookup(subject).await.map_err(EligibilityError::RegistryUnavailable)?;
                return Ok((person, None));
            }
        };
        let person = match cached {
            Some(Cached::Known(p)) => {
                self.metrics.looked_up(Lookup::Cache);
                Some(p)
            }
            Some(Cached::Unknown) => {
                self.metrics.looked_up(Lookup::Cache);
                None
            }
            None => {
                self.metrics.looked_up(Lookup::Registry);
                let person = self.registry.lookup(subject).await.map_err(EligibilityError::RegistryUnavailable)?;
                if !self.store.remember(subject, person.as_ref()) {
                    tracing::debug!("cache writes queued beyond the limit: this answer is not cached");
                }
                person
            }
        };
        Ok((person, booked))
    }
}
