//! The command line, parsed with `clap` derive, then completed with the
//! defaults the environment gives (`YEYAK_RULES_FILE`, `YEYAK_REGISTRY_URL`,
//! `YEYAK_SEED_COUNT`, `YEYAK_SEED`) and with instants read against `now`.
//! The environment is read once, into [`Defaults`], so tests pass their own.
use std::{ffi::OsString, path::PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{
    error::{ContextKind, ContextValue, ErrorKind},
    CommandFactory as _, Parser, Subcommand,
};

use crate::domain::{calendar::from_seoul, rules::MAX_DOSE};

const DEFAULT_RULES: &str = "services/eligibility/rules/demo.toml";
const DEFAULT_REGISTRY: &str = "http://127.0.0.1:18081";
const DEFAULT_POPULATION: u64 = 1_000_000;

const AFTER_HELP: &str = "\
T is `now`, a Seoul local time `2021-08-09T20:00:00` (or `2021-08-09 20:00`),
or an RFC 3339 instant with its offset. Defaults: --rules $YEYAK_RULES_FILE or
services/eligibility/rules/demo.toml; --registry $YEYAK_REGISTRY_URL or
http://127.0.0.1:18081; --dose 1; --count 20; --population $YEYAK_SEED_COUNT
or 1000000; --seed $YEYAK_SEED or the registry's default. `sample` needs the
subject hash key in $YEYAK_SUBJECT_HASH_KEY (never on the command line).";

/// `yeyak-eligibility-cli`: who is eligible at instant T and why.
#[derive(Debug, Parser)]
#[command(
    name = "yeyak-eligibility-cli",
    args_override_self = true,
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Invocation,
}

#[derive(Debug, Subcommand)]
enum Invocation {
    /// Check a rules file: errors name the line and the rule.
    Validate {
        /// Default: $YEYAK_RULES_FILE or services/eligibility/rules/demo.toml.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Who is eligible at T, and why: one subject.
    Check {
        /// The pseudonymous subject id the registry knows.
        #[arg(long, value_name = "ID")]
        subject: String,
        /// The instant to decide at (default: now).
        #[arg(long, value_name = "T")]
        at: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The same for N people of the registry's synthetic population.
    Sample {
        /// People to sample.
        #[arg(long, value_name = "N", default_value_t = 20)]
        count: u64,
        /// People the registry holds (default: $YEYAK_SEED_COUNT or 1000000).
        #[arg(long, value_name = "P")]
        population: Option<u64>,
        /// The registry's generator seed (default: $YEYAK_SEED or the registry's).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// The instant to decide at (default: now).
        #[arg(long, value_name = "T")]
        at: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// How many people each window opens to, hour by hour.
    DryRun {
        /// First hour (default: when the first window opens).
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// Last hour (default: when the last window closes, 92 days at most).
        #[arg(long, value_name = "T")]
        to: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

/// What every command but `validate` takes.
#[derive(Debug, clap::Args)]
struct Common {
    /// The dose to book (1 to 9).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DOSE)))]
    dose: u32,
    /// Default: $YEYAK_RULES_FILE or services/eligibility/rules/demo.toml.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// The registry's API (default: $YEYAK_REGISTRY_URL or http://127.0.0.1:18081).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
}

/// A command line, complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Validate { rules: PathBuf },
    Check { subject: String, at: DateTime<Utc>, dose: u32, rules: PathBuf, registry: String },
    Sample { count: u64, population: u64, seed: u64, at: DateTime<Utc>, dose: u32, rules: PathBuf, registry: String },
    DryRun { rules: PathBuf, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, dose: u32, registry: String },
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
    /// Unset and empty variables alike leave the built-in default.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            rules: var("YEYAK_RULES_FILE"),
            registry: var("YEYAK_REGISTRY_URL"),
            population: var("YEYAK_SEED_COUNT").and_then(|v| v.parse().ok()),
            seed: var("YEYAK_SEED").and_then(|v| v.parse().ok()),
        }
    }

    fn rules(&self, given: Option<PathBuf>) -> PathBuf {
        given.or_else(|| self.rules.clone().map(PathBuf::from)).unwrap_or_else(|| DEFAULT_RULES.into())
    }

    fn registry(&self, given: Option<String>) -> String {
        given.or_else(|| self.registry.clone()).unwrap_or_else(|| DEFAULT_REGISTRY.into())
    }
}

impl Command {
    /// Parses the arguments after the program name. A usage error (or
    /// `--help`) is a `clap::Error` inside the `anyhow::Error`: its `exit()`
    /// prints it as command-line tools do.
    pub fn parse<I, S>(args: I, defaults: &Defaults, now: DateTime<Utc>) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let program = OsString::from("yeyak-eligibility-cli");
        let cli = Cli::try_parse_from(std::iter::once(program).chain(args.iter().cloned())).map_err(|e| name_the_command(e, &args))?;
        let instant = |text: Option<String>| text.map(|t| parse_instant(&t, now)).transpose();
        Ok(match cli.command {
            Invocation::Validate { rules } => Self::Validate { rules: defaults.rules(rules) },
            Invocation::Check { subject, at, common } => Self::Check {
                subject,
                at: instant(at)?.unwrap_or(now),
                dose: common.dose,
                rules: defaults.rules(common.rules),
                registry: defaults.registry(common.registry),
            },
            Invocation::Sample { count, population, seed, at, common } => Self::Sample {
                count,
                population: population.or(defaults.population).unwrap_or(DEFAULT_POPULATION),
                seed: seed.or(defaults.seed).unwrap_or(yeyak_population::DEFAULT_SEED),
                at: instant(at)?.unwrap_or(now),
                dose: common.dose,
                rules: defaults.rules(common.rules),
                registry: defaults.registry(common.registry),
            },
            Invocation::DryRun { from, to, common } => Self::DryRun {
                rules: defaults.rules(common.rules),
                from: instant(from)?,
                to: instant(to)?,
                dose: common.dose,
                registry: defaults.registry(common.registry),
            },
        })
    }
}

/// "validate does not take --count" says more than "unexpected argument".
fn name_the_command(error: clap::Error, args: &[OsString]) -> clap::Error {
    let (ErrorKind::UnknownArgument, Some(ContextValue::String(arg)), Some(name)) =
        (error.kind(), error.get(ContextKind::InvalidArg), args.first().and_then(|a| a.to_str()))
    else {
        return error;
    };
    let mut cli = Cli::command();
    // Built, the subcommand's usage line starts with the program's name.
    cli.build();
    match cli.find_subcommand_mut(name) {
        Some(command) => command.error(ErrorKind::UnknownArgument, format!("{name} does not take {arg}")),
        None => error,
    }
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
