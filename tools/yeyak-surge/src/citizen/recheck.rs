//! After the evening, some people come back: queue again, verify, list
//! their bookings (`ListReservations`), and try to book once more in a
//! second tab. What the server says is the truth the one-booking invariant
//! is judged on: a booking the person was never told of (an answer lost to
//! a timeout or a restart) shows up here, and a second booking that the
//! server let through is counted against it.
use rand::{rngs::StdRng, SeedableRng as _};
use yeyak_proto::reservation::v1 as res;

use super::{book, verify};
use crate::{ctx::Ctx, recorder::Booked};

/// What one returning person found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rechecked {
    /// Registry index of the person booked for.
    pub(crate) subject: u64,
    /// Their confirmed dose-1 bookings, as the server lists them.
    pub(crate) listed: Vec<Booked>,
    /// A booking the second tab was given (the server must refuse it).
    pub(crate) second: Option<Booked>,
}

/// The person `booked` was for comes back to `event` to check (for a proxy
/// booking, the parent, or the agent with the parent reading the code).
pub(crate) async fn visit(ctx: &Ctx, event: &str, booked: &Booked, n: u64) -> anyhow::Result<Rechecked> {
    let seed = ctx.targets.file.registry_seed;
    let subject = yeyak_population::person(seed, booked.subject);
    let client_id = format!("{}-back{n}", ctx.run_tag);
    let (session, ticket) = super::queue::admit_quietly(ctx, event, 0x00fd_0000 + booked.subject, &client_id).await?;
    let provider = verify::provider(ctx, &session).await.map_err(anyhow::Error::msg)?;
    let assertion = verify::verify(ctx, &session, &provider, &subject).await.map_err(anyhow::Error::msg)?;
    let list = res::ListReservationsRequest { identity_assertion: assertion.clone(), page_size: 50, page_token: String::new() };
    let request = session.request(list, res::reservation_service_server::SERVICE_NAME, "ListReservations")?;
    let mut client = res::reservation_service_client::ReservationServiceClient::new(ctx.targets.reservation.get());
    let listed = client.list_reservations(request).await?.into_inner().reservations;
    let as_booked = |r: res::Reservation| Booked {
        reservation_id: r.reservation_id,
        booking_code: r.booking_code,
        slot_id: r.slot_id,
        clinic_id: r.clinic_id,
        vaccine_code: r.vaccine_code,
        contact_phone: booked.contact_phone.clone(),
        subject: booked.subject,
        dose: r.dose_number,
        by_agent: false,
        after_timeout: false,
    };
    let listed: Vec<Booked> =
        listed.into_iter().filter(|r| r.state == res::ReservationState::Confirmed as i32 && r.dose_number == 1).map(as_booked).collect();
    // The second tab: another place, a new key; the server must say no.
    let mut rng = StdRng::seed_from_u64(n);
    let whom = book::Whom { assertion: &assertion, agent: "" };
    let second = match book::search(ctx, &session, subject.region_code, &mut rng).await {
        Ok((_, slot)) => book::book(ctx, &session, &whom, &slot, &booked.contact_phone, false, &mut rng).await.ok().map(as_booked),
        Err(_) => None,
    };
    let _ = super::end_quietly(ctx, &session, &ticket).await;
    Ok(Rechecked { subject: booked.subject, listed, second })
}
