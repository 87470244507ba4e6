//! The one HTTP/JSON adapter every verification channel uses; a channel is a
//! [`Profile`]: how sure the check is, what the person is told, and whether
//! completing means typing a code or waiting for an approval.
use std::time::Duration;

use yeyak_platform::tls::TlsSettings;

use super::{
    http::{self, HttpApi},
    BoxFuture, CallOptions, Provider, ProviderError,
};
use crate::domain::{PersonDetails, ProviderConfig, VerifiedPerson};

pub(super) struct Profile {
    pub assurance: u8,
    pub instructions: &'static str,
    /// Completed by an approval in an app (polled), not by a typed code.
    pub approval: bool,
}

/// The mobile carriers' identity check (SKT, KT, LG U+ and MVNOs behind one
/// broker): the carrier matches name, number and phone, then texts a 6-digit
/// code that the person types back. Possession of the phone: assurance 1.
pub(super) const CARRIER_SMS: Profile = Profile { assurance: 1, instructions: "enter the 6-digit code sent by SMS", approval: false };

/// The "simple certificate" apps (Kakao, Naver, PASS): the app on the
/// person's phone shows a push notification; the person approves it there,
/// and we poll until it is approved or the transaction expires. A
/// certificate bound to the device: assurance 2.
pub(super) const CERTIFICATE_APP: Profile =
    Profile { assurance: 2, instructions: "approve the request in the certificate app on your phone, then continue", approval: true };

/// The financial certificate (금융인증서, a cloud certificate kept by the
/// banks' clearing house): the person signs with the certificate PIN in the
/// provider's window; like an app approval, we poll until it is signed or the
/// transaction expires. A certificate signature: assurance 2.
pub(super) const FINANCIAL_CERTIFICATE: Profile = Profile {
    assurance: 2,
    instructions: "sign with your financial certificate PIN in the certificate window, then continue",
    approval: true,
};

pub(super) struct Channel {
    config: ProviderConfig,
    api: HttpApi,
    profile: &'static Profile,
}

impl Channel {
    pub(super) fn new(config: ProviderConfig, profile: &'static Profile, retries: u32, tls: &TlsSettings) -> anyhow::Result<Self> {
        let api = HttpApi::new(&config.url, retries, tls)?;
        Ok(Self { config, api, profile })
    }
}

impl Provider for Channel {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn assurance(&self) -> u8 {
        self.profile.assurance
    }

    fn instructions(&self) -> &'static str {
        self.profile.instructions
    }

    fn start<'a>(&'a self, person: &'a PersonDetails, call: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let answer = self.api.start_verification(person, call).await?;
            match answer.status {
                200..=299 => http::started(&answer),
                // The provider does not know this person (with this phone).
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
            match (answer.status, self.profile.approval) {
                (200..=299, _) => http::confirmed(&answer),
                (400 | 401, false) => Err(ProviderError::WrongCode),
                // Not approved yet.
                (409, true) => Err(ProviderError::Pending),
                // The person declined, or there is nothing to approve any more.
                (400 | 401 | 403, true) => Err(ProviderError::Rejected),
                (404 | 410, _) => Err(ProviderError::Gone),
                (code, _) => Err(ProviderError::Unavailable(format!("HTTP {code}"))),
            }
        })
    }

    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(self.api.ping(deadline))
    }
}
