//! PostgreSQL: each service owns its own database and runs its own migrations.
use std::time::Duration;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions as _, Connection as _, Executor as _, PgPool,
};

use crate::{
    config::{ConfigError, Env, Secret},
    tls::TlsSettings,
};

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `postgres://user@host:port/dbname`; may carry a password, hence secret.
    pub url: Secret<String>,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// Whether the service applies its migrations at start-up
    /// (`YEYAK_RUN_MIGRATIONS`, default true). A deployment that migrates in
    /// a separate step (the Helm hook Job running `<binary> migrate`) turns
    /// it off, so the serving pods need no DDL rights and never race it.
    pub run_migrations: bool,
    /// `YEYAK_TLS_CA_FILE` and the client certificate, used when the URL
    /// asks for TLS (`?sslmode=verify-full`) and names no files of its own.
    pub tls: TlsSettings,
}

impl DatabaseSettings {
    pub fn from_env(env: &Env, default_db: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.secret("DATABASE_URL")?.unwrap_or_else(|| Secret::new(format!("postgres://postgres@127.0.0.1:5432/{default_db}"))),
            max_connections: env.parse("DATABASE_MAX_CONNECTIONS", 16)?,
            acquire_timeout: Duration::from_millis(env.parse("DATABASE_ACQUIRE_TIMEOUT_MS", 2_000)?),
            run_migrations: env.parse("RUN_MIGRATIONS", true)?,
            tls: TlsSettings::from_env(env)?,
        })
    }

    pub fn with_url(url: String) -> Self {
        Self {
            url: Secret::new(url),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            run_migrations: true,
            tls: TlsSettings::default(),
        }
    }

    /// The URL's options (`sslmode`, `sslrootcert`, `sslcert`, `sslkey` as
    /// libpq reads them), completed with the platform's CA bundle and client
    /// certificate where the URL names none.
    fn options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let url = self.url.expose();
        let mut options = url.parse::<PgConnectOptions>()?.log_statements(tracing::log::LevelFilter::Trace);
        if let Some(ca) = self.tls.ca_file.as_ref().filter(|_| !url.contains("sslrootcert=")) {
            options = options.ssl_root_cert(ca);
        }
        if let (Some(cert), Some(key)) = (&self.tls.client_cert_file, &self.tls.client_key_file) {
            if !url.contains("sslcert=") {
                options = options.ssl_client_cert(cert).ssl_client_key(key);
            }
        }
        Ok(options)
    }

    pub fn database_name(&self) -> Option<String> {
        self.options().ok().and_then(|o| o.get_database().map(str::to_owned))
    }
}

/// Creates the database when it does not exist (dev and tests), then connects.
///
/// Connections are not pinged before each use (sqlx does by default): that
/// is one more round trip to PostgreSQL per acquire, on every statement of
/// the hot paths. A connection that died (PostgreSQL restarted) fails its
/// next statement instead, which is answered `UNAVAILABLE` like any other
/// database error, and sqlx then drops it from the pool.
pub async fn connect(settings: &DatabaseSettings, create_if_missing: bool) -> Result<PgPool, sqlx::Error> {
    let options = settings.options()?;
    if create_if_missing {
        if let Some(name) = options.get_database() {
            create_database(&options, name).await?;
        }
    }
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .connect_with(options)
        .await
}

async fn create_database(options: &PgConnectOptions, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(name).fetch_one(&mut admin).await?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        // A concurrent creator wins the race; "already exists" is fine then.
        if let Err(e) = admin.execute(format!(r#"CREATE DATABASE "{quoted}""#).as_str()).await {
            let duplicate = e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "42P04" || c == "23505");
            if !duplicate {
                return Err(e);
            }
        }
    }
    admin.close().await
}

/// Whether a database error means the database is down or saturated (a
/// dependency failure the caller may retry: `UNAVAILABLE`) rather than a bug.
/// One definition, so every service answers the same outage the same way.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // Class 08 (connection exception), 53 (insufficient resources), 57P0x (shutdown).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")),
        _ => false,
    }
}

/// Drops a database (tests clean up after themselves).
pub async fn drop_database(settings: &DatabaseSettings) -> Result<(), sqlx::Error> {
    let options = settings.options()?;
    let Some(name) = options.get_database().map(str::to_owned) else { return Ok(()) };
    let mut admin = sqlx::PgConnection::connect_with(&options.database("postgres")).await?;
    let quoted = name.replace('"', "\"\"");
    admin.execute(format!(r#"DROP DATABASE IF EXISTS "{quoted}" WITH (FORCE)"#).as_str()).await?;
    admin.close().await
}
