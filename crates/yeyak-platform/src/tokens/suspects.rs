//! Clients that recently sent a forged signature, remembered briefly.
//!
//! A forged token that passes the cheap screening (a valid key id, a
//! canonical `s`, an `R` on the curve) costs a share of a batch and the
//! halving that finds it. A client that sent one is refused new tokens for a
//! short window without any signature check, so a bot repeating garbage pays
//! for one verification, not one per request. An honest client never sends a
//! bad signature (tokens come from our issuers; a removed key is refused as
//! an unknown key id, before any signature check), and passes it already
//! holds verified stay valid, so the window does not end a live session of
//! someone whose client id a forger copied.
use super::remembered::{digest, Remembered};

/// How long a client is refused new tokens after a forged one.
pub const DEFAULT_WINDOW_MS: i64 = 5_000;

#[derive(Debug)]
pub struct Suspects {
    until: Remembered<i64>,
    window_ms: i64,
}

impl Default for Suspects {
    fn default() -> Self {
        Self::new(16_384, DEFAULT_WINDOW_MS)
    }
}

impl Suspects {
    /// At most twice `capacity` clients are remembered (older ones are
    /// forgotten first); `window_ms` 0 remembers nobody.
    pub fn new(capacity: usize, window_ms: i64) -> Self {
        Self { until: Remembered::new(if window_ms > 0 { capacity } else { 0 }), window_ms }
    }

    fn key(client: &str) -> [u8; 32] {
        digest(&[b"suspect", client.as_bytes()])
    }

    /// `client` just sent a bad signature.
    pub fn note(&self, client: &str, now_ms: i64) {
        self.until.insert(Self::key(client), now_ms + self.window_ms);
    }

    /// Milliseconds until `client` may present new tokens again, if it is
    /// refused now.
    pub fn refused_for(&self, client: &str, now_ms: i64) -> Option<i64> {
        self.until.get(&Self::key(client)).map(|until| until - now_ms).filter(|left| *left > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_for_the_window_only_and_per_client() {
        let s = Suspects::new(4, 1_000);
        assert_eq!(s.refused_for("bot", 0), None);
        s.note("bot", 100);
        assert_eq!(s.refused_for("bot", 600), Some(500));
        assert_eq!(s.refused_for("person", 600), None);
        assert_eq!(s.refused_for("bot", 1_100), None, "the window ended");
        let off = Suspects::new(4, 0);
        off.note("bot", 0);
        assert_eq!(off.refused_for("bot", 1), None);
    }
}
