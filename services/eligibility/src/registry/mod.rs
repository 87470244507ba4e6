//! Client of the national insurance registry. It is another agency's system:
//! we reach it only through its API, with a deadline on every call, and we
//! only ever send it the pseudonymous subject id.
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::Person;

#[derive(Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Record {
    birth_date: NaiveDate,
    insured: bool,
    #[serde(default)]
    priority_groups: Vec<String>,
    #[serde(default)]
    doses: Vec<NaiveDate>,
}

/// One row of the registry's aggregate `GET /v1/stats/birth-dates`: how many
/// insured people share a birth date, priority groups and number of doses.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BirthDateCount {
    pub birth_date: NaiveDate,
    pub priority_groups: Vec<String>,
    pub doses: u32,
    pub count: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BirthDateStats {
    /// Insured people counted.
    pub population: u64,
    pub rows: Vec<BirthDateCount>,
}

impl RegistryClient {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_millis(500)))
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), http })
    }

    /// `Ok(None)` when the registry does not know the subject.
    pub async fn lookup(&self, subject_id: &str) -> Result<Option<Person>, String> {
        let resp = self.http.get(format!("{}/v1/subjects/{subject_id}", self.base)).send().await.map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 => {
                let r: Record = resp.json().await.map_err(|e| e.to_string())?;
                Ok(Some(Person { birth_date: r.birth_date, insured: r.insured, priority_groups: r.priority_groups, doses: r.doses }))
            }
            // 400: not a subject id the registry could ever hold.
            404 | 400 => Ok(None),
            code => Err(format!("registry answered HTTP {code}")),
        }
    }

    /// The aggregate counts by birth date (for dry runs of new rules).
    pub async fn birth_date_stats(&self) -> anyhow::Result<BirthDateStats> {
        let resp = self.http.get(format!("{}/v1/stats/birth-dates", self.base)).send().await?;
        anyhow::ensure!(resp.status().is_success(), "registry answered HTTP {} to /v1/stats/birth-dates", resp.status());
        Ok(resp.json().await?)
    }
}
