//! Admission settings from `YEYAK_*` variables.
mod control;

use std::{collections::HashMap, time::Duration};

use yeyak_platform::{
    config::{ConfigError, Env, Environment, ServerSettings},
    db::DatabaseSettings,
    messaging::AmqpSettings,
    operators::Operators,
    redis_store::RedisSettings,
    sessions::SessionsSettings,
    tokens::{self, HmacKey, HmacKeys, Issuer, KeyRing, SigningKey},
};

use crate::domain::{
    control::ControlSettings,
    proof,
    source::{JoinRate, JoinRules, Networks},
    QueueDefaults,
};

/// The database admission uses unless `YEYAK_DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE: &str = "yeyak_admission";

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    /// What must outlive Redis: settings, high-water marks, admitted batches.
    pub database: DatabaseSettings,
    /// Places (and lottery entries) reserved in PostgreSQL at a time: the
    /// most a loss of Redis skips, and one PostgreSQL write per this many joins.
    pub place_block: u64,
    /// Reservation events free the seat of whoever just booked.
    pub amqp: AmqpSettings,
    /// Signs tickets and passes.
    pub signing_key: SigningKey,
    /// Sign and verify queue tickets, which only admission ever reads.
    pub ticket_keys: HmacKeys,
    pub queue_ids: Vec<String>,
    /// Opening instant (unix ms) per queue; arrivals before it join the lottery.
    pub opens_at_ms: HashMap<String, i64>,
    /// The operators of the operator API, by name and role
    /// (`YEYAK_OPERATORS`, docs/operators.md); none refuses every call.
    pub operators: Operators,
    /// The admission keys published as JWKS: the signing key and the older
    /// admission keys still listed in `YEYAK_TRUSTED_KEYS`.
    pub published_keys: KeyRing,
    /// How long ended sessions stay in their stream: at least a pass's life.
    pub ended_retention: Duration,
    /// Rate a queue starts with until an operator changes it.
    pub default_rate_per_second: f64,
    pub default_max_active: u64,
    /// Lifetime of a pass, and of the seat it holds.
    pub pass_ttl: Duration,
    pub ticket_ttl: Duration,
    /// How often each replica advances the admission frontier.
    pub tick: Duration,
    /// Unused admission credit kept, as time at the configured rate.
    pub burst: Duration,
    /// Limits on new entries per client key and per source, per replica
    /// (`docs/stuffing.md`).
    pub join: JoinRules,
    /// Proof of work per queue (leading zero bits); absent or 0: none.
    pub proof_bits: HashMap<String, u8>,
    /// Identity-first events: each needs an identity assertion verified
    /// under a pass of its verification queue (event → that queue).
    pub identity_first: HashMap<String, String>,
    /// Every join must come with a device proof, so every pass is bound to
    /// a device key (`YEYAK_DEVICE_BINDING` = `required` | `optional`; required
    /// outside dev mode). Optional: a join with a proof still binds.
    pub device_keys_required: bool,
    /// The automatic admission rate (`YEYAK_ADMISSION_CONTROL_*`); without
    /// targets the controller does not run.
    pub control: ControlSettings,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let signing_key = tokens::config::signing_key(env, Issuer::Admission)?;
        // From YEYAK_TICKET_KEYS_FILE, re-read when the file changes.
        let ticket_keys = match tokens::config::hmac_keys(env, "TICKET_KEYS")? {
            Some(keys) => keys,
            None if env.environment()? == Environment::Dev => derived_ticket_keys(&signing_key),
            None => {
                return Err(ConfigError::Missing {
                    key: "YEYAK_TICKET_KEYS".into(),
                    reason: "tickets need their own secret key outside dev mode".into(),
                })
            }
        };
        let operators = Operators::from_env(env)?;
        let published_keys = tokens::config::trusted_keys(env, Some(&signing_key))?;
        let pass_ttl = Duration::from_secs(env.parse("PASS_TTL_SECONDS", 1_200)?);
        // They seed the catalog of booking events, whose ids they must fit.
        if let Some(bad) = tokens::config::queue_ids(env).into_iter().find(|q| !crate::domain::valid_id(q)) {
            return Err(ConfigError::Invalid {
                key: "YEYAK_QUEUE_IDS".into(),
                reason: format!("{bad:?}: an event id is 1 to 32 of a-z, 0-9 and '-', not starting with '-'"),
            });
        }
        Ok(Self {
            server: ServerSettings::from_env(env, 50051, 9101)?,
            redis: RedisSettings::from_env(env)?,
            database: DatabaseSettings::from_env(env, DEFAULT_DATABASE)?,
            place_block: env.parse("PLACE_BLOCK", 128)?.max(1),
            amqp: AmqpSettings::from_env(env)?,
            signing_key,
            ended_retention: SessionsSettings::from_env(env)?.retention.max(pass_ttl),
            ticket_keys,
            queue_ids: tokens::config::queue_ids(env),
            opens_at_ms: parse_openings(&env.string("QUEUE_OPENS_AT", ""))?,
            operators,
            default_rate_per_second: env.parse("ADMISSION_RATE", 50.0)?,
            default_max_active: env.parse("MAX_ACTIVE_SESSIONS", 10_000)?,
            pass_ttl,
            ticket_ttl: Duration::from_secs(env.parse("TICKET_TTL_SECONDS", 86_400)?),
            tick: Duration::from_millis(env.parse("ADMISSION_TICK_MS", 100)?),
            burst: Duration::from_millis(env.parse("ADMISSION_BURST_MS", 250)?),
            join: join_rules(env)?,
            proof_bits: parse_proof_bits(&env.string("JOIN_POW_BITS", ""), &tokens::config::queue_ids(env))?,
            device_keys_required: device_keys_required(env)?,
            identity_first: identity_first(&env.string("JOIN_REQUIRE_IDENTITY", ""), &tokens::config::queue_ids(env), &published_keys)?,
            published_keys,
            control: control::control(env)?,
        })
    }

    /// What `queue` starts with until an operator changes it.
    pub(crate) fn defaults(&self, queue: &str) -> QueueDefaults {
        QueueDefaults {
            rate: self.default_rate_per_second,
            max_active: self.default_max_active,
            opens_at_ms: self.opens_at_ms.get(queue).copied().unwrap_or(0),
            session_ttl: self.pass_ttl,
            burst: self.burst,
        }
    }
}

fn device_keys_required(env: &Env) -> Result<bool, ConfigError> {
    let default = if env.environment()? == Environment::Dev { "optional" } else { "required" };
    match env.string("DEVICE_BINDING", default).trim() {
        "required" => Ok(true),
        "optional" => Ok(false),
        other => {
            Err(ConfigError::Invalid { key: "YEYAK_DEVICE_BINDING".into(), reason: format!("{other:?} is neither required nor optional") })
        }
    }
}

/// Dev mode only: a ticket key derived from the signing key, so that dev
/// replicas sharing a signing key also share their ticket key.
fn derived_ticket_keys(signing: &SigningKey) -> HmacKeys {
    use sha2::{Digest as _, Sha256};
    let secret = Sha256::new().chain_update(b"yeyak-ticket-key-v1:").chain_update(signing.secret_spec().as_bytes()).finalize();
    HmacKeys::new(HmacKey::new(&format!("t-{}", signing.kid()), &secret), [])
}

/// The join limits. Defaults: a client key may join 3 times at once and 3
/// times a minute after that; a source address 500 at once and 1200 a
/// minute (a carrier NAT puts thousands of people behind one address). In
/// dev mode loopback is unlimited (load generators on the same host); in
/// production nothing is unless configured (`none` empties the list).
fn join_rules(env: &Env) -> Result<JoinRules, ConfigError> {
    let networks = |key: &str, default: &str| {
        let spec = env.string(key, default);
        let spec = if spec.trim() == "none" { String::new() } else { spec };
        Networks::parse(&spec).map_err(|reason| ConfigError::Invalid { key: format!("YEYAK_{key}"), reason })
    };
    let unlimited = if env.environment()? == Environment::Dev { "127.0.0.0/8,::1" } else { "none" };
    Ok(JoinRules {
        per_client: JoinRate { burst: env.parse("JOIN_CLIENT_BURST", 3)?, per_minute: env.parse("JOIN_CLIENT_PER_MINUTE", 3)? },
        per_source: JoinRate { burst: env.parse("JOIN_SOURCE_BURST", 500)?, per_minute: env.parse("JOIN_SOURCE_PER_MINUTE", 1200)? },
        trusted_proxies: networks("TRUSTED_PROXIES", "")?,
        unlimited: networks("JOIN_UNLIMITED_SOURCES", unlimited)?,
        challenge_ttl: Duration::from_secs(env.parse("JOIN_CHALLENGE_TTL_SECONDS", 120)?.max(1)),
    })
}

/// `queue=bits` pairs, comma-separated; `*=bits` applies to every queue not
/// named. At most [`proof::MAX_BITS`].
fn parse_proof_bits(spec: &str, queues: &[String]) -> Result<HashMap<String, u8>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { key: "YEYAK_JOIN_POW_BITS".into(), reason };
    let mut every = None;
    let mut bits = HashMap::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (queue, value) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not queue=bits")))?;
        let value: u8 = value.trim().parse().map_err(|e| invalid(format!("{value:?}: {e}")))?;
        if value > proof::MAX_BITS {
            return Err(invalid(format!("{value} bits is more than {}", proof::MAX_BITS)));
        }
        let queue = queue.trim();
        let earlier = if queue == "*" { every.replace(value) } else { bits.insert(queue.to_owned(), value) };
        if earlier.is_some() {
            return Err(invalid(format!("{queue:?} is named twice")));
        }
    }
    if let Some(value) = every {
        for queue in queues {
            bits.entry(queue.clone()).or_insert(value);
        }
    }
    Ok(bits)
}

/// `event=verification queue` pairs, comma-separated: both served here, and
/// identity's public key trusted (else no assertion could ever verify).
fn identity_first(spec: &str, queues: &[String], ring: &KeyRing) -> Result<HashMap<String, String>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { key: "YEYAK_JOIN_REQUIRE_IDENTITY".into(), reason };
    let mut events = HashMap::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (event, verify_in) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not event=verification queue")))?;
        let (event, verify_in) = (event.trim(), verify_in.trim());
        if event == verify_in || ![event, verify_in].iter().all(|q| queues.iter().any(|known| known == q)) {
            return Err(invalid(format!("{entry:?}: two different queues of YEYAK_QUEUE_IDS")));
        }
        if events.insert(event.to_owned(), verify_in.to_owned()).is_some() {
            return Err(invalid(format!("{event:?} is named twice")));
        }
    }
    if !events.is_empty() && ring.keys_of(Issuer::Identity).is_empty() {
        return Err(invalid("identity's public key is not in YEYAK_TRUSTED_KEYS".into()));
    }
    Ok(events)
}

/// `queue=RFC 3339 instant` pairs, comma-separated, e.g.
/// `round3=2021-07-12T20:00:00+09:00`.
fn parse_openings(spec: &str) -> Result<HashMap<String, i64>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { key: "YEYAK_QUEUE_OPENS_AT".into(), reason };
    let mut openings = HashMap::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (queue, at) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not queue=instant")))?;
        let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| invalid(format!("{at:?}: {e}")))?;
        if openings.insert(queue.to_owned(), at.timestamp_millis()).is_some() {
            return Err(invalid(format!("{queue:?} is named twice")));
        }
    }
    Ok(openings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_parse_with_their_offset() {
        let m = parse_openings("r3=2021-07-12T20:00:00+09:00, demo=2021-07-12T11:00:00Z").unwrap();
        assert_eq!(m["r3"], m["demo"]);
        assert!(parse_openings("r3=tonight").unwrap_err().to_string().contains("YEYAK_QUEUE_OPENS_AT"));
        let twice = parse_openings("r3=2021-07-12T20:00:00+09:00,r3=2021-07-13T20:00:00+09:00").unwrap_err();
        assert!(twice.to_string().contains("named twice"), "{twice}");
    }

    #[test]
    fn proof_bits_parse_per_queue_with_a_default() {
        let queues = ["a".to_owned(), "b".to_owned()];
        let m = parse_proof_bits("a=20, *=8", &queues).unwrap();
        assert_eq!((m["a"], m["b"]), (20, 8));
        assert!(parse_proof_bits("a=33", &queues).unwrap_err().to_string().contains("YEYAK_JOIN_POW_BITS"));
        for twice in ["a=20,a=8", "*=1,b=2,*=3"] {
            assert!(parse_proof_bits(twice, &queues).unwrap_err().to_string().contains("named twice"), "{twice}");
        }
    }

    #[test]
    fn identity_first_events_name_two_served_queues_and_need_identitys_key() {
        let queues = ["r3".to_owned(), "r3-verify".to_owned()];
        let identity = SigningKey::generate(Issuer::Identity, "i1");
        let mut ring = KeyRing::parse("").unwrap();
        assert!(identity_first("r3=r3-verify", &queues, &ring).unwrap_err().to_string().contains("public key"));
        ring.trust(&identity);
        assert_eq!(identity_first(" r3 = r3-verify ", &queues, &ring).unwrap()["r3"], "r3-verify");
        for bad in ["r3=r3", "r3=other", "r3", "r3=r3-verify,r3=r3-verify"] {
            assert!(identity_first(bad, &queues, &ring).is_err(), "{bad}");
        }
        assert!(identity_first("", &queues, &KeyRing::parse("").unwrap()).unwrap().is_empty());
    }
}
