//! The broker link: `make run`'s services reach RabbitMQ through this TCP
//! link, so `yeyak-surge --chaos` can cut it (every open connection dropped,
//! new ones refused) and restore it, as a partition between the services
//! and a managed broker would, without stopping the broker other programs
//! on the machine share. The test stack serves the same link in-process.
use std::{net::SocketAddr, sync::Arc};

use axum::{extract::State, routing::get, Json, Router};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use yeyak_testkit::Proxy;

/// `PUT /admin/link`: `{"up": false}` cuts, `{"up": true}` restores.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkState {
    pub up: bool,
}

/// What `GET` and `PUT /admin/link` answer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    /// Connections forwarded now.
    pub open: usize,
    /// Connections the cuts so far dropped, in all: proof that the
    /// services were using the link when it was cut.
    pub dropped: usize,
}

pub struct Link {
    proxy: Arc<Proxy>,
    admin: SocketAddr,
    task: JoinHandle<()>,
}

impl Link {
    /// Forwards `listen` to `upstream` and serves the admin API on `admin`
    /// (all `host:port`; port 0 picks one).
    pub async fn start(listen: &str, upstream: &str, admin: &str) -> std::io::Result<Self> {
        let proxy = Arc::new(Proxy::start_on(listen, upstream).await?);
        let listener = tokio::net::TcpListener::bind(admin).await?;
        let admin = listener.local_addr()?;
        let app = Router::new().route("/admin/link", get(read).put(write)).with_state(proxy.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("broker link admin API stopped: {e}");
            }
        });
        Ok(Self { proxy, admin, task })
    }

    /// Where clients connect (`host:port`).
    pub fn addr(&self) -> SocketAddr {
        self.proxy.addr()
    }

    /// The admin API's base URL (`http://host:port`).
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn status(proxy: &Proxy) -> Json<LinkStatus> {
    Json(LinkStatus { up: proxy.is_up(), open: proxy.open(), dropped: proxy.dropped() })
}

async fn read(State(proxy): State<Arc<Proxy>>) -> Json<LinkStatus> {
    status(&proxy)
}

async fn write(State(proxy): State<Arc<Proxy>>, Json(wanted): Json<LinkState>) -> Json<LinkStatus> {
    if wanted.up {
        proxy.restore();
    } else {
        proxy.cut();
    }
    status(&proxy)
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::{TcpListener, TcpStream},
    };

    use super::*;

    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("echo listens");
        let addr = listener.local_addr().expect("echo address");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// Some bytes through the link, or None when it is cut.
    async fn round_trip(link: &Link) -> Option<[u8; 4]> {
        let mut conn = TcpStream::connect(link.addr()).await.ok()?;
        conn.write_all(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        let read = tokio::time::timeout(std::time::Duration::from_secs(2), conn.read_exact(&mut buf)).await;
        matches!(read, Ok(Ok(4))).then_some(buf)
    }

    async fn put(client: &reqwest::Client, link: &Link, up: bool) -> LinkStatus {
        let answer = client.put(format!("{}/admin/link", link.admin_url())).json(&LinkState { up }).send().await.expect("admin API");
        answer.error_for_status().expect("2xx").json().await.expect("a link state")
    }

    #[tokio::test]
    async fn the_admin_api_cuts_and_restores_the_link() {
        let link = Link::start("127.0.0.1:0", &echo().await.to_string(), "127.0.0.1:0").await.expect("link starts");
        let client = reqwest::Client::new();
        assert_eq!(round_trip(&link).await, Some(*b"ping"));
        let mut open = TcpStream::connect(link.addr()).await.expect("connects while up");
        // The first round trip's connection may still be closing: one or two.
        let cut = put(&client, &link, false).await;
        assert!(!cut.up && (1..=2).contains(&cut.dropped), "{cut:?}");
        let mut buf = [0u8; 1];
        let dropped = tokio::time::timeout(std::time::Duration::from_secs(2), open.read(&mut buf)).await;
        assert!(matches!(dropped, Ok(Ok(0)) | Ok(Err(_))), "an open connection is dropped by a cut: {dropped:?}");
        assert_eq!(round_trip(&link).await, None, "new connections are refused while cut");
        let state: LinkStatus =
            client.get(format!("{}/admin/link", link.admin_url())).send().await.expect("GET").json().await.expect("json");
        assert!(!state.up && state.dropped == cut.dropped, "{state:?}");
        assert!(put(&client, &link, true).await.up);
        assert_eq!(round_trip(&link).await, Some(*b"ping"));
    }
}
