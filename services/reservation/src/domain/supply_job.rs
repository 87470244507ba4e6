//! A supply change's job as this service keeps it: started from inventory's
//! `inventory.supply_changed.v1` (its change id is the job's id), one item
//! per booking of the closed slots, and its progress.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{supply::Closing, Slot};

/// What the operator did in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobKind {
    Close,
    ChangeVaccine,
}

impl JobKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobKind::Close => "close",
            JobKind::ChangeVaccine => "change_vaccine",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "close" => Some(JobKind::Close),
            "change_vaccine" => Some(JobKind::ChangeVaccine),
            _ => None,
        }
    }
}

/// A job: what closed, and how far its bookings may move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) change_id: Uuid,
    pub(crate) kind: JobKind,
    /// The clinic of the closed slots.
    pub(crate) clinic_id: String,
    pub(crate) closing: Vec<Closing>,
    pub(crate) max_move_days: u32,
    /// The operator who made the change (their name, never a token).
    pub(crate) requested_by: String,
}

/// A job as stored, with its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobRecord {
    pub(crate) job: Job,
    /// Bookings of the closed slots when the job started.
    pub(crate) total: u32,
    pub(crate) started_at: DateTime<Utc>,
    /// `None` while items wait.
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

/// A booking that waits to be moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingItem {
    pub(crate) reservation_id: Uuid,
    pub(crate) from_slot: Uuid,
    pub(crate) dose_number: u32,
}

/// How far a job has come.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) pending: u32,
    pub(crate) moved: u32,
    pub(crate) cancelled: u32,
    /// Cancelled or moved by their holder before the job reached them.
    pub(crate) skipped: u32,
    /// Where bookings moved, most used first.
    pub(crate) targets: Vec<(Slot, u32)>,
}

/// What one item's transaction did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemOutcome {
    Moved,
    Cancelled,
    /// Another worker holds it or handled it, or its holder changed it first.
    Skipped,
    /// The target had no place left: nothing was written.
    TargetFull,
}
