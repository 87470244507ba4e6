//! The world of the supply-change tests: the real inventory (in this
//! process, with operators), the reservation service as a real child
//! process (`yeyak-reservation`, killed with SIGKILL where a test says so),
//! RabbitMQ, and bookings written straight into reservation's database (its
//! ledger and reservations kept consistent, and inventory's read model
//! counting them as if their confirmations had been applied), because ten
//! thousand CreateReservation calls would test the booking path, not this.
#![allow(dead_code, clippy::unwrap_used)]
use std::{collections::HashSet, net::SocketAddr, process::Stdio, time::Duration};

use chrono::{Days, NaiveDate, Utc};
use inventory::domain::catalogue::{self, DemoClinic, DemoSlot};
use sqlx::PgPool;
use tonic::{transport::Channel, Request};
use uuid::Uuid;
use yeyak_platform::{
    booking_code::BookingCode,
    config::Env,
    db::{self, DatabaseSettings},
    messaging::{self, AmqpSettings},
    Shutdown,
};
use yeyak_proto::{
    inventory::v1::{self as inv, inventory_operator_service_client::InventoryOperatorServiceClient},
    reservation::v1::{self as pb, supply_change_service_client::SupplyChangeServiceClient},
};

use crate::common::{self, Keys, Tap};

pub(crate) const OPERATOR_TOKEN: &str = "ops-token-for-the-supply-tests-0001";
const OPERATORS: &str = "kim.ops:operator:ops-token-for-the-supply-tests-0001";

pub(crate) struct World {
    pub tag: String,
    pub keys: Keys,
    pub amqp: AmqpSettings,
    pub tap: Tap,
    pub inventory_addr: SocketAddr,
    pub inventory_internal: SocketAddr,
    pub inventory: PgPool,
    inventory_db: DatabaseSettings,
    inventory_stop: Shutdown,
    inventory_task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub reservation_url: String,
    /// Reservation's database.
    pub pool: PgPool,
    /// The first day of the catalogue (tomorrow in Seoul).
    pub first_day: NaiveDate,
}

/// A `yeyak-reservation` process.
pub(crate) struct Process {
    child: tokio::process::Child,
    pub addr: SocketAddr,
}

/// A clinic of province 50 (Jeju: two districts, two clinics each at two
/// per district), so that own clinic, district and province all exist.
pub(crate) fn jeju_clinic(district: &str, n: usize) -> DemoClinic {
    catalogue::clinics(2).into_iter().filter(|c| c.district_code == district).nth(n).unwrap()
}

/// A clinic of Jeju offering `vaccine` (the tests that need the mRNA pair).
pub(crate) fn jeju_clinic_offering(vaccine: &str) -> Option<DemoClinic> {
    catalogue::clinics(2).into_iter().find(|c| c.province_code == "50" && c.vaccines.contains(&vaccine))
}

impl World {
    pub(crate) async fn start(days: u32) -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let keys = Keys::generate(&tag);
        let amqp = AmqpSettings::for_test(&tag);
        let inventory_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_inv");
        let env = Env::from_pairs([
            ("GRPC_ADDR", "127.0.0.1:0".to_string()),
            ("INTERNAL_GRPC_ADDR", "127.0.0.1:0".to_string()),
            ("METRICS_ADDR", "off".to_string()),
            ("DATABASE_URL", inventory_url.clone()),
            ("DATABASE_MAX_CONNECTIONS", "6".to_string()),
            ("AMQP_EXCHANGE", amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
            ("CACHE_ENABLED", "false".to_string()),
            ("TRUSTED_KEYS", keys.trusted()),
            ("OPERATORS", OPERATORS.to_string()),
            ("SEED_CLINICS_PER_DISTRICT", "2".to_string()),
            ("SEED_DAYS", days.to_string()),
        ]);
        let first_day = inventory::domain::today_seoul(Utc::now()) + Days::new(1);
        let tap = Tap::bind(&amqp.exchange).await;
        let app = inventory::startup::Application::build(inventory::config::Config::from_env(&env).unwrap()).await.unwrap();
        let (inventory_addr, inventory_internal) = (app.grpc_addr(), app.internal_grpc_addr());
        let inventory = app.store().pool().clone();
        let inventory_stop = Shutdown::new();
        let inventory_task = tokio::spawn(app.run_until_stopped(inventory_stop.clone()));
        let reservation_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_res");
        let settings = DatabaseSettings::with_url(reservation_url.clone());
        reservation::startup::migrate(&settings).await.unwrap();
        let pool = db::connect(&settings, false).await.unwrap();
        World {
            tag,
            keys,
            amqp,
            tap,
            inventory_addr,
            inventory_internal,
            inventory,
            inventory_db: DatabaseSettings::with_url(inventory_url),
            inventory_stop,
            inventory_task,
            reservation_url,
            pool,
            first_day,
        }
    }

    /// Starts `yeyak-reservation` on the test's database with `workers`
    /// supply-change workers.
    pub(crate) async fn spawn_reservation(&self, workers: usize) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_yeyak-reservation"))
            .env_clear()
            .env("RUST_LOG", "warn")
            .env("YEYAK_ENV", "dev")
            .env("YEYAK_GRPC_ADDR", addr.to_string())
            .env("YEYAK_METRICS_ADDR", "off")
            .env("YEYAK_DATABASE_URL", &self.reservation_url)
            .env("YEYAK_DATABASE_MAX_CONNECTIONS", "8")
            .env("YEYAK_AMQP_EXCHANGE", &self.amqp.exchange)
            .env("YEYAK_AMQP_QUEUE_PREFIX", &self.amqp.queue_prefix)
            .env("YEYAK_TRUSTED_KEYS", self.keys.trusted())
            .env("YEYAK_CONTACT_PUBLIC_KEY", self.keys.contact.sealer().public_entry())
            .env("YEYAK_QUEUE_IDS", "demo")
            .env("YEYAK_ELIGIBILITY_ADDR", "127.0.0.1:9")
            .env("YEYAK_INVENTORY_ADDR", self.inventory_internal.to_string())
            .env("YEYAK_OPERATORS", OPERATORS)
            .env("YEYAK_SUPPLY_WORKERS", workers.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start yeyak-reservation");
        common::eventually(Duration::from_secs(30), "yeyak-reservation to listen", || async {
            tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
        })
        .await;
        Process { child, addr }
    }

    /// `clinic`'s slots of `vaccine` over `days` days from `from`.
    pub(crate) fn slots(&self, clinic: &DemoClinic, vaccine: &str, from: NaiveDate, days: u32) -> Vec<DemoSlot> {
        catalogue::slots(clinic, from, days).into_iter().filter(|s| s.vaccine_code == vaccine).collect()
    }

    /// Sets the catalogue's size of `slots` (and their day summaries).
    pub(crate) async fn set_capacity(&self, clinic: &DemoClinic, slots: &[DemoSlot], capacity: i32) {
        let ids: Vec<Uuid> = slots.iter().map(|s| s.slot_id).collect();
        sqlx::query("UPDATE slots SET capacity = $2 WHERE slot_id = ANY($1)")
            .bind(&ids)
            .bind(capacity)
            .execute(&self.inventory)
            .await
            .unwrap();
        self.recompute_days(clinic.clinic_id).await;
    }

    /// Sets the size of every slot of Jeju's other clinics (so a test knows
    /// how many places its neighbours offer).
    pub(crate) async fn set_neighbours_capacity(&self, clinic: &DemoClinic, capacity: i32) {
        let others: Vec<Uuid> = catalogue::clinics(2)
            .iter()
            .filter(|c| c.province_code == "50" && c.clinic_id != clinic.clinic_id)
            .map(|c| c.clinic_id)
            .collect();
        sqlx::query("UPDATE slots SET capacity = $2 WHERE clinic_id = ANY($1)")
            .bind(&others)
            .bind(capacity)
            .execute(&self.inventory)
            .await
            .unwrap();
        for other in others {
            self.recompute_days(other).await;
        }
    }

    /// The day summaries of a clinic as its slots add up.
    async fn recompute_days(&self, clinic: Uuid) {
        sqlx::query(
            "UPDATE daily_availability d SET capacity = s.cap, booked = s.taken
             FROM (SELECT clinic_id, vaccine_code, local_date, sum(capacity)::int AS cap,
                          sum(least(greatest(booked, 0), capacity))::int AS taken
                   FROM slots WHERE clinic_id = $1 GROUP BY 1, 2, 3) s
             WHERE (d.clinic_id, d.vaccine_code, d.local_date) = (s.clinic_id, s.vaccine_code, s.local_date)",
        )
        .bind(clinic)
        .execute(&self.inventory)
        .await
        .unwrap();
    }

    /// `per_slot` confirmed bookings on each of `slots` (their size set to
    /// fit), one person each, every fifth a second dose (which only moves
    /// later); with `phones`, each sealed to a number of its own (`010` + 8
    /// digits from the person's index). Returns the ids.
    pub(crate) async fn seed_bookings(&self, clinic: &DemoClinic, slots: &[DemoSlot], per_slot: i32, phones: bool) -> Vec<Uuid> {
        self.set_capacity(clinic, slots, per_slot).await;
        let ids: Vec<Uuid> = slots.iter().map(|s| s.slot_id).collect();
        sqlx::query("UPDATE slots SET booked = $2 WHERE slot_id = ANY($1)")
            .bind(&ids)
            .bind(per_slot)
            .execute(&self.inventory)
            .await
            .unwrap();
        self.recompute_days(clinic.clinic_id).await;
        let clinic_id = clinic.clinic_id.to_string();
        for s in slots {
            sqlx::query(
                "INSERT INTO slot_ledger (slot_id, capacity, booked, clinic_id, clinic_name, vaccine_code, starts_at) VALUES ($1, $2, $2, $3, $4, $5, $6)",
            )
            .bind(s.slot_id)
            .bind(per_slot)
            .bind(&clinic_id)
            .bind(&clinic.name)
            .bind(s.vaccine_code)
            .bind(s.starts_at)
            .execute(&self.pool)
            .await
            .unwrap();
        }
        let mut codes = HashSet::new();
        let (mut rid, mut subject, mut key, mut slot, mut vaccine, mut starts, mut sealed, mut code, mut dose) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut rng = rand::thread_rng();
        for (n, s) in slots.iter().enumerate() {
            for i in 0..per_slot {
                let person = n * per_slot as usize + i as usize;
                let id = Uuid::now_v7();
                rid.push(id);
                subject.push(format!("subject-{}-{person}", &self.tag[..8]));
                key.push(format!("key-{person:08}"));
                slot.push(s.slot_id);
                vaccine.push(s.vaccine_code.to_owned());
                starts.push(s.starts_at);
                sealed.push(phones.then(|| self.keys.contact.sealer().seal(id.as_bytes(), &phone(person))));
                let fresh =
                    std::iter::repeat_with(|| BookingCode::generate(&mut rng)).find(|c| codes.insert(c.as_str().to_owned())).unwrap();
                code.push(fresh.as_str().to_owned());
                dose.push(if person % 5 == 4 { 2 } else { 1 });
            }
        }
        sqlx::query(
            "INSERT INTO reservations (reservation_id, subject_id, agent_subject_id, idempotency_key, request_hash, slot_id, clinic_id,
                                       clinic_name, vaccine_code, dose_number, starts_at, sealed_contact, state, created_at, updated_at, booking_code)
             SELECT r, s, '', k, '\\x00', sl, $8, $9, v, d, st, sc, 'confirmed', now(), now(), c
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[], $7::bytea[], $10::text[], $11::int[])
                  AS u(r, s, k, sl, v, st, sc, c, d)",
        )
        .bind(&rid)
        .bind(&subject)
        .bind(&key)
        .bind(&slot)
        .bind(&vaccine)
        .bind(&starts)
        .bind(&sealed)
        .bind(&clinic_id)
        .bind(&clinic.name)
        .bind(&code)
        .bind(&dose)
        .execute(&self.pool)
        .await
        .unwrap();
        rid
    }

    pub(crate) async fn operator_client(&self) -> InventoryOperatorServiceClient<Channel> {
        InventoryOperatorServiceClient::connect(format!("http://{}", self.inventory_addr)).await.unwrap()
    }

    /// CloseSlots of `clinic`'s `day`, as the operator.
    pub(crate) async fn close_day(&self, clinic: &DemoClinic, day: NaiveDate, dry_run: bool) -> inv::SupplyChange {
        let scope = inv::SlotScope { clinic_id: clinic.clinic_id.to_string(), date: day.to_string(), ..Default::default() };
        let request = operator(inv::CloseSlotsRequest { scope: Some(scope), max_move_days: 0, dry_run });
        self.operator_client().await.close_slots(request).await.unwrap().into_inner().change.unwrap()
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// The same in inventory's database.
    pub(crate) async fn inventory_count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.inventory).await.unwrap()
    }

    /// Items of the job handled so far.
    pub(crate) async fn handled(&self) -> i64 {
        self.count("SELECT count(*) FROM supply_change_items WHERE state <> 'pending'").await
    }

    /// Waits until the job `change_id` has started and finished.
    pub(crate) async fn wait_done(&self, change_id: &str, within: Duration) {
        let id = Uuid::parse_str(change_id).unwrap();
        common::eventually(within, "the supply change to finish", || async {
            let state: Option<String> = sqlx::query_scalar("SELECT state FROM supply_changes WHERE change_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .unwrap();
            (state.as_deref() == Some("done")).then_some(())
        })
        .await;
    }

    pub(crate) async fn stop(self) {
        self.stop_with(&[]).await;
    }

    /// Stops and deletes `queues` of other consumers too.
    pub(crate) async fn stop_with(self, queues: &[&str]) {
        self.inventory_stop.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.inventory_task).await.unwrap().unwrap().unwrap();
        self.pool.close().await;
        db::drop_database(&DatabaseSettings::with_url(self.reservation_url.clone())).await.unwrap();
        db::drop_database(&self.inventory_db).await.unwrap();
        let mut all =
            vec!["inventory.availability", reservation::consumers::slot_sizes::QUEUE, reservation::consumers::supply_changes::QUEUE];
        all.extend_from_slice(queues);
        messaging::delete_namespace(&self.amqp, &all).await.unwrap();
        self.tap.close().await;
    }
}

impl Process {
    pub(crate) async fn supply(&self) -> SupplyChangeServiceClient<Channel> {
        SupplyChangeServiceClient::connect(format!("http://{}", self.addr)).await.unwrap()
    }

    /// PlanSupplyChange of closing `clinic`'s `day`.
    pub(crate) async fn plan_close(&self, clinic: &DemoClinic, day: NaiveDate) -> pb::PlanSupplyChangeResponse {
        let request = pb::PlanSupplyChangeRequest { clinic_id: clinic.clinic_id.to_string(), date: day.to_string(), ..Default::default() };
        self.supply().await.plan_supply_change(operator(request)).await.unwrap().into_inner()
    }

    /// SIGKILL: no drain, nothing.
    pub(crate) async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// A request carrying the operator's token.
pub(crate) fn operator<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {OPERATOR_TOKEN}").parse().unwrap());
    request
}

/// The phone number of person `n`.
pub(crate) fn phone(n: usize) -> String {
    format!("010{:08}", 10_000_000 + n)
}
