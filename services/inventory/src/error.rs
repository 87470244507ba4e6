//! Inventory's errors and their one mapping to gRPC status.
use tonic::Status;
use yeyak_platform::grpc::status;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl InventoryError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument { field, reason: reason.into() }
    }
}

impl From<InventoryError> for Status {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            InventoryError::NotFound(what) => Status::not_found(format!("{what} not found")),
            // A database that is down or saturated is a dependency failure the
            // caller may retry; anything else is a bug and gets an error id.
            InventoryError::Database(e) if is_unavailable(&e) => status::unavailable("inventory database", &e),
            InventoryError::Database(e) => status::internal(&e),
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // Class 08 (connection exception), 53 (insufficient resources), 57P0x (shutdown).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_kind_once() {
        let s: Status = InventoryError::invalid("region_code", "bad").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(status::field_violations(&s), vec!["region_code"]);
        assert_eq!(Status::from(InventoryError::NotFound("slot")).code(), tonic::Code::NotFound);
        assert_eq!(Status::from(InventoryError::Database(sqlx::Error::PoolTimedOut)).code(), tonic::Code::Unavailable);
        let internal = Status::from(InventoryError::Database(sqlx::Error::RowNotFound));
        assert_eq!(internal.code(), tonic::Code::Internal);
        assert!(!internal.message().contains("no rows"), "causes are logged, not sent");
    }
}
