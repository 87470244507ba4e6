//! The cohort rules file (TOML): who belongs to which cohort (by birth date,
//! birth year or age on a reference date, optionally narrowed to priority
//! groups), when each cohort may book (windows with Asia/Seoul local instants,
//! optionally split by the 10-day rotation with a catch-up period), and the
//! interval between doses. Rules change every round; they are data, validated
//! at load with errors that name the line and the rule, never code.
//!
//! The format is documented with the 2021 rounds as examples in
//! `docs/eligibility.md`.
use std::{collections::BTreeMap, fmt, ops::Range};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use super::calendar::{age_on, fmt_seoul, from_seoul};

/// The only time zone rules are written in. A file may say so explicitly
/// (`timezone = "Asia/Seoul"`); any other value is refused.
pub const TIMEZONE: &str = "Asia/Seoul";
/// Days of the rotation: one per last digit of the birth date.
pub const ROTATION_DAYS: u32 = 10;
/// Doses the rules may speak about (1 ..= this).
pub const MAX_DOSE: u32 = 9;

/// One problem found in a rules file, with the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line of the offending table or value (0: the file as a whole).
    pub line: usize,
    /// Which rule: "cohort age-55-59", "window round-18-49", "dose_interval".
    pub rule: String,
    pub reason: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}: {}", self.line, self.rule, self.reason)
        } else {
            write!(f, "{}: {}", self.rule, self.reason)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file unreadable: {0}")]
    Io(String),
    /// Not TOML, or not the expected shape (unknown key, wrong type).
    #[error("rules file invalid: line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    /// Well-formed TOML that breaks the rules; every problem is listed.
    #[error("rules file invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Issue>),
}

impl RulesError {
    /// The issues, one per line of the file that is wrong.
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            Self::Io(reason) => vec![Issue { line: 0, rule: "file".into(), reason: reason.clone() }],
            Self::Syntax { line, message, .. } => vec![Issue { line: *line, rule: "syntax".into(), reason: message.clone() }],
            Self::Invalid(issues) => issues.clone(),
        }
    }
}

// ---------------------------------------------------------------- raw file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    dose_interval: Spanned<RawInterval>,
    #[serde(default)]
    cohort: Vec<Spanned<RawCohort>>,
    #[serde(default)]
    window: Vec<Spanned<RawWindow>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterval {
    min_days: u32,
    /// Overrides by the number of the previous dose: `"2" = 150`.
    #[serde(default)]
    after_dose: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCohort {
    id: String,
    #[serde(default)]
    description: String,
    birth_from: Option<toml::Value>,
    birth_to: Option<toml::Value>,
    birth_year_from: Option<i32>,
    birth_year_to: Option<i32>,
    age_min: Option<u32>,
    age_max: Option<u32>,
    age_on: Option<toml::Value>,
    #[serde(default)]
    priority_groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    id: String,
    cohort: String,
    opens_at: toml::Value,
    closes_at: toml::Value,
    doses: Option<Vec<u32>>,
    rotation: Option<RawRotation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRotation {
    first_digit: Option<u8>,
    daily_close: Option<String>,
    /// When the catch-up opens (default: ten days after the window opened).
    catch_up_opens: Option<toml::Value>,
}

// ---------------------------------------------------------------- rules

/// How a cohort is delimited by birth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BirthCriterion {
    /// Born between two dates, both included.
    Dates { from: NaiveDate, to: NaiveDate },
    /// Born in these calendar years, both included (how 2021 cohorts were
    /// announced: "born 1962-1966" for the 55-59 round).
    Years { from: i32, to: i32 },
    /// Aged `min ..= max` completed years on the reference date `on`.
    Age { min: u32, max: u32, on: NaiveDate },
}

impl BirthCriterion {
    pub fn matches(&self, birth: NaiveDate) -> bool {
        use chrono::Datelike as _;
        match self {
            Self::Dates { from, to } => *from <= birth && birth <= *to,
            Self::Years { from, to } => (*from..=*to).contains(&birth.year()),
            Self::Age { min, max, on } => {
                let age = age_on(birth, *on);
                age >= 0 && (*min..=*max).contains(&age.unsigned_abs())
            }
        }
    }
}

impl fmt::Display for BirthCriterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dates { from, to } => write!(f, "born {from} to {to}"),
            Self::Years { from, to } => write!(f, "born in {from}-{to}"),
            Self::Age { min, max, on } => write!(f, "aged {min}-{max} on {on}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cohort {
    pub id: String,
    pub description: String,
    /// `None`: any birth date (a cohort defined by priority groups only).
    pub birth: Option<BirthCriterion>,
    /// Empty: everybody; otherwise a member of at least one of these groups.
    pub priority_groups: Vec<String>,
    pub line: usize,
}

impl Cohort {
    /// Whether the birth date alone admits the person (groups aside).
    pub fn admits_birth(&self, birth: NaiveDate) -> bool {
        self.birth.as_ref().is_none_or(|c| c.matches(birth))
    }

    /// Whether the person's priority groups admit them.
    pub fn admits_groups(&self, groups: &[String]) -> bool {
        self.priority_groups.is_empty() || self.priority_groups.iter().any(|g| groups.contains(g))
    }

    pub fn criteria(&self) -> String {
        let birth = self.birth.as_ref().map_or_else(|| "any birth date".to_owned(), ToString::to_string);
        if self.priority_groups.is_empty() {
            birth
        } else {
            format!("{birth}, priority group {}", self.priority_groups.join(" or "))
        }
    }
}

/// Which part of a window an interval is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The whole window (no rotation).
    Whole,
    /// The rotation day of one birth-date digit.
    RotationDay { digit: u8 },
    /// After the rotation: everyone in the cohort.
    CatchUp,
}

/// A period during which someone may book through a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub part: Part,
}

impl Interval {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.opens_at <= t && t < self.closes_at
    }

    /// Whether the interval is open at some moment of `[from, to)`.
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.opens_at < to && from < self.closes_at
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.part {
            Part::Whole => String::new(),
            Part::RotationDay { digit } => format!("rotation day of digit {digit}: "),
            Part::CatchUp => "catch-up: ".into(),
        };
        write!(f, "{what}{} to {}", fmt_seoul(self.opens_at), fmt_seoul(self.closes_at))
    }
}

/// The 10-day rotation: day `k` (counted from the window's opening) serves
/// the birth-date digit `(first_digit + k) % 10`; after the tenth day the
/// catch-up period (from `catch_up_opens`, by default ten days after the
/// opening) runs until the window closes, open to the whole cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub first_digit: u8,
    /// Local time each rotation day closes (the next occurrence after it
    /// opened); `None`: each day runs until the next one opens.
    pub daily_close: Option<NaiveTime>,
    /// `days[k]`, UTC instants computed once from Seoul local time.
    pub days: Vec<Interval>,
    pub catch_up: Option<Interval>,
}

impl Rotation {
    /// The rotation day of a digit.
    pub fn day_of(&self, digit: u8) -> Option<&Interval> {
        self.days.iter().find(|d| d.part == Part::RotationDay { digit })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub id: String,
    pub cohort: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Doses this window books; `None`: every dose.
    pub doses: Option<Vec<u32>>,
    pub rotation: Option<Rotation>,
    pub line: usize,
}

impl Window {
    pub fn books_dose(&self, dose: u32) -> bool {
        self.doses.as_ref().is_none_or(|d| d.contains(&dose))
    }

    /// The intervals open to someone whose birth-date digit is `digit`, in
    /// time order.
    pub fn intervals_for(&self, digit: u8) -> Vec<Interval> {
        match &self.rotation {
            None => vec![Interval { opens_at: self.opens_at, closes_at: self.closes_at, part: Part::Whole }],
            Some(r) => r.day_of(digit).into_iter().chain(r.catch_up.as_ref()).copied().collect(),
        }
    }
}

/// Days before the next dose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoseInterval {
    pub min_days: u32,
    /// By the number of the previous dose.
    pub after_dose: BTreeMap<u32, u32>,
}

impl DoseInterval {
    /// Minimum days between dose `previous` and the next one.
    pub fn days_after(&self, previous: u32) -> u32 {
        self.after_dose.get(&previous).copied().unwrap_or(self.min_days)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub version: String,
    pub dose_interval: DoseInterval,
    pub cohorts: Vec<Cohort>,
    pub windows: Vec<Window>,
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

fn column_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().rev().take_while(|b| **b != b'\n').count() + 1
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A date written as a TOML date or a "YYYY-MM-DD" string.
fn date_value(v: &toml::Value) -> Result<NaiveDate, String> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
        other => return Err(format!("{other} is not a date (YYYY-MM-DD)")),
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// A Seoul local date-time written as a TOML local date-time or a string.
/// An explicit offset is accepted only if it is Seoul's (+09:00): a UTC
/// instant in a rules file is exactly the mistake that blocked people in 2021.
fn seoul_instant(v: &toml::Value) -> Result<DateTime<Utc>, String> {
    let text = match v {
        toml::Value::String(s) => s.trim().to_owned(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("{other} is not a date-time")),
    };
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(&text, format) {
            return from_seoul(local).ok_or_else(|| format!("{text} is not a valid Asia/Seoul local time"));
        }
    }
    match DateTime::parse_from_rfc3339(&text.replace(' ', "T")) {
        Ok(t) if t.offset().local_minus_utc() == 9 * 3600 => Ok(t.with_timezone(&Utc)),
        Ok(_) => Err(format!("{text}: instants are Asia/Seoul local times; write them without an offset (or with +09:00)")),
        Err(_) => Err(format!("{text:?} is not a date-time (YYYY-MM-DDTHH:MM:SS, Asia/Seoul)")),
    }
}

struct Checker<'a> {
    text: &'a str,
    issues: Vec<Issue>,
}

impl Checker<'_> {
    fn issue(&mut self, span: &Range<usize>, rule: &str, reason: impl Into<String>) {
        self.issues.push(Issue { line: line_of(self.text, span.start), rule: rule.to_owned(), reason: reason.into() });
    }
}

impl Rules {
    pub fn load(path: &std::path::Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::Io(format!("{}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Parses and validates. Syntax errors carry the line and column;
    /// semantic errors list every offending rule with its line.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            RulesError::Syntax { line: line_of(text, offset), column: column_of(text, offset), message: e.message().trim().to_owned() }
        })?;
        let mut check = Checker { text, issues: Vec::new() };

        let version = raw.version.get_ref().trim().to_owned();
        if version.is_empty() {
            check.issue(&raw.version.span(), "version", "must not be empty");
        }
        if let Some(tz) = &raw.timezone {
            if tz.get_ref() != TIMEZONE {
                check.issue(&tz.span(), "timezone", format!("rules are evaluated in {TIMEZONE} only, not {:?}", tz.get_ref()));
            }
        }
        let dose_interval = Self::dose_interval(&mut check, &raw.dose_interval);
        let cohorts = Self::cohorts(&mut check, &raw.cohort);
        let windows = Self::windows(&mut check, &raw.window, &cohorts);
        if check.issues.is_empty() {
            Ok(Self { version, dose_interval, cohorts, windows })
        } else {
            Err(RulesError::Invalid(check.issues))
        }
    }

    fn dose_interval(check: &mut Checker<'_>, raw: &Spanned<RawInterval>) -> DoseInterval {
        let span = raw.span();
        let raw = raw.get_ref();
        let mut after_dose = BTreeMap::new();
        if raw.min_days > 3_650 {
            check.issue(&span, "dose_interval", "min_days is more than ten years");
        }
        for (key, days) in &raw.after_dose {
            match key.parse::<u32>() {
                Ok(n) if (1..MAX_DOSE).contains(&n) => {
                    after_dose.insert(n, *days);
                }
                _ => check.issue(&span, "dose_interval", format!("after_dose key {key:?} is not a dose number 1-{}", MAX_DOSE - 1)),
            }
        }
        DoseInterval { min_days: raw.min_days, after_dose }
    }

    fn cohorts(check: &mut Checker<'_>, raw: &[Spanned<RawCohort>]) -> Vec<Cohort> {
        let mut cohorts: Vec<Cohort> = Vec::new();
        for spanned in raw {
            let (span, c) = (spanned.span(), spanned.get_ref());
            let rule = format!("cohort {}", c.id);
            let mut bad = |reason: String| check.issue(&span, &rule, reason);
            if !valid_id(&c.id) {
                bad("id must be 1-64 characters among a-z, A-Z, 0-9, '-', '_', '.'".into());
            }
            if cohorts.iter().any(|o| o.id == c.id) {
                bad("duplicate id".into());
            }
            let dates = c.birth_from.is_some() || c.birth_to.is_some();
            let years = c.birth_year_from.is_some() || c.birth_year_to.is_some();
            let ages = c.age_min.is_some() || c.age_max.is_some() || c.age_on.is_some();
            let birth = match (dates, years, ages) {
                (false, false, false) => None,
                (true, false, false) => match (c.birth_from.as_ref().map(date_value), c.birth_to.as_ref().map(date_value)) {
                    (Some(Ok(from)), Some(Ok(to))) if from <= to => Some(BirthCriterion::Dates { from, to }),
                    (Some(Ok(_)), Some(Ok(_))) => {
                        bad("birth_from is after birth_to".into());
                        None
                    }
                    (Some(Err(e)), _) | (_, Some(Err(e))) => {
                        bad(format!("birth dates: {e}"));
                        None
                    }
                    _ => {
                        bad("birth_from and birth_to go together".into());
                        None
                    }
                },
                (false, true, false) => match (c.birth_year_from, c.birth_year_to) {
                    (Some(from), Some(to)) if from > to => {
                        bad("birth_year_from is after birth_year_to".into());
                        None
                    }
                    (Some(from), Some(to)) if !(1850..=2200).contains(&from) || !(1850..=2200).contains(&to) => {
                        bad("birth years must be between 1850 and 2200".into());
                        None
                    }
                    (Some(from), Some(to)) => Some(BirthCriterion::Years { from, to }),
                    _ => {
                        bad("birth_year_from and birth_year_to go together".into());
                        None
                    }
                },
                (false, false, true) => match (c.age_min, c.age_max, c.age_on.as_ref().map(date_value)) {
                    (Some(min), Some(max), Some(Ok(on))) if min <= max && max <= 150 => Some(BirthCriterion::Age { min, max, on }),
                    (Some(_), Some(_), Some(Ok(_))) => {
                        bad("age_min must not exceed age_max, and ages stop at 150".into());
                        None
                    }
                    (_, _, Some(Err(e))) => {
                        bad(format!("age_on: {e}"));
                        None
                    }
                    _ => {
                        bad("age_min, age_max and age_on (the reference date) go together".into());
                        None
                    }
                },
                _ => {
                    bad("use one way to delimit birth: birth_from/birth_to, birth_year_from/birth_year_to, or age_min/age_max/age_on"
                        .into());
                    None
                }
            };
            if !dates && !years && !ages && c.priority_groups.is_empty() {
                bad("needs a birth criterion or priority_groups (a cohort of everybody is almost certainly a mistake)".into());
            }
            if c.priority_groups.iter().any(|g| !valid_id(g)) {
                bad("priority group names use a-z, A-Z, 0-9, '-', '_', '.'".into());
            }
            cohorts.push(Cohort {
                id: c.id.clone(),
                description: c.description.clone(),
                birth,
                priority_groups: c.priority_groups.clone(),
                line: line_of(check.text, span.start),
            });
        }
        cohorts
    }

    fn windows(check: &mut Checker<'_>, raw: &[Spanned<RawWindow>], cohorts: &[Cohort]) -> Vec<Window> {
        let mut windows: Vec<Window> = Vec::new();
        for spanned in raw {
            let (span, w) = (spanned.span(), spanned.get_ref());
            let rule = format!("window {}", w.id);
            let mut bad = |reason: String| check.issue(&span, &rule, reason);
            if !valid_id(&w.id) {
                bad("id must be 1-64 characters among a-z, A-Z, 0-9, '-', '_', '.'".into());
            }
            if windows.iter().any(|o| o.id == w.id) {
                bad("duplicate id".into());
            }
            if !cohorts.iter().any(|c| c.id == w.cohort) {
                bad(format!("unknown cohort {:?}", w.cohort));
            }
            let opens_at = seoul_instant(&w.opens_at).map_err(|e| bad(format!("opens_at: {e}"))).ok();
            let closes_at = seoul_instant(&w.closes_at).map_err(|e| bad(format!("closes_at: {e}"))).ok();
            if let Some(doses) = &w.doses {
                if doses.is_empty() || doses.iter().any(|d| !(1..=MAX_DOSE).contains(d)) {
                    bad(format!("doses must list dose numbers 1-{MAX_DOSE}"));
                }
            }
            let (Some(opens_at), Some(closes_at)) = (opens_at, closes_at) else { continue };
            if opens_at >= closes_at {
                bad("opens_at is not before closes_at".into());
                continue;
            }
            let rotation = match &w.rotation {
                None => None,
                Some(r) => match rotation(r, opens_at, closes_at) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        bad(format!("rotation: {e}"));
                        continue;
                    }
                },
            };
            windows.push(Window {
                id: w.id.clone(),
                cohort: w.cohort.clone(),
                opens_at,
                closes_at,
                doses: w.doses.clone(),
                rotation,
                line: line_of(check.text, span.start),
            });
        }
        windows
    }

    pub fn cohort(&self, id: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|c| c.id == id)
    }

    /// The windows of a cohort, in file order.
    pub fn windows_of<'a>(&'a self, cohort: &'a str) -> impl Iterator<Item = &'a Window> + 'a {
        self.windows.iter().filter(move |w| w.cohort == cohort)
    }
}

/// Lays the rotation days out in Seoul local time: day `k` opens at the
/// window's opening local time `k` days later.
fn rotation(raw: &RawRotation, opens_at: DateTime<Utc>, closes_at: DateTime<Utc>) -> Result<Rotation, String> {
    use chrono::Datelike as _;
    let local_open = opens_at.with_timezone(&chrono_tz::Asia::Seoul).naive_local();
    let first_digit = raw.first_digit.unwrap_or((local_open.day() % 10) as u8);
    if first_digit > 9 {
        return Err("first_digit must be 0-9".into());
    }
    let daily_close = match &raw.daily_close {
        None => None,
        Some(t) => Some(
            NaiveTime::parse_from_str(t, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .map_err(|_| format!("daily_close {t:?} is not a time of day (HH:MM or HH:MM:SS)"))?,
        ),
    };
    let seoul = |t: NaiveDateTime| from_seoul(t).ok_or_else(|| format!("{t} is not a valid Asia/Seoul local time"));
    let mut days = Vec::with_capacity(ROTATION_DAYS as usize);
    for k in 0..ROTATION_DAYS {
        let open = local_open + Duration::days(i64::from(k));
        let close = match daily_close {
            None => open + Duration::days(1),
            Some(time) => {
                let same_day = open.date().and_time(time);
                if same_day > open {
                    same_day
                } else {
                    same_day + Duration::days(1)
                }
            }
        };
        days.push(Interval {
            opens_at: seoul(open)?,
            closes_at: seoul(close)?,
            part: Part::RotationDay { digit: ((u32::from(first_digit) + k) % 10) as u8 },
        });
    }
    let last = days.last().map_or(opens_at, |d| d.closes_at);
    if last > closes_at {
        return Err(format!("the ten rotation days run until {}, after closes_at {}", fmt_seoul(last), fmt_seoul(closes_at)));
    }
    let catch_up_opens = match &raw.catch_up_opens {
        None => seoul(local_open + Duration::days(i64::from(ROTATION_DAYS)))?,
        Some(v) => seoul_instant(v).map_err(|e| format!("catch_up_opens: {e}"))?,
    };
    if catch_up_opens < last {
        return Err(format!("catch_up_opens {} is before the last rotation day ends ({})", fmt_seoul(catch_up_opens), fmt_seoul(last)));
    }
    let catch_up = (catch_up_opens < closes_at).then_some(Interval { opens_at: catch_up_opens, closes_at, part: Part::CatchUp });
    Ok(Rotation { first_digit, daily_close, days, catch_up })
}

#[cfg(test)]
mod tests;
