//! Our services as child processes, for tests of what is global to a
//! process (the tracer provider: each process exports as its own
//! `service.name`). The child is the test binary itself, run again with
//! arguments that select the one test calling [`child_main`]: it builds
//! and runs the service named in its environment, so no other binary has
//! to be built first, and each child runs exactly the code the in-process
//! stack runs. A child stops when its standard input closes (the stack
//! stopping, or the test process dying), after a graceful drain that
//! flushes its spans.
use std::{
    path::PathBuf,
    process::{Child as Process, ChildStdin, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context as _};
use yeyak_platform::{config::Env, Shutdown};

use super::services::{Listening, Service};

/// Names the service a child runs.
const SERVICE_VAR: &str = "YEYAK_E2E_CHILD_SERVICE";
/// The line a child prints once it listens, followed by its addresses.
const READY: &str = "yeyak-e2e child ready ";

/// How a stack starts its services as processes.
#[derive(Clone, Debug)]
pub struct Processes {
    /// The test binary (`std::env::current_exe()`).
    pub exe: PathBuf,
    /// The arguments that run only the test calling [`child_main`], e.g.
    /// `["child", "--exact", "--nocapture"]`.
    pub args: Vec<String>,
    /// Extra environment, as it is (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...).
    pub env: Vec<(String, String)>,
    /// Where each child's output goes, `<tag>-<service>.log`; removed when
    /// the child stops cleanly, kept for a failed test.
    pub log_dir: PathBuf,
}

/// In a child process started by a stack: runs its service until its
/// standard input closes, then returns `true`. Anywhere else: `false`, at
/// once. A failure to start panics (the child's test fails, its log says why).
pub fn child_main() -> bool {
    let Ok(name) = std::env::var(SERVICE_VAR) else { return false };
    let service = Service::from_name(&name).unwrap_or_else(|| panic!("{SERVICE_VAR}={name}: no such service"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    if let Err(e) = runtime.block_on(run_child(service)) {
        panic!("{name}: {e:#}");
    }
    true
}

async fn run_child(service: Service) -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init(service.name());
    let shutdown = Shutdown::new();
    let (listening, run) = service.build(&Env::process(), shutdown.clone()).await?;
    println!("{READY}{}", serde_json::json!({ "grpc": listening.grpc, "internal": listening.internal }));
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        stop.trigger();
    });
    run.await
}

/// A running child.
pub struct Child {
    service: Service,
    process: Process,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl Processes {
    /// Starts `service` with its settings `pairs` (keys without `YEYAK_`)
    /// and waits until it listens.
    pub(crate) async fn start(&self, service: Service, pairs: &[(String, String)], tag: &str) -> anyhow::Result<(Listening, Child)> {
        let log = self.log_dir.join(format!("{tag}-{}.log", service.name()));
        let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
        let mut command = Command::new(&self.exe);
        command.args(&self.args).env_clear().env(SERVICE_VAR, service.name());
        for name in ["PATH", "RUST_BACKTRACE"] {
            if let Ok(value) = std::env::var(name) {
                command.env(name, value);
            }
        }
        command.envs(pairs.iter().map(|(k, v)| (format!("YEYAK_{k}"), v))).envs(self.env.iter().cloned());
        let process = command.stdin(Stdio::piped()).stdout(out.try_clone()?).stderr(out).spawn()?;
        let mut child = Child { service, stdin: None, process, log };
        child.stdin = child.process.stdin.take();
        let listening = child.ready().await?;
        Ok((listening, child))
    }
}

impl Processes {
    /// Starts one of our services alone, as a child, with its settings
    /// `pairs` (keys without `YEYAK_`): for tests that need one real
    /// downstream process rather than a whole stack. Returns its gRPC
    /// address once it listens.
    pub async fn start_one(&self, service: Service, pairs: &[(String, String)], tag: &str) -> anyhow::Result<(String, Child)> {
        let (listening, child) = self.start(service, pairs, tag).await?;
        Ok((listening.grpc, child))
    }
}

impl Child {
    /// The service and its process id (CPU per service is read from `/proc`).
    pub fn pid(&self) -> (&'static str, u32) {
        (self.service.name(), self.process.id())
    }

    /// Reads the child's log until it says where it listens.
    async fn ready(&mut self) -> anyhow::Result<Listening> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let log = tokio::fs::read_to_string(&self.log).await.unwrap_or_default();
            if let Some(line) = log.lines().find_map(|l| l.strip_prefix(READY)) {
                let v: serde_json::Value = serde_json::from_str(line)?;
                let grpc = v["grpc"].as_str().context("no grpc address")?.to_owned();
                return Ok(Listening { grpc, internal: v["internal"].as_str().map(str::to_owned) });
            }
            if let Some(status) = self.process.try_wait()? {
                bail!("{} exited ({status}) before it listened:\n{}", self.service.name(), tail(&log));
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{} did not listen within 60 s:\n{}", self.service.name(), tail(&log));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Like [`Child::stop`], but a process that had already ended (killed
    /// by the test itself, `yeyak-surge --chaos`) is no error.
    pub async fn stop_unless_ended(mut self) -> anyhow::Result<()> {
        if self.process.try_wait()?.is_some() {
            let _ = std::fs::remove_file(&self.log);
            return Ok(());
        }
        self.stop().await
    }

    /// Closes its standard input and waits for the graceful stop (at most
    /// 15 s, then it is killed).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.process.try_wait()? {
                if !status.success() {
                    let log = tokio::fs::read_to_string(&self.log).await.unwrap_or_default();
                    bail!("{} stopped with {status}:\n{}", self.service.name(), tail(&log));
                }
                let _ = std::fs::remove_file(&self.log);
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{} still running 15 s after its input closed (killed)", self.service.name());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Child {
    /// A child left running (a test that failed before stopping the stack)
    /// is killed.
    fn drop(&mut self) {
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}

/// Stops a process a test started again itself (its input closes), as
/// [`Child::stop`] stops the stack's own: gracefully, within 15 s.
pub(super) async fn stop_restarted(mut process: Process) -> anyhow::Result<()> {
    drop(process.stdin.take());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = process.try_wait()? {
            anyhow::ensure!(status.success(), "a restarted service stopped with {status}");
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let _ = process.kill();
            let _ = process.wait();
            bail!("a restarted service still running 15 s after its input closed (killed)");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The end of a log, for an error message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A free port for a service that may be stopped and started again on it
/// (`Stack::start_restartable`), taken below the kernel's ephemeral range:
/// a port from that range (port 0) is free again the moment its service is
/// killed, and any outgoing connection of the machine may take it as its
/// local port before the restart binds it (seen: a restarted admission
/// refused, with two stacks running at once).
pub(crate) fn restartable_port() -> std::io::Result<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let low = ephemeral_low.saturating_sub(12_000).max(1_024);
    let span = u32::from(ephemeral_low - low).max(1);
    for _ in 0..200 {
        let port = low + (uuid::Uuid::new_v4().as_u128() % u128::from(span)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, format!("no free port in {low}..{ephemeral_low}")))
}
