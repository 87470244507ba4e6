//! The device proof a bound pass needs on every call (see
//! [`crate::tokens::dpop`]). A pass without `cnf` needs none: only admission
//! mints passes, and it binds every pass once device keys are required.
//! The proof's signature joins the same batches as new passes' signatures,
//! so a call with a remembered pass costs one batched signature check.
use std::time::Duration;

use tonic::Status;

use super::{PassVerifier, VerifiedPass};
use crate::tokens::{
    dpop::{replay::Replay, Proof, ProofError},
    sig,
};

impl PassVerifier {
    /// Checks the call's proof against the pass, its signature in a batch.
    pub(super) async fn check_proof(
        &self,
        verified: VerifiedPass,
        proof: Option<&str>,
        method: &str,
        now_unix: i64,
    ) -> Result<VerifiedPass, Status> {
        let Some((parsed, forwarded)) = self.screen_proof(&verified, proof, method, now_unix)? else {
            return Ok(verified);
        };
        // The key is the pass's (its thumbprint matched), which admission
        // checked at the join: decompressed once, in the batch.
        if !self.batcher.verify_bytes(parsed.key, parsed.signed, parsed.signature).await {
            return Err(refused(ProofError::BadSignature));
        }
        self.accepted(verified, &parsed, forwarded, proof, now_unix)
    }

    /// [`Self::check_proof`] with the signature checked alone, at once.
    pub(super) fn check_proof_now(
        &self,
        verified: VerifiedPass,
        proof: Option<&str>,
        method: &str,
        now_unix: i64,
    ) -> Result<VerifiedPass, Status> {
        let Some((parsed, forwarded)) = self.screen_proof(&verified, proof, method, now_unix)? else {
            return Ok(verified);
        };
        let held =
            sig::public_key(parsed.key.into()).is_some_and(|key| sig::verify_one(&key, parsed.signed, &parsed.signature.signature()));
        if !held {
            return Err(refused(ProofError::BadSignature));
        }
        self.accepted(verified, &parsed, forwarded, proof, now_unix)
    }

    /// Everything but the signature; `None` when the pass is not bound. The
    /// flag says the proof was made for a call that forwarded it here.
    fn screen_proof<'a>(
        &self,
        verified: &VerifiedPass,
        proof: Option<&'a str>,
        method: &str,
        now_unix: i64,
    ) -> Result<Option<(Proof<'a>, bool)>, Status> {
        let Some(cnf) = &verified.pass.cnf else {
            return Ok(None);
        };
        let parsed = Proof::parse(proof.ok_or_else(|| refused(ProofError::Missing))?).map_err(refused)?;
        let forwarded = parsed.claims.htu != method && self.forwarded_from.contains(&parsed.claims.htu);
        parsed.check(&cnf.jkt, |htu| htu == method || forwarded, Some(&verified.token), now_unix).map_err(refused)?;
        Ok(Some((parsed, forwarded)))
    }

    /// A proof whose signature held: refused if this replica accepted it
    /// before. A forwarded proof was counted by the service it was made for
    /// (which may retry its call here), so it is not counted again.
    fn accepted(
        &self,
        mut verified: VerifiedPass,
        parsed: &Proof<'_>,
        forwarded: bool,
        proof: Option<&str>,
        now_unix: i64,
    ) -> Result<VerifiedPass, Status> {
        if !forwarded {
            match self.replays.first_use(&parsed.claims.jti, parsed.claims.iat, now_unix) {
                Ok(()) => {}
                Err(Replay::Seen) => return Err(refused(ProofError::Replayed)),
                Err(Replay::Full) => {
                    return Err(crate::grpc::status::unavailable_for(
                        "too many device proofs on this replica: retry shortly",
                        Duration::from_secs(1),
                    ))
                }
            }
        }
        verified.proof = proof.map(str::to_owned);
        Ok(verified)
    }
}

fn refused(e: ProofError) -> Status {
    Status::unauthenticated(e.to_string())
}
