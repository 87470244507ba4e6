//! A dropped Redis connection, against a private `redis-server` (never the
//! shared one): an idempotent handle's first command after an empty restart
//! succeeds (a command, a script Redis no longer knows, a pipeline), a plain
//! handle's fails; a command whose reply was lost is not run again by a plain
//! handle and is by an idempotent one; a replay stays within the budget.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::{Duration, Instant};

use redis::{AsyncCommands as _, Script};
use yeyak_platform::{
    redis_store::{connect, query_by_slot, RedisConn, RedisSettings},
    Secret,
};
use yeyak_testkit::{redis_server::RedisServer, Proxy};

async fn conn_to(addr: &str, timeout_ms: u64) -> RedisConn {
    let mut settings = RedisSettings::for_test("retry");
    settings.url = Secret::new(format!("redis://{addr}/0"));
    settings.timeout = Duration::from_millis(timeout_ms);
    connect(&settings).await.unwrap()
}

#[tokio::test]
async fn an_idempotent_handle_survives_an_empty_restart_and_a_plain_one_reports_it() {
    let mut server = RedisServer::start().await.unwrap();
    let (mut plain, idempotent) = (conn_to(&server.addr(), 1_000).await, conn_to(&server.addr(), 1_000).await.idempotent());
    plain.set::<_, _, ()>("k", "before").await.unwrap();
    let _: () = idempotent.clone().set("k", "before").await.unwrap();

    server.restart_empty().await.unwrap();
    let e = plain.get::<_, Option<String>>("k").await.unwrap_err();
    assert!(e.is_connection_dropped(), "the plain handle's first command fails: {e:?}");
    assert_eq!(plain.get::<_, Option<String>>("k").await.unwrap(), None, "and it reconnected behind the error");
    // The script cache went with the data: EVALSHA, NOSCRIPT, then loaded.
    let script = Script::new("redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])");
    let first: String = script.key("k").arg("after").invoke_async(&mut idempotent.clone()).await.unwrap();
    assert_eq!(first, "after", "the idempotent handle's first command after the restart");

    server.restart_empty().await.unwrap();
    let cmds = vec![("k".to_owned(), redis::Cmd::get("k")), ("j".to_owned(), redis::Cmd::exists("j"))];
    let replies: Vec<redis::Value> = query_by_slot(&idempotent, cmds).await.unwrap();
    assert_eq!(replies, [redis::Value::Nil, redis::Value::Int(0)], "a pipeline, first after a second restart");
}

/// Counts a call, then keeps Redis busy long enough for the test to drop
/// the connection while the reply is still owed.
const SLOW_INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local until_us = t[1] * 1000000 + t[2] + tonumber(ARGV[1]) * 1000
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= until_us
return n
";

/// Runs [`SLOW_INCR`] through `proxy` with `conn`, dropping the connection
/// while it runs; returns the call's outcome and the count Redis ends with.
async fn incr_with_lost_reply(server: &RedisServer, proxy: &Proxy, conn: RedisConn) -> (redis::RedisResult<i64>, String) {
    let call = tokio::spawn(async move { Script::new(SLOW_INCR).key("calls").arg(600).invoke_async::<i64>(&mut conn.clone()).await });
    // Redis runs one thing at a time: a PING left unanswered means the script is running.
    while tokio::time::timeout(Duration::from_millis(150), server.command(&["PING"])).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.retarget(&server.addr());
    let outcome = call.await.unwrap();
    // Anything still running or replayed has finished once Redis answers and a moment passed.
    server.command(&["PING"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    (outcome, server.command(&["GET", "calls"]).await.unwrap())
}

#[tokio::test]
async fn a_lost_reply_is_an_error_on_a_plain_handle_and_a_replay_on_an_idempotent_one() {
    let server = RedisServer::start().await.unwrap();
    let proxy = Proxy::start(&server.addr()).await.unwrap();
    let conn = conn_to(&proxy.addr().to_string(), 3_000).await;
    // Loaded first, so that the slow call is one EVALSHA.
    Script::new(SLOW_INCR).prepare_invoke().load_async(&mut conn.clone()).await.unwrap();

    let (outcome, calls) = incr_with_lost_reply(&server, &proxy, conn.clone()).await;
    let e = outcome.unwrap_err();
    assert!(e.is_connection_dropped(), "{e:?}");
    assert_eq!(calls, "1", "Redis ran it once and nothing sent it again: the caller knows it may have run");

    let (outcome, calls) = incr_with_lost_reply(&server, &proxy, conn.idempotent()).await;
    assert_eq!((outcome.unwrap(), calls.as_str()), (3, "3"), "replayed: why only idempotent commands may use this handle");
}

#[tokio::test]
async fn a_replay_stays_within_the_budget() {
    let server = RedisServer::start().await.unwrap();
    let proxy = Proxy::start(&server.addr()).await.unwrap();
    let conn = conn_to(&proxy.addr().to_string(), 300).await.idempotent();
    let _: () = conn.clone().set("k", "v").await.unwrap();
    // Connections now reach a server that never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    proxy.retarget(&silent_addr);

    let started = Instant::now();
    let e = conn.clone().get::<_, Option<String>>("k").await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(450), "the replay waited for a new connection within the 300 ms budget: {took:?} ({e:?})");
    held.abort();
}
