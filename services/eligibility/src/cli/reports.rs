//! What the `sample` and `dry-run` commands print: the decisions for a
//! sample of the registry's people, and the people each window opens to,
//! hour by hour.
use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use chrono::{DateTime, Utc};
use yeyak_platform::{pseudonym::subject_id, Secret};

use crate::{
    clients::registry::{BirthDateStats, RegistryClient},
    domain::{
        calendar::{fmt_seoul, rotation_digit},
        decide, Facts, Rules,
    },
};

use super::grouped;

#[allow(clippy::too_many_arguments)]
pub(super) async fn sample(
    rules: &Rules,
    registry: &str,
    key: &Secret<String>,
    count: u64,
    population: u64,
    seed: u64,
    at: DateTime<Utc>,
    dose: u32,
) -> anyhow::Result<String> {
    let client = RegistryClient::with_tls(registry, Duration::from_secs(10), &super::tls_from_env()?)?;
    let mut out = format!(
        "rules {:?} at {}, dose {dose}; {count} people of a population of {population} (seed {seed})\n",
        rules.version,
        fmt_seoul(at)
    );
    let mut tally: BTreeMap<&'static str, u64> = BTreeMap::new();
    // Spread over the population: a fixed pseudo-random walk, reproducible.
    let indices: Vec<u64> = (0..count).map(|i| yeyak_population::splitmix64(seed ^ i) % population).collect();
    for chunk in indices.chunks(32) {
        let mut lookups = tokio::task::JoinSet::new();
        for (slot, index) in chunk.iter().copied().enumerate() {
            let person = yeyak_population::person(seed, index);
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
pub(super) fn dry_run(rules: &Rules, stats: &BirthDateStats, dose: u32, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
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
