//! Eligibility rules as data, and the decision they lead to.
pub mod decision;
pub mod rules;

pub use decision::{decide, Decision, Person, Reason};
pub use rules::{Rules, RulesError};
