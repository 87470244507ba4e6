//! The static server of the citizen page (`yeyak-static`): the built files
//! compressed, versioned assets (`/assets/<name>-<hash>.<ext>`) cached for
//! a year and never revalidated, the page itself and `/config.json`
//! revalidated on every load so a deployment takes effect at once. It
//! knows nothing of bookings; a CDN bucket with the same headers replaces
//! it (docs/edge.md).
use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use axum::{extract::Request, middleware::Next, response::Response, routing::get, Json, Router};
use http::{header, HeaderValue};
use tokio::net::TcpListener;
use tower_http::{compression::CompressionLayer, services::ServeDir};
use yeyak_platform::{
    config::{ConfigError, Env, Environment},
    validate, Shutdown,
};

pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
/// Versioned files: their name changes with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

#[derive(Clone, Debug)]
pub struct SiteConfig {
    /// `YEYAK_HTTP_ADDR`.
    pub http_addr: String,
    /// `YEYAK_STATIC_DIR`: the built page (`web/dist`).
    pub root: PathBuf,
    /// `YEYAK_EDGE_URL`: where the page sends its calls (`/config.json`,
    /// and the only origin the page's content policy lets it connect to).
    pub edge_url: String,
    /// `YEYAK_QUEUE_ID`: the booking event (admission queue) the page joins.
    pub queue_id: String,
    /// `YEYAK_CHANGES_QUEUE_ID` (default `<queue>-changes`): the event whose
    /// line the page joins to change or cancel a booking. The booking ends
    /// its session and identity binds a person to one place per event
    /// (docs/stuffing.md), so changes need a line of their own.
    pub changes_queue_id: String,
    /// `YEYAK_DEMO_PHONES` (`provider=http://…,…`), dev mode only: the mock
    /// providers whose inbox plays the person's phone, linked from the page
    /// so that someone trying `make run` can read the code. Refused outside
    /// dev mode: a real page never points at a phone.
    pub demo_phones: Vec<(String, String)>,
}

impl SiteConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let edge_url = env.string("EDGE_URL", "http://127.0.0.1:8090");
        if !(edge_url.starts_with("http://") || edge_url.starts_with("https://")) || edge_url.contains(['"', ';', ' ']) {
            return Err(ConfigError::Invalid { key: "YEYAK_EDGE_URL".into(), reason: format!("{edge_url:?} is not an http(s) URL") });
        }
        let queue_id = queue(env, "QUEUE_ID", "demo")?;
        let changes_queue_id = queue(env, "CHANGES_QUEUE_ID", &format!("{queue_id}-changes"))?;
        let demo_phones = demo_phones(env)?;
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            root: PathBuf::from(env.string("STATIC_DIR", "web/dist")),
            edge_url: edge_url.trim_end_matches('/').to_owned(),
            queue_id,
            changes_queue_id,
            demo_phones,
        })
    }
}

fn queue(env: &Env, key: &str, default: &str) -> Result<String, ConfigError> {
    let id = env.string(key, default);
    if id.is_empty() || id.len() > 64 || !id.chars().all(validate::token_char) {
        return Err(ConfigError::Invalid { key: format!("YEYAK_{key}"), reason: "1 to 64 of [A-Za-z0-9_-]".into() });
    }
    Ok(id)
}

fn demo_phones(env: &Env) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(raw) = env.raw("DEMO_PHONES").filter(|r| !r.trim().is_empty()) else { return Ok(Vec::new()) };
    let invalid = |reason: &str| ConfigError::Invalid { key: "YEYAK_DEMO_PHONES".into(), reason: reason.into() };
    if env.environment()? != Environment::Dev {
        return Err(invalid("dev mode only (YEYAK_ENV=dev): a real page never links to a mock phone"));
    }
    raw.split(',')
        .map(|entry| match entry.trim().split_once('=') {
            Some((id, url)) if !id.is_empty() && url.starts_with("http://") => Ok((id.to_owned(), url.trim_end_matches('/').to_owned())),
            _ => Err(invalid("provider=http://host:port, comma separated")),
        })
        .collect()
}

/// Caching by path, and the page's content policy: scripts and styles from
/// this origin only, calls to the edge only, no framing.
async fn headers(csp: HeaderValue, request: Request, next: Next) -> Response {
    let versioned = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(if versioned { IMMUTABLE } else { REVALIDATE }));
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub struct Site {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
}

impl Site {
    pub async fn build(config: SiteConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(config.root.join("index.html").is_file(), "{} has no index.html (build the page: make web)", config.root.display());
        let listener = TcpListener::bind(&config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let address = listener.local_addr()?;
        let csp = HeaderValue::from_str(&format!(
            "default-src 'self'; connect-src 'self' {}; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            config.edge_url
        ))?;
        let demo_phones: serde_json::Map<_, _> = config.demo_phones.iter().map(|(id, url)| (id.clone(), url.clone().into())).collect();
        let edge = serde_json::json!({ "edge": config.edge_url, "queue": config.queue_id,
            "changes_queue": config.changes_queue_id,
            "demo_phones": demo_phones });
        let router = Router::new()
            .route("/config.json", get(move || async move { Json(edge.clone()) }))
            .route("/healthz", get(|| async { "ok\n" }))
            .fallback_service(ServeDir::new(&config.root).append_index_html_on_directories(true))
            .layer(axum::middleware::from_fn(move |request, next| headers(csp.clone(), request, next)))
            .layer(CompressionLayer::new());
        tracing::info!(%address, root = %config.root.display(), "static site listening");
        Ok(Self { listener, address, router })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SiteConfig, ConfigError> {
        SiteConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn demo_phones_are_for_dev_stacks_only_and_the_queue_id_is_checked() {
        let dev = config(&[("ENV", "dev"), ("DEMO_PHONES", "carrier-sms=http://127.0.0.1:18082/")]).unwrap();
        assert_eq!(dev.demo_phones, [("carrier-sms".to_owned(), "http://127.0.0.1:18082".to_owned())]);
        assert_eq!((dev.queue_id.as_str(), dev.changes_queue_id.as_str()), ("demo", "demo-changes"));
        let production = config(&[("ENV", "production"), ("DEMO_PHONES", "carrier-sms=http://127.0.0.1:18082")]).unwrap_err();
        assert!(production.to_string().contains("YEYAK_DEMO_PHONES"), "{production}");
        assert!(config(&[("ENV", "production")]).unwrap().demo_phones.is_empty());
        assert!(config(&[("ENV", "dev"), ("QUEUE_ID", "a b")]).unwrap_err().to_string().contains("YEYAK_QUEUE_ID"));
    }
}
