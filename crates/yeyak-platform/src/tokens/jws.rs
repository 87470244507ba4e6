//! The wire form of passes, assertions and consents: JWS compact
//! serialization (RFC 7515) signed with EdDSA over Ed25519 (RFC 8037), so
//! any JWT library, or an edge proxy such as Envoy's `jwt_authn`, verifies
//! them with the issuer's published key set ([`super::jwks`]).
//!
//! `<b64url(header)>.<b64url(claims)>.<b64url(signature)>`. The header names
//! the algorithm (only `EdDSA` is accepted: never `none`, never an HMAC
//! algorithm keyed with a public key), the key id, and the token's type
//! explicitly (`typ` = `pass+jwt`, RFC 8725 §3.11), so a ticket can never
//! pass for a pass. The claims carry the standard `iss`, `iat`, `exp` and a
//! random `jti` beside each type's own (a pass's `aud` is its event).
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use serde::{Deserialize, Serialize};

use super::{sig, Issuer, TokenClaims, TokenError};

/// The longest token accepted: a pass is about 400 bytes.
const MAX_TOKEN: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(default)]
    typ: Option<&'a str>,
    kid: &'a str,
}

/// The `typ` header of tokens of type `C`.
pub fn media_type<C: TokenClaims>() -> String {
    format!("{}+jwt", C::TYPE)
}

/// The `iss` claim of an issuer's tokens.
pub fn issuer_uri(issuer: Issuer) -> &'static str {
    match issuer {
        Issuer::Admission => "urn:yeyak:admission",
        Issuer::Identity => "urn:yeyak:identity",
    }
}

/// The signing input (`header.claims`, both encoded) of `claims`.
pub(crate) fn signing_input<C: TokenClaims>(kid: &str, claims: &C) -> String {
    let typ = media_type::<C>();
    let header = serde_json::to_vec(&Header { alg: "EdDSA", typ: Some(&typ), kid }).unwrap_or_default();
    let mut value = serde_json::to_value(claims).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("iss".into(), issuer_uri(C::ISSUER).into());
        let jti: [u8; 12] = rand::random();
        obj.entry("jti").or_insert_with(|| B64.encode(jti).into());
    }
    format!("{}.{}", B64.encode(header), B64.encode(serde_json::to_vec(&value).unwrap_or_default()))
}

/// A token cut at its dots, its header read; nothing in it is trusted yet.
pub(crate) struct Parts<'a> {
    pub kid: String,
    payload: &'a str,
    /// The bytes the signature covers: `header.claims` as sent.
    pub signed: &'a [u8],
    pub signature: Vec<u8>,
}

/// Splits a token and checks its header against the type `C` expected.
pub(crate) fn split<C: TokenClaims>(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN {
        return Err(TokenError::Malformed);
    }
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed);
    };
    let header_json = B64.decode(header).map_err(|_| TokenError::Malformed)?;
    let h: Header<'_> = serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
    if h.alg != "EdDSA" {
        return Err(TokenError::Malformed);
    }
    // Compared in parts: no string built per check.
    if h.typ.and_then(|t| t.strip_suffix("+jwt")) != Some(C::TYPE) {
        return Err(TokenError::WrongType);
    }
    let kid = h.kid.to_owned();
    let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    Ok(Parts { kid, payload, signed, signature })
}

/// The key id a token's header names, read without any check (tools).
pub fn key_id(token: &str) -> Option<String> {
    let header = B64.decode(token.split('.').next()?).ok()?;
    serde_json::from_slice::<Header<'_>>(&header).ok().map(|h| h.kid.to_owned())
}

/// The claims, once the signature held: issuer and expiry checked.
pub(crate) fn claims<C: TokenClaims>(parts: &Parts<'_>, now_unix: i64) -> Result<C, TokenError> {
    /// The issuer alone, read first; both reads parse the bytes directly
    /// (no `serde_json::Value` holding every field).
    #[derive(Deserialize)]
    struct Issued<'a> {
        #[serde(borrow, default)]
        iss: Option<std::borrow::Cow<'a, str>>,
    }
    let json = B64.decode(parts.payload).map_err(|_| TokenError::Malformed)?;
    let issued: Issued<'_> = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if issued.iss.as_deref() != Some(issuer_uri(C::ISSUER)) {
        return Err(TokenError::WrongIssuer);
    }
    let claims: C = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.expires_at() <= now_unix {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The screened signature of `parts`.
pub(crate) fn signature(parts: &Parts<'_>) -> Result<sig::Screened, TokenError> {
    sig::screen(&parts.signature)
}
