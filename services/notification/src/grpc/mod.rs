//! RPC handlers: `notification` serves support staff and gateways (not
//! behind the admission pass: nobody in the waiting room calls it).
//! `status` maps use-case errors to gRPC status.
pub(crate) mod notification;
mod status;

pub(crate) use notification::NotificationApi;
