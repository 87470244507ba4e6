//! The one mapping from a use-case error to a gRPC status. Internal causes
//! are logged by `status::internal`, never sent.
use tonic::Status;
use yeyak_platform::grpc::status;

use crate::error::Error;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::DatabaseUnreachable(cause) => status::unavailable("notification database", &cause),
            Error::Database(cause) => status::internal(&cause),
        }
    }
}
