//! `yeyak-ctl`: what an operator does on a booking evening, against any
//! deployment's addresses (docs/operations.md, "Opening night").
//!
//! Commands call the services' operator APIs with the operator's token (the
//! services authorise and audit every call), or read the services' metrics
//! (the live view). Output is text for people, JSON with `--json`.
pub mod args;

mod admission;
mod connect;
mod dead_letters;
mod deliveries;
pub mod events;
mod live;
mod progress;
mod report;
pub mod supply;

use anyhow::Context as _;
use tonic::{Code, Status};

pub use self::{connect::Deployment, report::Report};
use crate::args::{Cli, Command};

/// Runs one command. The live view with `--watch` writes its frames itself
/// and returns the last one.
pub async fn run(cli: Cli) -> anyhow::Result<Report> {
    let deployment = Deployment::from_args(&cli.global)?;
    match cli.command {
        Command::Admission(command) => admission::run(&deployment, command).await,
        Command::Events(command) => events::run(&deployment, command).await,
        Command::Status(args) => live::run(&deployment, args, cli.global.json).await,
        Command::Deliveries(command) => deliveries::run(&deployment, command).await,
        Command::DeadLetters(command) => dead_letters::run(&deployment, command).await,
        Command::Sms(command) => deliveries::sms(&deployment, command).await,
        Command::Supply(command) => supply::run(&deployment, command).await,
        Command::Rules { args } => rules(args).await,
    }
}

/// The eligibility CLI's commands, parsed and run as `yeyak-eligibility-cli`
/// does (same flags, same `YEYAK_*` defaults): one tool on the evening.
async fn rules(args: Vec<String>) -> anyhow::Result<Report> {
    use eligibility::cli::{run, Command as Rules, Defaults};
    let command = Rules::parse(args, &Defaults::from_process(), chrono::Utc::now())?;
    let hash_key = std::env::var("YEYAK_SUBJECT_HASH_KEY").ok().filter(|k| !k.is_empty()).map(yeyak_platform::Secret::new);
    let text = run(command, hash_key).await.context("rules")?;
    Ok(Report::new(text.clone(), serde_json::json!({ "output": text })))
}

/// A refused or failed call, in the words an operator acts on; the code is
/// kept so scripts can tell "not allowed" from "not reachable".
pub(crate) fn refused(status: Status) -> anyhow::Error {
    let hint = match status.code() {
        Code::Unauthenticated => " (is the token in YEYAK_CTL_TOKEN_FILE listed in the service's YEYAK_OPERATORS?)",
        Code::PermissionDenied => " (the token's operator lacks the role)",
        Code::Unavailable | Code::DeadlineExceeded => " (is the address right, and the service up?)",
        _ => "",
    };
    anyhow::anyhow!("{:?}: {}{hint}", status.code(), status.message())
}
