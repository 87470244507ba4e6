//! Which RPCs a browser may reach: the public services, by their full
//! gRPC name, each to its own upstream. Everything else — operator
//! services, internal catalogues, reflection, health of the upstreams — is
//! answered `UNIMPLEMENTED` by the edge itself and never forwarded, so a
//! service that adds an operator RPC cannot expose it here by accident.
use std::collections::HashMap;

use tonic::transport::Channel;
use yeyak_platform::grpc::client::{self, ClientSettings};

use crate::config::Upstreams;

/// The public services and which upstream serves each. Adding one here is
/// the only way to open it to browsers.
pub const PUBLIC_SERVICES: [(&str, Upstream); 5] = [
    ("yeyak.admission.v1.AdmissionService", Upstream::Admission),
    ("yeyak.identity.v1.IdentityService", Upstream::Identity),
    ("yeyak.eligibility.v1.EligibilityService", Upstream::Eligibility),
    ("yeyak.inventory.v1.InventoryService", Upstream::Inventory),
    ("yeyak.reservation.v1.ReservationService", Upstream::Reservation),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Upstream {
    Admission,
    Identity,
    Eligibility,
    Inventory,
    Reservation,
}

/// One lazily connected channel per upstream (a Kubernetes Service name
/// balances behind it), shared by every call.
#[derive(Clone, Debug)]
pub struct Routes {
    services: HashMap<&'static str, Channel>,
}

impl Routes {
    /// Builds the channels without connecting: the edge starts while an
    /// upstream is still down and answers `UNAVAILABLE` for it meanwhile.
    /// `https://` addresses are dialled with TLS (`settings.tls`: the CA,
    /// and a client certificate for mutual TLS), others in plain HTTP/2.
    pub fn new(upstreams: &Upstreams, settings: &ClientSettings) -> anyhow::Result<Self> {
        let channel = |addr: &str| client::channel(addr, settings).map_err(|e| anyhow::anyhow!("upstream address {addr:?}: {e}"));
        let by_upstream = [
            (Upstream::Admission, channel(&upstreams.admission)?),
            (Upstream::Identity, channel(&upstreams.identity)?),
            (Upstream::Eligibility, channel(&upstreams.eligibility)?),
            (Upstream::Inventory, channel(&upstreams.inventory)?),
            (Upstream::Reservation, channel(&upstreams.reservation)?),
        ];
        let services = PUBLIC_SERVICES
            .iter()
            .map(|(name, upstream)| {
                let found = by_upstream.iter().find(|(u, _)| u == upstream).map(|(_, c)| c.clone());
                found.map(|channel| (*name, channel)).ok_or_else(|| anyhow::anyhow!("no channel for {upstream:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { services })
    }

    /// The channel for a call's path (`/package.Service/Method`), if the
    /// service is public and the path well formed.
    pub fn upstream(&self, path: &str) -> Option<Channel> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        if method.is_empty() || method.contains('/') {
            return None;
        }
        self.services.get(service).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let upstreams = Upstreams {
            admission: "http://127.0.0.1:1".into(),
            identity: "http://127.0.0.1:2".into(),
            eligibility: "http://127.0.0.1:3".into(),
            inventory: "http://127.0.0.1:4".into(),
            reservation: "http://127.0.0.1:5".into(),
        };
        Routes::new(&upstreams, &ClientSettings::default()).unwrap()
    }

    #[tokio::test]
    async fn only_the_public_services_methods_are_routed() {
        let routes = routes();
        for public in ["/yeyak.admission.v1.AdmissionService/JoinQueue", "/yeyak.reservation.v1.ReservationService/CreateReservation"] {
            assert!(routes.upstream(public).is_some(), "{public}");
        }
        for closed in [
            "/yeyak.admission.v1.AdmissionOperatorService/SetAdmissionRate",
            "/yeyak.inventory.v1.SlotCatalogService/GetSlot",
            "/yeyak.inventory.v1.InventoryOperatorService/CloseSlots",
            "/yeyak.reservation.v1.SupplyChangeService/GetSupplyChange",
            "/yeyak.notification.v1.NotificationOperatorService/ListDeliveries",
            "/yeyak.keys.v1.KeySetService/GetKeySet",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.health.v1.Health/Check",
            "/yeyak.admission.v1.AdmissionService/",
            "/yeyak.admission.v1.AdmissionService/JoinQueue/x",
            "/yeyak.admission.v1.AdmissionService",
            "yeyak.admission.v1.AdmissionService/JoinQueue",
        ] {
            assert!(routes.upstream(closed).is_none(), "{closed}");
        }
    }
}
