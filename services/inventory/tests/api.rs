//! The public and internal RPCs against a small seeded catalogue.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::HashSet;

use inventory::domain::catalogue;
use tonic::{Code, Request};
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::inventory::v1 as pb;

const PER_DISTRICT: u32 = 2;
const DAYS: u32 = 3;

/// Expected clinics (and their total places over the seeded days) from the
/// deterministic plan.
fn expected(region: &str, vaccine: &str, app: &common::TestApp) -> Vec<(String, u32)> {
    let first = app.today + chrono::Days::new(1);
    let mut out: Vec<(String, u32)> = catalogue::clinics(PER_DISTRICT)
        .iter()
        .filter(|c| (c.province_code == region || c.district_code == region) && c.vaccines.contains(&vaccine))
        .map(|c| {
            let total = catalogue::slots(c, first, DAYS).iter().filter(|s| s.vaccine_code == vaccine).map(|s| s.capacity as u32).sum();
            (c.clinic_id.to_string(), total)
        })
        .collect();
    out.sort();
    out
}

async fn search_all(app: &common::TestApp, region: &str, vaccine: &str, page_size: i32) -> (Vec<pb::ClinicSummary>, usize) {
    let mut client = app.inventory().await;
    let (mut all, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let req = pb::SearchClinicsRequest {
            region_code: region.into(),
            vaccine_code: vaccine.into(),
            from_date: app.day(0),
            to_date: app.day(DAYS as u64 + 2),
            page_size,
            page_token: token.clone(),
        };
        let resp = client.search_clinics(app.with_pass(req)).await.expect("search").into_inner();
        pages += 1;
        assert!(resp.clinics.len() <= page_size as usize);
        all.extend(resp.clinics);
        if resp.next_page_token.is_empty() {
            return (all, pages);
        }
        token = resp.next_page_token;
        assert!(pages < 100, "pagination does not end");
    }
}

#[tokio::test]
async fn regions_search_and_availability_over_a_seeded_catalogue() {
    let app = common::spawn(PER_DISTRICT, DAYS).await;
    let mut client = app.inventory().await;

    let regions = client.list_regions(app.with_pass(pb::ListRegionsRequest {})).await.expect("regions").into_inner();
    assert_eq!(regions.provinces.len(), 17);
    let seoul = &regions.provinces[0];
    assert_eq!((seoul.code.as_str(), seoul.name.as_str()), ("11", "서울특별시"));
    assert!(seoul.districts.iter().any(|d| d.code == "11680" && d.name == "강남구"));
    assert!(regions.provinces.iter().all(|p| !p.districts.is_empty()));

    let seeded_dates: Vec<String> = (1..=DAYS as u64).map(|d| app.day(d)).collect();
    for (region, vaccine, page_size) in [("11", "pfizer", 3), ("41", "moderna", 2), ("11680", "az", 1), ("11", "janssen", 100)] {
        let want = expected(region, vaccine, &app);
        assert!(want.len() >= page_size as usize || page_size == 100, "{region}/{vaccine}: {} clinics do not exercise paging", want.len());
        let (got, pages) = search_all(&app, region, vaccine, page_size).await;
        let ids: Vec<String> = got.iter().map(|c| c.clinic_id.clone()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no duplicates across pages");
        let got_pairs: Vec<(String, u32)> = got.iter().map(|c| (c.clinic_id.clone(), c.remaining_total)).collect();
        assert_eq!(got_pairs, want, "{region}/{vaccine}: every matching clinic once, in id order, with its places");
        assert_eq!(pages, want.len().div_ceil(page_size as usize).max(1), "{region}/{vaccine}");
        for c in &got {
            assert_eq!(c.available_dates, seeded_dates);
            assert!(c.district_code.starts_with(&region[..2]));
            assert!(!c.name.is_empty() && !c.address.is_empty());
        }
    }
    // A range with no slots finds nothing.
    let empty = pb::SearchClinicsRequest {
        region_code: "11".into(),
        vaccine_code: "pfizer".into(),
        from_date: app.day(DAYS as u64 + 1),
        to_date: app.day(DAYS as u64 + 5),
        ..Default::default()
    };
    let resp = client.search_clinics(app.with_pass(empty)).await.expect("search").into_inner();
    assert!(resp.clinics.is_empty() && resp.next_page_token.is_empty());

    let clinic = &catalogue::clinics(PER_DISTRICT)[0];
    let vaccine = clinic.vaccines[0];
    let req = pb::GetAvailabilityRequest {
        clinic_id: clinic.clinic_id.to_string(),
        vaccine_code: vaccine.into(),
        from_date: app.day(0),
        to_date: app.day(31),
    };
    let slots = client.get_availability(app.with_pass(req)).await.expect("availability").into_inner().slots;
    assert_eq!(slots.len(), 8 * DAYS as usize);
    let starts: Vec<i64> = slots.iter().map(|s| s.starts_at.as_ref().expect("start").seconds).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "in start order");
    assert!(slots.iter().all(|s| s.remaining == s.capacity && (5..=20).contains(&s.capacity) && s.vaccine_code == vaccine));
    // One day: 8 slots, 09:00 to 17:00 Seoul (00:00 to 08:00 UTC).
    let req = pb::GetAvailabilityRequest {
        clinic_id: clinic.clinic_id.to_string(),
        vaccine_code: vaccine.into(),
        from_date: app.day(2),
        to_date: app.day(2),
    };
    let day = client.get_availability(app.with_pass(req)).await.expect("availability").into_inner().slots;
    assert_eq!(day.len(), 8);
    assert_eq!(day[0].starts_at.as_ref().expect("start").seconds % 86_400, 0);
    assert_eq!(day[7].ends_at.as_ref().expect("end").seconds % 86_400, 8 * 3600);

    let unknown = pb::GetAvailabilityRequest {
        clinic_id: uuid::Uuid::new_v4().to_string(),
        vaccine_code: "pfizer".into(),
        from_date: app.day(0),
        to_date: app.day(3),
    };
    assert_eq!(client.get_availability(app.with_pass(unknown)).await.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_a_pass_is_required() {
    let app = common::spawn(1, 1).await;
    let mut client = app.inventory().await;
    let good = pb::SearchClinicsRequest {
        region_code: "11".into(),
        vaccine_code: "pfizer".into(),
        from_date: app.day(0),
        to_date: app.day(7),
        ..Default::default()
    };
    let cases: Vec<(&str, pb::SearchClinicsRequest)> = vec![
        ("region_code", pb::SearchClinicsRequest { region_code: "".into(), ..good.clone() }),
        ("region_code", pb::SearchClinicsRequest { region_code: "1168".into(), ..good.clone() }),
        ("vaccine_code", pb::SearchClinicsRequest { vaccine_code: "".into(), ..good.clone() }),
        ("vaccine_code", pb::SearchClinicsRequest { vaccine_code: "Pfizer!".into(), ..good.clone() }),
        ("from_date", pb::SearchClinicsRequest { from_date: "tomorrow".into(), ..good.clone() }),
        ("to_date", pb::SearchClinicsRequest { to_date: "".into(), ..good.clone() }),
        ("to_date", pb::SearchClinicsRequest { to_date: app.day(32), ..good.clone() }),
        ("page_size", pb::SearchClinicsRequest { page_size: 101, ..good.clone() }),
        ("page_size", pb::SearchClinicsRequest { page_size: -1, ..good.clone() }),
        ("page_token", pb::SearchClinicsRequest { page_token: "not-a-token".into(), ..good.clone() }),
    ];
    for (field, req) in cases {
        let err = client.search_clinics(app.with_pass(req)).await.unwrap_err();
        assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec![field.to_string()]), "{}", err.message());
    }
    assert!(client.search_clinics(app.with_pass(pb::SearchClinicsRequest { to_date: app.day(31), ..good.clone() })).await.is_ok());
    let availability =
        pb::GetAvailabilityRequest { clinic_id: "nope".into(), vaccine_code: "pfizer".into(), from_date: app.day(0), to_date: app.day(1) };
    let err = client.get_availability(app.with_pass(availability)).await.unwrap_err();
    assert_eq!(field_violations(&err), vec!["clinic_id"]);

    let err = client.search_clinics(Request::new(good.clone())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(client.list_regions(Request::new(pb::ListRegionsRequest {})).await.unwrap_err().code(), Code::Unauthenticated);
    let mut forged = app.with_pass(pb::ListRegionsRequest {});
    forged.metadata_mut().insert("yeyak-client-id", "another-client-0000".parse().expect("ascii"));
    assert_eq!(client.list_regions(forged).await.unwrap_err().code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn get_slot_is_internal_and_needs_no_pass() {
    let app = common::spawn(1, 2).await;
    let clinic = &catalogue::clinics(1)[0];
    let slot = &catalogue::slots(clinic, app.today + chrono::Days::new(1), 2)[3];
    let mut catalog = app.catalog().await;
    let resp =
        catalog.get_slot(Request::new(pb::GetSlotRequest { slot_id: slot.slot_id.to_string() })).await.expect("get slot").into_inner();
    let got = resp.slot.expect("slot");
    assert_eq!(got.clinic_id, clinic.clinic_id.to_string());
    assert_eq!((got.capacity, got.remaining), (slot.capacity as u32, slot.capacity as u32));
    assert_eq!(got.starts_at.expect("start").seconds, slot.starts_at.timestamp());
    assert_eq!((resp.clinic_name.as_str(), resp.clinic_address.as_str()), (clinic.name.as_str(), clinic.address.as_str()));

    let err = catalog.get_slot(Request::new(pb::GetSlotRequest { slot_id: "slot-1".into() })).await.unwrap_err();
    assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec!["slot_id".to_string()]));
    let err = catalog.get_slot(Request::new(pb::GetSlotRequest { slot_id: uuid::Uuid::new_v4().to_string() })).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Never on the public port, where the gateway routes.
    let mut public = app.catalog_on_public_port().await;
    let err = public.get_slot(Request::new(pb::GetSlotRequest { slot_id: slot.slot_id.to_string() })).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    app.stop().await;
}
