//! The one admission-pass check every RPC behind the waiting room goes
//! through. Only the signed pass and the client id it is bound to are trusted:
//! no header such as Referer and no client-declared flag counts.
use std::{collections::HashSet, sync::Arc};

use tonic::{codegen::http, metadata::MetadataMap, Request, Status};

use crate::tokens::{
    self, client_binding,
    remembered::{digest, Key, DEFAULT_REMEMBERED},
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
}

impl VerifiedPass {
    /// Copies the caller's pass and client id onto an outbound request, with
    /// the current trace context.
    pub fn forward<T>(&self, mut request: Request<T>) -> Request<T> {
        if let (Ok(p), Ok(c)) = (self.token.parse(), self.client_id.parse()) {
            request.metadata_mut().insert(PASS_HEADER, p);
            request.metadata_mut().insert(CLIENT_ID_HEADER, c);
        }
        crate::telemetry::inject_traceparent(&mut request);
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
}

impl PassVerifier {
    pub fn new(ring: KeyRing, queues: impl IntoIterator<Item = String>) -> Self {
        Self {
            ring: Arc::new(ring),
            queues: Arc::new(queues.into_iter().collect()),
            remembered: Arc::new(Remembered::new(DEFAULT_REMEMBERED)),
            batcher: SignatureBatcher::shared(),
        }
    }

    /// The check one at a time, for callers outside a server.
    pub fn verify_metadata(&self, metadata: &MetadataMap, now_unix: i64) -> Result<VerifiedPass, Status> {
        let value = |name: &str| metadata.get(name).map(|v| v.to_str().map_err(|_| ()));
        let (token, client_id) = (header(value(PASS_HEADER), PASS_HEADER)?, header(value(CLIENT_ID_HEADER), CLIENT_ID_HEADER)?);
        let key = self.digest(token, client_id);
        if let Some(hit) = self.remembered_pass(&key, now_unix) {
            return Ok(hit);
        }
        let pass = tokens::verify(&self.ring, token, now_unix).map_err(rejected)?;
        self.admit(key, pass, token, client_id)
    }

    /// The check a server makes on each request's headers; a new pass's
    /// signature waits for the batch it joins.
    pub async fn verify_headers(&self, headers: &http::HeaderMap, now_unix: i64) -> Result<VerifiedPass, Status> {
        let value = |name: &str| headers.get(name).map(|v| v.to_str().map_err(|_| ()));
        let (token, client_id) = (header(value(PASS_HEADER), PASS_HEADER)?, header(value(CLIENT_ID_HEADER), CLIENT_ID_HEADER)?);
        let key = self.digest(token, client_id);
        if let Some(hit) = self.remembered_pass(&key, now_unix) {
            return Ok(hit);
        }
        let pass = tokens::verify_batched(&self.ring, &self.batcher, token, now_unix).await.map_err(rejected)?;
        self.admit(key, pass, token, client_id)
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
        if !self.queues.contains(&pass.queue_id) {
            return Err(Status::permission_denied("admission pass is for another queue"));
        }
        if pass.client_binding != client_binding(client_id) {
            return Err(Status::permission_denied("admission pass belongs to another client"));
        }
        let verified = VerifiedPass { pass, token: token.to_owned(), client_id: client_id.to_owned() };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{sign, Issuer, SigningKey};

    fn setup() -> (SigningKey, PassVerifier) {
        let key = SigningKey::generate(Issuer::Admission, "a1");
        let mut ring = KeyRing::default();
        ring.trust(&key);
        (key, PassVerifier::new(ring, ["q1".to_string()]))
    }

    fn md(pass: &str, client: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert(PASS_HEADER, pass.parse().unwrap());
        m.insert(CLIENT_ID_HEADER, client.parse().unwrap());
        m
    }

    fn pass(q: &str, client: &str) -> AdmissionPass {
        AdmissionPass {
            queue_id: q.into(),
            place: 1,
            client_binding: client_binding(client),
            session_id: "s".into(),
            issued_at: 0,
            expires_at: 100,
        }
    }

    #[test]
    fn accepts_a_good_pass_and_rejects_the_rest() {
        let (key, v) = setup();
        let good = sign(&key, &pass("q1", "client-a"));
        assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok());
        assert!(v.verify_metadata(&md(&good, "client-a"), 11).is_ok(), "remembered");
        assert_eq!(v.remembered_len(), 1, "verified once, then remembered");
        assert_eq!(v.verify_metadata(&md(&good, "client-b"), 10).unwrap_err().code(), tonic::Code::PermissionDenied);
        // A remembered pass still expires.
        assert_eq!(v.verify_metadata(&md(&good, "client-a"), 100).unwrap_err().code(), tonic::Code::Unauthenticated);
        let other_q = sign(&key, &pass("q2", "client-a"));
        assert_eq!(v.verify_metadata(&md(&other_q, "client-a"), 10).unwrap_err().code(), tonic::Code::PermissionDenied);
        assert_eq!(v.verify_metadata(&MetadataMap::new(), 10).unwrap_err().code(), tonic::Code::Unauthenticated);
        let forged = sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass("q1", "client-a"));
        let unknown_kid = sign(&SigningKey::generate(Issuer::Admission, "zz"), &pass("q1", "client-a"));
        let promoted = sign(&key, &AdmissionPass { place: 0, ..pass("q1", "client-a") });
        let altered = format!("{}.{}", promoted.rsplit_once('.').unwrap().0, good.rsplit_once('.').unwrap().1);
        for bad in [forged, unknown_kid, altered, "not-a-pass".to_string()] {
            assert_eq!(v.verify_metadata(&md(&bad, "client-a"), 10).unwrap_err().code(), tonic::Code::Unauthenticated, "{bad}");
        }
        let mut referer_only = MetadataMap::new();
        referer_only.insert("referer", "https://ncvr.kdca.go.kr/".parse().unwrap());
        assert!(v.verify_metadata(&referer_only, 10).is_err());
    }

    #[test]
    fn a_remembered_pass_is_refused_once_its_key_is_removed() {
        let key = SigningKey::generate(Issuer::Admission, "a1");
        let v = PassVerifier::new(KeyRing::parse(&key.trusted_entry()).unwrap(), ["q1".to_string()]);
        let good = sign(&key, &pass("q1", "client-a"));
        assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok());
        let other = SigningKey::generate(Issuer::Admission, "a2");
        assert!(v.ring.reload(&format!("{},{}", key.trusted_entry(), other.trusted_entry())).unwrap().is_some());
        assert!(v.verify_metadata(&md(&good, "client-a"), 10).is_ok(), "still listed");
        v.ring.reload(&other.trusted_entry()).unwrap();
        assert_eq!(v.verify_metadata(&md(&good, "client-a"), 10).unwrap_err().code(), tonic::Code::Unauthenticated, "removed");
        assert!(v.verify_metadata(&md(&sign(&other, &pass("q1", "client-a")), "client-a"), 10).is_ok());
    }

    /// The server's batched check on raw headers answers as the one-at-a-time check.
    #[tokio::test]
    async fn the_header_check_answers_like_the_metadata_check() {
        let (key, v) = setup();
        let good = sign(&key, &pass("q1", "client-a"));
        let forged = sign(&SigningKey::generate(Issuer::Admission, "a1"), &pass("q1", "client-a"));
        let cases = [
            md(&good, "client-a"),
            md(&good, "client-b"),
            md(&sign(&key, &pass("q2", "client-a")), "client-a"),
            md(&forged, "client-a"),
            md("not-a-pass", "client-a"),
            MetadataMap::new(),
        ];
        for (i, metadata) in cases.into_iter().enumerate() {
            let fresh = PassVerifier::new(v.ring.as_ref().clone(), ["q1".to_string()]);
            let one = v.verify_metadata(&metadata, 10).map(|p| p.pass).map_err(|s| s.code());
            let batched = fresh.verify_headers(&metadata.into_headers(), 10).await.map(|p| p.pass).map_err(|s| s.code());
            assert_eq!(one, batched, "case {i}");
        }
        assert_eq!(v.verify_metadata(&md(&good, "client-a"), 100).unwrap_err().code(), tonic::Code::Unauthenticated, "expired");
    }
}
