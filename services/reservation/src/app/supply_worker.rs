//! The workers of supply-change jobs, in every replica: each takes a chunk
//! of a running job's pending items and moves them one transaction at a time
//! (`store::supply_move`), the best equivalent slot with a place first, or
//! cancels one that has none. Workers share nothing but the database: items
//! are claimed with `SKIP LOCKED`, so replicas (and a restarted process)
//! continue each other's jobs. What one worker learns about a job (its
//! candidates, ranked per closed slot; the targets it found full; the ledger
//! rows it created) lives in memory for the job's life here.
use std::{
    collections::{hash_map::Entry, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use uuid::Uuid;
use yeyak_platform::Shutdown;

use super::{now, supply::SupplyChanges};
use crate::{
    domain::{
        supply::{self, Candidate},
        supply_job::{ItemOutcome, Job, PendingItem},
    },
    error::{ClientError, ReservationError},
    events,
};

/// Candidate slots asked for at most (inventory's own bound).
pub(crate) const MAX_CANDIDATES: u32 = 10_000;
/// Items read per chunk: a restart re-reads at most this many done ones.
const CHUNK: i64 = 256;
/// How often an idle worker looks for jobs other replicas started.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Back-off after a failure (the database or the catalogue is away).
const RETRY: Duration = Duration::from_secs(2);

/// What one worker knows about one job.
struct JobMemory {
    candidates: Vec<Candidate>,
    /// Candidate indices, best first, per closed slot and dose kind.
    rankings: supply::Rankings,
    /// Targets found without a place (a full slot stays full for a job:
    /// the closure it serves only takes places).
    full: HashSet<Uuid>,
    /// Targets whose ledger row exists.
    ledgers: HashSet<Uuid>,
}

impl SupplyChanges {
    /// Runs worker `lane` of `lanes` until `shutdown`; an item in flight
    /// finishes (or rolls back) first. Lanes start their chunk at different
    /// places, so the workers of a replica rarely reach for the same item.
    pub(crate) async fn work_until_stopped(self: Arc<Self>, (lane, lanes): (usize, usize), shutdown: Shutdown) {
        let _running = shutdown.track("supply change worker");
        let mut memory: HashMap<Uuid, JobMemory> = HashMap::new();
        while !shutdown.is_triggered() {
            let pause = match self.work_once(&mut memory, (lane, lanes), &shutdown).await {
                Ok(true) => continue,
                Ok(false) => IDLE_POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "supply change worker: will retry");
                    RETRY
                }
            };
            tokio::select! {
                () = shutdown.wait() => break,
                () = self.work.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One chunk of the oldest running job with pending items that moves;
    /// `false` when nothing moved (nothing to do, or only items other
    /// workers hold or that fail: the worker then pauses instead of spinning).
    async fn work_once(
        &self,
        memory: &mut HashMap<Uuid, JobMemory>,
        (lane, lanes): (usize, usize),
        shutdown: &Shutdown,
    ) -> Result<bool, ReservationError> {
        let running = self.store.running_jobs().await?;
        memory.retain(|id, _| running.iter().any(|r| r.job.change_id == *id));
        for record in running {
            let job = record.job;
            let mut items = self.store.pending_items(job.change_id, CHUNK).await?;
            if items.is_empty() {
                if self.store.finish_job(job.change_id, now()).await? {
                    tracing::info!(change_id = %job.change_id, "supply change done");
                }
                continue;
            }
            let known = match memory.entry(job.change_id) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(unknown) => match self.learn(&job).await {
                    Ok(learnt) => unknown.insert(learnt),
                    Err(e) if passing(&e) => return Err(e),
                    // A job the catalogue refuses must not hold up the jobs after it.
                    Err(e) => {
                        tracing::error!(error = %e, change_id = %job.change_id, "supply change: candidates refused; the job waits");
                        continue;
                    }
                },
            };
            let start = lane * items.len() / lanes.max(1);
            items.rotate_left(start);
            let mut progressed = false;
            for item in items {
                if shutdown.is_triggered() {
                    break;
                }
                match self.handle(&job, known, item).await {
                    Ok(outcome) => progressed |= matches!(outcome, ItemOutcome::Moved | ItemOutcome::Cancelled),
                    Err(e) if passing(&e) => return Err(e),
                    // One broken booking must not hold the job up: it stays pending, named here.
                    Err(e) => {
                        tracing::error!(error = %e, change_id = %job.change_id, reservation_id = %item.reservation_id, "supply change: booking left pending")
                    }
                }
            }
            if progressed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The job's candidates from the catalogue, ranked per closed slot.
    async fn learn(&self, job: &Job) -> Result<JobMemory, ReservationError> {
        let now = now();
        let clinic = job.clinic_id.parse::<Uuid>().map_err(|_| ReservationError::Invariant(format!("clinic id {:?}", job.clinic_id)))?;
        let (candidates, rankings) = match supply::candidate_window(&job.closing, job.max_move_days, now) {
            None => (Vec::new(), supply::Rankings::new()),
            Some(window) => {
                let allowed = supply::allowed_vaccines(job.closing.iter().map(|c| c.vaccine_code.as_str()));
                let found = self.catalog.candidates(clinic, allowed, window, MAX_CANDIDATES).await?;
                let rankings = supply::rankings(&job.closing, &found.home, &found.slots, job.max_move_days, now);
                (found.slots, rankings)
            }
        };
        tracing::info!(change_id = %job.change_id, candidates = candidates.len(), "supply change: candidates loaded");
        Ok(JobMemory { candidates, rankings, full: HashSet::new(), ledgers: HashSet::new() })
    }

    /// Moves one item to its best target with a place, or cancels it.
    async fn handle(&self, job: &Job, known: &mut JobMemory, item: PendingItem) -> Result<ItemOutcome, ReservationError> {
        loop {
            let target = known
                .rankings
                .get(&(item.from_slot, supply::later_only(item.dose_number)))
                .into_iter()
                .flatten()
                .map(|&i| &known.candidates[i])
                // Ranked when the job was learnt: a slot that has come too close since is not offered.
                .find(|c| !known.full.contains(&c.slot.slot_id) && c.slot.starts_at >= now() + supply::MIN_NOTICE);
            let outcome = match target {
                None => self.store.cancel_item(job.change_id, item, now(), |r| events::cancelled_by_supply(r, job.change_id)).await?,
                Some(target) => {
                    if !known.ledgers.contains(&target.slot.slot_id) {
                        self.store.ensure_ledger(&target.slot, target.capacity).await?;
                        known.ledgers.insert(target.slot.slot_id);
                    }
                    let event = |old: &_, new: &_| events::moved_by_supply(old, new, job.change_id);
                    let outcome = self.store.move_item(job.change_id, item, &target.slot, now(), event).await?;
                    if outcome == ItemOutcome::TargetFull {
                        known.full.insert(target.slot.slot_id);
                        continue;
                    }
                    outcome
                }
            };
            if matches!(outcome, ItemOutcome::Moved | ItemOutcome::Cancelled) {
                self.relay.notify_one();
            }
            return Ok(outcome);
        }
    }
}

/// Trouble that passes (the database or the catalogue away, a conflict):
/// the worker backs off and the item is tried again.
fn passing(e: &ReservationError) -> bool {
    matches!(
        e,
        ReservationError::DatabaseUnreachable(_)
            | ReservationError::Conflict(_)
            | ReservationError::Dependency(ClientError::Unavailable { .. })
    )
}
