//! The load generator's side of gRPC: connections to spread calls over, and
//! the headers a gateway attaches to every call of an admitted client.
use std::time::Duration;

use tonic::{metadata::errors::InvalidMetadataValue, transport::Channel, Request};
use yeyak_platform::grpc::{client, CLIENT_ID_HEADER, PASS_HEADER};

/// A two-second connect timeout: on loopback, a slower connect is a fault
/// worth failing on, not load.
pub fn settings(request_timeout: Duration) -> client::ClientSettings {
    client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout, ..Default::default() }
}

/// `n` separate HTTP/2 connections to `addr`: one connection would
/// serialise the generator's calls on one socket, which no real front end does.
pub fn channels(addr: &str, n: usize, settings: &client::ClientSettings) -> anyhow::Result<Vec<Channel>> {
    (0..n).map(|_| client::channel(addr, settings)).collect()
}

/// `message` with an admitted client's pass and id attached.
pub fn with_pass<T>(message: T, pass: &str, client_id: &str) -> Result<Request<T>, InvalidMetadataValue> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(PASS_HEADER, pass.parse()?);
    request.metadata_mut().insert(CLIENT_ID_HEADER, client_id.parse()?);
    Ok(request)
}
