//! What to run: the instance spec, its probes and restart policy, their validation and the
//! spec digest that decides whether a surviving process may be adopted.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::SupervisorError;
use crate::record::record_file_name;

/// The longest record file name (the escaped id plus `.json`); most filesystems stop at 255
/// bytes and the temporary name adds a few.
const MAX_RECORD_NAME: usize = 240;

/// One process to run and keep running.
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// Unique name, such as `production/r12/0`. Any characters but NUL; it is escaped for the
    /// record file name (at most 240 bytes after escaping).
    pub id: String,
    /// The executable: an absolute path, a path relative to `working_dir` (containing `/`), or
    /// a bare name looked up in the `PATH` of `env`.
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// The directory the process starts in; it must exist.
    pub working_dir: PathBuf,
    /// The whole environment of the process: it gets only these variables plus `PORT`, never
    /// anything inherited from the supervising process. `PORT` itself may not be set here.
    pub env: BTreeMap<String, String>,
    /// The port the process must listen on, given to it as `PORT`; probes go to
    /// `127.0.0.1:{port}`.
    pub port: u16,
    /// Stdout and stderr are appended to this file through file descriptors (not pipes), so the
    /// process keeps logging when the supervisor goes away. Parent directories are created.
    pub log_path: PathBuf,
    /// Decides `Ready` and `Unready`; without it an instance is ready once it runs.
    pub readiness: Option<Probe>,
    /// Failing `failure_threshold` times in a row kills the process group and restarts it.
    pub liveness: Option<Probe>,
    /// How crashes and liveness failures are retried.
    pub restart: RestartPolicy,
}

/// The environment holds secrets, so `Debug` names the variables but never shows their values.
impl fmt::Debug for InstanceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceSpec")
            .field("id", &self.id)
            .field("program", &self.program)
            .field("args", &self.args)
            .field("working_dir", &self.working_dir)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("port", &self.port)
            .field("log_path", &self.log_path)
            .field("readiness", &self.readiness)
            .field("liveness", &self.liveness)
            .field("restart", &self.restart)
            .finish()
    }
}

/// An HTTP GET probe of `http://127.0.0.1:{port}{path}`; a 2xx or 3xx answer within `timeout`
/// is a success, anything else (other statuses, refused connections, timeouts) a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Absolute path with optional query, such as `/readyz`.
    pub path: String,
    /// Time between the end of one check and the start of the next.
    pub interval: Duration,
    /// Limit for one check: connect, send, and receive the response head.
    pub timeout: Duration,
    /// Wait after the process starts (or is adopted) before the first check.
    pub initial_delay: Duration,
    /// Consecutive successes that make an instance ready (readiness only; liveness recovers
    /// on any success).
    pub success_threshold: u32,
    /// Consecutive failures that make an instance unready or, for liveness, restart it.
    pub failure_threshold: u32,
}

impl Probe {
    /// A probe of `path` with common settings: every second, 1 s timeout, no initial delay,
    /// ready after one success, failed after three failures.
    pub fn http(path: impl Into<String>) -> Probe {
        Probe {
            path: path.into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            initial_delay: Duration::ZERO,
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
}

/// Restarts after an exit or a liveness failure wait `initial_backoff`, doubling with each
/// consecutive restart up to `max_backoff`. An instance that stays ready (or, without a
/// readiness probe, running) for `stable_after` counts as recovered: its restart count and
/// backoff start over. More than `max_restarts` restarts before that happens make it `Failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Wait before the first restart.
    pub initial_backoff: Duration,
    /// Upper bound of the doubling wait.
    pub max_backoff: Duration,
    /// Restarts allowed within one unstable stretch; `None` restarts forever.
    pub max_restarts: Option<u32>,
    /// How long an instance must stay ready to reset the restart count and backoff.
    pub stable_after: Duration,
}

impl Default for RestartPolicy {
    /// 1 s doubling to 60 s, at most 5 restarts, reset after 60 s of readiness.
    fn default() -> RestartPolicy {
        RestartPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_restarts: Some(5),
            stable_after: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// The wait before restart number `attempt` (1-based): `initial_backoff * 2^(attempt-1)`,
    /// capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let mut wait = self.initial_backoff;
        for _ in 1..attempt {
            // Stops as soon as doubling can no longer change the answer.
            if wait.is_zero() || wait >= self.max_backoff {
                break;
            }
            wait = wait.saturating_mul(2);
        }
        wait.min(self.max_backoff)
    }
}

impl InstanceSpec {
    /// Checks everything that can be checked before starting, so a bad spec fails with a
    /// clear message instead of a process that never comes up.
    pub fn validate(&self) -> Result<(), SupervisorError> {
        let invalid = |problem: String| SupervisorError::InvalidSpec {
            id: self.id.clone(),
            problem,
        };
        if self.id.is_empty() {
            return Err(invalid(
                "the id is empty; give each instance a unique name such as \"production/r12/0\""
                    .into(),
            ));
        }
        if self.id.contains('\0') {
            return Err(invalid("the id contains a NUL character".into()));
        }
        if record_file_name(&self.id).len() > MAX_RECORD_NAME {
            return Err(invalid(format!(
                "the id is too long for a record file name ({} bytes after escaping, at most {MAX_RECORD_NAME}); use a shorter id",
                record_file_name(&self.id).len()
            )));
        }
        if self.program.as_os_str().is_empty() {
            return Err(invalid("the program is empty".into()));
        }
        for (what, path) in [
            ("program", &self.program),
            ("working_dir", &self.working_dir),
            ("log_path", &self.log_path),
        ] {
            if path.to_str().is_none() {
                return Err(invalid(format!(
                    "{what} {} is not valid UTF-8; use a UTF-8 path",
                    path.display()
                )));
            }
            if path.as_os_str().as_bytes().contains(&0) {
                return Err(invalid(format!("{what} contains a NUL byte")));
            }
        }
        if self.log_path.as_os_str().is_empty() {
            return Err(invalid("log_path is empty".into()));
        }
        if let Some(position) = self.args.iter().position(|arg| arg.contains('\0')) {
            return Err(invalid(format!("argument {position} contains a NUL byte")));
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(invalid(format!(
                    "environment variable name {key:?} is empty or contains '=' or NUL"
                )));
            }
            if value.contains('\0') {
                return Err(invalid(format!(
                    "the value of environment variable {key} contains a NUL byte"
                )));
            }
        }
        if self.env.contains_key("PORT") {
            return Err(invalid(
                "env sets PORT; remove it, the supervisor sets PORT from the spec's port".into(),
            ));
        }
        if self.port == 0 {
            return Err(invalid(
                "port is 0; probes need a known port, pick one with free_port()".into(),
            ));
        }
        for (kind, probe) in [("readiness", &self.readiness), ("liveness", &self.liveness)] {
            if let Some(probe) = probe {
                probe.validate(kind).map_err(invalid)?;
            }
        }
        let policy = &self.restart;
        if policy.initial_backoff > policy.max_backoff {
            return Err(invalid(format!(
                "restart.initial_backoff ({:?}) exceeds restart.max_backoff ({:?})",
                policy.initial_backoff, policy.max_backoff
            )));
        }
        Ok(())
    }

    /// The program to execute: paths relative to the working directory are joined to it, so
    /// `bin/server` means the release's own binary whatever the supervisor's directory is.
    pub(crate) fn resolved_program(&self) -> PathBuf {
        let bare_name = self.program.components().count() == 1 && self.program.is_relative();
        if self.program.is_absolute() || bare_name {
            self.program.clone()
        } else {
            self.working_dir.join(&self.program)
        }
    }

    /// `sha256:<hex>` over what defines the process (program, arguments, directory,
    /// environment, port, log file) — not the probes or the restart policy, which only change
    /// how it is watched. Fields are length-prefixed so no two specs share an encoding.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"slipway-supervisor/spec/v1");
        field(self.program.as_os_str().as_bytes());
        field(&(self.args.len() as u64).to_le_bytes());
        for arg in &self.args {
            field(arg.as_bytes());
        }
        field(self.working_dir.as_os_str().as_bytes());
        field(&(self.env.len() as u64).to_le_bytes());
        for (key, value) in &self.env {
            field(key.as_bytes());
            field(value.as_bytes());
        }
        field(&self.port.to_le_bytes());
        field(self.log_path.as_os_str().as_bytes());
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }

    /// The shortest probe interval: how often an adopted process (not our child, so no exit
    /// notification) is checked for being alive.
    pub(crate) fn poll_interval(&self) -> Duration {
        const WITHOUT_PROBES: Duration = Duration::from_millis(500);
        [&self.readiness, &self.liveness]
            .into_iter()
            .flatten()
            .map(|probe| probe.interval)
            .min()
            .unwrap_or(WITHOUT_PROBES)
            .clamp(Duration::from_millis(10), WITHOUT_PROBES)
    }

    pub(crate) fn working_dir_exists(&self) -> bool {
        Path::new(&self.working_dir).is_dir()
    }
}

impl Probe {
    fn validate(&self, kind: &str) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!(
                "{kind} probe path {:?} must start with '/', such as \"/readyz\"",
                self.path
            ));
        }
        if self
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "{kind} probe path {:?} contains whitespace or control characters; percent-encode them",
                self.path
            ));
        }
        if hyper::Uri::try_from(self.path.as_str()).is_err() {
            return Err(format!(
                "{kind} probe path {:?} is not a valid request target",
                self.path
            ));
        }
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err(format!(
                "{kind} probe interval and timeout must be above zero"
            ));
        }
        if self.success_threshold == 0 || self.failure_threshold == 0 {
            return Err(format!(
                "{kind} probe success_threshold and failure_threshold must be at least 1"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> InstanceSpec {
        InstanceSpec {
            id: "production/r12/0".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "sleep 1".into()],
            working_dir: "/tmp".into(),
            env: BTreeMap::from([("API_TOKEN".into(), "hunter2-very-secret".into())]),
            port: 8080,
            log_path: "/tmp/log".into(),
            readiness: Some(Probe::http("/readyz")),
            liveness: None,
            restart: RestartPolicy::default(),
        }
    }

    fn problem(spec: &InstanceSpec) -> String {
        spec.validate().unwrap_err().to_string()
    }

    #[test]
    fn debug_hides_environment_values() {
        let text = format!("{:?}", sample());
        assert!(text.contains("API_TOKEN"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_good_spec_validates() {
        sample().validate().unwrap();
    }

    #[test]
    fn bad_specs_are_named() {
        let mut spec = sample();
        spec.id.clear();
        assert!(problem(&spec).contains("id is empty"));

        let mut spec = sample();
        spec.env.insert("PORT".into(), "1".into());
        assert!(problem(&spec).contains("remove it"));

        let mut spec = sample();
        spec.env.insert("A=B".into(), "1".into());
        assert!(problem(&spec).contains("\"A=B\""));

        let mut spec = sample();
        spec.port = 0;
        assert!(problem(&spec).contains("free_port"));

        let mut spec = sample();
        spec.readiness = Some(Probe::http("readyz"));
        assert!(problem(&spec).contains("must start with '/'"));

        let mut spec = sample();
        spec.liveness = Some(Probe {
            failure_threshold: 0,
            ..Probe::http("/healthz")
        });
        assert!(problem(&spec).contains("liveness probe"));

        let mut spec = sample();
        spec.restart.initial_backoff = Duration::from_secs(120);
        assert!(problem(&spec).contains("exceeds"));

        let mut spec = sample();
        spec.id = "x".repeat(100);
        spec.id.push('/');
        spec.id = spec.id.repeat(2);
        spec.validate().unwrap();
        spec.id = "/".repeat(100);
        assert!(problem(&spec).contains("too long"));
    }

    #[test]
    fn digest_covers_the_process_but_not_its_watching() {
        let base = sample();
        let mut env = sample();
        env.env.insert("API_TOKEN".into(), "rotated-secret".into());
        let mut port = sample();
        port.port = 8081;
        let mut args = sample();
        args.args = vec!["-c sleep".into(), "1".into()];
        for changed in [&env, &port, &args] {
            assert_ne!(base.digest(), changed.digest());
        }
        let mut probes = sample();
        probes.readiness = None;
        probes.restart.max_restarts = None;
        assert_eq!(base.digest(), probes.digest());
        assert!(base.digest().starts_with("sha256:"));
        assert!(!base.digest().contains("hunter2"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
            ..RestartPolicy::default()
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 700, 700]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(700));
        assert_eq!(policy.backoff(0), Duration::from_millis(100));
    }

    #[test]
    fn relative_programs_resolve_against_the_working_dir() {
        let mut spec = sample();
        spec.working_dir = "/srv/release".into();
        spec.program = "bin/server".into();
        assert_eq!(
            spec.resolved_program(),
            Path::new("/srv/release/bin/server")
        );
        spec.program = "server".into();
        assert_eq!(spec.resolved_program(), Path::new("server"));
        spec.program = "/usr/bin/env".into();
        assert_eq!(spec.resolved_program(), Path::new("/usr/bin/env"));
    }
}
