//! The static server: versioned assets cached for a year, the page and its
//! config revalidated, everything compressed, the content policy naming
//! the edge as the only place the page may call.
#![allow(clippy::unwrap_used)]

use edge::statics::{Site, SiteConfig};
use yeyak_platform::Shutdown;

#[tokio::test]
async fn assets_are_immutable_the_page_revalidates_and_both_are_compressed() {
    let root = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(root.join("assets")).unwrap();
    let config = SiteConfig {
        http_addr: "127.0.0.1:0".into(),
        root: root.clone(),
        edge_url: "https://edge.example.kr".into(),
        queue_id: "round-3".into(),
        changes_queue_id: "round-3-changes".into(),
        demo_phones: vec![],
    };
    let missing = Site::build(config.clone()).await.map(|_| ()).unwrap_err().to_string();
    assert!(missing.contains("index.html"), "{missing}");
    std::fs::write(root.join("index.html"), format!("<!doctype html><title>예약</title>{}", "<p>page</p>".repeat(40))).unwrap();
    std::fs::write(root.join("assets/app-3f9a1c2e.js"), "console.log('yeyak');\n".repeat(40)).unwrap();
    let site = Site::build(config).await.unwrap();
    let base = format!("http://{}", site.address());
    let stop = Shutdown::new();
    tokio::spawn(site.run_until_stopped(stop.clone()));
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).header("accept-encoding", "gzip").send();

    let page = get("/").await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("connect-src 'self' https://edge.example.kr;") && csp.contains("script-src 'self'"), "{csp}");
    let asset = get("/assets/app-3f9a1c2e.js").await.unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(asset.headers()["content-encoding"], "gzip");
    let config: serde_json::Value = http.get(format!("{base}/config.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["edge"], "https://edge.example.kr");
    assert_eq!(config["queue"], "round-3");
    assert_eq!(config["changes_queue"], "round-3-changes");
    assert_eq!(config["demo_phones"], serde_json::json!({}));
    assert_eq!(get("/assets/nothing.js").await.unwrap().status(), 404);
    stop.trigger();
    std::fs::remove_dir_all(&root).ok();
}
