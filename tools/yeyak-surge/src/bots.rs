//! Bots: many entries from one client at the opening second, and calls
//! with passes they did not earn (made up, or copied from an admitted
//! citizen and presented from another device).
use std::time::Duration;

use base64::Engine as _;
use yeyak_dev::demo::Session;
use yeyak_platform::tokens::dpop::DeviceKey;
use yeyak_proto::{admission::v1 as adm, inventory::v1 as inv};

use crate::{
    citizen,
    ctx::Ctx,
    recorder::{Person, Stage},
};

/// Bot addresses are far from the citizens' (`ctx::source_address`).
const BOT_ADDRESSES: u64 = 0x00ff_0000;

/// One bot client: `joins_per_client` entries as fast as it can, then each
/// accepted entry waits like a patient person.
pub(crate) async fn entries(ctx: &Ctx, bot: u64) {
    let client_id = format!("{}-bot{bot}", ctx.run_tag);
    let device = DeviceKey::generate();
    let mut accepted = Vec::new();
    for _ in 0..ctx.scenario.bots.joins_per_client {
        let joined = citizen::join(ctx, BOT_ADDRESSES + bot, &client_id, &device, "").await;
        ctx.rec.bot_join(joined.is_ok());
        if let Ok(joined) = joined {
            accepted.push((joined, ctx.rec.now()));
        }
    }
    let waits = accepted.into_iter().map(|(joined, at)| wait(ctx, &client_id, joined, at));
    futures_util::future::join_all(waits).await;
}

async fn wait(ctx: &Ctx, client_id: &str, joined: adm::JoinQueueResponse, joined_at: f64) {
    let status = joined.status.unwrap_or_default();
    let mut me =
        Person { bot: true, arrival: joined_at, joined_at: Some(joined_at), position_at_join: status.position, ..Person::default() };
    while tokio::time::Instant::now() < ctx.deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let request = adm::GetQueueStatusRequest { ticket: joined.ticket.clone(), client_id: client_id.to_owned() };
        let polled = ctx.rec.call(Stage::Wait, "admission/GetQueueStatus", ctx.queue().get_queue_status(request)).await;
        if polled.ok().and_then(|r| r.status).is_some_and(|s| s.state == adm::QueueState::Admitted as i32) {
            me.admitted_at = Some(ctx.rec.now());
            let end = adm::EndSessionRequest { ticket: joined.ticket.clone(), client_id: client_id.to_owned() };
            let _ = ctx.queue().end_session(end).await;
            break;
        }
    }
    me.left_queue_at = Some(ctx.rec.now());
    ctx.rec.person(me);
}

/// One call to inventory with a pass the bot did not earn. A copied pass
/// is taken from a citizen whose session is open, and only counts when
/// the citizen's own call with it works just before: copying an ended
/// session would prove nothing. Refused means `UNAUTHENTICATED` or
/// `PERMISSION_DENIED`; any other answer leaves the attempt uncounted.
pub(crate) async fn stolen_pass(ctx: &Ctx, i: u64, copied: bool) {
    let session = if copied {
        let Some(victim) = ctx.some_live(i as usize) else { return };
        if list_regions(ctx, &victim).await.is_err() {
            return;
        }
        // Everything copied but the device key, which never leaves the victim's device.
        Session { device: DeviceKey::generate(), ..victim }
    } else {
        let made_up = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        Session { client_id: format!("{}-forger{i}", ctx.run_tag), pass: format!("v1.{made_up}.{made_up}"), device: DeviceKey::generate() }
    };
    let kind = if copied { "copied" } else { "forged" };
    match list_regions(ctx, &session).await {
        Ok(()) => ctx.rec.stolen_pass(kind, true),
        Err(tonic::Code::Unauthenticated | tonic::Code::PermissionDenied) => ctx.rec.stolen_pass(kind, false),
        Err(_) => {}
    }
}

async fn list_regions(ctx: &Ctx, session: &Session) -> Result<(), tonic::Code> {
    let request = session
        .request(inv::ListRegionsRequest {}, inv::inventory_service_server::SERVICE_NAME, "ListRegions")
        .map_err(|_| tonic::Code::InvalidArgument)?;
    let mut client = inv::inventory_service_client::InventoryServiceClient::new(ctx.targets.inventory.get());
    client.list_regions(request).await.map(drop).map_err(|s| s.code())
}
