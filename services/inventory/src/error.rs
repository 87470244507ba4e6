//! Inventory's use-case error: what `app/` returns. Store errors convert into
//! it; `grpc/status.rs` maps it to a gRPC status, once.
use yeyak_platform::operators::AuthError;

use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A query input breaks a rule; the handler names the request field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("slot not found")]
    UnknownSlot,
    #[error("clinic not found")]
    UnknownClinic,
    /// Slot sizes are stored as 32-bit integers.
    #[error("capacity: is too large")]
    CapacityTooLarge,
    /// A closed slot keeps no size: it takes no booking whatever its size.
    #[error("slot {0} is closed")]
    SlotClosed(uuid::Uuid),
    /// A vaccine change to a vaccine no clinic offers is most likely a typo.
    #[error("no clinic offers vaccine {0}")]
    UnknownVaccine(String),
    /// The operator API's caller is not an operator, or lacks the role.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A database that is down or saturated is a dependency failure the caller
/// may retry; any other database error is a bug.
pub(crate) fn is_unavailable(e: &sqlx::Error) -> bool {
    yeyak_platform::db::is_unreachable(e)
}

/// Database errors of each kind, for the tests of the layers above (which
/// never name the driver).
#[cfg(test)]
pub(crate) mod samples {
    use super::InventoryError;

    pub(crate) fn unavailable() -> InventoryError {
        sqlx::Error::PoolTimedOut.into()
    }

    pub(crate) fn broken() -> InventoryError {
        sqlx::Error::RowNotFound.into()
    }
}
