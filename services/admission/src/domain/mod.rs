//! Pure waiting-room rules: the opening lottery, where a ticket stands, and
//! how long it may wait.
pub mod lottery;
pub mod standing;

pub use standing::{poll_interval, standing, validate_settings, Settings, Snapshot, Standing};
