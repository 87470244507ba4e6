//! Outbound gRPC channels: lazy (a peer that is down does not stop start-up),
//! with a connect timeout and a deadline on every call, so a dependency that
//! is down yields UNAVAILABLE or DEADLINE_EXCEEDED fast instead of a hang.
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_millis(500), request_timeout: Duration::from_secs(2) }
    }
}

/// Builds a lazy channel to `addr` (`host:port` or a full `http://` URI).
pub fn channel(addr: &str, settings: &ClientSettings) -> anyhow::Result<Channel> {
    let uri = if addr.starts_with("http://") || addr.starts_with("https://") { addr.to_owned() } else { format!("http://{addr}") };
    Ok(Endpoint::from_shared(uri)?
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .connect_lazy())
}
