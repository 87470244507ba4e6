//! Credentials as the other services mint them: admission passes and
//! identity assertions signed by keys the service under test trusts, and
//! the support staff listed in its `YEYAK_OPERATORS`.
use std::sync::LazyLock;

use tonic::{metadata::MetadataValue, Request};
use uuid::Uuid;
use yeyak_platform::{
    grpc::{CLIENT_ID_HEADER, PASS_HEADER},
    tokens::{client_binding, sign, AdmissionPass, IdentityAssertion, Issuer, SigningKey},
};

pub(crate) static ADMISSION: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate(Issuer::Admission, "adm-ntf-test"));
pub(crate) static IDENTITY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate(Issuer::Identity, "idn-ntf-test"));

/// Holds the `support` role.
pub(crate) const SUPPORT_TOKEN: &str = "sam-support-0123456789abcdef";
/// Holds only the `operator` role: runs the event, reads no deliveries.
pub(crate) const OPERATOR_TOKEN: &str = "olga-operator-0123456789abcdef";

/// The service's `YEYAK_TRUSTED_KEYS`.
pub(crate) fn trusted_keys() -> String {
    format!("{},{}", ADMISSION.trusted_entry(), IDENTITY.trusted_entry())
}

/// The service's `YEYAK_OPERATORS`.
pub(crate) fn operators() -> String {
    format!("sam:support:{SUPPORT_TOKEN}\nolga:operator:{OPERATOR_TOKEN}\n")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A person in the waiting room: their pass, client id and the identity
/// assertion they obtained under that pass.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub pass: String,
    pub client_id: String,
    pub assertion: String,
}

impl Person {
    /// Admitted to `demo` and verified as pseudonymous subject `subject`.
    pub(crate) fn admitted(subject: &str) -> Self {
        Self::with_pass_expiring(subject, now() + 600)
    }

    pub(crate) fn with_pass_expiring(subject: &str, expires_at: i64) -> Self {
        let client_id = format!("device-{}", Uuid::new_v4().simple());
        let session_id = Uuid::new_v4().to_string();
        let pass = AdmissionPass {
            queue_id: "demo".into(),
            place: 1,
            client_binding: client_binding(&client_id),
            session_id: session_id.clone(),
            cnf: None,
            issued_at: now() - 60,
            expires_at,
        };
        Self { pass: sign(&ADMISSION, &pass), client_id, assertion: assertion(&IDENTITY, subject, &session_id) }
    }

    /// Their pass and client id on a request.
    pub(crate) fn call<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert(PASS_HEADER, MetadataValue::try_from(self.pass.as_str()).unwrap());
        request.metadata_mut().insert(CLIENT_ID_HEADER, MetadataValue::try_from(self.client_id.as_str()).unwrap());
        request
    }
}

/// An identity assertion for `subject` under admission session `session_id`.
pub(crate) fn assertion(key: &SigningKey, subject: &str, session_id: &str) -> String {
    let claims = IdentityAssertion {
        subject: subject.into(),
        birth_date: "1950-01-01".into(),
        name: "홍*동".into(),
        provider: "carrier-sms".into(),
        assurance_level: 1,
        session_id: session_id.into(),
        queue_id: String::new(),
        issued_at: now() - 30,
        expires_at: now() + 600,
    };
    sign(key, &claims)
}

/// `authorization: <value>` on a request.
pub(crate) fn with_authorization<T>(value: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", MetadataValue::try_from(value).unwrap());
    request
}

/// Support staff's call: `authorization: Bearer <token>`.
pub(crate) fn as_staff<T>(token: &str, message: T) -> Request<T> {
    with_authorization(&format!("Bearer {token}"), message)
}
