//! The gateway's record of accepted messages, keyed by the caller's
//! reference (`Idempotency-Key`): a reference is sent at most once however
//! often it is posted, and a lookup of a reference the gateway does not
//! have *voids* it, so a send of it still on its way is refused instead of
//! sent. That is the contract that lets a caller fail over to another
//! gateway safely after an unknown outcome (docs/notification.md, "Gateway
//! failover").
//!
//! Texts carry verification codes and phone numbers are personal data, so
//! logs name messages by `gateway_id` only.
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub gateway_id: Uuid,
    pub idempotency_key: String,
    pub to: String,
    pub text: String,
    /// Serialised as RFC 3339.
    pub received_at: DateTime<Utc>,
}

/// What a send of a reference did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded (and "sent"); `duplicate` when the reference was seen before
    /// and nothing new was recorded.
    Sent { gateway_id: Uuid, duplicate: bool },
    /// A lookup already answered "not here" for this reference: refused.
    Voided,
}

#[derive(Default, Debug)]
struct Inner {
    messages: Vec<Message>,
    by_key: HashMap<String, Uuid>,
    voided: HashSet<String>,
}

/// In-memory and shared by all handlers; one lock keeps "record", "remember
/// the key" and "void the key" atomic, so a send and a lookup racing each
/// other cannot both win.
#[derive(Clone, Default, Debug)]
pub struct MessageStore {
    inner: Arc<Mutex<Inner>>,
}

impl MessageStore {
    /// Records a message unless the reference was seen or voided.
    pub fn accept(&self, idempotency_key: &str, to: &str, text: &str) -> Accepted {
        let mut inner = self.inner.lock();
        if let Some(id) = inner.by_key.get(idempotency_key) {
            return Accepted::Sent { gateway_id: *id, duplicate: true };
        }
        if inner.voided.contains(idempotency_key) {
            return Accepted::Voided;
        }
        let gateway_id = Uuid::now_v7();
        inner.by_key.insert(idempotency_key.to_owned(), gateway_id);
        inner.messages.push(Message {
            gateway_id,
            idempotency_key: idempotency_key.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            received_at: Utc::now(),
        });
        Accepted::Sent { gateway_id, duplicate: false }
    }

    /// The gateway id of the message sent under `reference`; `None` means it
    /// was never accepted, and from now on never will be (voided).
    pub fn lookup(&self, reference: &str) -> Option<Uuid> {
        let mut inner = self.inner.lock();
        let found = inner.by_key.get(reference).copied();
        if found.is_none() {
            inner.voided.insert(reference.to_owned());
        }
        found
    }

    /// Messages in the order received, optionally only those to one number.
    pub fn list(&self, to: Option<&str>) -> Vec<Message> {
        let inner = self.inner.lock();
        inner.messages.iter().filter(|m| to.is_none_or(|to| m.to == to)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_records_once_and_filters_by_recipient() {
        let store = MessageStore::default();
        let Accepted::Sent { gateway_id: a, duplicate: false } = store.accept("k1", "01011112222", "hello") else { panic!() };
        assert_eq!(store.accept("k1", "01011112222", "hello again"), Accepted::Sent { gateway_id: a, duplicate: true });
        let Accepted::Sent { gateway_id: c, .. } = store.accept("k2", "01033334444", "other") else { panic!() };
        assert_ne!(a, c);
        assert_eq!(store.list(None).len(), 2);
        let only = store.list(Some("01033334444"));
        assert_eq!((only.len(), only[0].text.as_str()), (1, "other"));
    }

    #[test]
    fn a_lookup_of_an_unknown_reference_voids_it() {
        let store = MessageStore::default();
        let Accepted::Sent { gateway_id, .. } = store.accept("k1", "01011112222", "hello") else { panic!() };
        assert_eq!(store.lookup("k1"), Some(gateway_id));
        assert_eq!(store.lookup("k2"), None);
        assert_eq!(store.accept("k2", "01011112222", "late"), Accepted::Voided, "a send arriving after the lookup is refused");
        assert_eq!(store.list(None).len(), 1);
    }
}
