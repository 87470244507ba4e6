//! The three ways people reach CheckEligibility, each a closed-loop phase
//! with its CPU: a stream of first checks (cold), people checked before
//! (warm), and each new person twice in a row, as a booking does (the
//! client's check, then reservation's with the same tokens).
use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tonic::transport::Channel;
use yeyak_platform::{grpc::client::ClientSettings, tokens::SignatureBatcher};
use yeyak_proto::eligibility::v1::{eligibility_service_client::EligibilityServiceClient, CheckEligibilityRequest};

use super::{people::People, registry::Registry, service::Service, transcript::Measured, Args, CLIENT_ID};
use crate::bench::{
    closed_loop::{self, Load, Phase, Successes},
    cpu::DatabaseMeter,
    grpc, pick,
};

/// People checked in the warm phase (and in the warm-up before it).
const WARM_SET: u64 = 20_000;

/// Sends the checks: a call `i` is for the person at `offset + i % modulo`.
#[derive(Clone)]
struct Caller {
    clients: Arc<Vec<EligibilityServiceClient<Channel>>>,
    people: Arc<People>,
}

impl Caller {
    /// `repeat` checks in a row for one person: true if all succeeded.
    async fn checks(self, i: u64, offset: u64, modulo: u64, repeat: u64) -> bool {
        let mut client = pick(&self.clients, i).clone();
        let person = (offset + i % modulo) as usize;
        let (pass, assertion) = (&self.people.passes[person], &self.people.assertions[person]);
        let mut ok = true;
        for _ in 0..repeat {
            let message = CheckEligibilityRequest { identity_assertion: assertion.clone(), dose_number: 1, ..Default::default() };
            let Ok(request) = grpc::with_pass(message, pass, CLIENT_ID) else { return false };
            ok &= client.check_eligibility(request).await.is_ok();
        }
        ok
    }
}

pub struct Checks {
    caller: Caller,
    concurrency: usize,
    duration: Duration,
    /// The registry's pool and database, to meter its backends.
    pool: PgPool,
    database: String,
    warm_set: u64,
    /// People never checked: the cold and booking phases take from them.
    fresh: u64,
    next_new: u64,
}

impl Checks {
    pub fn new(service: &Service, registry: &Registry, people: Arc<People>, args: &Args) -> anyhow::Result<Self> {
        let channels = grpc::channels(&service.addr, args.connections.channels.max(1), &ClientSettings::default())?;
        let clients = Arc::new(channels.into_iter().map(EligibilityServiceClient::new).collect());
        let warm_set = WARM_SET.min(people.len() as u64 / 8);
        let fresh = people.len() as u64 - warm_set;
        Ok(Self {
            caller: Caller { clients, people },
            concurrency: args.phases.concurrency,
            duration: args.phases.duration(),
            pool: registry.pool.clone(),
            database: registry.name(),
            warm_set,
            fresh,
            next_new: 0,
        })
    }

    /// Two seconds on the warm phase's people, not counted: connections
    /// open, and those people are cached.
    pub async fn warm_up(&self) {
        let (caller, warm_set) = (self.caller.clone(), self.warm_set);
        let load = Load::timed(Duration::from_secs(2), self.concurrency);
        let _: Phase<Successes> = closed_loop::run(load, move |i| caller.clone().checks(i, 0, warm_set, 1)).await;
    }

    /// A new person each call: two signatures, a registry lookup, a cache write.
    pub async fn cold(&mut self) -> anyhow::Result<Measured> {
        let batcher = SignatureBatcher::shared();
        let before = (batcher.checks(), batcher.signatures());
        let registry_before = eligibility::clients::registry::batch_totals();
        let label = "cold: a new person each call (registry over HTTP, then Redis)";
        let measured = self.measure(label, self.warm_set + self.next_new, self.fresh - self.next_new, 1).await;
        let (checks, signatures) = (batcher.checks() - before.0, batcher.signatures() - before.1);
        let per_batch = signatures as f64 / checks.max(1) as f64;
        println!("cold phase: {signatures} signatures checked in {checks} batches ({per_batch:.1} per batch)");
        let registry_after = eligibility::clients::registry::batch_totals();
        let (calls, lookups) = (registry_after.0 - registry_before.0, registry_after.1 - registry_before.1);
        println!("cold phase: {lookups} registry lookups in {calls} batch calls ({:.1} per call)", lookups as f64 / calls.max(1) as f64);
        self.take_new(&measured, "the cold phase ran out of new people: lower --seconds")?;
        Ok(measured)
    }

    /// The warm-up's people again: tokens already verified, the answer in Redis.
    pub async fn warm(&self) -> Measured {
        self.measure("warm: people checked before (Redis cache)", 0, self.warm_set, 1).await
    }

    /// Each new person twice in a row; calls per second count both, latency is per pair.
    pub async fn as_booked(&mut self) -> anyhow::Result<Measured> {
        let label = "as booked: each new person twice in a row (client, then reservation; latency per pair)";
        let mut measured = self.measure(label, self.warm_set + self.next_new, self.fresh - self.next_new, 2).await;
        measured.calls_per_item = 2;
        self.take_new(&measured, "the mixed phase ran out of new people: lower --seconds")?;
        Ok(measured)
    }

    /// No person may be checked "for the first time" twice.
    fn take_new(&mut self, measured: &Measured, ran_out: &'static str) -> anyhow::Result<()> {
        self.next_new += measured.people();
        anyhow::ensure!(self.next_new < self.fresh, ran_out);
        Ok(())
    }

    /// One phase with its CPU.
    async fn measure(&self, label: &str, offset: u64, modulo: u64, repeat: u64) -> Measured {
        let caller = self.caller.clone();
        let meter = DatabaseMeter::start(&self.pool, &self.database).await;
        let load = Load::timed(self.duration, self.concurrency);
        let phase = closed_loop::run(load, move |i| caller.clone().checks(i, offset, modulo, repeat)).await;
        let cpu = meter.stop(&self.pool).await;
        Measured { label: label.to_owned(), phase, cpu, calls_per_item: 1 }
    }
}
