//! CPU seconds per service over the run, read from `/proc/<pid>/stat` of
//! the processes a pids file names (`name pid` per line, as `make run`
//! writes `.run/pids`); replicas of one service add up.
//!
//! The data stores (`data_stores` in the endpoints file: `postgres =
//! "postgres"`) are found by process name at each reading, since their
//! processes come and go (a PostgreSQL backend per connection): every
//! process of that name, its own CPU and that of its children it has
//! reaped (`cutime + cstime`), so a backend that ended during the run
//! still counts through the postmaster. Everything of that name on the
//! machine is counted: on a machine shared with other work, an upper bound.
use std::{collections::BTreeMap, path::Path};

/// Kernel clock ticks per second on Linux (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// One process of the deployment, as the pids file names it.
#[derive(Clone, Debug)]
struct Entry {
    /// As in the file (`admission`, `admission-2`, `mock-idp-carrier-sms`).
    name: String,
    /// The service it is a replica of (`admission`).
    service: String,
    pid: u32,
}

/// The deployment's processes, and the CPU of those that ended during the
/// run (killed by `--chaos`), so a service's figure survives its restarts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pids {
    entries: Vec<Entry>,
    ended: BTreeMap<String, f64>,
    /// Data store → the name its processes run under (`/proc/<pid>/comm`).
    stores: BTreeMap<String, String>,
}

impl Pids {
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut entries = Vec::new();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            if let (Some(name), Some(Ok(pid))) = (parts.next(), parts.next().map(str::parse)) {
                // `admission-2` is a second admission replica.
                let service = name.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches('-').to_owned();
                entries.push(Entry { name: name.to_owned(), service, pid });
            }
        }
        Ok(Self { entries, ended: BTreeMap::new(), stores: BTreeMap::new() })
    }

    /// Also reads the CPU of these data stores (store → process name).
    pub(crate) fn with_stores(mut self, stores: BTreeMap<String, String>) -> Self {
        self.stores = stores;
        self
    }

    /// CPU seconds used so far, per service: its live processes and the
    /// ones that ended.
    pub(crate) fn seconds(&self) -> BTreeMap<String, f64> {
        let mut out = self.ended.clone();
        for e in &self.entries {
            *out.entry(e.service.clone()).or_default() += seconds(e.pid);
        }
        if !self.stores.is_empty() {
            for (comm, used) in by_process_name() {
                for (store, _) in self.stores.iter().filter(|(_, name)| **name == comm) {
                    *out.entry(store.clone()).or_default() += used;
                }
            }
        }
        out
    }

    /// The pids of `service`'s replicas.
    pub(crate) fn of(&self, service: &str) -> Vec<u32> {
        self.entries.iter().filter(|e| e.service == service).map(|e| e.pid).collect()
    }

    pub(crate) fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries.iter().map(|e| e.service.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// `old` is about to end and `new` takes its place (under its name):
    /// the CPU `old` used so far is kept.
    pub(crate) fn replace(&mut self, old: u32, used: f64, new: u32) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.pid == old) {
            *self.ended.entry(e.service.clone()).or_default() += used;
            e.pid = new;
        }
    }

    /// The file as `make run` reads it to stop the stack: a restarted
    /// process must be stopped with the others.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.entries.iter().map(|e| format!("{} {}\n", e.name, e.pid)).collect::<String>())
    }
}

/// `utime + stime` of a process, all its threads (0 once it has ended).
pub(crate) fn seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| ticks(&stat)).map_or(0.0, |(own, _)| own)
}

/// Seconds of CPU of a `/proc/<pid>/stat` line: its own (`utime + stime`)
/// and that of the children it reaped (`cutime + cstime`).
fn ticks(stat: &str) -> Option<(f64, f64)> {
    // After the name (which may hold spaces): utime, stime, cutime and cstime are fields 14 to 17.
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Some(((tick(11) + tick(12)) as f64 / TICKS_PER_SECOND, (tick(13) + tick(14)) as f64 / TICKS_PER_SECOND))
}

/// CPU seconds (own and reaped children's) of every process, summed by its
/// name (`/proc/<pid>/comm`).
fn by_process_name() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (Ok(comm), Ok(stat)) = (std::fs::read_to_string(path.join("comm")), std::fs::read_to_string(path.join("stat"))) else {
            continue;
        };
        if let Some((own, children)) = ticks(&stat) {
            *out.entry(comm.trim_end().to_owned()).or_default() += own + children;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_add_up_and_this_process_has_used_some_cpu() {
        let dir = std::env::temp_dir().join(format!("surge-pids-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let me = std::process::id();
        std::fs::write(dir.join("pids"), format!("admission {me}\nadmission-2 {me}\nmock-sms 999999999\n")).unwrap();
        let pids = Pids::load(&dir.join("pids")).unwrap();
        // Burn a little CPU so the figure cannot be zero.
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let used = pids.seconds();
        assert!(used["admission"] > 0.0, "{used:?}");
        assert_eq!(used["mock-sms"], 0.0);
        // This test binary found by its name as a data store would be.
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap().trim_end().to_owned();
        let stores = BTreeMap::from([("teststore".to_owned(), comm), ("absent".to_owned(), "no-such-process-name".to_owned())]);
        let used = pids.with_stores(stores).seconds();
        assert!(used["teststore"] >= used["admission"] / 2.0 && used["teststore"] > 0.0, "{used:?}");
        assert!(!used.contains_key("absent"), "{used:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
