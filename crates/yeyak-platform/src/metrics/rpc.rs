//! gRPC metrics in the shape of go-grpc-prometheus and its ports
//! (`grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}`
//! and the rest), which off-the-shelf dashboards and alerts already query,
//! for our servers and for our outbound clients.
//!
//! Every method's series are made once, when the server or client is built
//! from the descriptors it serves: a call costs a map lookup and atomic
//! increments, never a label string or a lock. Paths nobody serves share the
//! `unknown` labels, so random paths cannot grow the series.
use std::{collections::HashMap, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
};

/// The label value of everything about a path the server does not serve.
pub const UNKNOWN: &str = "unknown";

/// Handling-time buckets, seconds.
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// gRPC status codes by number, named as Go's `codes.Code.String()` names
/// them (the values go-grpc-prometheus dashboards filter on).
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The `grpc_code` label value of a status code number (out of range: Unknown).
pub fn code_name(code: i32) -> &'static str {
    usize::try_from(code).ok().and_then(|i| CODES.get(i)).copied().unwrap_or("Unknown")
}

/// One method as a descriptor names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// `/package.Service/Method`.
    pub path: String,
    pub service: String,
    pub method: String,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    pub kind: &'static str,
}

impl MethodInfo {
    pub fn unknown() -> Self {
        Self { path: UNKNOWN.into(), service: UNKNOWN.into(), method: UNKNOWN.into(), kind: UNKNOWN }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    grpc_service: String,
    grpc_method: String,
    grpc_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_service: String,
    grpc_method: String,
    grpc_type: &'static str,
    grpc_code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_service: String,
    grpc_method: String,
}

/// The metric families of one side (server or client) of one registry.
#[derive(Clone, Debug)]
pub(super) struct Families {
    started: Family<Labels, Counter>,
    handled: Family<HandledLabels, Counter>,
    handling: Family<Labels, Histogram>,
    /// Server side only: calls running, and calls shed before any work.
    in_flight: Family<MethodLabels, Gauge>,
    shed: Family<MethodLabels, Counter>,
}

impl Families {
    pub(super) fn new() -> Self {
        Self {
            started: Family::default(),
            handled: Family::default(),
            handling: Family::new_with_constructor(|| Histogram::new(BUCKETS)),
            in_flight: Family::default(),
            shed: Family::default(),
        }
    }

    /// Registers the families as `<side>_started_total` and so on.
    pub(super) fn register(&self, registry: &mut prometheus_client::registry::Registry, side: &str) {
        let who = if side == "grpc_server" { "received" } else { "sent" };
        registry.register(format!("{side}_started"), format!("RPCs {who} and started, by method"), self.started.clone());
        registry.register(format!("{side}_handled"), "RPCs completed, by method and status code", self.handled.clone());
        registry.register(format!("{side}_handling_seconds"), "RPC handling time until the status, by method", self.handling.clone());
        if side == "grpc_server" {
            registry.register("yeyak_grpc_server_in_flight", "RPCs being handled, by method", self.in_flight.clone());
            registry.register("yeyak_grpc_server_shed", "RPCs refused by the concurrency limit before any work", self.shed.clone());
        }
    }

    /// The series of `methods` plus the unknown path, made once.
    pub(super) fn methods(&self, methods: impl IntoIterator<Item = MethodInfo>) -> RpcMetrics {
        let by_path: HashMap<String, Arc<Method>> = methods.into_iter().map(|m| (m.path.clone(), Arc::new(self.method(&m)))).collect();
        RpcMetrics { by_path: Arc::new(by_path), unknown: Arc::new(self.method(&MethodInfo::unknown())) }
    }

    fn method(&self, m: &MethodInfo) -> Method {
        let labels = Labels { grpc_service: m.service.clone(), grpc_method: m.method.clone(), grpc_type: m.kind };
        let handled = CODES.map(|grpc_code| {
            let l = HandledLabels { grpc_service: m.service.clone(), grpc_method: m.method.clone(), grpc_type: m.kind, grpc_code };
            self.handled.get_or_create(&l).clone()
        });
        let short = MethodLabels { grpc_service: m.service.clone(), grpc_method: m.method.clone() };
        Method {
            info: Arc::new(m.clone()),
            started: self.started.get_or_create(&labels).clone(),
            handled: Arc::new(handled),
            handling: self.handling.get_or_create(&labels).clone(),
            in_flight: self.in_flight.get_or_create(&short).clone(),
            shed: self.shed.get_or_create(&short).clone(),
        }
    }
}

/// One method's series.
#[derive(Clone, Debug)]
pub struct Method {
    pub info: Arc<MethodInfo>,
    started: Counter,
    handled: Arc<[Counter; 17]>,
    handling: Histogram,
    pub(crate) in_flight: Gauge,
    shed: Counter,
}

impl Method {
    pub fn started(&self) {
        self.started.inc();
    }

    /// A completed call: its status code number and how long it took.
    pub fn handled(&self, code: i32, elapsed: Duration) {
        let i = usize::try_from(code).ok().filter(|i| *i < CODES.len()).unwrap_or(2);
        self.handled[i].inc();
        self.handling.observe(elapsed.as_secs_f64());
    }

    /// A call refused by the concurrency limit: started, shed, and handled
    /// with RESOURCE_EXHAUSTED in no time.
    pub fn shed(&self) {
        self.started();
        self.shed.inc();
        self.handled(tonic::Code::ResourceExhausted as i32, Duration::ZERO);
    }
}

/// Every method of one server or client, by path.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    by_path: Arc<HashMap<String, Arc<Method>>>,
    unknown: Arc<Method>,
}

impl RpcMetrics {
    /// The series of `path`, or the shared unknown ones.
    pub fn method(&self, path: &str) -> &Arc<Method> {
        self.by_path.get(path).unwrap_or(&self.unknown)
    }

    /// Whether `path` is served (has series of its own).
    pub fn serves(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Every method served, and the unknown path.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Method>> {
        self.by_path.values().chain([&self.unknown])
    }
}
