//! Local processes as chaos sees them: what it takes to start one again
//! exactly as it was (program, arguments, environment, folder, log),
//! read from `/proc` before the signal; the signal itself; the restart.
use std::{
    fs::OpenOptions,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use std::os::unix::process::CommandExt as _;

use anyhow::Context as _;

/// How a process was started. No `Debug`: its environment holds the
/// service's secrets.
#[derive(Clone)]
pub(crate) struct Launch {
    /// The program (`/proc/<pid>/exe`: a relative `argv[0]` would be
    /// resolved against this tool's folder, not the service's).
    exe: PathBuf,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    /// Where its standard output went (its log file), if a file.
    log: Option<PathBuf>,
}

/// NUL-terminated strings; an empty argument stays one.
fn nul_separated(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

impl Launch {
    pub(crate) fn of(pid: u32) -> anyhow::Result<Self> {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let argv = nul_separated(&std::fs::read(proc.join("cmdline")).with_context(|| format!("pid {pid}: cmdline"))?);
        let env = nul_separated(&std::fs::read(proc.join("environ")).with_context(|| format!("pid {pid}: environ"))?)
            .into_iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        let cwd = std::fs::read_link(proc.join("cwd")).with_context(|| format!("pid {pid}: cwd"))?;
        let exe = std::fs::read_link(proc.join("exe")).with_context(|| format!("pid {pid}: exe"))?;
        let log = std::fs::read_link(proc.join("fd/1")).ok().filter(|p| p.is_absolute() && p.is_file());
        anyhow::ensure!(!argv.is_empty(), "pid {pid}: no command line (a zombie?)");
        Ok(Self { exe, argv, env, cwd, log })
    }

    /// Starts it again; its standard input stays open as long as the
    /// returned child's handle is kept (the test stack's services stop
    /// when theirs closes).
    pub(crate) fn start(&self) -> anyhow::Result<Child> {
        let output = |log: &Option<PathBuf>| -> anyhow::Result<Stdio> {
            Ok(match log {
                Some(path) => OpenOptions::new().append(true).open(path)?.into(),
                None => Stdio::null(),
            })
        };
        Command::new(&self.exe)
            .arg0(&self.argv[0])
            .args(&self.argv[1..])
            .env_clear()
            .envs(self.env.iter().cloned())
            .current_dir(&self.cwd)
            .stdin(Stdio::piped())
            .stdout(output(&self.log)?)
            .stderr(output(&self.log)?)
            .spawn()
            .with_context(|| format!("starting {} again", self.exe.display()))
    }
}

/// Sends `signal` (`KILL`, `TERM`) to `pid` and waits up to 20 s for it to end.
pub(crate) async fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let sent = tokio::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().await?;
    anyhow::ensure!(sent.success(), "kill -{signal} {pid} failed");
    for _ in 0..200 {
        if !alive(pid) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("pid {pid} still running 20 s after SIGTERM")
}

/// Running (a zombie, ended but not yet reaped by its parent, counts as ended).
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until a child has called exec, /proc shows the parent's command line
    /// and environment.
    async fn execed(pid: u32) {
        for _ in 0..100 {
            if std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(b"sleep\0") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("pid {pid} did not exec sleep within 2 s");
    }

    #[tokio::test]
    async fn a_process_is_killed_and_started_again_with_its_arguments_and_environment() {
        let mut original = Command::new("sleep").arg("30").env("YEYAK_CHAOS_PROBE", "kept").stdin(Stdio::null()).spawn().unwrap();
        let pid = original.id();
        execed(pid).await;
        let launch = Launch::of(pid).unwrap();
        assert_eq!(launch.argv, ["sleep", "30"]);
        assert!(launch.env.contains(&("YEYAK_CHAOS_PROBE".into(), "kept".into())));
        let reaper = std::thread::spawn(move || original.wait());
        signal(pid, "KILL").await.unwrap();
        reaper.join().unwrap().unwrap();
        assert!(!alive(pid));
        let mut again = launch.start().unwrap();
        execed(again.id()).await;
        assert!(alive(again.id()));
        let environ = std::fs::read(format!("/proc/{}/environ", again.id())).unwrap();
        assert!(String::from_utf8_lossy(&environ).contains("YEYAK_CHAOS_PROBE=kept"));
        again.kill().unwrap();
        again.wait().unwrap();
    }
}
