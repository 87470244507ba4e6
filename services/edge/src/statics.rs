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
    config::{ConfigError, Env},
    Shutdown,
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
}

impl SiteConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let edge_url = env.string("EDGE_URL", "http://127.0.0.1:8090");
        if !(edge_url.starts_with("http://") || edge_url.starts_with("https://")) || edge_url.contains(['"', ';', ' ']) {
            return Err(ConfigError::Invalid { key: "YEYAK_EDGE_URL".into(), reason: format!("{edge_url:?} is not an http(s) URL") });
        }
        Ok(Self {
            http_addr: env.string("HTTP_ADDR", DEFAULT_HTTP_ADDR),
            root: PathBuf::from(env.string("STATIC_DIR", "web/dist")),
            edge_url: edge_url.trim_end_matches('/').to_owned(),
        })
    }
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
        let edge = serde_json::json!({ "edge": config.edge_url });
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
