//! The "simple certificate" apps (Kakao, Naver, PASS): the app on the
//! person's phone shows a push notification with the request; the person
//! approves it there, and we poll the provider until it is approved or the
//! transaction expires. A certificate bound to the device: assurance 2.
use std::time::Duration;

use super::{
    http::{self, HttpApi},
    BoxFuture, CallOptions, PersonDetails, Provider, ProviderConfig, ProviderError, VerifiedPerson,
};

pub struct CertificateApp {
    config: ProviderConfig,
    api: HttpApi,
}

impl CertificateApp {
    pub fn new(config: ProviderConfig, retries: u32) -> anyhow::Result<Self> {
        let api = HttpApi::new(&config.url, retries)?;
        Ok(Self { config, api })
    }
}

impl Provider for CertificateApp {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn assurance(&self) -> u8 {
        2
    }

    fn instructions(&self) -> &'static str {
        "approve the request in the certificate app on your phone, then continue"
    }

    fn start<'a>(&'a self, person: &'a PersonDetails, call: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let answer = self.api.start_verification(person, call).await?;
            match answer.status {
                200..=299 => http::started(&answer),
                // No certificate for this person on this phone.
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
                409 => Err(ProviderError::Pending),
                // The person declined, or there is nothing to approve any more.
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
