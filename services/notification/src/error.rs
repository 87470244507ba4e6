//! The use-case error `app/` returns; its mapping to gRPC status is
//! `grpc/status.rs`.

/// What can go wrong in a use case. Request validation is the handler's (it
/// knows the field names); below it only the database can fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The database cannot be reached (as opposed to a bad query), so
    /// callers get a fast, retryable UNAVAILABLE.
    #[error("database: {0}")]
    DatabaseUnreachable(sqlx::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if yeyak_platform::db::is_unreachable(&e) {
            Self::DatabaseUnreachable(e)
        } else {
            Self::Database(e)
        }
    }
}
