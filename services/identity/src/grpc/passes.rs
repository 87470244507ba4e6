//! The admission-pass check with a memory of passes already verified.
//!
//! A person's front end calls identity several times with the same pass
//! (ListProviders, Start, Complete, polls), and an Ed25519 verification is
//! the largest CPU cost of a call. The platform's [`PassVerifier`] does the
//! full check the first time; afterwards the same pass from the same client
//! id is accepted from memory while it has not expired. The key is a digest
//! of the exact token and client id, so nothing that was not verified can
//! match; expiry is checked on every call; the trusted keys and queues are
//! fixed for the life of the process.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sha2::{Digest as _, Sha256};
use tonic::{Request, Status};
use yeyak_platform::grpc::{PassVerifier, VerifiedPass, CLIENT_ID_HEADER, PASS_HEADER};

/// Passes remembered per replica; the memory starts over when full.
const CAPACITY: usize = 16_384;

#[derive(Clone)]
pub struct CachedPassVerifier {
    verifier: PassVerifier,
    seen: Arc<Mutex<HashMap<[u8; 32], VerifiedPass>>>,
}

impl CachedPassVerifier {
    pub fn new(verifier: PassVerifier) -> Self {
        Self { verifier, seen: Arc::default() }
    }

    fn key(request: &Request<()>) -> Option<[u8; 32]> {
        let md = request.metadata();
        let token = md.get(PASS_HEADER)?.as_bytes();
        let client = md.get(CLIENT_ID_HEADER)?.as_bytes();
        Some(Sha256::new().chain_update(token).chain_update([0]).chain_update(client).finalize().into())
    }

    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check_at(request, chrono::Utc::now().timestamp())
    }

    fn check_at(&self, mut request: Request<()>, now: i64) -> Result<Request<()>, Status> {
        let key = Self::key(&request);
        if let Some(key) = key {
            let hit = self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(&key).filter(|v| v.pass.exp > now).cloned();
            if let Some(verified) = hit {
                request.extensions_mut().insert(verified);
                return Ok(request);
            }
        }
        let verified = self.verifier.verify_metadata(request.metadata(), now)?;
        if let Some(key) = key {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() >= CAPACITY {
                seen.clear();
            }
            seen.insert(key, verified.clone());
        }
        request.extensions_mut().insert(verified);
        Ok(request)
    }

    /// A tonic interceptor: rejects the call or attaches [`VerifiedPass`].
    pub fn interceptor(&self) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
        let this = self.clone();
        move |request| this.check(request)
    }
}

#[cfg(test)]
mod tests {
    use yeyak_platform::tokens::{client_binding, sign, AdmissionPass, Issuer, KeyRing, SigningKey};

    use super::*;

    fn request(pass: &str, client: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert(PASS_HEADER, pass.parse().unwrap());
        r.metadata_mut().insert(CLIENT_ID_HEADER, client.parse().unwrap());
        r
    }

    #[test]
    fn remembered_passes_keep_every_check() {
        let key = SigningKey::generate(Issuer::Admission, "a1");
        let mut ring = KeyRing::default();
        ring.trust(&key);
        let v = CachedPassVerifier::new(PassVerifier::new(ring, ["q1".to_string()]));
        let now = chrono::Utc::now().timestamp();
        let claims = |exp| AdmissionPass { q: "q1".into(), pos: 1, cb: client_binding("client-a"), sid: "s".into(), iat: now, exp };
        let pass = sign(&key, &claims(now + 60));
        for _ in 0..2 {
            let ok = v.check(request(&pass, "client-a")).unwrap();
            assert_eq!(ok.extensions().get::<VerifiedPass>().unwrap().pass.sid, "s");
        }
        assert_eq!(v.seen.lock().unwrap().len(), 1, "verified once, then remembered");
        assert_eq!(v.check(request(&pass, "client-b")).unwrap_err().code(), tonic::Code::PermissionDenied, "other client, no shortcut");
        // Another token (here: one character of the claims changed) is verified in full.
        let mut tampered: Vec<char> = pass.chars().collect();
        let i = pass.find('.').unwrap() + 6;
        tampered[i] = if tampered[i] == 'x' { 'y' } else { 'x' };
        let tampered: String = tampered.into_iter().collect();
        assert_eq!(v.check(request(&tampered, "client-a")).unwrap_err().code(), tonic::Code::Unauthenticated);
        let expired = sign(&key, &claims(now - 1));
        assert!(v.check(request(&expired, "client-a")).is_err());
        // A remembered pass that has since expired is refused too.
        assert_eq!(v.check_at(request(&pass, "client-a"), now + 61).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert!(v.check(Request::new(())).is_err(), "no pass at all");
    }
}
