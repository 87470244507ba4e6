//! The claims carried by each token type. Short names on the wire keep tokens
//! small (they travel on every request behind the waiting room); the Rust
//! fields say what they hold.
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Issuer;

pub trait TokenClaims: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const ISSUER: Issuer;
    fn expires_at(&self) -> i64;
}

/// Binds a token to the client installation that holds it: the token carries
/// only this digest, so a copied token is useless without the client id.
pub fn client_binding(client_id: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
    let digest = Sha256::new().chain_update(b"yeyak-client-binding:").chain_update(client_id.as_bytes()).finalize();
    B64.encode(&digest[..18])
}

/// A place in line. The server keeps nothing per ticket: the place is here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTicket {
    /// Queue (event) id.
    #[serde(rename = "q")]
    pub queue_id: String,
    /// Place in line, assigned by the server; 0 for a pre-opening arrival,
    /// whose place is drawn at the opening.
    #[serde(rename = "pos")]
    pub place: u64,
    /// Arrival index in the pre-opening lottery pool, if joined before the opening.
    #[serde(rename = "pre", default, skip_serializing_if = "Option::is_none")]
    pub lottery_entry: Option<u64>,
    /// Client binding, see [`client_binding`].
    #[serde(rename = "cb")]
    pub client_binding: String,
    /// The session id its holder's passes carry: random, drawn at the join,
    /// so it never depends on the place (which Redis may have to rebuild)
    /// and nobody can derive another's.
    #[serde(rename = "sid")]
    pub session_id: String,
    /// The thumbprint of the device key that joined (see [`super::dpop`]):
    /// the passes of this place are bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Issued at (unix seconds, server clock).
    #[serde(rename = "iat")]
    pub issued_at: i64,
    /// Expiry (unix seconds); a ticket lives as long as the event.
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

impl TokenClaims for QueueTicket {
    const TYPE: &'static str = "ticket";
    const ISSUER: Issuer = Issuer::Admission;
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// Proof that the holder waited their turn; required behind the waiting room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionPass {
    /// Queue (event) id: the token's audience.
    #[serde(rename = "aud")]
    pub queue_id: String,
    /// The place in line that was admitted.
    #[serde(rename = "pos")]
    pub place: u64,
    /// Client binding, see [`client_binding`].
    #[serde(rename = "cb")]
    pub client_binding: String,
    /// Session id, unique per admission.
    #[serde(rename = "sid")]
    pub session_id: String,
    /// The device key the pass is bound to (RFC 7800 `cnf`, RFC 9449 `jkt`):
    /// every call with it carries a proof signed with that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

/// The `cnf` claim: the thumbprint of the key that must sign each call's proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl TokenClaims for AdmissionPass {
    const TYPE: &'static str = "pass";
    const ISSUER: Issuer = Issuer::Admission;
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// A verified, pseudonymous identity. Carries no resident registration number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityAssertion {
    /// Pseudonymous subject id: a keyed hash of the resident registration number.
    #[serde(rename = "sub")]
    pub subject: String,
    /// Birth date, "YYYY-MM-DD".
    #[serde(rename = "birth")]
    pub birth_date: String,
    /// Masked name, e.g. "홍*동".
    pub name: String,
    /// Provider that verified the person.
    #[serde(rename = "prov")]
    pub provider: String,
    /// Assurance level (1 = SMS code, 2 = certificate).
    #[serde(rename = "aal")]
    pub assurance_level: u8,
    /// Session id of the admission pass the verification ran under.
    #[serde(rename = "sid")]
    pub session_id: String,
    /// The event (queue) of that pass: the token's audience, for verifiers
    /// outside Yeyak (ours bind the assertion to the pass by `sid`). Empty
    /// in assertions issued before it existed.
    #[serde(rename = "aud", default, skip_serializing_if = "String::is_empty")]
    pub queue_id: String,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

impl TokenClaims for IdentityAssertion {
    const TYPE: &'static str = "assertion";
    const ISSUER: Issuer = Issuer::Identity;
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// A person's consent that one named agent may book for them in one event,
/// for when the person cannot verify their identity in the agent's session
/// (a parent booked for by a child who lives elsewhere). Issued by identity
/// to the verified person; it names the agent by their pseudonymous subject
/// id, so it is useless to anyone else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentToken {
    /// The consenting person (the subject to be vaccinated).
    #[serde(rename = "sub")]
    pub subject: String,
    /// The subject's birth date, "YYYY-MM-DD", as their assertion stated it.
    #[serde(rename = "birth")]
    pub birth_date: String,
    /// The subject's masked name, for the agent's screen.
    pub name: String,
    /// The agent's pseudonymous subject id.
    #[serde(rename = "agent")]
    pub agent_subject: String,
    /// The event (queue) the consent is for: the token's audience.
    #[serde(rename = "aud")]
    pub queue_id: String,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

impl TokenClaims for ConsentToken {
    const TYPE: &'static str = "consent";
    const ISSUER: Issuer = Issuer::Identity;
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}
