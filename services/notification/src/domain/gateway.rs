//! The configured SMS gateways and what one exchange with a gateway can
//! tell us, as pure values: the rule of failing over lives in what these
//! outcomes mean (docs/notification.md, "Gateway failover").
//!
//! The rule: a message goes to another gateway only when this one provably
//! does not have it. "Provably" is: the connection was never made (the
//! request never left), the gateway refused the reference as voided (410),
//! or its status lookup answered explicitly that it does not have the
//! reference (which also voids the reference there, so a copy still on its
//! way is refused). Anything else (a deadline passed after the request was
//! sent, a broken answer, 503, 429, another 5xx, a bare 404) is an unknown
//! outcome until the lookup answers: asked again at the same gateway,
//! never sent elsewhere. Never twice beats late.
//!
//! A voided reference is dead at that gateway for good, so the message is
//! sent on under the next *generation* of its reference ([`reference`]):
//! to any gateway, the same one included.
use uuid::Uuid;
use yeyak_platform::validate;

/// One configured gateway: its name (metrics, logs, the delivery row) and
/// base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GatewaySpec {
    pub(crate) name: String,
    pub(crate) url: String,
}

/// Reads `name=url,name=url` (order is the preference among equally
/// healthy gateways). Names are short words: they are stored and labelled.
pub(crate) fn parse_gateways(spec: &str) -> Result<Vec<GatewaySpec>, String> {
    let mut gateways: Vec<GatewaySpec> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(format!("{entry:?} is not name=url"));
        };
        let (name, url) = (name.trim(), url.trim().trim_end_matches('/'));
        let word = validate::token_char;
        if name.is_empty() || name.len() > 32 || !name.chars().all(word) {
            return Err(format!("gateway name {name:?} must be 1 to 32 letters, digits, - or _"));
        }
        if url.is_empty() {
            return Err(format!("gateway {name} has no URL"));
        }
        if gateways.iter().any(|g| g.name == name) {
            return Err(format!("gateway {name} is listed twice"));
        }
        gateways.push(GatewaySpec { name: name.to_owned(), url: url.to_owned() });
    }
    if gateways.is_empty() {
        return Err("no gateway listed".into());
    }
    Ok(gateways)
}

/// The client reference (`Idempotency-Key`) a message is sent under:
/// generation 0 is the bare message id (what every build before
/// generations sent, so a row handed over by one is still looked up under
/// the reference it went out with), later ones `<message_id>.<generation>`.
pub(crate) fn reference(message_id: Uuid, generation: i32) -> String {
    if generation == 0 {
        message_id.to_string()
    } else {
        format!("{message_id}.{generation}")
    }
}

/// What one send to one gateway achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Accepted; `duplicate` when the gateway had already seen the reference.
    Accepted { gateway_id: Option<Uuid>, duplicate: bool },
    /// Provably not taken by this gateway (the connection was never made):
    /// another gateway may send it, under the same reference.
    NotTaken(String),
    /// Refused because a lookup voided this reference there (410): not
    /// taken, and never will be; only a new generation can go anywhere.
    Voided(String),
    /// The gateway refused the message itself (4xx): no gateway will take it.
    Rejected(String),
    /// It may or may not have been accepted: ask this gateway, nobody else.
    Unknown(String),
}

/// What a status lookup of a reference answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The gateway has it: it was sent.
    Found,
    /// The gateway answered explicitly that it does not have it, and will
    /// refuse this reference from now on.
    Absent,
    /// No answer we can act on (unreachable, 5xx, a 404 without the
    /// explicit "absent"): still unknown.
    Unknown(String),
}

impl SendOutcome {
    /// Whether the gateway was healthy in this exchange (for its breaker):
    /// a refusal of the message is a healthy answer, everything that is
    /// not an answer is not.
    pub(crate) fn healthy(&self) -> bool {
        matches!(self, Self::Accepted { .. } | Self::Rejected(_) | Self::Voided(_))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gateways_parse_in_order_and_bad_lists_are_refused() {
        let g = parse_gateways(" a=http://a:1/ , b-2=https://b ").unwrap();
        assert_eq!(
            g,
            [GatewaySpec { name: "a".into(), url: "http://a:1".into() }, GatewaySpec { name: "b-2".into(), url: "https://b".into() }]
        );
        for bad in ["", "a", "a=", "=http://x", "a=http://x,a=http://y", "a b=http://x"] {
            assert!(parse_gateways(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generation_zero_is_the_bare_message_id() {
        let id = Uuid::from_u128(7);
        assert_eq!(reference(id, 0), id.to_string());
        assert_eq!(reference(id, 2), format!("{id}.2"));
    }
}
