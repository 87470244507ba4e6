//! The hard deadline of a process's shutdown, on real processes: this test
//! binary runs itself again as the child (one of the `child_*` functions,
//! picked by an environment variable; they do nothing otherwise), sends it
//! SIGTERM and times its exit. One child hangs after the signal the way a
//! service does when a task never looks at it (the owner waits for the
//! task, a blocking thread the runtime would wait for is parked for good);
//! the other stops by itself.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use yeyak_platform::{shutdown::FORCED_EXIT_CODE, Shutdown};

/// Names the child to run.
const CHILD: &str = "YEYAK_TEST_SHUTDOWN_CHILD";
/// What the child prints once its signal handlers are in place.
const READY: &str = "child ready for SIGTERM";
/// The child's stop limit.
const LIMIT: Duration = Duration::from_millis(1_500);
const STUCK: &str = "call to a dependency that never answers";

#[test]
fn child_hangs_after_the_signal() {
    if std::env::var(CHILD).as_deref() != Ok("hangs") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let _telemetry = yeyak_platform::telemetry::init("shutdown-test");
        let shutdown = Shutdown::on_signals();
        shutdown.limit(LIMIT);
        let running = shutdown.track(STUCK);
        let stuck = tokio::spawn(async move {
            let _running = running;
            std::future::pending::<()>().await
        });
        tokio::task::spawn_blocking(|| loop {
            std::thread::park();
        });
        println!("{READY}");
        shutdown.wait().await;
        // The owner waits for its task, as every service's startup does.
        let _ = stuck.await;
    });
}

#[test]
fn child_stops_in_time() {
    if std::env::var(CHILD).as_deref() != Ok("stops") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let _telemetry = yeyak_platform::telemetry::init("shutdown-test");
        let shutdown = Shutdown::on_signals();
        shutdown.limit(LIMIT);
        println!("{READY}");
        shutdown.wait().await;
        tokio::time::sleep(LIMIT / 3).await;
    });
}

/// Starts `child`, SIGTERMs it once ready; returns its exit code, the time
/// from SIGTERM to exit, and its output lines.
fn stop(child: &str) -> (Option<i32>, Duration, Vec<String>) {
    let test = format!("child_{}", if child == "hangs" { "hangs_after_the_signal" } else { "stops_in_time" });
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, child)
        .env("YEYAK_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = process.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut output: Vec<String> = Vec::new();
    while !output.iter().any(|l| l.contains(READY)) {
        output.push(lines.recv_timeout(Duration::from_secs(30)).expect("the child gets ready"));
    }
    assert!(Command::new("kill").args(["-TERM", &process.id().to_string()]).status().unwrap().success());
    let sent = Instant::now();
    let code = loop {
        if let Some(status) = process.try_wait().unwrap() {
            break status.code();
        }
        if sent.elapsed() > LIMIT + Duration::from_secs(20) {
            let _ = process.kill();
            panic!("the child ignored its stop limit: still running {:?} after SIGTERM", sent.elapsed());
        }
        std::thread::park_timeout(Duration::from_millis(10));
    };
    let took = sent.elapsed();
    output.extend(lines.iter());
    (code, took, output)
}

#[test]
fn a_stop_that_hangs_ends_at_the_limit_naming_what_still_ran() {
    let (code, took, output) = stop("hangs");
    println!("hung child: SIGTERM to exit {:.3} s (limit {:.3} s), exit code {code:?}", took.as_secs_f64(), LIMIT.as_secs_f64());
    assert_eq!(code, Some(FORCED_EXIT_CODE), "{output:#?}");
    assert!(took >= LIMIT, "cut before its limit: {took:?}");
    assert!(took < LIMIT + Duration::from_millis(700), "the limit is the bound: {took:?}");
    let warning = output.iter().find(|l| l.contains("shutdown overran its deadline")).expect("a warning says why");
    assert!(warning.contains(STUCK), "it names what was still running: {warning}");
}

#[test]
fn a_stop_that_finishes_in_time_is_not_cut() {
    let (code, took, output) = stop("stops");
    println!("stopping child: SIGTERM to exit {:.3} s, exit code {code:?}", took.as_secs_f64());
    assert_eq!(code, Some(0), "{output:#?}");
    assert!(took < LIMIT, "{took:?}");
    assert!(!output.iter().any(|l| l.contains("overran")), "{output:#?}");
}
