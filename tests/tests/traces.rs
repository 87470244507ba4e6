//! One booking is one trace, down to its SMS. Our six services run as child
//! processes (each exports as its own `service.name`) to an OTLP/gRPC
//! collector inside this test; the test books one appointment through the
//! public APIs, then checks the span tree by ids, parents and links:
//!
//! ```text
//! reservation  SERVER   CreateReservation
//! ├─ reservation CLIENT CheckEligibility ── eligibility SERVER CheckEligibility
//! ├─ reservation CLIENT GetSlot ─────────── inventory   SERVER GetSlot
//! └─ reservation PRODUCER "reservation.confirmed.v1 publish" (the outbox relay, later)
//!    ├─ admission    CONSUMER "<queue> process"  (seat release, one event at a time)
//!    ├─ eligibility  CONSUMER "<queue> process"  (booked set, one event at a time)
//!    ├─ notification CLIENT   POST               (the SMS gateway call, from the delivery row)
//!    ┆  inventory    CONSUMER "<queue> process"  (read model, a batch: a root linked to it)
//!    ┆  notification CONSUMER "<queue> process"  (deliveries, a batch: a root linked to it)
//! ```
//!
//! and that the log lines of the booking and of the SMS carry its trace id.
use std::{path::PathBuf, time::Duration};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use yeyak_e2e::{
    otlp::{Collector, Span},
    stack::{self, Processes, Stack},
};

/// The entry point of the stack's child processes (`stack::child_main`):
/// in a normal run it returns at once.
#[test]
fn stack_child() {
    stack::child_main();
}

/// The spans of one booking, each found by its relation to the others.
struct Tree {
    create: Span,
    publish: Span,
    /// `(service, span)`: the consumers that handle the event alone.
    children: Vec<(&'static str, Span)>,
    /// `(service, span)`: the batch consumers, linked to the publish span.
    linked: Vec<(&'static str, Span)>,
    sms: Span,
}

fn calls(span: &Span, method: &str) -> bool {
    span.name.contains(method) || span.attribute("rpc.method").is_some_and(|m| m.contains(method))
}

fn find(spans: &[Span], what: &str, service: &str, kind: SpanKind, relation: impl Fn(&Span) -> bool) -> Result<Span, String> {
    let found: Vec<&Span> = spans.iter().filter(|s| s.service == service && s.kind == kind && relation(s)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no {what}")),
        many => Err(format!("{} spans for {what}", many.len())),
    }
}

impl Tree {
    fn find(spans: &[Span]) -> Result<Self, String> {
        let create = find(spans, "CreateReservation server span", "reservation", SpanKind::Server, |s| calls(s, "CreateReservation"))?;
        for (method, callee) in [("CheckEligibility", "eligibility"), ("GetSlot", "inventory")] {
            let what = format!("{method} client span, child of CreateReservation");
            let client = find(spans, &what, "reservation", SpanKind::Client, |s| calls(s, method) && s.is_child_of(&create))?;
            let what = format!("{method} server span in {callee}, child of reservation's client span");
            find(spans, &what, callee, SpanKind::Server, |s| calls(s, method) && s.is_child_of(&client))?;
        }
        let publish = find(spans, "publish span, child of CreateReservation", "reservation", SpanKind::Producer, |s| {
            s.is_child_of(&create) && s.attribute("messaging.rabbitmq.destination.routing_key") == Some("reservation.confirmed.v1")
        })?;
        let mut children = Vec::new();
        for service in ["admission", "eligibility"] {
            let what = format!("{service} consumer span, child of the publish span");
            children.push((service, find(spans, &what, service, SpanKind::Consumer, |s| s.is_child_of(&publish))?));
        }
        let mut linked = Vec::new();
        for service in ["inventory", "notification"] {
            let what = format!("{service} batch consumer span linked to the publish span");
            linked.push((service, find(spans, &what, service, SpanKind::Consumer, |s| s.links_to(&publish))?));
        }
        let sms = find(spans, "SMS gateway client span, child of the publish span", "notification", SpanKind::Client, |s| {
            s.is_child_of(&publish)
        })?;
        Ok(Self { create, publish, children, linked, sms })
    }
}

/// The queue each consumer reads, as its span names it.
fn queue(stack: &Stack, service: &str) -> String {
    let queue = match service {
        "admission" => admission::consumers::sessions::QUEUE,
        "eligibility" => eligibility::consumers::bookings::QUEUE,
        "inventory" => inventory::consumers::availability::QUEUE,
        _ => notification::consumers::reservations::QUEUE,
    };
    format!("test.{}.{queue}", stack.tag)
}

fn summary(spans: &[Span]) -> String {
    let line = |s: &Span| {
        format!("{} {:?} {:?} {}/{} parent {:?} links {:?}", s.service, s.kind, s.name, s.trace_id, s.span_id, s.parent_span_id, s.links)
    };
    spans.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// The JSON log line of `service` with `message` that `matches`.
fn log_line(
    dir: &std::path::Path,
    tag: &str,
    service: &str,
    message: &str,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let log = std::fs::read_to_string(dir.join(format!("{tag}-{service}.log"))).expect("the child's log");
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == message && matches(v))
        .unwrap_or_else(|| panic!("no {message:?} line in {service}'s log"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_is_one_trace_from_create_reservation_to_its_sms() {
    let collector = Collector::start().await.expect("collector listens");
    let processes = Processes {
        exe: std::env::current_exe().expect("the test binary"),
        args: ["stack_child", "--exact", "--nocapture"].map(String::from).to_vec(),
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), collector.endpoint().into()),
            // The batch exporter sends every 100 ms instead of every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
        ],
        log_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    };
    let stack = Stack::start_processes(2_000, &processes).await.expect("stack starts");
    let person = stack.bookable_person(0);
    let outcome = yeyak_dev::demo::run(&stack.endpoints, &person, &|_| {}).await.expect("demo booking");
    let tree = collector.wait_for(Duration::from_secs(20), Tree::find).await;
    let tree = tree.unwrap_or_else(|missing| panic!("{missing}; received:\n{}", summary(&collector.spans())));

    // The bus's spans follow the messaging conventions.
    let exchange = format!("test.{}.events", stack.tag);
    let p = &tree.publish;
    assert_eq!(p.name, "reservation.confirmed.v1 publish");
    assert_eq!(p.attribute("messaging.system"), Some("rabbitmq"));
    assert_eq!(p.attribute("messaging.destination.name"), Some(exchange.as_str()));
    assert_eq!(p.attribute("messaging.operation.type"), Some("send"));
    let event_id = p.attribute("messaging.message.id").expect("the event id");
    for (service, span) in tree.children.iter().chain(&tree.linked) {
        assert_eq!(span.name, format!("{} process", queue(&stack, service)), "{service}");
        assert_eq!(span.attribute("messaging.system"), Some("rabbitmq"), "{service}");
        assert_eq!(span.attribute("messaging.destination.name"), Some(exchange.as_str()), "{service}");
        assert_eq!(span.attribute("messaging.operation.type"), Some("process"), "{service}");
    }
    for (service, span) in &tree.children {
        assert_eq!(span.attribute("messaging.message.id"), Some(event_id), "{service} handled the event alone");
    }
    for (service, span) in &tree.linked {
        assert!(span.parent_span_id.is_empty() && span.trace_id != p.trace_id, "{service}: a batch starts its own trace");
    }
    assert_eq!(tree.sms.name, "POST");
    let status = tree.sms.attribute("http.response.status_code");
    assert!(status.is_some_and(|code| code.starts_with('2')), "the gateway took the SMS: {status:?}");

    // The booking's and the SMS's log lines carry the trace.
    let tag = &stack.tag;
    let booked = log_line(&processes.log_dir, tag, "reservation", "reservation booked", |v| {
        v["fields"]["reservation_id"] == outcome.reservation_id.as_str()
    });
    assert_eq!(booked["trace_id"], tree.create.trace_id.as_str(), "the booking's line has its trace id");
    assert_eq!(booked["span_id"], tree.create.span_id.as_str(), "written in CreateReservation's span");
    let sent = log_line(&processes.log_dir, tag, "notification", "sms gateway answered", |v| v["span_id"] == tree.sms.span_id.as_str());
    assert_eq!(sent["trace_id"], tree.create.trace_id.as_str(), "the SMS line has the booking's trace id");
    stack.stop().await.expect("clean stop");
}
