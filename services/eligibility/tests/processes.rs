//! Rules reloaded at run time (file change in process, SIGHUP to the real
//! binary), and the command-line tool run as a process in time zones far
//! from Seoul: every answer is in Asia/Seoul regardless.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use chrono::Datelike as _;
use common::{born_in, seoul, Harness, Options};
use eligibility::domain::{decide, Facts, Person};
use yeyak_platform::messaging;
use yeyak_proto::eligibility::v1::EligibilityReason as R;

const V1: &str = "2021-07-55-59.toml";

/// Replaces the file atomically (write aside, rename), as operators should:
/// a reader never sees half a file.
fn replace_file(path: &std::path::Path, text: &str) {
    let aside = path.with_extension("toml.new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

#[tokio::test]
async fn a_reload_applies_new_rules_and_an_invalid_one_keeps_the_old_rules() {
    let v1 = common::rules_file(V1);
    let h = Harness::start(Options::new(v1.clone(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let p = h.find(|p| born_in(p, 1962..=1966) && p.insured && p.doses.is_empty());
    assert!(h.check(&p, 1).await.eligible);

    // An invalid file: refused with the line and the rule, the old rules stay.
    replace_file(&h.rules_path, &v1.replace("cohort = \"age-55-59\"", "cohort = \"age-55-95\""));
    let error = common::eventually(Duration::from_secs(5), "the refused reload", || async { h.rules.last_error() }).await;
    assert!(error.contains("line 17: window round-55-59: unknown cohort \"age-55-95\""), "{error}");
    assert_eq!(h.metric("yeyak_eligibility_rules_reloads_total{service=\"eligibility\",outcome=\"invalid\"}"), 1.0);
    assert_eq!(h.metric("yeyak_eligibility_rules_valid{service=\"eligibility\"}"), 0.0);
    let still = h.check(&p, 1).await;
    assert!(still.eligible && still.cohort_id == "age-55-59", "the old rules still apply: {}", still.detail);

    // A valid file that closes the window at 09:00: applied without a restart.
    let v2 = v1.replace("version = \"2021-07-round-55-59\"", "version = \"v2\"").replace("2021-07-17T18:00:00", "2021-07-13T09:00:00");
    replace_file(&h.rules_path, &v2);
    common::eventually(Duration::from_secs(5), "version v2", || async { (h.rules.current().version == "v2").then_some(()) }).await;
    assert_eq!(h.rules.last_error(), None);
    assert_eq!(R::try_from(h.check(&p, 1).await.reason).unwrap(), R::WindowClosed);
    assert_eq!(h.metric("yeyak_eligibility_rules_valid{service=\"eligibility\"}"), 1.0);
    assert_eq!(h.metric("yeyak_eligibility_rules_reloads_total{service=\"eligibility\",outcome=\"ok\"}"), 1.0);
    h.stop().await;
}

/// Lines of a child's JSON log, as (message, fields).
fn next_log(lines: &mpsc::Receiver<serde_json::Value>, message: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines.recv_timeout(left).unwrap_or_else(|_| panic!("no log line {message:?}"));
        if line["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message)) {
            return line["fields"].clone();
        }
    }
}

#[test]
fn sighup_makes_the_running_binary_reload_its_rules() {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let path = std::env::temp_dir().join(format!("eligibility-hup-{tag}.toml"));
    let v1 = common::rules_file(V1);
    std::fs::write(&path, &v1).unwrap();
    let amqp = messaging::AmqpSettings::for_test(&tag);
    let mut child = Command::new(env!("CARGO_BIN_EXE_yeyak-eligibility"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TZ", "America/Los_Angeles")
        .env("YEYAK_LOG", "info")
        .env("YEYAK_GRPC_ADDR", "127.0.0.1:0")
        .env("YEYAK_METRICS_ADDR", "off")
        .env("YEYAK_RULES_FILE", &path)
        // Polling off: only SIGHUP can reload.
        .env("YEYAK_RULES_RELOAD_INTERVAL_MS", "0")
        .env("YEYAK_REDIS_KEY_PREFIX", format!("test:{tag}"))
        // The admission catalogue and ended sessions this test follows are its own:
        // the default prefix is shared with `make run` on the same Redis.
        .env("YEYAK_SESSIONS_REDIS_KEY_PREFIX", format!("test:{tag}"))
        .env("YEYAK_AMQP_EXCHANGE", &amqp.exchange)
        .env("YEYAK_AMQP_QUEUE_PREFIX", &amqp.queue_prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let hup = |pid: u32| assert!(Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap().success());
    let loaded = next_log(&lines, "rules loaded");
    assert_eq!(loaded["version"], "2021-07-round-55-59");
    next_log(&lines, "eligibility listening");

    std::fs::write(&path, v1.replace("version = \"2021-07-round-55-59\"", "version = \"after-hup\"")).unwrap();
    hup(child.id());
    let reloaded = next_log(&lines, "rules reloaded");
    assert_eq!((reloaded["from"].as_str(), reloaded["to"].as_str()), (Some("2021-07-round-55-59"), Some("after-hup")));

    std::fs::write(&path, v1.replace("min_days = 28", "min_days = \"soon\"")).unwrap();
    hup(child.id());
    let refused = next_log(&lines, "rules reload refused");
    assert_eq!(refused["in_force"], "after-hup");
    assert!(refused["error"].as_str().unwrap().contains("line 9"), "{refused}");

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success(), "graceful stop");
    let _ = std::fs::remove_file(&path);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(messaging::delete_namespace(&amqp, &[eligibility::consumers::bookings::QUEUE]))
        .unwrap();
}

/// Runs the tool (without blocking the runtime that serves the registry).
async fn cli(args: &[&str], tz: &str) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_yeyak-eligibility-cli"))
        .args(args)
        .env_clear()
        .env("TZ", tz)
        .env("YEYAK_SUBJECT_HASH_KEY", common::HASH_KEY)
        .output()
        .await
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test]
async fn the_command_line_tool_explains_samples_and_dry_runs_in_seoul_time() {
    let h = Harness::start(Options::new(common::rules_file(V1), seoul(2021, 7, 13, 10, 0, 0))).await;
    let registry = format!("http://{}", h.registry.addr());
    let rules_1849 = format!("{}/rules/2021-08-18-49.toml", env!("CARGO_MANIFEST_DIR"));

    // validate: errors with the line and the rule.
    let bad = std::env::temp_dir().join(format!("eligibility-cli-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&bad, common::rules_file(V1).replace("cohort = \"age-55-59\"", "cohort = \"nobody\"")).unwrap();
    let (ok, _, err) = cli(&["validate", "--rules", bad.to_str().unwrap()], "UTC").await;
    assert!(!ok && err.contains("line 17: window round-55-59: unknown cohort \"nobody\""), "{err}");
    let _ = std::fs::remove_file(&bad);
    let (ok, out, _) = cli(&["validate", "--rules", &rules_1849], "UTC").await;
    assert!(ok && out.contains("valid, version \"2021-08-round-18-49\", 4 cohorts, 4 windows"), "{out}");

    // check: one subject, at the opening second, from a server 14 hours ahead of UTC.
    let nine = h.find(|p| born_in(p, 1972..=2003) && p.insured && p.doses.is_empty() && p.birth_date.day() % 10 == 9);
    let subject = Harness::subject_of(&nine);
    for (tz, at, verdict) in [
        ("Pacific/Kiritimati", "2021-08-09T19:59:59", "WINDOW_NOT_OPEN: window round-18-49 opens at 2021-08-09 20:00:00 KST"),
        (
            "America/Los_Angeles",
            "2021-08-09T20:00:00",
            "ELIGIBLE: cohort age-18-49 may book dose 1 in window round-18-49 until 2021-08-10 18:00:00 KST",
        ),
        ("UTC", "2021-08-09T11:00:00Z", "ELIGIBLE"),
    ] {
        let (ok, out, err) = cli(&["check", "--subject", &subject, "--at", at, "--rules", &rules_1849, "--registry", &registry], tz).await;
        assert!(ok, "{err}");
        assert!(out.contains(&format!("decision for dose 1: {verdict}")), "{tz} {at}:\n{out}");
        assert!(out.contains("rotation digit 9") && out.contains("OPEN now") == verdict.starts_with("ELIGIBLE"), "{out}");
    }
    let (ok, out, _) = cli(&["check", "--subject", &"0".repeat(40), "--rules", &rules_1849, "--registry", &registry], "UTC").await;
    assert!(ok && out.contains("UNKNOWN_PERSON"), "{out}");

    // sample: the same decisions as the domain gives, person by person.
    let at = seoul(2021, 8, 9, 21, 0, 0);
    let count = 40u64;
    let (ok, out, err) = cli(
        &[
            "sample",
            "--count",
            &count.to_string(),
            "--population",
            &common::COUNT.to_string(),
            "--seed",
            &common::SEED.to_string(),
            "--at",
            "2021-08-09 21:00",
            "--rules",
            &rules_1849,
            "--registry",
            &registry,
        ],
        "Asia/Kolkata",
    )
    .await;
    assert!(ok, "{err}");
    let rules = eligibility::domain::Rules::parse(&common::rules_file("2021-08-18-49.toml")).unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(lines.len(), count as usize, "{out}");
    for (i, line) in lines.iter().enumerate() {
        let index = yeyak_population::splitmix64(common::SEED ^ i as u64) % common::COUNT;
        let g = yeyak_population::person(common::SEED, index);
        let person = Person {
            birth_date: g.birth_date,
            insured: g.insured,
            priority_groups: g.priority_groups.iter().map(|s| (*s).to_owned()).collect(),
            doses: g.doses.clone(),
        };
        let d = decide(&rules, Facts { asserted_birth: g.birth_date, person: Some(&person), booked: None, dose: 1 }, at);
        let verdict = d.eligible.map_or_else(|r| r.code(), |()| "ELIGIBLE");
        assert!(line.starts_with(&format!("#{index:<9} ")) && line.contains(&format!(" {verdict}: ")), "{line} vs {verdict}");
        assert!(!line.contains(g.rrn.expose()), "no resident registration number in the output");
    }
    let summary = out.lines().last().unwrap();
    let total: u64 = summary.split(';').filter_map(|part| part.trim().rsplit(' ').next()?.parse::<u64>().ok()).sum();
    assert_eq!(total, count, "{summary}");

    // dry-run: people per window per hour, from the registry's aggregate.
    let (ok, out, err) = cli(
        &["dry-run", "--rules", &rules_1849, "--from", "2021-08-09T19:00:00", "--to", "2021-08-10T21:00:00", "--registry", &registry],
        "America/Los_Angeles",
    )
    .await;
    assert!(ok, "{err}");
    let digit_9 = h
        .people
        .iter()
        .filter(|p| {
            p.insured && p.doses.is_empty() && rules.cohort("age-18-49").unwrap().admits_birth(p.birth_date) && p.birth_date.day() % 10 == 9
        })
        .count() as u64;
    let opening = out.lines().find(|l| l.starts_with("2021-08-09 20:00 .. 21:00")).unwrap_or_else(|| panic!("{out}"));
    let grouped = eligibility::cli::grouped(digit_9);
    assert!(opening.contains(&format!("{grouped} (+{grouped})")), "expected {digit_9} people on the first evening:\n{out}");
    let before = out.lines().find(|l| l.starts_with("2021-08-09 19:00 .. 20:00")).unwrap();
    assert!(before.trim_end().ends_with(" 0"), "{before}");
    h.stop().await;
}
