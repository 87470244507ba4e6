//! The health of a provider: the platform's routing-by-health rules
//! (`yeyak_platform::health`: sliding window, circuit breaker, traffic light
//! and ranking), shared with notification's SMS gateways so both judge an
//! upstream the same way. Identity configures the thresholds
//! (`docs/identity.md`); the stateful board is `clients/router/`.
pub(crate) use yeyak_platform::health::{BreakerSettings, HealthRules, Light};
