//! The HTTP/JSON adapter the mock providers (and real ones) speak.
use std::time::Duration;

use serde::Deserialize;
use yeyak_platform::pseudonym::Rrn;

use super::{BoxFuture, PersonDetails, Provider, ProviderConfig, ProviderError, VerifiedPerson};

pub struct HttpProvider {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl HttpProvider {
    pub fn new(config: ProviderConfig, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_millis(500))).build()?;
        Ok(Self { config, client })
    }
}

#[derive(Deserialize)]
struct Started {
    transaction_id: String,
}

#[derive(Deserialize)]
struct Confirmed {
    name: String,
    rrn: String,
}

fn unavailable(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

impl Provider for HttpProvider {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn start<'a>(&'a self, person: &'a PersonDetails) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let body = serde_json::json!({ "name": person.name, "rrn": person.rrn.expose(), "phone": person.phone });
            let resp = self.client.post(format!("{}/v1/verifications", self.config.url)).json(&body).send().await.map_err(unavailable)?;
            match resp.status().as_u16() {
                200..=299 => Ok(resp.json::<Started>().await.map_err(unavailable)?.transaction_id),
                400 | 422 => Err(ProviderError::Rejected),
                code => Err(unavailable(format!("HTTP {code}"))),
            }
        })
    }

    fn confirm<'a>(&'a self, transaction: &'a str, code: &'a str) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>> {
        Box::pin(async move {
            let url = format!("{}/v1/verifications/{transaction}/confirm", self.config.url);
            let resp = self.client.post(url).json(&serde_json::json!({ "code": code })).send().await.map_err(unavailable)?;
            match resp.status().as_u16() {
                200..=299 => {
                    let c: Confirmed = resp.json().await.map_err(unavailable)?;
                    let rrn = Rrn::parse(&c.rrn).map_err(|_| ProviderError::Rejected)?;
                    Ok(VerifiedPerson { name: c.name, rrn })
                }
                400 | 401 => Err(ProviderError::WrongCode),
                409 => Err(ProviderError::Pending),
                404 | 410 => Err(ProviderError::Gone),
                code => Err(unavailable(format!("HTTP {code}"))),
            }
        })
    }
}
