//! Reservation settings from `YEYAK_*` variables.
use std::time::Duration;

use yeyak_platform::{
    config::{ConfigError, Env, ServerSettings},
    contact::{self, ContactSealer},
    db::DatabaseSettings,
    messaging::AmqpSettings,
    operators::Operators,
    tls::TlsSettings,
    tokens::{self, KeyRing},
};

pub const DEFAULT_DATABASE: &str = "yeyak_reservation";

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    /// Verifies admission passes and identity assertions.
    pub trusted: KeyRing,
    pub queue_ids: Vec<String>,
    /// The ended sessions the pass check follows (docs/admission.md).
    pub sessions: yeyak_platform::sessions::SessionsSettings,
    /// SlotCatalogService (internal, no pass).
    pub inventory_addr: String,
    /// EligibilityService (behind the pass: the caller's pass is forwarded).
    pub eligibility_addr: String,
    /// For `https://` addresses: CA bundle and client certificate (`YEYAK_TLS_*`).
    pub tls: TlsSettings,
    /// Deadline of every outbound call: a slow dependency fails the booking
    /// fast instead of holding the caller (and a server slot) indefinitely.
    pub outbound_timeout: Duration,
    /// How long a replica refuses a slot it found full without asking
    /// eligibility or the database again (`app/full.rs`); 0 turns
    /// the memory off.
    pub full_slot_window: Duration,
    /// Seals phone numbers to notification's current public key
    /// (`YEYAK_CONTACT_PUBLIC_KEY`, `kid:base64(X25519 public key)`):
    /// this service never holds a number it could read back.
    pub contact: ContactSealer,
    /// Who may call the supply-change operator API (`YEYAK_OPERATORS`,
    /// docs/operators.md). `yeyak-reservation migrate` reads none of this.
    pub operators: Operators,
    /// Workers of supply-change jobs in this replica (`YEYAK_SUPPLY_WORKERS`,
    /// 0 to 8): each moves one booking per transaction; 0 leaves the jobs to
    /// other replicas.
    pub supply_workers: usize,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let outbound_timeout = Duration::from_millis(env.parse("OUTBOUND_TIMEOUT_MS", 2_000)?);
        if outbound_timeout.is_zero() {
            return Err(ConfigError::Invalid { key: "YEYAK_OUTBOUND_TIMEOUT_MS".into(), reason: "must be positive".into() });
        }
        let supply_workers: usize = env.parse("SUPPLY_WORKERS", 2)?;
        if supply_workers > 8 {
            return Err(ConfigError::Invalid { key: "YEYAK_SUPPLY_WORKERS".into(), reason: "at most 8".into() });
        }
        Ok(Self {
            server: ServerSettings::from_env(env, 50055, 9105)?,
            database: DatabaseSettings::from_env(env, DEFAULT_DATABASE)?,
            amqp: AmqpSettings::from_env(env)?,
            trusted: tokens::config::trusted_keys(env, None)?,
            queue_ids: tokens::config::queue_ids(env),
            sessions: yeyak_platform::sessions::SessionsSettings::from_env(env)?,
            inventory_addr: env.string("INVENTORY_ADDR", "127.0.0.1:50064"),
            tls: TlsSettings::from_env(env)?,
            eligibility_addr: env.string("ELIGIBILITY_ADDR", "127.0.0.1:50053"),
            outbound_timeout,
            full_slot_window: Duration::from_millis(env.parse("FULL_SLOT_WINDOW_MS", 250)?),
            contact: contact::sealer_from_env(env)?,
            operators: Operators::from_env(env)?,
            supply_workers,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_env(&Env::from_pairs([("ENV", "dev")])).unwrap();
        assert_eq!(c.server.grpc_addr, "127.0.0.1:50055");
        assert_eq!(c.server.metrics_addr, "127.0.0.1:9105");
        assert_eq!(c.database.database_name().as_deref(), Some(DEFAULT_DATABASE));
        assert_eq!((c.inventory_addr.as_str(), c.eligibility_addr.as_str()), ("127.0.0.1:50064", "127.0.0.1:50053"));
        assert_eq!(c.outbound_timeout, Duration::from_secs(2));
        assert_eq!(c.full_slot_window, Duration::from_millis(250));
        assert_eq!((c.supply_workers, c.operators.names().len()), (2, 0));
        assert!(Config::from_env(&Env::from_pairs([("SUPPLY_WORKERS", "9")])).is_err());
        let c = Config::from_env(&Env::from_pairs([("OPERATORS", "kim.ops:operator:0123456789abcdefghijklmnop")])).unwrap();
        assert_eq!(c.operators.names(), ["kim.ops"]);
        let c = Config::from_env(&Env::from_pairs([("OUTBOUND_TIMEOUT_MS", "150"), ("INVENTORY_ADDR", "inv:1")])).unwrap();
        assert_eq!((c.outbound_timeout, c.inventory_addr.as_str()), (Duration::from_millis(150), "inv:1"));
        assert!(Config::from_env(&Env::from_pairs([("OUTBOUND_TIMEOUT_MS", "0")])).is_err());
        assert!(Config::from_env(&Env::from_pairs([("ENV", "production")])).is_err(), "production needs trusted keys");
        let public = contact::ContactKeys::generate("n1").sealer().public_entry();
        let c = Config::from_env(&Env::from_pairs([("CONTACT_PUBLIC_KEY", public.as_str())])).unwrap();
        assert_eq!(c.contact.public_entry(), public);
        assert!(Config::from_env(&Env::from_pairs([("CONTACT_PUBLIC_KEY", "n1:short")])).is_err());
    }
}
