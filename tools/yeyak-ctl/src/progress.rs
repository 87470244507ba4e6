//! Long operations followed to their end with a progress bar (`indicatif`,
//! drawn on stderr so `--json` output on stdout stays clean).
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use yeyak_proto::admission::v1::{admission_operator_service_client::AdmissionOperatorServiceClient as Client, AdmissionSettings};

use crate::{
    admission::{get, waiting},
    connect::Authorized,
};

/// How often a followed operation asks for news.
const POLL: Duration = Duration::from_secs(1);

/// Follows a closed line until nobody waits: the bar counts the people
/// admitted since the drain began. Stops early, saying why, when admission
/// is paused (the line would never empty).
pub(crate) async fn until_drained(
    client: &mut Client<Authorized>,
    event: &str,
    mut now: AdmissionSettings,
) -> anyhow::Result<AdmissionSettings> {
    let start_admitted = now.admitted;
    let bar = ProgressBar::new(waiting(&now));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} admitted, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("draining {event}"));
    while waiting(&now) > 0 {
        if now.paused {
            bar.abandon_with_message(format!("{event} is paused: resume it to empty the line"));
            return Ok(now);
        }
        tokio::time::sleep(POLL).await;
        now = get(client, event).await?;
        bar.set_length(now.joined.saturating_sub(start_admitted));
        bar.set_position(now.admitted.saturating_sub(start_admitted));
    }
    bar.finish_with_message(format!("{event} drained"));
    Ok(now)
}
