//! EligibilityService.CheckEligibility, behind the pass: the caller's pass
//! and the booking's tokens are forwarded as they came, so eligibility
//! verifies them itself.
use std::{sync::Arc, time::Duration};

use tonic::transport::Channel;
use yeyak_platform::{
    grpc::VerifiedPass,
    metrics::{rpc::Method, Metrics},
    telemetry,
    tls::TlsSettings,
};
use yeyak_proto::eligibility::v1::{
    self as elig, eligibility_service_client::EligibilityServiceClient, eligibility_service_server::SERVICE_NAME as ELIGIBILITY_SERVICE,
};

use super::{call, channel, client_metrics, request, ClientError};
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
    rpc: Arc<Method>,
}

impl EligibilityClient {
    pub(crate) fn connect(addr: &str, timeout: Duration, tls: &TlsSettings, metrics: &Metrics) -> anyhow::Result<Self> {
        let rpc = client_metrics(metrics, ELIGIBILITY_SERVICE, "CheckEligibility");
        Ok(Self { client: EligibilityServiceClient::new(channel(addr, timeout, tls)?), timeout, rpc })
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
        let span = telemetry::rpc_client_span(ELIGIBILITY_SERVICE, "CheckEligibility");
        // `forward` adds the current span's context: the client span's, here.
        let request = span.in_scope(|| pass.forward(request(message, self.timeout, &span)));
        let response = call(ELIGIBILITY, self.timeout, span, &self.rpc, client.check_eligibility(request)).await?;
        if response.eligible {
            return Ok(Verdict::Eligible);
        }
        let reason = elig::EligibilityReason::try_from(response.reason)
            .map(|r| r.as_str_name().to_owned())
            .unwrap_or_else(|_| format!("ELIGIBILITY_REASON_{}", response.reason));
        Ok(Verdict::NotEligible { reason, detail: response.detail })
    }
}
