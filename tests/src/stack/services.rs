//! Our six services, each built from its settings the way its `main.rs`
//! builds it: in the test's process, or in a child process of its own
//! ([`super::process`]).
use std::{future::Future, net::SocketAddr, pin::Pin};

use yeyak_platform::{config::Env, Shutdown};

/// One of our services (the mocks always run in the test's process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Admission,
    Identity,
    Eligibility,
    Inventory,
    Notification,
    Reservation,
}

/// Where a built service listens.
#[derive(Clone, Debug)]
pub(crate) struct Listening {
    pub(crate) grpc: String,
    /// Inventory's internal listener (GetSlot), for reservation.
    pub(crate) internal: Option<String>,
}

impl Listening {
    fn at(grpc: SocketAddr) -> Self {
        Self { grpc: grpc.to_string(), internal: None }
    }
}

/// A built service's run, until its shutdown.
pub(crate) type Run = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

impl Service {
    pub const ALL: [Service; 6] =
        [Service::Admission, Service::Identity, Service::Eligibility, Service::Inventory, Service::Notification, Service::Reservation];

    /// Its name: the binary's suffix, its `service.name` in traces.
    pub fn name(self) -> &'static str {
        match self {
            Service::Admission => "admission",
            Service::Identity => "identity",
            Service::Eligibility => "eligibility",
            Service::Inventory => "inventory",
            Service::Notification => "notification",
            Service::Reservation => "reservation",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Builds the service from `env` (listeners bound, migrations run) and
    /// returns where it listens and its run until `shutdown`.
    pub(crate) async fn build(self, env: &Env, shutdown: Shutdown) -> anyhow::Result<(Listening, Run)> {
        Ok(match self {
            Service::Admission => {
                let app = admission::startup::Application::build(admission::config::Config::from_env(env)?).await?;
                (Listening::at(app.grpc_addr()), Box::pin(app.run_until_stopped(shutdown)))
            }
            Service::Identity => {
                let app = identity::startup::Application::build(identity::config::Config::from_env(env)?).await?;
                (Listening::at(app.grpc_addr()), Box::pin(app.run_until_stopped(shutdown)))
            }
            Service::Eligibility => {
                let app = eligibility::startup::Application::build(eligibility::config::Config::from_env(env)?).await?;
                (Listening::at(app.grpc_addr()), Box::pin(app.run_until_stopped(shutdown)))
            }
            Service::Inventory => {
                let app = inventory::startup::Application::build(inventory::config::Config::from_env(env)?).await?;
                let listening = Listening { internal: Some(app.internal_grpc_addr().to_string()), ..Listening::at(app.grpc_addr()) };
                (listening, Box::pin(app.run_until_stopped(shutdown)))
            }
            Service::Notification => {
                let app = notification::startup::Application::build(notification::config::Config::from_env(env)?).await?;
                (Listening::at(app.grpc_addr()), Box::pin(app.run_until_stopped(shutdown)))
            }
            Service::Reservation => {
                let app = reservation::startup::Application::build(reservation::config::Config::from_env(env)?).await?;
                (Listening::at(app.grpc_addr()), Box::pin(app.run_until_stopped(shutdown)))
            }
        })
    }
}
