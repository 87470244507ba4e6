//! `yeyak-dev verify-stream`: a steady stream of identity verifications from
//! a few admitted people, for watching what a deployment change costs the
//! people verifying at that moment (the chart-driven run deletes an identity
//! replica in the middle of it). Each worker is one person with one pass and
//! one long-lived connection to identity (as a gateway keeps one), verifying
//! again and again; every failure is counted, none is retried, so "no
//! failure" means no person saw one.
use std::time::Duration;

use tokio::task::JoinSet;

use crate::demo::{self, Endpoints, Person};

/// What the stream saw, printed as one JSON line for scripts.
#[derive(Debug, Default)]
pub struct Report {
    pub verified: u64,
    pub failed: u64,
    /// The first few failures, for the log.
    pub errors: Vec<String>,
}

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::json!({ "verified": self.verified, "failed": self.failed, "errors": self.errors }).to_string()
    }
}

/// Runs `workers` people for `duration`, each admitted once, then verifying
/// back to back with `people[i]`'s details.
pub async fn run(ep: &Endpoints, people: Vec<Person>, duration: Duration) -> anyhow::Result<Report> {
    let quiet = |_: String| {};
    let mut sessions = Vec::with_capacity(people.len());
    for _ in &people {
        sessions.push(demo::admit(ep, &quiet).await?);
    }
    let stop = tokio::time::Instant::now() + duration;
    let mut workers = JoinSet::new();
    for (person, session) in people.into_iter().zip(sessions) {
        let ep = ep.clone();
        let mut identity = demo::IdentityClient::new(ep.ch(&ep.identity)?);
        workers.spawn(async move {
            let mut report = Report::default();
            while tokio::time::Instant::now() < stop {
                match demo::verify_with(&mut identity, &ep, &person, &session, &|_| {}).await {
                    Ok(_) => report.verified += 1,
                    Err(e) => {
                        report.failed += 1;
                        report.errors.push(format!("{e:#}"));
                    }
                }
            }
            report
        });
    }
    let mut total = Report::default();
    while let Some(done) = workers.join_next().await {
        let report = done?;
        total.verified += report.verified;
        total.failed += report.failed;
        total.errors.extend(report.errors);
    }
    total.errors.truncate(5);
    Ok(total)
}
