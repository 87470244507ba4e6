//! The same settings, in the form each client library takes: reqwest takes
//! a rustls configuration, redis and lapin take PEM bytes, sqlx file paths
//! (see `db`), tonic a connector (see [`super::TlsConnector`]).
use super::{TlsError, TlsSettings};

impl TlsSettings {
    /// Finishes an HTTP client for the third parties (identity providers,
    /// registry, SMS gateway) with this TLS configuration for `https://`.
    pub fn http_client(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::Client, TlsError> {
        let config = (*self.client_config(&[b"http/1.1"])?).clone();
        builder.use_preconfigured_tls(config).build().map_err(|e| TlsError::Config(e.to_string()))
    }

    /// For `rediss://`: the CA bundle (which then replaces the system roots,
    /// as the redis crate does) and the client certificate. `None` when
    /// neither is configured: the system roots are used.
    pub fn redis_certificates(&self) -> Result<Option<redis::TlsCertificates>, TlsError> {
        let root_cert = self.ca_pem()?;
        let client_tls = self.client_identity_pem()?.map(|(client_cert, client_key)| redis::ClientTlsConfig { client_cert, client_key });
        Ok((root_cert.is_some() || client_tls.is_some()).then_some(redis::TlsCertificates { client_tls, root_cert }))
    }

    /// For `amqps://`: the CA bundle (added to the system roots) and the
    /// client certificate (RabbitMQ's EXTERNAL mechanism or peer verification).
    pub fn amqp_config(&self) -> Result<lapin::tcp::OwnedTLSConfig, TlsError> {
        let cert_chain = self.ca_pem()?.map(|pem| String::from_utf8_lossy(&pem).into_owned());
        let identity = self.client_identity_pem()?.map(|(pem, key)| lapin::tcp::OwnedIdentity::PKCS8 { pem, key });
        Ok(lapin::tcp::OwnedTLSConfig { identity, cert_chain })
    }
}
