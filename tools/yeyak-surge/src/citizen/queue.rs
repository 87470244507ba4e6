//! The waiting room as a person sees it: join, poll when the server says,
//! maybe lose the connection and come back with the ticket, maybe give up.
use std::time::Duration;

use rand::{rngs::StdRng, Rng as _};
use yeyak_dev::demo::Session;
use yeyak_platform::tokens::dpop::DeviceKey;
use yeyak_proto::admission::v1 as adm;

use super::Plan;
use crate::{
    ctx::{source_address, Ctx},
    recorder::{Person, Stage},
};

const JOIN: &str = "admission/JoinQueue";
const STATUS: &str = "admission/GetQueueStatus";

/// The waiting room's answer: admitted (with a session and the ticket), or
/// the reason the person stopped.
pub(super) enum Waited {
    Admitted(Box<(Session, String)>),
    Stopped,
}

/// Joins the run's event as `client_id` with `device`; `ticket` to present
/// an earlier one.
pub(crate) async fn join(
    ctx: &Ctx,
    index: u64,
    client_id: &str,
    device: &DeviceKey,
    ticket: &str,
) -> Result<adm::JoinQueueResponse, tonic::Status> {
    join_event(ctx, &ctx.queue_id, index, client_id, device, ticket).await
}

async fn join_event(
    ctx: &Ctx,
    event: &str,
    index: u64,
    client_id: &str,
    device: &DeviceKey,
    ticket: &str,
) -> Result<adm::JoinQueueResponse, tonic::Status> {
    let mut request = tonic::Request::new(adm::JoinQueueRequest {
        queue_id: event.to_owned(),
        client_id: client_id.to_owned(),
        existing_ticket: ticket.to_owned(),
        identity_assertion: String::new(),
    });
    if let Ok(source) = source_address(index).parse() {
        request.metadata_mut().insert("x-forwarded-for", source);
    }
    device.sign_request(&mut request, &format!("/{}/JoinQueue", adm::admission_service_server::SERVICE_NAME));
    ctx.rec.call(Stage::Join, JOIN, ctx.queue().join_queue(request)).await
}

/// Joins, then polls at the times the server suggests until admitted.
pub(super) async fn wait(ctx: &Ctx, plan: &Plan, me: &mut Person, rng: &mut StdRng) -> Waited {
    let client_id = format!("{}-c{}", ctx.run_tag, plan.index);
    let device = DeviceKey::generate();
    ctx.rec.entered(Stage::Join);
    let joined = match join_retrying(ctx, plan.index, &client_id, &device).await {
        Ok(joined) => joined,
        Err(code) => {
            ctx.rec.dropped(Stage::Join, &code);
            return Waited::Stopped;
        }
    };
    ctx.rec.passed(Stage::Join);
    ctx.rec.entered(Stage::Wait);
    let now = ctx.rec.now();
    me.joined_at = Some(now);
    let mut status = joined.status.unwrap_or_default();
    me.position_at_join = status.position;
    me.predicted_at_join = status.estimated_wait_seconds.map(|s| s as f64);
    let gives_up_at = plan.abandon_after.map(|a| now + a);
    let mut reconnect_at = plan.reconnect_after.map(|a| now + a);
    let patience = now + ctx.scenario.limits.patience_seconds as f64;
    loop {
        if status.state == adm::QueueState::Admitted as i32 {
            let at = ctx.rec.now();
            me.admitted_at = Some(at);
            me.left_queue_at = Some(at);
            ctx.rec.passed(Stage::Wait);
            let session = Session { client_id, pass: status.admission_pass, device };
            return Waited::Admitted(Box::new((session, joined.ticket)));
        }
        if status.state == adm::QueueState::Waiting as i32 {
            if let Some(w) = status.estimated_wait_seconds {
                me.polls.push((ctx.rec.now(), w as f64));
            }
        }
        let wait = next_poll(&status, rng);
        let at = ctx.rec.now() + wait.as_secs_f64();
        let stop = match gives_up_at {
            Some(g) if g < at => Some("abandoned"),
            _ if at > patience || tokio::time::Instant::now() + wait > ctx.deadline => Some("gave_up"),
            _ => None,
        };
        if let Some(reason) = stop {
            me.left_queue_at = Some(ctx.rec.now());
            me.gave_up = true;
            ctx.rec.dropped(Stage::Wait, reason);
            return Waited::Stopped;
        }
        tokio::time::sleep(wait).await;
        let polled = match reconnect_at.take_if(|r| *r <= ctx.rec.now()) {
            // Back after a lost connection: the same client and ticket.
            Some(_) => join(ctx, plan.index, &client_id, &device, &joined.ticket).await.map(|r| r.status),
            None => {
                let request = adm::GetQueueStatusRequest { ticket: joined.ticket.clone(), client_id: client_id.clone() };
                ctx.rec.call(Stage::Wait, STATUS, ctx.queue().get_queue_status(request)).await.map(|r| r.status)
            }
        };
        match polled {
            Ok(Some(s)) => status = s,
            // A failed poll is retried at the next tick, as a page would.
            Ok(None) | Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// A join refused for load (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`) is retried
/// after the server's hint, three times at most.
async fn join_retrying(ctx: &Ctx, index: u64, client_id: &str, device: &DeviceKey) -> Result<adm::JoinQueueResponse, String> {
    let mut tries = 0;
    loop {
        match join(ctx, index, client_id, device, "").await {
            Ok(joined) => return Ok(joined),
            Err(s) if tries < 3 && matches!(s.code(), tonic::Code::ResourceExhausted | tonic::Code::Unavailable) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500 * tries)).await;
            }
            Err(s) => return Err(format!("{:?}", s.code())),
        }
    }
}

/// The server's suggested next poll, kept within 0.2–10 s, with a little
/// jitter so a crowd told the same instant does not come back together.
fn next_poll(status: &adm::QueueStatus, rng: &mut StdRng) -> Duration {
    let now = std::time::SystemTime::now();
    let suggested = status
        .next_poll_after
        .as_ref()
        .and_then(|t| std::time::SystemTime::try_from(*t).ok())
        .and_then(|t| t.duration_since(now).ok())
        .unwrap_or(Duration::from_secs(1));
    suggested.clamp(Duration::from_millis(200), Duration::from_secs(10)) + Duration::from_millis(rng.gen_range(0..100))
}

/// A visit outside the evening's funnel (the checker, a person coming back
/// to check their booking): joins `event` as `client_id` and polls until
/// admitted, for at most two minutes. The session and its ticket.
pub(crate) async fn admit_quietly(ctx: &Ctx, event: &str, index: u64, client_id: &str) -> anyhow::Result<(Session, String)> {
    let device = DeviceKey::generate();
    let joined = join_event(ctx, event, index, client_id, &device, "").await.map_err(|s| anyhow::anyhow!("JoinQueue: {:?}", s.code()))?;
    let mut status = joined.status.unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while status.state != adm::QueueState::Admitted as i32 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "not admitted within 120 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let request = adm::GetQueueStatusRequest { ticket: joined.ticket.clone(), client_id: client_id.to_owned() };
        if let Some(s) = ctx.rec.call(Stage::Wait, STATUS, ctx.queue().get_queue_status(request)).await.ok().and_then(|r| r.status) {
            status = s;
        }
    }
    Ok((Session { client_id: client_id.to_owned(), pass: status.admission_pass, device }, joined.ticket))
}
