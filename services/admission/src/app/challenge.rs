//! The proof of work a queue may ask before a new entry (`domain::proof`):
//! issuing a challenge and checking a solution.
//!
//! A challenge is a token signed with the ticket keys (HMAC: admission is
//! its only reader), carrying the queue, the difficulty, a random nonce and
//! a short expiry. Checking a solution costs one HMAC and one SHA-256 on the
//! server, whatever the difficulty. Each challenge buys one entry: its nonce
//! is recorded in Redis (shared by every replica) until the challenge
//! expires, and a second join with it is refused.
use serde::{Deserialize, Serialize};
use yeyak_platform::tokens::{self, Issuer, TokenClaims};

use super::{now_ms, WaitingRoom};
use crate::{
    domain::{proof, Settings},
    error::{AdmissionError, ProofFault},
};

/// A challenge token's claims.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct JoinChallenge {
    #[serde(rename = "q")]
    queue_id: String,
    /// Leading zero bits asked for.
    #[serde(rename = "d")]
    bits: u8,
    /// 128 random bits: what makes the challenge single-use.
    #[serde(rename = "n")]
    nonce: String,
    #[serde(rename = "iat")]
    issued_at: i64,
    #[serde(rename = "exp")]
    expires_at: i64,
}

impl TokenClaims for JoinChallenge {
    const TYPE: &'static str = "join-challenge";
    const ISSUER: Issuer = Issuer::Admission;
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// What a client must solve before joining; `bits` 0 asks for nothing.
#[derive(Clone, Debug)]
pub(crate) struct IssuedChallenge {
    pub(crate) token: String,
    pub(crate) bits: u8,
    pub(crate) expires_at: i64,
}

/// A solution as the client sent it.
#[derive(Clone, Debug)]
pub(crate) struct Proof {
    pub(crate) challenge: String,
    pub(crate) counter: u64,
}

impl WaitingRoom {
    /// A fresh challenge for `queue` at its difficulty (no token at 0).
    pub(crate) async fn challenge(&self, queue: &str) -> Result<IssuedChallenge, AdmissionError> {
        let bits = self.proof_bits(queue).await?;
        let now = now_ms() / 1000;
        let expires_at = now + self.guard.rules().challenge_ttl.as_secs().max(1) as i64;
        if bits == 0 {
            return Ok(IssuedChallenge { token: String::new(), bits, expires_at });
        }
        let nonce: [u8; 16] = rand::random();
        let claims = JoinChallenge { queue_id: queue.to_owned(), bits, nonce: hex::encode(nonce), issued_at: now, expires_at };
        Ok(IssuedChallenge { token: tokens::sign_hmac(&self.policy.ticket_keys, &claims), bits, expires_at })
    }

    /// The difficulty `queue` asks for now: the operator's, shared by every
    /// replica (read through the snapshot, ≤ 100 ms old), else the deployment's.
    pub(crate) async fn proof_bits(&self, queue: &str) -> Result<u8, AdmissionError> {
        let defaults = self.known_queue(queue)?;
        let snap = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        Ok(self.difficulty(queue, &snap.settings))
    }

    /// The difficulty in force given a queue's shared settings.
    pub(super) fn difficulty(&self, queue: &str, settings: &Settings) -> u8 {
        settings.pow_bits.unwrap_or_else(|| self.event(queue).map_or(0, |e| e.stored.def.pow_bits))
    }

    /// Checks `proof` for a new entry of `client_key` in `queue`, and uses
    /// its challenge up. Nothing to check when the queue asks for no work.
    pub(super) async fn check_proof(&self, queue: &str, client_key: &str, proof: Option<&Proof>) -> Result<(), AdmissionError> {
        let bits = self.proof_bits(queue).await?;
        if bits == 0 {
            return Ok(());
        }
        let proof = proof.ok_or(AdmissionError::ProofRequired { bits })?;
        let now = now_ms() / 1000;
        let claims: JoinChallenge =
            tokens::verify_hmac(&self.policy.ticket_keys, &proof.challenge, now).map_err(|e| ProofFault::Challenge(e.to_string()))?;
        if claims.queue_id != queue {
            return Err(ProofFault::OtherQueue.into());
        }
        // A challenge issued before the operator raised the difficulty is stale.
        if claims.bits < bits {
            return Err(ProofFault::Weaker { asked: bits }.into());
        }
        if !proof::meets(&proof.challenge, client_key, proof.counter, claims.bits) {
            return Err(ProofFault::Unsolved.into());
        }
        let left = std::time::Duration::from_secs(u64::try_from(claims.expires_at - now).unwrap_or(0).max(1));
        if !self.store.use_once(&claims.nonce, left).await? {
            return Err(ProofFault::Used.into());
        }
        Ok(())
    }
}
