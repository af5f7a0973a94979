//! One step's process: its own process group, output read line by line, a timeout and
//! cancellation that take the whole tree down (SIGTERM, a grace period, then SIGKILL).

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by a signal the runner did not send (OOM killer, a crash).
    Signal(i32),
    TimedOut,
    Cancelled,
    /// It could not be started at all.
    SpawnFailed(String),
}

pub struct Spec<'a> {
    pub program: &'a str,
    pub args: Vec<String>,
    pub dir: &'a Path,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Runs a process to its end, sending its output chunks to `lines`. `cancel` turning true
/// stops it like a timeout does, reported as `Cancelled`.
pub async fn run(
    spec: Spec<'_>,
    lines: mpsc::UnboundedSender<(Stream, Vec<u8>)>,
    mut cancel: watch::Receiver<bool>,
) -> Exit {
    let mut command = Command::new(spec.program);
    command
        .args(&spec.args)
        .current_dir(spec.dir)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A group of its own, so a timeout or cancel reaches grandchildren too.
    command.as_std_mut().process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return Exit::SpawnFailed(format!("cannot start `{}`: {error}", spec.program));
        }
    };
    let pgid = child.id().map(|pid| pid as i32);
    let readers = [
        child
            .stdout
            .take()
            .map(|out| tokio::spawn(forward(out, Stream::Stdout, lines.clone()))),
        child
            .stderr
            .take()
            .map(|err| tokio::spawn(forward(err, Stream::Stderr, lines.clone()))),
    ];
    drop(lines);

    let outcome = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => Exit::Code(-1),
            },
            Err(error) => Exit::SpawnFailed(format!("waiting for the process failed: {error}")),
        },
        _ = tokio::time::sleep(spec.timeout) => Exit::TimedOut,
        _ = cancelled(&mut cancel) => Exit::Cancelled,
    };
    if let Some(pgid) = pgid {
        // Even a process that exited may leave children in its group behind.
        terminate_group(pgid, spec.grace, &mut child).await;
    }
    for reader in readers.into_iter().flatten() {
        // Output of a killed tree ends when its last writer is gone; don't wait on stragglers
        // that escaped the group.
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
    outcome
}

async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    while !*cancel.borrow() {
        if cancel.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// SIGTERM to the group, up to `grace` for it to go, then SIGKILL.
async fn terminate_group(pgid: i32, grace: Duration, child: &mut tokio::process::Child) {
    if !group_alive(pgid) {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        let _ = child.try_wait();
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait().await;
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Sends raw chunks as they arrive; lines are assembled (and masked) by the receiver, so a
/// secret split across two reads is still seen whole.
async fn forward(
    mut reader: impl AsyncRead + Unpin,
    stream: Stream,
    chunks: mpsc::UnboundedSender<(Stream, Vec<u8>)>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if chunks.send((stream, buffer[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}
