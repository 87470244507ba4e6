//! RPC handlers: `check` serves CheckEligibility (validate the request, call
//! `EligibilityCheck`, map the decision to protobuf); `status` maps the
//! use-case error to a gRPC status.
mod check;
mod status;

pub(crate) use check::EligibilityApi;
