//! A private PostgreSQL that accepts TLS connections only, for testing the
//! services' `sslmode=verify-full` path against a real server: `initdb` in a
//! temporary directory, `pg_hba.conf` with `hostssl` lines and nothing else,
//! and the server certificate the test made. The shared server on 5432 is
//! never touched. PostgreSQL refuses to run as root, so as root the server
//! runs as the `postgres` user the Debian package creates.
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

use crate::tls::{Issued, TempDir};

/// Killed, and its files removed, on drop.
pub struct TlsPostgres {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl TlsPostgres {
    /// Starts a server on a free loopback port serving `issued` (a
    /// certificate for `localhost`).
    pub async fn start(issued: &Issued) -> std::io::Result<Self> {
        let dir = TempDir::new("pg-tls");
        let data = dir.path().join("data");
        let bin = bin_dir()?;
        let as_root = Command::new("id").arg("-u").output().await?.stdout.starts_with(b"0");
        let run = |program: &Path| {
            if as_root {
                // setpriv execs in place (runuser would fork), so killing
                // the child kills the server.
                let mut c = Command::new("setpriv");
                c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]).arg(program);
                c
            } else {
                Command::new(program)
            }
        };
        std::fs::write(dir.path().join("server.crt"), &issued.cert_pem)?;
        std::fs::write(dir.path().join("server.key"), &issued.key_pem)?;
        set_mode(&dir.path().join("server.key"), 0o600)?;
        if as_root {
            let owned = Command::new("chown").arg("-R").arg("postgres").arg(dir.path()).status().await?;
            check(owned.success(), "chown to postgres")?;
        }
        let init = run(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await?;
        check(init.success(), "initdb")?;
        // TLS or nothing: a plain connection finds no matching line.
        std::fs::write(data.join("pg_hba.conf"), "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n")?;
        let port = free_port()?;
        let child = run(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=localhost", "-c", "fsync=off", "-c", "ssl=on", "-c", "shared_buffers=16MB"])
            .arg("-c")
            .arg(format!("port={port}"))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .arg("-c")
            .arg(format!("ssl_cert_file={}", dir.path().join("server.crt").display()))
            .arg("-c")
            .arg(format!("ssl_key_file={}", dir.path().join("server.key").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let server = Self { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        // Accepting sessions, not just listening: while it starts up, the
        // port is open and a session is refused ("the database system is
        // starting up"), which a loaded machine hit.
        let ready =
            || Command::new(bin.join("pg_isready")).args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).status();
        while !ready().await?.success() {
            check(Instant::now() < deadline, "postgres did not start accepting sessions")?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn bin_dir() -> std::io::Result<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    versions.sort();
    versions.pop().map(|v| v.join("bin")).ok_or_else(|| std::io::Error::other("no PostgreSQL under /usr/lib/postgresql"))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn check(ok: bool, what: &str) -> std::io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{what} failed")))
    }
}
