//! Everything one run of `bench_identity` drives, started in this process:
//! the mock providers, identity as shipped, the two thin fronts, and a front
//! end for each with the passes minted before the clock starts.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use yeyak_platform::{
    config::Env,
    tokens::{Issuer, SigningKey},
    Shutdown,
};

use super::{
    front_end::{Carrier, FrontEnd},
    phase::{self, Phase},
    Args, CHANNELS, PROVIDERS, QUEUE,
};
use crate::bench::{cleanup, grpc, thin_front};

pub struct Bench {
    pub identity: Arc<FrontEnd>,
    /// The thin front on a plain tonic server, then on the platform server.
    pub thin: Arc<FrontEnd>,
    pub thin_platform: Arc<FrontEnd>,
    carrier: Carrier,
    board: Arc<identity::clients::Board>,
    redis_prefix: String,
    shutdown: Shutdown,
    users: usize,
    warmup: Duration,
    seconds: Duration,
}

/// What the run left: the carrier's health as identity's board saw it at
/// the end (light, reason, breaker), and the Redis keys removed.
pub struct End {
    pub carrier_health: Option<String>,
    pub removed: u64,
}

/// The mock providers, each on its own port: (id, base URL).
async fn providers(shutdown: &Shutdown) -> anyhow::Result<Vec<(String, String)>> {
    let mut idp_urls = Vec::new();
    for (id, kind, _) in PROVIDERS {
        let env = Env::from_pairs([("HTTP_ADDR", "127.0.0.1:0"), ("PROVIDER_ID", id), ("PROVIDER_KIND", kind)]);
        let idp = mock_idp::Application::build(mock_idp::Config::from_env(&env)?).await?;
        idp_urls.push((id.to_owned(), format!("http://{}", idp.address())));
        tokio::spawn(idp.run_until_stopped(shutdown.clone()));
    }
    Ok(idp_urls)
}

impl Bench {
    pub async fn start(args: &Args) -> anyhow::Result<Self> {
        let shutdown = Shutdown::new();
        let idp_urls = providers(&shutdown).await?;
        let admission = SigningKey::generate(Issuer::Admission, "bench-a");
        let identity_key = SigningKey::generate(Issuer::Identity, "bench-i");
        let redis_prefix = format!("bench:identity-{}", uuid::Uuid::new_v4().simple());
        let providers =
            idp_urls.iter().zip(PROVIDERS).map(|((id, url), (_, _, kind))| format!("{id}={url}#{kind}")).collect::<Vec<_>>().join(",");
        let env = Env::from_pairs([
            ("GRPC_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
            ("METRICS_ADDR".into(), "off".into()),
            ("SIGNING_KEY".into(), identity_key.secret_spec()),
            ("TRUSTED_KEYS".into(), admission.trusted_entry()),
            ("QUEUE_IDS".into(), QUEUE.into()),
            ("SUBJECT_HASH_KEY".into(), "bench-hash-key".into()),
            ("PROVIDERS".into(), providers),
            ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
            ("PROVIDER_MAX_IN_FLIGHT".into(), "256".into()),
            ("MAX_IN_FLIGHT_VERIFICATIONS".into(), "1024".into()),
            ("APPROVAL_WAIT_MS".into(), "0".into()),
        ]);
        // As shipped: the platform's GrpcServer.
        let app = identity::startup::Application::build(identity::config::Config::from_env(&env)?).await?;
        let identity_addr = app.grpc_addr().to_string();
        let board = app.board();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));

        let http = reqwest::Client::builder().pool_max_idle_per_host(1024).tcp_nodelay(true).build()?;
        let carrier = Carrier { http: http.clone(), url: idp_urls[0].1.clone() };
        let thin_addr = thin_front::serve(http.clone(), carrier.url.clone(), shutdown.clone()).await?.to_string();
        let thin_platform_addr = thin_front::serve_on_platform(http.clone(), carrier.url.clone(), shutdown.clone()).await?.to_string();
        let minted = Instant::now();
        let passes: Arc<Vec<String>> = Arc::new((0..args.passes).map(|n| FrontEnd::pass(&admission, n)).collect());
        println!("minted {} admission passes in {:.1} s", passes.len(), minted.elapsed().as_secs_f64());
        let settings = grpc::settings(Duration::from_secs(10));
        let front = |addr: &str| -> anyhow::Result<Arc<FrontEnd>> {
            Ok(Arc::new(FrontEnd {
                channels: grpc::channels(addr, CHANNELS, &settings)?,
                admission: admission.clone(),
                http: http.clone(),
                idp_urls: idp_urls.clone(),
                passes: passes.clone(),
            }))
        };
        let (identity, thin, thin_platform) = (front(&identity_addr)?, front(&thin_addr)?, front(&thin_platform_addr)?);

        let warmup = Duration::from_secs(2);
        println!(
            "bench_identity: {} s per phase after {} s warm-up, {} virtual users, {} cores, release build",
            args.phases.seconds,
            warmup.as_secs(),
            args.phases.concurrency,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let (users, seconds) = (args.phases.concurrency, args.phases.duration());
        Ok(Self { identity, thin, thin_platform, carrier, board, redis_prefix, shutdown, users, warmup, seconds })
    }

    /// The floor: the same users calling the carrier directly.
    pub async fn floor(&self, name: &'static str) -> Phase {
        let carrier = self.carrier.clone();
        phase::measure(name, self.users, self.warmup, self.seconds, move |n| carrier.clone().verify(n)).await
    }

    /// The same users verifying through `front`.
    pub async fn through(&self, front: &Arc<FrontEnd>, name: &'static str) -> Phase {
        let front = front.clone();
        phase::measure(name, self.users, self.warmup, self.seconds, move |n| front.clone().verify(n)).await
    }

    /// Identity with the carrier failing half its calls, from the first
    /// failure: no warm-up, so the breaker's trip is inside the figures.
    pub async fn carrier_failing(&self, name: &'static str) -> anyhow::Result<Phase> {
        let faults = serde_json::json!({ "error_rate": 0.5 });
        reqwest::Client::new().put(format!("{}/admin/faults", self.carrier.url)).json(&faults).send().await?.error_for_status()?;
        let front = self.identity.clone();
        let degraded = phase::measure(name, self.users, Duration::ZERO, self.seconds + self.warmup, move |n| front.clone().verify(n)).await;
        println!("  degraded: {:.0}/s, {:.2}% verified", degraded.rate(), degraded.success() * 100.0);
        Ok(degraded)
    }

    /// Reads the carrier's health, removes the run's Redis keys and stops
    /// everything.
    pub async fn stop(self) -> anyhow::Result<End> {
        let carrier_health = self.board.find(PROVIDERS[0].0).map(|s| {
            let h = self.board.snapshot(s);
            format!("{:?} ({:?}, breaker {})", h.light, h.reason, h.breaker.name())
        });
        let removed = cleanup::delete_redis_prefix(&self.redis_prefix).await?;
        self.shutdown.trigger();
        Ok(End { carrier_health, removed })
    }
}
