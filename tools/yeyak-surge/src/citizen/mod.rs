//! One citizen's evening, through the public APIs only: join → poll → pass
//! → providers → verify (and their parent's identity, for a proxy booking)
//! → eligibility → search → book → end the session.
mod book;
mod queue;
mod recheck;
mod verify;

use rand::{rngs::StdRng, SeedableRng as _};
use yeyak_dev::demo::Session;
use yeyak_proto::admission::v1 as adm;

use crate::{
    ctx::Ctx,
    recorder::{Booked, Person, Stage},
};

pub(crate) use queue::{admit_quietly, join};
pub(crate) use recheck::{visit, Rechecked};

/// What one citizen will do, drawn from the scenario before the run.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Their registry index (name, resident number, phone).
    pub(crate) index: u64,
    /// The parent they book for instead of themselves.
    pub(crate) parent: Option<u64>,
    pub(crate) arrival: f64,
    /// Seconds after joining when they close the tab, if they do.
    pub(crate) abandon_after: Option<f64>,
    /// Seconds after joining when their connection drops and they come
    /// back with their ticket.
    pub(crate) reconnect_after: Option<f64>,
    pub(crate) retry_after_timeout: bool,
    pub(crate) seed: u64,
}

pub(crate) async fn run(ctx: &Ctx, plan: Plan) {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut me = Person { arrival: plan.arrival, ..Person::default() };
    if let queue::Waited::Admitted(admitted_as) = queue::wait(ctx, &plan, &mut me, &mut rng).await {
        let (session, ticket) = *admitted_as;
        ctx.keep(&session);
        let booked = admitted(ctx, &plan, &session, &mut rng).await;
        ctx.done(&session);
        if let Some(booked) = booked {
            me.booked_at = Some(ctx.rec.now());
            me.bookings.push(booked);
        }
        end_session(ctx, &session, &ticket).await;
    }
    ctx.rec.person(me);
}

/// From the pass to a booking; each stage entered is passed or dropped
/// with its reason.
async fn admitted(ctx: &Ctx, plan: &Plan, session: &Session, rng: &mut StdRng) -> Option<Booked> {
    let seed = ctx.targets.file.registry_seed;
    let me = yeyak_population::person(seed, plan.index);
    let parent = plan.parent.map(|p| yeyak_population::person(seed, p));
    tokio::time::sleep(ctx.think(rng)).await;
    let provider = stage(ctx, Stage::Providers, verify::provider(ctx, session)).await?;
    // A proxy booking: the agent verifies themselves, then the parent
    // (who reads them the code); the parent is the one booked.
    let verified = async {
        match &parent {
            None => verify::verify(ctx, session, &provider, &me).await.map(|own| (own, String::new())),
            Some(p) => match verify::verify(ctx, session, &provider, &me).await {
                Ok(agent) => verify::verify(ctx, session, &provider, p).await.map(|theirs| (theirs, agent)),
                Err(e) => Err(e),
            },
        }
    };
    let (assertion, agent) = stage(ctx, Stage::Verify, verified).await?;
    let subject = parent.as_ref().unwrap_or(&me);
    let whom = book::Whom { assertion: &assertion, agent: &agent };
    tokio::time::sleep(ctx.think(rng)).await;
    let eligible = async { book::eligible(ctx, session, &whom).await.and_then(|e| if e { Ok(()) } else { Err("not_eligible".into()) }) };
    stage(ctx, Stage::Eligibility, eligible).await?;
    tokio::time::sleep(ctx.think(rng)).await;
    let mut slot = stage(ctx, Stage::Search, book::search(ctx, session, subject.region_code, rng)).await?.1;
    ctx.rec.entered(Stage::Book);
    for attempt in 0..3 {
        let retry = plan.retry_after_timeout && attempt == 0;
        match book::book(ctx, session, &whom, &slot, &me.phone, retry, rng).await {
            Ok(r) => {
                ctx.rec.passed(Stage::Book);
                return Some(Booked {
                    reservation_id: r.reservation_id,
                    booking_code: r.booking_code,
                    slot_id: slot,
                    clinic_id: r.clinic_id,
                    vaccine_code: r.vaccine_code,
                    contact_phone: me.phone.clone(),
                    subject: subject.index,
                    dose: 1,
                    by_agent: parent.is_some(),
                    after_timeout: retry,
                });
            }
            // Somebody took the last place first: search again.
            Err(s) if s.code() == tonic::Code::FailedPrecondition && attempt < 2 => {
                tokio::time::sleep(ctx.think(rng)).await;
                match book::search(ctx, session, subject.region_code, rng).await {
                    Ok((_, other)) => slot = other,
                    Err(reason) => {
                        ctx.rec.dropped(Stage::Book, &format!("full_then_{reason}"));
                        return None;
                    }
                }
            }
            Err(s) => {
                ctx.rec.dropped(Stage::Book, &format!("{:?}", s.code()));
                return None;
            }
        }
    }
    None
}

/// Records the stage as entered while `step` runs, then passed or dropped
/// with the reason.
async fn stage<T>(ctx: &Ctx, stage: Stage, step: impl std::future::Future<Output = Result<T, String>>) -> Option<T> {
    ctx.rec.entered(stage);
    finish(ctx, stage, step.await)
}

fn finish<T>(ctx: &Ctx, stage: Stage, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(v) => {
            ctx.rec.passed(stage);
            Some(v)
        }
        Err(reason) => {
            ctx.rec.dropped(stage, &reason);
            None
        }
    }
}

/// Done: the seat goes back at once (a booking has ended it already; a
/// second end is harmless).
async fn end_session(ctx: &Ctx, session: &Session, ticket: &str) {
    ctx.rec.entered(Stage::EndSession);
    match end_quietly(ctx, session, ticket).await {
        Ok(_) => ctx.rec.passed(Stage::EndSession),
        Err(s) => ctx.rec.dropped(Stage::EndSession, &format!("{:?}", s.code())),
    }
}

/// EndSession, outside the funnel (visits after the evening).
async fn end_quietly(ctx: &Ctx, session: &Session, ticket: &str) -> Result<adm::EndSessionResponse, tonic::Status> {
    let request = adm::EndSessionRequest { ticket: ticket.to_owned(), client_id: session.client_id.clone() };
    ctx.rec.call(Stage::EndSession, "admission/EndSession", ctx.queue().end_session(request)).await
}
