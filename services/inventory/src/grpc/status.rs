//! The one mapping of [`InventoryError`] to a gRPC status. Internal causes
//! are logged here, never sent; the request field a rule's rejection
//! concerns is named here, not below.
use tonic::Status;
use yeyak_platform::grpc::status;

use crate::{
    domain::{Input, Invalid},
    error::{self, InventoryError},
};

/// The request field that carries `input` (the same name in every RPC).
fn field(input: Input) -> &'static str {
    match input {
        Input::Region => "region_code",
        Input::Vaccine => "vaccine_code",
        Input::FromDate => "from_date",
        Input::ToDate => "to_date",
        Input::PageToken => "page_token",
    }
}

impl From<InventoryError> for Status {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Invalid(Invalid { input, reason }) => status::invalid_argument(field(input), reason),
            InventoryError::UnknownSlot => Status::not_found("slot not found"),
            InventoryError::UnknownClinic => Status::not_found("clinic not found"),
            InventoryError::CapacityTooLarge => status::invalid_argument("capacity", "is too large"),
            InventoryError::Database(cause) if error::is_unavailable(&cause) => status::unavailable("inventory database", &cause),
            InventoryError::Database(cause) => status::internal(&cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::samples;

    #[test]
    fn maps_each_kind_once() {
        let s: Status = InventoryError::from(Invalid { input: Input::Region, reason: "bad".into() }).into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(status::field_violations(&s), vec!["region_code"]);
        assert_eq!(Status::from(InventoryError::UnknownSlot).code(), tonic::Code::NotFound);
        assert_eq!(Status::from(samples::unavailable()).code(), tonic::Code::Unavailable);
        let internal = Status::from(samples::broken());
        assert_eq!(internal.code(), tonic::Code::Internal);
        assert!(!internal.message().contains("no rows"), "causes are logged, not sent");
    }
}
