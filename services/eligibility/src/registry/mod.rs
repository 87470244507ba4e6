//! Client of the national insurance registry. It is another agency's system:
//! we reach it only through its API, with a deadline on every call.
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
    doses: Vec<NaiveDate>,
}

impl RegistryClient {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_millis(500))).build()?;
        Ok(Self { base: base.to_owned(), http })
    }

    /// `Ok(None)` when the registry does not know the subject.
    pub async fn lookup(&self, subject_id: &str) -> Result<Option<Person>, String> {
        let resp = self.http.get(format!("{}/v1/subjects/{subject_id}", self.base)).send().await.map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 => {
                let r: Record = resp.json().await.map_err(|e| e.to_string())?;
                Ok(Some(Person { birth_date: r.birth_date, insured: r.insured, doses: r.doses }))
            }
            404 => Ok(None),
            code => Err(format!("registry answered HTTP {code}")),
        }
    }
}
