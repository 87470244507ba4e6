//! RPC handlers: `notification` serves people asking about their own SMS
//! and support staff (not behind the admission-pass layer: either a pass or
//! an operator token gets in, `callers` tells which); `operator` serves the
//! operator API (operator tokens only; `operator_pb` maps its messages).
//! `status` maps use-case errors to gRPC status.
mod callers;
mod delivery_pb;
pub(crate) mod notification;
mod operator;
mod operator_pb;
mod status;

pub(crate) use callers::Credentials;
pub(crate) use notification::NotificationApi;
pub(crate) use operator::OperatorApi;
