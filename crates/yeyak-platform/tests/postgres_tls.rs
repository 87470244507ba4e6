//! The services' PostgreSQL connection over TLS against a real server that
//! accepts TLS only (a private `postgres` started by the test, with a
//! certificate from a CA made at test time): `sslmode=verify-full` with the
//! CA from `YEYAK_TLS_CA_FILE` connects; the same URL trusting another CA,
//! and a plain connection, are refused.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use yeyak_platform::{
    db::{self, DatabaseSettings},
    tls::TlsSettings,
};
use yeyak_testkit::{
    postgres::TlsPostgres,
    tls::{TempDir, TestCa},
};

fn settings(url: String, ca: &std::path::Path) -> DatabaseSettings {
    DatabaseSettings { tls: TlsSettings { ca_file: Some(ca.to_owned()), ..TlsSettings::default() }, ..DatabaseSettings::with_url(url) }
}

#[tokio::test]
async fn verify_full_connects_with_the_configured_ca_and_nothing_else() {
    let (ca, other_ca) = (TestCa::new("database CA"), TestCa::new("someone else's CA"));
    let dir = TempDir::new("pg-client");
    let (ca_file, other_ca_file) = (dir.write("ca.crt", ca.cert_pem()), dir.write("other.crt", other_ca.cert_pem()));
    let server = TlsPostgres::start(&ca.issue("postgres")).await.unwrap();
    let url = |mode: &str| format!("postgres://postgres@localhost:{}/yeyak_tls_test?sslmode={mode}", server.port());

    let pool = db::connect(&settings(url("verify-full"), &ca_file), true).await.unwrap();
    let (encrypted,): (bool,) = sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&pool).await.unwrap();
    assert!(encrypted, "the session is encrypted");
    pool.close().await;

    let wrong_ca = db::connect(&settings(url("verify-full"), &other_ca_file), false).await.unwrap_err();
    assert!(format!("{wrong_ca:?}").to_lowercase().contains("certificate"), "{wrong_ca:?}");
    let plain = db::connect(&settings(url("disable"), &ca_file), false).await.unwrap_err();
    assert!(format!("{plain:?}").contains("pg_hba.conf"), "the server takes TLS only: {plain:?}");
}
