//! The challenges already used for a join: one key per challenge nonce,
//! kept until the challenge expires, so the set is bounded by the joins of
//! one challenge lifetime. No hash tag: the keys spread over a cluster.
//!
//! A Redis that loses its data forgets them too: a challenge used before the
//! loss could buy one more entry until it expires (a minute or two). That is
//! the price of not writing every join to PostgreSQL.
use std::time::Duration;

use yeyak_platform::redis_store::claim::claim;

use super::{QueueStore, StoreError};

impl QueueStore {
    /// Uses challenge `nonce` for one join; false if it was used already.
    pub(crate) async fn use_once(&self, nonce: &str, ttl: Duration) -> Result<bool, StoreError> {
        // The connection resends a call whose reply was lost; a holder drawn
        // per call tells that resend from another join with the challenge.
        let holder: [u8; 8] = rand::random();
        let holder: String = hex::encode(holder);
        Ok(claim(&self.conn, &format!("{}:admission:pow-used:{nonce}", self.prefix), &holder, ttl).await?)
    }
}
