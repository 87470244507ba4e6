//! The tokens a benchmark's people carry, signed before the clock starts:
//! in production admission and identity sign them, so their cost belongs to
//! those services' figures, not to the path being measured.
use yeyak_platform::tokens::{self, client_binding, AdmissionPass, IdentityAssertion, SigningKey};

/// When every token of a batch was issued and until when it holds: one
/// reading of the clock for the whole batch.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Validity {
    /// From now, for `seconds`.
    pub fn for_seconds(seconds: i64) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self { issued_at: now, expires_at: now + seconds }
    }
}

/// One admitted session: a client let in at `place` of `queue`.
#[derive(Clone, Copy, Debug)]
pub struct Session<'a> {
    pub queue: &'a str,
    pub place: u64,
    pub client_id: &'a str,
    pub id: &'a str,
}

/// What identity would have verified about the person of a session.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'a> {
    pub subject: &'a str,
    pub birth_date: &'a str,
    pub masked_name: &'a str,
    pub provider: &'a str,
}

impl Session<'_> {
    /// The admission pass of this session, signed with admission's key.
    pub fn pass(&self, key: &SigningKey, validity: Validity) -> String {
        self.pass_bound_to(key, validity, None)
    }

    /// The pass, bound to a device key (`cnf.jkt`) when one is given.
    pub fn pass_bound_to(&self, key: &SigningKey, validity: Validity, jkt: Option<&str>) -> String {
        let claims = AdmissionPass {
            queue_id: self.queue.to_owned(),
            place: self.place,
            client_binding: client_binding(self.client_id),
            session_id: self.id.to_owned(),
            cnf: jkt.map(|jkt| tokens::Confirmation { jkt: jkt.to_owned() }),
            issued_at: validity.issued_at,
            expires_at: validity.expires_at,
        };
        tokens::sign(key, &claims)
    }

    /// An SMS-code (assurance level 1) identity assertion bound to this
    /// session, signed with identity's key.
    pub fn assertion(&self, key: &SigningKey, person: Verified<'_>, validity: Validity) -> String {
        let claims = IdentityAssertion {
            subject: person.subject.to_owned(),
            birth_date: person.birth_date.to_owned(),
            name: person.masked_name.to_owned(),
            provider: person.provider.to_owned(),
            assurance_level: 1,
            session_id: self.id.to_owned(),
            queue_id: self.queue.to_owned(),
            issued_at: validity.issued_at,
            expires_at: validity.expires_at,
        };
        tokens::sign(key, &claims)
    }
}
