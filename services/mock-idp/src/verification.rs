//! The provider's open verification transactions, in memory.
//!
//! A transaction lives for the configured TTL, can be confirmed once, and
//! dies after [`MAX_WRONG_ATTEMPTS`] wrong codes so a code cannot be guessed.
//! The inbox plays the person's phone: the latest SMS or push per number.
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use rand::Rng as _;
use uuid::Uuid;
use yeyak_platform::pseudonym::Rrn;

use crate::config::ProviderKind;

/// Wrong codes tolerated before the transaction is dead (410).
pub const MAX_WRONG_ATTEMPTS: u32 = 5;
/// How often expired entries are swept; lookups check expiry themselves.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Who the person claims to be; returned only on successful confirmation.
/// `Debug` is redacted so that no stray `?identity` can log personal data.
#[derive(Clone)]
pub struct Identity {
    pub name: String,
    pub rrn: Rrn,
    pub phone: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity([redacted])")
    }
}

#[derive(Debug)]
struct Transaction {
    identity: Identity,
    /// `None` for app approval: there is nothing to type.
    code: Option<String>,
    approved: bool,
    wrong_attempts: u32,
    expires_at: Instant,
}

#[derive(Debug)]
struct InboxEntry {
    transaction_id: Uuid,
    code: String,
    expires_at: Instant,
}

#[derive(Debug)]
struct Inner {
    transactions: HashMap<Uuid, Transaction>,
    inbox: HashMap<String, InboxEntry>,
    /// `Idempotency-Key` of a start → the transaction it opened.
    started_by_key: HashMap<String, (Uuid, Instant)>,
    next_sweep: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConfirmError {
    /// Never existed, expired, or already confirmed (404).
    Unknown,
    /// Too many wrong codes (410).
    Dead,
    /// App approval not given yet (409).
    Pending,
    /// The code does not match (401).
    WrongCode { attempts_left: u32 },
}

#[derive(Debug, PartialEq, Eq)]
pub enum ApproveError {
    Unknown,
    /// This provider sends codes; there is no app to approve in (409).
    NotAnApprovalProvider,
}

/// Cheap to clone; all clones share the same transactions.
#[derive(Clone, Debug)]
pub struct Verifications {
    kind: ProviderKind,
    ttl: Duration,
    inner: Arc<Mutex<Inner>>,
}

impl Verifications {
    pub fn new(kind: ProviderKind, ttl: Duration) -> Self {
        let inner =
            Inner { transactions: HashMap::new(), inbox: HashMap::new(), started_by_key: HashMap::new(), next_sweep: Instant::now() };
        Self { kind, ttl, inner: Arc::new(Mutex::new(inner)) }
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a transaction and "delivers" the code or push to the phone.
    pub fn start(&self, identity: Identity) -> Uuid {
        self.start_once(identity, None).0
    }

    /// Like [`start`](Self::start), but a repeated `idempotency_key` returns
    /// the transaction the first call opened (and sends nothing again) while
    /// that transaction lives, so callers may retry a start safely.
    /// Returns the transaction id and whether it is a replay.
    pub fn start_once(&self, identity: Identity, idempotency_key: Option<&str>) -> (Uuid, bool) {
        let now = Instant::now();
        let expires_at = now + self.ttl;
        let code = match self.kind {
            ProviderKind::SmsCode => Some(format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))),
            ProviderKind::AppApproval => None,
        };
        let id = Uuid::new_v4();
        let mut inner = self.inner.lock();
        if now >= inner.next_sweep {
            inner.transactions.retain(|_, t| t.expires_at > now);
            inner.inbox.retain(|_, m| m.expires_at > now);
            inner.started_by_key.retain(|_, (_, e)| *e > now);
            inner.next_sweep = now + SWEEP_EVERY;
        }
        if let Some(key) = idempotency_key {
            if let Some((id, e)) = inner.started_by_key.get(key) {
                if *e > now {
                    return (*id, true);
                }
            }
            inner.started_by_key.insert(key.to_owned(), (id, expires_at));
        }
        let message = InboxEntry { transaction_id: id, code: code.clone().unwrap_or_default(), expires_at };
        inner.inbox.insert(identity.phone.clone(), message);
        let transaction = Transaction { identity, code, approved: false, wrong_attempts: 0, expires_at };
        inner.transactions.insert(id, transaction);
        (id, false)
    }

    /// The latest unexpired message on `phone`: (transaction id, code).
    pub fn inbox(&self, phone: &str) -> Option<(Uuid, String)> {
        let inner = self.inner.lock();
        let message = inner.inbox.get(phone).filter(|m| m.expires_at > Instant::now())?;
        Some((message.transaction_id, message.code.clone()))
    }

    /// The person taps "approve" in the certificate app.
    pub fn approve(&self, id: Uuid) -> Result<(), ApproveError> {
        if self.kind != ProviderKind::AppApproval {
            return Err(ApproveError::NotAnApprovalProvider);
        }
        let mut inner = self.inner.lock();
        let transaction = live(&mut inner, id).map_err(|_| ApproveError::Unknown)?;
        transaction.approved = true;
        Ok(())
    }

    /// Checks the code (or the approval) and, on success, consumes the
    /// transaction: a confirmation cannot be replayed.
    pub fn confirm(&self, id: Uuid, code: &str) -> Result<Identity, ConfirmError> {
        let mut inner = self.inner.lock();
        let transaction = live(&mut inner, id)?;
        if transaction.wrong_attempts >= MAX_WRONG_ATTEMPTS {
            return Err(ConfirmError::Dead);
        }
        match &transaction.code {
            Some(expected) if expected != code => {
                transaction.wrong_attempts += 1;
                return Err(ConfirmError::WrongCode { attempts_left: MAX_WRONG_ATTEMPTS - transaction.wrong_attempts });
            }
            None if !transaction.approved => return Err(ConfirmError::Pending),
            _ => {}
        }
        inner.transactions.remove(&id).map(|t| t.identity).ok_or(ConfirmError::Unknown)
    }
}

/// The transaction if it exists and has not expired; an expired one is removed.
fn live(inner: &mut Inner, id: Uuid) -> Result<&mut Transaction, ConfirmError> {
    if inner.transactions.get(&id).is_some_and(|t| t.expires_at <= Instant::now()) {
        inner.transactions.remove(&id);
    }
    inner.transactions.get_mut(&id).ok_or(ConfirmError::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone() -> Identity {
        let birth = chrono::NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
        Identity { name: "김민준".into(), rrn: Rrn::synthesize(birth, false, 42), phone: "01012345678".into() }
    }

    #[test]
    fn identities_never_print_personal_data() {
        assert_eq!(format!("{:?}", someone()), "Identity([redacted])");
    }

    #[test]
    fn expired_transactions_are_unknown() {
        let v = Verifications::new(ProviderKind::SmsCode, Duration::ZERO);
        let id = v.start(someone());
        assert_eq!(v.inbox("01012345678"), None);
        assert_eq!(v.confirm(id, "000000").map(|_| ()), Err(ConfirmError::Unknown));
    }

    #[test]
    fn approval_is_only_for_app_providers() {
        let sms = Verifications::new(ProviderKind::SmsCode, DEFAULT_TTL_FOR_TESTS);
        let id = sms.start(someone());
        assert_eq!(sms.approve(id), Err(ApproveError::NotAnApprovalProvider));
        let app = Verifications::new(ProviderKind::AppApproval, DEFAULT_TTL_FOR_TESTS);
        let id = app.start(someone());
        assert_eq!(app.inbox("01012345678"), Some((id, String::new())));
        assert_eq!(app.confirm(id, "").map(|_| ()), Err(ConfirmError::Pending));
        app.approve(id).unwrap();
        assert_eq!(app.confirm(id, "").unwrap().name, "김민준");
        assert_eq!(app.approve(id), Err(ApproveError::Unknown), "consumed");
    }

    #[test]
    fn a_repeated_idempotency_key_replays_the_first_start() {
        let v = Verifications::new(ProviderKind::SmsCode, DEFAULT_TTL_FOR_TESTS);
        let (first, replay) = v.start_once(someone(), Some("k1"));
        assert!(!replay);
        let code = v.inbox("01012345678").unwrap().1;
        assert_eq!(v.start_once(someone(), Some("k1")), (first, true));
        assert_eq!(v.inbox("01012345678").unwrap(), (first, code), "nothing sent twice");
        let (other, replay) = v.start_once(someone(), Some("k2"));
        assert!(!replay && other != first);
        let expired = Verifications::new(ProviderKind::SmsCode, Duration::ZERO);
        let (a, _) = expired.start_once(someone(), Some("k"));
        assert_ne!(expired.start_once(someone(), Some("k")).0, a, "a key outlives nothing");
    }

    const DEFAULT_TTL_FOR_TESTS: Duration = Duration::from_secs(60);
}
