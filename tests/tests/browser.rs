//! The citizen page in a real browser (Debian's Chromium, driven by
//! `playwright-core` from `tests/browser/booking.mjs`), against the whole
//! stack on port 0 with the edge and the static server in front of it, as
//! `make run` serves them. The script plays the people; this test starts
//! what they use and does what operators and other citizens do meanwhile
//! when the script asks (pause the line, fill a slot), over a line protocol
//! on the script's stdin and stdout (`browser_support`).
//!
//! Needs the built page (`make web`: web/dist, web/node_modules) and
//! /usr/bin/chromium, both installed by scripts/bootstrap.sh; without them
//! it fails and says so.
#![allow(clippy::unwrap_used)]

mod browser_support;

use std::{path::PathBuf, time::Duration};

use yeyak_e2e::stack::Stack;
use yeyak_platform::{config::Env, Shutdown};

const PEOPLE: u64 = 2_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A port free now, for the edge: the page's settings name it before it starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_books_from_the_page_waits_fairly_and_every_step_is_accessible_and_light() {
    let dist = repo().join("web/dist");
    assert!(dist.join("index.html").is_file(), "web/dist/index.html is missing: build the page first (make web)");
    assert!(repo().join("web/node_modules/playwright-core").is_dir(), "web/node_modules is missing: make web");
    let chromium = std::env::var("YEYAK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).is_file(), "{chromium} is missing: scripts/bootstrap.sh installs Debian's chromium");

    let stack = Stack::start(PEOPLE).await.unwrap();
    let stop = Shutdown::new();
    let edge_addr = format!("127.0.0.1:{}", free_port());
    let site = edge::statics::Site::build(
        edge::statics::SiteConfig::from_env(&Env::from_pairs([
            ("ENV", "dev".to_owned()),
            ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("STATIC_DIR", dist.display().to_string()),
            ("EDGE_URL", format!("http://{edge_addr}")),
        ]))
        .unwrap(),
    )
    .await
    .unwrap();
    let page_url = format!("http://{}", site.address());
    tokio::spawn(site.run_until_stopped(stop.clone()));
    let e = &stack.endpoints;
    let edge = edge::Application::build(
        edge::config::Config::from_env(&Env::from_pairs([
            ("ENV", "dev".to_owned()),
            ("HTTP_ADDR", edge_addr.clone()),
            ("METRICS_ADDR", "127.0.0.1:0".to_owned()),
            ("ALLOWED_ORIGINS", page_url.clone()),
            ("ADMISSION_ADDR", format!("http://{}", e.admission)),
            ("IDENTITY_ADDR", format!("http://{}", e.identity)),
            ("ELIGIBILITY_ADDR", format!("http://{}", e.eligibility)),
            ("INVENTORY_ADDR", format!("http://{}", e.inventory)),
            ("RESERVATION_ADDR", format!("http://{}", e.reservation)),
        ]))
        .unwrap(),
    )
    .await
    .unwrap();
    tokio::spawn(edge.run_until_stopped(stop.clone()));

    let artefacts = repo().join("target/browser");
    std::fs::create_dir_all(&artefacts).unwrap();
    let people = browser_support::people(&stack);
    let script = repo().join("tests/browser/booking.mjs");
    let env = [
        ("YEYAK_PAGE_URL", page_url),
        ("YEYAK_SMS_GATEWAY_URL", e.sms_gateway_url.clone()),
        ("YEYAK_IDP_URLS", serde_json::to_string(&e.idp_urls.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()).unwrap()),
        ("YEYAK_PEOPLE", people.to_string()),
        ("YEYAK_ARTEFACTS", artefacts.display().to_string()),
        ("YEYAK_CHROMIUM", chromium),
    ];
    let mut control = browser_support::Control::new(&stack);
    control.open_changes_line().await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(420), browser_support::run_script(&script, &env, &mut control)).await;
    let filled = control.filled;
    stop.trigger();
    stack.stop().await.unwrap();
    let status = outcome.expect("the browser script finished within 7 minutes").unwrap();
    assert!(status.success(), "the browser script failed ({status}); its output is above, screenshots in target/browser/");
    assert_eq!(filled, 1, "the script asked for one full slot and got it");
}
