//! The arithmetic of the plan (the formulas are in the module doc of `plan`).
use std::collections::BTreeMap;

use anyhow::{bail, ensure};

use super::{CapacityPlan, DataStorePlan, FullSize, PlanOptions, ServicePlan, WaitingRoomLoad, DATA_STORES, SERVICES};
use crate::report::model::Summary;

/// The calls the simulator records for the waiting room (`citizen/queue.rs`).
const JOIN: &str = "admission/JoinQueue";
const STATUS: &str = "admission/GetQueueStatus";

/// A need a hair above a whole number (float error in `20 ms × 2,500/s`)
/// is that whole number, not one more core.
const ROUNDING_SLACK: f64 = 1e-6;

pub(super) fn build(full: &FullSize, measured: &Summary, options: &PlanOptions) -> anyhow::Result<CapacityPlan> {
    check_options(options)?;
    ensure!(measured.bookings > 0, "the measured run booked nobody: there is no cost per booking to scale");
    let cpu = cpu_by_process(measured);
    ensure!(
        !cpu.is_empty(),
        "the summary has no CPU figures: run the simulator with a pids file in the endpoints (`make run` writes .run/pids)"
    );
    let missing: Vec<&str> = SERVICES.iter().copied().filter(|s| !cpu.contains_key(*s)).collect();
    if !missing.is_empty() {
        bail!("the summary has no CPU figure for {}: a plan without them would size them at nothing", missing.join(", "));
    }
    let calls = |rpc: &str| measured.latency.iter().filter(|l| l.rpc == rpc).map(|l| l.count).sum::<u64>();
    let (joins, polls) = (calls(JOIN), calls(STATUS));
    ensure!(joins + polls > 0, "the summary records no {JOIN} or {STATUS} calls: no cost per waiting-room request");

    let bookings = measured.bookings as f64;
    let per_booking = |process: &str| cpu.get(process).map(|seconds| seconds / bookings);
    let scale = 1.0 + options.headroom;
    let booked_per_second = full.admission_rate_per_second.min(full.bookings / full.peak_seconds());
    let admission_cpu = cpu.get("admission").copied().unwrap_or_default();
    let waiting_room = WaitingRoomLoad {
        joins_per_second: full.requests / full.peak_seconds(),
        polls_per_second: full.waiting * full.polls_per_waiting_person_per_minute / 60.0,
        cpu_us_per_request: admission_cpu / (joins + polls) as f64 * 1e6,
        measured_requests: joins + polls,
    };

    let services = SERVICES
        .iter()
        .map(|&service| {
            let cpu_per_booking = per_booking(service).unwrap_or_default();
            let exact_cores = if service == "admission" {
                let w = &waiting_room;
                let us_per_second = match options.admission_us_per_call {
                    Some(c) => c.join_us * w.joins_per_second + c.poll_us * w.polls_per_second,
                    None => w.cpu_us_per_request * (w.joins_per_second + w.polls_per_second),
                };
                us_per_second / 1e6 * scale
            } else {
                cpu_per_booking * booked_per_second * scale
            };
            let cores = whole_cores(exact_cores);
            let replicas = whole_cores(f64::from(cores) / options.cores_per_replica).max(2);
            ServicePlan { service: service.to_owned(), cpu_ms_per_booking: cpu_per_booking * 1e3, exact_cores, cores, replicas }
        })
        .collect();

    let data_stores = DATA_STORES
        .iter()
        .map(|&store| {
            let cpu_per_booking = per_booking(store);
            let cores = cpu_per_booking.map(|c| {
                let mut need = c * booked_per_second;
                if store == "redis" && joins > 0 {
                    let per_join = cpu.get(store).copied().unwrap_or_default() / joins as f64;
                    need = need.max(per_join * waiting_room.joins_per_second);
                }
                whole_cores(need * scale)
            });
            DataStorePlan { store: store.to_owned(), cpu_ms_per_booking: cpu_per_booking.map(|c| c * 1e3), cores }
        })
        .collect();

    let not_sized = cpu.keys().filter(|p| !SERVICES.contains(&p.as_str()) && !DATA_STORES.contains(&p.as_str())).cloned().collect();
    Ok(CapacityPlan {
        full: full.clone(),
        options: options.clone(),
        booked_per_second,
        waiting_room,
        services,
        data_stores,
        redis_memory_bytes: full.waiting * options.redis_bytes_per_waiting + full.bookings * options.redis_bytes_per_booking,
        not_sized,
    })
}

fn check_options(o: &PlanOptions) -> anyhow::Result<()> {
    ensure!(o.headroom.is_finite() && o.headroom >= 0.0, "headroom: a share of extra CPU, 0 or more (0.3 = 30 %), not {}", o.headroom);
    ensure!(o.cores_per_replica.is_finite() && o.cores_per_replica > 0.0, "cores per replica: above 0, not {}", o.cores_per_replica);
    ensure!(o.opening.0 < 24 && o.opening.1 < 60, "opening: hours below 24 and minutes below 60, not {:?}", o.opening);
    for (name, bytes) in
        [("Redis bytes per waiting person", o.redis_bytes_per_waiting), ("Redis bytes per booking", o.redis_bytes_per_booking)]
    {
        ensure!(bytes.is_finite() && bytes >= 0.0, "{name}: 0 or more, not {bytes}");
    }
    if let Some(c) = o.admission_us_per_call {
        ensure!(
            c.join_us.is_finite() && c.join_us > 0.0 && c.poll_us.is_finite() && c.poll_us > 0.0,
            "admission µs per call: above 0, not {c:?}"
        );
    }
    Ok(())
}

/// CPU seconds per process name; a name listed twice (it should not be)
/// adds up, as replicas do in `cpu.rs`.
fn cpu_by_process(measured: &Summary) -> BTreeMap<String, f64> {
    let mut cpu = BTreeMap::new();
    for entry in &measured.cpu {
        *cpu.entry(entry.service.clone()).or_insert(0.0) += entry.cpu_seconds.max(0.0);
    }
    cpu
}

/// Rounded up to a whole number, at least 1: a service that runs needs a core.
pub(super) fn whole_cores(exact: f64) -> u32 {
    let up = (exact - ROUNDING_SLACK).ceil().max(1.0);
    if up >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        up as u32
    }
}
