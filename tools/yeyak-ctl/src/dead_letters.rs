//! `yeyak-ctl dead-letters …`: the reservation events notification's
//! consumer dead-lettered. Replaying moves them back through the idempotent
//! consumer (an event already recorded sends nothing); many are moved in
//! calls of [`CHUNK`], followed with a progress bar on stderr.
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use yeyak_proto::notification::v1::{DeadLetter, DiscardDeadLettersRequest, ListDeadLettersRequest, ReplayDeadLettersRequest};

use yeyak_proto::notification::v1::notification_operator_service_client::NotificationOperatorServiceClient as Client;

use crate::{
    args::{DeadLettersCommand, Which},
    connect::{Authorized, Deployment},
    deliveries::{client, kst},
    refused,
    report::{grouped, Report},
};

/// Messages moved or dropped per call: a bar that moves, calls that stay
/// well inside the deadline.
const CHUNK: u64 = 100;

pub(crate) async fn run(deployment: &Deployment, command: DeadLettersCommand) -> anyhow::Result<Report> {
    let mut client = client(deployment)?;
    match command {
        DeadLettersCommand::List { limit } => {
            let a = client.list_dead_letters(ListDeadLettersRequest { limit }).await.map_err(refused)?.into_inner();
            let mut text = format!("{}: {} dead-lettered\n", a.queue, grouped(a.count));
            text.extend(a.messages.iter().map(line));
            if (a.messages.len() as u64) < a.count && limit > 0 {
                text.push_str(&format!("  … and {} more\n", grouped(a.count - a.messages.len() as u64)));
            }
            let messages: Vec<Value> = a.messages.iter().map(to_json).collect();
            Ok(Report::new(text, json!({ "queue": a.queue, "count": a.count, "messages": messages })))
        }
        DeadLettersCommand::Replay { which, dry } => settle(&mut client, true, which, dry.dry_run).await,
        DeadLettersCommand::Discard { which, dry } => settle(&mut client, false, which, dry.dry_run).await,
    }
}

/// Moves (`replay`) or drops messages: all of them or `--limit`, in calls of
/// [`CHUNK`]. A dry run is one call that moves nothing.
async fn settle(client: &mut Client<Authorized>, replay: bool, which: Which, dry_run: bool) -> anyhow::Result<Report> {
    let (verb, done_verb) = if replay { ("replay", "replayed") } else { ("discard", "discarded") };
    let count = client.list_dead_letters(ListDeadLettersRequest { limit: 0 }).await.map_err(refused)?.into_inner().count;
    let target = if which.all { count } else { which.limit.unwrap_or(0).min(count) };
    if target == 0 {
        return Ok(Report::new("nothing to do: no dead letters\n", json!({ "dry_run": dry_run, verb: 0, "remaining": count })));
    }
    let bar = if dry_run || target <= CHUNK { ProgressBar::hidden() } else { ProgressBar::new(target) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("{verb}ing dead letters"));
    let (mut done, mut remaining, mut shown) = (0u64, count, Vec::<DeadLetter>::new());
    while done < target {
        let limit = u32::try_from((target - done).min(CHUNK)).unwrap_or(100);
        let (n, left, messages) = if replay {
            let a =
                client.replay_dead_letters(ReplayDeadLettersRequest { limit, all: false, dry_run }).await.map_err(refused)?.into_inner();
            (a.moved, a.remaining, a.messages)
        } else {
            let a =
                client.discard_dead_letters(DiscardDeadLettersRequest { limit, all: false, dry_run }).await.map_err(refused)?.into_inner();
            (a.discarded, a.remaining, a.messages)
        };
        shown.extend(messages.into_iter().take(20usize.saturating_sub(shown.len())));
        (done, remaining) = (done + n, left);
        bar.set_position(done);
        if dry_run || n == 0 {
            break;
        }
    }
    bar.finish_and_clear();
    let recorded = shown.iter().filter(|m| m.already_recorded).count();
    let head = match dry_run {
        true => format!("dry run, nothing changed; would {verb} {} of {}\n", grouped(target), grouped(count)),
        false => format!("{done_verb} {}; {} left in the dead-letter queue\n", grouped(done), grouped(remaining)),
    };
    let note = if replay && recorded > 0 {
        format!("  {recorded} of those shown were recorded already: replaying them sends nothing\n")
    } else {
        String::new()
    };
    let mut text = format!("{head}{note}");
    text.extend(shown.iter().map(line));
    let messages: Vec<Value> = shown.iter().map(to_json).collect();
    let n = if dry_run { target } else { done };
    Ok(Report::new(text, json!({ "dry_run": dry_run, verb: n, "remaining": remaining, "messages": messages })))
}

/// One dead letter: ids and reasons, never its payload.
fn line(m: &DeadLetter) -> String {
    let at = m.dead_lettered_at.as_ref().and_then(yeyak_proto::time::from_proto);
    let age = at.map(|t| format!(", dead-lettered {} ({} ago)", kst(&t), ago(chrono::Utc::now() - t))).unwrap_or_default();
    let event = if m.event_id.is_empty() { "(no event id)" } else { m.event_id.as_str() };
    let recorded = if m.already_recorded { ", already recorded" } else { "" };
    format!("  {event} {} — {} from {} ×{}{age}{recorded}\n", m.routing_key, m.reason, m.from_queue, m.deaths)
}

fn to_json(m: &DeadLetter) -> Value {
    let at = m.dead_lettered_at.as_ref().and_then(yeyak_proto::time::from_proto).map(|t| t.to_rfc3339());
    json!({
        "event_id": m.event_id, "routing_key": m.routing_key, "reason": m.reason, "from_queue": m.from_queue,
        "deaths": m.deaths, "dead_lettered_at": at, "already_recorded": m.already_recorded,
    })
}

fn ago(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}
