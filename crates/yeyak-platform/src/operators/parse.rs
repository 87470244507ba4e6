//! The operators secret's text: one credential per entry,
//! `name:role+role:token`, entries separated by commas or line breaks
//! (a mounted file reads naturally one per line, an environment variable
//! one per comma). Only a digest of each token is kept.
use std::collections::{BTreeSet, HashSet};

use sha2::{Digest as _, Sha256};

use super::Role;
use crate::Secret;

/// Shortest token accepted from `YEYAK_OPERATORS`: 128 bits of base64 or
/// hex. The deprecated single token is not held to it (it predates it).
pub(crate) const MIN_TOKEN_LEN: usize = 22;

/// One way in: an operator's name, what they may do and the digest of one of
/// their tokens. An operator listed twice has two tokens (a rotation: add
/// the new one, hand it out, remove the old one).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub(crate) name: String,
    pub(crate) roles: BTreeSet<Role>,
    /// SHA-256 of the token: compared in constant time, and of fixed length,
    /// so neither a token's bytes nor its length shows in the timing.
    pub(crate) digest: Secret<[u8; 32]>,
}

/// Never prints the digest.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("name", &self.name).field("roles", &self.roles).finish_non_exhaustive()
    }
}

pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Parses the whole secret; an error names the entry by its position (and
/// its operator name once known), never by its token.
pub(crate) fn credentials(text: &str) -> Result<Vec<Credential>, String> {
    let mut seen_tokens = HashSet::new();
    let mut out = Vec::new();
    let entries = text.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#'));
    for (i, entry) in entries.enumerate() {
        let credential = credential(entry).map_err(|why| format!("entry {}: {why}", i + 1))?;
        if !seen_tokens.insert(*credential.digest.expose()) {
            return Err(format!("entry {} ({}): the same token is listed twice", i + 1, credential.name));
        }
        out.push(credential);
    }
    if out.is_empty() {
        return Err("lists no operator (expected `name:role+role:token` entries)".into());
    }
    Ok(out)
}

fn credential(entry: &str) -> Result<Credential, String> {
    let mut parts = entry.splitn(3, ':');
    let (Some(name), Some(roles), Some(token)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected `name:role+role:token`".into());
    };
    let name = operator_name(name)?;
    let roles = roles.split('+').map(|r| Role::parse(r.trim()).map_err(|e| format!("{name}: {e}"))).collect::<Result<BTreeSet<_>, _>>()?;
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!("{name}: the token must have at least {MIN_TOKEN_LEN} characters"));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name}: the token must not contain spaces or control characters"));
    }
    Ok(Credential { name: name.to_owned(), roles, digest: Secret::new(token_digest(token)) })
}

/// Names go into audit records and logs: short, plain, unambiguous.
fn operator_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.len() > 64 || !name.chars().all(plain) {
        // The value is not echoed: in a garbled entry it may be a token.
        return Err("the operator name must be 1-64 characters of a-z, A-Z, 0-9, '.', '_', '-', '@'".into());
    }
    Ok(name)
}
