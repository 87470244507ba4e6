//! The mobile carriers' identity check (SKT, KT, LG U+ and MVNOs behind one
//! broker): the carrier matches name, number and phone, then texts a 6-digit
//! code that the person types back. Possession of the phone: assurance 1.
use std::time::Duration;

use super::{
    http::{self, HttpApi},
    BoxFuture, CallOptions, PersonDetails, Provider, ProviderConfig, ProviderError, VerifiedPerson,
};

pub struct CarrierSms {
    config: ProviderConfig,
    api: HttpApi,
}

impl CarrierSms {
    pub fn new(config: ProviderConfig, retries: u32) -> anyhow::Result<Self> {
        let api = HttpApi::new(&config.url, retries)?;
        Ok(Self { config, api })
    }
}

impl Provider for CarrierSms {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn assurance(&self) -> u8 {
        1
    }

    fn instructions(&self) -> &'static str {
        "enter the 6-digit code sent by SMS"
    }

    fn start<'a>(&'a self, person: &'a PersonDetails, call: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let answer = self.api.start_verification(person, call).await?;
            match answer.status {
                200..=299 => http::started(&answer),
                // The carrier does not know this name/number/phone together.
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
                400 | 401 => Err(ProviderError::WrongCode),
                404 | 410 => Err(ProviderError::Gone),
                code => Err(ProviderError::Unavailable(format!("HTTP {code}"))),
            }
        })
    }

    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(self.api.ping(deadline))
    }
}
