//! One evening: create the event, release the crowd on its arrival curve
//! (bounded concurrency, a time limit), let the bots loose, then check the
//! invariants, close the event and write the report.
use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{sync::Semaphore, task::JoinSet};
use yeyak_platform::{config::Secret, Shutdown};

use crate::{
    bots, chaos, checks, citizen, crowd,
    ctx::Ctx,
    operator, progress,
    recorder::Recorder,
    report::{self, model::Summary},
    scenario::Scenario,
    targets::{EndpointsFile, Targets},
};

pub struct Options {
    pub scenario: Scenario,
    pub endpoints: EndpointsFile,
    pub operator_token: Secret<String>,
    pub out_dir: std::path::PathBuf,
    /// First registry index to take people from (random when `None`).
    pub people_from: Option<u64>,
    pub progress: bool,
    /// `--chaos`: the seed of the fault schedule (a local deployment: the
    /// endpoints file names its pids file).
    pub chaos: Option<u64>,
}

/// A finished run.
pub struct Outcome {
    pub summary: Summary,
    pub written: report::Written,
    /// Processes `--chaos` started again: the caller stops them with the
    /// rest of the deployment (their standard input closes when dropped).
    pub restarted: Vec<std::process::Child>,
}

/// Runs the scenario; the summary and where the report was written.
pub async fn run(options: Options) -> anyhow::Result<Outcome> {
    let Options { scenario, endpoints, operator_token, out_dir, people_from, progress, chaos } = options;
    let run_tag = format!("surge-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let needed = scenario.people * 3 + 1_000;
    let offset = people_from.unwrap_or_else(|| rand::random::<u64>() % endpoints.registry_count.saturating_sub(needed).max(1));
    let plans = crowd::plans(&scenario, endpoints.registry_seed, endpoints.registry_count, offset)?;
    let pids = endpoints.pids_file.as_deref().map(crate::cpu::Pids::load).transpose().context("the pids file")?;
    let pids = pids.map(|p| p.with_stores(endpoints.data_stores.clone()));
    anyhow::ensure!(chaos.is_none() || pids.is_some(), "--chaos works on local processes: the endpoints file names no pids_file");
    let pids = Arc::new(parking_lot::Mutex::new(pids));
    let targets = Targets::connect(endpoints)?;
    let token = operator_token.expose().clone();

    // The run's own event; the services follow the catalogue within a second or two.
    operator::create_event(targets.admission.get(), &token, &run_tag, &scenario, Duration::from_secs(3)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = std::time::Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let cpu_before = pids.lock().as_ref().map(crate::cpu::Pids::seconds).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(scenario.limits.max_seconds);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let ctx = Arc::new(Ctx {
        targets,
        rec: Recorder::new(start),
        scenario,
        queue_id: run_tag.clone(),
        operator_token: operator_token.clone(),
        run_tag: run_tag.clone(),
        http,
        deadline,
        live: Default::default(),
    });
    let stop_sampling = Shutdown::new();
    let sampler = tokio::spawn(operator::sample(ctx.targets.admission.get(), token.clone(), run_tag.clone(), start, stop_sampling.clone()));
    let shown = progress.then(|| progress::show(ctx.clone(), plans.len() as u64));

    let chaos_task = chaos.map(|seed| tokio::spawn(inject(ctx.clone(), seed, pids.clone(), start)));
    let mut crowd = JoinSet::new();
    spawn_bots(&ctx, &mut crowd);
    let places = Arc::new(Semaphore::new(ctx.scenario.limits.concurrency));
    for plan in plans {
        let at = tokio::time::Instant::from_std(start + Duration::from_secs_f64(plan.arrival));
        if at > deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        let place = places.clone().acquire_owned().await?;
        let ctx = ctx.clone();
        crowd.spawn(async move {
            citizen::run(&ctx, plan).await;
            drop(place);
        });
    }
    // Everyone stops by the deadline; a minute more for the last steps.
    let all_done = async { while crowd.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline + Duration::from_secs(60), all_done).await.is_err() {
        crowd.abort_all();
    }
    let duration = ctx.rec.now();
    let injected = match chaos_task {
        Some(task) => task.await?,
        None => chaos::Injected::default(),
    };
    let cpu_after = pids.lock().as_ref().map(crate::cpu::Pids::seconds).unwrap_or_default();
    stop_sampling.trigger();
    let samples = sampler.await?;
    let samples = samples.lock().clone();
    if let Some(shown) = shown {
        shown.abort();
    }

    let invariants = checks::all(&ctx, &samples).await;
    let closed = operator::close_event(ctx.targets.admission.get(), &token, &run_tag).await;
    let mut summary = crate::summary::build(&ctx, &samples, &cpu_before, &cpu_after, duration, started_at, invariants);
    if let Err(e) = closed {
        summary.invariants.push(crate::report::model::Invariant {
            name: "the run's event closed".into(),
            held: false,
            detail: format!("{e:#}"),
        });
    }
    summary.chaos_seed = chaos;
    summary.faults = injected.faults;
    if !injected.failures.is_empty() {
        summary.invariants.push(crate::report::model::Invariant {
            name: "every planned fault was injected".into(),
            held: false,
            detail: injected.failures.join("; "),
        });
    }
    let written = report::write(&out_dir, &summary)?;
    Ok(Outcome { summary, written, restarted: injected.restarted })
}

/// The chaos schedule of `seed`, carried out against the pids file's processes.
async fn inject(
    ctx: Arc<Ctx>,
    seed: u64,
    pids: Arc<parking_lot::Mutex<Option<crate::cpu::Pids>>>,
    start: std::time::Instant,
) -> chaos::Injected {
    let file = &ctx.targets.file;
    let services: Vec<String> = pids.lock().as_ref().map(crate::cpu::Pids::services).unwrap_or_default();
    let ours: Vec<&str> = chaos::SERVICES.iter().copied().filter(|s| services.iter().any(|x| x == s)).collect();
    let plan = chaos::schedule(&ctx.scenario.chaos, seed, ctx.scenario.arrivals.pre_opening_seconds, &ours);
    let injector = chaos::Injector {
        pids: Arc::new(parking_lot::Mutex::new(pids.lock().clone().unwrap_or_default())),
        pids_file: file.pids_file.clone(),
        redis_url: file.redis_url.clone(),
        redis_prefixes: file.redis_prefixes.clone(),
        provider_url: ctx.targets.idp_url("carrier-sms").map(str::to_owned),
        sms_url: file.sms_gateway_url.clone(),
        broker_link_url: file.broker_link_url.clone(),
        slow_ms: ctx.scenario.chaos.slow_ms,
        http: ctx.http.clone(),
        start,
    };
    let injector = Arc::new(injector);
    let injected = chaos::run(injector.clone(), plan).await;
    // The CPU of processes chaos replaced stays counted.
    *pids.lock() = Some(injector.pids.lock().clone());
    injected
}

/// Bot clients join in the opening second; stolen passes are tried while
/// their owners' sessions are still open, spread over the first minute.
fn spawn_bots(ctx: &Arc<Ctx>, crowd: &mut JoinSet<()>) {
    let opening = ctx.scenario.opening();
    let bots = ctx.scenario.bots.clone();
    for bot in 0..bots.clients {
        let ctx = ctx.clone();
        crowd.spawn(async move {
            tokio::time::sleep(opening).await;
            bots::entries(&ctx, bot).await;
        });
    }
    let tries = (0..bots.forged_passes).map(|i| (i, false)).chain((0..bots.copied_passes).map(|i| (i, true)));
    for (i, copied) in tries {
        let ctx = ctx.clone();
        let after = opening + Duration::from_millis(2_000 + (i * 997) % 30_000);
        crowd.spawn(async move {
            tokio::time::sleep(after).await;
            bots::stolen_pass(&ctx, i, copied).await;
        });
    }
}
