//! Files that change under a running process: Kubernetes updates a mounted
//! Secret or ConfigMap by writing the new content into a fresh directory and
//! swapping the `..data` symlink, so the path stays and is never seen
//! half-written. A [`FileWatch`] notices such a change by the file's
//! fingerprint: modification time, size and inode (the swap can keep the
//! size and, within the file system's clock tick, the modification time, but
//! not the inode).
use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::Shutdown;

/// What a file looked like; `None` when it cannot be read (missing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Fingerprint {
    /// The file behind `path`, symlinks followed.
    pub fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        let inode = |m: &std::fs::Metadata| std::os::unix::fs::MetadataExt::ino(m);
        #[cfg(not(unix))]
        let inode = |_: &std::fs::Metadata| 0;
        std::fs::metadata(path).ok().map(|m| Self { modified: m.modified().ok(), len: m.len(), inode: inode(&m) })
    }
}

/// One file and its fingerprint when it was last read.
#[derive(Clone, Debug)]
pub struct FileWatch {
    path: PathBuf,
    seen: Option<Fingerprint>,
}

impl FileWatch {
    /// `seen`: the fingerprint taken just before the content in force was
    /// read (taken before, so a change during the read is noticed later).
    pub fn new(path: impl Into<PathBuf>, seen: Option<Fingerprint>) -> Self {
        Self { path: path.into(), seen }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once per change: the new fingerprint becomes the one seen.
    /// Blocking (file metadata): call it off the async workers.
    pub fn changed(&mut self) -> bool {
        let now = Fingerprint::of(&self.path);
        let changed = now != self.seen;
        self.seen = now;
        changed
    }
}

/// Calls `check` every `interval` until `shutdown`; `check` runs on the
/// blocking pool (it reads files) and gets its state back between calls.
/// An interval of zero never checks.
pub async fn every<S, F>(interval: Duration, shutdown: Shutdown, mut state: S, check: F)
where
    S: Send + 'static,
    F: Fn(&mut S) + Clone + Send + 'static,
{
    if interval.is_zero() {
        return;
    }
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = ticker.tick() => {}
        }
        let check = check.clone();
        match tokio::task::spawn_blocking(move || {
            check(&mut state);
            state
        })
        .await
        {
            Ok(back) => state = back,
            // The check panicked: nothing left to watch with.
            Err(e) => {
                tracing::error!(error = %e, "file watch stopped");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_swap_with_the_same_size_and_time_is_a_change() {
        let dir = std::env::temp_dir().join(format!("yeyak-watch-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::write(dir.join("a/keys"), "same-size-1").unwrap();
        std::fs::write(dir.join("b/keys"), "same-size-2").unwrap();
        let time = std::fs::metadata(dir.join("a/keys")).unwrap().modified().unwrap();
        std::fs::File::options().write(true).open(dir.join("b/keys")).unwrap().set_modified(time).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("a", dir.join("..data")).unwrap();
            std::os::unix::fs::symlink("..data/keys", dir.join("keys")).unwrap();
            let path = dir.join("keys");
            let mut watch = FileWatch::new(&path, Fingerprint::of(&path));
            assert!(!watch.changed());
            std::os::unix::fs::symlink("b", dir.join("..data_tmp")).unwrap();
            std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
            assert!(watch.changed(), "new inode behind the same path");
            assert!(!watch.changed(), "once per change");
            std::fs::remove_file(dir.join("..data")).unwrap();
            assert!(watch.changed(), "gone is a change too");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn every_checks_until_shutdown() {
        let shutdown = Shutdown::new();
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = counter.clone();
        let task = tokio::spawn(every(Duration::from_millis(5), shutdown.clone(), (), move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        tokio::time::sleep(Duration::from_millis(60)).await;
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(2), task).await.unwrap().unwrap();
        assert!(counter.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    }
}
