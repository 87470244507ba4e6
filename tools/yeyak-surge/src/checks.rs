//! What the invariants need from the deployment after the run: the slots
//! as inventory shows them (read by a checker who queues like anyone), and
//! the texts the SMS gateway sent.
use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use anyhow::Context as _;
use yeyak_dev::demo::Session;
use yeyak_proto::inventory::v1 as inv;

use crate::{citizen, ctx::Ctx, invariants, recorder::Booked, report::model::Invariant};

/// `slot id → (capacity, remaining)` for every slot of the clinics booked.
async fn slots(ctx: &Ctx, session: &Session, bookings: &[&Booked]) -> anyhow::Result<HashMap<String, (u32, u32)>> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive();
    // A day either side of the booking window: a run may cross midnight.
    let (from, to) = ((today - chrono::Duration::days(1)).to_string(), (today + chrono::Duration::days(15)).to_string());
    let clinics: BTreeSet<(&str, &str)> = bookings.iter().map(|b| (b.clinic_id.as_str(), b.vaccine_code.as_str())).collect();
    let mut slots = HashMap::new();
    let mut client = inv::inventory_service_client::InventoryServiceClient::new(ctx.targets.inventory.get());
    for (clinic, vaccine) in clinics {
        let availability = inv::GetAvailabilityRequest {
            clinic_id: clinic.to_owned(),
            vaccine_code: vaccine.to_owned(),
            from_date: from.clone(),
            to_date: to.clone(),
        };
        let request = session.request(availability, inv::inventory_service_server::SERVICE_NAME, "GetAvailability")?;
        let found = client.get_availability(request).await.context("GetAvailability")?.into_inner();
        slots.extend(found.slots.into_iter().map(|s| (s.slot_id, (s.capacity, s.remaining))));
    }
    Ok(slots)
}

/// The gateway's `(to, text)` once every booking's code is in a text (or
/// after `wait`), and one read more so a duplicate still in flight is seen
/// too. Other runs' texts on the same gateway do not count.
pub(crate) async fn messages(ctx: &Ctx, bookings: &[&Booked], wait: Duration) -> anyhow::Result<Vec<(String, String)>> {
    let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    let codes: Vec<String> = bookings.iter().map(|b| squash(&b.booking_code)).collect();
    let deadline = tokio::time::Instant::now() + wait;
    let mut settled = false;
    loop {
        let url = format!("{}/v1/messages", ctx.targets.file.sms_gateway_url);
        let body: serde_json::Value = ctx.http.get(url).send().await?.error_for_status()?.json().await?;
        let messages: Vec<(String, String)> = body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| Some((m["to"].as_str()?.to_owned(), m["text"].as_str()?.to_owned())))
            .collect();
        if settled || tokio::time::Instant::now() > deadline {
            return Ok(messages);
        }
        let texts: Vec<String> = messages.iter().map(|(_, t)| squash(t)).collect();
        settled = codes.iter().all(|c| texts.iter().any(|t| t.contains(c.as_str())));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Some people come back after the evening (every proxy booking, every
/// booking retried after a timeout, and `recheck_share` of the others):
/// what the server lists for them, and what their second tab got. They
/// come to an event of their own (`<run>-r`, created and closed here):
/// identity binds a person to one place per event, so the evening's own
/// event would refuse their second verification, as it should.
async fn rechecks(ctx: &Ctx, bookings: &[&Booked]) -> anyhow::Result<Vec<citizen::Rechecked>> {
    let event = format!("{}-r", ctx.run_tag);
    let mut later = ctx.scenario.clone();
    later.arrivals.pre_opening_seconds = 0.0;
    later.event.admission_rate_per_second = later.event.admission_rate_per_second.max(100.0);
    let token = ctx.operator_token.expose();
    crate::operator::create_event(ctx.targets.admission.get(), token, &event, &later, Duration::from_secs(2)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let visits = visits(ctx, &event, bookings).await;
    crate::operator::close_event(ctx.targets.admission.get(), token, &event).await?;
    visits
}

async fn visits(ctx: &Ctx, event: &str, bookings: &[&Booked]) -> anyhow::Result<Vec<citizen::Rechecked>> {
    use futures_util::StreamExt as _;
    let every = (1.0 / ctx.scenario.behaviour.recheck_share.max(0.001)).round().max(1.0) as usize;
    let chosen: Vec<&Booked> =
        bookings.iter().enumerate().filter(|(i, b)| b.by_agent || b.after_timeout || i % every == 0).map(|(_, b)| *b).take(400).collect();
    let visits = futures_util::stream::iter(chosen.into_iter().enumerate())
        .map(|(n, b)| citizen::visit(ctx, event, b, n as u64))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    visits.into_iter().collect()
}

/// Every invariant of the evening. A check that could not be made (the
/// deployment did not answer) counts as failed, with the reason.
pub(crate) async fn all(ctx: &Ctx, samples: &[crate::operator::Sample]) -> Vec<Invariant> {
    let (people, stolen, bot_joins) = {
        let inner = ctx.rec.inner.lock();
        (inner.people.clone(), inner.stolen_passes.clone(), inner.bot_joins)
    };
    let told: Vec<&Booked> = people.iter().flat_map(|p| &p.bookings).collect();
    let failed = |name: &str, e: anyhow::Error| Invariant { name: name.to_owned(), held: false, detail: format!("not checked: {e:#}") };
    let (rechecked, one_each) = match rechecks(ctx, &told).await {
        Ok(r) => {
            let verdict = invariants::one_booking_per_person(&told, &r);
            (r, verdict)
        }
        Err(e) => (Vec::new(), failed("at most one active booking per person per dose", e)),
    };
    // Bookings nobody was told of (an answer lost) count in every check.
    let mut bookings = told.clone();
    for b in rechecked.iter().flat_map(|r| r.listed.iter().chain(&r.second)) {
        if !bookings.iter().any(|k| k.reservation_id == b.reservation_id) {
            bookings.push(b);
        }
    }
    let rate = ctx.scenario.event.admission_rate_per_second;
    let opening = ctx.scenario.arrivals.pre_opening_seconds;
    vec![
        slots_settled(ctx, &bookings).await.unwrap_or_else(|e| failed("no slot over capacity", e)),
        one_each,
        match messages(ctx, &bookings, Duration::from_secs(90)).await {
            Ok(messages) => invariants::one_sms_per_booking(&bookings, &messages),
            Err(e) => failed("exactly one SMS per confirmed booking", e),
        },
        invariants::admission_within_rate(samples, &people, rate, BURST_SECONDS, opening).0,
        invariants::bots_within_their_share(&people, bot_joins),
        invariants::no_stolen_pass_accepted(&stolen, ctx.scenario.bots.forged_passes + ctx.scenario.bots.copied_passes),
    ]
}

/// The slot check, read again for up to 15 s while it fails: availability
/// is a read model that follows the bookings within moments.
async fn slots_settled(ctx: &Ctx, bookings: &[&Booked]) -> anyhow::Result<Invariant> {
    let (session, _) =
        citizen::admit_quietly(ctx, &ctx.queue_id, 0x00fe_0000, &format!("{}-checker", ctx.run_tag)).await.context("the checker")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let verdict = invariants::no_slot_over_capacity(bookings, &slots(ctx, &session, bookings).await?);
        if verdict.held || tokio::time::Instant::now() > deadline {
            return Ok(verdict);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Admission's burst: `YEYAK_ADMISSION_BURST_MS` (250 ms) worth of the rate.
pub(crate) const BURST_SECONDS: f64 = 0.25;
