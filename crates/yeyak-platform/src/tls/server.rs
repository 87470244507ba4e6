//! The certificate a gRPC server serves, and the client CA its internal
//! listener requires (mutual TLS), from mounted files that cert-manager
//! renews in place: every handshake uses the files' current version.
use std::{path::PathBuf, sync::Arc, time::Duration};

use rustls::{server::WebPkiClientVerifier, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::{files, TlsError};
use crate::config::{ConfigError, Env};

/// A client that opens a connection and never finishes its handshake must
/// not hold a slot for long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `YEYAK_TLS_CERT_FILE` and `YEYAK_TLS_KEY_FILE` turn TLS on for every
/// gRPC listener; `YEYAK_TLS_CLIENT_CA_FILE` makes the internal listener
/// require a client certificate signed by that CA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerTlsSettings {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
}

impl ServerTlsSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            cert_file: env.raw("TLS_CERT_FILE").map(PathBuf::from),
            key_file: env.raw("TLS_KEY_FILE").map(PathBuf::from),
            client_ca_file: env.raw("TLS_CLIENT_CA_FILE").map(PathBuf::from),
        };
        let invalid = |reason: &str| ConfigError::Invalid { key: "YEYAK_TLS_CERT_FILE".into(), reason: reason.into() };
        if settings.cert_file.is_some() != settings.key_file.is_some() {
            return Err(invalid("set YEYAK_TLS_CERT_FILE and YEYAK_TLS_KEY_FILE together"));
        }
        if settings.client_ca_file.is_some() && settings.cert_file.is_none() {
            return Err(invalid("YEYAK_TLS_CLIENT_CA_FILE (mutual TLS) needs YEYAK_TLS_CERT_FILE and YEYAK_TLS_KEY_FILE"));
        }
        Ok(settings)
    }

    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

/// The public and the internal listener's configurations.
struct Configs {
    public: Arc<ServerConfig>,
    internal: Arc<ServerConfig>,
}

/// A server's TLS, reloaded when its files change.
pub struct ServerTls(files::Reloading<Configs>);

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

impl ServerTls {
    /// `None` when TLS is off; an error names the file that does not load.
    /// `alpn` is what the server speaks: `h2` for gRPC, `http/1.1` for the
    /// mock third parties.
    pub fn new(settings: &ServerTlsSettings, alpn: &'static [u8]) -> Result<Option<Arc<Self>>, TlsError> {
        let (Some(cert), Some(key)) = (settings.cert_file.clone(), settings.key_file.clone()) else { return Ok(None) };
        super::install_provider();
        let client_ca = settings.client_ca_file.clone();
        let mut watched = vec![cert.clone(), key.clone()];
        watched.extend(client_ca.clone());
        let reloading = files::Reloading::new(watched, move || load(&cert, &key, client_ca.as_deref(), alpn))?;
        Ok(Some(Arc::new(Self(reloading))))
    }

    /// Completes the handshake of an accepted connection with the current
    /// certificate (and, on the internal listener, the client CA).
    pub async fn accept(&self, tcp: TcpStream, internal: bool) -> std::io::Result<TlsStream<TcpStream>> {
        let configs = self.0.get();
        let config = if internal { configs.internal.clone() } else { configs.public.clone() };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

fn load(cert: &std::path::Path, key: &std::path::Path, client_ca: Option<&std::path::Path>, alpn: &[u8]) -> Result<Configs, TlsError> {
    let certified = Arc::new(files::certified_key(cert, key)?);
    let config = |verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>| {
        let builder = ServerConfig::builder();
        let builder = match verifier {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified.clone())));
        config.alpn_protocols = vec![alpn.to_vec()];
        Arc::new(config)
    };
    let verifier = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in files::certs(path)? {
                roots.add(ca).map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots)).build().map_err(|e| TlsError::Config(e.to_string()))?;
            Some(verifier)
        }
        None => None,
    };
    let internal = config(verifier);
    Ok(Configs { public: config(None), internal })
}
