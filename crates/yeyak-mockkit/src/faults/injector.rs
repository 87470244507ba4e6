//! The faults applied to live requests: the capacity cap, the delay, errors
//! and hangs, and the admin routes that change them at run time.
use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use parking_lot::RwLock;

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse as _, Response},
    Json,
};
use tokio::sync::Notify;

use super::{Faults, FaultsUpdate, OverCapacity};
use crate::error::{parse_json, ApiError};

/// Shared, run-time adjustable faults plus the in-flight counter that
/// enforces `capacity`. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct FaultInjector {
    faults: Arc<RwLock<Faults>>,
    in_flight: Arc<AtomicU32>,
    freed: Arc<Notify>,
}

/// Holds one capacity slot; frees it (and wakes one queued request) on drop,
/// even when the client disconnects and the request future is dropped mid-way.
pub struct Slot {
    in_flight: Arc<AtomicU32>,
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.freed.notify_one();
    }
}

impl FaultInjector {
    pub fn new(faults: Faults) -> Self {
        Self { faults: Arc::new(RwLock::new(faults)), in_flight: Arc::default(), freed: Arc::default() }
    }

    pub fn current(&self) -> Faults {
        // A poisoned lock still holds valid plain data; keep serving.
        self.faults.read().clone()
    }

    /// Requests being served right now (queued ones not included).
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(super) fn update(&self, update: FaultsUpdate) -> Result<Faults, ApiError> {
        let mut faults = self.faults.write();
        let mut next = faults.clone();
        next.apply(update);
        next.validate().map_err(|(field, reason)| ApiError::bad_request(field, reason))?;
        *faults = next.clone();
        drop(faults);
        // A raised capacity may let queued requests in.
        self.freed.notify_waiters();
        Ok(next)
    }

    fn try_take(&self) -> Option<Slot> {
        let slot = || Slot { in_flight: self.in_flight.clone(), freed: self.freed.clone() };
        loop {
            let capacity = self.current().capacity;
            let now = self.in_flight.load(Ordering::SeqCst);
            if capacity > 0 && now >= capacity {
                return None;
            }
            if self.in_flight.compare_exchange(now, now + 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return Some(slot());
            }
        }
    }

    /// A capacity slot: at once, after queueing (`slow`), or `None` when the
    /// request is to be refused (`error`, or queued for longer than `hang_ms`).
    pub async fn admit(&self) -> Option<Slot> {
        let faults = self.current();
        let give_up = tokio::time::Instant::now() + Duration::from_millis(faults.hang_ms);
        loop {
            // Register interest before looking, so a slot freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_take() {
                return Some(slot);
            }
            if self.current().over_capacity == OverCapacity::Error {
                return None;
            }
            if tokio::time::timeout_at(give_up, freed).await.is_err() {
                return None;
            }
        }
    }
}

/// Middleware for business routes: capacity, delay, then maybe a fault.
pub async fn inject(State(injector): State<FaultInjector>, request: Request, next: Next) -> Response {
    let Some(_slot) = injector.admit().await else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "over capacity").into_response();
    };
    let faults = injector.current();
    let delay = faults.sample_delay(&mut rand::thread_rng());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if rand::random::<f64>() < faults.timeout_rate {
        tokio::time::sleep(Duration::from_millis(faults.hang_ms)).await;
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
