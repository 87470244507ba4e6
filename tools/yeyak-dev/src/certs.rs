//! `yeyak-dev certs`: a throwaway CA and one certificate per service, laid
//! out as cert-manager's `kubernetes.io/tls` Secrets (`tls.crt`, `tls.key`,
//! `ca.crt`), so the chart's `tls.internal.enabled` mode can run without a
//! cluster (the chart-driven run) and without key material in the
//! repository. Test use only: a week of validity, the CA's key is dropped.
use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// How long the CA and every certificate are valid.
pub const VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Valid from a little before now, for clocks that disagree.
const BACKDATE: Duration = Duration::from_secs(3600);

/// What [`write`] made: the CA file and each service's directory.
#[derive(Debug)]
pub struct Written {
    pub ca: PathBuf,
    pub services: Vec<PathBuf>,
}

/// The names a service's certificate is valid for: its Service name, the
/// namespaced forms a client may dial, and loopback (where a local run maps
/// the Service).
pub fn subject_alt_names(name: &str, namespace: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.cluster.local"),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ]
}

/// Writes `<dir>/ca.crt` and, for each name, `<dir>/<name>/{tls.crt,tls.key,ca.crt}`.
/// Keys are written readable by the owner only.
pub fn write(dir: &Path, namespace: &str, names: &[String]) -> anyhow::Result<Written> {
    for name in names {
        anyhow::ensure!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name:?} is not a Service name (lowercase letters, digits and '-')"
        );
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("yeyak test CA ({namespace})"));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca_params, now);
    let ca_key = KeyPair::generate()?;
    let ca_pem = ca_params.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca_params, ca_key);

    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, &ca_pem).with_context(|| format!("writing {}", ca.display()))?;
    let mut services = Vec::with_capacity(names.len());
    for name in names {
        let mut params = CertificateParams::new(subject_alt_names(name, namespace))?;
        params.distinguished_name.push(DnType::CommonName, name.as_str());
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params, now);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        let out = dir.join(name);
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(out.join("tls.crt"), cert.pem())?;
        write_private(&out.join("tls.key"), &key.serialize_pem())?;
        std::fs::write(out.join("ca.crt"), &ca_pem)?;
        services.push(out);
    }
    Ok(Written { ca, services })
}

/// Valid from [`BACKDATE`] before `now` (since the epoch) to [`VALIDITY`] after it.
fn set_validity(params: &mut CertificateParams, now: Duration) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + now.saturating_sub(BACKDATE);
    params.not_after = epoch + now + VALIDITY;
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::{
        client::{danger::ServerCertVerifier as _, WebPkiServerVerifier},
        pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer, ServerName, UnixTime},
        server::WebPkiClientVerifier,
        sign::CertifiedKey,
        RootCertStore,
    };

    use super::*;

    /// A fresh directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
            Self(std::env::temp_dir().join(format!("yeyak-dev-certs-{}-{nanos}", std::process::id())))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn every_service_gets_a_secret_valid_for_its_service_names_and_loopback_as_server_and_client() {
        let dir = Scratch::new();
        let names = vec!["yeyak-identity".to_owned(), "yeyak-inventory".to_owned()];
        let written = write(&dir.0, "yeyak", &names).unwrap();
        assert_eq!(written.ca, dir.0.join("ca.crt"));

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(&written.ca).unwrap()).unwrap();
        let roots = Arc::new(roots);
        let as_server = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build().unwrap();
        let as_client = WebPkiClientVerifier::builder_with_provider(roots, provider.clone()).build().unwrap();
        let now = UnixTime::now();

        for (name, out) in names.iter().zip(&written.services) {
            assert_eq!(out, &dir.0.join(name));
            // cert-manager's layout: the certificate, its PKCS#8 key, the CA.
            let cert = CertificateDer::from_pem_file(out.join("tls.crt")).unwrap();
            let key = PrivateKeyDer::from_pem_file(out.join("tls.key")).unwrap();
            assert!(matches!(key, PrivateKeyDer::Pkcs8(_)), "{name}: the key must be PKCS#8");
            assert_eq!(std::fs::read(out.join("ca.crt")).unwrap(), std::fs::read(&written.ca).unwrap());
            let signing = provider.key_provider.load_private_key(key).unwrap();
            CertifiedKey::new(vec![cert.clone()], signing).keys_match().unwrap();

            for dialled in [
                name.clone(),
                format!("{name}.yeyak.svc"),
                format!("{name}.yeyak.svc.cluster.local"),
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ] {
                let server_name = ServerName::try_from(dialled.clone()).unwrap();
                if let Err(e) = as_server.verify_server_cert(&cert, &[], &server_name, &[], now) {
                    panic!("{name} as the server {dialled}: {e}");
                }
            }
            let other = ServerName::try_from("yeyak-admission").unwrap();
            assert!(as_server.verify_server_cert(&cert, &[], &other, &[], now).is_err(), "{name} passes as another service");
            as_client.verify_client_cert(&cert, &[], now).unwrap();

            // A week, no more.
            let own = ServerName::try_from(name.clone()).unwrap();
            let later = |days: u64| UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs() + days * 24 * 3600));
            as_server.verify_server_cert(&cert, &[], &own, &[], later(6)).unwrap();
            assert!(as_server.verify_server_cert(&cert, &[], &own, &[], later(8)).is_err());

            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(out.join("tls.key")).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{name}: the key is readable by others ({mode:o})");
            }
        }

        // Another run's CA trusts none of these.
        let elsewhere = Scratch::new();
        let theirs = write(&elsewhere.0, "yeyak", &names[..1]).unwrap();
        let mut their_roots = RootCertStore::empty();
        their_roots.add(CertificateDer::from_pem_file(&theirs.ca).unwrap()).unwrap();
        let their_clients = WebPkiClientVerifier::builder_with_provider(Arc::new(their_roots), provider).build().unwrap();
        let ours = CertificateDer::from_pem_file(written.services[0].join("tls.crt")).unwrap();
        assert!(their_clients.verify_client_cert(&ours, &[], now).is_err());
    }

    #[test]
    fn only_service_names_make_directories() {
        let dir = Scratch::new();
        for bad in ["", "../etc", "Yeyak", "a/b", "a.b"] {
            assert!(write(&dir.0, "yeyak", &[bad.to_owned()]).is_err(), "{bad:?} accepted");
        }
        assert!(!dir.0.exists(), "nothing is written for a refused name");
    }
}
