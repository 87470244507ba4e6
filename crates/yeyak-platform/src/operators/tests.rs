use std::{sync::Arc, time::Duration};

use parking_lot::Mutex;
use tracing_subscriber::layer::SubscriberExt as _;

use super::*;
use crate::{metrics::Metrics, tokens::KeyWatch, Shutdown};

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-0123456789abcdefgh";
const CAROL: &str = "carol-token-0123456789abcdef";

fn three() -> Operators {
    Operators::parse(&format!("alice:support:{ALICE}, bob:support+operator:{BOB}\ncarol:operator:{CAROL}\n")).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn each_operator_is_known_by_their_own_token() {
    let ops = three();
    let alice = ops.authenticate_bearer(Some(&bearer(ALICE))).unwrap();
    assert_eq!((alice.name(), alice.has(Role::Support), alice.has(Role::Operator)), ("alice", true, false));
    let bob = ops.authenticate_bearer(Some(&bearer(BOB))).unwrap();
    assert_eq!((bob.name(), bob.has(Role::Support), bob.has(Role::Operator)), ("bob", true, true));
    let carol = ops.authenticate_bearer(Some(&format!("bearer  {CAROL} "))).unwrap();
    assert_eq!((carol.name(), carol.has(Role::Support)), ("carol", false), "scheme case and spaces do not matter");
    assert_eq!(ops.names(), ["alice", "bob", "carol"]);
}

#[test]
fn wrong_missing_and_malformed_credentials_are_refused() {
    let ops = three();
    // A prefix, an extension and a one-character change of a real token:
    // compared as digests, their length and shared bytes count for nothing.
    let near = [&ALICE[..ALICE.len() - 1], &format!("{ALICE}x"), &ALICE.replace('a', "b"), "", "x"].map(str::to_owned);
    for token in &near {
        assert_eq!(
            ops.authenticate_bearer(Some(&bearer(token))),
            Err(if token.is_empty() { AuthError::Malformed } else { AuthError::Unknown }),
            "{token:?}"
        );
    }
    assert_eq!(ops.authenticate_bearer(None), Err(AuthError::Missing));
    assert_eq!(ops.authenticate_bearer(Some(ALICE)), Err(AuthError::Malformed), "no scheme");
    assert_eq!(ops.authenticate_bearer(Some(&format!("Basic {ALICE}"))), Err(AuthError::Malformed));
    assert_eq!(Operators::none().authenticate_bearer(Some(&bearer(ALICE))), Err(AuthError::NotConfigured));
    let mut md = MetadataMap::new();
    assert_eq!(ops.authenticate(&md), Err(AuthError::Missing));
    md.insert(AUTHORIZATION_HEADER, bearer(BOB).parse().unwrap());
    assert_eq!(ops.authenticate(&md).unwrap().name(), "bob");
}

#[test]
fn a_role_is_checked_per_action() {
    let ops = three();
    let alice = ops.authenticate_bearer(Some(&bearer(ALICE))).unwrap();
    assert!(alice.require(Role::Support, "notification.get_delivery_status").is_ok());
    let refused = alice.require(Role::Operator, "admission.pause").unwrap_err();
    assert_eq!(refused, AuthError::Forbidden { operator: "alice".into(), role: Role::Operator });
    assert!(refused.is_forbidden() && !AuthError::Unknown.is_forbidden());
    let mut md = MetadataMap::new();
    md.insert(AUTHORIZATION_HEADER, bearer(CAROL).parse().unwrap());
    assert!(ops.authorize(&md, Role::Operator, "admission.pause").is_ok());
    assert!(ops.authorize(&md, Role::Support, "notification.get_delivery_status").unwrap_err().is_forbidden());
}

#[test]
fn bad_secrets_are_refused_without_echoing_a_token() {
    let secret = "tok3n/that+must=never-be-printed";
    let cases = [
        (format!("alice:support:{ALICE},bob:support:{ALICE}"), "listed twice"),
        ("alice:support:short".to_owned(), "at least"),
        (format!("alice:admin:{ALICE}"), "unknown role"),
        (format!("al ice:support:{ALICE}"), "operator name"),
        (format!("{secret}:support:{ALICE}"), "entry 1"),
        (format!("alice:{secret}:{ALICE}"), "unknown role"),
        (format!("alice:support:{ALICE}, {secret}"), "entry 2"),
        ("\n# nobody yet\n".to_owned(), "no operator"),
    ];
    for (text, expected) in cases {
        let err = Operators::parse(&text).unwrap_err().to_string();
        assert!(err.contains("YEYAK_OPERATORS") && err.contains(expected), "{text:?}: {err}");
        assert!(!err.contains(secret) && !err.contains(ALICE), "{err}");
    }
    let listed_twice = Operators::parse(&format!("alice:support:{ALICE}\nalice:support:{BOB}")).unwrap();
    assert_eq!(listed_twice.authenticate_bearer(Some(&bearer(BOB))).unwrap().name(), "alice", "a rotation lists two tokens");
}

#[test]
fn production_needs_operators_and_the_old_token_is_one_operator_with_every_role() {
    let err = Operators::from_env(&Env::from_pairs([("ENV", "production")])).unwrap_err().to_string();
    assert!(err.contains("YEYAK_OPERATORS"), "{err}");
    assert!(Operators::from_env(&Env::default()).is_ok(), "dev mode runs without");
    assert_eq!(Operators::from_env(&Env::from_pairs([("X", "y")])).unwrap().authenticate_bearer(None), Err(AuthError::NotConfigured));

    let legacy = Operators::from_env(&Env::from_pairs([("ENV", "production"), ("OPERATOR_TOKEN", "old")])).unwrap();
    let who = legacy.authenticate_bearer(Some("Bearer old")).unwrap();
    assert_eq!(who.name(), LEGACY_OPERATOR);
    assert!(Role::ALL.into_iter().all(|r| who.has(r)));

    let listed = format!("alice:support:{ALICE}");
    let both = Operators::from_env(&Env::from_pairs([("OPERATORS", listed.as_str()), ("OPERATOR_TOKEN", "old")])).unwrap();
    assert_eq!(both.names(), ["alice", "operator"]);
    let bad = Env::from_pairs([("OPERATORS", "alice:support:short")]);
    assert!(Operators::from_env(&bad).unwrap_err().to_string().contains("YEYAK_OPERATORS"));
}

/// One event's fields, by name.
type Fields = Vec<(String, String)>;

/// Captures the audit events' fields, as a log shipper would see them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Fields>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visitor(Fields);
        impl tracing::field::Visit for Visitor {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push((field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned()));
            }
        }
        if event.metadata().target() == AUDIT_TARGET {
            let mut fields = Visitor(Vec::new());
            event.record(&mut fields);
            self.0.lock().push(fields.0);
        }
    }
}

#[test]
fn every_action_and_every_refusal_is_an_audit_event() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let event = tracing::subscriber::with_default(subscriber, || {
        let ops = three();
        let bob = ops.authenticate_bearer(Some(&bearer(BOB))).unwrap();
        let event = audit(&bob, "admission.set_settings", "queue demo", Some("rate=50"), Some("rate=80"));
        let _ = ops.authenticate_bearer(Some(&bearer("not-anyones-token")));
        let _ = ops.authenticate_bearer(Some(&bearer(ALICE))).unwrap().require(Role::Operator, "admission.pause");
        event
    });
    assert_eq!((event.operator.as_str(), event.old.as_deref(), event.new.as_deref()), ("bob", Some("rate=50"), Some("rate=80")));
    let events = captured.0.lock().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    let field = |i: usize, name: &str| events[i].iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(
        ["operator", "action", "resource", "old", "new", "audit_id"].map(|f| field(0, f)),
        ["bob", "admission.set_settings", "queue demo", "rate=50", "rate=80", &event.id.to_string()].map(str::to_owned)
    );
    assert!(!field(0, "at").is_empty());
    assert_eq!(field(1, "outcome"), "unknown token");
    assert_eq!([field(2, "operator"), field(2, "action"), field(2, "outcome")], ["alice", "admission.pause", "denied"]);
    assert!(!format!("{events:?}").contains("not-anyones-token"), "tokens are never logged");
}

#[test]
fn the_audit_table_merges_with_a_service_migrations() {
    let merged =
        audit::with_table(crate::messaging::tables::migrator(&sqlx::migrate::Migrator::DEFAULT, &[crate::messaging::tables::Table::Inbox]));
    let versions: Vec<i64> = merged.iter().map(|m| m.version).collect();
    assert_eq!(versions, vec![20200101000002, 20200101000003]);
    assert!(merged.iter().any(|m| m.sql.contains("CREATE TABLE operator_audit")));
}

#[cfg(unix)]
#[tokio::test]
async fn the_operators_file_is_re_read_when_it_changes() {
    let dir = std::env::temp_dir().join(format!("yeyak-operators-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("operators");
    // The kubelet's update: a new file renamed over the old one (a new inode).
    let write = |text: String| {
        std::fs::write(dir.join("next"), text).unwrap();
        std::fs::rename(dir.join("next"), &path).unwrap();
    };
    write(format!("alice:support:{ALICE}\n"));
    let file = path.to_string_lossy().into_owned();
    let env = Env::from_pairs([("OPERATORS_FILE", file.as_str()), ("KEY_RELOAD_INTERVAL_MS", "10")]);
    let ops = Operators::from_env(&env).unwrap();
    let holder = ops.clone();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(KeyWatch::new(&Metrics::new("test")).with(ops.clone()).run(shutdown.clone()));
    assert!(holder.authenticate_bearer(Some(&bearer(ALICE))).is_ok());

    write(format!("bob:operator:{BOB}\n"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while holder.authenticate_bearer(Some(&bearer(BOB))).is_err() {
        assert!(tokio::time::Instant::now() < deadline, "bob was never added");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(holder.authenticate_bearer(Some(&bearer(ALICE))), Err(AuthError::Unknown), "alice was revoked");

    write("bob:operator:short\n".into());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(holder.authenticate_bearer(Some(&bearer(BOB))).is_ok(), "a bad file keeps the operators in force");

    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
