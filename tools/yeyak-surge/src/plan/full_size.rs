//! The full-size figures a plan scales the measured costs to, read from a
//! scenario's `[full_size]` table (echoed in `summary.json` as
//! `scenario.full_size`). The keys are listed in the module doc of `plan`.
use std::collections::BTreeMap;

use anyhow::{bail, ensure};

/// The evening the deployment must carry, as the operators expect it.
#[derive(Clone, Debug, PartialEq)]
pub struct FullSize {
    /// People booked over the evening (`bookings`).
    pub bookings: f64,
    /// Requests to the waiting room (joins, reconnections included) in the
    /// peak window (`requests`): the 2021 opening's "10 million connection
    /// requests" in its first minutes.
    pub requests: f64,
    /// Length of the peak window, in minutes (`peak_minutes`).
    pub peak_minutes: f64,
    /// People waiting at once at the peak (`waiting`); each polls its status.
    pub waiting: f64,
    /// The admission rate configured for the full-size event
    /// (`admission_rate_per_second`): it bounds how fast people book.
    pub admission_rate_per_second: f64,
    /// How often a waiting person polls (`polls_per_waiting_person_per_minute`,
    /// optional).
    pub polls_per_waiting_person_per_minute: f64,
}

/// The keys a plan cannot do without, with what each stands for (the error
/// names both, so the scenario's author knows what to add).
const REQUIRED: [(&str, &str); 5] = [
    ("bookings", "people booked over the evening"),
    ("requests", "requests to the waiting room in the peak window"),
    ("peak_minutes", "length of the peak window, in minutes"),
    ("waiting", "people waiting at once at the peak"),
    ("admission_rate_per_second", "the admission rate configured at full size"),
];

impl FullSize {
    /// Two polls a minute: admission suggests a quarter of the remaining
    /// wait, between 1 and 60 s (docs/admission.md); over a long line the
    /// mean interval is about 30 s, the figure docs/benchmarks.md sized
    /// the 2021 opening with.
    pub const DEFAULT_POLLS_PER_MINUTE: f64 = 2.0;

    /// Reads the figures from a scenario's `full_size` map. Other keys
    /// (`people`, `eligible`…) are left alone: scenarios may carry figures
    /// for readers other than the plan.
    pub fn from_map(map: &BTreeMap<String, f64>) -> anyhow::Result<Self> {
        let missing: Vec<String> =
            REQUIRED.iter().filter(|(key, _)| !map.contains_key(*key)).map(|(key, what)| format!("full_size.{key} ({what})")).collect();
        if !missing.is_empty() {
            bail!("the scenario's full-size figures lack {}", missing.join(", "));
        }
        let get = |key: &str| map.get(key).copied().unwrap_or_default();
        let full = Self {
            bookings: get("bookings"),
            requests: get("requests"),
            peak_minutes: get("peak_minutes"),
            waiting: get("waiting"),
            admission_rate_per_second: get("admission_rate_per_second"),
            polls_per_waiting_person_per_minute: map
                .get("polls_per_waiting_person_per_minute")
                .copied()
                .unwrap_or(Self::DEFAULT_POLLS_PER_MINUTE),
        };
        full.validate()?;
        Ok(full)
    }

    /// The peak window in seconds.
    pub fn peak_seconds(&self) -> f64 {
        self.peak_minutes * 60.0
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (key, value, zero_allowed) in [
            ("bookings", self.bookings, false),
            ("requests", self.requests, true),
            ("peak_minutes", self.peak_minutes, false),
            ("waiting", self.waiting, true),
            ("admission_rate_per_second", self.admission_rate_per_second, false),
            ("polls_per_waiting_person_per_minute", self.polls_per_waiting_person_per_minute, true),
        ] {
            ensure!(value.is_finite() && value >= 0.0, "full_size.{key}: a count or a rate, not {value}");
            ensure!(zero_allowed || value > 0.0, "full_size.{key}: above 0, since the plan divides by it or scales by it");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    const ALL: [(&str, f64); 5] =
        [("bookings", 1.5e6), ("requests", 1e7), ("peak_minutes", 5.0), ("waiting", 6e6), ("admission_rate_per_second", 500.0)];

    #[test]
    fn polls_default_to_two_a_minute_and_other_keys_are_ignored() {
        let mut m = map(&ALL);
        m.insert("eligible".to_owned(), 1_505_074.0);
        let full = FullSize::from_map(&m).unwrap();
        assert_eq!(full.polls_per_waiting_person_per_minute, 2.0);
        assert_eq!(full.peak_seconds(), 300.0);
        m.insert("polls_per_waiting_person_per_minute".to_owned(), 4.0);
        assert_eq!(FullSize::from_map(&m).unwrap().polls_per_waiting_person_per_minute, 4.0);
    }

    #[test]
    fn every_missing_key_is_named() {
        let m = map(&ALL[1..4]);
        let err = FullSize::from_map(&m).unwrap_err().to_string();
        assert!(err.contains("full_size.bookings (people booked over the evening)"), "{err}");
        assert!(err.contains("full_size.admission_rate_per_second"), "{err}");
        assert!(!err.contains("full_size.waiting"), "{err}");
    }

    #[test]
    fn a_zero_peak_window_or_a_negative_figure_is_refused_naming_the_key() {
        let mut m = map(&ALL);
        m.insert("peak_minutes".to_owned(), 0.0);
        assert!(FullSize::from_map(&m).unwrap_err().to_string().contains("full_size.peak_minutes"));
        let mut m = map(&ALL);
        m.insert("waiting".to_owned(), -1.0);
        assert!(FullSize::from_map(&m).unwrap_err().to_string().contains("full_size.waiting"));
    }
}
