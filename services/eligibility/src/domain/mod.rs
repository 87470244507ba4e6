//! Eligibility rules as data, the decision they lead to, and the value types
//! the layers hand each other. Pure: no I/O, every instant in Asia/Seoul,
//! the time always a parameter.
mod batching;
mod booking;
pub mod calendar;
pub mod decision;
pub(crate) mod parties;
pub mod rules;

pub use batching::BatchSettings;
pub use booking::BookingEvent;
pub use decision::{decide, explain, precheck, Decision, Facts, Person, Reason, WindowView};
pub use rules::{Rules, RulesError};
