//! `yeyak-ctl deliveries …` and `sms resend`: notification's operator API
//! over SMS deliveries. The service decides what a change does from the
//! delivery's state (a replay never sends twice); a dry run asks it the same
//! question and reports the answer without the change.
use serde_json::{json, Value};
use yeyak_proto::notification::v1::{
    notification_operator_service_client::NotificationOperatorServiceClient as Client, ChangeOutcome, DeliveryDetail, DeliveryState,
    DiscardDeliveryRequest, GatewayVerdict, GetDeliveryRequest, ListDeadLettersRequest, ListDeliveriesRequest, ReplayDeliveryRequest,
    ResendForReservationRequest, ResolveUnknownRequest,
};

use crate::{
    args::{DeliveriesCommand, SmsCommand},
    connect::{Authorized, Deployment},
    refused,
    report::{grouped, Report},
};

pub(crate) fn client(deployment: &Deployment) -> anyhow::Result<Client<Authorized>> {
    Ok(Client::new(deployment.operator_channel(&deployment.notification)?))
}

pub(crate) async fn run(deployment: &Deployment, command: DeliveriesCommand) -> anyhow::Result<Report> {
    let mut client = client(deployment)?;
    match command {
        DeliveriesCommand::List { state, limit, page } => list(&mut client, state.as_deref(), limit, page.unwrap_or_default()).await,
        DeliveriesCommand::Show { message_id } => {
            let answer = client.get_delivery(GetDeliveryRequest { message_id }).await.map_err(refused)?.into_inner();
            let d = answer.delivery.unwrap_or_default();
            Ok(Report::new(line(&d), json!({ "delivery": to_json(&d) })))
        }
        DeliveriesCommand::Replay { message_id, dry } => {
            let request = ReplayDeliveryRequest { message_id, dry_run: dry.dry_run };
            let a = client.replay_delivery(request).await.map_err(refused)?.into_inner();
            Ok(changed("replay it: the normal sender sends it, once", a.outcome, a.dry_run, &a.delivery.unwrap_or_default()))
        }
        DeliveriesCommand::Resolve { message_id, verdict, dry } => {
            let (verdict, what) = match verdict.as_str() {
                "sent" => (GatewayVerdict::Sent, "mark it sent; nothing is sent"),
                _ => (GatewayVerdict::NotSent, "send it through any gateway, once"),
            };
            let request = ResolveUnknownRequest { message_id, verdict: verdict as i32, dry_run: dry.dry_run };
            let a = client.resolve_unknown(request).await.map_err(refused)?.into_inner();
            Ok(changed(what, a.outcome, a.dry_run, &a.delivery.unwrap_or_default()))
        }
        DeliveriesCommand::Discard { message_id, dry } => {
            let request = DiscardDeliveryRequest { message_id, dry_run: dry.dry_run };
            let a = client.discard_delivery(request).await.map_err(refused)?.into_inner();
            Ok(changed("discard it: nothing more is sent, its number is erased", a.outcome, a.dry_run, &a.delivery.unwrap_or_default()))
        }
    }
}

pub(crate) async fn sms(deployment: &Deployment, command: SmsCommand) -> anyhow::Result<Report> {
    let SmsCommand::Resend { reservation_id, dry } = command;
    let request = ResendForReservationRequest { reservation_id, dry_run: dry.dry_run };
    let a = client(deployment)?.resend_for_reservation(request).await.map_err(refused)?.into_inner();
    let d = a.delivery.unwrap_or_default();
    let head = match a.dry_run {
        true => format!("dry run, nothing queued; would resend message {} as a new SMS:\n", d.resend_of),
        false => format!("queued a resend of message {}:\n", d.resend_of),
    };
    Ok(Report::new(format!("{head}{}", line(&d)), json!({ "dry_run": a.dry_run, "delivery": to_json(&d) })))
}

/// Counts, then a page of each state asked for (or failed and unknown).
async fn list(client: &mut Client<Authorized>, state: Option<&str>, limit: u32, page: String) -> anyhow::Result<Report> {
    let states = match state {
        Some("unknown") => vec![DeliveryState::OutcomeUnknown],
        Some("discarded") => vec![DeliveryState::Discarded],
        Some(_) => vec![DeliveryState::Failed],
        None => vec![DeliveryState::Failed, DeliveryState::OutcomeUnknown],
    };
    let (mut text, mut pages, mut counts) = (String::new(), serde_json::Map::new(), None);
    for state in states {
        let request = ListDeliveriesRequest { state: state as i32, page_size: limit, page_token: page.clone() };
        let a = client.list_deliveries(request).await.map_err(refused)?.into_inner();
        if counts.is_none() {
            // Every page carries the same counts: shown once, from the first.
            let all: Vec<(&str, String, u64)> = a.counts.iter().map(|c| (short(c.state), c.gateway.clone(), c.count)).collect();
            text.push_str(&counts_text(&all));
            counts = Some(all);
        }
        text.push_str(&format!("{}: {} shown\n", name(state as i32), a.deliveries.len()));
        for d in &a.deliveries {
            text.push_str(&indent(&line(d)));
        }
        if !a.next_page_token.is_empty() {
            text.push_str(&format!("  more: --state {} --page {}\n", short(state as i32), a.next_page_token));
        }
        let shown: Vec<Value> = a.deliveries.iter().map(to_json).collect();
        pages.insert(short(state as i32).into(), json!({ "deliveries": shown, "next_page": a.next_page_token }));
    }
    // The dead letters beside them: events that never became deliveries.
    let dead = client.list_dead_letters(ListDeadLettersRequest { limit: 0 }).await.map(|a| a.into_inner().count).ok();
    text.push_str(&format!(
        "dead-lettered events: {} (yeyak-ctl dead-letters list)\n",
        dead.map_or_else(|| "- (not answered)".to_owned(), grouped)
    ));
    let counts: Vec<Value> = counts.unwrap_or_default().iter().map(|(s, g, n)| json!({ "state": s, "gateway": g, "count": n })).collect();
    Ok(Report::new(text, json!({ "counts": counts, "states": pages, "dead_lettered": dead })))
}

fn counts_text(counts: &[(&str, String, u64)]) -> String {
    if counts.is_empty() {
        return "no delivery is failed, unknown or discarded\n".to_owned();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(
            |(state, gateway, n)| {
                if gateway.is_empty() {
                    format!("{state} {}", grouped(*n))
                } else {
                    format!("{state} at {gateway} {}", grouped(*n))
                }
            },
        )
        .collect();
    format!("deliveries: {}\n", parts.join(", "))
}

/// What a change did or would do, in words.
fn changed(what: &str, outcome: i32, dry_run: bool, d: &DeliveryDetail) -> Report {
    let outcome = ChangeOutcome::try_from(outcome).unwrap_or_default();
    let head = match (outcome, dry_run) {
        (ChangeOutcome::Done, true) => format!("dry run, nothing changed; would {what}\n"),
        (ChangeOutcome::Done, false) => "done\n".to_owned(),
        (ChangeOutcome::AlreadySent, _) => "nothing to do: already sent (nothing was sent again)\n".to_owned(),
        (ChangeOutcome::InFlight, _) => "nothing to do: the sender has it (pending, or waiting on its gateway)\n".to_owned(),
        (ChangeOutcome::AlreadyDiscarded, _) => "nothing to do: discarded before\n".to_owned(),
        (ChangeOutcome::Unspecified, _) => "the service did not say what it did\n".to_owned(),
    };
    let outcome_name = outcome.as_str_name().trim_start_matches("CHANGE_OUTCOME_").to_ascii_lowercase();
    Report::new(format!("{head}{}", line(d)), json!({ "outcome": outcome_name, "dry_run": dry_run, "delivery": to_json(d) }))
}

/// One delivery on a line or two: never more than its masked number.
fn line(d: &DeliveryDetail) -> String {
    let r = d.delivery.clone().unwrap_or_default();
    let gateway = if r.gateway.is_empty() { String::new() } else { format!(" at {}", r.gateway) };
    let recorded = r.created_at.as_ref().and_then(yeyak_proto::time::from_proto).map(|t| kst(&t)).unwrap_or_default();
    let kept = if d.number_kept { "number kept" } else { "number erased" };
    let resend = if d.resend_of.is_empty() { String::new() } else { format!(", resend of {}", d.resend_of) };
    let error = if d.last_error.is_empty() { String::new() } else { format!("\n  last error: {}", d.last_error) };
    let id = if r.message_id.is_empty() { "(new)" } else { r.message_id.as_str() };
    format!(
        "{id} {}{gateway}, {} attempts, {}, {}, reservation {}, recorded {recorded}, {kept}{resend}{error}\n",
        name(r.state),
        r.attempts,
        r.masked_phone,
        r.event_type,
        r.reservation_id
    )
}

fn to_json(d: &DeliveryDetail) -> Value {
    let r = d.delivery.clone().unwrap_or_default();
    macro_rules! at {
        ($t:expr) => {
            $t.as_ref().and_then(yeyak_proto::time::from_proto).map(|t| t.to_rfc3339())
        };
    }
    json!({
        "message_id": r.message_id, "reservation_id": r.reservation_id, "booking_code": r.booking_code,
        "event_type": r.event_type, "state": short(r.state), "masked_phone": r.masked_phone, "attempts": r.attempts,
        "gateway": r.gateway, "created_at": at!(r.created_at), "sent_at": at!(r.sent_at),
        "next_attempt_at": at!(d.next_attempt_at), "last_error": d.last_error, "number_kept": d.number_kept,
        "resend_of": (!d.resend_of.is_empty()).then_some(&d.resend_of),
    })
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A state as people read it.
fn name(state: i32) -> &'static str {
    match DeliveryState::try_from(state).unwrap_or_default() {
        DeliveryState::OutcomeUnknown => "unknown (outcome unknown at its gateway)",
        other => short(other as i32),
    }
}

/// A state as flags and JSON name it.
fn short(state: i32) -> &'static str {
    match DeliveryState::try_from(state).unwrap_or_default() {
        DeliveryState::Pending => "pending",
        DeliveryState::Sent => "sent",
        DeliveryState::Failed => "failed",
        DeliveryState::OutcomeUnknown => "unknown",
        DeliveryState::Discarded => "discarded",
        DeliveryState::Unspecified => "unspecified",
    }
}

pub(crate) fn kst(t: &chrono::DateTime<chrono::Utc>) -> String {
    let seoul = chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    t.with_timezone(&seoul).format("%Y-%m-%d %H:%M:%S KST").to_string()
}
