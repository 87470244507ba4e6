//! The one mapping of [`InventoryError`] to a gRPC status. Internal causes
//! are logged here, never sent; the request field a rule's rejection
//! concerns is named here, not below.
use tonic::Status;
use yeyak_platform::grpc::status;

use crate::{
    domain::{Input, Invalid},
    error::{self, InventoryError},
};

/// A supply change's scope rejected: its fields are under `scope`.
pub(super) fn in_scope(e: Invalid) -> Status {
    match e.input {
        Input::Vaccine => status::invalid_argument("scope.vaccine_code", e.reason),
        _ => InventoryError::Invalid(e).into(),
    }
}

/// The request field that carries `input` (the same name in every RPC).
fn field(input: Input) -> &'static str {
    match input {
        Input::Region => "region_code",
        Input::Vaccine => "vaccine_code",
        Input::FromDate => "from_date",
        Input::ToDate => "to_date",
        Input::PageToken => "page_token",
        Input::Date => "scope.date",
        Input::FromTime => "scope.from_local_time",
        Input::ToTime => "scope.to_local_time",
        Input::MoveDays => "max_move_days",
    }
}

impl From<InventoryError> for Status {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Invalid(Invalid { input, reason }) => status::invalid_argument(field(input), reason),
            InventoryError::UnknownSlot => Status::not_found("slot not found"),
            InventoryError::UnknownClinic => Status::not_found("clinic not found"),
            InventoryError::CapacityTooLarge => status::invalid_argument("capacity", "is too large"),
            e @ InventoryError::SlotClosed(_) => Status::failed_precondition(e.to_string()),
            InventoryError::UnknownVaccine(v) => status::invalid_argument("new_vaccine_code", format!("no clinic offers {v}")),
            InventoryError::Unauthorized(e) if e.is_forbidden() => Status::permission_denied(e.to_string()),
            InventoryError::Unauthorized(e) => Status::unauthenticated(e.to_string()),
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
        assert_eq!(Status::from(InventoryError::SlotClosed(uuid::Uuid::nil())).code(), tonic::Code::FailedPrecondition);
        let s = in_scope(Invalid { input: Input::Vaccine, reason: "bad".into() });
        assert_eq!(status::field_violations(&s), vec!["scope.vaccine_code"]);
        let s = in_scope(Invalid { input: Input::Date, reason: "bad".into() });
        assert_eq!(status::field_violations(&s), vec!["scope.date"]);
        let denied =
            yeyak_platform::operators::AuthError::Forbidden { operator: "kim".into(), role: yeyak_platform::operators::Role::Operator };
        assert_eq!(Status::from(InventoryError::from(denied)).code(), tonic::Code::PermissionDenied);
        let unknown = yeyak_platform::operators::AuthError::Unknown;
        assert_eq!(Status::from(InventoryError::from(unknown)).code(), tonic::Code::Unauthenticated);
        assert_eq!(Status::from(samples::unavailable()).code(), tonic::Code::Unavailable);
        let internal = Status::from(samples::broken());
        assert_eq!(internal.code(), tonic::Code::Internal);
        assert!(!internal.message().contains("no rows"), "causes are logged, not sent");
    }
}
