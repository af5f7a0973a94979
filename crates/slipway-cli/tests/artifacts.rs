//! Artifacts end to end: the bundled example built by `slipway run`, listed, inspected and
//! exported by the real binary.

mod common;

use common::{example_repo, git, slipway, text};
use std::path::{Path, PathBuf};

/// Runs the example's build job with a state directory of its own; returns the artifact event.
fn build(repo: &Path, state: &Path) -> serde_json::Value {
    let state = state.to_str().unwrap();
    // The build job must write into its own workspace, where `artifact.from` points.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", "--job", "build", "--state-dir", state, "--json"])
        .current_dir(repo)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("SLIPWAY_STATE_DIR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "artifact_packaged")
        .unwrap_or_else(|| panic!("no artifact event in {}", text(&output.stdout)))
}

fn json(repo: &Path, args: &[&str]) -> serde_json::Value {
    let output = slipway(repo, args, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_example_builds_to_the_same_digest_in_two_clean_state_directories() {
    let repo = example_repo();
    let states: Vec<PathBuf> = ["one", "two"]
        .iter()
        .map(|name| {
            repo.path().parent().unwrap().join(format!(
                "{}-state-{name}",
                repo.path().file_name().unwrap().to_string_lossy()
            ))
        })
        .collect();
    let first = build(repo.path(), &states[0]);
    let second = build(repo.path(), &states[1]);
    for state in &states {
        let _ = std::fs::remove_dir_all(state);
    }
    assert_eq!(
        first["digest"], second["digest"],
        "the same commit built twice"
    );
    let digest = first["digest"].as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let sha = text(
        &std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(repo.path())
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(first["tag"], format!("{}-1", sha.trim()));
}

#[test]
fn ls_inspect_and_export_describe_the_stored_artifact() {
    let repo = example_repo();
    let state = repo.path().join(".slipway");
    let packaged = build(repo.path(), &state);
    let state = state.to_str().unwrap();
    let digest = packaged["digest"].as_str().unwrap();

    let listed = json(
        repo.path(),
        &["artifact", "ls", "--state-dir", state, "--json"],
    );
    let artifacts = listed["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1);
    let entry = artifacts[0].as_object().unwrap();
    let mut keys: Vec<&str> = entry.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created", "digest", "name", "run", "tags"]);
    assert_eq!(entry["digest"], digest);
    assert_eq!(entry["name"], "hello-service");
    assert_eq!(entry["tags"][0], packaged["tag"]);

    let tag = packaged["tag"].as_str().unwrap();
    let inspected = json(
        repo.path(),
        &["artifact", "inspect", tag, "--state-dir", state, "--json"],
    );
    assert_eq!(inspected["digest"], digest);
    assert_eq!(
        inspected["config"]["config"]["Entrypoint"][0],
        "/app/hello-service"
    );
    assert_eq!(inspected["manifest"]["layers"].as_array().unwrap().len(), 1);

    let layout = repo.path().join("exported");
    let exported = json(
        repo.path(),
        &[
            "artifact",
            "export",
            &digest[..19],
            layout.to_str().unwrap(),
            "--state-dir",
            state,
            "--json",
        ],
    );
    assert_eq!(exported["digest"], digest);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);

    let missing = slipway(
        repo.path(),
        &["artifact", "inspect", "no-such-tag", "--state-dir", state],
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("no artifact no-such-tag"),
        "{}",
        text(&missing.stderr)
    );
}

/// `slipway artifact export DIGEST LAYOUT`, which must succeed.
fn export(repo: &Path, digest: &str, layout: &Path, state: &str) {
    let exported = slipway(
        repo,
        &[
            "artifact",
            "export",
            digest,
            layout.to_str().unwrap(),
            "--state-dir",
            state,
        ],
        &[],
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
}

/// A pipeline whose `build` job packages `out/` (made from `app.txt`) as the artifact.
const SMALL_PIPELINE: &str = r#"version: 1
jobs:
  build:
    steps:
      - run: mkdir -p out && cp app.txt out/app.txt && printf '#!/bin/sh\ncat /app/app.txt\n' > out/run && chmod +x out/run
    artifact:
      name: small
      from: out
      entrypoint: ["run"]
retention:
  keep-last: 1
"#;

fn run_small(repo: &Path, state: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"));
    command
        .args(["run", "--state-dir", state, "--json"])
        .current_dir(repo)
        .env_remove("SLIPWAY_STATE_DIR")
        .env_remove("SLIPWAY_SIGNING_KEY");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "run_artifact")
        .unwrap_or_else(|| panic!("no run_artifact line in {}", text(&output.stdout)))
}

#[test]
fn gc_keeps_what_retention_says_and_frees_the_rest() {
    let repo = common::repo(SMALL_PIPELINE, &[("app.txt", "version 1\n")]);
    let state = repo.path().join(".slipway");
    let state = state.to_str().unwrap();
    let mut digests = Vec::new();
    for version in 1..=3 {
        std::fs::write(repo.path().join("app.txt"), format!("version {version}\n")).unwrap();
        git(
            repo.path(),
            &[
                "commit",
                "-q",
                "-am",
                &format!("v{version}"),
                "--allow-empty",
            ],
        );
        let artifact = run_small(repo.path(), state, &[]);
        let kinds: Vec<&str> = artifact["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "sbom-cyclonedx",
                "sbom-spdx",
                "provenance",
                "security-gates"
            ]
        );
        digests.push(artifact["digest"].as_str().unwrap().to_owned());
    }
    let dry = json(
        repo.path(),
        &["gc", "--dry-run", "--state-dir", state, "--json"],
    );
    assert_eq!(dry["deleted"], 2, "{dry:#}");
    assert!(dry["freed_bytes"].as_u64().unwrap() > 0);
    let listed = json(
        repo.path(),
        &["artifact", "ls", "--state-dir", state, "--json"],
    );
    assert_eq!(
        listed["artifacts"].as_array().unwrap().len(),
        3,
        "a dry run deletes nothing"
    );

    let done = json(repo.path(), &["gc", "--state-dir", state, "--json"]);
    assert_eq!(done["deleted"], 2);
    assert_eq!(done["freed_bytes"], dry["freed_bytes"]);
    let listed = json(
        repo.path(),
        &["artifact", "ls", "--state-dir", state, "--json"],
    );
    let left: Vec<&str> = listed["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        [digests[2].as_str()],
        "the newest artifact of main stays"
    );
    // What is kept is whole: its blobs and evidence survived the collection.
    let verified = slipway(
        repo.path(),
        &["verify", &digests[2], "--state-dir", state],
        &[],
    );
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    // `sbom DIGEST` makes the same document from the artifact's layers.
    let sbom = json(repo.path(), &["sbom", &digests[2], "--state-dir", state]);
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let files: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "file")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("app/app.txt")),
        "{files:?}"
    );
    let gone = slipway(
        repo.path(),
        &["evidence", "ls", &digests[0], "--state-dir", state],
        &[],
    );
    assert_eq!(gone.status.code(), Some(2));
}

#[test]
fn job_steps_cannot_reach_the_signing_key_and_verify_checks_the_configured_builder() {
    if !common::have_bwrap() {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let passphrase = "correct horse battery staple";
    for name in ["ci", "other"] {
        let prefix = keys.path().join(name);
        let generated = slipway(
            keys.path(),
            &["keys", "generate", "--output", prefix.to_str().unwrap()],
            &[("SLIPWAY_KEY_PASSPHRASE", passphrase)],
        );
        assert!(generated.status.success(), "{}", text(&generated.stderr));
    }
    let key_path = keys.path().join("ci.key");
    let key_path = key_path.to_str().unwrap();
    // The step knows where the key is and tries to read it; the sandbox shows it empty.
    let pipeline = format!(
        r#"version: 1
jobs:
  build:
    sandbox: true
    steps:
      - run: |
          mkdir -p out
          echo "key bytes: [$(head -c 200 {key_path} 2>&1)]"
          echo "passphrase: ${{SLIPWAY_KEY_PASSPHRASE:-absent}} key: ${{SLIPWAY_SIGNING_KEY:-absent}}"
          env > out/env.txt
    artifact:
      name: probe
      from: out
"#
    );
    let repo = common::repo(&pipeline, &[]);
    let builder = "https://ci.example.org/builders/hardened/v1";
    let state = repo.path().join(".slipway");
    let state = state.to_str().unwrap();
    let env = [
        ("SLIPWAY_SIGNING_KEY", key_path),
        ("SLIPWAY_KEY_PASSPHRASE", passphrase),
        ("SLIPWAY_BUILDER_ID", builder),
    ];
    let artifact = run_small(repo.path(), state, &env);
    let logs = slipway(repo.path(), &["logs", "1", "--state-dir", state], &[]);
    let log = text(&logs.stdout);
    // Outside the sandbox the file is there and readable; inside, it is masked.
    let on_host = std::fs::read_to_string(key_path).unwrap();
    assert!(on_host.contains("PRIVATE KEY"));
    assert!(log.contains("key bytes: ["), "{log}");
    assert!(
        !log.contains("PRIVATE KEY"),
        "the sandboxed step read the key: {log}"
    );
    assert!(log.contains("passphrase: absent key: absent"), "{log}");
    assert!(!log.contains(passphrase));

    // The artifact's contents (the step's whole environment) hold neither.
    let digest = artifact["digest"].as_str().unwrap();
    let layout = repo.path().join("layout");
    export(repo.path(), digest, &layout, state);
    for entry in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(passphrase));
    }

    // A policy that trusts the configured builder's public key verifies it...
    let policy = keys.path().join("trust.yml");
    std::fs::write(
        &policy,
        format!("version: 1\nbuilders:\n  - id: {builder}\n    keys:\n      - path: ci.pub\n"),
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let report = json(
        repo.path(),
        &[
            "verify",
            digest,
            "--policy",
            policy,
            "--state-dir",
            state,
            "--json",
        ],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    let inspected = json(
        repo.path(),
        &[
            "artifact",
            "inspect",
            digest,
            "--state-dir",
            state,
            "--json",
        ],
    );
    // Two SBOMs, provenance, the gate report and the release decision.
    assert_eq!(inspected["evidence"].as_array().unwrap().len(), 5);

    // ...and one that trusts another key for the same builder refuses every signature.
    let other = keys.path().join("other-trust.yml");
    std::fs::write(
        &other,
        format!("version: 1\nbuilders:\n  - id: {builder}\n    keys:\n      - path: other.pub\n"),
    )
    .unwrap();
    let refused = slipway(
        repo.path(),
        &[
            "verify",
            digest,
            "--policy",
            other.to_str().unwrap(),
            "--state-dir",
            state,
            "--json",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    let refused: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(refused["ok"], false);
}

#[test]
fn verify_reports_a_damaged_layer_and_exits_1() {
    let repo = common::repo(SMALL_PIPELINE, &[("app.txt", "hello\n")]);
    let state_dir = repo.path().join(".slipway");
    let state = state_dir.to_str().unwrap();
    let artifact = run_small(repo.path(), state, &[]);
    let digest = artifact["digest"].as_str().unwrap();
    let inspected = json(
        repo.path(),
        &[
            "artifact",
            "inspect",
            digest,
            "--state-dir",
            state,
            "--json",
        ],
    );
    let layer = inspected["manifest"]["layers"][0]["digest"]
        .as_str()
        .unwrap();
    let path = state_dir
        .join("objects/blobs/sha256")
        .join(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 0xff;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let output = slipway(
        repo.path(),
        &["verify", digest, "--state-dir", state, "--json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["digest"], digest);
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed[0]["name"], "layer 1 digest");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains(layer.strip_prefix("sha256:").unwrap())
    );
}

/// Debian's reference registry (distribution 2.8) on a free loopback port, stopped on drop.
struct Registry {
    child: std::process::Child,
    port: u16,
    _storage: tempfile::TempDir,
}

impl Registry {
    fn start() -> Option<Registry> {
        let program = Path::new("/usr/bin/docker-registry");
        if !program.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "docker-registry must be installed in CI (scripts/deps/registry.sh)"
            );
            eprintln!(
                "NOTICE: skipping: docker-registry is not installed (run scripts/deps/install.sh)"
            );
            return None;
        }
        let storage = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n",
                storage.path().join("data").display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(program)
            .args(["serve", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            port,
            _storage: storage,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the registry did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_to_a_real_registry_then_pull_and_verify_elsewhere() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let repo = common::repo(SMALL_PIPELINE, &[("app.txt", "shipped\n")]);
    let state_dir = repo.path().join(".slipway");
    let state = state_dir.to_str().unwrap();
    let artifact = run_small(repo.path(), state, &[]);
    let digest = artifact["digest"].as_str().unwrap();
    let tag = artifact["tag"].as_str().unwrap();
    let target = format!("127.0.0.1:{}/acme/small", registry.port);
    let pushed = json(
        repo.path(),
        &[
            "artifact",
            "push",
            digest,
            &target,
            "--state-dir",
            state,
            "--json",
        ],
    );
    assert_eq!(pushed["digest"], digest);
    assert_eq!(pushed["referrers"].as_array().unwrap().len(), 5);
    assert_eq!(pushed["referrers_path"], "referrers tag schema");

    // An independent client sees the same image.
    let skopeo = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            &format!("docker://{target}:{tag}"),
        ])
        .output();
    match skopeo {
        Ok(output) => {
            assert!(output.status.success(), "{}", text(&output.stderr));
            let inspected: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(inspected["Digest"], digest);
        }
        Err(_) => assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "skopeo must be installed in CI"
        ),
    }

    // Pulled into another state directory, it verifies against the builder's key.
    let elsewhere = tempfile::tempdir().unwrap();
    let other_state = elsewhere.path().join("state");
    let other_state = other_state.to_str().unwrap();
    let pulled = json(
        repo.path(),
        &[
            "artifact",
            "pull",
            &format!("{target}:{tag}"),
            "--state-dir",
            other_state,
            "--json",
        ],
    );
    assert_eq!(pulled["digest"], digest);
    assert_eq!(pulled["evidence"], 5);
    let policy = elsewhere.path().join("trust.yml");
    std::fs::write(
        &policy,
        format!(
            "version: 1\nbuilders:\n  - id: https://slipway.invalid/builders/local-development/v1\n    keys:\n      - path: {}\n",
            state_dir.join("keys/development.pub").display()
        ),
    )
    .unwrap();
    let report = json(
        repo.path(),
        &[
            "verify",
            tag,
            "--policy",
            policy.to_str().unwrap(),
            "--state-dir",
            other_state,
            "--json",
        ],
    );
    assert_eq!(report["ok"], true, "{report:#}");
}

#[test]
fn junit_reports_become_test_results_evidence_and_a_missing_report_fails_the_job() {
    let pipeline = r#"version: 1
jobs:
  test:
    reports: { junit: reports/junit.xml }
    steps:
      - run: |
          mkdir -p reports
          cat > reports/junit.xml <<'XML'
          <testsuites><testsuite name="unit" tests="3">
            <testcase name="a"/><testcase name="b"/><testcase name="c"><skipped/></testcase>
          </testsuite></testsuites>
          XML
  build:
    needs: [test]
    steps:
      - run: mkdir -p out && echo hi > out/hi.txt
    artifact: { name: tested, from: out }
"#;
    let repo = common::repo(pipeline, &[]);
    let state_dir = repo.path().join(".slipway");
    let state = state_dir.to_str().unwrap();
    let artifact = run_small(repo.path(), state, &[]);
    let kinds: Vec<&str> = artifact["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "sbom-cyclonedx",
            "sbom-spdx",
            "test-results",
            "provenance",
            "security-gates"
        ]
    );
    let layout = repo.path().join("layout");
    let digest = artifact["digest"].as_str().unwrap();
    export(repo.path(), digest, &layout, state);
    let test_results = artifact["evidence"][2]["digest"].as_str().unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(test_results.strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let predicate = &statement["predicate"];
    assert_eq!(
        (
            predicate["tests"].as_u64(),
            predicate["skipped"].as_u64(),
            predicate["failures"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    assert_eq!(predicate["reports"][0]["name"], "reports/junit.xml");
    assert_eq!(predicate["reports"][0]["job"], "test");

    // A job that promises a report and writes none fails, naming the file.
    let broken = common::repo(
        &pipeline.replace("reports/junit.xml <<", "elsewhere.xml <<"),
        &[],
    );
    let output = slipway(
        broken.path(),
        &[
            "run",
            "--state-dir",
            broken.path().join(".s").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let logs = slipway(
        broken.path(),
        &[
            "show",
            "1",
            "--state-dir",
            broken.path().join(".s").to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        text(&logs.stdout).contains("reports/junit.xml"),
        "{}",
        text(&logs.stdout)
    );
}

#[test]
fn rebuild_confirms_a_reproducible_artifact_and_names_the_first_file_of_one_that_is_not() {
    let repo = common::repo(SMALL_PIPELINE, &[("app.txt", "same every time\n")]);
    let state_dir = repo.path().join(".slipway");
    let state = state_dir.to_str().unwrap();
    let artifact = run_small(repo.path(), state, &[]);
    let digest = artifact["digest"].as_str().unwrap();
    let report = json(
        repo.path(),
        &[
            "verify",
            digest,
            "--rebuild",
            "--state-dir",
            state,
            "--json",
        ],
    );
    let rebuild = report["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(rebuild["name"], "rebuild");
    assert_eq!(rebuild["ok"], true, "{report:#}");

    // A build that stamps the time into its output does not reproduce.
    let stamped = SMALL_PIPELINE.replace(
        "cp app.txt out/app.txt",
        "cp app.txt out/app.txt && date +%s%N > out/stamp",
    );
    let repo = common::repo(&stamped, &[("app.txt", "same every time\n")]);
    let artifact = run_small(repo.path(), state, &[]);
    let digest = artifact["digest"].as_str().unwrap();
    let output = slipway(
        repo.path(),
        &[
            "verify",
            digest,
            "--rebuild",
            "--state-dir",
            state,
            "--json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rebuild = report["checks"].as_array().unwrap().last().unwrap();
    assert_eq!(rebuild["ok"], false);
    let detail = rebuild["detail"].as_str().unwrap();
    assert!(
        detail.contains("the first differing file is /app/stamp"),
        "{detail}"
    );
}
