//! Linux process facts from `/proc` and signals to process groups.
//!
//! A pid alone does not identify a process: pids are reused. The pair (pid, start time in
//! clock ticks since boot, field 22 of `/proc/PID/stat`) does, for as long as the machine runs.

use std::time::Duration;

/// The fields of `/proc/PID/stat` the supervisor needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// One-letter state: `R`, `S`, `D`, `T`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// The process group id.
    pub pgrp: i64,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
}

impl ProcStat {
    /// Whether the process still runs code (neither a zombie waiting to be reaped nor dead).
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted after its last `)`. Returns
/// `None` for anything malformed.
pub fn parse_stat(stat: &str) -> Option<ProcStat> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_ascii_whitespace();
    // Field 3 is the state; fields are numbered from 1 with the pid and the name first.
    let state_field = fields.next()?;
    let mut state_chars = state_field.chars();
    let state = state_chars.next()?;
    if state_chars.next().is_some() {
        return None;
    }
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Field 22 is the start time: 17 fields after the process group (field 5).
    let start_time = fields.nth(16)?.parse().ok()?;
    Some(ProcStat {
        state,
        pgrp,
        start_time,
    })
}

/// Reads `/proc/PID/stat`; `None` when there is no such process.
pub fn read_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// The start time of `pid` in clock ticks after boot, `None` when it does not exist.
pub fn process_start_time(pid: u32) -> Option<u64> {
    read_stat(pid).map(|stat| stat.start_time)
}

/// Whether the process `pid` that started at `start_time` still runs: same pid, same start
/// time (so not a reused pid), and not a zombie.
pub fn is_alive(pid: u32, start_time: u64) -> bool {
    read_stat(pid).is_some_and(|stat| stat.start_time == start_time && stat.is_running())
}

/// Whether any process that is not a zombie belongs to the process group `pgid`.
///
/// Scans `/proc` rather than asking `kill(-pgid, 0)`, because zombies count for `kill` and
/// orphaned zombies may wait a long time for a reaper in containers.
pub fn group_has_running_members(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return signal_group(pgid, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_stat)
        .any(|stat| stat.pgrp == i64::from(pgid) && stat.is_running())
}

/// Sends `signal` to every process of the group `pgid`. Returns whether the group existed.
/// Refuses group ids that would address more than one group (0, 1 and above `i32::MAX`).
pub fn signal_group(pgid: u32, signal: i32) -> bool {
    let Ok(pgid) = i32::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) with a negative pid signals the group; it touches no memory of ours.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// How often stopping loops look at `/proc` again.
pub(crate) const STOP_POLL: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(name: &str, state: char, pgrp: i64, start: u64) -> String {
        format!(
            "4242 ({name}) {state} 1 {pgrp} {pgrp} 0 -1 4194560 110 0 0 0 0 0 0 0 20 0 1 0 {start} 2838528 192 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn reads_state_group_and_start_time() {
        let stat = parse_stat(&line("sh", 'S', 4242, 987654)).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                pgrp: 4242,
                start_time: 987654
            }
        );
        assert!(stat.is_running());
        assert!(!parse_stat(&line("sh", 'Z', 1, 2)).unwrap().is_running());
    }

    #[test]
    fn names_with_spaces_and_parentheses_do_not_shift_fields() {
        let stat = parse_stat(&line("a) b (c) Z 1 2", 'R', 7, 55)).unwrap();
        assert_eq!((stat.state, stat.pgrp, stat.start_time), ('R', 7, 55));
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "42",
            "42 (x",
            "42 (x) S 1",
            "42 (x) SS 1 2 3",
            "42 (x) S 1 x",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let pid = std::process::id();
        let start = process_start_time(pid).unwrap();
        assert!(is_alive(pid, start));
        assert!(!is_alive(pid, start + 1));
        assert!(!signal_group(0, 0) && !signal_group(1, 0));
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*") {
            let _ = parse_stat(&text);
        }

        #[test]
        fn any_command_name_round_trips(name in ".{0,40}", pgrp in 0i64..1_000_000, start in any::<u64>()) {
            let stat = parse_stat(&line(&name, 'S', pgrp, start)).unwrap();
            prop_assert_eq!((stat.pgrp, stat.start_time), (pgrp, start));
        }
    }
}
