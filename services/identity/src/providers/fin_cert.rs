//! The financial certificate (금융인증서, a cloud certificate kept by the
//! banks' clearing house): the person signs the request with the certificate
//! PIN in the provider's window; like an app approval, we poll until it is
//! signed or the transaction expires. A certificate signature: assurance 2
//! (the level the assertion format knows for certificates).
use std::time::Duration;

use super::{
    http::{self, HttpApi},
    BoxFuture, CallOptions, PersonDetails, Provider, ProviderConfig, ProviderError, VerifiedPerson,
};

pub struct FinancialCertificate {
    config: ProviderConfig,
    api: HttpApi,
}

impl FinancialCertificate {
    pub fn new(config: ProviderConfig, retries: u32) -> anyhow::Result<Self> {
        let api = HttpApi::new(&config.url, retries)?;
        Ok(Self { config, api })
    }
}

impl Provider for FinancialCertificate {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn assurance(&self) -> u8 {
        2
    }

    fn instructions(&self) -> &'static str {
        "sign with your financial certificate PIN in the certificate window, then continue"
    }

    fn start<'a>(&'a self, person: &'a PersonDetails, call: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let answer = self.api.start_verification(person, call).await?;
            match answer.status {
                200..=299 => http::started(&answer),
                // No financial certificate issued to this person.
                400 | 422 => Err(ProviderError::Rejected),
                code => Err(ProviderError::Unavailable(format!("HTTP {code}"))),
            }
        })
    }

    fn confirm<'a>(
        &'a self,
        transaction: &'a str,
        code: &'a str,
        deadline: Duration,
    ) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>> {
        Box::pin(async move {
            let answer = self.api.confirm_verification(transaction, code, deadline).await?;
            match answer.status {
                200..=299 => http::confirmed(&answer),
                // Not signed yet.
                409 => Err(ProviderError::Pending),
                400 | 401 | 403 => Err(ProviderError::Rejected),
                404 | 410 => Err(ProviderError::Gone),
                code => Err(ProviderError::Unavailable(format!("HTTP {code}"))),
            }
        })
    }

    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(self.api.ping(deadline))
    }
}
