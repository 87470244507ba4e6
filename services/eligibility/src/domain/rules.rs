//! The cohort rules file (TOML): who belongs to which cohort (by birth date,
//! birth year or age on a reference date, optionally narrowed to priority
//! groups), when each cohort may book (windows with Asia/Seoul local instants,
//! optionally split by the 10-day rotation with a catch-up period), and the
//! interval between doses. Rules change every round; they are data, validated
//! at load with errors that name the line and the rule, never code.
//!
//! The format is documented with the 2021 rounds as examples in
//! `docs/eligibility.md`.
mod parse;
mod raw;

use std::{collections::BTreeMap, fmt};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

pub use raw::line_of;

use super::calendar::{age_on, fmt_seoul};

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

impl Rules {
    pub fn cohort(&self, id: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|c| c.id == id)
    }

    /// The windows of a cohort, in file order.
    pub fn windows_of<'a>(&'a self, cohort: &'a str) -> impl Iterator<Item = &'a Window> + 'a {
        self.windows.iter().filter(move |w| w.cohort == cohort)
    }
}

#[cfg(test)]
mod tests;
