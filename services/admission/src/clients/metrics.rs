//! Reads a service's Prometheus metrics (`/metrics` on its metrics port)
//! into the counters the automatic admission rate needs. A target's host
//! is resolved at every read and each address read on its own: counters
//! are per process, so a Service that balances reads over pods would give
//! differences between unrelated processes (use a headless Service).
//! Every read has a deadline; whatever fails comes back as the reason, and
//! the controller counts it as unhealthy.
use std::{net::SocketAddr, time::Duration};

use futures_util::future::join_all;
use prometheus_parse::{Scrape, Value};

use crate::domain::control::{Counts, Target};

/// Codes that mean the service is struggling (not the caller's mistake).
const FAILING: [&str; 5] = ["Unavailable", "ResourceExhausted", "DeadlineExceeded", "Internal", "Unknown"];

/// Why a process's metrics could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MetricsError {
    #[error("not a URL: {0}")]
    Url(String),
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
    #[error("no gRPC server metrics in the answer")]
    NotMetrics,
    #[error("unreadable metrics: {0}")]
    Parse(#[from] std::io::Error),
}

#[derive(Clone, Debug)]
pub(crate) struct MetricsReader {
    http: reqwest::Client,
    timeout: Duration,
}

impl MetricsReader {
    pub(crate) fn new(timeout: Duration) -> Result<Self, MetricsError> {
        Ok(Self { http: reqwest::Client::builder().timeout(timeout).build()?, timeout })
    }

    /// Every process behind `target`, by address, with its counters or why
    /// they could not be read.
    pub(crate) async fn read(&self, target: &Target) -> Vec<(String, Result<Counts, MetricsError>)> {
        let url = match reqwest::Url::parse(&target.url) {
            Ok(url) => url,
            Err(e) => return vec![(target.url.clone(), Err(MetricsError::Url(e.to_string())))],
        };
        let addresses = match self.resolve(&url).await {
            Ok(addresses) => addresses,
            Err(e) => return vec![(target.url.clone(), Err(e))],
        };
        let reads = addresses.into_iter().map(|address| {
            let mut url = url.clone();
            let _ = url.set_ip_host(address.ip());
            async move { (address.to_string(), self.read_one(url).await) }
        });
        join_all(reads).await
    }

    async fn resolve(&self, url: &reqwest::Url) -> Result<Vec<SocketAddr>, MetricsError> {
        let host = url.host_str().ok_or_else(|| MetricsError::Url(url.to_string()))?.trim_matches(['[', ']']).to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let unresolved = || MetricsError::Resolve(host.clone());
        let found = tokio::time::timeout(self.timeout, tokio::net::lookup_host((host.as_str(), port))).await;
        let mut addresses: Vec<SocketAddr> = found.map_err(|_| unresolved())?.map_err(|_| unresolved())?.collect();
        addresses.sort();
        addresses.dedup();
        if addresses.is_empty() {
            return Err(unresolved());
        }
        Ok(addresses)
    }

    async fn read_one(&self, url: reqwest::Url) -> Result<Counts, MetricsError> {
        let response = self.http.get(url).send().await?;
        if !response.status().is_success() {
            return Err(MetricsError::Status(response.status()));
        }
        counts(&response.text().await?)
    }
}

/// The counters of one process, summed over every method but health checks
/// and reflection (`grpc.*`, which probes call whatever the load).
pub(crate) fn counts(text: &str) -> Result<Counts, MetricsError> {
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))?;
    let mut c = Counts::default();
    let mut served = false;
    for sample in &scrape.samples {
        if sample.labels.get("grpc_service").is_none_or(|service| service.starts_with("grpc.")) {
            continue;
        }
        let value = match &sample.value {
            Value::Counter(v) | Value::Untyped(v) | Value::Gauge(v) => *v,
            Value::Histogram(buckets) if sample.metric == "grpc_server_handling_seconds" => {
                for b in buckets {
                    match c.buckets.iter_mut().find(|(le, _)| *le == b.less_than) {
                        Some((_, n)) => *n += b.count,
                        None => c.buckets.push((b.less_than, b.count)),
                    }
                }
                continue;
            }
            _ => continue,
        };
        match sample.metric.as_str() {
            "grpc_server_handled_total" => {
                served = true;
                c.handled += value;
                if sample.labels.get("grpc_code").is_some_and(|code| FAILING.contains(&code)) {
                    c.errors += value;
                }
            }
            "yeyak_grpc_server_shed_total" => c.shed += value,
            _ => {}
        }
    }
    if !served {
        return Err(MetricsError::NotMetrics);
    }
    c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(c)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;
    use yeyak_platform::metrics::{MethodInfo, Metrics};

    use super::*;

    #[test]
    fn reads_what_our_servers_publish_without_health_checks() {
        let metrics = Metrics::new("eligibility");
        let method = |service: &str, name: &str| MethodInfo {
            path: format!("/{service}/{name}"),
            service: service.into(),
            method: name.into(),
            kind: "unary",
        };
        let rpc = metrics
            .grpc_server([method("yeyak.eligibility.v1.EligibilityService", "CheckEligibility"), method("grpc.health.v1.Health", "Check")]);
        let check = rpc.method("/yeyak.eligibility.v1.EligibilityService/CheckEligibility");
        check.handled(Code::Ok as i32, Duration::from_millis(3));
        check.handled(Code::Unavailable as i32, Duration::from_millis(700));
        check.handled(Code::InvalidArgument as i32, Duration::from_millis(1));
        check.shed();
        rpc.method("/grpc.health.v1.Health/Check").handled(Code::Unavailable as i32, Duration::from_secs(3));
        let c = counts(&metrics.encode()).unwrap();
        assert_eq!((c.handled, c.errors, c.shed), (4.0, 2.0, 1.0), "the shed call is a ResourceExhausted too");
        assert_eq!(c.buckets.last(), Some(&(f64::INFINITY, 4.0)));
        assert_eq!(c.buckets.iter().find(|(le, _)| *le == 0.5).map(|b| b.1), Some(3.0));
        assert!(matches!(counts("# EOF\n"), Err(MetricsError::NotMetrics)), "an empty page is not a healthy service");
    }
}
