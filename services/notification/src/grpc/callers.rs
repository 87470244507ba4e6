//! Who is calling GetDeliveryStatus, from the call's metadata: support staff
//! by their operator token, or a person by their admission pass. Nothing
//! else gets in: no side door for a caller who shows neither.
use tonic::{metadata::MetadataMap, Status};
use yeyak_platform::{
    grpc::{PassVerifier, VerifiedPass, CLIENT_ID_HEADER, PASS_HEADER},
    operators::{OperatorIdentity, Operators, AUTHORIZATION_HEADER},
};

use crate::error::Error;

/// A verified caller; the person's identity assertion is checked by the use
/// case against this pass.
pub(super) enum Caller {
    Staff(OperatorIdentity),
    Person(VerifiedPass),
}

/// How callers prove who they are; shared by every handler of the service.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) passes: PassVerifier,
    pub(crate) operators: Operators,
}

impl Credentials {
    /// An operator token wins when both are sent: the call is then support
    /// staff's, audited as theirs. A token that does not verify is refused,
    /// never retried as a person's call.
    pub(super) fn caller(&self, metadata: &MetadataMap, now_unix: i64) -> Result<Caller, Status> {
        if metadata.contains_key(AUTHORIZATION_HEADER) {
            return self.operators.authenticate(metadata).map(Caller::Staff).map_err(|e| Error::from(e).into());
        }
        if metadata.contains_key(PASS_HEADER) || metadata.contains_key(CLIENT_ID_HEADER) {
            let method = format!("/{}/GetDeliveryStatus", yeyak_proto::notification::v1::notification_service_server::SERVICE_NAME);
            return self.passes.verify_call(metadata, &method, now_unix).map(Caller::Person);
        }
        Err(Status::unauthenticated(format!(
            "credentials required: your admission pass ({PASS_HEADER}, {CLIENT_ID_HEADER}) with identity_assertion, \
             or support staff's `{AUTHORIZATION_HEADER}: Bearer <operator token>`"
        )))
    }
}
