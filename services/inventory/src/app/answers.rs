//! Rows to the answers' protobuf shapes, which is also how the cache stores
//! them.
use yeyak_proto::inventory::v1 as pb;

use crate::{
    domain,
    store::{ClinicSummaryRow, DistrictRow, SlotRow},
};

/// Folds the province-ordered join rows into nested provinces.
pub(super) fn group_regions(rows: Vec<DistrictRow>) -> Vec<pb::Province> {
    let mut provinces: Vec<pb::Province> = Vec::new();
    for row in rows {
        if provinces.last().is_none_or(|p| p.code != row.province_code) {
            provinces.push(pb::Province { code: row.province_code, name: row.province_name, districts: Vec::new() });
        }
        if let (Some(code), Some(name), Some(p)) = (row.district_code, row.district_name, provinces.last_mut()) {
            p.districts.push(pb::District { code, name });
        }
    }
    provinces
}

pub(super) fn clinic_to_pb(row: ClinicSummaryRow) -> pb::ClinicSummary {
    pb::ClinicSummary {
        clinic_id: row.clinic_id.to_string(),
        name: row.name,
        district_code: row.district_code,
        address: row.address,
        remaining_total: u32::try_from(row.remaining_total).unwrap_or(u32::MAX),
        available_dates: row.available_dates.iter().map(ToString::to_string).collect(),
    }
}

pub(super) fn slot_to_pb(row: SlotRow) -> pb::Slot {
    pb::Slot {
        slot_id: row.slot_id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        vaccine_code: row.vaccine_code,
        starts_at: Some(yeyak_proto::time::to_proto(row.starts_at)),
        ends_at: Some(yeyak_proto::time::to_proto(row.ends_at)),
        capacity: u32::try_from(row.capacity).unwrap_or(0),
        remaining: domain::remaining(row.capacity, row.booked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p: &str, d: Option<&str>) -> DistrictRow {
        DistrictRow {
            province_code: p.into(),
            province_name: format!("p{p}"),
            district_code: d.map(Into::into),
            district_name: d.map(|d| format!("d{d}")),
        }
    }

    #[test]
    fn regions_nest_in_order() {
        let out = group_regions(vec![row("11", Some("11110")), row("11", Some("11680")), row("36", None), row("41", Some("41117"))]);
        assert_eq!(out.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["11", "36", "41"]);
        assert_eq!(out[0].districts.len(), 2);
        assert!(out[1].districts.is_empty());
        assert_eq!(out[2].districts[0].name, "d41117");
    }
}
