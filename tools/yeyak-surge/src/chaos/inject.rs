//! Carrying out the schedule: each fault at its time, undone after its
//! hold (a stopped service started again, a slowed third party back to
//! normal), and recorded for the report.
use std::{path::PathBuf, process::Child, sync::Arc, time::Duration};

use anyhow::Context as _;
use parking_lot::Mutex;
use tokio::task::JoinSet;

use super::{procs, Planned};
use crate::{cpu::Pids, report::model::Fault};

/// What the broker link (`yeyak-dev link`) says of itself.
#[derive(serde::Deserialize)]
struct LinkStatus {
    dropped: usize,
}

/// What chaos acts on.
pub(crate) struct Injector {
    pub(crate) pids: Arc<Mutex<Pids>>,
    /// Rewritten after each restart, so whoever stops the deployment
    /// (`make run`'s Ctrl-C) stops the new process too.
    pub(crate) pids_file: Option<PathBuf>,
    pub(crate) redis_url: String,
    /// The deployment's Redis key prefixes (`yeyak` for `make run`).
    pub(crate) redis_prefixes: Vec<String>,
    pub(crate) provider_url: Option<String>,
    pub(crate) sms_url: String,
    /// The admin URL of the link between the services and RabbitMQ
    /// (`yeyak-dev link`): `broker-cut` cuts it.
    pub(crate) broker_link_url: Option<String>,
    pub(crate) slow_ms: u64,
    pub(crate) http: reqwest::Client,
    pub(crate) start: std::time::Instant,
}

/// What the faults did: the report's markers, the processes chaos started
/// (the caller stops them at the end, as it stops the others) and the
/// faults that could not be injected.
#[derive(Default)]
pub(crate) struct Injected {
    pub(crate) faults: Vec<Fault>,
    pub(crate) restarted: Vec<Child>,
    pub(crate) failures: Vec<String>,
}

pub(crate) async fn run(injector: Arc<Injector>, plan: Vec<Planned>) -> Injected {
    let mut faults = JoinSet::new();
    for planned in plan {
        let injector = injector.clone();
        faults.spawn(async move {
            let at = tokio::time::Instant::from_std(injector.start + Duration::from_secs_f64(planned.t));
            tokio::time::sleep_until(at).await;
            let (fault, restarted) = match planned.kind {
                "kill" | "term" => injector.stop_and_start(&planned).await,
                _ => (injector.apply(&planned).await, Vec::new()),
            };
            (fault.with_context(|| format!("{} {}", planned.kind, planned.target)), restarted)
        });
    }
    let mut injected = Injected::default();
    while let Some(done) = faults.join_next().await {
        match done {
            Ok((fault, restarted)) => {
                injected.restarted.extend(restarted);
                match fault {
                    Ok(fault) => injected.faults.push(fault),
                    Err(e) => injected.failures.push(format!("{e:#}")),
                }
            }
            Err(e) => injected.failures.push(format!("a fault's task: {e}")),
        }
    }
    injected.faults.sort_by(|a, b| a.t.total_cmp(&b.t));
    injected
}

impl Injector {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The faults that start no process: Redis keys lost, the broker link
    /// cut, a third party slowed.
    async fn apply(&self, p: &Planned) -> anyhow::Result<Fault> {
        let fault = |t, target: String, until| Fault { t, kind: p.kind.to_owned(), target, until };
        match p.kind {
            "redis-flush" => {
                let t = self.now();
                tokio::time::timeout(Duration::from_secs(20), self.flush_redis()).await.context("Redis did not answer within 20 s")??;
                Ok(fault(t, format!("redis ({})", self.redis_prefixes.join(", ")), None))
            }
            "broker-cut" => {
                let url = self.broker_link_url.clone().context("no broker link in the endpoints file (broker_link_url)")?;
                let before = self.set_link(&url, None).await?;
                let t = self.now();
                let cut = self.set_link(&url, Some(false)).await?;
                tokio::time::sleep(Duration::from_secs_f64(p.hold)).await;
                // Restored even if the crowd's run ended meanwhile: the link
                // outlives the run (make run's services keep using it).
                self.set_link(&url, Some(true)).await?;
                let dropped = cut.dropped.saturating_sub(before.dropped);
                Ok(fault(t, format!("rabbitmq link ({dropped} open connections dropped)"), Some(self.now())))
            }
            _ => {
                let url =
                    if p.kind == "slow-provider" { self.provider_url.clone().context("no provider URL")? } else { self.sms_url.clone() };
                let t = self.now();
                self.set_latency(&url, self.slow_ms).await?;
                tokio::time::sleep(Duration::from_secs_f64(p.hold)).await;
                self.set_latency(&url, 0).await?;
                Ok(fault(t, format!("{} +{} ms", p.target, self.slow_ms), Some(self.now())))
            }
        }
    }

    /// SIGKILL or SIGTERM to one replica (or all) of a service, then each
    /// started again as it was after the hold. Whatever was stopped is
    /// started again even when a later step failed, and the pids file is
    /// rewritten after each start.
    async fn stop_and_start(&self, p: &Planned) -> (anyhow::Result<Fault>, Vec<Child>) {
        let pids = self.pids.lock().of(&p.target);
        if pids.is_empty() {
            return (Err(anyhow::anyhow!("no process of {} in the pids file", p.target)), Vec::new());
        }
        let chosen = if p.all { pids.clone() } else { vec![pids[(p.t * 1000.0) as usize % pids.len()]] };
        let (mut stopped, mut failure) = (Vec::new(), None);
        let t = self.now();
        for pid in chosen {
            let launch = match procs::Launch::of(pid) {
                Ok(launch) => launch,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let before = crate::cpu::seconds(pid);
            let signalled = procs::signal(pid, if p.kind == "kill" { "KILL" } else { "TERM" }).await;
            // A process ended by SIGTERM drained first: what it used then counts too.
            stopped.push((pid, before.max(crate::cpu::seconds(pid)), launch));
            if let Err(e) = signalled {
                failure = Some(e);
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(p.hold)).await;
        let mut started = Vec::new();
        for (pid, used, launch) in &stopped {
            match launch.start() {
                Ok(child) => {
                    self.pids.lock().replace(*pid, *used, child.id());
                    started.push(child);
                    if let Some(Err(e)) = self.pids_file.as_ref().map(|file| self.pids.lock().write(file)) {
                        failure = failure.or(Some(e.into()));
                    }
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        // The children started are the caller's to stop, whatever failed.
        if let Some(e) = failure {
            return (Err(e), started);
        }
        let target = format!("{} ({} of {})", p.target, stopped.len(), pids.len());
        (Ok(Fault { t, kind: p.kind.to_owned(), target, until: Some(self.now()) }), started)
    }

    /// Every key of the deployment's prefixes, gone at once: what a Redis
    /// restarted without persistence holds (the shared server itself is
    /// never stopped).
    async fn flush_redis(&self) -> anyhow::Result<()> {
        let client = redis::Client::open(self.redis_url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        for prefix in &self.redis_prefixes {
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{prefix}:*"))
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await?;
                if !keys.is_empty() {
                    let _: () = redis::cmd("UNLINK").arg(keys).query_async(&mut conn).await?;
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Cuts or restores the broker link (`None`: only reads it); what it
    /// says of itself after.
    async fn set_link(&self, base: &str, up: Option<bool>) -> anyhow::Result<LinkStatus> {
        let url = format!("{base}/admin/link");
        let request = match up {
            Some(up) => self.http.put(url).json(&serde_json::json!({ "up": up })),
            None => self.http.get(url),
        };
        Ok(request.send().await?.error_for_status()?.json().await?)
    }

    async fn set_latency(&self, base: &str, ms: u64) -> anyhow::Result<()> {
        let body = serde_json::json!({ "latency_ms": ms });
        self.http.put(format!("{base}/admin/faults")).json(&body).send().await?.error_for_status()?;
        Ok(())
    }
}
