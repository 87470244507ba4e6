//! Fault injection for a mock third-party service: latency, jitter, random
//! errors, hangs and a concurrency cap, adjustable at run time through
//! `GET/PUT /admin/faults`, so load tests and chaos drills can show how Yeyak
//! behaves when a partner system degrades.
//!
//! Shared by every mock crate through `yeyak-mockkit`; the mocks still share
//! no business code with each other, only this plumbing and the platform crate.
use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse as _, Response},
    Json,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use yeyak_platform::config::{ConfigError, Env};

use crate::error::{parse_json, ApiError};

/// How long a "timeout" fault holds a request: longer than any sane client
/// deadline, so callers see a hang rather than a slow answer.
pub const HANG: Duration = Duration::from_secs(30);

/// The fault settings; the JSON shape of `GET /admin/faults`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Fixed delay added to every business request.
    pub latency_ms: u64,
    /// Extra random delay, uniform in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Share of requests answered with 503 (0..=1).
    pub error_rate: f64,
    /// Share of requests held for 30 s before being answered (0..=1).
    pub timeout_rate: f64,
    /// Concurrent requests allowed; more are answered 503 at once. 0 = unlimited.
    pub capacity: u32,
}

/// `PUT /admin/faults` body: every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub timeout_rate: Option<f64>,
    pub capacity: Option<u32>,
}

impl Faults {
    /// Reads `YEYAK_LATENCY_MS`, `YEYAK_JITTER_MS`, `YEYAK_ERROR_RATE`,
    /// `YEYAK_TIMEOUT_RATE` and `YEYAK_CAPACITY`; all default to "no faults".
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let faults = Self {
            latency_ms: env.parse("LATENCY_MS", 0)?,
            jitter_ms: env.parse("JITTER_MS", 0)?,
            error_rate: env.parse("ERROR_RATE", 0.0)?,
            timeout_rate: env.parse("TIMEOUT_RATE", 0.0)?,
            capacity: env.parse("CAPACITY", 0)?,
        };
        faults
            .validate()
            .map_err(|(field, reason)| ConfigError::Invalid { key: format!("YEYAK_{}", field.to_uppercase()), reason: reason.into() })?;
        Ok(faults)
    }

    /// Rates are probabilities; anything else is a typo worth rejecting.
    fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        for (field, rate) in [("error_rate", self.error_rate), ("timeout_rate", self.timeout_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err((field, "must be between 0 and 1"));
            }
        }
        Ok(())
    }

    fn apply(&mut self, update: FaultsUpdate) {
        self.latency_ms = update.latency_ms.unwrap_or(self.latency_ms);
        self.jitter_ms = update.jitter_ms.unwrap_or(self.jitter_ms);
        self.error_rate = update.error_rate.unwrap_or(self.error_rate);
        self.timeout_rate = update.timeout_rate.unwrap_or(self.timeout_rate);
        self.capacity = update.capacity.unwrap_or(self.capacity);
    }
}

/// Shared, run-time adjustable faults plus the in-flight counter that
/// enforces `capacity`. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct FaultInjector {
    faults: Arc<RwLock<Faults>>,
    in_flight: Arc<AtomicU32>,
}

/// Decrements the in-flight counter even when the client disconnects and the
/// request future is dropped mid-way.
struct InFlight(Arc<AtomicU32>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FaultInjector {
    pub fn new(faults: Faults) -> Self {
        Self { faults: Arc::new(RwLock::new(faults)), in_flight: Arc::default() }
    }

    pub fn current(&self) -> Faults {
        // A poisoned lock still holds valid plain data; keep serving.
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, update: FaultsUpdate) -> Result<Faults, ApiError> {
        let mut faults = self.faults.write().unwrap_or_else(|e| e.into_inner());
        let mut next = faults.clone();
        next.apply(update);
        next.validate().map_err(|(field, reason)| ApiError::bad_request(field, reason))?;
        *faults = next.clone();
        Ok(next)
    }
}

/// Middleware for business routes: capacity check, delay, then maybe a fault.
pub async fn inject(State(injector): State<FaultInjector>, request: Request, next: Next) -> Response {
    let faults = injector.current();
    let previous = injector.in_flight.fetch_add(1, Ordering::SeqCst);
    let _guard = InFlight(injector.in_flight.clone());
    if faults.capacity > 0 && previous >= faults.capacity {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "over capacity").into_response();
    }
    let jitter = if faults.jitter_ms > 0 { rand::thread_rng().gen_range(0..=faults.jitter_ms) } else { 0 };
    let delay = faults.latency_ms.saturating_add(jitter);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if rand::random::<f64>() < faults.timeout_rate {
        tokio::time::sleep(HANG).await;
    }
    if rand::random::<f64>() < faults.error_rate {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "injected fault").into_response();
    }
    next.run(request).await
}

/// `GET /admin/faults`
pub async fn get_faults(State(injector): State<FaultInjector>) -> Json<Faults> {
    Json(injector.current())
}

/// `PUT /admin/faults`: partial update, validated as a whole before it applies.
pub async fn put_faults(State(injector): State<FaultInjector>, body: Bytes) -> Result<Json<Faults>, ApiError> {
    let update: FaultsUpdate = parse_json(&body)?;
    let faults = injector.update(update)?;
    tracing::info!(?faults, "faults changed");
    Ok(Json(faults))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_rates_are_validated() {
        let env = Env::from_pairs([("ERROR_RATE", "1.5")]);
        let err = Faults::from_env(&env).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("YEYAK_ERROR_RATE"), "{err}");
        let env = Env::from_pairs([("LATENCY_MS", "20"), ("CAPACITY", "3"), ("TIMEOUT_RATE", "0.25")]);
        let faults = Faults::from_env(&env).unwrap();
        assert_eq!((faults.latency_ms, faults.capacity, faults.timeout_rate), (20, 3, 0.25));
    }

    #[test]
    fn partial_updates_keep_other_fields_and_reject_bad_rates() {
        let injector = FaultInjector::new(Faults { latency_ms: 5, ..Faults::default() });
        let after = injector.update(FaultsUpdate { error_rate: Some(0.5), ..FaultsUpdate::default() }).unwrap();
        assert_eq!((after.latency_ms, after.error_rate), (5, 0.5));
        let bad = injector.update(FaultsUpdate { timeout_rate: Some(-0.1), latency_ms: Some(9), ..Default::default() });
        assert_eq!(bad.unwrap_err().message, "timeout_rate: must be between 0 and 1");
        assert_eq!(injector.current().latency_ms, 5, "a rejected update changes nothing");
    }
}
