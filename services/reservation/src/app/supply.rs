//! `SupplyChanges`, the use cases of supply changes (docs/supply-changes.md):
//! start a job when inventory says slots closed (the consumer), plan what a
//! change would do (the operators' dry run), and report a job's progress.
//! The moves themselves are `supply_worker`. The dry run ranks and fills
//! targets with the very rules the job uses (`domain::supply`), against the
//! current ledger.
use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;
use yeyak_platform::operators::{OperatorIdentity, Role};

use crate::{
    clients::{Candidates, SupplyCatalogClient},
    domain::{
        supply::{self, Candidate, Closing},
        supply_job::{Job, JobRecord, Progress},
        Slot,
    },
    error::ReservationError,
    store::Store,
};

const PLAN: &str = "reservation.plan_supply_change";
const STATUS: &str = "reservation.get_supply_change";
/// Targets a status report lists at most.
const STATUS_TARGETS: i64 = 100;

/// The supply-change use cases, shared by the consumer, the handlers and
/// this replica's workers.
pub(crate) struct SupplyChanges {
    pub(super) store: Store,
    pub(super) catalog: SupplyCatalogClient,
    /// Wakes the outbox relay after a move commits.
    pub(super) relay: Arc<Notify>,
    /// Wakes this replica's workers when a job starts here.
    pub(super) work: Arc<Notify>,
}

/// A dry run's scope, as CloseSlots or ChangeVaccine would take it.
#[derive(Clone, Debug)]
pub(crate) struct PlanRequest {
    pub(crate) clinic_id: Uuid,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    pub(crate) vaccine: Option<String>,
    pub(crate) new_vaccine: Option<String>,
    pub(crate) max_move_days: u32,
}

/// What a change would do to the bookings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub(crate) closing_slots: u32,
    pub(crate) affected: u32,
    pub(crate) cancelled: u32,
    /// Target slots (a replacement slot of a vaccine change has a nil id:
    /// inventory names it only when it opens) and how many move there.
    pub(crate) targets: Vec<(Slot, u32)>,
    pub(crate) candidate_slots: u32,
}

impl SupplyChanges {
    pub(crate) fn new(store: Store, catalog: SupplyCatalogClient, relay: Arc<Notify>) -> Self {
        Self { store, catalog, relay, work: Arc::new(Notify::new()) }
    }

    /// Starts the job of a change inventory made; `None` when it had started
    /// already (a redelivered event), else how many bookings it moves.
    pub(crate) async fn start(&self, job: &Job) -> Result<Option<u32>, ReservationError> {
        let started = self.store.start_job(job, super::now()).await?;
        if started.is_some() {
            self.work.notify_waiters();
        }
        Ok(started)
    }

    /// A job and its progress; `None` until its event has arrived.
    pub(crate) async fn status(&self, operator: &OperatorIdentity, change_id: Uuid) -> Result<(JobRecord, Progress), ReservationError> {
        operator.require(Role::Operator, STATUS)?;
        let job = self.store.job(change_id).await?.ok_or(ReservationError::UnknownSupplyChange)?;
        let progress = self.store.progress(change_id, STATUS_TARGETS).await?;
        Ok((job, progress))
    }

    /// What the change would do now, writing nothing.
    pub(crate) async fn plan(&self, operator: &OperatorIdentity, request: &PlanRequest) -> Result<Plan, ReservationError> {
        operator.require(Role::Operator, PLAN)?;
        let open = self.catalog.clinic_slots(request.clinic_id, request.from, request.to, request.vaccine.as_deref()).await?;
        let closing: Vec<_> = open.into_iter().filter(|s| request.new_vaccine.as_deref() != Some(s.slot.vaccine_code.as_str())).collect();
        let mut plan = Plan { closing_slots: u32::try_from(closing.len()).unwrap_or(u32::MAX), ..Plan::default() };
        let now = super::now();
        let closed: Vec<Closing> = closing
            .iter()
            .map(|s| Closing { slot_id: s.slot.slot_id, vaccine_code: s.slot.vaccine_code.clone(), starts_at: s.slot.starts_at })
            .collect();
        let closed_ids: Vec<Uuid> = closed.iter().map(|c| c.slot_id).collect();
        let bookings = if closed_ids.is_empty() { Vec::new() } else { self.store.confirmed_on(&closed_ids).await? };
        plan.affected = u32::try_from(bookings.len()).unwrap_or(u32::MAX);
        let Some(window) = supply::candidate_window(&closed, request.max_move_days, now).filter(|_| !bookings.is_empty()) else {
            plan.cancelled = plan.affected;
            return Ok(plan);
        };
        let allowed = supply::allowed_vaccines(closed.iter().map(|c| c.vaccine_code.as_str()));
        let Candidates { home, slots: mut candidates } =
            self.catalog.candidates(request.clinic_id, allowed, window, super::supply_worker::MAX_CANDIDATES).await?;
        let before = candidates.len();
        if let Some(vaccine) = &request.new_vaccine {
            // The slots a vaccine change opens: same clinic, times and sizes.
            candidates.extend(closing.iter().map(|s| Candidate {
                slot: Slot { slot_id: Uuid::new_v4(), vaccine_code: vaccine.clone(), ..s.slot.clone() },
                district_code: home.district_code.clone(),
                capacity: s.capacity,
            }));
        }
        let opening: HashSet<Uuid> = candidates[before..].iter().map(|c| c.slot.slot_id).collect();
        plan.candidate_slots = u32::try_from(candidates.len()).unwrap_or(u32::MAX);
        let rankings = supply::rankings(&closed, &home, &candidates, request.max_move_days, now);
        let ids: Vec<Uuid> = candidates.iter().map(|c| c.slot.slot_id).collect();
        let ledger = self.store.room(&ids).await?;
        let room = candidates.iter().map(|c| (c.slot.slot_id, ledger.get(&c.slot.slot_id).copied().unwrap_or(c.capacity))).collect();
        let planned = supply::plan(&bookings, &rankings, &candidates, room);
        plan.cancelled = planned.cancelled;
        let mut targets: Vec<(Slot, u32)> = planned
            .moved
            .into_iter()
            .filter_map(|(id, n)| candidates.iter().find(|c| c.slot.slot_id == id).map(|c| (c.slot.clone(), n)))
            .collect();
        for (slot, _) in &mut targets {
            if opening.contains(&slot.slot_id) {
                // Inventory names a replacement slot only when it opens.
                slot.slot_id = Uuid::nil();
            }
        }
        targets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.starts_at.cmp(&b.0.starts_at)));
        plan.targets = targets;
        Ok(plan)
    }
}
