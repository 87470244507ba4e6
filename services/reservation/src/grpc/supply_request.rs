//! SupplyChangeService's request checks: a Seoul day or a range of local
//! times (as inventory's SlotScope reads them), vaccine codes and the move
//! window, each refusal naming its field. Run before the caller is
//! authenticated: they reveal nothing.
use chrono::{DateTime, Days, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use tonic::Status;
use yeyak_platform::{grpc::status, validate};
use yeyak_proto::reservation::v1 as pb;

use crate::app::PlanRequest;

/// A scope is at most a month, as in inventory.
const MAX_SCOPE_DAYS: i64 = 31;

/// A Seoul local time as an instant (no daylight saving since 1988: each exists once).
fn seoul(local: NaiveDateTime, field: &str) -> Result<DateTime<Utc>, Status> {
    Seoul
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| status::invalid_argument(field, "does not exist in Seoul"))
}

fn local_time(field: &str, value: &str) -> Result<DateTime<Utc>, Status> {
    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .map_err(|_| status::invalid_argument(field, "must be a local time YYYY-MM-DDTHH:MM (Asia/Seoul)"))?;
    seoul(local, field)
}

/// A day, or a range of local times, exactly as inventory's SlotScope.
fn scope(date: &str, from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), Status> {
    match (date, from, to) {
        (date, "", "") if !date.is_empty() => {
            let day = validate::date("date", date)?;
            let next = day.checked_add_days(Days::new(1)).ok_or_else(|| status::invalid_argument("date", "is out of range"))?;
            Ok((seoul(day.and_time(chrono::NaiveTime::MIN), "date")?, seoul(next.and_time(chrono::NaiveTime::MIN), "date")?))
        }
        ("", "", _) => Err(status::invalid_argument("from_local_time", "is required (or give a date)")),
        ("", _, "") => Err(status::invalid_argument("to_local_time", "is required with from_local_time")),
        ("", from, to) => {
            let (from, to) = (local_time("from_local_time", from)?, local_time("to_local_time", to)?);
            if to <= from || to - from > chrono::Duration::days(MAX_SCOPE_DAYS) {
                return Err(status::invalid_argument(
                    "to_local_time",
                    format!("must be after from_local_time, by at most {MAX_SCOPE_DAYS} days"),
                ));
            }
            Ok((from, to))
        }
        _ => Err(status::invalid_argument("date", "give a date or a from/to range, not both")),
    }
}

/// A vaccine code as the catalogue writes them; empty is `None`.
fn vaccine(field: &str, value: &str) -> Result<Option<String>, Status> {
    if value.is_empty() {
        return Ok(None);
    }
    let ok = value.len() <= 32 && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then(|| Some(value.to_owned())).ok_or_else(|| status::invalid_argument(field, "must be 1 to 32 characters of [a-z0-9_-]"))
}

pub(super) fn plan_request(req: &pb::PlanSupplyChangeRequest) -> Result<PlanRequest, Status> {
    let clinic_id = validate::uuid("clinic_id", &req.clinic_id)?;
    let (from, to) = scope(&req.date, &req.from_local_time, &req.to_local_time)?;
    let max_move_days = match req.max_move_days {
        0 => 7,
        n @ 1..=28 => n,
        _ => return Err(status::invalid_argument("max_move_days", "must be 1 to 28 days (0: 7)")),
    };
    let new_vaccine = vaccine("new_vaccine_code", &req.new_vaccine_code)?;
    Ok(PlanRequest { clinic_id, from, to, vaccine: vaccine("vaccine_code", &req.vaccine_code)?, new_vaccine, max_move_days })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_seoul_days_or_local_ranges() {
        let (from, to) = scope("2026-12-05", "", "").unwrap_or_default();
        assert_eq!((from.to_rfc3339(), to.to_rfc3339()), ("2026-12-04T15:00:00+00:00".into(), "2026-12-05T15:00:00+00:00".into()));
        let (from, _) = scope("", "2026-12-05T10:00", "2026-12-05T12:00").unwrap_or_default();
        assert_eq!(from.to_rfc3339(), "2026-12-05T01:00:00+00:00");
        let field = |r: Result<(DateTime<Utc>, DateTime<Utc>), Status>| r.map(|_| ()).map_err(|s| status::field_violations(&s));
        assert_eq!(field(scope("5 Dec", "", "")), Err(vec!["date".to_owned()]));
        assert_eq!(field(scope("", "", "")), Err(vec!["from_local_time".to_owned()]));
        assert_eq!(field(scope("", "2026-12-05T10:00", "")), Err(vec!["to_local_time".to_owned()]));
        assert_eq!(field(scope("", "2026-12-05T10:00", "2026-12-05T09:00")), Err(vec!["to_local_time".to_owned()]));
        assert_eq!(field(scope("2026-12-05", "2026-12-05T10:00", "2026-12-05T11:00")), Err(vec!["date".to_owned()]));
    }

    #[test]
    fn plan_requests_name_the_bad_field() {
        let ok = pb::PlanSupplyChangeRequest { clinic_id: uuid::Uuid::nil().to_string(), date: "2026-12-05".into(), ..Default::default() };
        assert_eq!(plan_request(&ok).map(|r| r.max_move_days).ok(), Some(7));
        let field = |r: pb::PlanSupplyChangeRequest| plan_request(&r).map(|_| ()).map_err(|s| status::field_violations(&s));
        assert_eq!(field(pb::PlanSupplyChangeRequest { clinic_id: "c1".into(), ..ok.clone() }), Err(vec!["clinic_id".to_owned()]));
        assert_eq!(field(pb::PlanSupplyChangeRequest { max_move_days: 29, ..ok.clone() }), Err(vec!["max_move_days".to_owned()]));
        assert_eq!(
            field(pb::PlanSupplyChangeRequest { new_vaccine_code: "Moderna".into(), ..ok.clone() }),
            Err(vec!["new_vaccine_code".to_owned()])
        );
        assert_eq!(field(pb::PlanSupplyChangeRequest { vaccine_code: "a b".into(), ..ok }), Err(vec!["vaccine_code".to_owned()]));
    }
}
