//! The operators' side of booking events: create, change, list and close
//! them without a restart. A change that would throw out people already
//! waiting or admitted (moving an opening people joined for, another rule
//! set while people are inside, closing with people inside) is refused
//! unless the operator says `force`, and every call can be a dry run that
//! only says what it would do. Writes go to PostgreSQL with their audit row,
//! then into this replica's catalog and the Redis copy at once.
use yeyak_platform::operators::{audit, OperatorIdentity, Role};

use super::WaitingRoom;
use crate::{
    domain::{
        close_effects, create_effects, update_effects, Effect, EventDefinition, EventPhase, InvalidEvent, People, Settings, StoredEvent,
        StoredSettings,
    },
    error::AdmissionError,
};

/// What a call did, or would do.
#[derive(Clone, Debug)]
pub(crate) struct EventChange {
    /// The event after the change (as it would be, in a dry run).
    pub(crate) event: StoredEvent,
    pub(crate) effects: Vec<Effect>,
    pub(crate) applied: bool,
}

impl EventChange {
    pub(crate) fn needs_force(&self) -> bool {
        self.effects.iter().any(|e| e.disruptive)
    }
}

/// An event with where it stands and who is in it.
#[derive(Clone, Debug)]
pub(crate) struct EventOverview {
    pub(crate) event: StoredEvent,
    pub(crate) phase: EventPhase,
    pub(crate) people: People,
    /// The admission settings in force; `None` for a closed event.
    pub(crate) settings: Option<Settings>,
}

impl WaitingRoom {
    pub(crate) async fn list_events(&self, op: &OperatorIdentity, now_ms: i64) -> Result<Vec<EventOverview>, AdmissionError> {
        if !op.has(Role::Support) {
            op.require(Role::Operator, "admission.list_events")?;
        }
        self.sync_events().await?;
        let mut events: Vec<_> = self.served().events.values().cloned().collect();
        events.sort_by_key(|e| (e.stored.def.opens_at_ms, e.stored.def.id.clone()));
        let mut out = Vec::with_capacity(events.len());
        for live in events {
            let (people, settings) = if live.stored.closed {
                (People::default(), None)
            } else {
                self.people(&live.stored.def.id).await.map(|(p, s)| (p, Some(s)))?
            };
            out.push(EventOverview { phase: live.stored.phase(now_ms), event: live.stored.clone(), people, settings });
        }
        Ok(out)
    }

    pub(crate) async fn create_event(
        &self,
        op: &OperatorIdentity,
        def: EventDefinition,
        dry_run: bool,
    ) -> Result<EventChange, AdmissionError> {
        op.require(Role::Operator, "admission.create_event")?;
        def.validate()?;
        // Only the configuration may make an event without an opening.
        if def.opens_at_ms == 0 {
            return Err(InvalidEvent::OpensAt.into());
        }
        self.sync_events().await?;
        self.check_verify_in(&def)?;
        if self.served().events.contains_key(&def.id) {
            return Err(AdmissionError::EventExists(def.id));
        }
        let effects = create_effects(&def);
        if dry_run {
            let event = StoredEvent { def, closed: false, version: 0, updated_at_ms: 0, updated_by: op.name().to_owned() };
            return Ok(EventChange { event, effects, applied: false });
        }
        let entry = audit(op, "admission.create_event", &format!("event {}", def.id), None, Some(&describe(&def, false)));
        let event = self.durable.create_event(&def, entry).await?;
        self.refresh().await;
        Ok(EventChange { event, effects, applied: true })
    }

    pub(crate) async fn update_event(
        &self,
        op: &OperatorIdentity,
        def: EventDefinition,
        dry_run: bool,
        force: bool,
    ) -> Result<EventChange, AdmissionError> {
        op.require(Role::Operator, "admission.update_event")?;
        def.validate()?;
        // Judged against the latest version (the write checks it is still that).
        self.sync_events().await?;
        self.check_verify_in(&def)?;
        let old = self.open_event(&def.id)?;
        if def.opens_at_ms == 0 && old.def.opens_at_ms != 0 {
            return Err(InvalidEvent::OpensAt.into());
        }
        let (people, _) = self.people(&def.id).await?;
        let effects = update_effects(&old.def, &def, &people);
        // A changed starting setting is put in force; the others in force stay.
        let changed = |same: bool| !same;
        let settings = StoredSettings {
            rate: changed(old.def.rate == def.rate).then_some(def.rate),
            max_active: changed(old.def.max_active == def.max_active).then_some(def.max_active),
            pow_bits: changed(old.def.pow_bits == def.pow_bits).then_some(def.pow_bits),
            ..Default::default()
        };
        let settings = (settings != StoredSettings::default()).then_some(settings);
        let new = StoredEvent { def, ..old.clone() };
        self.apply(op, "admission.update_event", new, effects, settings, (dry_run, force)).await
    }

    pub(crate) async fn close_event(
        &self,
        op: &OperatorIdentity,
        id: &str,
        dry_run: bool,
        force: bool,
    ) -> Result<EventChange, AdmissionError> {
        op.require(Role::Operator, "admission.close_event")?;
        self.sync_events().await?;
        let old = self.open_event(id)?;
        let (people, _) = self.people(id).await?;
        let new = StoredEvent { closed: true, ..old };
        // Paused and drained in the same transaction: every replica's next
        // tick admits nobody, before it has read the catalog.
        let stop = StoredSettings { paused: Some(true), closed: Some(true), ..Default::default() };
        self.apply(op, "admission.close_event", new, close_effects(&people), Some(stop), (dry_run, force)).await
    }

    /// Writes `new` unless it is a dry run or needs a force not given.
    async fn apply(
        &self,
        op: &OperatorIdentity,
        action: &str,
        new: StoredEvent,
        effects: Vec<Effect>,
        settings: Option<StoredSettings>,
        (dry_run, force): (bool, bool),
    ) -> Result<EventChange, AdmissionError> {
        let mut change = EventChange { event: new, effects, applied: false };
        if dry_run {
            return Ok(change);
        }
        if change.needs_force() && !force {
            let what: Vec<_> = change.effects.iter().filter(|e| e.disruptive).map(|e| e.text.as_str()).collect();
            return Err(AdmissionError::NeedsForce(what.join("; ")));
        }
        let (def, closed, expected) = (&change.event.def, change.event.closed, change.event.version);
        let forced = if change.needs_force() { " (forced)" } else { "" };
        let resource = format!("event {}", def.id);
        let written = self
            .durable
            .update_event((def, closed, expected), settings.as_ref(), |old| {
                audit(op, action, &resource, Some(&describe(&old.def, old.closed)), Some(&format!("{}{forced}", describe(def, closed))))
            })
            .await?;
        // The settings in force, as PostgreSQL now has them, for every replica's next tick.
        if settings.is_some() {
            let saved = self.durable.settings(&def.id).await?;
            self.checked(&def.id, || self.store.write_settings(&def.id, &saved)).await?;
        }
        self.refresh().await;
        change.event = written;
        change.applied = true;
        Ok(change)
    }

    /// Reads the catalog now and publishes it (after this replica's change).
    /// A failure is logged, not returned: the change is committed, and the
    /// next sync (within a second) installs and publishes it.
    async fn refresh(&self) {
        let done = async {
            self.install(self.durable.events_version().await?, self.durable.events().await?);
            self.publish_events().await
        };
        if let Err(e) = done.await {
            tracing::warn!(error = %e, "booking events: installing or publishing the change failed; the next sync does it");
        }
    }

    fn open_event(&self, id: &str) -> Result<StoredEvent, AdmissionError> {
        let live = self.event(id)?;
        if live.stored.closed {
            return Err(AdmissionError::EventClosed(id.to_owned()));
        }
        Ok(live.stored.clone())
    }

    /// An identity-first event's verification event must exist.
    fn check_verify_in(&self, def: &EventDefinition) -> Result<(), AdmissionError> {
        match &def.verify_in {
            Some(v) if !self.served().events.contains_key(v) => Err(InvalidEvent::VerifyIn.into()),
            _ => Ok(()),
        }
    }

    /// Who is in the event now, and its settings in force.
    async fn people(&self, queue: &str) -> Result<(People, Settings), AdmissionError> {
        let defaults = self.known_queue(queue)?;
        self.store.invalidate(queue);
        let snap = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        let joined = snap.joined();
        let people = People { joined, waiting: joined.saturating_sub(snap.admitted), active: snap.active };
        Ok((people, snap.settings.clone()))
    }
}

/// An event as the audit trail shows it.
fn describe(d: &EventDefinition, closed: bool) -> String {
    format!(
        "title={:?} opens_at_ms={} closes_at_ms={:?} rule_set={:?} rate={} max_active={} pre_open_ms={:?} pow_bits={} verify_in={:?} closed={closed}",
        d.title, d.opens_at_ms, d.closes_at_ms, d.rule_set, d.rate, d.max_active, d.pre_open_ms, d.pow_bits, d.verify_in
    )
}
