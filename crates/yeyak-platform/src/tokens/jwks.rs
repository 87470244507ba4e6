//! The public keys of an issuer as a JWK Set (RFC 7517, OKP keys of RFC
//! 8037): what an edge proxy or any JWT library needs to verify our tokens
//! without asking us anything else. Admission and identity publish theirs
//! (the key signing now and the older ones still trusted) over gRPC and at
//! `/.well-known/jwks.json` on their probe port.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use serde::{Deserialize, Serialize};

use super::{jws::issuer_uri, Issuer, KeyRing};

/// One Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub usage: String,
    pub alg: String,
}

/// `{"keys": [...]}`, plus the issuer the keys sign for (informative).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
}

impl JwkSet {
    /// The keys of `issuer` that `ring` trusts, sorted by key id.
    pub fn of(ring: &KeyRing, issuer: Issuer) -> Self {
        let keys = ring
            .keys_of(issuer)
            .into_iter()
            .map(|(kid, key)| Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: B64.encode(<[u8; 32]>::from(key)),
                kid,
                usage: "sig".into(),
                alg: "EdDSA".into(),
            })
            .collect();
        Self { keys, issuer: issuer_uri(issuer).into() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"keys":[]}"#.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::SigningKey;

    #[test]
    fn lists_only_the_issuers_keys_in_force() {
        let (a1, a2, i1) = (
            SigningKey::generate(Issuer::Admission, "a1"),
            SigningKey::generate(Issuer::Admission, "a2"),
            SigningKey::generate(Issuer::Identity, "i1"),
        );
        let ring = KeyRing::parse(&[&a1, &a2, &i1].map(|k| k.trusted_entry()).join(",")).unwrap();
        let set = JwkSet::of(&ring, Issuer::Admission);
        assert_eq!(set.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
        assert_eq!(B64.decode(&set.keys[0].x).unwrap(), <[u8; 32]>::from(a1.verifying_key()));
        let json: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        assert_eq!((json["keys"][1]["use"].as_str(), json["keys"][1]["crv"].as_str()), (Some("sig"), Some("Ed25519")));
        assert_eq!(JwkSet::of(&ring, Issuer::Identity).keys.len(), 1);
    }
}
