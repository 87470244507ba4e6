//! RPC handlers: `notification` serves support staff and gateways (not
//! behind the admission pass: nobody in the waiting room calls it).
pub mod notification;

pub use notification::NotificationApi;
