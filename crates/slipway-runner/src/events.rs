//! The run's event stream: every output line and every state change, as JSON Lines in
//! `<state>/runs/<run-id>/events.jsonl`, and on stdout with `--json`.

use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// One record of the stream. Output lines and state changes share the envelope.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub ts: String,
    pub run_id: &'a str,
    /// `<commit sha>-<run number>`: joins logs of one run across systems.
    pub correlation_id: &'a str,
    #[serde(flatten)]
    pub body: Body<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Body<'a> {
    Line {
        job: &'a str,
        step: &'a str,
        attempt: u32,
        stream: crate::process::Stream,
        line: &'a str,
    },
    Event(Event<'a>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    RunStarted {
        number: i64,
        commit: &'a str,
        git_ref: &'a str,
        trigger: &'a str,
        dirty: bool,
        jobs: usize,
        parallelism: usize,
    },
    JobQueued {
        job: &'a str,
    },
    JobSkipped {
        job: &'a str,
        reason: &'a str,
    },
    JobStarted {
        job: &'a str,
        attempt: u32,
    },
    StepStarted {
        job: &'a str,
        step: &'a str,
        attempt: u32,
    },
    StepFinished {
        job: &'a str,
        step: &'a str,
        attempt: u32,
        status: &'a str,
        exit_code: Option<i32>,
        duration_ms: u64,
    },
    JobRetrying {
        job: &'a str,
        attempt: u32,
        failure_class: &'a str,
        delay_ms: u64,
    },
    StepRetrying {
        job: &'a str,
        step: &'a str,
        attempt: u32,
        delay_ms: u64,
    },
    /// One request to a secret provider over the network (Vault).
    SecretFetch {
        secret: &'a str,
        path: &'a str,
        attempt: u32,
        outcome: &'a str,
        delay_ms: u64,
    },
    Cache {
        job: &'a str,
        result: &'a str,
        key: &'a str,
    },
    JobFinished {
        job: &'a str,
        status: &'a str,
        exit_code: Option<i32>,
        duration_ms: u64,
        attempts: u32,
        reason: Option<&'a str>,
    },
    JobCancelled {
        job: &'a str,
        reason: &'a str,
    },
    /// A re-run took this job's success from an earlier attempt.
    JobReused {
        job: &'a str,
    },
    /// A job packaged the run's artifact.
    ArtifactPackaged {
        job: &'a str,
        name: &'a str,
        digest: &'a str,
        tag: &'a str,
        size: u64,
        files: u64,
    },
    RunFinished {
        status: &'a str,
        duration_ms: u64,
    },
}

/// Writes the stream; safe to share between jobs.
pub struct Sink {
    file: Mutex<BufWriter<std::fs::File>>,
    stdout: bool,
    pub run_id: String,
    pub correlation_id: String,
}

impl Sink {
    pub fn create(
        path: &Path,
        run_id: String,
        correlation_id: String,
        stdout: bool,
    ) -> std::io::Result<Sink> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(path)?;
        Ok(Sink {
            file: Mutex::new(BufWriter::new(file)),
            stdout,
            run_id,
            correlation_id,
        })
    }

    pub fn event(&self, event: Event) {
        self.write(Body::Event(event));
    }

    pub fn line(
        &self,
        job: &str,
        step: &str,
        attempt: u32,
        stream: crate::process::Stream,
        line: &str,
    ) {
        self.write(Body::Line {
            job,
            step,
            attempt,
            stream,
            line,
        });
    }

    fn write(&self, body: Body) {
        let record = Record {
            ts: timestamp(),
            run_id: &self.run_id,
            correlation_id: &self.correlation_id,
            body,
        };
        let Ok(mut text) = serde_json::to_string(&record) else {
            return;
        };
        text.push('\n');
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_all(text.as_bytes());
        }
        if self.stdout {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    pub fn flush(&self) {
        if let Ok(mut file) = self.file.lock() {
            let _ = file.flush();
        }
    }
}

/// RFC 3339 UTC with milliseconds, without a date crate: the civil-from-days algorithm.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format_timestamp(now.as_millis() as i64)
}

pub fn format_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        assert_eq!(super::format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::format_timestamp(1_795_219_200_123),
            "2026-11-21T00:00:00.123Z"
        );
        assert_eq!(
            super::format_timestamp(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
