//! The one mapping from a use-case error to a gRPC status. A typed error
//! that a request field caused names that field here; internal causes are
//! logged by `status::unavailable`, never sent.
use tonic::Status;
use yeyak_platform::{grpc::status, tokens::TokenError};

use crate::{domain::InvalidSettings, error::AdmissionError};

impl From<AdmissionError> for Status {
    fn from(e: AdmissionError) -> Self {
        match e {
            AdmissionError::NoQueue => status::invalid_argument("queue_id", "is required"),
            AdmissionError::UnknownQueue(q) => Status::not_found(format!("unknown queue {q}")),
            AdmissionError::BadTicket(TokenError::Expired) => Status::unauthenticated("ticket expired: join again"),
            AdmissionError::BadTicket(t) => Status::unauthenticated(format!("ticket rejected: {t}")),
            AdmissionError::WrongClient => Status::permission_denied("ticket belongs to another client"),
            AdmissionError::TicketForAnotherQueue => status::invalid_argument("existing_ticket", "is for another queue"),
            AdmissionError::Closed => Status::failed_precondition("the line is closed to new arrivals"),
            AdmissionError::NotAdmitted => Status::failed_precondition("this ticket has not been admitted yet"),
            AdmissionError::Unauthenticated => Status::unauthenticated("operator bearer token required"),
            AdmissionError::InvalidSettings(invalid) => status::invalid_argument(settings_field(invalid), invalid.to_string()),
            AdmissionError::Store(e) => status::unavailable("queue store", &e),
        }
    }
}

/// The `SetAdmissionSettingsRequest` field an invalid setting came in.
fn settings_field(invalid: InvalidSettings) -> &'static str {
    match invalid {
        InvalidSettings::Rate => "admission_rate_per_second",
        InvalidSettings::MaxActive => "max_active_sessions",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate_settings;

    #[test]
    fn settings_validation_names_fields() {
        let field =
            |rate, max_active| status::field_violations(&AdmissionError::from(validate_settings(rate, max_active).unwrap_err()).into());
        assert_eq!(field(0.0, 1), vec!["admission_rate_per_second"]);
        assert_eq!(field(1.0, 0), vec!["max_active_sessions"]);
        assert!(validate_settings(10.0, 5).is_ok());
    }
}
