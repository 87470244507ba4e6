//! Certificates and keys from mounted files, re-read when they change.
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rustls::{
    client::ResolvesClientCert,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    sign::CertifiedKey,
    SignatureScheme,
};

use super::TlsError;

/// How often a file's metadata is looked at again. A renewal is picked up
/// within this time; between checks a handshake costs no system call.
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(1);

pub(super) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File { path: path.display().to_string(), reason: e.to_string() })
}

pub(super) fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File { path: path.display().to_string(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::File { path: path.display().to_string(), reason: "no PEM certificate in it".into() });
    }
    Ok(certs)
}

pub(super) fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?).map_err(|e| TlsError::File { path: path.display().to_string(), reason: e.to_string() })
}

/// A certificate chain and its key, ready to sign handshakes.
pub(super) fn certified_key(cert: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let signing = rustls::crypto::ring::sign::any_supported_type(&key(key_path)?)
        .map_err(|e| TlsError::File { path: key_path.display().to_string(), reason: e.to_string() })?;
    Ok(CertifiedKey::new(certs(cert)?, signing))
}

/// What identifies a file's content without reading it. The inode is in it
/// because Kubernetes updates a mounted Secret by swapping a symlink to a
/// new directory: the new file may have the same size and modification
/// second as the old one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint(Option<(u64, std::time::SystemTime, u64)>);

fn fingerprint(path: &Path) -> Fingerprint {
    use std::os::unix::fs::MetadataExt as _;
    Fingerprint(std::fs::metadata(path).ok().and_then(|m| Some((m.len(), m.modified().ok()?, m.ino()))))
}

/// A value built from files, built again when one of them changes. A new
/// version that fails to load (a half-written renewal) is logged and the
/// old one kept, so a bad renewal never takes a serving process down.
pub(super) struct Reloading<T> {
    files: Vec<PathBuf>,
    load: Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>,
    current: ArcSwap<T>,
    seen: Mutex<(Instant, Vec<Fingerprint>)>,
}

impl<T> Reloading<T> {
    pub(super) fn new(files: Vec<PathBuf>, load: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static) -> Result<Self, TlsError> {
        let prints = files.iter().map(|f| fingerprint(f)).collect();
        let first = load()?;
        Ok(Self { files, load: Box::new(load), current: ArcSwap::from_pointee(first), seen: Mutex::new((Instant::now(), prints)) })
    }

    /// The current value, after a look at the files if the last look was
    /// more than [`CHECK_EVERY`] ago (only one caller looks; the others
    /// take the current value).
    pub(super) fn get(&self) -> Arc<T> {
        if let Some(mut seen) = self.seen.try_lock() {
            if seen.0.elapsed() >= CHECK_EVERY {
                seen.0 = Instant::now();
                let prints: Vec<Fingerprint> = self.files.iter().map(|f| fingerprint(f)).collect();
                if prints != seen.1 {
                    match (self.load)() {
                        Ok(value) => {
                            self.current.store(Arc::new(value));
                            seen.1 = prints;
                            tracing::info!(files = ?self.files, "TLS files changed: reloaded");
                        }
                        Err(e) => tracing::error!(error = %e, "TLS files changed but do not load: keeping the previous ones"),
                    }
                }
            }
        }
        self.current.load_full()
    }
}

/// The client certificate a connection shows, re-read when renewed.
pub(super) struct ClientCert(Reloading<CertifiedKey>);

impl ClientCert {
    pub(super) fn new(cert: PathBuf, key: PathBuf) -> Result<Self, TlsError> {
        let files = vec![cert.clone(), key.clone()];
        Ok(Self(Reloading::new(files, move || certified_key(&cert, &key))?))
    }
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientCert").field(&self.0.files).finish()
    }
}

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
