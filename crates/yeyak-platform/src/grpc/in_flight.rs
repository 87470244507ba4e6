//! The RPCs in progress, per method. When a shutdown overruns its deadline
//! the log must say which calls it was waiting for ("CreateReservation ×3"
//! points at the dependency that hung); a bare count would not. The counts
//! are the `yeyak_grpc_server_in_flight` gauges, so Prometheus sees them too.
//!
//! Counting a call is one atomic increment, never a lock, so a surge pays
//! nothing for it.
use std::sync::Arc;

use crate::metrics::{rpc::Method, RpcMetrics};

/// One call in progress, counted until the guard drops (the call finished,
/// failed or was cancelled).
#[derive(Debug)]
pub(crate) struct Entered(Arc<Method>);

impl Entered {
    pub(crate) fn new(method: &Arc<Method>) -> Self {
        method.in_flight.inc();
        Self(method.clone())
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

/// "RPC <path> ×<n>" for each method with calls in progress, sorted.
pub(crate) fn describe(metrics: &RpcMetrics) -> Vec<String> {
    let mut busy: Vec<String> = metrics
        .all()
        .filter_map(|m| match m.in_flight.get() {
            n if n > 0 => Some(format!("RPC {} ×{n}", m.info.path)),
            _ => None,
        })
        .collect();
    busy.sort();
    busy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MethodInfo, Metrics};

    fn info(method: &str) -> MethodInfo {
        MethodInfo { path: format!("/a.B/{method}"), service: "a.B".into(), method: method.into(), kind: "unary" }
    }

    #[test]
    fn counts_calls_until_they_end() {
        let metrics = Metrics::new("t").grpc_server([info("C"), info("D")]);
        let first = Entered::new(metrics.method("/a.B/C"));
        let second = Entered::new(metrics.method("/a.B/C"));
        let other = Entered::new(metrics.method("/a.B/D"));
        let foreign = Entered::new(metrics.method("/not/served"));
        assert_eq!(describe(&metrics), ["RPC /a.B/C ×2", "RPC /a.B/D ×1", "RPC unknown ×1"]);
        drop((first, other, foreign));
        assert_eq!(describe(&metrics), ["RPC /a.B/C ×1"]);
        drop(second);
        assert!(describe(&metrics).is_empty());
    }
}
