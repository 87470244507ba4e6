//! Who may call an operator or support API, and the record of what they did.
//!
//! Every person behind such an API is named: `YEYAK_OPERATORS` (or the file
//! `YEYAK_OPERATORS_FILE`, a mounted Secret) lists `name:role+role:token`
//! entries, so a log or an audit row says *who* paused admission, not "the
//! operator token". A caller sends `authorization: Bearer <token>`; the token
//! is hashed and compared with every listed digest in constant time
//! ([`Operators::authenticate`]), the use case checks the role it needs
//! ([`OperatorIdentity::require`]) and records the action ([`audit()`]).
//! From a file, the list is re-read when the file changes (register it with
//! [`KeyWatch`](crate::tokens::KeyWatch)): revoking a person is a Secret
//! update, not a restart.
//!
//! Outside dev mode a service that serves such an API refuses to start
//! without operators. The single `YEYAK_OPERATOR_TOKEN` of earlier releases
//! is still read, as one operator named `operator` holding every role; it is
//! deprecated (a shared token names nobody) and logged as such at start.
pub mod audit;
mod parse;
#[cfg(test)]
mod tests;

use std::{collections::BTreeSet, sync::Arc};

use arc_swap::ArcSwap;
use subtle::ConstantTimeEq as _;
use tonic::metadata::MetadataMap;

pub use audit::{audit, AuditEvent, AUDIT_TARGET};
use parse::Credential;

use crate::{
    config::{ConfigError, Env, Environment},
    tokens::reload::{KeySource, Reloadable},
    Secret,
};

/// The metadata an operator's token travels in, as `Bearer <token>`.
pub const AUTHORIZATION_HEADER: &str = "authorization";
/// The name the deprecated `YEYAK_OPERATOR_TOKEN` authenticates as.
pub const LEGACY_OPERATOR: &str = "operator";
const SETTING: &str = "YEYAK_OPERATORS";

/// What an operator may do. Each API names the one role it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read-only help for callers: delivery status of a person's SMS.
    Support,
    /// Runs the event: admission settings, pausing, draining.
    Operator,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Support, Role::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Operator => "operator",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| "unknown role (roles: support, operator)".to_owned())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated operator: only [`Operators`] makes one, so a use case
/// that takes it cannot be reached without a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorIdentity {
    name: String,
    roles: BTreeSet<Role>,
}

impl OperatorIdentity {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The role `action` needs; a refusal is logged as an audit event.
    pub fn require(&self, role: Role, action: &str) -> Result<(), AuthError> {
        if self.has(role) {
            return Ok(());
        }
        tracing::warn!(target: AUDIT_TARGET, operator = %self.name, action, needs = %role, outcome = "denied", "operator action refused");
        Err(AuthError::Forbidden { operator: self.name.clone(), role })
    }
}

/// Why a call is not an operator's. All but `Forbidden` are UNAUTHENTICATED
/// (who is asking is unknown); `Forbidden` is PERMISSION_DENIED.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no operators are configured: the operator API is disabled")]
    NotConfigured,
    #[error("missing authorization metadata: send `Bearer <operator token>`")]
    Missing,
    #[error("authorization metadata is not `Bearer <operator token>`")]
    Malformed,
    #[error("operator token not recognised")]
    Unknown,
    #[error("operator {operator} does not hold the {role} role")]
    Forbidden { operator: String, role: Role },
}

impl AuthError {
    /// PERMISSION_DENIED rather than UNAUTHENTICATED: the caller is known.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, AuthError::Forbidden { .. })
    }
}

/// The operators one service accepts. Clones share the list, so a reload
/// reaches every holder at once.
#[derive(Clone, Debug)]
pub struct Operators {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    listed: ArcSwap<Vec<Credential>>,
    /// The deprecated single token, read at start only.
    legacy: Option<Credential>,
    source: Option<KeySource>,
}

impl Operators {
    fn new(listed: Vec<Credential>, legacy: Option<Credential>, source: Option<KeySource>) -> Self {
        Self { inner: Arc::new(Inner { listed: ArcSwap::from_pointee(listed), legacy, source }) }
    }

    /// Nobody: every call is refused (dev mode without operators).
    pub fn none() -> Self {
        Self::new(Vec::new(), None, None)
    }

    /// From the secret's text (`name:role+role:token`, comma- or
    /// line-separated).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(parse::credentials(text).map_err(invalid)?, None, None))
    }

    /// `YEYAK_OPERATORS` / `YEYAK_OPERATORS_FILE`, plus the deprecated
    /// `YEYAK_OPERATOR_TOKEN`. Outside dev mode at least one is required.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        // Fingerprinted before the read, so a change during it is seen later.
        let source = match env.raw("OPERATORS_FILE") {
            Some(path) => Some(KeySource::new(SETTING, path, reload_interval(env)?)),
            None => None,
        };
        let listed = match env.secret("OPERATORS")? {
            Some(text) => parse::credentials(text.expose()).map_err(invalid)?,
            None => Vec::new(),
        };
        let legacy = env.secret("OPERATOR_TOKEN")?.map(|token| {
            tracing::warn!("YEYAK_OPERATOR_TOKEN is deprecated: list named operators in YEYAK_OPERATORS (docs/operators.md)");
            let roles = Role::ALL.into_iter().collect();
            Credential { name: LEGACY_OPERATOR.into(), roles, digest: Secret::new(parse::token_digest(token.expose())) }
        });
        if listed.is_empty() && legacy.is_none() && env.environment()? == Environment::Production {
            return Err(ConfigError::Missing {
                key: SETTING.into(),
                reason: "the operator API needs named operators (`name:role+role:token`, docs/operators.md)".into(),
            });
        }
        Ok(Self::new(listed, legacy, source))
    }

    /// The operators' names (for logs; never a token).
    pub fn names(&self) -> Vec<String> {
        let listed = self.inner.listed.load();
        listed.iter().chain(self.inner.legacy.iter()).map(|c| c.name.clone()).collect()
    }

    /// The operator whose token the call carries (`authorization: Bearer`).
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<OperatorIdentity, AuthError> {
        match metadata.get(AUTHORIZATION_HEADER).map(|v| v.to_str()) {
            None => self.authenticate_bearer(None),
            Some(Ok(value)) => self.authenticate_bearer(Some(value)),
            Some(Err(_)) => Err(AuthError::Malformed),
        }
    }

    /// The same from the header's value. Every listed digest is compared,
    /// in constant time, whichever matches: the time taken says nothing of
    /// the token or of which operator it belongs to.
    pub fn authenticate_bearer(&self, header: Option<&str>) -> Result<OperatorIdentity, AuthError> {
        let listed = self.inner.listed.load();
        let mut all = listed.iter().chain(self.inner.legacy.iter()).peekable();
        if all.peek().is_none() {
            return Err(AuthError::NotConfigured);
        }
        let value = header.ok_or(AuthError::Missing)?;
        let token = bearer(value).ok_or(AuthError::Malformed)?;
        let given = parse::token_digest(token);
        let mut found = None;
        for credential in all {
            let hit: bool = credential.digest.expose().ct_eq(&given).into();
            found = found.or(hit.then_some(credential));
        }
        let Some(credential) = found else {
            tracing::warn!(target: AUDIT_TARGET, outcome = "unknown token", "operator authentication failed");
            return Err(AuthError::Unknown);
        };
        Ok(OperatorIdentity { name: credential.name.clone(), roles: credential.roles.clone() })
    }

    /// Authenticates and checks `role` for `action` in one step.
    pub fn authorize(&self, metadata: &MetadataMap, role: Role, action: &str) -> Result<OperatorIdentity, AuthError> {
        let identity = self.authenticate(metadata)?;
        identity.require(role, action)?;
        Ok(identity)
    }
}

/// `Bearer <token>`, the scheme matched without regard to case (RFC 7235).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn invalid(reason: String) -> ConfigError {
    ConfigError::Invalid { key: SETTING.into(), reason }
}

fn reload_interval(env: &Env) -> Result<std::time::Duration, ConfigError> {
    Ok(std::time::Duration::from_millis(env.parse("KEY_RELOAD_INTERVAL_MS", 5_000)?))
}

/// Re-read from `YEYAK_OPERATORS_FILE` by [`KeyWatch`](crate::tokens::KeyWatch):
/// a file that does not parse is refused and the operators in force stay.
impl Reloadable for Operators {
    fn source(&self) -> Option<&KeySource> {
        self.inner.source.as_ref()
    }

    fn reload(&self, text: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let fresh = parse::credentials(text).map_err(invalid)?;
        if **self.inner.listed.load() == fresh {
            return Ok(None);
        }
        let names = fresh.iter().map(|c| c.name.clone()).collect();
        self.inner.listed.store(Arc::new(fresh));
        Ok(Some(names))
    }
}
