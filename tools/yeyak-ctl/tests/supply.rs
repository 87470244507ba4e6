//! `yeyak-ctl clinics …` and `supply status`, through the real binary
//! against a real inventory and a real reservation service (PostgreSQL,
//! RabbitMQ): a dry run that changes nothing, a close followed to its end
//! with `--wait`, the same close again (nothing to do), a resize, and the
//! refusals (bad input naming its field, a support-only token, no token).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{run_ctl, Ran, OPERATOR, SUPPORT};
use inventory::domain::catalogue::{self, DemoClinic};
use sqlx::PgPool;
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    messaging::{self, AmqpSettings},
    Shutdown,
};

struct Stack {
    inventory: String,
    reservation: String,
    inventory_db: PgPool,
    reservation_db: PgPool,
    tag: String,
    stop: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Stack {
    async fn start() -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let amqp = AmqpSettings::for_test(&tag);
        let operators = format!("kim.ops:operator:{OPERATOR},lee.support:support:{SUPPORT}");
        let common = |db: &str| {
            vec![
                ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
                ("INTERNAL_GRPC_ADDR", "127.0.0.1:0".to_owned()),
                ("METRICS_ADDR", "off".to_owned()),
                ("DATABASE_URL", format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_{db}")),
                ("AMQP_EXCHANGE", amqp.exchange.clone()),
                ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
                ("OPERATORS", operators.clone()),
            ]
        };
        let mut inv = common("inv");
        inv.extend([("CACHE_ENABLED", "false".to_owned()), ("SEED_CLINICS_PER_DISTRICT", "2".to_owned()), ("SEED_DAYS", "2".to_owned())]);
        let inventory =
            inventory::startup::Application::build(inventory::config::Config::from_env(&Env::from_pairs(inv)).unwrap()).await.unwrap();
        let (inventory_addr, internal, inventory_db) =
            (inventory.grpc_addr(), inventory.internal_grpc_addr(), inventory.store().pool().clone());
        let mut res = common("res");
        res.extend([("INVENTORY_ADDR", internal.to_string()), ("SUPPLY_WORKERS", "1".to_owned())]);
        let reservation =
            reservation::startup::Application::build(reservation::config::Config::from_env(&Env::from_pairs(res)).unwrap()).await.unwrap();
        let (reservation_addr, reservation_db) = (reservation.grpc_addr(), reservation.pool().clone());
        let stop = Shutdown::new();
        let tasks =
            vec![tokio::spawn(inventory.run_until_stopped(stop.clone())), tokio::spawn(reservation.run_until_stopped(stop.clone()))];
        Self {
            inventory: format!("http://{inventory_addr}"),
            reservation: format!("http://{reservation_addr}"),
            inventory_db,
            reservation_db,
            tag,
            stop,
            tasks,
        }
    }

    /// The addresses are the commands' own flags: they follow `clinics` or `supply`.
    fn ctl(&self, token: &str, args: &[&str]) -> Ran {
        let mut all: Vec<&str> = args.to_vec();
        let at = all.iter().position(|a| *a == "clinics" || *a == "supply").unwrap() + 1;
        all.splice(at..at, ["--inventory", self.inventory.as_str(), "--reservation", self.reservation.as_str()]);
        run_ctl(token, &all)
    }

    /// `count` confirmed bookings on `slot` of `clinic` (ledger and rows
    /// together; the booking codes drawn by the column's default).
    async fn book(&self, clinic: &DemoClinic, slot: &catalogue::DemoSlot, count: i32) {
        sqlx::query("UPDATE slots SET capacity = greatest(capacity, $2) WHERE slot_id = $1")
            .bind(slot.slot_id)
            .bind(count)
            .execute(&self.inventory_db)
            .await
            .unwrap();
        sqlx::query("INSERT INTO slot_ledger (slot_id, capacity, booked, clinic_id, clinic_name, vaccine_code, starts_at) VALUES ($1, $2, $2, $3, $4, $5, $6)")
            .bind(slot.slot_id)
            .bind(count)
            .bind(clinic.clinic_id.to_string())
            .bind(&clinic.name)
            .bind(slot.vaccine_code)
            .bind(slot.starts_at)
            .execute(&self.reservation_db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO reservations (reservation_id, subject_id, idempotency_key, request_hash, slot_id, clinic_id, clinic_name,
                                       vaccine_code, dose_number, starts_at, state, created_at, updated_at)
             SELECT gen_random_uuid(), 'subject-' || i, 'key-' || i, '\\x00', $1, $2, $3, $4, 1, $5, 'confirmed', now(), now()
             FROM generate_series(1, $6) AS i",
        )
        .bind(slot.slot_id)
        .bind(clinic.clinic_id.to_string())
        .bind(&clinic.name)
        .bind(slot.vaccine_code)
        .bind(slot.starts_at)
        .bind(count)
        .execute(&self.reservation_db)
        .await
        .unwrap();
    }

    async fn stop(self) {
        self.stop.trigger();
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(20), task).await.unwrap().unwrap().unwrap();
        }
        for db in ["inv", "res"] {
            let url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}_{db}", self.tag);
            db::drop_database(&DatabaseSettings::with_url(url)).await.unwrap();
        }
        let queues = ["inventory.availability", reservation::consumers::slot_sizes::QUEUE, reservation::consumers::supply_changes::QUEUE];
        messaging::delete_namespace(&AmqpSettings::for_test(&self.tag), &queues).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinic_day_closed_with_a_dry_run_first_then_followed_to_its_end() {
    let stack = Stack::start().await;
    let clinic = catalogue::clinics(2).into_iter().find(|c| c.district_code == "50110").unwrap();
    let day = inventory::domain::today_seoul(chrono::Utc::now()) + chrono::Days::new(1);
    let slots = catalogue::slots(&clinic, day, 1);
    stack.book(&clinic, &slots[0], 12).await;
    let (clinic_id, date) = (clinic.clinic_id.to_string(), day.to_string());
    let ctl = |args: &[&str]| stack.ctl(OPERATOR, args);

    let dry = ctl(&["clinics", "close-day", &clinic_id, &date, "--dry-run"]).ok_text();
    println!("{dry}");
    assert!(dry.starts_with("dry run, nothing changed\nwould close"), "{dry}");
    assert!(dry.contains("12 affected"), "{dry}");
    let json = ctl(&["--json", "clinics", "close-day", &clinic_id, &date, "--dry-run", "--max-move-days", "3"]).ok_json();
    let plan = &json["plan"];
    assert_eq!((json["dry_run"].as_bool(), plan["affected"].as_u64()), (Some(true), Some(12)), "{json}");
    assert_eq!(plan["moved"].as_u64().unwrap() + plan["cancelled"].as_u64().unwrap(), 12);
    assert_eq!(json["catalogue"]["max_move_days"].as_u64(), Some(3));
    let closed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM slots WHERE closed_by IS NOT NULL").fetch_one(&stack.inventory_db).await.unwrap();
    assert_eq!(closed, 0, "a dry run closes nothing");

    let done = ctl(&["--json", "clinics", "close-day", &clinic_id, &date, "--wait"]).ok_json();
    let job = &done["job"];
    assert_eq!((job["state"].as_str(), job["total"].as_u64(), job["pending"].as_u64()), (Some("done"), Some(12), Some(0)), "{done}");
    assert_eq!(job["moved"].as_u64().unwrap() + job["cancelled"].as_u64().unwrap(), 12);
    assert_eq!(job["requested_by"].as_str(), Some("kim.ops"));
    let change_id = done["catalogue"]["change_id"].as_str().unwrap().to_owned();
    let again = ctl(&["clinics", "close-day", &clinic_id, &date]).ok_text();
    assert!(again.starts_with("nothing to change: the scope's slots are closed already"), "{again}");
    assert!(again.contains(&change_id), "{again}");
    let status = ctl(&["supply", "status", &change_id]).ok_text();
    println!("{status}");
    assert!(status.starts_with(&format!("supply change {change_id}: done at")), "{status}");
    assert!(ctl(&["supply", "status", &Uuid::new_v4().to_string()]).failed().contains("NotFound"));

    // A slot of the next day: resized, dry run first.
    let slot = catalogue::slots(&clinic, day + chrono::Days::new(1), 1)[0].slot_id.to_string();
    let dry = ctl(&["clinics", "resize-slot", &slot, "3", "--dry-run"]).ok_text();
    assert!(dry.starts_with("dry run, nothing changed; would resize slot"), "{dry}");
    let resized = ctl(&["--json", "clinics", "resize-slot", &slot, "3"]).ok_json();
    assert_eq!((resized["resize"]["changed"].as_bool(), resized["resize"]["capacity"].as_u64()), (Some(true), Some(3)), "{resized}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_to_fix() {
    let stack = Stack::start().await;
    let clinic = catalogue::clinics(2).into_iter().find(|c| c.district_code == "50130").unwrap();
    let id = clinic.clinic_id.to_string();
    let bad = stack.ctl(OPERATOR, &["clinics", "close-slots", &id, "--from", "2026-12-05 10:00", "--to", "2026-12-05T12:00"]).failed();
    assert!(bad.contains("InvalidArgument") && bad.contains("scope.from_local_time"), "{bad}");
    let bad =
        stack.ctl(OPERATOR, &["clinics", "change-vaccine", &id, "--date", "2026-12-05", "--new-vaccine", "sputnik", "--dry-run"]).failed();
    assert!(bad.contains("InvalidArgument") && bad.contains("new_vaccine_code"), "{bad}");
    let denied = stack.ctl(SUPPORT, &["clinics", "close-day", &id, "2026-12-05", "--dry-run"]).failed();
    assert!(denied.contains("PermissionDenied") && !denied.contains(SUPPORT), "{denied}");
    let anonymous = stack.ctl("", &["supply", "status", &Uuid::new_v4().to_string()]).failed();
    assert!(anonymous.contains("no operator token"), "{anonymous}");
    let usage = stack.ctl(OPERATOR, &["clinics", "close-day", &id, "2026-12-05", "--max-move-days", "40"]).failed_usage();
    assert!(usage.contains("--max-move-days"), "{usage}");
    stack.stop().await;
}
