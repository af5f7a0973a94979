//! Any bytes, read by every lockfile and package-database parser of slipway-sbom: the first
//! byte picks the parser, the rest is the file. Parsing must return a value or an error,
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_sbom::lockfile::{LockfileKind, parse, parse_go_module};
use slipway_sbom::system::{parse_apk_installed, parse_auditable_binary, parse_dpkg_status};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let kinds = LockfileKind::ALL;
    let extra = usize::from(selector) % (kinds.len() + 5);
    match kinds.get(extra) {
        Some(&kind) => {
            let _ = parse(kind, "lockfile", file);
        }
        None => match extra - kinds.len() {
            0 => {
                // go.mod and go.sum, split at the first NUL.
                let (go_mod, go_sum) = match file.iter().position(|&b| b == 0) {
                    Some(at) => (&file[..at], Some(("go.sum", &file[at + 1..]))),
                    None => (file, None),
                };
                let _ = parse_go_module("go.mod", go_mod, go_sum);
            }
            1 => {
                let _ = parse_dpkg_status("status", file);
            }
            2 => {
                let _ = parse_apk_installed("installed", file);
            }
            3 => {
                let _ = parse_auditable_binary("binary", file);
            }
            _ => {
                let _ = slipway_sbom::read_cyclonedx(file);
            }
        },
    }
});
