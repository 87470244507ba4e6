//! Parsing and validating a rules file's text: every semantic problem is collected
//! with its line and rule before the file is refused.
use std::ops::Range;

use toml::Spanned;

use super::{
    raw::{column_of, date_value, line_of, rotation, seoul_instant, valid_id, RawCohort, RawInterval, RawRules, RawWindow},
    *,
};

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
}
