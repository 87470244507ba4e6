//! `yeyak-eligibility-cli`: the rules as operators and support staff see
//! them, evaluated exactly as the server does ([`crate::domain`]).
//!
//! - `validate`: check a rules file (errors name the line and the rule);
//! - `check --subject ID`: who is eligible at instant T, and why;
//! - `sample --count N`: the same for N people of the registry's synthetic
//!   population (the generator turns index -> RRN -> subject id with the
//!   hash key from `YEYAK_SUBJECT_HASH_KEY`; the registry is read through its
//!   HTTP API only);
//! - `dry-run --rules FILE`: how many people each window opens to, hour by
//!   hour, from the registry's aggregate `GET /v1/stats/birth-dates`.
//!
//! The tool reads no booking state (Redis): ALREADY_BOOKED is a live state,
//! not a rule, and is left to the server.
mod args;
mod reports;

use std::{fmt::Write as _, path::Path, time::Duration};

use anyhow::Context as _;
use yeyak_platform::Secret;

pub use self::args::{parse_instant, Command, Defaults};
use self::reports::{dry_run, sample};
use crate::{
    clients::registry::RegistryClient,
    domain::{explain, Facts, Rules},
    store::rules_file,
};

fn load_rules(path: &Path) -> anyhow::Result<Rules> {
    rules_file::read(path).map_err(|e| {
        let mut text = format!("{}: invalid rules", path.display());
        for issue in e.issues() {
            let _ = write!(text, "\n  {issue}");
        }
        anyhow::anyhow!(text)
    })
}

/// Thousands separators: 1234567 -> "1,234,567".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs a command; returns what to print.
pub async fn run(command: Command, hash_key: Option<Secret<String>>) -> anyhow::Result<String> {
    match command {
        Command::Validate { rules } => {
            let r = load_rules(&rules)?;
            Ok(format!("{}: valid, version {:?}, {} cohorts, {} windows\n", rules.display(), r.version, r.cohorts.len(), r.windows.len()))
        }
        Command::Check { subject, at, dose, rules, registry } => {
            let rules = load_rules(&rules)?;
            let client = RegistryClient::with_tls(&registry, Duration::from_secs(10), &tls_from_env()?)?;
            let person = client.lookup(&subject).await.map_err(|e| anyhow::anyhow!("registry {registry}: {e}"))?;
            let mut out = format!("subject {subject}\n");
            match &person {
                None => out.push_str(&format!("  registry: unknown person\ndecision for dose {dose}: UNKNOWN_PERSON\n")),
                Some(p) => {
                    let facts = Facts { asserted_birth: p.birth_date, person: Some(p), booked: None, dose };
                    for line in explain(&rules, facts, at) {
                        let _ = writeln!(out, "  {line}");
                    }
                }
            }
            Ok(out)
        }
        Command::Sample { count, population, seed, at, dose, rules, registry } => {
            let key = hash_key.context("sample needs the subject hash key in YEYAK_SUBJECT_HASH_KEY")?;
            anyhow::ensure!(population > 0, "--population must be positive");
            let rules = load_rules(&rules)?;
            sample(&rules, &registry, &key, count, population, seed, at, dose).await
        }
        Command::DryRun { rules, from, to, dose, registry } => {
            let rules = load_rules(&rules)?;
            let client = RegistryClient::with_tls(&registry, Duration::from_secs(300), &tls_from_env()?)?;
            let stats = client.birth_date_stats().await.with_context(|| format!("registry {registry}"))?;
            Ok(dry_run(&rules, &stats, dose, from, to))
        }
    }
}

#[cfg(test)]
mod tests;

/// The operator's `YEYAK_TLS_*` settings, for an `https://` registry.
fn tls_from_env() -> anyhow::Result<yeyak_platform::tls::TlsSettings> {
    Ok(yeyak_platform::tls::TlsSettings::from_env(&yeyak_platform::config::Env::process())?)
}
