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
mod reports;

pub use reports::dry_run;
use reports::sample;
use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDateTime, Utc};
use yeyak_platform::Secret;

use crate::{
    domain::{calendar::from_seoul, explain, Facts, Rules},
    registry::RegistryClient,
};

pub const USAGE: &str = "\
usage: yeyak-eligibility-cli <command> [options]

commands:
  validate [--rules FILE]
  check    --subject ID [--at T] [--dose N] [--rules FILE] [--registry URL]
  sample   [--count N] [--population P] [--seed S] [--at T] [--dose N] [--rules FILE] [--registry URL]
  dry-run  [--rules FILE] [--from T] [--to T] [--dose N] [--registry URL]

T is `now`, a Seoul local time `2021-08-09T20:00:00` (or `2021-08-09 20:00`),
or an RFC 3339 instant with its offset. Defaults: --rules $YEYAK_RULES_FILE or
services/eligibility/rules/demo.toml; --registry $YEYAK_REGISTRY_URL or
http://127.0.0.1:18081; --dose 1; --count 20; --population $YEYAK_SEED_COUNT
or 1000000; --seed $YEYAK_SEED or the registry's default. `sample` needs the
subject hash key in $YEYAK_SUBJECT_HASH_KEY (never on the command line).";

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Validate { rules: PathBuf },
    Check { subject: String, at: DateTime<Utc>, dose: u32, rules: PathBuf, registry: String },
    Sample { count: u64, population: u64, seed: u64, at: DateTime<Utc>, dose: u32, rules: PathBuf, registry: String },
    DryRun { rules: PathBuf, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, dose: u32, registry: String },
}

/// `now`, Seoul local time, or RFC 3339.
pub fn parse_instant(text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if text == "now" {
        return Ok(now);
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return from_seoul(local).with_context(|| format!("{text} is not a valid Asia/Seoul local time"));
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{text:?} is not an instant (now, 2021-08-09T20:00:00 Seoul time, or RFC 3339)"))
}

/// Settings taken from the environment when no option is given.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub rules: Option<String>,
    pub registry: Option<String>,
    pub population: Option<u64>,
    pub seed: Option<u64>,
}

impl Defaults {
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            rules: var("YEYAK_RULES_FILE"),
            registry: var("YEYAK_REGISTRY_URL"),
            population: var("YEYAK_SEED_COUNT").and_then(|v| v.parse().ok()),
            seed: var("YEYAK_SEED").and_then(|v| v.parse().ok()),
        }
    }
}

impl Command {
    pub fn parse<I, S>(args: I, defaults: &Defaults, now: DateTime<Utc>) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let Some(command) = args.first() else { bail!("{USAGE}") };
        let mut options: BTreeMap<String, String> = BTreeMap::new();
        let mut rest = args[1..].iter();
        while let Some(flag) = rest.next() {
            let name = flag.strip_prefix("--").with_context(|| format!("unexpected argument {flag:?}\n{USAGE}"))?;
            let value = rest.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            options.insert(name.to_owned(), value.clone());
        }
        let allowed: &[&str] = match command.as_str() {
            "validate" => &["rules"],
            "check" => &["subject", "at", "dose", "rules", "registry"],
            "sample" => &["count", "population", "seed", "at", "dose", "rules", "registry"],
            "dry-run" => &["rules", "from", "to", "dose", "registry"],
            "help" | "--help" | "-h" => bail!("{USAGE}"),
            other => bail!("unknown command {other:?}\n{USAGE}"),
        };
        if let Some(unknown) = options.keys().find(|k| !allowed.contains(&k.as_str())) {
            bail!("{command} does not take --{unknown}\n{USAGE}");
        }
        let rules = PathBuf::from(
            options
                .get("rules")
                .cloned()
                .or_else(|| defaults.rules.clone())
                .unwrap_or_else(|| "services/eligibility/rules/demo.toml".into()),
        );
        let registry =
            options.get("registry").cloned().or_else(|| defaults.registry.clone()).unwrap_or_else(|| "http://127.0.0.1:18081".into());
        let number = |key: &str, default: u64| -> anyhow::Result<u64> {
            options.get(key).map_or(Ok(default), |v| v.parse().with_context(|| format!("--{key} {v:?} is not a number")))
        };
        let dose = u32::try_from(number("dose", 1)?).ok().filter(|d| (1..=crate::domain::rules::MAX_DOSE).contains(d));
        let dose = dose.context("--dose must be between 1 and 9")?;
        let instant = |key: &str| options.get(key).map(|v| parse_instant(v, now)).transpose();
        Ok(match command.as_str() {
            "validate" => Self::Validate { rules },
            "check" => Self::Check {
                subject: options.get("subject").cloned().with_context(|| format!("check needs --subject ID\n{USAGE}"))?,
                at: instant("at")?.unwrap_or(now),
                dose,
                rules,
                registry,
            },
            "sample" => Self::Sample {
                count: number("count", 20)?,
                population: number("population", defaults.population.unwrap_or(1_000_000))?,
                seed: number("seed", defaults.seed.unwrap_or(mock_registry::config::DEFAULT_SEED))?,
                at: instant("at")?.unwrap_or(now),
                dose,
                rules,
                registry,
            },
            _ => Self::DryRun { rules, from: instant("from")?, to: instant("to")?, dose, registry },
        })
    }
}

fn load_rules(path: &std::path::Path) -> anyhow::Result<Rules> {
    Rules::load(path).map_err(|e| {
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
            let client = RegistryClient::new(&registry, Duration::from_secs(10))?;
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
            let client = RegistryClient::new(&registry, Duration::from_secs(300))?;
            let stats = client.birth_date_stats().await.with_context(|| format!("registry {registry}"))?;
            Ok(dry_run(&rules, &stats, dose, from, to))
        }
    }
}

#[cfg(test)]
mod tests;
