//! The supervisor: starts, adopts, watches, restarts and stops instances.
//!
//! Each instance has one watcher task. It owns the process handle, runs the probes, notices
//! the exit (by reaping its own child, or by polling `/proc` for an adopted one), restarts
//! under the policy and obeys the two controls: stop (kill the group) and detach (leave the
//! process running for the next supervisor).

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{NotReady, SupervisorError};
use crate::event::{Adoption, EventKind, InstanceStatus, SupervisorEvent};
use crate::port::port_in_use;
use crate::probe;
use crate::proc::{self, STOP_POLL};
use crate::record::{InstanceRecord, RECORD_FORMAT, Records};
use crate::spec::{InstanceSpec, Probe};

/// Grace between SIGTERM and SIGKILL when liveness failed, when a process's leftover group
/// members are cleaned up after it exited, and when `adopt_or_start` replaces a process
/// started from another spec.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How long to wait for a process group to vanish after SIGKILL before reporting it stuck.
const AFTER_KILL_WAIT: Duration = Duration::from_secs(5);

/// Buffered events per receiver; a receiver that falls further behind gets `Lagged`.
const EVENT_CAPACITY: usize = 1024;

/// Runs instances as local processes and keeps them running. Cheap to clone: clones share
/// the same instances.
///
/// Linux only: it relies on `/proc`, sessions and process groups.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("runtime_dir", &self.inner.records)
            .finish_non_exhaustive()
    }
}

struct Inner {
    records: Records,
    events: broadcast::Sender<SupervisorEvent>,
    instances: Mutex<HashMap<String, Managed>>,
    closed: AtomicBool,
}

/// An instance this supervisor watches (or watched: stopped and failed ones stay listed).
struct Managed {
    shared: Arc<Shared>,
    control: watch::Sender<Control>,
    task: Option<JoinHandle<Result<(), SupervisorError>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Run,
    Stop(Duration),
    Detach,
}

/// State the watcher task and the API share.
struct Shared {
    spec: InstanceSpec,
    digest: String,
    status: watch::Sender<InstanceStatus>,
    pid: AtomicU32,
    detail: Mutex<Detail>,
}

/// What `NotReady` and `Failed` explain themselves with.
#[derive(Default)]
struct Detail {
    last_readiness: Option<String>,
    last_exit: Option<String>,
    /// Since when the instance has been ready (or, without readiness probe, running).
    stable_since: Option<Instant>,
    /// Whether the current process has been ready at least once.
    was_ready: bool,
}

/// The process an instance runs as: our child, or an adopted process we can only observe.
struct Running {
    pid: u32,
    start_time: u64,
    child: Option<tokio::process::Child>,
    exit: Option<ExitStatus>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind; keep using it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Supervisor {
    /// A supervisor keeping its instance records in `runtime_dir` (created owner-only when
    /// missing). One record file per instance says its pid, the process start time and the
    /// spec digest; records are written to a temporary name and renamed.
    pub fn new(runtime_dir: &Path) -> Result<Supervisor, SupervisorError> {
        let records = Records::open(runtime_dir)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(Supervisor {
            inner: Arc::new(Inner {
                records,
                events,
                instances: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// Starts a new process for `spec` and begins watching it. It runs in a session and
    /// process group of its own, so a Ctrl-C at the supervisor's terminal does not reach it.
    ///
    /// Refuses an id that already runs (here, or according to its record) and a port that
    /// something already listens on. That check and the child's own bind are not atomic: when
    /// the port is taken in between, the child exits, the exit is restarted under the policy,
    /// and the `Exited` event, `wait_ready`'s reason and the final `Failed` reason say the port
    /// is in use by another process.
    pub async fn start(&self, spec: InstanceSpec) -> Result<(), SupervisorError> {
        spec.validate()?;
        self.ensure_open()?;
        let mut instances = lock(&self.inner.instances);
        refuse_managed(&instances, &spec.id)?;
        if let Some(record) = self.inner.records.read(&spec.id)?
            && record.is_alive()
        {
            return Err(SupervisorError::AlreadyRunning {
                id: spec.id,
                pid: record.pid,
            });
        }
        self.launch(&mut instances, spec).map(|_| ())
    }

    /// Takes over the instance when its recorded process is alive (same pid and start time,
    /// so not a reused pid) and was started from the same spec digest; otherwise starts it.
    /// A live recorded process started from another spec is stopped first (SIGTERM, up to
    /// [`KILL_GRACE`], SIGKILL); a reused pid belongs to someone else and is left alone.
    /// Never starts a second process for an id that runs.
    pub async fn adopt_or_start(&self, spec: InstanceSpec) -> Result<Adoption, SupervisorError> {
        spec.validate()?;
        self.ensure_open()?;
        let digest = spec.digest();
        {
            let instances = lock(&self.inner.instances);
            if let Some(managed) = instances.get(&spec.id)
                && managed.is_active()
            {
                let pid = managed.shared.pid.load(Ordering::Relaxed);
                if managed.shared.digest == digest {
                    return Ok(Adoption::Adopted { pid });
                }
                return Err(SupervisorError::AlreadyRunning { id: spec.id, pid });
            }
        }
        if let Some(record) = self.inner.records.read(&spec.id)?
            && record.is_alive()
        {
            if record.spec_digest == digest {
                let mut instances = lock(&self.inner.instances);
                refuse_managed(&instances, &spec.id)?;
                let running = Running {
                    pid: record.pid,
                    start_time: record.start_time,
                    child: None,
                    exit: None,
                };
                self.watch(&mut instances, spec, running, true);
                return Ok(Adoption::Adopted { pid: record.pid });
            }
            self.stop_recorded(&record, KILL_GRACE).await?;
        }
        let mut instances = lock(&self.inner.instances);
        refuse_managed(&instances, &spec.id)?;
        self.launch(&mut instances, spec)
            .map(|pid| Adoption::Started { pid })
    }

    /// Stops an instance: SIGTERM (and SIGCONT, so a stopped process can act on it) to its
    /// process group, up to `grace` for the whole group to exit, then SIGKILL. Removes the
    /// record. Works for instances this supervisor watches and for ones only recorded in the
    /// runtime directory (what a restarted controller finds with [`Supervisor::recorded`]).
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), SupervisorError> {
        let managed = {
            let mut instances = lock(&self.inner.instances);
            instances
                .get_mut(id)
                // A detached instance is watched by nobody: stop it through its record.
                .filter(|managed| *managed.control.borrow() != Control::Detach)
                .map(|managed| {
                    managed.control.send_replace(Control::Stop(grace));
                    (managed.shared.clone(), managed.task.take())
                })
        };
        let Some((shared, task)) = managed else {
            let detached = lock(&self.inner.instances)
                .get(id)
                .map(|m| m.shared.clone());
            let stopped = match self.inner.records.read(id)? {
                Some(record) => self.stop_recorded(&record, grace).await,
                None if detached.is_some() => {
                    emit(&self.inner.events, id, EventKind::Stopped);
                    Ok(())
                }
                None => Err(SupervisorError::UnknownInstance { id: id.to_string() }),
            };
            if stopped.is_ok()
                && let Some(shared) = detached
            {
                shared.status.send_replace(InstanceStatus::Stopped);
            }
            return stopped;
        };
        match task {
            Some(task) => task.await.map_err(|error| SupervisorError::Watcher {
                id: id.to_string(),
                problem: error.to_string(),
            })??,
            // Another call is stopping it; wait for that to finish.
            None => {
                let mut status = shared.status.subscribe();
                let bound = grace + AFTER_KILL_WAIT + KILL_GRACE;
                let _ = tokio::time::timeout(
                    bound,
                    status.wait_for(|status| {
                        matches!(
                            status,
                            InstanceStatus::Stopped | InstanceStatus::Failed { .. }
                        )
                    }),
                )
                .await;
            }
        }
        // A watcher that had already given up (or was detached) leaves this to us.
        if *shared.status.borrow() != InstanceStatus::Stopped {
            self.inner.records.remove(id)?;
            shared.status.send_replace(InstanceStatus::Stopped);
            emit(&self.inner.events, id, EventKind::Stopped);
        }
        Ok(())
    }

    /// Stops every watched and every recorded instance (see [`Supervisor::stop`]), all at
    /// once; afterwards the supervisor takes no new instances. Returns the first error after
    /// trying them all.
    pub async fn stop_all(&self, grace: Duration) -> Result<(), SupervisorError> {
        self.inner.closed.store(true, Ordering::Relaxed);
        let mut ids: Vec<String> = lock(&self.inner.instances)
            .iter()
            .filter(|(_, managed)| *managed.shared.status.borrow() != InstanceStatus::Stopped)
            .map(|(id, _)| id.clone())
            .collect();
        for record in self.inner.records.all()? {
            if !ids.contains(&record.id) {
                ids.push(record.id);
            }
        }
        let stops: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let supervisor = self.clone();
                tokio::spawn(async move { supervisor.stop(&id, grace).await })
            })
            .collect();
        let mut first_error = None;
        for stop in stops {
            let result = stop.await.unwrap_or_else(|error| {
                Err(SupervisorError::Watcher {
                    id: String::new(),
                    problem: error.to_string(),
                })
            });
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops watching without touching the processes: they keep running and keep their
    /// records, for the next supervisor to adopt. Waits up to `grace` for the watcher tasks to
    /// finish. Afterwards the supervisor takes no new instances.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closed.store(true, Ordering::Relaxed);
        let tasks: Vec<_> = lock(&self.inner.instances)
            .values_mut()
            .filter_map(|managed| {
                managed.control.send_replace(Control::Detach);
                managed.task.take()
            })
            .collect();
        let deadline = Instant::now() + grace;
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                // Aborting drops the child handle without killing the process.
                abort.abort();
            }
        }
    }

    /// The status of an instance watched by this supervisor.
    pub fn status(&self, id: &str) -> Option<InstanceStatus> {
        lock(&self.inner.instances)
            .get(id)
            .map(|managed| managed.shared.status.borrow().clone())
    }

    /// The process id an instance runs as while it is `Starting`, `Ready` or `Unready`;
    /// `None` while it waits to restart, after it stopped or failed, or for unknown ids.
    pub fn pid(&self, id: &str) -> Option<u32> {
        let instances = lock(&self.inner.instances);
        let managed = instances.get(id)?;
        let runs = matches!(
            *managed.shared.status.borrow(),
            InstanceStatus::Starting | InstanceStatus::Ready | InstanceStatus::Unready
        );
        runs.then(|| managed.shared.pid.load(Ordering::Relaxed))
    }

    /// Every instance this supervisor watches or watched, with its status, sorted by id.
    pub fn instances(&self) -> Vec<(String, InstanceStatus)> {
        let mut list: Vec<_> = lock(&self.inner.instances)
            .iter()
            .map(|(id, managed)| (id.clone(), managed.shared.status.borrow().clone()))
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    /// Waits until the instance is `Ready`, at most `deadline`. Returns early when it is
    /// `Failed` or `Stopped`. The error names the probe, its last result, the status, the last
    /// exit and the log file.
    pub async fn wait_ready(&self, id: &str, deadline: Duration) -> Result<(), NotReady> {
        let Some(shared) = lock(&self.inner.instances)
            .get(id)
            .map(|managed| managed.shared.clone())
        else {
            return Err(NotReady {
                reason: format!("instance {id:?} is not watched by this supervisor"),
            });
        };
        let mut status = shared.status.subscribe();
        let until = Instant::now() + deadline;
        loop {
            let current = status.borrow_and_update().clone();
            match current {
                InstanceStatus::Ready => return Ok(()),
                InstanceStatus::Failed { .. } | InstanceStatus::Stopped => {
                    return Err(shared.not_ready("will not become ready", &current));
                }
                _ => {}
            }
            match tokio::time::timeout_at(until, status.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    let current = status.borrow().clone();
                    if current == InstanceStatus::Ready {
                        return Ok(());
                    }
                    return Err(
                        shared.not_ready(&format!("is not ready after {deadline:?}"), &current)
                    );
                }
            }
        }
    }

    /// A receiver of every event from now on.
    pub fn events(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.inner.events.subscribe()
    }

    /// What the record files in the runtime directory say, sorted by id: after a controller
    /// restart, the instances to adopt or to stop. [`InstanceRecord::is_alive`] tells whether
    /// a recorded process still runs.
    pub fn recorded(&self) -> Result<Vec<InstanceRecord>, SupervisorError> {
        self.inner.records.all()
    }

    fn ensure_open(&self) -> Result<(), SupervisorError> {
        if self.inner.closed.load(Ordering::Relaxed) {
            return Err(SupervisorError::ShutDown);
        }
        Ok(())
    }

    /// Spawns the process, records it and starts watching it; returns its pid.
    fn launch(
        &self,
        instances: &mut HashMap<String, Managed>,
        spec: InstanceSpec,
    ) -> Result<u32, SupervisorError> {
        let mut running = spawn(&spec)?;
        if let Err(error) = self.inner.records.write(&record_of(&spec, &running)) {
            // An unrecorded process could be started twice by the next controller.
            kill_now(&mut running);
            return Err(error);
        }
        let pid = running.pid;
        self.watch(instances, spec, running, false);
        Ok(pid)
    }

    fn watch(
        &self,
        instances: &mut HashMap<String, Managed>,
        spec: InstanceSpec,
        running: Running,
        adopted: bool,
    ) {
        let id = spec.id.clone();
        let (status, _) = watch::channel(InstanceStatus::Starting);
        let shared = Arc::new(Shared {
            digest: spec.digest(),
            spec,
            status,
            pid: AtomicU32::new(running.pid),
            detail: Mutex::new(Detail::default()),
        });
        let (control, control_rx) = watch::channel(Control::Run);
        let kind = if adopted {
            EventKind::Adopted { pid: running.pid }
        } else {
            EventKind::Started { pid: running.pid }
        };
        emit(&self.inner.events, &id, kind);
        let watcher = Watcher {
            shared: shared.clone(),
            records: self.inner.records.clone(),
            events: self.inner.events.clone(),
        };
        let task = tokio::spawn(watcher.run(running, control_rx));
        instances.insert(
            id,
            Managed {
                shared,
                control,
                task: Some(task),
            },
        );
    }

    /// Stops a process known only from its record. A dead leader is not signalled: its pid
    /// (and so its group id) may belong to someone else by now.
    async fn stop_recorded(
        &self,
        record: &InstanceRecord,
        grace: Duration,
    ) -> Result<(), SupervisorError> {
        if record.is_alive() {
            let mut running = Running {
                pid: record.pid,
                start_time: record.start_time,
                child: None,
                exit: None,
            };
            terminate(&record.id, &mut running, grace).await?;
        }
        self.inner.records.remove(&record.id)?;
        emit(&self.inner.events, &record.id, EventKind::Stopped);
        Ok(())
    }
}

impl Managed {
    /// Whether a process runs or will run again for this entry.
    fn is_active(&self) -> bool {
        !matches!(
            *self.shared.status.borrow(),
            InstanceStatus::Stopped | InstanceStatus::Failed { .. }
        ) && self.task.as_ref().is_some_and(|task| !task.is_finished())
    }
}

fn refuse_managed(instances: &HashMap<String, Managed>, id: &str) -> Result<(), SupervisorError> {
    match instances.get(id) {
        Some(managed) if managed.is_active() => Err(SupervisorError::AlreadyRunning {
            id: id.to_string(),
            pid: managed.shared.pid.load(Ordering::Relaxed),
        }),
        _ => Ok(()),
    }
}

impl Shared {
    fn not_ready(&self, what: &str, status: &InstanceStatus) -> NotReady {
        let spec = &self.spec;
        let detail = lock(&self.detail);
        let mut reason = format!("instance {:?} {what}: status {}", spec.id, status);
        match &spec.readiness {
            Some(probe) => reason.push_str(&format!(
                "; readiness probe GET http://127.0.0.1:{}{}: {}",
                spec.port,
                probe.path,
                detail.last_readiness.as_deref().unwrap_or("not run yet")
            )),
            None => reason.push_str("; no readiness probe"),
        }
        if let Some(exit) = &detail.last_exit {
            reason.push_str(&format!("; last exit: {exit}"));
        }
        reason.push_str(&format!("; see the log {}", spec.log_path.display()));
        NotReady { reason }
    }
}

fn emit(events: &broadcast::Sender<SupervisorEvent>, id: &str, kind: EventKind) {
    // No receiver is fine: events are for whoever listens.
    let _ = events.send(SupervisorEvent {
        id: id.to_string(),
        at: SystemTime::now(),
        kind,
    });
}

fn record_of(spec: &InstanceSpec, running: &Running) -> InstanceRecord {
    InstanceRecord {
        format: RECORD_FORMAT,
        id: spec.id.clone(),
        pid: running.pid,
        start_time: running.start_time,
        spec_digest: spec.digest(),
        port: spec.port,
        log_path: spec.log_path.clone(),
        started_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            }),
    }
}

/// Starts the process: a cleared environment plus `PORT`, output appended to the log file
/// through inherited descriptors, a new session (`setsid`), stdin from /dev/null.
fn spawn(spec: &InstanceSpec) -> Result<Running, SupervisorError> {
    let program = spec.resolved_program();
    let spawn_error = |problem: String| SupervisorError::Spawn {
        id: spec.id.clone(),
        program: program.clone(),
        working_dir: spec.working_dir.clone(),
        problem,
    };
    if !spec.working_dir_exists() {
        return Err(spawn_error(
            "the working directory does not exist; unpack the release there first".into(),
        ));
    }
    if port_in_use(spec.port) {
        return Err(SupervisorError::PortInUse {
            id: spec.id.clone(),
            port: spec.port,
        });
    }
    let log_error = |source| SupervisorError::Log {
        id: spec.id.clone(),
        path: spec.log_path.clone(),
        source,
    };
    if let Some(parent) = spec.log_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(log_error)?;
    }
    // Owner-only: services do print secrets now and then.
    let stdout = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&spec.log_path)
        .map_err(log_error)?;
    let stderr = stdout.try_clone().map_err(log_error)?;

    let mut command = tokio::process::Command::new(&program);
    command
        .args(&spec.args)
        .current_dir(&spec.working_dir)
        .env_clear()
        .envs(&spec.env)
        .env("PORT", spec.port.to_string())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // The process must outlive this handle: detaching leaves it running.
        .kill_on_drop(false);
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2),
    // which is async-signal-safe, and reads errno.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|error| {
        spawn_error(match error.kind() {
            std::io::ErrorKind::NotFound => format!(
                "{error}: the program does not exist (bare names are looked up in the spec's PATH)"
            ),
            std::io::ErrorKind::PermissionDenied => {
                format!("{error}: the program is not executable (chmod +x)")
            }
            _ => error.to_string(),
        })
    })?;
    let pid = child
        .id()
        .ok_or_else(|| spawn_error("the process ended before its pid was known".into()))?;
    // The child cannot be reaped before we wait for it, so its /proc entry is there.
    let start_time = proc::process_start_time(pid).unwrap_or(0);
    Ok(Running {
        pid,
        start_time,
        child: Some(child),
        exit: None,
    })
}

/// SIGKILL to the group and reap, for a process that must not stay (unrecordable).
fn kill_now(running: &mut Running) {
    proc::signal_group(running.pid, libc::SIGKILL);
    if let Some(child) = running.child.as_mut() {
        // The orphan reaper of tokio collects it if it is not gone yet.
        let _ = child.try_wait();
    }
}

impl Running {
    /// Whether the leader still runs; reaps our own child when it ended.
    fn leader_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => match child.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    false
                }
                Ok(None) => true,
                Err(_) => proc::is_alive(self.pid, self.start_time),
            },
            None => self.exit.is_none() && proc::is_alive(self.pid, self.start_time),
        }
    }

    /// Waits for the leader to end: our child through `wait`, an adopted process by polling
    /// `/proc` every `poll`.
    async fn ended(&mut self, poll: Duration) {
        match self.child.as_mut() {
            Some(child) => match child.wait().await {
                Ok(status) => self.exit = Some(status),
                Err(_) => {
                    while proc::is_alive(self.pid, self.start_time) {
                        tokio::time::sleep(poll).await;
                    }
                }
            },
            None => {
                while proc::is_alive(self.pid, self.start_time) {
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    fn exit_code_and_signal(&self) -> (Option<i32>, Option<i32>) {
        self.exit
            .map_or((None, None), |status| (status.code(), status.signal()))
    }

    fn describe_exit(&self) -> String {
        match self.exit_code_and_signal() {
            (Some(code), _) => format!("pid {} exited with code {code}", self.pid),
            (None, Some(signal)) => format!("pid {} was killed by signal {signal}", self.pid),
            (None, None) => format!("pid {} (adopted) is gone", self.pid),
        }
    }
}

/// SIGTERM and SIGCONT to the group, up to `grace` for the leader to end and the group to
/// empty, then SIGKILL and up to [`AFTER_KILL_WAIT`] more.
async fn terminate(
    id: &str,
    running: &mut Running,
    grace: Duration,
) -> Result<(), SupervisorError> {
    let pgid = running.pid;
    let gone =
        |running: &mut Running| !running.leader_running() && !proc::group_has_running_members(pgid);
    if gone(running) {
        return Ok(());
    }
    proc::signal_group(pgid, libc::SIGTERM);
    proc::signal_group(pgid, libc::SIGCONT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        tokio::time::sleep(STOP_POLL.min(grace)).await;
        if gone(running) {
            return Ok(());
        }
    }
    proc::signal_group(pgid, libc::SIGKILL);
    let deadline = Instant::now() + AFTER_KILL_WAIT;
    loop {
        if gone(running) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(SupervisorError::StopTimedOut {
                id: id.to_string(),
                pgid,
                waited: AFTER_KILL_WAIT,
            });
        }
        tokio::time::sleep(STOP_POLL).await;
    }
}

/// Why watching a running process ended.
enum Watched {
    Control(Control),
    Exited,
    LivenessFailed(String),
}

/// The task that watches one instance.
struct Watcher {
    shared: Arc<Shared>,
    records: Records,
    events: broadcast::Sender<SupervisorEvent>,
}

impl Watcher {
    fn id(&self) -> &str {
        &self.shared.spec.id
    }

    fn emit(&self, kind: EventKind) {
        emit(&self.events, self.id(), kind);
    }

    fn set_status(&self, status: InstanceStatus) {
        self.shared.status.send_replace(status);
    }

    async fn run(
        self,
        mut running: Running,
        mut control: watch::Receiver<Control>,
    ) -> Result<(), SupervisorError> {
        let policy = self.shared.spec.restart.clone();
        let mut restarts: u32 = 0;
        loop {
            match self.watch(&mut running, &mut control).await {
                Watched::Control(Control::Stop(grace)) => {
                    return self.stop(&mut running, grace).await;
                }
                Watched::Control(_) => return Ok(()),
                Watched::Exited => {}
                Watched::LivenessFailed(reason) => {
                    self.emit(EventKind::LivenessFailed { reason });
                    if let Err(error) = terminate(self.id(), &mut running, KILL_GRACE).await {
                        self.give_up(error.to_string());
                        return Err(error);
                    }
                }
            }
            let mut failure = self.exited(&mut running).await;
            let stable = lock(&self.shared.detail)
                .stable_since
                .take()
                .is_some_and(|since| since.elapsed() >= policy.stable_after);
            if stable {
                restarts = 0;
            }
            loop {
                restarts = restarts.saturating_add(1);
                if policy.max_restarts.is_some_and(|max| restarts > max) {
                    self.give_up(format!(
                        "gave up after {} restarts: {failure}; see the log {}",
                        restarts - 1,
                        self.shared.spec.log_path.display()
                    ));
                    return Ok(());
                }
                let backoff = policy.backoff(restarts);
                self.set_status(InstanceStatus::Restarting { attempt: restarts });
                self.emit(EventKind::Restarting {
                    attempt: restarts,
                    backoff,
                });
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    command = next_control(&mut control) => {
                        if let Control::Stop(_) = command {
                            self.records.remove(self.id())?;
                            self.set_status(InstanceStatus::Stopped);
                            self.emit(EventKind::Stopped);
                        }
                        return Ok(());
                    }
                }
                match self.respawn() {
                    Ok(next) => {
                        running = next;
                        break;
                    }
                    Err(error) => {
                        failure = error.to_string();
                        lock(&self.shared.detail).last_exit = Some(failure.clone());
                    }
                }
            }
        }
    }

    /// Spawns the next process and records it; a process that cannot be recorded is killed.
    fn respawn(&self) -> Result<Running, SupervisorError> {
        let spec = &self.shared.spec;
        let mut running = spawn(spec)?;
        if let Err(error) = self.records.write(&record_of(spec, &running)) {
            kill_now(&mut running);
            return Err(error);
        }
        self.shared.pid.store(running.pid, Ordering::Relaxed);
        self.emit(EventKind::Started { pid: running.pid });
        Ok(running)
    }

    /// Reports an exit, cleans up what is left of the group, and returns the description.
    async fn exited(&self, running: &mut Running) -> String {
        let (code, signal) = running.exit_code_and_signal();
        self.emit(EventKind::Exited {
            pid: running.pid,
            code,
            signal,
        });
        let mut description = running.describe_exit();
        // Children it left behind would hold the port or keep writing the log.
        if let Err(error) = terminate(self.id(), running, KILL_GRACE).await {
            description.push_str(&format!("; {error}"));
        }
        let was_ready = lock(&self.shared.detail).was_ready;
        if !was_ready && port_in_use(self.shared.spec.port) {
            description.push_str(&format!(
                "; port {} is in use by another process, which is likely why",
                self.shared.spec.port
            ));
        }
        lock(&self.shared.detail).last_exit = Some(description.clone());
        description
    }

    fn give_up(&self, reason: String) {
        // The record would only point at a dead process; nothing runs.
        let _ = self.records.remove(self.id());
        self.set_status(InstanceStatus::Failed {
            reason: reason.clone(),
        });
        self.emit(EventKind::GaveUp { reason });
    }

    async fn stop(&self, running: &mut Running, grace: Duration) -> Result<(), SupervisorError> {
        if let Err(error) = terminate(self.id(), running, grace).await {
            self.set_status(InstanceStatus::Failed {
                reason: error.to_string(),
            });
            return Err(error);
        }
        self.records.remove(self.id())?;
        self.set_status(InstanceStatus::Stopped);
        self.emit(EventKind::Stopped);
        Ok(())
    }

    /// Watches one process until it ends, fails liveness, or a control arrives.
    async fn watch(
        &self,
        running: &mut Running,
        control: &mut watch::Receiver<Control>,
    ) -> Watched {
        {
            let mut detail = lock(&self.shared.detail);
            detail.was_ready = false;
            detail.stable_since = None;
        }
        let spec = &self.shared.spec;
        let poll = spec.poll_interval();
        tokio::select! {
            command = next_control(control) => Watched::Control(command),
            () = running.ended(poll) => Watched::Exited,
            reason = self.liveness(spec.liveness.as_ref()) => Watched::LivenessFailed(reason),
            never = self.readiness(spec.readiness.as_ref()) => match never {},
        }
    }

    /// Runs the readiness probe forever, moving the status between Starting, Ready and
    /// Unready. Without a probe the instance is ready as soon as it runs.
    async fn readiness(&self, probe: Option<&Probe>) -> std::convert::Infallible {
        let Some(probe) = probe else {
            self.became_ready();
            return std::future::pending().await;
        };
        self.set_status(InstanceStatus::Starting);
        tokio::time::sleep(probe.initial_delay).await;
        let (mut successes, mut failures) = (0u32, 0u32);
        loop {
            let result = probe::check(self.shared.spec.port, &probe.path, probe.timeout).await;
            let ready = *self.shared.status.borrow() == InstanceStatus::Ready;
            match result {
                Ok(status) => {
                    successes = successes.saturating_add(1);
                    failures = 0;
                    lock(&self.shared.detail).last_readiness =
                        Some(format!("answered HTTP {status}"));
                    if !ready && successes >= probe.success_threshold {
                        self.became_ready();
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    successes = 0;
                    lock(&self.shared.detail).last_readiness =
                        Some(format!("{error} ({failures} failure(s) in a row)"));
                    if ready && failures >= probe.failure_threshold {
                        lock(&self.shared.detail).stable_since = None;
                        self.set_status(InstanceStatus::Unready);
                        self.emit(EventKind::Unready { reason: error });
                    }
                }
            }
            tokio::time::sleep(probe.interval).await;
        }
    }

    fn became_ready(&self) {
        {
            let mut detail = lock(&self.shared.detail);
            detail.was_ready = true;
            detail.stable_since = Some(Instant::now());
        }
        self.set_status(InstanceStatus::Ready);
        self.emit(EventKind::Ready);
    }

    /// Runs the liveness probe until it fails `failure_threshold` times in a row; returns the
    /// last failure. Without a probe it never returns.
    async fn liveness(&self, probe: Option<&Probe>) -> String {
        let Some(probe) = probe else {
            return std::future::pending().await;
        };
        tokio::time::sleep(probe.initial_delay).await;
        let mut failures = 0u32;
        loop {
            match probe::check(self.shared.spec.port, &probe.path, probe.timeout).await {
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    if failures >= probe.failure_threshold {
                        return format!(
                            "GET http://127.0.0.1:{}{}: {error} ({failures} failures in a row)",
                            self.shared.spec.port, probe.path
                        );
                    }
                }
            }
            tokio::time::sleep(probe.interval).await;
        }
    }
}

/// The next control other than `Run`; a dropped supervisor counts as detach.
async fn next_control(control: &mut watch::Receiver<Control>) -> Control {
    loop {
        let command = *control.borrow_and_update();
        if command != Control::Run {
            return command;
        }
        if control.changed().await.is_err() {
            return Control::Detach;
        }
    }
}
