//! Pure waiting-room rules and value types, no I/O and no clock (the time is
//! a parameter): the opening lottery, a queue's settings and snapshot, where
//! a ticket stands and how long it may wait, and what its holder sees.
//!
//! `lottery` is public so that operators (and the integration tests) can
//! recompute a draw from the published seed; `proof` so that clients (the
//! tests, the demo) can solve a join challenge; `source` for the address
//! rules a deployment's trusted proxies are parsed with; `control` for the
//! automatic admission rate's settings, which the configuration builds.
pub mod control;
mod event;
pub mod lottery;
pub mod proof;
mod settings;
mod snapshot;
pub mod source;
mod standing;
mod view;

pub(crate) use event::{
    close_effects, create_effects, seoul, update_effects, valid_id, Effect, EventDefinition, EventPhase, InvalidEvent, People, StoredEvent,
};
pub(crate) use settings::{
    validate_difficulty, validate_floor, validate_settings, Flag, InvalidSettings, QueueDefaults, Settings, StoredSettings,
};
pub(crate) use snapshot::{Place, Snapshot};
pub(crate) use standing::{standing, Standing};
pub(crate) use view::{IssuedPass, Phase, QueueView};
