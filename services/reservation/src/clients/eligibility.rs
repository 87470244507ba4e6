//! EligibilityService.CheckEligibility, behind the pass: the caller's pass
//! and the booking's tokens are forwarded as they came, so eligibility
//! verifies them itself.
use std::time::Duration;

use tonic::transport::Channel;
use yeyak_platform::{grpc::VerifiedPass, tls::TlsSettings};
use yeyak_proto::eligibility::v1::{self as elig, eligibility_service_client::EligibilityServiceClient};

use super::{call, channel, request, ClientError};
use crate::domain::NewBooking;

const ELIGIBILITY: &str = "eligibility service";

/// Eligibility's answer about a booking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Eligible,
    /// `reason` is the name of eligibility's reason code, `detail` its
    /// explanation for the person.
    NotEligible {
        reason: String,
        detail: String,
    },
}

#[derive(Clone)]
pub(crate) struct EligibilityClient {
    client: EligibilityServiceClient<Channel>,
    timeout: Duration,
}

impl EligibilityClient {
    pub(crate) fn connect(addr: &str, timeout: Duration, tls: &TlsSettings) -> anyhow::Result<Self> {
        Ok(Self { client: EligibilityServiceClient::new(channel(addr, timeout, tls)?), timeout })
    }

    /// Whether the subject may book the dose now.
    pub(crate) async fn check(&self, pass: &VerifiedPass, booking: &NewBooking) -> Result<Verdict, ClientError> {
        let message = elig::CheckEligibilityRequest {
            identity_assertion: booking.identity_assertion.clone(),
            agent_assertion: booking.agent_assertion.clone(),
            consent_token: booking.consent_token.clone(),
            dose_number: booking.dose_number,
        };
        let mut client = self.client.clone();
        let request = pass.forward(request(message, self.timeout));
        let response = call(ELIGIBILITY, self.timeout, client.check_eligibility(request)).await?;
        if response.eligible {
            return Ok(Verdict::Eligible);
        }
        let reason = elig::EligibilityReason::try_from(response.reason)
            .map(|r| r.as_str_name().to_owned())
            .unwrap_or_else(|_| format!("ELIGIBILITY_REASON_{}", response.reason));
        Ok(Verdict::NotEligible { reason, detail: response.detail })
    }
}
