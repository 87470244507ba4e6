//! Configuration layered from defaults and `YEYAK_*` environment variables.
//!
//! Each service declares its own settings struct and fills it with [`Env`];
//! defaults work on a developer machine, production overrides them.
use std::{fmt, str::FromStr};

/// Where a service runs. Dev mode may generate missing keys; production
/// refuses to start without them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Production,
}

impl FromStr for Environment {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" | "development" | "local" => Ok(Self::Dev),
            "prod" | "production" => Ok(Self::Production),
            other => {
                Err(ConfigError::Invalid { key: "YEYAK_ENV".into(), reason: format!("unknown environment {other:?} (dev or production)") })
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key} is required: {reason}")]
    Missing { key: String, reason: String },
    #[error("{key} is invalid: {reason}")]
    Invalid { key: String, reason: String },
}

pub use crate::secret::Secret;

/// Reads `YEYAK_*` variables with a prefix-free key, e.g. `env.get("GRPC_ADDR")`
/// reads `YEYAK_GRPC_ADDR`. A source map can replace the process environment,
/// so tests build configs without touching global state.
#[derive(Clone, Debug, Default)]
pub struct Env {
    overrides: Option<std::collections::HashMap<String, String>>,
}

impl Env {
    /// Reads the process environment.
    pub fn process() -> Self {
        Self { overrides: None }
    }

    /// Reads only the given pairs (keys without the `YEYAK_` prefix).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { overrides: Some(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()) }
    }

    pub fn raw(&self, key: &str) -> Option<String> {
        match &self.overrides {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(format!("YEYAK_{key}")).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    pub fn string(&self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or_else(|| default.to_owned())
    }

    pub fn parse<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: e.to_string() }),
        }
    }

    pub fn environment(&self) -> Result<Environment, ConfigError> {
        self.parse("ENV", Environment::Dev)
    }

    /// A secret setting, from `YEYAK_<KEY>` or from the file named by
    /// `YEYAK_<KEY>_FILE` (how Kubernetes mounts Secrets; one of the two).
    pub fn secret(&self, key: &str) -> Result<Option<Secret<String>>, ConfigError> {
        let file_key = format!("{key}_FILE");
        match (self.raw(key), self.raw(&file_key)) {
            (Some(_), Some(_)) => {
                Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: format!("set YEYAK_{key} or YEYAK_{file_key}, not both") })
            }
            (Some(value), None) => Ok(Some(Secret::new(value))),
            (None, Some(path)) => crate::secret::read_file(std::path::Path::new(&path))
                .map(Some)
                .map_err(|reason| ConfigError::Invalid { key: format!("YEYAK_{file_key}"), reason }),
            (None, None) => Ok(None),
        }
    }
}

/// Settings every gRPC service has.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Address of the gRPC listener; port 0 picks a free port (tests).
    pub grpc_addr: String,
    /// Address of the internal gRPC listener (RPCs only other services
    /// call), bound only by a service that has internal RPCs.
    pub internal_grpc_addr: String,
    /// Address of the Prometheus `/metrics` listener; empty disables it.
    pub metrics_addr: String,
    /// Address of a plaintext listener serving only gRPC health checks
    /// (`YEYAK_HEALTH_GRPC_ADDR`; empty: none). Kubernetes' native gRPC
    /// probes cannot speak TLS, so a service whose listeners serve TLS
    /// gives its probes this port.
    pub health_grpc_addr: String,
    /// In-flight RPCs allowed at once before new ones are shed.
    pub max_concurrent_rpcs: usize,
    /// Server-side deadline for any RPC.
    pub request_timeout: std::time::Duration,
    /// Time given to in-flight RPCs after SIGTERM before the server stops.
    pub shutdown_grace: std::time::Duration,
    /// TLS on the listeners (off unless a certificate is configured).
    pub tls: crate::tls::ServerTlsSettings,
}

impl ServerSettings {
    pub fn from_env(env: &Env, default_grpc_port: u16, default_metrics_port: u16) -> Result<Self, ConfigError> {
        let grpc_addr = env.string("GRPC_ADDR", &format!("127.0.0.1:{default_grpc_port}"));
        // On the public listener's host, 10 ports above the service's default
        // public port; a public port 0 (tests) makes it 0 too.
        let internal_default = match grpc_addr.rsplit_once(':') {
            Some((host, "0")) => format!("{host}:0"),
            Some((host, _)) => format!("{host}:{}", default_grpc_port.saturating_add(10)),
            None => format!("127.0.0.1:{}", default_grpc_port.saturating_add(10)),
        };
        Ok(Self {
            internal_grpc_addr: env.string("INTERNAL_GRPC_ADDR", &internal_default),
            grpc_addr,
            health_grpc_addr: env.string("HEALTH_GRPC_ADDR", ""),
            // "off" disables the listener (tests run many services in one process).
            metrics_addr: Some(env.string("METRICS_ADDR", &format!("127.0.0.1:{default_metrics_port}")))
                .filter(|a| a != "off")
                .unwrap_or_default(),
            max_concurrent_rpcs: env.parse("MAX_CONCURRENT_RPCS", 1024)?,
            request_timeout: std::time::Duration::from_millis(env.parse("REQUEST_TIMEOUT_MS", 5_000)?),
            shutdown_grace: std::time::Duration::from_millis(env.parse("SHUTDOWN_GRACE_MS", 10_000)?),
            tls: crate::tls::ServerTlsSettings::from_env(env)?,
        })
    }

    /// Port 0 everywhere, no metrics listener: what integration tests want.
    pub fn ephemeral() -> Self {
        Self {
            grpc_addr: "127.0.0.1:0".into(),
            internal_grpc_addr: "127.0.0.1:0".into(),
            metrics_addr: String::new(),
            health_grpc_addr: String::new(),
            max_concurrent_rpcs: 1024,
            request_timeout: std::time::Duration::from_secs(10),
            shutdown_grace: std::time::Duration::from_secs(5),
            tls: crate::tls::ServerTlsSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn env_overrides_and_parse_errors_name_the_key() {
        let env = Env::from_pairs([("MAX_CONCURRENT_RPCS", "many")]);
        let err = ServerSettings::from_env(&env, 1, 2).unwrap_err().to_string();
        assert!(err.contains("YEYAK_MAX_CONCURRENT_RPCS"), "{err}");
        let env = Env::from_pairs([("GRPC_ADDR", "0.0.0.0:9")]);
        assert_eq!(ServerSettings::from_env(&env, 1, 2).unwrap().internal_grpc_addr, "0.0.0.0:11");
        let tests = Env::from_pairs([("GRPC_ADDR", "127.0.0.1:0")]);
        assert_eq!(ServerSettings::from_env(&tests, 1, 2).unwrap().internal_grpc_addr, "127.0.0.1:0");
        assert_eq!(ServerSettings::from_env(&env, 1, 2).unwrap().grpc_addr, "0.0.0.0:9");
    }

    #[test]
    fn environment_parses() {
        assert_eq!("production".parse::<Environment>().unwrap(), Environment::Production);
        assert!("staging?".parse::<Environment>().is_err());
    }
}
