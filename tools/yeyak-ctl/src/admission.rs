//! `yeyak-ctl admission …`: admission's operator API. Every change first
//! reads what is in force, so a dry run says exactly what would change and a
//! real run reports old and new (the service's audit trail records the same).
use std::time::Duration;

use serde_json::json;
use yeyak_proto::admission::v1::{
    admission_operator_service_client::AdmissionOperatorServiceClient as Client, AdmissionSettings, DrainQueueRequest,
    GetAdmissionSettingsRequest, PauseAdmissionRequest, ResumeAdmissionRequest, SetAdmissionSettingsRequest, SetAutomaticAdmissionRequest,
    SetJoinDifficultyRequest,
};

use crate::{
    args::AdmissionCommand,
    connect::{Authorized, Deployment},
    progress, refused,
    report::{grouped, rate, Report},
};

pub(crate) async fn run(deployment: &Deployment, command: AdmissionCommand) -> anyhow::Result<Report> {
    let mut client = Client::new(deployment.operator_channel(&deployment.admission)?);
    match command {
        AdmissionCommand::Status { event } => Ok(settings_report(&get(&mut client, &event).await?, "")),
        AdmissionCommand::Set { event, rate: new_rate, max_active, dry } => {
            anyhow::ensure!(new_rate.is_some() || max_active.is_some(), "say what to set: --rate and/or --max-active");
            let now = get(&mut client, &event).await?;
            let (r, m) = (new_rate.unwrap_or(now.admission_rate_per_second), max_active.unwrap_or(now.max_active_sessions));
            let mut changes = Vec::new();
            if r != now.admission_rate_per_second {
                changes.push(format!("rate {} -> {}", rate(now.admission_rate_per_second), rate(r)));
            }
            if m != now.max_active_sessions {
                changes.push(format!("max active sessions {} -> {}", grouped(now.max_active_sessions), grouped(m)));
            }
            if changes.is_empty() {
                return Ok(settings_report(&now, "nothing to change: already in force\n"));
            }
            if dry.dry_run {
                return Ok(dry_run(&now, &changes));
            }
            let request = SetAdmissionSettingsRequest { queue_id: event, admission_rate_per_second: r, max_active_sessions: m };
            let after = client.set_admission_settings(request).await.map_err(refused)?.into_inner().settings;
            Ok(settings_report(&after.unwrap_or_default(), &format!("changed: {}\n", changes.join(", "))))
        }
        AdmissionCommand::Pause { event, dry } => {
            let now = get(&mut client, &event).await?;
            if now.paused {
                return Ok(settings_report(&now, "nothing to change: already paused\n"));
            }
            let waiting = waiting(&now);
            if dry.dry_run {
                return Ok(dry_run(
                    &now,
                    &[format!("pause admission: nobody admitted until resumed; {} waiting keep their places", grouped(waiting))],
                ));
            }
            let after = client.pause_admission(PauseAdmissionRequest { queue_id: event }).await.map_err(refused)?.into_inner().settings;
            Ok(settings_report(&after.unwrap_or_default(), "paused\n"))
        }
        AdmissionCommand::Resume { event, dry } => {
            let now = get(&mut client, &event).await?;
            if !now.paused {
                return Ok(settings_report(&now, "nothing to change: not paused\n"));
            }
            if dry.dry_run {
                return Ok(dry_run(&now, &[format!("resume admission at {}", rate(now.admission_rate_per_second))]));
            }
            let after = client.resume_admission(ResumeAdmissionRequest { queue_id: event }).await.map_err(refused)?.into_inner().settings;
            Ok(settings_report(&after.unwrap_or_default(), "resumed\n"))
        }
        AdmissionCommand::Drain { event, dry, wait } => {
            let now = get(&mut client, &event).await?;
            if dry.dry_run {
                let change = if now.closed {
                    "nothing: the line is already closed".to_owned()
                } else {
                    format!("close the line to new arrivals; the {} waiting are still admitted{}", grouped(waiting(&now)), eta(&now))
                };
                return Ok(dry_run(&now, &[change]));
            }
            let mut after = if now.closed {
                now
            } else {
                let request = DrainQueueRequest { queue_id: event.clone() };
                client.drain_queue(request).await.map_err(refused)?.into_inner().settings.unwrap_or_default()
            };
            if wait {
                after = progress::until_drained(&mut client, &event, after).await?;
            }
            let head = if waiting(&after) == 0 {
                "closed; nobody waits\n".to_owned()
            } else {
                format!("closed; {} still waiting\n", grouped(waiting(&after)))
            };
            Ok(settings_report(&after, &head))
        }
        AdmissionCommand::Auto { event, switch, floor, dry } => {
            let now = get(&mut client, &event).await?;
            let enabled = switch == "on";
            let mut changes = Vec::new();
            if enabled != now.automatic_admission {
                changes.push(format!("automatic rate {} -> {switch}", if now.automatic_admission { "on" } else { "off" }));
            }
            if let Some(f) = floor.filter(|f| *f != now.floor_rate_per_second) {
                changes.push(format!("floor {} -> {}", rate(now.floor_rate_per_second), rate(f)));
            }
            if changes.is_empty() {
                return Ok(settings_report(&now, "nothing to change: already in force\n"));
            }
            if dry.dry_run {
                return Ok(dry_run(&now, &changes));
            }
            let request = SetAutomaticAdmissionRequest { queue_id: event, enabled, floor_rate_per_second: floor };
            let after = client.set_automatic_admission(request).await.map_err(refused)?.into_inner().settings;
            Ok(settings_report(&after.unwrap_or_default(), &format!("changed: {}\n", changes.join(", "))))
        }
        AdmissionCommand::Difficulty { event, bits, dry } => {
            let now = get(&mut client, &event).await?;
            let change = format!("join difficulty {} -> {bits} bits", now.join_difficulty_bits);
            if dry.dry_run {
                return Ok(dry_run(&now, &[change]));
            }
            let request = SetJoinDifficultyRequest { queue_id: event, difficulty_bits: bits };
            let after = client.set_join_difficulty(request).await.map_err(refused)?.into_inner().settings;
            Ok(settings_report(&after.unwrap_or_default(), &format!("changed: {change}\n")))
        }
    }
}

pub(crate) async fn get(client: &mut Client<Authorized>, event: &str) -> anyhow::Result<AdmissionSettings> {
    let request = GetAdmissionSettingsRequest { queue_id: event.to_owned() };
    let settings = client.get_admission_settings(request).await.map_err(refused)?.into_inner().settings;
    settings.ok_or_else(|| anyhow::anyhow!("admission answered without settings"))
}

/// Places in line not yet admitted (what `yeyak_queue_waiting` shows).
pub(crate) fn waiting(s: &AdmissionSettings) -> u64 {
    s.joined.saturating_sub(s.admitted)
}

fn eta(s: &AdmissionSettings) -> String {
    if s.paused || s.admission_rate_per_second <= 0.0 {
        return " once admission resumes".to_owned();
    }
    let seconds = waiting(s) as f64 / s.admission_rate_per_second;
    format!(" in about {} at {}", humanize(Duration::from_secs_f64(seconds)), rate(s.admission_rate_per_second))
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s.div_ceil(60)),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn dry_run(now: &AdmissionSettings, changes: &[String]) -> Report {
    let mut report = settings_report(now, &format!("dry run, nothing changed; would {}\n", changes.join("; ")));
    report.json = json!({ "dry_run": true, "would": changes, "settings": report.json["settings"].clone() });
    report
}

fn settings_report(s: &AdmissionSettings, head: &str) -> Report {
    let opens = s.opens_at.as_ref().and_then(yeyak_proto::time::from_proto);
    let state = if s.paused {
        "paused"
    } else if s.closed {
        "closed to new arrivals"
    } else {
        "admitting"
    };
    let changed = s.rate_changed_at.as_ref().and_then(yeyak_proto::time::from_proto);
    let automatic = if s.automatic_admission {
        format!(
            "  automatic rate on: {} in force (floor {}){}\n",
            rate(s.controlled_rate_per_second),
            rate(s.floor_rate_per_second),
            match changed {
                Some(at) =>
                    format!(", last change {} at {}", s.rate_change_reason, at.with_timezone(&chrono_tz_seoul()).format("%H:%M:%S KST")),
                None => String::new(),
            }
        )
    } else {
        String::new()
    };
    let text = format!(
        "{head}event {}: {state}\n  rate {} (measured {}), max active sessions {} ({} active)\n{automatic}  joined {}, admitted {}, waiting {}\n  opens at {}, join difficulty {} bits{}\n",
        s.queue_id,
        rate(s.admission_rate_per_second),
        rate(s.measured_rate_per_second),
        grouped(s.max_active_sessions),
        grouped(s.active_sessions),
        grouped(s.joined),
        grouped(s.admitted),
        grouped(waiting(s)),
        opens.map_or_else(|| "-".to_owned(), |t| t.with_timezone(&chrono_tz_seoul()).format("%Y-%m-%d %H:%M:%S KST").to_string()),
        s.join_difficulty_bits,
        if s.lottery_seed.is_empty() { String::new() } else { format!("\n  lottery seed {}", s.lottery_seed) },
    );
    let json = json!({ "settings": {
        "event": s.queue_id, "state": state, "paused": s.paused, "closed": s.closed,
        "rate_per_second": s.admission_rate_per_second, "measured_rate_per_second": s.measured_rate_per_second,
        "max_active_sessions": s.max_active_sessions, "active_sessions": s.active_sessions,
        "joined": s.joined, "admitted": s.admitted, "waiting": waiting(s), "pre_opening_joined": s.pre_opening_joined,
        "opens_at": opens.map(|t| t.to_rfc3339()), "join_difficulty_bits": s.join_difficulty_bits,
        "lottery_seed": (!s.lottery_seed.is_empty()).then_some(&s.lottery_seed),
        "automatic_admission": s.automatic_admission, "controlled_rate_per_second": s.controlled_rate_per_second,
        "floor_rate_per_second": s.floor_rate_per_second,
        "rate_change_reason": (!s.rate_change_reason.is_empty()).then_some(&s.rate_change_reason),
        "rate_changed_at": changed.map(|t| t.to_rfc3339()),
    }});
    Report::new(text, json)
}

/// Operators read times in Korea's time zone, whatever their laptop's is.
fn chrono_tz_seoul() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}
