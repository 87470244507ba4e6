//! Real mock-sms gateways as separate processes: the test binary runs
//! itself again as the child (the `mock_sms_child` test of the calling
//! file, picked by an environment variable; it does nothing otherwise), so
//! the gateway is another process on its own port, and killing it is a real
//! outage (connections refused).
use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

/// Names the child to run, and carries its port.
pub(crate) const CHILD: &str = "YEYAK_TEST_MOCK_SMS_CHILD";
/// What the child prints, followed by its address.
pub(crate) const READY: &str = "mock-sms child listening on ";

/// Runs mock-sms until killed, when `CHILD` says so (call it from a test
/// named `mock_sms_child`).
pub(crate) fn run_child() {
    let Ok(addr) = std::env::var(CHILD) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = mock_sms::Application::build(mock_sms::Config::new(addr)).await.unwrap();
        println!("{READY}{}", app.address());
        app.run_until_stopped(yeyak_platform::Shutdown::on_signals()).await.unwrap();
    });
}

/// One mock-sms process.
pub(crate) struct MockGateway {
    pub(crate) url: String,
    child: Child,
    http: reqwest::Client,
}

impl MockGateway {
    /// Starts a gateway on a free loopback port.
    pub(crate) fn start() -> Self {
        Self::start_on("127.0.0.1:0")
    }

    fn start_on(addr: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["mock_sms_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, addr)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines.next().expect("the child prints its address").unwrap();
            // The harness may print the test's name before it on the same line.
            if let Some((_, address)) = line.split_once(READY) {
                break address.trim().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        Self { url: format!("http://{address}"), child, http }
    }

    /// Kills the process: from now on connections are refused.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sets the gateway's own faults (`PUT /admin/gateway`).
    pub(crate) async fn behave(&self, body: Value) {
        let put = self.http.put(format!("{}/admin/gateway", self.url)).json(&body).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 200);
    }

    pub(crate) async fn down(&self, down: bool) {
        self.behave(json!({ "down": down })).await;
    }

    /// The message ids this gateway has sent, in order (whatever the
    /// generation of the reference each went out under).
    pub(crate) async fn sent(&self) -> Vec<String> {
        self.references().await.iter().map(|r| super::stub_gateway::message_of(r).to_owned()).collect()
    }

    /// The references (`<message_id>[.<generation>]`) it has sent, in order.
    pub(crate) async fn references(&self) -> Vec<String> {
        let body: Value = self.http.get(format!("{}/v1/messages", self.url)).send().await.unwrap().json().await.unwrap();
        body["messages"].as_array().unwrap().iter().map(|m| m["idempotency_key"].as_str().unwrap().to_owned()).collect()
    }

    /// Sets the shared faults of its send endpoint (`PUT /admin/faults`):
    /// `error_rate` 1 answers every send 503 while lookups still answer.
    pub(crate) async fn faults(&self, body: Value) {
        let put = self.http.put(format!("{}/admin/faults", self.url)).json(&body).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 200);
    }
}

impl Drop for MockGateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `YEYAK_SMS_GATEWAYS` for these gateways, named in order.
pub(crate) fn gateways_spec(named: &[(&str, &MockGateway)]) -> String {
    named.iter().map(|(name, g)| format!("{name}={}", g.url)).collect::<Vec<_>>().join(",")
}
