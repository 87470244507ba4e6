//! TLS for every connection, in one place: what a client trusts (the system
//! roots plus an optional CA bundle from a mounted file), the client
//! certificate it shows for mutual TLS, and the certificate a gRPC server
//! serves. Managed PostgreSQL, Redis and RabbitMQ, the identity providers,
//! the registry, the SMS gateway and our own internal RPCs all speak TLS;
//! each client library is handed what it needs from these settings.
//!
//! Certificates and keys are files because Kubernetes mounts Secrets as
//! files and cert-manager renews them in place: the server certificate and
//! the client certificate are re-read when their files change, without a
//! restart (see [`files::Reloading`]).
mod clients;
mod connector;
mod files;
mod policy;
mod server;

use std::{path::PathBuf, sync::Arc};

use rustls::{client::ResolvesClientCert, ClientConfig, RootCertStore};

pub use connector::TlsConnector;
pub use policy::{check_third_party_url, PlainHttp};
pub use server::{ServerTls, ServerTlsSettings};

use crate::config::{ConfigError, Env};

/// A certificate chain and its private key, as PEM.
pub type PemPair = (Vec<u8>, Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Config(String),
}

/// What an outbound connection trusts and shows (`YEYAK_TLS_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM bundle trusted in addition to the system roots: a private CA
    /// (cert-manager's, a cloud provider's database CA).
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain and key shown to servers that ask for one
    /// (mutual TLS between our services, or to a broker that requires it).
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

impl TlsSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            ca_file: env.raw("TLS_CA_FILE").map(PathBuf::from),
            client_cert_file: env.raw("TLS_CLIENT_CERT_FILE").map(PathBuf::from),
            client_key_file: env.raw("TLS_CLIENT_KEY_FILE").map(PathBuf::from),
        };
        if settings.client_cert_file.is_some() != settings.client_key_file.is_some() {
            return Err(ConfigError::Invalid {
                key: "YEYAK_TLS_CLIENT_CERT_FILE".into(),
                reason: "set YEYAK_TLS_CLIENT_CERT_FILE and YEYAK_TLS_CLIENT_KEY_FILE together".into(),
            });
        }
        // Read once now, so a wrong path stops start-up with its name.
        settings.ca_pem().map_err(|e| ConfigError::Invalid { key: "YEYAK_TLS_CA_FILE".into(), reason: e.to_string() })?;
        settings
            .client_identity_pem()
            .map_err(|e| ConfigError::Invalid { key: "YEYAK_TLS_CLIENT_CERT_FILE".into(), reason: e.to_string() })?;
        Ok(settings)
    }

    /// The extra CA bundle, as PEM (for libraries that take bytes).
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, TlsError> {
        self.ca_file.as_ref().map(|p| files::read(p)).transpose()
    }

    /// The client certificate chain and key, as PEM.
    pub fn client_identity_pem(&self) -> Result<Option<PemPair>, TlsError> {
        match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => Ok(Some((files::read(cert)?, files::read(key)?))),
            _ => Ok(None),
        }
    }

    /// A rustls client configuration: system roots plus the CA bundle, the
    /// client certificate (re-read when renewed), and the given ALPN
    /// protocols (`h2` for gRPC, `http/1.1` for the HTTP third parties).
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, TlsError> {
        install_provider();
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &self.ca_file {
            for cert in files::certs(path)? {
                roots.add(cert).map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
            }
        }
        if roots.is_empty() {
            return Err(TlsError::Config("no trusted roots: the system has none and YEYAK_TLS_CA_FILE is not set".into()));
        }
        let builder = ClientConfig::builder().with_root_certificates(roots);
        let mut config = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => {
                let resolver: Arc<dyn ResolvesClientCert> = Arc::new(files::ClientCert::new(cert.clone(), key.clone())?);
                builder.with_client_cert_resolver(resolver)
            }
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// Makes ring the process's crypto provider (the build has no other: aws-lc
/// needs cmake). Libraries that build their own rustls configs (redis,
/// lapin, sqlx) use the process default; calling this twice is harmless.
pub fn install_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
