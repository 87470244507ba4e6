//! An OTLP/gRPC trace collector in the test's process: services export to
//! it over the network as they would to a real one (`OTEL_EXPORTER_OTLP_ENDPOINT`),
//! and the test reads what arrived as flat spans, with their ids, parents
//! and links as lowercase hex, the way trace backends show them.
use std::{collections::HashMap, sync::Arc, time::Duration};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::{any_value::Value, AnyValue, KeyValue},
    trace::v1::span::SpanKind,
};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// One span as the collector received it.
#[derive(Clone, Debug)]
pub struct Span {
    /// The exporting process's `service.name`.
    pub service: String,
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// `(trace id, span id)` of each link.
    pub links: Vec<(String, String)>,
    /// String, integer and boolean attributes, as text.
    pub attributes: HashMap<String, String>,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// Whether `other` is this span's parent.
    pub fn is_child_of(&self, other: &Span) -> bool {
        self.trace_id == other.trace_id && self.parent_span_id == other.span_id
    }

    /// Whether this span links to `other`.
    pub fn links_to(&self, other: &Span) -> bool {
        self.links.iter().any(|(trace, span)| *trace == other.trace_id && *span == other.span_id)
    }
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = Vec::new();
        for resource in request.into_inner().resource_spans {
            let resource_attributes = resource.resource.map(|r| attributes(&r.attributes)).unwrap_or_default();
            let service = resource_attributes.get("service.name").cloned().unwrap_or_default();
            for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Span {
                    service: service.clone(),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    links: span.links.iter().map(|l| (hex::encode(&l.trace_id), hex::encode(&l.span_id))).collect(),
                    attributes: attributes(&span.attributes),
                    name: span.name,
                });
            }
        }
        self.0.lock().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    let text = |v: &AnyValue| match v.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        Value::IntValue(i) => Some(i.to_string()),
        Value::BoolValue(b) => Some(b.to_string()),
        Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    };
    pairs.iter().filter_map(|kv| Some((kv.key.clone(), text(kv.value.as_ref()?)?))).collect()
}

/// The collector; stops when dropped.
pub struct Collector {
    endpoint: String,
    received: Received,
    server: JoinHandle<()>,
}

impl Collector {
    /// Listens on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let received = Received::default();
        let service = TraceServiceServer::new(received.clone());
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await;
        });
        Ok(Self { endpoint, received, server })
    }

    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.received.0.lock().clone()
    }

    /// Waits until `check` accepts the spans received (exporters send in
    /// batches, a little later), at most `within`; the last answer either way.
    pub async fn wait_for<T>(&self, within: Duration, check: impl Fn(&[Span]) -> Result<T, String>) -> Result<T, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let answer = check(&self.spans());
            if answer.is_ok() || tokio::time::Instant::now() > deadline {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}
