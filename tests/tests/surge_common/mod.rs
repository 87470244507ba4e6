//! What the two evenings (surge.rs, surge_chaos.rs) set up alike: the test
//! binary as the stack's child processes, and the stack as yeyak-surge's
//! targets (the same shape `make run` writes to `.run/endpoints.toml`).
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use yeyak_e2e::stack::{self, Processes, Stack};
use yeyak_surge::targets::EndpointsFile;

/// The services run as this test binary's `stack_child` test (each file
/// declares it), so a chaos restart from `/proc` starts the same program.
pub(crate) fn processes() -> Processes {
    Processes {
        exe: std::env::current_exe().expect("the test binary"),
        args: ["stack_child", "--exact", "--nocapture"].map(String::from).to_vec(),
        env: vec![],
        log_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    }
}

/// The stack as targets; its pids go to `dir/pids`, where chaos and the CPU
/// figures read them.
pub(crate) fn endpoints(stack: &Stack, dir: &Path) -> EndpointsFile {
    std::fs::create_dir_all(dir).expect("report folder");
    std::fs::write(dir.join("pids"), stack.pids()).expect("pids file");
    let ep = &stack.endpoints;
    EndpointsFile {
        admission: ep.admission.clone(),
        identity: ep.identity.clone(),
        eligibility: ep.eligibility.clone(),
        inventory: ep.inventory.clone(),
        reservation: ep.reservation.clone(),
        sms_gateway_url: ep.sms_gateway_url.clone(),
        idp_urls: ep.idp_urls.iter().cloned().collect::<BTreeMap<_, _>>(),
        registry_seed: stack::REGISTRY_SEED,
        registry_count: stack.registry_count,
        pids_file: Some(dir.join("pids")),
        redis_url: "redis://127.0.0.1:6379/0".into(),
        redis_prefixes: vec![format!("test:{}", stack.tag)],
        broker_link_url: stack.broker_link.as_ref().map(|link| link.admin_url()),
        data_stores: Default::default(),
        connections: 4,
    }
}

/// A scenario file of tools/yeyak-surge/scenarios.
pub(crate) fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/yeyak-surge/scenarios").join(name)
}
