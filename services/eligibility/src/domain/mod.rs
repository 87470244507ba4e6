//! Eligibility rules as data, and the decision they lead to. Pure: no I/O,
//! every instant in Asia/Seoul.
pub mod calendar;
pub mod decision;
pub mod rules;

pub use decision::{decide, explain, precheck, Decision, Facts, Person, Reason, WindowView};
pub use rules::{Rules, RulesError};
