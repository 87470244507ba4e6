//! RPC handlers: `notification` serves people asking about their own SMS
//! and support staff (not behind the admission-pass layer: either a pass or
//! an operator token gets in, `callers` tells which). `status` maps use-case
//! errors to gRPC status.
mod callers;
pub(crate) mod notification;
mod status;

pub(crate) use callers::Credentials;
pub(crate) use notification::NotificationApi;
