use super::*;

const V1: &str = include_str!("../../../rules/2021-07-55-59.toml");

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp(text: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("eligibility-rules-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

#[test]
fn an_invalid_reload_keeps_the_rules_in_force_and_says_why() {
    let file = temp(V1);
    let metrics = Metrics::new("eligibility");
    let handle = RulesHandle::load(&file.0, &metrics).unwrap();
    assert_eq!(handle.check(), Reload::Unchanged);

    std::fs::write(&file.0, V1.replace("cohort = \"age-55-59\"", "cohort = \"age-55-95\"")).unwrap();
    let refused = handle.reload();
    assert!(matches!(&refused, Reload::Invalid(m) if m.contains("line 17: window round-55-59: unknown cohort")), "{refused:?}");
    assert_eq!(handle.current().version, "2021-07-round-55-59", "the old rules stay");
    assert!(handle.last_error().unwrap().contains("line 17"));
    let text = metrics.encode();
    assert!(text.contains("yeyak_eligibility_rules_reloads_total{service=\"eligibility\",outcome=\"invalid\"} 1"), "{text}");
    assert!(text.contains("yeyak_eligibility_rules_valid{service=\"eligibility\"} 0"), "{text}");
    assert_eq!(handle.check(), Reload::Unchanged, "the same refused file is not re-parsed");

    std::fs::write(&file.0, V1.replace("version = \"2021-07-round-55-59\"", "version = \"v2\"")).unwrap();
    assert_eq!(handle.reload(), Reload::Reloaded { from: "2021-07-round-55-59".into(), to: "v2".into() });
    assert_eq!(handle.current().version, "v2");
    assert_eq!(handle.last_error(), None);
    let text = metrics.encode();
    assert!(text.contains("yeyak_eligibility_rules_valid{service=\"eligibility\"} 1"), "{text}");
    assert!(text.contains("yeyak_eligibility_rules_info{service=\"eligibility\",version=\"v2\"} 1"), "{text}");
    assert!(!text.contains("version=\"2021-07-round-55-59\""), "{text}");

    std::fs::remove_file(&file.0).unwrap();
    assert!(matches!(handle.check(), Reload::Invalid(m) if m.contains("unreadable")));
    assert_eq!(handle.current().version, "v2");
}

/// A ConfigMap mounted as a directory (the chart's eligibility Deployment):
/// the kubelet writes each new content into a fresh timestamped directory and
/// swaps the `..data` symlink, so the file's path never changes and is never
/// seen half-written. The timer's check follows the link to the new file.
#[cfg(unix)]
#[test]
fn a_config_map_update_is_picked_up_through_the_kubelets_symlink_swap() {
    use std::os::unix::fs::symlink;
    let dir = std::env::temp_dir().join(format!("eligibility-configmap-{}", uuid::Uuid::new_v4().simple()));
    let version = |name: &str, text: &str| {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("rules.toml"), text).unwrap();
    };
    version("..2026_12_04_20_00_00.1", V1);
    symlink("..2026_12_04_20_00_00.1", dir.join("..data")).unwrap();
    symlink("..data/rules.toml", dir.join("rules.toml")).unwrap();
    let metrics = Metrics::new("eligibility");
    let handle = RulesHandle::load(&dir.join("rules.toml"), &metrics).unwrap();
    assert_eq!(handle.check(), Reload::Unchanged);

    // The same length on purpose: only the file behind the link differs.
    version("..2026_12_04_20_05_00.2", &V1.replace("version = \"2021-07-round-55-59\"", "version = \"2021-07-round-55-5X\""));
    symlink("..2026_12_04_20_05_00.2", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    assert_eq!(handle.check(), Reload::Reloaded { from: "2021-07-round-55-59".into(), to: "2021-07-round-55-5X".into() });
    assert_eq!(handle.current().version, "2021-07-round-55-5X");
    std::fs::remove_dir_all(&dir).unwrap();
}
