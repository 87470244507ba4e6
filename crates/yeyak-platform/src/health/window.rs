//! Outcomes of calls to one upstream over a sliding time window: counts and
//! a latency histogram per time slice, so the success rate and latency
//! percentiles always describe the last `window` of traffic, whatever its
//! volume, in constant memory.
use std::time::{Duration, Instant};

/// Time slices per window: the window slides in steps of `window / SLICES`.
pub const SLICES: usize = 20;
/// Latency bins: bin 0 is below 1 ms, bin `i` ends at 1 ms × 1.25^i, the last
/// is open-ended (about 70 s and beyond).
const BINS: usize = 52;
const GROWTH: f64 = 1.25;

#[derive(Clone, Debug)]
struct Slice {
    /// Which slice of time this is (slices since `origin`); stale slices are reset on reuse.
    epoch: u64,
    ok: u32,
    failed: u32,
    latency: [u32; BINS],
}

impl Slice {
    fn empty(epoch: u64) -> Self {
        Self { epoch, ok: 0, failed: 0, latency: [0; BINS] }
    }
}

/// Success rate and latency over the window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub calls: u32,
    pub failures: u32,
    /// 1.0 when there were no calls.
    pub success_rate: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
}

#[derive(Clone, Debug)]
pub struct SlidingWindow {
    origin: Instant,
    slice_len: Duration,
    slices: Vec<Slice>,
}

fn bin_of(latency: Duration) -> usize {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        return 0;
    }
    ((ms.ln() / GROWTH.ln()).floor() as usize + 1).min(BINS - 1)
}

/// Upper edge of a bin: percentiles are reported conservatively (at most 25% high).
fn bin_upper(bin: usize) -> Duration {
    Duration::from_secs_f64(GROWTH.powi(bin as i32) / 1000.0)
}

impl SlidingWindow {
    pub fn new(window: Duration, now: Instant) -> Self {
        let slice_len = (window / SLICES as u32).max(Duration::from_millis(10));
        Self { origin: now, slice_len, slices: (0..SLICES).map(|_| Slice::empty(u64::MAX)).collect() }
    }

    fn epoch(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_nanos() / self.slice_len.as_nanos().max(1)) as u64
    }

    pub fn record(&mut self, now: Instant, ok: bool, latency: Duration) {
        let epoch = self.epoch(now);
        let slice = &mut self.slices[(epoch % SLICES as u64) as usize];
        if slice.epoch != epoch {
            *slice = Slice::empty(epoch);
        }
        if ok {
            slice.ok += 1;
        } else {
            slice.failed += 1;
        }
        slice.latency[bin_of(latency)] += 1;
    }

    /// Forgets everything (an upstream that just recovered starts afresh).
    pub fn clear(&mut self) {
        for slice in &mut self.slices {
            *slice = Slice::empty(u64::MAX);
        }
    }

    pub fn stats(&self, now: Instant) -> WindowStats {
        let current = self.epoch(now);
        let oldest = current.saturating_sub(SLICES as u64 - 1);
        let (mut ok, mut failed) = (0u32, 0u32);
        let mut latency = [0u32; BINS];
        for slice in self.slices.iter().filter(|s| s.epoch != u64::MAX && (oldest..=current).contains(&s.epoch)) {
            ok += slice.ok;
            failed += slice.failed;
            for (sum, n) in latency.iter_mut().zip(slice.latency.iter()) {
                *sum += n;
            }
        }
        let calls = ok + failed;
        let percentile = |p: f64| {
            if calls == 0 {
                return Duration::ZERO;
            }
            let rank = ((p * f64::from(calls)).ceil() as u32).max(1);
            let mut seen = 0;
            for (bin, n) in latency.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return bin_upper(bin);
                }
            }
            bin_upper(BINS - 1)
        };
        WindowStats {
            calls,
            failures: failed,
            success_rate: if calls == 0 { 1.0 } else { f64::from(ok) / f64::from(calls) },
            p50: percentile(0.50),
            p90: percentile(0.90),
            p99: percentile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn rates_and_percentiles() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(Duration::from_secs(10), t0);
        assert_eq!(w.stats(t0).success_rate, 1.0);
        for i in 0..100u32 {
            w.record(t0, i % 10 != 0, MS * (i + 1));
        }
        let s = w.stats(t0);
        assert_eq!((s.calls, s.failures), (100, 10));
        assert!((s.success_rate - 0.9).abs() < 1e-9);
        let within = |d: Duration, expect: u64| {
            let ms = d.as_secs_f64() * 1000.0;
            ms >= expect as f64 && ms <= expect as f64 * 1.26
        };
        assert!(within(s.p50, 50), "{:?}", s.p50);
        assert!(within(s.p90, 90), "{:?}", s.p90);
        assert!(within(s.p99, 99), "{:?}", s.p99);
    }

    #[test]
    fn old_outcomes_slide_out() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(Duration::from_secs(2), t0);
        for _ in 0..10 {
            w.record(t0, false, MS);
        }
        w.record(t0 + Duration::from_millis(1500), true, MS);
        let s = w.stats(t0 + Duration::from_millis(1500));
        assert_eq!((s.calls, s.failures), (11, 10), "still inside the window");
        let s = w.stats(t0 + Duration::from_millis(2100));
        assert_eq!((s.calls, s.failures), (1, 0), "the failures slid out, the late success did not");
        let s = w.stats(t0 + Duration::from_secs(60));
        assert_eq!(s.calls, 0, "a slot reused much later is not mistaken for a recent one");
        w.record(t0, false, MS);
        w.clear();
        assert_eq!(w.stats(t0).calls, 0);
    }

    #[test]
    fn huge_latencies_land_in_the_last_bin() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(Duration::from_secs(10), t0);
        w.record(t0, true, Duration::from_secs(3600));
        assert!(w.stats(t0).p99 >= Duration::from_secs(60));
        w.record(t0, true, Duration::ZERO);
        assert_eq!(w.stats(t0).p50, bin_upper(0));
    }
}
