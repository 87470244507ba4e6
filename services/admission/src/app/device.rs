//! The device key a person joins with (see `yeyak_platform::tokens::dpop`):
//! its thumbprint goes into the ticket, and every pass of that place is
//! bound to it, so a copied pass is useless without the device.
use std::sync::Arc;

use yeyak_platform::tokens::{
    dpop::{
        replay::{Replay, ReplayCache},
        thumbprint, Proof, ProofError,
    },
    sig, SignatureBatcher,
};

use super::WaitingRoom;
use crate::error::AdmissionError;

/// The method a join's device proof is made for.
pub(crate) const JOIN_METHOD: &str = "/yeyak.admission.v1.AdmissionService/JoinQueue";

/// Checks joins' device proofs: signatures in batches, each proof once.
#[derive(Clone)]
pub(crate) struct DeviceKeys {
    /// Passes must be bound: a join without a device proof is refused.
    pub(crate) required: bool,
    batcher: SignatureBatcher,
    replays: Arc<ReplayCache>,
}

impl DeviceKeys {
    pub(crate) fn new(required: bool) -> Self {
        Self { required, batcher: SignatureBatcher::shared(), replays: Arc::default() }
    }
}

impl WaitingRoom {
    /// The cheap part of a join's device proof (no signature check yet), so
    /// that the join limits, keyed by the device key, run before it.
    /// `None` without a proof where binding is optional.
    pub(super) fn device_claim<'a>(&self, proof: Option<&'a str>, now_unix: i64) -> Result<Option<DeviceClaim<'a>>, AdmissionError> {
        let Some(proof) = proof else {
            return if self.policy.device_keys.required { Err(ProofError::Missing.into()) } else { Ok(None) };
        };
        let parsed = Proof::parse(proof)?;
        let jkt = thumbprint(&parsed.x);
        parsed.check(&jkt, |htu| htu == JOIN_METHOD, None, now_unix)?;
        Ok(Some(DeviceClaim { parsed, jkt }))
    }

    /// The thumbprint the ticket will carry, once the proof's signature
    /// held and this replica has not accepted the proof before.
    pub(super) async fn device_key(&self, claim: Option<DeviceClaim<'_>>, now_unix: i64) -> Result<Option<String>, AdmissionError> {
        let Some(DeviceClaim { parsed, jkt }) = claim else { return Ok(None) };
        let keys = &self.policy.device_keys;
        // A small-order key would let anyone sign its proofs.
        let key = sig::public_key(parsed.key.into()).ok_or(ProofError::BadSignature)?;
        if !keys.batcher.verify(key, parsed.signed, parsed.signature).await {
            return Err(ProofError::BadSignature.into());
        }
        match keys.replays.first_use(&parsed.claims.jti, parsed.claims.iat, now_unix) {
            Ok(()) => Ok(Some(jkt)),
            Err(Replay::Seen) => Err(ProofError::Replayed.into()),
            Err(Replay::Full) => Err(AdmissionError::Contended),
        }
    }
}

/// A join's device proof, screened; its thumbprint is what the join limits count.
pub(super) struct DeviceClaim<'a> {
    parsed: Proof<'a>,
    pub(super) jkt: String,
}
