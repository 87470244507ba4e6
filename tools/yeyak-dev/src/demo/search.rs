//! A free slot in the next two weeks, found as a person would: regions,
//! then clinics offering a vaccine, then a clinic's availability.
use anyhow::{bail, Context as _};
use yeyak_proto::inventory::v1 as inv;

use super::{Endpoints, Session};

const INVENTORY: &str = inv::inventory_service_server::SERVICE_NAME;

/// The first slot with a place left, walking provinces and vaccines in
/// order, so the demo books wherever the seeded catalogue has room.
pub async fn find_slot(ep: &Endpoints, session: &Session, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<inv::Slot> {
    let mut inventory = inv::inventory_service_client::InventoryServiceClient::new(ep.ch(&ep.inventory)?);
    let regions = inventory
        .list_regions(session.request(inv::ListRegionsRequest {}, INVENTORY, "ListRegions")?)
        .await
        .context("ListRegions")?
        .into_inner()
        .provinces;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive();
    let (from, to) = (today.format("%Y-%m-%d").to_string(), (today + chrono::Duration::days(14)).format("%Y-%m-%d").to_string());
    for province in &regions {
        for vaccine in ["pfizer", "moderna", "az", "janssen"] {
            let found = inventory
                .search_clinics(session.request(
                    inv::SearchClinicsRequest {
                        region_code: province.code.clone(),
                        vaccine_code: vaccine.into(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                        page_size: 5,
                        page_token: String::new(),
                    },
                    INVENTORY,
                    "SearchClinics",
                )?)
                .await
                .context("SearchClinics")?
                .into_inner();
            let Some(clinic) = found.clinics.first() else { continue };
            say(format!(
                "7. {} regions; {} clinics with {vaccine} in {}, first: {} ({} places left)",
                regions.len(),
                found.clinics.len(),
                province.name,
                clinic.name,
                clinic.remaining_total
            ));
            let slots = inventory
                .get_availability(session.request(
                    inv::GetAvailabilityRequest {
                        clinic_id: clinic.clinic_id.clone(),
                        vaccine_code: vaccine.into(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                    },
                    INVENTORY,
                    "GetAvailability",
                )?)
                .await
                .context("GetAvailability")?
                .into_inner()
                .slots;
            if let Some(slot) = slots.into_iter().find(|s| s.remaining > 0) {
                say(format!("8. picked slot {} ({} of {} places left)", slot.slot_id, slot.remaining, slot.capacity));
                return Ok(slot);
            }
        }
    }
    bail!("no clinic with a free slot in the next two weeks")
}
