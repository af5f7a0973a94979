//! Environment secrets through `slipway up`: `environments.<env>.secrets` are resolved from
//! their providers when the release's processes are prepared and reach them only through
//! their environment. The example's `HELLO_API_KEY` guards `/api/*`, so a request with the key
//! succeeding proves the exact value arrived; afterwards no file under the repository (the
//! state directory with its store, records and logs included) holds the value, plain or
//! base64. A secret that does not resolve ends its release, not the controller.

mod common;

use base64::Engine;
use common::delivery::{
    Up, build, environment, events, new_repo, now_ms, phase_is, promote, release, request, rollout,
    slipway, wait_for,
};
use std::path::Path;

const ENVIRONMENTS: &str = r#"
environments:
  guarded:
    readiness: { path: /readyz, interval: 100ms }
    secrets: [HELLO_API_KEY]
  unresolved:
    readiness: { path: /readyz, interval: 100ms }
    secrets: [MISSING_KEY]

secrets:
  HELLO_API_KEY: { from: env, name: SLIPWAY_TEST_HELLO_API_KEY }
  MISSING_KEY: { from: env, name: SLIPWAY_TEST_NEVER_SET }
"#;

/// Every file under `root` whose bytes contain one of `needles`.
fn files_containing(root: &Path, needles: &[Vec<u8>]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                if needles
                    .iter()
                    .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
                {
                    found.push(entry.path().display().to_string());
                }
            }
        }
    }
    found
}

#[test]
fn environment_secrets_reach_the_process_and_nothing_on_disk() {
    let key = format!("hk-{}-{}-7q2v", std::process::id(), now_ms());
    let repo = new_repo();
    let dir = repo.path();
    let digest = build(dir, "HELLO_VERSION: \"1\"", ENVIRONMENTS);
    let mut up = Up::start_with(
        dir,
        &["guarded", "unresolved"],
        &[("SLIPWAY_TEST_HELLO_API_KEY", key.as_str())],
    );
    release(dir, &digest, "guarded");

    // The process has the key: only a request that presents it gets through.
    let address = up.address("guarded");
    let bearer = format!("Bearer {key}");
    let with_key = request(address, "/api/hello", &[("Authorization", &bearer)]).unwrap();
    assert_eq!(with_key.status, 200, "{}", with_key.body);
    assert_eq!(request(address, "/api/hello", &[]).unwrap().status, 401);
    let wrong = format!("Bearer {key}x");
    assert_eq!(
        request(address, "/api/hello", &[("Authorization", &wrong)])
            .unwrap()
            .status,
        401
    );

    // A secret whose variable is not set: the release ends with the reason, the digest is
    // not blamed, and the controller serves on.
    assert_eq!(
        promote(dir, &digest, "unresolved", &[])["status"],
        "started"
    );
    let aborted = wait_for(dir, "unresolved", "abort", phase_is("aborted"));
    let reason = events(&aborted, "aborted")[0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("secret `MISSING_KEY`")
            && reason.contains("`SLIPWAY_TEST_NEVER_SET` is not set"),
        "{reason}"
    );
    assert_eq!(
        environment(dir, "unresolved")["known_bad"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(up.running(), "slipway up stopped");
    assert_eq!(
        request(address, "/api/hello", &[("Authorization", &bearer)])
            .unwrap()
            .status,
        200
    );

    // What the commands print holds no trace of it either.
    let shown = [
        slipway(dir, &["rollout", "status", "guarded", "--json"]),
        slipway(dir, &["env", "status", "guarded", "--json"]),
    ];
    for output in &shown {
        assert!(!String::from_utf8_lossy(&output.stdout).contains(&key));
        assert!(!String::from_utf8_lossy(&output.stderr).contains(&key));
    }
    assert_eq!(rollout(dir, "guarded")["phase"], "succeeded");
    drop(up);

    // The instance's log says the key was set, and no file anywhere holds its value.
    let state = dir.join(".slipway");
    let logs = files_containing(&state.join("delivery/guarded"), &[b"api_key=set".to_vec()]);
    assert!(!logs.is_empty(), "the service logged that it has a key");
    let needles = [
        key.as_bytes().to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(&key)
            .into_bytes(),
        base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(&key)
            .into_bytes(),
    ];
    let leaks = files_containing(dir, &needles);
    assert!(leaks.is_empty(), "the secret was written to {leaks:?}");
}
