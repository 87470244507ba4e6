//! Notification's errors and their one mapping to gRPC status.
use tonic::Status;
use yeyak_platform::grpc::status;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl NotificationError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument { field, reason: reason.into() }
    }
}

/// True when the database cannot be reached (as opposed to a bad query), so
/// callers get a fast, retryable UNAVAILABLE.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed)
}

impl From<NotificationError> for Status {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            NotificationError::Database(e) if is_unreachable(&e) => status::unavailable("notification database", &e),
            NotificationError::Database(e) => status::internal(&e),
        }
    }
}
