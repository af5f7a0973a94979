//! What the store's tests share: a throwaway PostgreSQL cluster, so that one test body runs
//! against SQLite and against a real PostgreSQL server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A throwaway PostgreSQL cluster on a free loopback port, stopped on drop.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    /// `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, loopback only).
    pub url: String,
}

impl Postgres {
    /// Starts a cluster, or returns `None` with a notice when PostgreSQL is not installed
    /// (under `CI=true` that is a failure: CI must install it).
    pub fn start() -> Option<Postgres> {
        let Some(bin) = find_postgres_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "postgresql not installed (run scripts/deps/install.sh): initdb and pg_ctl not found"
            );
            eprintln!("skipped: postgresql not installed (run scripts/deps/install.sh)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let as_root = is_root();
        if as_root {
            // initdb refuses to run as root; the cluster belongs to the `postgres` user.
            run(
                false,
                Path::new("chown"),
                &["-R", "postgres:postgres", path(dir.path())],
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        run(
            as_root,
            &bin.join("initdb"),
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
            path(dir.path())
        );
        run(
            as_root,
            &bin.join("pg_ctl"),
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&dir.path().join("log")),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        Some(Postgres {
            bin,
            data,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _dir: dir,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        run(
            is_root(),
            &self.bin.join("pg_ctl"),
            &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a PostgreSQL tool (as the `postgres` user when the tests run as root), failing the
/// test with its stderr; `pg_ctl -w -t 30` bounds the start, and a hung tool is killed.
fn run(as_postgres: bool, program: &Path, args: &[&str]) {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let mut child = command
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{} {args:?} did not finish within 120 s", program.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).ok();
    }
    assert!(status.success(), "{} {args:?}: {stderr}", program.display());
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn find_postgres_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

/// Verifies the store's whole log (chain, signed checkpoints against `trusted`, and the head
/// record's count), reading it in small pages so that paging itself is exercised.
pub async fn verify_log(
    store: &slipway_store::Store,
    trusted: &[slipway_sign::PublicKey],
) -> slipway_audit::VerifyReport {
    let checkpoints = store
        .checkpoints(0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.signed)
        .collect();
    let mut verifier =
        slipway_audit::ChainVerifier::new(slipway_audit::Anchor::genesis(), checkpoints, trusted);
    verifier.expect_count(store.audit_head_record().await.unwrap(), "the head record");
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        if !page.iter().all(|entry| verifier.push(entry)) {
            break;
        }
    }
    verifier.finish()
}
