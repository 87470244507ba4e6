//! What a gateway's answer (or its absence) means for a message, after the
//! rule of `domain::gateway`: fail over only on proof that the gateway does
//! not have it.
use reqwest::StatusCode;

use crate::domain::{gateway::Lookup, SendOutcome};

/// A send that got no answer. A connection that was never made carried no
/// request: provably not taken. Anything later (the deadline passed, the
/// answer broke off) may have reached the gateway: unknown.
pub(super) fn classify_error(gateway: &str, e: &reqwest::Error) -> SendOutcome {
    if e.is_connect() {
        SendOutcome::NotTaken(format!("gateway {gateway} unreachable (no connection): {e}"))
    } else {
        SendOutcome::Unknown(format!("gateway {gateway} gave no answer: {e}"))
    }
}

/// A send the gateway answered with a non-success status.
///
/// 410 is the reference voided by our own lookup: not taken, and only a new
/// generation can be sent. 503, 429, 408, 409 and other 5xx may come after
/// the message was taken (a proxy in front that forwarded it and then gave
/// up, a duplicate still in progress): unknown, settled by the lookup
/// (which voids the reference if the gateway lacks it) before anything
/// goes elsewhere. The other 4xx refuse the message itself.
pub(super) fn classify_status(gateway: &str, status: StatusCode) -> SendOutcome {
    let reason = format!("gateway {gateway} answered {status}");
    match status {
        StatusCode::GONE => SendOutcome::Voided(reason),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT => {
            SendOutcome::Unknown(reason)
        }
        s if s.is_server_error() => SendOutcome::Unknown(reason),
        _ => SendOutcome::Rejected(reason),
    }
}

/// The body of a lookup's 404 that says "not here, and now void": a bare
/// 404 (a wrong path, a proxy's page) proves nothing.
#[derive(serde::Deserialize)]
pub(super) struct LookupBody {
    status: Option<String>,
}

/// The `status` a gateway's 404 carries when it does not have the reference.
pub(super) const ABSENT: &str = "absent";

/// A status lookup's answer: 2xx it has it, 404 whose body says `"status":
/// "absent"` it does not (and never will), anything else tells nothing.
pub(super) fn lookup_status(gateway: &str, status: StatusCode, body: Option<LookupBody>) -> Lookup {
    match status {
        s if s.is_success() => Lookup::Found,
        StatusCode::NOT_FOUND if body.and_then(|b| b.status).as_deref() == Some(ABSENT) => Lookup::Absent,
        StatusCode::NOT_FOUND => Lookup::Unknown(format!("gateway {gateway} lookup answered 404 without saying the reference is absent")),
        s => Lookup::Unknown(format!("gateway {gateway} lookup answered {s}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;
    use yeyak_platform::tls::TlsSettings;

    use super::*;
    use crate::{
        clients::{GatewayLimits, SmsGateway},
        domain::{GatewaySpec, SmsText},
    };

    #[test]
    fn only_voided_references_fail_over_unasked_and_only_message_errors_are_permanent() {
        let c = |s| classify_status("a", s);
        assert!(matches!(c(StatusCode::SERVICE_UNAVAILABLE), SendOutcome::Unknown(_)), "a proxy may answer 503 after forwarding");
        assert!(matches!(c(StatusCode::TOO_MANY_REQUESTS), SendOutcome::Unknown(_)));
        assert!(matches!(c(StatusCode::GONE), SendOutcome::Voided(_)));
        assert!(matches!(c(StatusCode::INTERNAL_SERVER_ERROR), SendOutcome::Unknown(_)));
        assert!(matches!(c(StatusCode::GATEWAY_TIMEOUT), SendOutcome::Unknown(_)));
        assert!(matches!(c(StatusCode::CONFLICT), SendOutcome::Unknown(_)));
        assert!(matches!(c(StatusCode::BAD_REQUEST), SendOutcome::Rejected(_)));
        assert!(matches!(c(StatusCode::UNPROCESSABLE_ENTITY), SendOutcome::Rejected(_)));
        let absent = || Some(LookupBody { status: Some(ABSENT.into()) });
        assert_eq!(lookup_status("a", StatusCode::OK, None), Lookup::Found);
        assert_eq!(lookup_status("a", StatusCode::NOT_FOUND, absent()), Lookup::Absent);
        assert!(matches!(lookup_status("a", StatusCode::NOT_FOUND, None), Lookup::Unknown(_)), "a bare 404 proves nothing");
        let other = Some(LookupBody { status: Some("missing".into()) });
        assert!(matches!(lookup_status("a", StatusCode::NOT_FOUND, other), Lookup::Unknown(_)));
        assert!(matches!(lookup_status("a", StatusCode::SERVICE_UNAVAILABLE, absent()), Lookup::Unknown(_)));
    }

    #[tokio::test]
    async fn a_refused_connection_is_provably_not_taken_and_fast() {
        // Port 9 (discard) is closed on the test machine: connection refused.
        let spec = GatewaySpec { name: "a".into(), url: "http://127.0.0.1:9/".into() };
        let limits = GatewayLimits { timeout: Duration::from_secs(2), connect_timeout: Duration::from_millis(500), max_in_flight: 1 };
        let gw = SmsGateway::new(&spec, limits, &TlsSettings::default()).unwrap();
        let started = std::time::Instant::now();
        let text = SmsText { body: "t".into(), traceparent: None };
        let outcome = gw.send(Uuid::new_v4(), 0, "01012345678", &text).await;
        assert!(matches!(outcome, SendOutcome::NotTaken(_)), "{outcome:?}");
        assert!(matches!(gw.lookup(Uuid::new_v4(), 0).await, Lookup::Unknown(_)));
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
