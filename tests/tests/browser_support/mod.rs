//! The browser test's other half: the people the script plays (real
//! entries of the synthetic registry), and what it asks of the world while
//! it runs, one JSON line each way:
//! `@control {"op":"pause"|"resume"}` (an operator pauses or resumes the
//! line) and `@control {"op":"fill","slot_id":…}` (other citizens take
//! every place left in a slot, through the public APIs as the demo books).
use std::{path::Path, process::ExitStatus, process::Stdio};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use yeyak_e2e::stack::{Stack, REGISTRY_SEED};
use yeyak_platform::grpc::client;
use yeyak_proto::{admission::v1 as adm, reservation::v1 as res};

/// Who the script books as: people who may book dose 1, and one the registry does not insure.
pub(crate) fn people(stack: &Stack) -> serde_json::Value {
    let person = |p: yeyak_dev::demo::Person| serde_json::json!({"name": p.name, "rrn": p.rrn, "phone": p.phone});
    let uninsured = (0..stack.registry_count)
        .map(|i| mock_registry::person(REGISTRY_SEED, i))
        .find(|p| !p.insured)
        .expect("the registry has an uninsured person");
    serde_json::json!({
        "me": person(stack.bookable_person(0)),
        "agent": person(stack.bookable_person(1)),
        "parent": person(stack.bookable_person(2)),
        "uninsured": {"name": uninsured.name, "rrn": uninsured.rrn.expose(), "phone": uninsured.phone},
    })
}

pub(crate) struct Control<'a> {
    stack: &'a Stack,
    /// The next registry entry other citizens book as.
    next_person: usize,
    pub(crate) filled: usize,
}

impl<'a> Control<'a> {
    pub(crate) fn new(stack: &'a Stack) -> Self {
        Self { stack, next_person: 10, filled: 0 }
    }

    /// Opens the line the page joins to change or cancel a booking (the
    /// static server's default `<queue>-changes`), as an operator creates
    /// an event: a booking ends its session, and one person holds one
    /// place per event.
    pub(crate) async fn open_changes_line(&self) -> anyhow::Result<()> {
        let ep = &self.stack.endpoints;
        let mut operator = adm::admission_operator_service_client::AdmissionOperatorServiceClient::new(client::channel(
            &ep.admission,
            &client::ClientSettings::default(),
        )?);
        let now = std::time::SystemTime::now();
        let event = adm::BookingEvent {
            event_id: format!("{}-changes", ep.queue_id),
            title: "changes and cancellations".into(),
            opens_at: Some(now.into()),
            admission_rate_per_second: 50.0,
            max_active_sessions: 1_000,
            ..Default::default()
        };
        let token = &self.stack.keys.operator_token;
        operator.create_event(bearer(token, adm::CreateEventRequest { event: Some(event), dry_run: false })?).await?;
        Ok(())
    }

    async fn handle(&mut self, request: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let ep = &self.stack.endpoints;
        let ch = client::channel(&ep.admission, &client::ClientSettings::default())?;
        let mut operator = adm::admission_operator_service_client::AdmissionOperatorServiceClient::new(ch);
        let token = &self.stack.keys.operator_token;
        match request["op"].as_str() {
            Some("pause") => {
                drop(operator.pause_admission(bearer(token, adm::PauseAdmissionRequest { queue_id: ep.queue_id.clone() })?).await?)
            }
            Some("resume") => {
                drop(operator.resume_admission(bearer(token, adm::ResumeAdmissionRequest { queue_id: ep.queue_id.clone() })?).await?)
            }
            Some("fill") => {
                let slot = request["slot_id"].as_str().context("fill needs slot_id")?;
                let booked = self.fill(slot).await?;
                return Ok(serde_json::json!({"ok": true, "booked": booked}));
            }
            other => anyhow::bail!("unknown op {other:?}"),
        }
        Ok(serde_json::json!({"ok": true}))
    }

    /// Books `slot` until the ledger says it is full; the number of bookings made.
    async fn fill(&mut self, slot: &str) -> anyhow::Result<usize> {
        let ep = &self.stack.endpoints;
        let quiet = |_: String| {};
        for booked in 0..64 {
            let person = self.stack.bookable_person(self.next_person);
            self.next_person += 1;
            let session = yeyak_dev::demo::admit(ep, &quiet).await?;
            let verified = yeyak_dev::demo::verify(ep, &person, &session, &quiet).await?;
            let mut reservations = res::reservation_service_client::ReservationServiceClient::new(client::channel(
                &ep.reservation,
                &client::ClientSettings::default(),
            )?);
            let request = res::CreateReservationRequest {
                idempotency_key: format!("fill-{}", uuid::Uuid::new_v4().simple()),
                slot_id: slot.to_owned(),
                identity_assertion: verified.identity_assertion,
                dose_number: 1,
                contact_phone: person.phone.clone(),
                ..Default::default()
            };
            let call = session.request(request, res::reservation_service_server::SERVICE_NAME, "CreateReservation")?;
            match reservations.create_reservation(call).await {
                Ok(_) => continue,
                Err(s) if s.code() == tonic::Code::FailedPrecondition && s.message().contains("slot is full") => {
                    self.filled += 1;
                    return Ok(booked);
                }
                Err(s) => anyhow::bail!("booking to fill {slot}: {s:?}"),
            }
        }
        anyhow::bail!("{slot} still has places after 64 bookings")
    }
}

/// `msg` as an operator sends it (the stack's operator token).
fn bearer<T>(token: &str, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
    Ok(r)
}

/// Runs the script with `env`, answering its control lines; its exit status.
pub(crate) async fn run_script(script: &Path, env: &[(&str, String)], control: &mut Control<'_>) -> anyhow::Result<ExitStatus> {
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node (scripts/bootstrap.sh installs it)")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    while let Some(line) = lines.next_line().await? {
        let Some(request) = line.strip_prefix("@control ") else {
            println!("{line}");
            continue;
        };
        let request: serde_json::Value = serde_json::from_str(request)?;
        let reply = match control.handle(&request).await {
            Ok(reply) => reply,
            Err(e) => serde_json::json!({"ok": false, "error": format!("{e:#}")}),
        };
        println!("control {request} -> {reply}");
        stdin.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(child.wait().await?)
}
