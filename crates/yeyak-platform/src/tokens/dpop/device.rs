//! The client's half: the device key and the proofs it signs. Browsers do
//! the same with WebCrypto (`generateKey({name: "Ed25519"}, false, ["sign"])`);
//! this one serves the demo, the tests and the benchmarks.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};

use super::{thumbprint, token_hash, ProofClaims};

/// A device's Ed25519 key pair. The private half never leaves the process.
#[derive(Clone)]
pub struct DeviceKey {
    key: ed25519_zebra::SigningKey,
    /// The encoded proof header, the same for every proof.
    header: String,
    jkt: String,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey").field("jkt", &self.jkt).finish_non_exhaustive()
    }
}

impl DeviceKey {
    pub fn generate() -> Self {
        Self::from_seed(rand::random())
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = ed25519_zebra::SigningKey::from(seed);
        let x = B64.encode(<[u8; 32]>::from(ed25519_zebra::VerificationKey::from(&key)));
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
        Self { key, header: B64.encode(header.to_string()), jkt: thumbprint(&x) }
    }

    /// The thumbprint passes bound to this key carry (`cnf.jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    /// A proof for one call of `method` (the gRPC path,
    /// `/package.Service/Method`), with the pass it goes with, if any, at
    /// `now_unix` (server time).
    pub fn proof(&self, method: &str, pass: Option<&str>, now_unix: i64) -> String {
        let jti: [u8; 12] = rand::random();
        let claims = ProofClaims { jti: B64.encode(jti), htm: "POST".into(), htu: method.into(), iat: now_unix, ath: pass.map(token_hash) };
        let input = format!("{}.{}", self.header, B64.encode(serde_json::to_vec(&claims).unwrap_or_default()));
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(<[u8; 64]>::from(signature)))
    }

    /// Adds a proof for a call of `method` to `request`, bound to the pass
    /// the request carries (if any), at the device's clock.
    pub fn sign_request<T>(&self, request: &mut tonic::Request<T>, method: &str) {
        let pass = request.metadata().get(crate::grpc::PASS_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let proof = self.proof(method, pass.as_deref(), chrono::Utc::now().timestamp());
        if let Ok(value) = proof.parse() {
            request.metadata_mut().insert(super::PROOF_HEADER, value);
        }
    }
}
