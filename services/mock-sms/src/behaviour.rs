//! Gateway-level faults of the mock, beside the shared ones of
//! `yeyak_mockkit::faults` (which refuse or delay a request *before* it is
//! accepted): the faults that make failing over dangerous, because the
//! message *was* accepted and the caller cannot know it.
//!
//! - `down`: every business endpoint and `/healthz` answer 503 ("not
//!   accepted"), as a gateway in an outage does;
//! - `after_accept = late`: the message is recorded (it will be sent), then
//!   the answer is held for `late_ms`, past any sane client deadline;
//! - `after_accept = drop`: the message is recorded, then the connection is
//!   broken instead of answering;
//! - `lookup_down`: only the status lookup answers 503, so a caller cannot
//!   learn an unknown outcome until it is switched off;
//! - `accept_delay_ms`: a send is taken in only after this delay, even if
//!   its caller gave up waiting first (a send that timed out *before* the
//!   gateway processed it: a lookup meanwhile answers "absent" and voids the
//!   reference, and the late copy is then refused).
//!
//! Adjustable at run time through `GET/PUT /admin/gateway`, initially from
//! `YEYAK_SMS_DOWN`, `YEYAK_SMS_LOOKUP_DOWN`, `YEYAK_SMS_AFTER_ACCEPT`,
//! `YEYAK_SMS_LATE_MS` and `YEYAK_SMS_ACCEPT_DELAY_MS`.
use std::{str::FromStr, sync::Arc};

use axum::{body::Bytes, extract::State, Json};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use yeyak_platform::config::{ConfigError, Env};

use crate::error::{parse_json, ApiError};

/// What happens after a message is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterAccept {
    /// Answered at once (202).
    #[default]
    Answer,
    /// Answered after `late_ms`.
    Late,
    /// Never answered: the connection is broken.
    Drop,
}

impl FromStr for AfterAccept {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "answer" => Ok(Self::Answer),
            "late" => Ok(Self::Late),
            "drop" => Ok(Self::Drop),
            other => Err(format!("unknown after-accept behaviour {other:?} (answer, late or drop)")),
        }
    }
}

/// The JSON shape of `GET /admin/gateway`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    pub down: bool,
    pub lookup_down: bool,
    pub after_accept: AfterAccept,
    pub late_ms: u64,
    /// 0: sends are taken in at once.
    pub accept_delay_ms: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self { down: false, lookup_down: false, after_accept: AfterAccept::Answer, late_ms: 30_000, accept_delay_ms: 0 }
    }
}

impl Behaviour {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            down: env.parse("SMS_DOWN", false)?,
            lookup_down: env.parse("SMS_LOOKUP_DOWN", false)?,
            after_accept: env.parse("SMS_AFTER_ACCEPT", AfterAccept::Answer)?,
            late_ms: env.parse("SMS_LATE_MS", 30_000)?,
            accept_delay_ms: env.parse("SMS_ACCEPT_DELAY_MS", 0)?,
        })
    }
}

/// `PUT /admin/gateway` body: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourUpdate {
    down: Option<bool>,
    lookup_down: Option<bool>,
    after_accept: Option<AfterAccept>,
    late_ms: Option<u64>,
    accept_delay_ms: Option<u64>,
}

/// The live behaviour, shared by every handler.
#[derive(Clone, Debug, Default)]
pub struct Switches(Arc<Mutex<Behaviour>>);

impl Switches {
    pub fn new(initial: Behaviour) -> Self {
        Self(Arc::new(Mutex::new(initial)))
    }

    pub fn now(&self) -> Behaviour {
        *self.0.lock()
    }

    /// Refuses the request while the gateway is down.
    pub fn refuse_if_down(&self) -> Result<(), ApiError> {
        if self.now().down {
            return Err(ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "gateway down"));
        }
        Ok(())
    }
}

/// `GET /admin/gateway`.
pub async fn get_behaviour(State(switches): State<Switches>) -> Json<Behaviour> {
    Json(switches.now())
}

/// `PUT /admin/gateway`: changes only the fields given.
pub async fn put_behaviour(State(switches): State<Switches>, body: Bytes) -> Result<Json<Behaviour>, ApiError> {
    let update: BehaviourUpdate = parse_json(&body)?;
    let mut now = switches.0.lock();
    now.down = update.down.unwrap_or(now.down);
    now.lookup_down = update.lookup_down.unwrap_or(now.lookup_down);
    now.after_accept = update.after_accept.unwrap_or(now.after_accept);
    now.late_ms = update.late_ms.unwrap_or(now.late_ms);
    now.accept_delay_ms = update.accept_delay_ms.unwrap_or(now.accept_delay_ms);
    Ok(Json(*now))
}

/// `GET /healthz`: 503 while down (what a caller's probe should see).
pub async fn healthz(State(switches): State<Switches>) -> Result<&'static str, ApiError> {
    switches.refuse_if_down()?;
    Ok("ok")
}
