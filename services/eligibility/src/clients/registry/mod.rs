//! Client of the national insurance registry. It is another agency's system:
//! we reach it only through its API, with a deadline on every call, and we
//! only ever send it the pseudonymous subject id. Under load, concurrent
//! lookups are coalesced into batch calls (see [`batch`]).
mod batch;

use std::{sync::Arc, time::Duration};

pub use batch::{totals as batch_totals, BatchStats};
use chrono::NaiveDate;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use yeyak_platform::tls::TlsSettings;

use crate::domain::{BatchSettings, Person};

#[derive(Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    /// Set by [`RegistryClient::batching`]: lookups go through the batcher.
    batcher: Option<mpsc::Sender<batch::Pending>>,
    stats: Arc<BatchStats>,
}

#[derive(Deserialize)]
pub(crate) struct Record {
    birth_date: NaiveDate,
    insured: bool,
    #[serde(default)]
    priority_groups: Vec<String>,
    #[serde(default)]
    doses: Vec<NaiveDate>,
}

impl From<Record> for Person {
    fn from(r: Record) -> Self {
        Person { birth_date: r.birth_date, insured: r.insured, priority_groups: r.priority_groups, doses: r.doses }
    }
}

/// One row of the registry's aggregate `GET /v1/stats/birth-dates`: how many
/// insured people share a birth date, priority groups and number of doses.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct BirthDateCount {
    pub(crate) birth_date: NaiveDate,
    pub(crate) priority_groups: Vec<String>,
    pub(crate) doses: u32,
    pub(crate) count: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BirthDateStats {
    /// Insured people counted.
    pub(crate) population: u64,
    pub(crate) rows: Vec<BirthDateCount>,
}

impl RegistryClient {
    /// A client trusting the system roots only (tests, tools).
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        Self::with_tls(base, timeout, &TlsSettings::default())
    }

    /// A client that verifies an `https://` registry with `tls`.
    pub fn with_tls(base: &str, timeout: Duration, tls: &TlsSettings) -> anyhow::Result<Self> {
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_millis(500)))
            .pool_max_idle_per_host(256);
        let http = tls.http_client(builder)?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), http, timeout, batcher: None, stats: Arc::default() })
    }

    /// Coalesces concurrent lookups into batch calls from now on. Needs a
    /// Tokio runtime (the batcher is a task).
    pub fn batching(mut self, settings: BatchSettings) -> Self {
        let url = format!("{}/v1/subjects/batch-get", self.base);
        self.batcher = Some(batch::spawn(self.http.clone(), url, self.timeout, settings, self.stats.clone()));
        self
    }

    /// Batch calls sent and the lookups they carried, by this client.
    pub fn batch_stats(&self) -> &BatchStats {
        &self.stats
    }

    /// `Ok(None)` when the registry does not know the subject.
    pub async fn lookup(&self, subject_id: &str) -> Result<Option<Person>, String> {
        if let Some(batcher) = &self.batcher {
            // The registry would answer 400 to anything else; the single
            // lookup's "unknown" answer is kept for it.
            if subject_id.len() != 40 || !subject_id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Ok(None);
            }
            let (reply, answer) = oneshot::channel();
            batcher
                .try_send(batch::Pending { subject_id: subject_id.to_owned(), reply })
                .map_err(|_| "registry lookups are queued beyond the limit".to_owned())?;
            return match tokio::time::timeout(self.timeout, answer).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err("registry batcher stopped".to_owned()),
                Err(_) => Err(format!("no registry answer within {:?}", self.timeout)),
            };
        }
        let mut request = self.http.get(format!("{}/v1/subjects/{subject_id}", self.base));
        let traceparent = yeyak_platform::telemetry::current_traceparent();
        if !traceparent.is_empty() {
            request = request.header("traceparent", traceparent);
        }
        let resp = request.send().await.map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 => Ok(Some(resp.json::<Record>().await.map_err(|e| e.to_string())?.into())),
            // 400: not a subject id the registry could ever hold.
            404 | 400 => Ok(None),
            code => Err(format!("registry answered HTTP {code}")),
        }
    }

    /// The aggregate counts by birth date (for dry runs of new rules).
    pub(crate) async fn birth_date_stats(&self) -> anyhow::Result<BirthDateStats> {
        let resp = self.http.get(format!("{}/v1/stats/birth-dates", self.base)).send().await?;
        anyhow::ensure!(resp.status().is_success(), "registry answered HTTP {} to /v1/stats/birth-dates", resp.status());
        Ok(resp.json().await?)
    }
}
