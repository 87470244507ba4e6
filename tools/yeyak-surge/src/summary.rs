//! From what was recorded to the report's figures.
use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::{
    operator::Sample,
    recorder::{Inner, Person, Stage},
    report::model::{Distribution, ErrorCount, RpcLatency, Second, Stage as StageOut, WaitAccuracy},
};

pub(crate) fn funnel(inner: &Inner) -> Vec<StageOut> {
    Stage::ALL
        .iter()
        .filter_map(|s| inner.funnel.get(s).map(|c| (s, c)))
        .map(|(s, c)| StageOut { stage: s.name().to_owned(), entered: c.entered, passed: c.passed, dropped: c.dropped.clone() })
        .collect()
}

pub(crate) fn latency(inner: &Inner) -> Vec<RpcLatency> {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
    inner
        .rpcs
        .iter()
        .map(|(rpc, (all, per))| RpcLatency {
            rpc: (*rpc).to_owned(),
            count: all.len(),
            p50_ms: ms(all, 0.5),
            p99_ms: ms(all, 0.99),
            p999_ms: ms(all, 0.999),
            over_time: per.iter().map(|(t, h)| (*t, ms(h, 0.5), ms(h, 0.99))).collect(),
        })
        .collect()
}

pub(crate) fn errors(inner: &Inner) -> Vec<ErrorCount> {
    inner.errors.iter().map(|((stage, code), n)| ErrorCount { stage: (*stage).to_owned(), code: code.clone(), count: *n }).collect()
}

/// Per second: arrivals, people waiting, admitted (admission's own counter
/// where sampled), bookings and errors.
pub(crate) fn timeline(inner: &Inner, samples: &[Sample], seconds: u32) -> Vec<Second> {
    let n = seconds as usize + 1;
    let mut out: Vec<Second> = (0..n).map(|t| Second { t: t as u32, ..Second::default() }).collect();
    let at = |t: f64| (t.max(0.0) as usize).min(n - 1);
    let mut depth = vec![0i64; n + 1];
    for p in &inner.people {
        if let Some(joined) = p.joined_at {
            out[at(joined)].arrivals += 1;
            depth[at(joined)] += 1;
            depth[p.left_queue_at.map_or(n, at)] -= 1;
        }
        if let Some(b) = p.booked_at {
            out[at(b)].booked += 1;
        }
    }
    let mut waiting = 0i64;
    for (t, second) in out.iter_mut().enumerate() {
        waiting += depth[t];
        second.waiting = waiting.max(0) as u64;
        second.errors = inner.errors_per_second.get(&(t as u32)).copied().unwrap_or(0);
    }
    for pair in samples.windows(2) {
        out[at(pair[1].t)].admitted += pair[1].admitted.saturating_sub(pair[0].admitted);
    }
    out
}

pub(crate) fn distribution(mut values: Vec<f64>) -> Distribution {
    if values.is_empty() {
        return Distribution::default();
    }
    values.sort_by(f64::total_cmp);
    let q = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let max = values[values.len() - 1];
    let width = (max / 20.0).max(0.1);
    let mut buckets: BTreeMap<u64, u64> = BTreeMap::new();
    for v in &values {
        *buckets.entry((v / width).floor() as u64).or_default() += 1;
    }
    Distribution {
        count: values.len() as u64,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max,
        buckets: buckets.into_iter().map(|(b, n)| ((b + 1) as f64 * width, n)).collect(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Predicted waits against actual ones, per decile of place at joining;
/// citizens admitted after waiting only (their wait is known).
pub(crate) fn wait_accuracy(people: &[Person]) -> Vec<WaitAccuracy> {
    let mut waited: Vec<&Person> = people.iter().filter(|p| !p.bot && p.admitted_at.is_some() && p.joined_at.is_some()).collect();
    waited.sort_by_key(|p| p.position_at_join);
    let n = waited.len();
    (0..10)
        .filter_map(|d| {
            let part = &waited[n * d / 10..n * (d + 1) / 10];
            if part.is_empty() {
                return None;
            }
            let actual = |p: &Person| p.admitted_at.unwrap_or(0.0) - p.joined_at.unwrap_or(0.0);
            let at_join: Vec<(f64, f64)> = part.iter().filter_map(|p| p.predicted_at_join.map(|w| (w, actual(p)))).collect();
            let polls: Vec<(f64, f64)> =
                part.iter().flat_map(|p| p.polls.iter().map(|(t, w)| (*w, p.admitted_at.unwrap_or(0.0) - t))).collect();
            let close = polls.iter().filter(|(w, a)| (w - a).abs() <= (0.2 * a).max(5.0)).count();
            Some(WaitAccuracy {
                decile: d as u8 + 1,
                people: part.len() as u64,
                actual_p50: median(part.iter().map(|p| actual(p)).collect()),
                predicted_at_join_p50: median(at_join.iter().map(|(w, _)| *w).collect()),
                abs_error_at_join_p50: median(at_join.iter().map(|(w, a)| (w - a).abs()).collect()),
                abs_error_at_polls_p50: median(polls.iter().map(|(w, a)| (w - a).abs()).collect()),
                polls_within_20pct: if polls.is_empty() { 0.0 } else { close as f64 / polls.len() as f64 },
                polls: polls.len() as u64,
            })
        })
        .collect()
}

/// The whole summary of a finished run.
pub(crate) fn build(
    ctx: &crate::ctx::Ctx,
    samples: &[Sample],
    cpu_before: &BTreeMap<String, f64>,
    cpu_after: &BTreeMap<String, f64>,
    duration: f64,
    started_at: String,
    invariants: Vec<crate::report::model::Invariant>,
) -> crate::report::Summary {
    use crate::report::model::{AdmissionFigures, ScenarioEcho, ServiceCpu};
    let inner = ctx.rec.inner.lock();
    let bookings: u64 = inner.people.iter().map(|p| p.bookings.len() as u64).sum();
    let last_booking = inner.people.iter().filter_map(|p| p.booked_at).fold(0.0, f64::max);
    let s = &ctx.scenario;
    let rate = s.event.admission_rate_per_second;
    let opening = s.arrivals.pre_opening_seconds;
    let (_, worst, allowed) = crate::invariants::admission_within_rate(samples, &inner.people, rate, crate::checks::BURST_SECONDS, opening);
    let admitted = samples.last().map_or(0, |l| l.admitted).saturating_sub(samples.first().map_or(0, |f| f.admitted));
    let admitting = samples.iter().filter(|x| x.admitted > 0).map(|x| x.t).fold(f64::NAN, f64::min);
    let span = samples.last().map_or(0.0, |l| l.t) - if admitting.is_nan() { 0.0 } else { admitting };
    crate::report::Summary {
        scenario: ScenarioEcho { name: s.name.clone(), description: s.description.clone(), seed: s.seed, full_size: s.full_size.clone() },
        started_at,
        duration_seconds: duration,
        people: inner.people.len() as u64,
        bookings,
        // From the opening: nobody can book before it.
        bookings_per_second: if last_booking > opening { bookings as f64 / (last_booking - opening) } else { 0.0 },
        admission: AdmissionFigures {
            queue_id: ctx.queue_id.clone(),
            configured_rate_per_second: rate,
            burst_seconds: crate::checks::BURST_SECONDS,
            measured_rate_per_second: if span > 0.0 { admitted as f64 / span } else { 0.0 },
            window_seconds: 5.0,
            max_admitted_in_window: worst,
            allowed_in_window: allowed,
        },
        timeline: timeline(&inner, samples, duration.ceil() as u32),
        funnel: funnel(&inner),
        time_to_book: distribution(inner.people.iter().filter_map(|p| Some(p.booked_at? - p.arrival)).collect()),
        wait_accuracy: wait_accuracy(&inner.people),
        latency: latency(&inner),
        errors: errors(&inner),
        cpu: cpu_after
            .iter()
            .map(|(service, after)| {
                let used = after - cpu_before.get(service).copied().unwrap_or(0.0);
                ServiceCpu {
                    service: service.clone(),
                    cpu_seconds: used,
                    ms_per_booking: if bookings > 0 { used * 1_000.0 / bookings as f64 } else { 0.0 },
                }
            })
            .collect(),
        invariants,
        faults: Vec::new(),
        chaos_seed: None,
    }
}
