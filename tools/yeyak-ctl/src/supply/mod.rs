//! `yeyak-ctl clinics …` and `yeyak-ctl supply status`: supply changes
//! (docs/supply-changes.md). Inventory changes the catalogue (and audits it);
//! reservation moves the bookings, so a dry run asks both — inventory what
//! would close, reservation where its bookings would go — and a real change
//! is followed in reservation. The command line is `args`, the words and the
//! JSON are `report`.
pub mod args;
mod report;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tonic::Code;
use yeyak_proto::{
    inventory::v1::{self as inv, inventory_operator_service_client::InventoryOperatorServiceClient},
    reservation::v1::{self as res, supply_change_service_client::SupplyChangeServiceClient},
};

use self::{
    args::{ChangeFlags, ClinicsArgs, ClinicsCommand, Services, SupplyArgs, SupplyCommand, SupplyStatus},
    report as say,
};
use crate::{
    connect::{Authorized, Deployment},
    refused,
    report::Report,
};

/// How often a followed job is asked for news.
const POLL: Duration = Duration::from_secs(1);
/// How long a followed change may take to reach reservation (its event).
const START_WITHIN: Duration = Duration::from_secs(30);

type Reservation = SupplyChangeServiceClient<Authorized>;

pub(crate) async fn run(deployment: &Deployment, command: SupplyCommand) -> anyhow::Result<Report> {
    match command {
        SupplyCommand::Clinics(args) => clinics(deployment, args).await,
        SupplyCommand::Supply(SupplyArgs { services, command: SupplyStatus::Status { change_id, wait } }) => {
            let mut client = reservation(deployment, &services)?;
            let status = if wait { follow(&mut client, &change_id).await? } else { status(&mut client, &change_id).await? };
            Ok(say::status(&status))
        }
    }
}

/// A close or a vaccine change, as both services take it.
struct Change {
    scope: inv::SlotScope,
    new_vaccine: Option<String>,
    flags: ChangeFlags,
}

async fn clinics(deployment: &Deployment, args: ClinicsArgs) -> anyhow::Result<Report> {
    let ClinicsArgs { services, command } = args;
    let scope =
        |clinic_id: String, date: Option<String>, from: Option<String>, to: Option<String>, vaccine: Option<String>| inv::SlotScope {
            clinic_id,
            date: date.unwrap_or_default(),
            from_local_time: from.unwrap_or_default(),
            to_local_time: to.unwrap_or_default(),
            vaccine_code: vaccine.unwrap_or_default(),
        };
    let change = match command {
        ClinicsCommand::CloseDay { clinic, date, change } => {
            Change { scope: scope(clinic, Some(date), None, None, None), new_vaccine: None, flags: change }
        }
        ClinicsCommand::CloseSlots { clinic, from, to, vaccine, change } => {
            Change { scope: scope(clinic, None, Some(from), Some(to), vaccine), new_vaccine: None, flags: change }
        }
        ClinicsCommand::ChangeVaccine { clinic, date, from, to, vaccine, new_vaccine, change } => {
            Change { scope: scope(clinic, date, from, to, vaccine), new_vaccine: Some(new_vaccine), flags: change }
        }
        ClinicsCommand::ResizeSlot { slot, capacity, dry } => {
            let mut client = InventoryOperatorServiceClient::new(deployment.operator_channel(&services.inventory)?);
            let request = inv::ResizeSlotRequest { slot_id: slot, capacity, dry_run: dry.dry_run };
            return Ok(say::resized(&client.resize_slot(request).await.map_err(refused)?.into_inner()));
        }
    };
    let catalogue = change_catalogue(deployment, &services, &change).await?;
    if change.flags.dry_run {
        let s = &change.scope;
        let request = res::PlanSupplyChangeRequest {
            clinic_id: s.clinic_id.clone(),
            date: s.date.clone(),
            from_local_time: s.from_local_time.clone(),
            to_local_time: s.to_local_time.clone(),
            vaccine_code: s.vaccine_code.clone(),
            new_vaccine_code: change.new_vaccine.clone().unwrap_or_default(),
            max_move_days: change.flags.max_move_days,
        };
        let plan = reservation(deployment, &services)?.plan_supply_change(request).await.map_err(refused)?.into_inner();
        return Ok(say::dry_run(&catalogue, &plan, change.new_vaccine.as_deref()));
    }
    if catalogue.change_id.is_empty() || !change.flags.wait {
        return Ok(say::changed(&catalogue, change.new_vaccine.as_deref(), None));
    }
    let done = follow(&mut reservation(deployment, &services)?, &catalogue.change_id).await?;
    Ok(say::changed(&catalogue, change.new_vaccine.as_deref(), Some(&done)))
}

/// CloseSlots or ChangeVaccine, dry or not.
async fn change_catalogue(deployment: &Deployment, services: &Services, change: &Change) -> anyhow::Result<inv::SupplyChange> {
    let mut client = InventoryOperatorServiceClient::new(deployment.operator_channel(&services.inventory)?);
    let (scope, days, dry_run) = (Some(change.scope.clone()), change.flags.max_move_days, change.flags.dry_run);
    let answer = match &change.new_vaccine {
        None => {
            let request = inv::CloseSlotsRequest { scope, max_move_days: days, dry_run };
            client.close_slots(request).await.map_err(refused)?.into_inner().change
        }
        Some(vaccine) => {
            let request = inv::ChangeVaccineRequest { scope, new_vaccine_code: vaccine.clone(), max_move_days: days, dry_run };
            client.change_vaccine(request).await.map_err(refused)?.into_inner().change
        }
    };
    answer.ok_or_else(|| anyhow::anyhow!("inventory answered without the change"))
}

fn reservation(deployment: &Deployment, services: &Services) -> anyhow::Result<Reservation> {
    Ok(SupplyChangeServiceClient::new(deployment.operator_channel(&services.reservation)?))
}

async fn status(client: &mut Reservation, change_id: &str) -> anyhow::Result<res::GetSupplyChangeResponse> {
    let request = res::GetSupplyChangeRequest { change_id: change_id.to_owned() };
    match client.get_supply_change(request).await {
        Ok(answer) => Ok(answer.into_inner()),
        Err(s) if s.code() == Code::NotFound => Err(anyhow::anyhow!(
            "NotFound: reservation has no supply change {change_id} (yet: a change reaches it within seconds of being made; check the id)"
        )),
        Err(s) => Err(refused(s)),
    }
}

/// Follows a job to its end: the bar counts the bookings handled. A change
/// that has not reached reservation yet is waited for, a while.
async fn follow(client: &mut Reservation, change_id: &str) -> anyhow::Result<res::GetSupplyChangeResponse> {
    let asked = Instant::now();
    let mut now = loop {
        match status(client, change_id).await {
            Ok(now) => break now,
            Err(_) if asked.elapsed() < START_WITHIN => tokio::time::sleep(POLL).await,
            Err(e) => return Err(e),
        }
    };
    let bar = ProgressBar::new(u64::from(now.total));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} bookings, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("supply change {change_id}"));
    while now.state != res::SupplyChangeState::Done as i32 {
        bar.set_position(u64::from(now.total.saturating_sub(now.pending)));
        tokio::time::sleep(POLL).await;
        now = status(client, change_id).await?;
    }
    bar.set_position(u64::from(now.total));
    bar.finish_with_message(format!("supply change {change_id} done"));
    Ok(now)
}
