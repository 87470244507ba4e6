//! Outbound calls: notification calls no other Yeyak service, only its SMS
//! gateways (third parties, over HTTP), each call with a deadline. The
//! gateways sit on the platform's health board (`yeyak_platform::health`,
//! the one identity routes its providers with): healthiest first, a
//! breaker and a bulkhead each.
mod classify;
pub(crate) mod sms_gateway;

use yeyak_platform::health;

pub(crate) use sms_gateway::{GatewayLimits, SmsGateway};

/// Every configured gateway with its live health.
pub(crate) type Gateways = health::Board<SmsGateway>;
