//! `KeySetService`: an issuer's public keys for verifiers outside Yeyak,
//! read from its key ring at each call, so a rotation (a reloaded trusted
//! keys file) shows at once.
use tonic::{Request, Response, Status};
use yeyak_proto::keys::v1::{self as pb, key_set_service_server::KeySetService};

use crate::tokens::{jwks::JwkSet, Issuer, KeyRing};

/// Serves the keys of `issuer` that `ring` trusts (its own signing key is
/// pinned on the ring; older ones come from the trusted keys file).
#[derive(Clone, Debug)]
pub struct KeySetApi {
    ring: KeyRing,
    issuer: Issuer,
}

impl KeySetApi {
    pub fn new(ring: KeyRing, issuer: Issuer) -> Self {
        Self { ring, issuer }
    }

    /// The document as served at `/.well-known/jwks.json`.
    pub fn jwks_json(&self) -> String {
        JwkSet::of(&self.ring, self.issuer).to_json()
    }

    /// The gRPC service, to add to a server.
    pub fn service(self) -> pb::key_set_service_server::KeySetServiceServer<Self> {
        pb::key_set_service_server::KeySetServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl KeySetService for KeySetApi {
    async fn get_key_set(&self, _request: Request<pb::GetKeySetRequest>) -> Result<Response<pb::GetKeySetResponse>, Status> {
        let set = JwkSet::of(&self.ring, self.issuer);
        let keys =
            set.keys.iter().map(|k| pb::PublicKey { kid: k.kid.clone(), alg: k.alg.clone(), crv: k.crv.clone(), x: k.x.clone() }).collect();
        Ok(Response::new(pb::GetKeySetResponse { jwks_json: set.to_json(), keys, issuer: set.issuer }))
    }
}
