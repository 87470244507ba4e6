//! The automatic admission rate's settings (`YEYAK_ADMISSION_CONTROL_*`,
//! docs/admission.md, "Automatic admission rate").
use std::time::Duration;

use yeyak_platform::config::{ConfigError, Env};

use crate::domain::control::{ControlSettings, Law, Target, Thresholds};

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: reason.into() }
}

/// A number of `key` within `ok` (the range's words say which).
fn within<T>(env: &Env, key: &str, default: T, ok: impl Fn(T) -> bool, range: &str) -> Result<T, ConfigError>
where
    T: std::str::FromStr + Copy,
    T::Err: std::fmt::Display,
{
    let value = env.parse(key, default)?;
    if ok(value) {
        Ok(value)
    } else {
        Err(invalid(key, format!("must be {range}")))
    }
}

pub(super) fn control(env: &Env) -> Result<ControlSettings, ConfigError> {
    let d = ControlSettings::off();
    let (law, t) = (Law::default(), Thresholds::default());
    let share = |v: f64| v > 0.0 && v <= 1.0;
    let interval = Duration::from_millis(within(env, "ADMISSION_CONTROL_INTERVAL_MS", 2_000u64, |v| v >= 100, "at least 100")?);
    let timeout_default = (interval.as_millis() as u64 / 2).min(1_000);
    let enabled_by_default = match env.string("ADMISSION_CONTROL", "on").trim() {
        "on" => true,
        "off" => false,
        other => return Err(invalid("ADMISSION_CONTROL", format!("{other:?} is neither on nor off"))),
    };
    Ok(ControlSettings {
        targets: targets(&env.string("ADMISSION_CONTROL_TARGETS", ""))?,
        interval,
        scrape_timeout: Duration::from_millis(within(env, "ADMISSION_CONTROL_TIMEOUT_MS", timeout_default, |v| v >= 10, "at least 10")?),
        enabled_by_default,
        floor_fraction: within(env, "ADMISSION_CONTROL_FLOOR_FRACTION", d.floor_fraction, share, "in (0, 1]")?,
        law: Law {
            step_fraction: within(env, "ADMISSION_CONTROL_STEP", law.step_fraction, share, "in (0, 1]")?,
            decrease_factor: within(env, "ADMISSION_CONTROL_DECREASE", law.decrease_factor, |v| v > 0.0 && v < 1.0, "in (0, 1)")?,
            healthy_intervals: within(env, "ADMISSION_CONTROL_HEALTHY_INTERVALS", law.healthy_intervals, |v| v >= 1, "at least 1")?,
            cooldown_intervals: env.parse("ADMISSION_CONTROL_COOLDOWN_INTERVALS", law.cooldown_intervals)?,
        },
        thresholds: Thresholds {
            max_error_ratio: within(env, "ADMISSION_CONTROL_MAX_ERROR_RATIO", t.max_error_ratio, share, "in (0, 1]")?,
            max_shed_ratio: within(env, "ADMISSION_CONTROL_MAX_SHED_RATIO", t.max_shed_ratio, share, "in (0, 1]")?,
            latency_quantile: within(env, "ADMISSION_CONTROL_LATENCY_QUANTILE", t.latency_quantile, share, "in (0, 1]")?,
            max_latency: Duration::from_millis(within(env, "ADMISSION_CONTROL_MAX_LATENCY_MS", 500u64, |v| v >= 1, "at least 1")?),
            min_calls: env.parse("ADMISSION_CONTROL_MIN_CALLS", t.min_calls)?.max(1.0),
            min_failures: env.parse("ADMISSION_CONTROL_MIN_FAILURES", t.min_failures)?.max(1.0),
            recover_fraction: within(env, "ADMISSION_CONTROL_RECOVER_FRACTION", t.recover_fraction, share, "in (0, 1]")?,
        },
    })
}

/// `service=url` pairs, comma-separated, e.g.
/// `eligibility=http://eligibility-metrics:9103/metrics`.
fn targets(spec: &str) -> Result<Vec<Target>, ConfigError> {
    let key = "ADMISSION_CONTROL_TARGETS";
    let mut targets: Vec<Target> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, url) = entry.split_once('=').ok_or_else(|| invalid(key, format!("{entry:?} is not service=url")))?;
        let (name, url) = (name.trim(), url.trim());
        if name.is_empty() || !url.starts_with("http://") {
            // Every address behind the host is read on its own (by IP), which
            // a TLS name check cannot follow; metrics ports are plaintext.
            return Err(invalid(
                key,
                format!("{entry:?}: a service name and an http:// URL (metrics are read per pod address, without TLS)"),
            ));
        }
        if targets.iter().any(|t| t.name == name) {
            return Err(invalid(key, format!("{name:?} is named twice")));
        }
        targets.push(Target { name: name.to_owned(), url: url.to_owned() });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_no_targets_means_off() {
        let c = control(&Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
        assert!(c.targets.is_empty());
        assert_eq!(c, ControlSettings::off());
    }

    #[test]
    fn targets_and_constants_parse_and_nonsense_is_refused_by_name() {
        let env = Env::from_pairs([
            ("ADMISSION_CONTROL_TARGETS", "eligibility=http://e:9103/metrics, reservation=http://r:9105/metrics"),
            ("ADMISSION_CONTROL_INTERVAL_MS", "300"),
            ("ADMISSION_CONTROL_DECREASE", "0.7"),
            ("ADMISSION_CONTROL", "off"),
        ]);
        let c = control(&env).unwrap();
        assert_eq!(c.targets[1], Target { name: "reservation".into(), url: "http://r:9105/metrics".into() });
        assert_eq!((c.interval, c.scrape_timeout, c.law.decrease_factor), (Duration::from_millis(300), Duration::from_millis(150), 0.7));
        assert!(!c.enabled_by_default);
        for (key, value) in [
            ("ADMISSION_CONTROL_TARGETS", "eligibility"),
            ("ADMISSION_CONTROL_TARGETS", "a=ftp://x"),
            ("ADMISSION_CONTROL_TARGETS", "a=http://x,a=http://y"),
            ("ADMISSION_CONTROL_DECREASE", "1"),
            ("ADMISSION_CONTROL_STEP", "0"),
            ("ADMISSION_CONTROL_INTERVAL_MS", "10"),
            ("ADMISSION_CONTROL", "maybe"),
        ] {
            let err = control(&Env::from_pairs([(key, value)])).unwrap_err().to_string();
            assert!(err.contains(&format!("YEYAK_{key}")), "{key}={value}: {err}");
        }
    }
}
