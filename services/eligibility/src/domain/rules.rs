//! The cohort rules file: cohorts by birth date, booking windows with local
//! Asia/Seoul instants, and the interval between doses. Rules change every
//! round; they are data, validated at load, never code.
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Asia::Seoul;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file unreadable: {0}")]
    Io(String),
    #[error("rules file invalid: {0}")]
    Syntax(String),
    #[error("rule {rule}: {reason}")]
    Invalid { rule: String, reason: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: String,
    dose_interval: RawInterval,
    #[serde(default)]
    cohort: Vec<RawCohort>,
    #[serde(default)]
    window: Vec<RawWindow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterval {
    min_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCohort {
    id: String,
    #[serde(default)]
    description: String,
    birth_from: NaiveDate,
    birth_to: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    id: String,
    cohort: String,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct Cohort {
    pub id: String,
    pub description: String,
    pub birth_from: NaiveDate,
    pub birth_to: NaiveDate,
}

/// A window's instants, converted from Seoul local time once at load.
#[derive(Clone, Debug)]
pub struct Window {
    pub id: String,
    pub cohort: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Rules {
    pub version: String,
    pub min_dose_interval_days: u32,
    pub cohorts: Vec<Cohort>,
    pub windows: Vec<Window>,
}

fn seoul(rule: &str, local: NaiveDateTime) -> Result<DateTime<Utc>, RulesError> {
    Seoul
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| RulesError::Invalid { rule: rule.into(), reason: format!("{local} is not a valid Seoul time") })
}

impl Rules {
    pub fn load(path: &std::path::Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::Io(format!("{}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Parses and validates; syntax errors carry the line and column.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
        let mut cohorts: Vec<Cohort> = Vec::new();
        for c in raw.cohort {
            if c.birth_from > c.birth_to {
                return Err(RulesError::Invalid { rule: format!("cohort {}", c.id), reason: "birth_from is after birth_to".into() });
            }
            if cohorts.iter().any(|o| o.id == c.id) {
                return Err(RulesError::Invalid { rule: format!("cohort {}", c.id), reason: "duplicate id".into() });
            }
            cohorts.push(Cohort { id: c.id, description: c.description, birth_from: c.birth_from, birth_to: c.birth_to });
        }
        let mut windows = Vec::new();
        for w in raw.window {
            let rule = format!("window {}", w.id);
            if !cohorts.iter().any(|c| c.id == w.cohort) {
                return Err(RulesError::Invalid { rule, reason: format!("unknown cohort {:?}", w.cohort) });
            }
            let (opens_at, closes_at) = (seoul(&rule, w.opens_at)?, seoul(&rule, w.closes_at)?);
            if opens_at >= closes_at {
                return Err(RulesError::Invalid { rule, reason: "opens_at is not before closes_at".into() });
            }
            windows.push(Window { id: w.id, cohort: w.cohort, opens_at, closes_at });
        }
        Ok(Self { version: raw.version, min_dose_interval_days: raw.dose_interval.min_days, cohorts, windows })
    }

    pub fn cohort_of(&self, birth: NaiveDate) -> Option<&Cohort> {
        self.cohorts.iter().find(|c| c.birth_from <= birth && birth <= c.birth_to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
version = "t"
[dose_interval]
min_days = 21
[[cohort]]
id = "c55"
birth_from = "1962-01-01"
birth_to = "1966-12-31"
[[window]]
id = "w"
cohort = "c55"
opens_at = "2021-07-12T20:00:00"
closes_at = "2021-07-17T18:00:00"
"#;

    #[test]
    fn seoul_local_times_become_utc() {
        let r = Rules::parse(GOOD).unwrap();
        assert_eq!(r.windows[0].opens_at.to_rfc3339(), "2021-07-12T11:00:00+00:00");
        assert_eq!(r.cohort_of(NaiveDate::from_ymd_opt(1964, 5, 5).unwrap()).unwrap().id, "c55");
    }

    #[test]
    fn errors_name_the_rule_or_line() {
        let bad_cohort = GOOD.replace("cohort = \"c55\"", "cohort = \"nope\"");
        assert!(Rules::parse(&bad_cohort).unwrap_err().to_string().contains("window w"));
        let syntax = GOOD.replace("min_days = 21", "min_days = \"x\"");
        let msg = Rules::parse(&syntax).unwrap_err().to_string();
        assert!(msg.contains("line 4") || msg.contains("4:"), "{msg}");
        let reversed = GOOD.replace("2021-07-17T18:00:00", "2021-07-01T18:00:00");
        assert!(Rules::parse(&reversed).unwrap_err().to_string().contains("opens_at"));
    }
}
