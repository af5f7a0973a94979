//! Any bytes, read as an instance record file and as a `/proc/PID/stat` line by
//! slipway-supervisor. Both come from files a supervisor did not necessarily write; reading
//! must return a value or an error, never panic. A record that reads must survive a round
//! trip through its own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_supervisor::InstanceRecord;
use slipway_supervisor::proc::parse_stat;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = InstanceRecord::from_json(data) {
        let json = record
            .to_json()
            .expect("a record read from JSON writes back");
        assert_eq!(InstanceRecord::from_json(&json), Ok(record));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_stat(text);
    }
});
