//! The booking events this replica serves, as last read from PostgreSQL
//! (their source of truth), and the copy in Redis that every other service
//! follows (`yeyak_platform::sessions::catalog`).
//!
//! Every replica re-reads the catalog's version once a second
//! ([`WaitingRoom::sync_events`]) and the events when it changed; the
//! replica that made a change installs and publishes it at once. So a change
//! reaches: the replica that made it, at once; the other admission replicas
//! within a second; every other service within its ended-sessions poll
//! (250 ms) after the copy is written, at most a second plus a poll after
//! the change. A Redis that lost the copy gets it back on the next sync.
use std::{collections::HashMap, sync::Arc};

use yeyak_platform::sessions::{Catalog, EventState, PublishedEvent};

use super::WaitingRoom;
use crate::{
    domain::{EventDefinition, EventPhase, QueueDefaults, StoredEvent},
    error::AdmissionError,
};

/// One event as this replica serves it.
#[derive(Debug)]
pub(crate) struct LiveEvent {
    pub(crate) stored: StoredEvent,
    /// What its queue starts with until an operator changes it.
    pub(crate) defaults: QueueDefaults,
}

/// Every event, at one version of the catalog.
#[derive(Debug, Default)]
pub(crate) struct Served {
    pub(crate) version: i64,
    pub(crate) events: HashMap<String, Arc<LiveEvent>>,
}

impl WaitingRoom {
    /// Reads the catalog when its version changed, and writes the copy into
    /// Redis when Redis holds an older one (or none). Returns the version.
    pub(crate) async fn sync_events(&self) -> Result<i64, AdmissionError> {
        let version = self.durable.events_version().await?;
        if version != self.served.read().version {
            self.install(version, self.durable.events().await?);
        }
        self.publish_events().await?;
        Ok(self.served.read().version)
    }

    /// Creates the configured events that are not in the catalog yet
    /// (`YEYAK_QUEUE_IDS` and friends seed it on a first start).
    pub(crate) async fn seed_events(&self) -> Result<(), AdmissionError> {
        let added = self.durable.seed_events(&self.policy.seeds).await?;
        if added > 0 {
            tracing::info!(added, "booking events created from the configuration (YEYAK_QUEUE_IDS)");
        }
        Ok(())
    }

    /// Serves `events` (read at catalog `version` or later) from now on,
    /// unless a newer version is installed already: a slow read never
    /// brings back what a later one removed.
    pub(super) fn install(&self, version: i64, events: Vec<StoredEvent>) {
        // Read after the version: they may hold later changes, never fewer.
        let version = events.iter().map(|e| e.version).max().unwrap_or(0).max(version);
        let events = events
            .into_iter()
            .map(|stored| {
                let defaults = QueueDefaults {
                    rate: stored.def.rate,
                    max_active: stored.def.max_active,
                    opens_at_ms: stored.def.opens_at_ms,
                    session_ttl: self.policy.session_ttl,
                    burst: self.policy.burst,
                };
                (stored.def.id.clone(), Arc::new(LiveEvent { stored, defaults }))
            })
            .collect();
        let mut served = self.served.write();
        if served.version <= version {
            *served = Arc::new(Served { version, events });
        }
    }

    /// Writes the copy every other service reads, unless Redis has it.
    pub(super) async fn publish_events(&self) -> Result<(), AdmissionError> {
        let served = self.served.read().clone();
        if self.store.catalog_version().await?.is_some_and(|v| v >= served.version) {
            return Ok(());
        }
        let events = served.events.values().map(|e| published(&e.stored)).map(|e| (e.id.clone(), e)).collect();
        if self.store.publish_catalog(&Catalog { version: served.version, events }).await? {
            tracing::info!(version = served.version, "booking events catalog published");
        }
        Ok(())
    }

    /// Every event served, at the version last read.
    pub(crate) fn served(&self) -> Arc<Served> {
        self.served.read().clone()
    }

    /// The event `queue` names, closed or not.
    pub(crate) fn event(&self, queue: &str) -> Result<Arc<LiveEvent>, AdmissionError> {
        if queue.is_empty() {
            return Err(AdmissionError::NoQueue);
        }
        self.served.read().events.get(queue).cloned().ok_or_else(|| AdmissionError::UnknownQueue(queue.to_owned()))
    }

    /// The starting settings of an event that is not closed.
    pub(crate) fn known_queue(&self, queue: &str) -> Result<QueueDefaults, AdmissionError> {
        let event = self.event(queue)?;
        if event.stored.closed {
            return Err(AdmissionError::EventClosed(queue.to_owned()));
        }
        Ok(event.defaults)
    }

    /// Refuses a new arrival before the event's pre-opening window and after
    /// its closing time.
    pub(super) fn check_arrival(&self, queue: &str, now_ms: i64) -> Result<QueueDefaults, AdmissionError> {
        let event = self.event(queue)?;
        match event.stored.phase(now_ms) {
            EventPhase::Closed => Err(AdmissionError::EventClosed(queue.to_owned())),
            EventPhase::Scheduled => Err(AdmissionError::NotYetOpen { from_ms: event.stored.def.joins_from_ms() }),
            EventPhase::Closing => Err(AdmissionError::Closed),
            EventPhase::PreOpening | EventPhase::Open => Ok(event.defaults),
        }
    }

    /// The events whose lines move (tickers and controllers run for them).
    pub(crate) fn running_events(&self) -> Vec<String> {
        self.served.read().events.values().filter(|e| !e.stored.closed).map(|e| e.stored.def.id.clone()).collect()
    }

    /// Whether `queue` is served and not closed (a ticker stops when not).
    pub(crate) fn is_running(&self, queue: &str) -> bool {
        self.served.read().events.get(queue).is_some_and(|e| !e.stored.closed)
    }
}

/// The part of an event every service may know.
fn published(e: &StoredEvent) -> PublishedEvent {
    PublishedEvent {
        id: e.def.id.clone(),
        title: e.def.title.clone(),
        state: if e.closed { EventState::Closed } else { EventState::Open },
        opens_at_ms: e.def.opens_at_ms,
        closes_at_ms: e.def.closes_at_ms,
        rule_set: e.def.rule_set.clone(),
        version: e.version,
    }
}

/// The event a configured queue starts as (its first start only).
pub(crate) fn seed(id: &str, defaults: &QueueDefaults, pow_bits: u8, verify_in: Option<String>) -> EventDefinition {
    EventDefinition {
        id: id.to_owned(),
        title: id.to_owned(),
        // 0: no opening configured (open since the epoch, no lottery); only
        // the configuration may say so, an operator's event has an opening.
        opens_at_ms: defaults.opens_at_ms,
        closes_at_ms: None,
        rule_set: String::new(),
        rate: defaults.rate,
        max_active: defaults.max_active,
        pre_open_ms: None,
        pow_bits,
        verify_in,
    }
}
