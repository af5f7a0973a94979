//! Git range scans: `git log -p --unified=0` streamed line by line; the added lines of each
//! file in each commit are gathered into one buffer (with their line numbers in the new file)
//! and scanned like a file.

use crate::error::Error;
use crate::report::Report;
use crate::scanner::{ScanOptions, Scanner};
use crate::walk::{self, Skip};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The line that starts each commit in the log: NUL cannot occur in a text diff line.
const COMMIT_FORMAT: &str = "--format=%x00%H%x00%an <%ae>";
/// How much of git's standard error an error message keeps.
const STDERR_CAP: usize = 2000;

pub(crate) fn scan_git(
    scanner: &Scanner,
    repo: &Path,
    range: &str,
    options: &ScanOptions,
) -> Result<Report, Error> {
    let revision = revision_for(range)?;
    let args = [
        "-c",
        "core.quotePath=false",
        "log",
        "-p",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-show-signature",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        COMMIT_FORMAT,
        "--end-of-options",
        revision.as_str(),
    ];
    let command = format!("git {}", args.join(" "));
    let mut log = DiffLog::new(scanner, options);
    run_streaming(repo, &args, &command, scanner.git_timeout(), |line| {
        log.line(line);
    })?;
    Ok(log.finish())
}

/// `A..B` and `A...B` go to git as they are; a single commit means that commit alone.
fn revision_for(range: &str) -> Result<String, Error> {
    let refuse = |reason: &str| Error::InvalidRange {
        range: range.to_string(),
        reason: reason.to_string(),
    };
    if range.is_empty() {
        return Err(refuse("it is empty; write `A..B` or a single commit"));
    }
    if range.starts_with('-') {
        return Err(refuse(
            "it starts with `-`; write `A..B` or a single commit",
        ));
    }
    if range
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(refuse("it contains whitespace or control characters"));
    }
    if range.contains("..") {
        Ok(range.to_string())
    } else {
        Ok(format!("{range}^!"))
    }
}

/// Runs git, hands each line of its standard output to `each_line` as it arrives, and stops
/// git when `timeout` passes.
fn run_streaming(
    repo: &Path,
    args: &[&str],
    command: &str,
    timeout: Duration,
    mut each_line: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| Error::Git {
            command: command.to_string(),
            stderr: match error.kind() {
                std::io::ErrorKind::NotFound => {
                    "git is not installed or not on PATH; install git".to_string()
                }
                _ => error.to_string(),
            },
        })?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Git {
            command: command.to_string(),
            stderr: "git's output pipes could not be opened".to_string(),
        });
    };
    let deadline = Instant::now() + timeout;
    let child: Arc<Mutex<Child>> = Arc::new(Mutex::new(child));
    let timed_out = Arc::new(AtomicBool::new(false));
    let (finished, finished_signal) = mpsc::channel::<()>();
    let watchdog = {
        let child = Arc::clone(&child);
        let timed_out = Arc::clone(&timed_out);
        std::thread::spawn(move || {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if let Err(RecvTimeoutError::Timeout) = finished_signal.recv_timeout(remaining) {
                timed_out.store(true, Ordering::SeqCst);
                if let Ok(mut child) = child.lock() {
                    let _ = child.kill();
                }
            }
        })
    };
    // Drained on its own thread so a chatty git cannot block on a full pipe; only the head
    // is kept for the error message.
    let stderr_reader = std::thread::spawn(move || {
        let mut head = Vec::new();
        let mut stderr = stderr;
        let _ = stderr
            .by_ref()
            .take(STDERR_CAP as u64)
            .read_to_end(&mut head);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        head
    });
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::new();
    let read_result = loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break Ok(()),
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                each_line(&line);
            }
            Err(error) => break Err(error),
        }
    };
    let _ = finished.send(());
    let _ = watchdog.join();
    let status = match child.lock() {
        Ok(mut child) => {
            if read_result.is_err() {
                let _ = child.kill();
            }
            child.wait()
        }
        Err(_) => Err(std::io::Error::other("git process state lost")),
    };
    let stderr_head = stderr_reader.join().unwrap_or_default();
    // A call that ran past its deadline failed its timeout even if the watchdog was not
    // scheduled in time to stop it.
    if timed_out.load(Ordering::SeqCst) || Instant::now() >= deadline {
        return Err(Error::GitTimeout {
            command: command.to_string(),
            timeout,
        });
    }
    if let Err(error) = read_result {
        return Err(Error::Git {
            command: command.to_string(),
            stderr: format!("reading git's output failed: {error}"),
        });
    }
    let status = status.map_err(|error| Error::Git {
        command: command.to_string(),
        stderr: error.to_string(),
    })?;
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr_head).trim().to_string();
        return Err(Error::Git {
            command: command.to_string(),
            stderr: if stderr.is_empty() {
                format!("exit status {status}")
            } else {
                stderr
            },
        });
    }
    Ok(())
}

/// The added lines of one file in one commit.
struct AddedLines {
    path: String,
    skip: Option<Skip>,
    text: Vec<u8>,
    /// For each line of `text`, its line number in the file after the commit.
    line_numbers: Vec<u32>,
}

/// The parser's state over the streamed log.
struct DiffLog<'a> {
    scanner: &'a Scanner,
    options: &'a ScanOptions,
    report: Report,
    commit: Option<(String, String)>,
    file: Option<AddedLines>,
    /// Between `@@` and the next file header: `+` lines are content, not headers.
    in_hunk: bool,
    next_line: u32,
}

impl<'a> DiffLog<'a> {
    fn new(scanner: &'a Scanner, options: &'a ScanOptions) -> DiffLog<'a> {
        DiffLog {
            scanner,
            options,
            report: Report::default(),
            commit: None,
            file: None,
            in_hunk: false,
            next_line: 1,
        }
    }

    fn line(&mut self, line: &[u8]) {
        if let Some(header) = line.strip_prefix(b"\0") {
            self.flush();
            let mut parts = header.splitn(2, |&b| b == 0);
            let sha = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let author = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            self.commit = Some((sha, author));
            self.in_hunk = false;
            return;
        }
        if line.starts_with(b"diff --git ") {
            self.flush();
            self.in_hunk = false;
            return;
        }
        if !self.in_hunk
            && let Some(path) = line.strip_prefix(b"+++ ")
        {
            self.flush();
            self.file = new_file_path(path).map(|path| {
                let skip = walk::classify(&path, None, 0, self.options);
                AddedLines {
                    path,
                    skip,
                    text: Vec::new(),
                    line_numbers: Vec::new(),
                }
            });
            return;
        }
        if let Some(hunk) = line.strip_prefix(b"@@ ") {
            self.in_hunk = true;
            self.next_line = new_start_line(hunk).unwrap_or(1);
            return;
        }
        if !self.in_hunk {
            return;
        }
        if let Some(added) = line.strip_prefix(b"+") {
            let cap = self.options.size_cap();
            let next_line = self.next_line;
            self.next_line = self.next_line.saturating_add(1);
            let Some(file) = self.file.as_mut() else {
                return;
            };
            if file.skip.is_some() {
                return;
            }
            if u64::try_from(file.text.len() + added.len()).unwrap_or(u64::MAX) > cap {
                file.skip = Some(Skip::TooLarge);
                file.text = Vec::new();
                file.line_numbers = Vec::new();
                return;
            }
            file.text.extend_from_slice(added);
            file.text.push(b'\n');
            file.line_numbers.push(next_line);
        }
    }

    /// Scans the file gathered so far.
    fn flush(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        if file.line_numbers.is_empty() && file.skip.is_none() {
            return;
        }
        match file.skip {
            Some(Skip::Binary) => return self.report.skipped.binary += 1,
            Some(Skip::Vendored) => return self.report.skipped.vendored += 1,
            Some(Skip::TooLarge) => return self.report.skipped.too_large += 1,
            None => {}
        }
        if !self.options.include_binary && walk::looks_binary(&file.text) {
            self.report.skipped.binary += 1;
            return;
        }
        self.report.scanned_files += 1;
        self.report.scanned_bytes += u64::try_from(file.text.len()).unwrap_or(u64::MAX);
        let (findings, allowed) = self.scanner.scan_bytes_with_allowed(&file.path, &file.text);
        let (commit, author) = self
            .commit
            .clone()
            .map_or((None, None), |(sha, author)| (Some(sha), Some(author)));
        let remap = |line: u32| {
            usize::try_from(line)
                .ok()
                .and_then(|line| line.checked_sub(1))
                .and_then(|index| file.line_numbers.get(index).copied())
                .unwrap_or(line)
        };
        for mut finding in findings {
            finding.line = remap(finding.line);
            finding.end_line = remap(finding.end_line);
            finding.commit.clone_from(&commit);
            finding.author.clone_from(&author);
            self.report.findings.push(finding);
        }
        for mut allowed in allowed {
            allowed.finding.line = remap(allowed.finding.line);
            allowed.finding.end_line = remap(allowed.finding.end_line);
            allowed.finding.commit.clone_from(&commit);
            allowed.finding.author.clone_from(&author);
            self.report.allowed.push(allowed);
        }
    }

    fn finish(mut self) -> Report {
        self.flush();
        self.report.sort();
        self.report
    }
}

/// The path after `+++ `: `b/<path>` (possibly C-quoted), or `None` for `/dev/null`.
fn new_file_path(raw: &[u8]) -> Option<String> {
    let raw = raw.strip_suffix(b"\t").unwrap_or(raw);
    let unquoted = if raw.first() == Some(&b'"') {
        unquote(raw)
    } else {
        raw.to_vec()
    };
    if unquoted == b"/dev/null" {
        return None;
    }
    let path = unquoted.strip_prefix(b"b/").unwrap_or(&unquoted);
    Some(String::from_utf8_lossy(path).into_owned())
}

/// Undoes git's C-style quoting of unusual path names (`"a\tb"`, `"\303\251"`).
fn unquote(quoted: &[u8]) -> Vec<u8> {
    let inner = quoted
        .strip_prefix(b"\"")
        .and_then(|rest| rest.strip_suffix(b"\""))
        .unwrap_or(quoted);
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'a') => out.push(0x07),
            Some(b'b') => out.push(0x08),
            Some(b'f') => out.push(0x0c),
            Some(b'v') => out.push(0x0b),
            Some(first @ b'0'..=b'7') => {
                let mut value = u32::from(first - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(value & 0xff).unwrap_or(b'?'));
            }
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

/// The new file's first line from a hunk header's rest: `-a,b +c,d @@ ...` → `c`.
fn new_start_line(hunk: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(hunk).ok()?;
    let plus = text.split(' ').find(|part| part.starts_with('+'))?;
    let number = plus.trim_start_matches('+').split(',').next()?;
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(revision_for("a..b").ok().as_deref(), Some("a..b"));
        assert_eq!(
            revision_for("main...topic").ok().as_deref(),
            Some("main...topic")
        );
        assert_eq!(revision_for("HEAD~2").ok().as_deref(), Some("HEAD~2^!"));
        assert!(revision_for("--output=/tmp/x").is_err());
        assert!(revision_for("").is_err());
        assert!(revision_for("a b").is_err());
    }

    #[test]
    fn hunk_headers() {
        assert_eq!(new_start_line(b"-1,2 +3,4 @@ fn x()"), Some(3));
        assert_eq!(new_start_line(b"-0,0 +1 @@"), Some(1));
        assert_eq!(new_start_line(b"garbage"), None);
    }

    #[test]
    fn paths() {
        assert_eq!(new_file_path(b"b/src/a.rs").as_deref(), Some("src/a.rs"));
        assert_eq!(new_file_path(b"/dev/null"), None);
        assert_eq!(
            new_file_path(b"\"b/caf\\303\\251 \\\"q\\\".txt\"").as_deref(),
            Some("café \"q\".txt")
        );
    }
}
