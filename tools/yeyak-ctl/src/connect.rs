//! Channels to a deployment and the operator's credential on every call.
use std::{fs, time::Duration};

use anyhow::Context as _;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::{interceptor::InterceptedService, Interceptor},
    transport::Channel,
    Request, Status,
};
use yeyak_platform::{
    grpc::client::{self, ClientSettings},
    tls::TlsSettings,
};

use crate::args::Global;

/// A channel whose every call carries `authorization: Bearer <token>`.
pub(crate) type Authorized = InterceptedService<Channel, Bearer>;

/// Adds the operator token to each call. The value is marked sensitive so
/// that tonic's and hyper's debug output never print it.
#[derive(Clone)]
pub(crate) struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Where the deployment is, and how to reach it.
#[derive(Clone, Debug)]
pub struct Deployment {
    settings: ClientSettings,
    token: Option<String>,
    pub admission: String,
    pub notification: String,
    pub metrics: Vec<String>,
    pub timeout: Duration,
}

impl Deployment {
    pub fn from_args(global: &Global) -> anyhow::Result<Self> {
        let token = match (&global.token, &global.token_file) {
            (Some(token), _) => Some(token.trim().to_owned()),
            (None, Some(path)) => {
                let text = fs::read_to_string(path).with_context(|| format!("reading the token file {}", path.display()))?;
                Some(text.trim().to_owned())
            }
            (None, None) => None,
        };
        let tls = TlsSettings {
            ca_file: global.tls_ca_file.clone(),
            client_cert_file: global.tls_client_cert_file.clone(),
            client_key_file: global.tls_client_key_file.clone(),
        };
        let settings = ClientSettings { connect_timeout: global.timeout.min(Duration::from_secs(2)), request_timeout: global.timeout, tls };
        Ok(Self {
            settings,
            token,
            admission: global.admission.clone(),
            notification: global.notification.clone(),
            metrics: global.metrics.clone(),
            timeout: global.timeout,
        })
    }

    /// A channel to `addr` with the operator's token on every call.
    pub(crate) fn operator_channel(&self, addr: &str) -> anyhow::Result<Authorized> {
        let token = self
            .token
            .as_deref()
            .filter(|t| !t.is_empty())
            .context("no operator token: set YEYAK_CTL_TOKEN_FILE (or --token-file) to a file holding yours, or YEYAK_CTL_TOKEN")?;
        let mut value: MetadataValue<Ascii> =
            format!("Bearer {token}").parse().map_err(|_| anyhow::anyhow!("the operator token holds characters a header cannot carry"))?;
        value.set_sensitive(true);
        let channel = client::channel(addr, &self.settings).with_context(|| format!("address {addr:?}"))?;
        Ok(InterceptedService::new(channel, Bearer(value)))
    }

    /// A plain HTTP(S) client for the metrics endpoints, with the same
    /// deadline as every gRPC call.
    pub(crate) fn http(&self) -> anyhow::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder().timeout(self.timeout).connect_timeout(self.settings.connect_timeout);
        if let Some(path) = &self.settings.tls.ca_file {
            let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).with_context(|| format!("{}: not a PEM bundle", path.display()))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(builder.build()?)
    }
}
