//! A server run as a child process of the benchmark binary itself, reporting
//! its address on stdout; its resident memory and CPU time are read from /proc.
use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
};

pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
}

impl ServerProcess {
    /// Runs this same executable with `mode` and the given environment; the
    /// child prints `LISTENING <addr>` once bound.
    pub fn spawn(mode: &str, env: &[(String, String)]) -> anyhow::Result<Self> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg(mode).stdout(Stdio::piped()).stderr(Stdio::null()).env("YEYAK_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let addr = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("LISTENING ").map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("{mode} server did not start"))?;
        Ok(Self { child, addr })
    }

    /// Resident set size in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl ServerProcess {
    /// User and system CPU seconds of all the server's threads so far: the
    /// server's own cost, apart from the generator's and Redis's on the same
    /// cores. (`/proc/<pid>/stat` counts in clock ticks, 100 a second on
    /// Linux; the name may hold spaces, so fields count from its `)`.)
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: u64 = after_name.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
        ticks as f64 / 100.0
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
