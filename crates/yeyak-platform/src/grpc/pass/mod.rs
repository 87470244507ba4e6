//! The one admission-pass check every RPC behind the waiting room goes
//! through. Only the signed pass and the client id it is bound to are trusted:
//! no header such as Referer and no client-declared flag counts.
use std::{collections::HashSet, sync::Arc};

use tonic::{codegen::http, metadata::MetadataMap, Request, Status};

use crate::sessions::{EndedSessions, SessionState};
use crate::tokens::{
    self, client_binding,
    dpop::{replay::ReplayCache, PROOF_HEADER},
    remembered::{digest, Key, DEFAULT_REMEMBERED},
    suspects::Suspects,
    AdmissionPass, KeyRing, Remembered, SignatureBatcher, TokenError,
};

pub const PASS_HEADER: &str = "yeyak-admission-pass";
pub const CLIENT_ID_HEADER: &str = "yeyak-client-id";

/// The verified pass, put in the request extensions for handlers.
#[derive(Clone, Debug)]
pub struct VerifiedPass {
    pub pass: AdmissionPass,
    /// The raw token, forwarded on calls this RPC makes to other services.
    pub token: String,
    pub client_id: String,
    /// This call's device proof, forwarded with the pass (see [`proof`]).
    pub proof: Option<String>,
}

impl VerifiedPass {
    /// Copies the caller's pass and client id onto an outbound request, with
    /// the current trace context unless the request carries one already (a
    /// client span's, which must stay the parent of the server's span).
    pub fn forward<T>(&self, mut request: Request<T>) -> Request<T> {
        if let (Ok(p), Ok(c)) = (self.token.parse(), self.client_id.parse()) {
            request.metadata_mut().insert(PASS_HEADER, p);
            request.metadata_mut().insert(CLIENT_ID_HEADER, c);
        }
        if let Some(Ok(p)) = self.proof.as_deref().map(str::parse) {
            request.metadata_mut().insert(PROOF_HEADER, p);
        }
        if !request.metadata().contains_key("traceparent") {
            crate::telemetry::inject_traceparent(&mut request);
        }
        request
    }
}

/// Verifies admission passes for the queues this deployment serves.
///
/// A front end calls several times with the same pass, and one Ed25519
/// verification costs more than the rest of a typical call, so a pass that
/// verified is remembered (see [`Remembered`]), keyed by a digest of the
/// exact token and client id: nothing that was not verified can match,
/// another client is verified in full (and refused), and expiry is checked
/// on every call. Servers check passes in [`PassLayer`](super::pass_layer::PassLayer),
/// where new passes' signatures are checked in batches across requests.
#[derive(Clone, Debug)]
pub struct PassVerifier {
    ring: Arc<KeyRing>,
    queues: Arc<HashSet<String>>,
    remembered: Arc<Remembered<VerifiedPass>>,
    batcher: SignatureBatcher,
    /// Clients that sent a forged pass a moment ago: refused new passes
    /// without a signature check for a few seconds (see [`Suspects`]).
    suspects: Arc<Suspects>,
    /// Sessions admission ended: their passes die with their seats.
    ended: EndedSessions,
    /// Device proofs accepted by this replica (see [`proof`]).
    replays: Arc<ReplayCache>,
    /// Methods of other services whose calls forward their pass and proof
    /// here (reservation's CreateReservation to eligibility).
    forwarded_from: Arc<HashSet<String>>,
}

impl PassVerifier {
    pub fn new(ring: KeyRing, queues: impl IntoIterator<Item = String>) -> Self {
        Self {
            ring: Arc::new(ring),
            queues: Arc::new(queues.into_iter().collect()),
            remembered: Arc::new(Remembered::new(DEFAULT_REMEMBERED)),
            batcher: SignatureBatcher::shared(),
            suspects: Arc::new(Suspects::default()),
            ended: EndedSessions::off(),
            replays: Arc::new(ReplayCache::default()),
            forwarded_from: Arc::new(HashSet::new()),
        }
    }

    /// Also accepts device proofs made for these methods of another service,
    /// whose calls forward the pass and proof here.
    pub fn accepting_forwarded_from(mut self, methods: impl IntoIterator<Item = String>) -> Self {
        self.forwarded_from = Arc::new(methods.into_iter().collect());
        self
    }

    /// Refuses the passes of sessions that `ended` reports ended, and every
    /// pass while it cannot tell (see [`crate::sessions`]).
    pub fn with_ended_sessions(mut self, ended: EndedSessions) -> Self {
        self.ended = ended;
        self
    }

    /// The same verifier with its own batcher and forgery window (benchmarks, tests).
    pub fn with_batcher(mut self, batcher: SignatureBatcher, suspects: Suspects) -> Self {
        self.batcher = batcher;
        self.suspects = Arc::new(suspects);
        self
    }

    /// The check of a call to `method` (its gRPC path) one at a time, for
    /// callers outside a server.
    pub fn verify_call(&self, metadata: &MetadataMap, method: &str, now_unix: i64) -> Result<VerifiedPass, Status> {
        let value = |name: &str| metadata.get(name).map(|v| v.to_str().map_err(|_| ()));
        let (token, client_id) = (header(value(PASS_HEADER), PASS_HEADER)?, header(value(CLIENT_ID_HEADER), CLIENT_ID_HEADER)?);
        let proof = value(PROOF_HEADER).and_then(Result::ok);
        let key = self.digest(token, client_id);
        let verified = match self.remembered_pass(&key, now_unix) {
            Some(hit) => hit,
            None => {
                let pass = tokens::verify(&self.ring, token, now_unix).map_err(rejected)?;
                self.admit(key, pass, token, client_id)?
            }
        };
        let verified = self.live(verified)?;
        self.check_proof_now(verified, proof, method, now_unix)
    }

    /// The pass alone, as for a call to no method: a pass bound to a device
    /// key is refused here (tools and tests of unbound passes).
    pub fn verify_metadata(&self, metadata: &MetadataMap, now_unix: i64) -> Result<VerifiedPass, Status> {
        self.verify_call(metadata, "", now_unix)
    }

    /// The check a server makes on each request's headers; a new pass's
    /// signature, and the device proof's, wait for the batch they join.
    pub async fn verify_headers(&self, headers: &http::HeaderMap, method: &str, now_unix: i64) -> Result<VerifiedPass, Status> {
        let value = |name: &str| headers.get(name).map(|v| v.to_str().map_err(|_| ()));
        let (token, client_id) = (header(value(PASS_HEADER), PASS_HEADER)?, header(value(CLIENT_ID_HEADER), CLIENT_ID_HEADER)?);
        let proof = value(PROOF_HEADER).and_then(Result::ok);
        let verified = self.pass_of(token, client_id, now_unix).await?;
        let verified = self.live(verified)?;
        self.check_proof(verified, proof, method, now_unix).await
    }

    /// The verified pass of `token`, from memory or checked in a batch.
    async fn pass_of(&self, token: &str, client_id: &str, now_unix: i64) -> Result<VerifiedPass, Status> {
        let key = self.digest(token, client_id);
        if let Some(hit) = self.remembered_pass(&key, now_unix) {
            return Ok(hit);
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Some(left_ms) = self.suspects.refused_for(client_id, now_ms) {
            return Err(super::status::unauthenticated_for(
                "this client sent a forged admission pass: its new passes are refused for a few seconds",
                std::time::Duration::from_millis(left_ms.unsigned_abs()),
            ));
        }
        let pass = match tokens::verify_batched(&self.ring, &self.batcher, token, now_unix).await {
            Err(TokenError::BadSignature) => {
                self.suspects.note(client_id, now_ms);
                return Err(rejected(TokenError::BadSignature));
            }
            other => other.map_err(rejected)?,
        };
        self.admit(key, pass, token, client_id)
    }

    /// A verified pass of an event served here (open, by the catalog of
    /// booking events; else one of the configured queues) whose session
    /// admission has not ended. Checked on every call: closing an event
    /// stops its remembered passes too.
    fn live(&self, verified: VerifiedPass) -> Result<VerifiedPass, Status> {
        let queue = &verified.pass.queue_id;
        if !self.ended.serves(queue).unwrap_or_else(|| self.queues.contains(queue)) {
            return Err(Status::permission_denied("admission pass is for an event that is closed or not served here"));
        }
        match self.ended.state(&verified.pass.session_id, chrono::Utc::now().timestamp_millis()) {
            SessionState::Live => Ok(verified),
            SessionState::Ended => Err(Status::unauthenticated("admission session ended: rejoin the queue")),
            SessionState::Unknown => Err(super::status::unavailable_for(
                "cannot confirm the admission session is still live; retry shortly",
                std::time::Duration::from_secs(1),
            )),
        }
    }

    /// What a verified pass is remembered by: the exact token and client, and
    /// the key set's generation, so that a reload of the trusted keys makes
    /// every pass verify again (one whose key was removed is refused).
    fn digest(&self, token: &str, client_id: &str) -> Key {
        digest(&[b"pass", &self.ring.generation().to_be_bytes(), token.as_bytes(), client_id.as_bytes()])
    }

    #[cfg(test)]
    fn remembered_len(&self) -> usize {
        self.remembered.len()
    }

    fn remembered_pass(&self, key: &Key, now_unix: i64) -> Option<VerifiedPass> {
        self.remembered.get(key).filter(|hit| hit.pass.expires_at > now_unix)
    }

    /// What a signed pass must also say: one of our queues, this client.
    fn admit(&self, key: Key, pass: AdmissionPass, token: &str, client_id: &str) -> Result<VerifiedPass, Status> {
        if pass.client_binding != client_binding(client_id) {
            return Err(Status::permission_denied("admission pass belongs to another client"));
        }
        let verified = VerifiedPass { pass, token: token.to_owned(), client_id: client_id.to_owned(), proof: None };
        self.remembered.insert(key, verified.clone());
        Ok(verified)
    }
}

fn rejected(e: TokenError) -> Status {
    match e {
        TokenError::Expired => Status::unauthenticated("admission pass expired: rejoin the queue"),
        other => Status::unauthenticated(format!("admission pass rejected: {other}")),
    }
}

/// A header's text, or UNAUTHENTICATED naming it.
fn header<'a>(value: Option<Result<&'a str, ()>>, name: &str) -> Result<&'a str, Status> {
    match value {
        Some(Ok(text)) => Ok(text),
        Some(Err(())) => Err(Status::unauthenticated(format!("{name} metadata is not ASCII"))),
        None => Err(Status::unauthenticated(format!("missing {name} metadata: join the waiting room first"))),
    }
}

/// The verified pass of a request that went through the pass check.
pub fn verified_pass<T>(request: &Request<T>) -> Result<VerifiedPass, Status> {
    request.extensions().get::<VerifiedPass>().cloned().ok_or_else(|| Status::unauthenticated("admission pass required"))
}

mod proof;
#[cfg(test)]
mod tests;
