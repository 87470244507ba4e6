//! `yeyak-ctl status`: the evening from every service's `/metrics`, once or
//! redrawn every few seconds. Reading metrics (not an operator API) means
//! the view needs no token, costs the services what a Prometheus scrape
//! costs, and shows exactly what the dashboards and alerts see, even when
//! Prometheus itself is the thing that broke.
mod render;
#[cfg(test)]
mod tests;
mod view;

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use futures_util::future::join_all;
use serde_json::json;

use self::view::Evening;
use crate::{args::StatusArgs, connect::Deployment, report::Report};

pub(crate) async fn run(deployment: &Deployment, args: StatusArgs, json: bool) -> anyhow::Result<Report> {
    let http = deployment.http()?;
    let Some(every) = args.watch else {
        return frame(&http, &deployment.metrics, args.event.as_deref()).await;
    };
    let clear = !json && std::io::stdout().is_terminal();
    loop {
        let report = frame(&http, &deployment.metrics, args.event.as_deref()).await?;
        let mut stdout = std::io::stdout().lock();
        if clear {
            // Home and clear: redraw in place, as `watch` does.
            let _ = write!(stdout, "\x1b[H\x1b[2J");
        }
        let _ = write!(stdout, "{}", report.render(json));
        let _ = stdout.flush();
        drop(stdout);
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(Report::new(String::new(), serde_json::Value::Null)),
        }
    }
}

/// One picture of the evening. Endpoints that do not answer are listed, not
/// fatal: during an incident the view must still show the rest; only when
/// none answers is it an error.
async fn frame(http: &reqwest::Client, endpoints: &[String], event: Option<&str>) -> anyhow::Result<Report> {
    let scrapes = join_all(endpoints.iter().map(|url| scrape(http, url))).await;
    let mut evening = Evening::default();
    for (url, scrape) in endpoints.iter().zip(scrapes) {
        match scrape {
            Ok(samples) => evening.add(&samples),
            Err(e) => evening.unreachable.push(format!("{url}: {e:#}")),
        }
    }
    anyhow::ensure!(evening.answered > 0, "no metrics endpoint answered:\n  {}", evening.unreachable.join("\n  "));
    let evening = evening.only(event);
    let at = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).context("+09:00")?);
    let text = render::text(&evening, at);
    let mut value = serde_json::to_value(&evening)?;
    value["at"] = json!(at.to_rfc3339());
    Ok(Report::new(text, value))
}

async fn scrape(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<prometheus_parse::Sample>> {
    let body = http.get(url).send().await?.error_for_status()?.text().await?;
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))?;
    Ok(scrape.samples)
}
