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
use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDateTime, Utc};
use yeyak_platform::{pseudonym::subject_id, Secret};

use crate::{
    domain::{
        calendar::{fmt_seoul, from_seoul, rotation_digit},
        decide, explain, Facts, Rules,
    },
    registry::{BirthDateStats, RegistryClient},
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

#[allow(clippy::too_many_arguments)]
async fn sample(
    rules: &Rules,
    registry: &str,
    key: &Secret<String>,
    count: u64,
    population: u64,
    seed: u64,
    at: DateTime<Utc>,
    dose: u32,
) -> anyhow::Result<String> {
    let client = RegistryClient::new(registry, Duration::from_secs(10))?;
    let mut out = format!(
        "rules {:?} at {}, dose {dose}; {count} people of a population of {population} (seed {seed})\n",
        rules.version,
        fmt_seoul(at)
    );
    let mut tally: BTreeMap<&'static str, u64> = BTreeMap::new();
    // Spread over the population: a fixed pseudo-random walk, reproducible.
    let indices: Vec<u64> = (0..count).map(|i| mock_registry::population::splitmix64(seed ^ i) % population).collect();
    for chunk in indices.chunks(32) {
        let mut lookups = tokio::task::JoinSet::new();
        for (slot, index) in chunk.iter().copied().enumerate() {
            let person = mock_registry::person(seed, index);
            let subject = subject_id(key, &person.rrn);
            let client = client.clone();
            lookups.spawn(async move { (slot, index, person.birth_date, subject.clone(), client.lookup(&subject).await) });
        }
        let mut answers = Vec::new();
        while let Some(joined) = lookups.join_next().await {
            answers.push(joined?);
        }
        answers.sort_by_key(|a| a.0);
        for (_, index, birth, subject, found) in answers {
            let record = found.map_err(|e| anyhow::anyhow!("registry {registry}: {e}"))?;
            let d = decide(rules, Facts { asserted_birth: birth, person: record.as_ref(), booked: None, dose }, at);
            let verdict = match d.eligible {
                Ok(()) => "ELIGIBLE",
                Err(r) => r.code(),
            };
            *tally.entry(verdict).or_default() += 1;
            let _ = writeln!(out, "#{index:<9} {subject} born {birth} (digit {}) {verdict}: {}", rotation_digit(birth), d.detail);
        }
    }
    out.push_str("summary:");
    for (verdict, n) in &tally {
        let _ = write!(out, " {verdict} {n};");
    }
    out.push('\n');
    Ok(out)
}

/// One line of the dry run: from, to, per window (open to, newly opened
/// to), open to in any window.
type Row = (DateTime<Utc>, DateTime<Utc>, Vec<(u64, u64)>, u64);

/// People per window, hour by hour, for dose `dose` (people with exactly
/// `dose - 1` doses; the interval after the previous dose is not checked:
/// the aggregate carries no dose dates).
pub fn dry_run(rules: &Rules, stats: &BirthDateStats, dose: u32, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
    const DEFAULT_SPAN_HOURS: i64 = 24 * 92;
    let windows: Vec<_> = rules.windows.iter().filter(|w| w.books_dose(dose)).take(128).collect();
    let mut out =
        format!("dry run of rules {:?} against {} insured people of the registry, dose {dose}\n", rules.version, grouped(stats.population));
    if windows.is_empty() {
        out.push_str("no window books this dose\n");
        return out;
    }
    // (windows the person is in, rotation digit) -> people.
    let mut groups: BTreeMap<(u128, u8), u64> = BTreeMap::new();
    let mut in_no_window = 0;
    for row in stats.rows.iter().filter(|r| r.doses + 1 == dose) {
        let mut mask = 0u128;
        for (i, w) in windows.iter().enumerate() {
            if rules.cohort(&w.cohort).is_some_and(|c| c.admits_birth(row.birth_date) && c.admits_groups(&row.priority_groups)) {
                mask |= 1 << i;
            }
        }
        if mask == 0 {
            in_no_window += row.count;
        } else {
            *groups.entry((mask, rotation_digit(row.birth_date))).or_default() += row.count;
        }
    }
    let first = windows.iter().map(|w| w.opens_at).min().unwrap_or_else(Utc::now);
    let last = windows.iter().map(|w| w.closes_at).max().unwrap_or(first);
    let hour = |t: DateTime<Utc>| t - chrono::Duration::seconds(t.timestamp().rem_euclid(3600));
    let start = hour(from.unwrap_or(first));
    let mut end = to.unwrap_or(last);
    if to.is_none() && end > start + chrono::Duration::hours(DEFAULT_SPAN_HOURS) {
        end = start + chrono::Duration::hours(DEFAULT_SPAN_HOURS);
        let _ = writeln!(out, "(showing the first {DEFAULT_SPAN_HOURS} hours; pass --to for more)");
    }
    let _ = writeln!(out, "people in no window of this dose: {}", grouped(in_no_window));
    let _ = writeln!(
        out,
        "hours are Asia/Seoul; a window counts the people it is open to at some time in the hour, (+n) those it opened to in that hour"
    );
    let mut header = format!("{:<37}", "hour (KST)");
    for w in &windows {
        let _ = write!(header, " {:>22}", w.id);
    }
    let _ = write!(header, " {:>12}", "any window");
    out.push_str(header.trim_end());
    out.push('\n');

    let mut rows: Vec<Row> = Vec::new();
    let mut t = start;
    while t < end {
        let next = t + chrono::Duration::hours(1);
        let mut cells = vec![(0u64, 0u64); windows.len()];
        let mut any = 0u64;
        for ((mask, digit), people) in &groups {
            let mut open_somewhere = false;
            for (i, w) in windows.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                let intervals = w.intervals_for(*digit);
                if intervals.iter().any(|iv| iv.overlaps(t, next)) {
                    cells[i].0 += people;
                    open_somewhere = true;
                }
                if intervals.iter().any(|iv| t <= iv.opens_at && iv.opens_at < next) {
                    cells[i].1 += people;
                }
            }
            if open_somewhere {
                any += people;
            }
        }
        match rows.last_mut() {
            // Hours that change nothing are merged into one line.
            Some(prev)
                if prev.2.iter().all(|c| c.1 == 0)
                    && cells.iter().all(|c| c.1 == 0)
                    && prev.2.iter().map(|c| c.0).eq(cells.iter().map(|c| c.0))
                    && prev.3 == any =>
            {
                prev.1 = next;
            }
            _ => rows.push((t, next, cells, any)),
        }
        t = next;
    }
    for (from, to, cells, any) in rows {
        let span = if to - from == chrono::Duration::hours(1) {
            format!("{} .. {}", &fmt_seoul(from)[..16], &fmt_seoul(to)[11..16])
        } else {
            format!("{} .. {}", &fmt_seoul(from)[..16], &fmt_seoul(to)[..16])
        };
        let mut line = format!("{span:<37}");
        for (open, new) in cells {
            let cell = if new > 0 { format!("{} (+{})", grouped(open), grouped(new)) } else { grouped(open) };
            let _ = write!(line, " {cell:>22}");
        }
        let _ = write!(line, " {:>12}", grouped(any));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _};

    use super::*;
    use crate::registry::BirthDateCount;

    fn seoul(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Seoul.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn command_lines() {
        let now = seoul(2026, 1, 1, 0);
        let d = Defaults { registry: Some("http://r:1".into()), ..Defaults::default() };
        let c = Command::parse(["check", "--subject", "ab", "--at", "2021-08-09T20:00:00"], &d, now).unwrap();
        assert_eq!(
            c,
            Command::Check {
                subject: "ab".into(),
                at: seoul(2021, 8, 9, 20),
                dose: 1,
                rules: "services/eligibility/rules/demo.toml".into(),
                registry: "http://r:1".into()
            }
        );
        assert!(
            matches!(Command::parse(["sample"], &d, now).unwrap(), Command::Sample { count: 20, population: 1_000_000, at, .. } if at == now)
        );
        assert!(Command::parse(["check"], &d, now).unwrap_err().to_string().contains("--subject"));
        assert!(Command::parse(["check", "--subject", "a", "--dose", "0"], &d, now).is_err());
        assert!(Command::parse(["validate", "--count", "3"], &d, now).unwrap_err().to_string().contains("does not take --count"));
        assert!(Command::parse(["dance"], &d, now).is_err());
        assert_eq!(parse_instant("2021-08-09T11:00:00Z", now).unwrap(), seoul(2021, 8, 9, 20));
        assert_eq!(parse_instant("2021-08-09 20:00", now).unwrap(), seoul(2021, 8, 9, 20));
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(999), "999");
    }

    #[test]
    fn dry_run_counts_people_per_window_hour_by_hour() {
        let rules = Rules::parse(include_str!("../rules/2021-08-18-49.toml")).unwrap();
        let row = |y, m, d, groups: &[&str], doses, count| BirthDateCount {
            birth_date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            priority_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            doses,
            count,
        };
        let stats = BirthDateStats {
            population: 111,
            rows: vec![
                row(1990, 1, 9, &[], 0, 10),            // digit 9, 18-35
                row(1980, 1, 10, &[], 0, 20),           // digit 0, 36-49
                row(1990, 1, 19, &["education"], 0, 1), // digit 9, priority
                row(1960, 1, 1, &[], 0, 50),            // no cohort
                row(1990, 1, 9, &[], 1, 30),            // already had dose 1
            ],
        };
        let out = dry_run(&rules, &stats, 1, Some(seoul(2021, 8, 9, 19)), Some(seoul(2021, 8, 11, 0)));
        assert!(out.contains("people in no window of this dose: 50"), "{out}");
        let line = |prefix: &str| out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{out}")).to_owned();
        // 20:00-21:00 on the 9th: digit 9 opens (11 people), nobody else.
        let opening = line("2021-08-09 20:00 .. 21:00");
        assert!(opening.contains("11 (+11)") && opening.trim_end().ends_with("11"), "{opening}");
        // Until 18:00 on the 10th nothing changes: one merged line for digit 9.
        let rest_of_9 = line("2021-08-09 21:00 .. 2021-08-10 18:00");
        assert!(rest_of_9.trim_end().ends_with(" 11"), "{rest_of_9}");
        // The evening of the 10th: digit 0 opens (20 people).
        let zero = line("2021-08-10 20:00");
        assert!(zero.contains("20 (+20)"), "{zero}");
        // 18:00-20:00 on the 10th: nobody (merged into one line).
        let gap = line("2021-08-10 18:00 .. 2021-08-10 20:00");
        assert!(gap.trim_end().ends_with(" 0"), "{gap}");
    }
}
