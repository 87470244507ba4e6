//! Signature checks done once per token, not once per call.
//!
//! Every CheckEligibility carries an admission pass and an identity assertion
//! (two Ed25519 signatures), and the same tokens come back: the client checks,
//! then the reservation service checks again with the very same tokens before
//! booking. Verifying a signature costs far more than the rest of a cached
//! check, so the outcome of a successful verification is remembered, keyed by
//! the exact token bytes (and, for a pass, the client id it is bound to).
//! Expiry is still checked on every call; failures are never remembered.
//!
//! Memory is bounded: two generations of at most `capacity` entries each;
//! when the young one fills up, the old one is dropped.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tonic::{Request, Status};
use yeyak_platform::grpc::{PassVerifier, VerifiedPass, CLIENT_ID_HEADER, PASS_HEADER};

/// Verified tokens and what they said, in two generations.
#[derive(Debug)]
pub struct VerifiedCache<T> {
    capacity: usize,
    generations: Mutex<(HashMap<String, T>, HashMap<String, T>)>,
}

impl<T: Clone> VerifiedCache<T> {
    /// `capacity` 0 disables the cache.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.generations.lock().ok()?;
        if let Some(v) = g.0.get(key) {
            return Some(v.clone());
        }
        // Promote an old entry still in use.
        let v = g.1.remove(key)?;
        Self::insert_locked(&mut g, self.capacity, key.to_owned(), v.clone());
        Some(v)
    }

    pub fn insert(&self, key: String, value: T) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut g) = self.generations.lock() {
            Self::insert_locked(&mut g, self.capacity, key, value);
        }
    }

    fn insert_locked(g: &mut (HashMap<String, T>, HashMap<String, T>), capacity: usize, key: String, value: T) {
        if g.0.len() >= capacity {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.generations.lock().map(|g| g.0.len() + g.1.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The platform's pass check, run once per (pass, client id): later calls
/// with the same pass only check its expiry. Same errors as the platform's
/// interceptor, which does the actual verification.
pub fn pass_interceptor(
    verifier: PassVerifier,
    cache: Arc<VerifiedCache<VerifiedPass>>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |mut request: Request<()>| {
        let now = chrono::Utc::now().timestamp();
        let key = match (request.metadata().get(PASS_HEADER), request.metadata().get(CLIENT_ID_HEADER)) {
            (Some(pass), Some(client)) => match (pass.to_str(), client.to_str()) {
                (Ok(pass), Ok(client)) => Some(format!("{client}\n{pass}")),
                _ => None,
            },
            _ => None,
        };
        let cached = key.as_deref().and_then(|k| cache.get(k)).filter(|v| v.pass.exp > now);
        let verified = match cached {
            Some(v) => v,
            None => {
                let v = verifier.verify_metadata(request.metadata(), now)?;
                if let Some(k) = key {
                    cache.insert(k, v.clone());
                }
                v
            }
        };
        request.extensions_mut().insert(verified);
        Ok(request)
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
    fn a_cached_pass_still_expires_and_stays_bound_to_its_client() {
        let key = SigningKey::generate(Issuer::Admission, "a1");
        let mut ring = KeyRing::default();
        ring.trust(&key);
        let cache = Arc::new(VerifiedCache::new(16));
        let mut check = pass_interceptor(PassVerifier::new(ring, ["q1".to_owned()]), cache.clone());
        let now = chrono::Utc::now().timestamp();
        let pass =
            sign(&key, &AdmissionPass { q: "q1".into(), pos: 1, cb: client_binding("c-1"), sid: "s".into(), iat: now, exp: now + 2 });
        let ok = check(request(&pass, "c-1")).unwrap();
        assert_eq!(ok.extensions().get::<VerifiedPass>().unwrap().pass.sid, "s");
        assert_eq!(cache.len(), 1);
        assert!(check(request(&pass, "c-1")).is_ok(), "from the cache");
        // Another client presenting the same pass: not a cache hit, refused.
        assert_eq!(check(request(&pass, "c-2")).unwrap_err().code(), tonic::Code::PermissionDenied);
        // A tampered pass is verified (and refused), never matched loosely.
        assert_eq!(check(request(&format!("{pass}A"), "c-1")).unwrap_err().code(), tonic::Code::Unauthenticated);
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        let expired = check(request(&pass, "c-1")).unwrap_err();
        assert!(expired.message().contains("expired"), "{expired:?}");
    }

    #[test]
    fn bounded_by_two_generations_and_used_entries_survive() {
        let c = VerifiedCache::new(2);
        c.insert("a".into(), 1);
        c.insert("b".into(), 2);
        c.insert("c".into(), 3); // a, b become the old generation
        assert_eq!((c.get("a"), c.len()), (Some(1), 3), "promoted");
        c.insert("d".into(), 4); // c, a become old; b is dropped
        assert_eq!(c.get("b"), None);
        assert_eq!((c.get("c"), c.get("d")), (Some(3), Some(4)));
        assert!(c.len() <= 4);
        let off = VerifiedCache::new(0);
        off.insert("a".into(), 1);
        assert_eq!((off.get("a"), off.is_empty()), (None, true));
    }
}
