//! One booking phase: CreateReservation in a closed loop until the time is
//! up or the prepared bookings run out, then the consumers' catch-up, which
//! the sustained figure pays for.
use std::{collections::HashMap, sync::Arc, time::Duration};

use tonic::{transport::Channel, Code, Status};
use yeyak_proto::reservation::v1::reservation_service_client::ReservationServiceClient;

use yeyak_platform::tokens::dpop::PROOF_HEADER;

use super::Booking;

const CREATE: &str = "/yeyak.reservation.v1.ReservationService/CreateReservation";
use crate::bench::{
    backlog::{Backlog, Behind},
    closed_loop::{self, Load, Phase, Tally},
    grpc, pick,
};

/// Attempts by outcome; every attempt's latency is kept, refusals too.
#[derive(Debug, Default)]
pub struct Bookings {
    pub booked: u64,
    /// Refused because the slot was full: the expected answer at a hot slot.
    pub full: u64,
    pub errors: HashMap<Code, u64>,
}

impl Tally for Bookings {
    type Outcome = Result<(), Status>;

    fn count(&mut self, outcome: Self::Outcome) -> bool {
        match outcome {
            Ok(()) => self.booked += 1,
            Err(e) if e.code() == Code::FailedPrecondition && e.message().contains("slot is full") => self.full += 1,
            Err(e) => {
                // Each worker reports its first error: the kinds, not thousands of lines.
                if self.errors.is_empty() {
                    eprintln!("first error: {e:?}");
                }
                *self.errors.entry(e.code()).or_insert(0) += 1;
            }
        }
        true
    }

    fn absorb(&mut self, other: Self) {
        self.booked += other.booked;
        self.full += other.full;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_insert(0) += n;
        }
    }
}

/// A phase, and what the consumers had left when it ended and how long
/// they then took to finish it.
pub struct Outcome {
    pub phase: Phase<Bookings>,
    pub behind: Behind,
    pub catch_up: Duration,
}

/// Closed loop: `concurrency` calls in flight until `duration` is over or the bookings run out.
pub async fn run(
    clients: &[ReservationServiceClient<Channel>],
    bookings: Vec<Booking>,
    concurrency: usize,
    duration: Duration,
) -> Phase<Bookings> {
    // Each booking's device proof, signed before the clock starts.
    let now = chrono::Utc::now().timestamp();
    let proofs: Vec<String> = bookings.iter().map(|b| b.device.proof(CREATE, Some(&b.pass), now)).collect();
    let (clients, bookings, proofs) = (Arc::new(clients.to_vec()), Arc::new(bookings), Arc::new(proofs));
    let load = Load::timed(duration, concurrency).at_most(bookings.len() as u64);
    closed_loop::run(load, move |i| {
        let mut client = pick(&clients, i).clone();
        let b = &bookings[i as usize];
        let request = grpc::with_pass(b.request.clone(), &b.pass, &b.client_id).and_then(|mut r| {
            r.metadata_mut().insert(PROOF_HEADER, proofs[i as usize].parse()?);
            Ok(r)
        });
        async move { client.create_reservation(request.map_err(|e| Status::internal(e.to_string()))?).await.map(|_| ()) }
    })
    .await
}

/// Runs a measured phase from an empty queue, then waits for the consumers.
pub async fn measure(
    clients: &[ReservationServiceClient<Channel>],
    bookings: Vec<Booking>,
    concurrency: usize,
    duration: Duration,
    backlog: &Backlog,
) -> anyhow::Result<Outcome> {
    let phase = run(clients, bookings, concurrency, duration).await;
    let behind = backlog.behind().await?;
    let catch_up = backlog.drain(Duration::from_secs(120)).await?;
    Ok(Outcome { phase, behind, catch_up })
}

impl Outcome {
    /// Bookings per second with every consequence done: the events
    /// published, the read model updated, the SMS accepted.
    pub fn sustained(&self) -> f64 {
        self.phase.tally.booked as f64 / (self.phase.elapsed + self.catch_up).as_secs_f64()
    }

    fn attempts(&self) -> u64 {
        let t = &self.phase.tally;
        t.booked + t.full + t.errors.values().sum::<u64>()
    }

    pub fn line(&self, name: &str) -> String {
        let (t, l) = (&self.phase.tally, &self.phase.latencies);
        let secs = self.phase.elapsed.as_secs_f64();
        let b = self.behind;
        format!(
            "{name:<34} {:>7.0} bookings/s  ({:.0} attempts/s)  p50 {:>7.2} ms  p99 {:>7.2} ms  booked {} full {} errors {:?} in {secs:.1} s\n\
             {:<34} {:>7.0} bookings/s with every consequence done (behind at the end: {} unpublished, {} read model, {} SMS; caught up in {:.1} s)",
            t.booked as f64 / secs,
            self.attempts() as f64 / secs,
            l.percentile_ms(0.5),
            l.percentile_ms(0.99),
            t.booked,
            t.full,
            t.errors,
            "",
            self.sustained(),
            b.unpublished,
            b.inventory,
            b.sms,
            self.catch_up.as_secs_f64()
        )
    }
}
