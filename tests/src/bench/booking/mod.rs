//! Bookings end to end through reservation (`bench_booking`): its flags, the
//! bookings it sends, the phases, the pgbench floor and the checks that
//! nothing was oversold.
//!
//! The figure counts the whole system's work: each phase starts with
//! nothing queued and its rate includes the time the event consumers need
//! to catch up with it ([`crate::bench::backlog`]).
use uuid::Uuid;
use yeyak_platform::{pseudonym, tokens::dpop::DeviceKey, Secret};
use yeyak_proto::reservation::v1::CreateReservationRequest;

use super::{
    args::{defaults_to, ClosedLoop},
    mix, pick,
    tokens::{Session, Validity, Verified},
};
use crate::stack::{Stack, REGISTRY_SEED};

pub mod catalogue;
pub mod checks;
pub mod pgbench;
pub mod phase;
pub mod report;

/// Bookings per second end to end beside pgbench tpcb-like, then SQL checks for oversell and double bookings.
#[derive(clap::Parser, Debug)]
#[command(name = "bench_booking", mut_arg("concurrency", defaults_to("128")), mut_arg("seconds", defaults_to("15")))]
pub struct Args {
    /// People in the stack's registry (a phase books at most half of them).
    #[arg(long, default_value_t = 100_000)]
    pub people: u64,
    #[command(flatten)]
    pub phases: ClosedLoop,
    /// pgbench clients (`-c`) of the floor.
    #[arg(long, default_value_t = 16)]
    pub pgbench_clients: u64,
}

/// One ready-to-send booking: the pass, the client id and the request.
#[derive(Clone)]
pub struct Booking {
    pub client_id: String,
    /// Bound to `device`: each call carries a proof signed with it, made
    /// just before its phase starts (proofs live 60 s).
    pub pass: String,
    pub device: DeviceKey,
    pub request: CreateReservationRequest,
}

/// `people` bookings of people who may book dose 1, each at a slot picked
/// by [`mix`] (a tenth at `hot`, if given); `salt` keeps two sets apart.
/// Passes and assertions are signed before the clock starts: in production
/// admission and identity sign them, not the booking path.
pub fn prepare(stack: &Stack, people: u64, slots: &[Uuid], hot: Option<Uuid>, salt: u64) -> Vec<Booking> {
    let hash_key = Secret::new(stack.keys.subject_hash_key.clone());
    let validity = Validity::for_seconds(3600);
    (0..stack.registry_count)
        .map(|i| mock_registry::person(REGISTRY_SEED, i))
        .filter(|p| p.insured && p.doses.is_empty())
        .skip(usize::try_from(salt * people).unwrap_or(0))
        .take(usize::try_from(people).unwrap_or(0))
        .enumerate()
        .map(|(n, p)| {
            let n = n as u64;
            let client_id = format!("bench-{salt}-{:08}", p.index);
            let id = format!("bench{salt}s{:08}", p.index);
            let session = Session { queue: "demo", place: p.index + 1, client_id: &client_id, id: &id };
            let (subject, birth_date) = (pseudonym::subject_id(&hash_key, &p.rrn), p.birth_date.to_string());
            let person = Verified { subject: &subject, birth_date: &birth_date, masked_name: "홍*동", provider: "bench" };
            let slot = match hot {
                Some(hot) if mix(n, salt).is_multiple_of(10) => hot,
                _ => *pick(slots, mix(n, salt + 100)),
            };
            let device = DeviceKey::generate();
            Booking {
                pass: session.pass_bound_to(&stack.keys.admission, validity, Some(device.thumbprint())),
                device,
                request: CreateReservationRequest {
                    idempotency_key: format!("bench-{salt}-{}", p.index),
                    slot_id: slot.to_string(),
                    identity_assertion: session.assertion(&stack.keys.identity, person, validity),
                    agent_assertion: String::new(),
                    dose_number: 1,
                    contact_phone: p.phone.clone(),
                    consent_token: String::new(),
                },
                client_id,
            }
        })
        .collect()
}
