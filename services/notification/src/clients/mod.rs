//! Outbound calls: notification calls no other Yeyak service, only the SMS
//! gateway (a third party, over HTTP).
pub(crate) mod sms_gateway;

pub(crate) use sms_gateway::{SendOutcome, SmsGateway};
