//! A Secret or ConfigMap volume as the kubelet keeps it: each file is a
//! symlink `name → ..data/name`, `..data` a symlink to the current
//! version's directory, and an update writes a new directory and swaps
//! `..data` atomically. A reload test that only rewrote the file in place
//! would miss what a real update changes (the inode, not always the size or
//! the modification second).
#![allow(clippy::unwrap_used)] // test set-up: a failure here should abort the test

use std::path::{Path, PathBuf};

/// Removed on drop.
pub struct Mounted {
    dir: PathBuf,
    versions: usize,
}

impl Mounted {
    /// A volume holding `files` (name, content).
    pub fn new(tag: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("yeyak-mount-{tag}-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut mount = Self { dir, versions: 0 };
        mount.update(files);
        for (name, _) in files {
            std::os::unix::fs::symlink(Path::new("..data").join(name), mount.path(name)).unwrap();
        }
        mount
    }

    /// Where a service reads `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// What the kubelet does on an update of the Secret or ConfigMap: the
    /// same file names, new content (given whole).
    pub fn update(&mut self, files: &[(&str, &str)]) {
        self.versions += 1;
        let version = format!("..2026_01_01_00_00_{:02}.{}", self.versions, std::process::id());
        std::fs::create_dir_all(self.dir.join(&version)).unwrap();
        for (name, text) in files {
            std::fs::write(self.dir.join(&version).join(name), text).unwrap();
        }
        let _ = std::fs::remove_file(self.dir.join("..data_tmp"));
        std::os::unix::fs::symlink(&version, self.dir.join("..data_tmp")).unwrap();
        std::fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}
