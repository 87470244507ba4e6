//! The plan as a table for people and as chart values for Helm.
use std::fmt::{self, Write as _};

use super::CapacityPlan;

/// How long before the opening the replicas must be up: pods start,
/// connect and warm their caches well within it, and an HPA reacting to
/// the opening itself would come minutes late (docs/deployment.md).
const PRE_SCALE_MINUTES: u32 = 30;

impl fmt::Display for CapacityPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = &self.full;
        writeln!(
            f,
            "Capacity plan: {} bookings, {} waiting-room requests in a {}-minute peak, {} waiting at once; headroom {}%",
            number(full.bookings),
            number(full.requests),
            number(full.peak_minutes),
            number(full.waiting),
            number(self.options.headroom * 100.0),
        )?;
        let by_window = full.bookings / full.peak_seconds();
        let bound =
            if full.admission_rate_per_second <= by_window { "the admission rate bounds it" } else { "bookings over the peak window" };
        writeln!(f, "booking path: {} people/s ({bound})", number(self.booked_per_second))?;
        let w = &self.waiting_room;
        writeln!(
            f,
            "waiting room: {} joins/s + {} polls/s, {} µs of admission CPU per request (measured over {} calls)",
            number(w.joins_per_second),
            number(w.polls_per_second),
            number(w.cpu_us_per_request),
            w.measured_requests,
        )?;
        if let Some(c) = self.options.admission_us_per_call {
            writeln!(f, "  admission sized from the per-call costs given instead: {} µs per join, {} µs per poll", c.join_us, c.poll_us)?;
        }
        writeln!(f)?;
        writeln!(f, "{:<14} {:>14} {:>10} {:>7} {:>9} {:>13}", "service", "CPU ms/booking", "need", "cores", "replicas", "CPU/replica")?;
        for s in &self.services {
            writeln!(
                f,
                "{:<14} {:>14.2} {:>10.2} {:>7} {:>9} {:>12}m",
                s.service,
                s.cpu_ms_per_booking,
                s.exact_cores,
                s.cores,
                s.replicas,
                millicores_per_replica(s.cores, s.replicas),
            )?;
        }
        writeln!(f, "{:<14} {:>14} {:>10} {:>7} {:>9}", "total", "", "", self.total_cores(), self.total_replicas())?;
        writeln!(f)?;
        writeln!(f, "data stores (sized apart from the services):")?;
        for d in &self.data_stores {
            match (d.cores, d.cpu_ms_per_booking) {
                (Some(cores), Some(ms)) => writeln!(f, "  {:<10} {cores} cores ({ms:.2} CPU ms per booking measured)", d.store)?,
                _ => writeln!(f, "  {:<10} not measured", d.store)?,
            }
        }
        writeln!(
            f,
            "  redis memory: ~{} MiB at the end of the evening (assumed: {} B per booked person, {} B per waiting person)",
            number(self.redis_memory_bytes / (1024.0 * 1024.0)),
            number(self.options.redis_bytes_per_booking),
            number(self.options.redis_bytes_per_waiting),
        )?;
        if !self.not_sized.is_empty() {
            writeln!(f, "not sized (third-party mocks, others'): {}", self.not_sized.join(", "))?;
        }
        Ok(())
    }
}

impl CapacityPlan {
    /// Values for `helm/yeyak` (`-f` beside the release's own file): each
    /// service's `replicas` and CPU `resources`, the keys of
    /// helm/yeyak/values.yaml. Helm merges maps, so the chart's memory
    /// requests and limits stay. The CPU limit is one replica's share of the
    /// plan (`cores_per_replica`), so a pod may use its whole share and no
    /// more. The pre-scaling schedule follows as comments: its start and end
    /// depend on the day of the event, which the plan does not know.
    pub fn to_helm_values(&self) -> String {
        let mut out = String::new();
        let full = &self.full;
        let _ = writeln!(
            out,
            "# Capacity plan (yeyak-surge plan): {} bookings, {} waiting-room requests in a",
            number(full.bookings),
            number(full.requests)
        );
        let _ = writeln!(
            out,
            "# {}-minute peak, {} waiting at once, headroom {}%, {} cores per replica.",
            number(full.peak_minutes),
            number(full.waiting),
            number(self.options.headroom * 100.0),
            number(self.options.cores_per_replica),
        );
        let _ = writeln!(out, "# Memory requests and limits stay the chart's (Helm merges these maps into them).");
        let limit = (self.options.cores_per_replica * 1000.0).ceil() as u64;
        for s in &self.services {
            let request = millicores_per_replica(s.cores, s.replicas);
            let _ = writeln!(out, "{}:", s.service);
            let _ = writeln!(out, "  replicas: {}", s.replicas);
            let _ = writeln!(out, "  resources:");
            let _ = writeln!(out, "    requests: {{cpu: \"{request}m\"}}");
            let _ = writeln!(out, "    limits: {{cpu: \"{}m\"}}", limit.max(request));
        }
        out.push_str(&self.pre_scaling_comment());
        out
    }

    /// The KEDA schedule of docs/deployment.md, commented out: the replicas
    /// from half an hour before the opening to the end of the peak window;
    /// after it the CPU trigger scales down as the crowd thins.
    fn pre_scaling_comment(&self) -> String {
        let (hour, minute) = self.options.opening;
        let opening = u32::from(hour) * 60 + u32::from(minute);
        let day = 24 * 60;
        let start = (opening + day - PRE_SCALE_MINUTES) % day;
        let end = (opening + self.full.peak_minutes.ceil() as u32) % day;
        let cron = |m: u32| format!("{} {} * * *", m % 60, m / 60);
        let mut out = String::new();
        let _ = writeln!(out, "#");
        let _ = writeln!(
            out,
            "# Pre-scaling (KEDA; docs/deployment.md, \"Pre-scaling for an opening\"): scale up {PRE_SCALE_MINUTES} minutes before"
        );
        let _ = writeln!(
            out,
            "# the {hour:02}:{minute:02} opening (Asia/Seoul), back down after the {}-minute peak window. Pin the",
            number(self.full.peak_minutes)
        );
        let _ = writeln!(out, "# cron's day and month to the event's date; maxReplicas caps desiredReplicas.");
        for s in &self.services {
            let _ = writeln!(out, "# {}:", s.service);
            let _ = writeln!(out, "#   autoscaling: {{enabled: true, minReplicas: 2, maxReplicas: {}}}", s.replicas);
            let _ = writeln!(out, "#   preScaling:");
            let _ = writeln!(out, "#     enabled: true");
            let _ = writeln!(out, "#     timezone: Asia/Seoul");
            let _ = writeln!(out, "#     schedules:");
            let _ = writeln!(out, "#       - {{start: \"{}\", end: \"{}\", desiredReplicas: {}}}", cron(start), cron(end), s.replicas);
        }
        out
    }
}

/// One replica's CPU request, rounded up so the replicas together request
/// at least the plan's cores.
fn millicores_per_replica(cores: u32, replicas: u32) -> u64 {
    (u64::from(cores) * 1000).div_ceil(u64::from(replicas.max(1)))
}

/// A figure as people write it: whole numbers without decimals, others
/// with one.
pub(super) fn number(value: f64) -> String {
    if (value - value.round()).abs() < 0.05 {
        format!("{}", value.round())
    } else {
        format!("{value:.1}")
    }
}
