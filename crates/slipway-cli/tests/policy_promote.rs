//! The built-in policy pack's denials, one test per case, through `slipway promote`: each
//! artifact is built by real runs of a small repository, promoted by the real binary, and the
//! refusal is checked three ways — the failed checks, the decision's deny list with the rule id
//! and the pack's own message and remediation, and the audit log. The last case is the fully
//! evidenced release, allowed, with its signed decision attached to the artifact.
//!
//! Where the CLI cannot leave an artifact with exactly one piece of evidence missing or
//! misplaced (an SBOM, a gate report), the evidence is written with the library functions a run
//! uses, signed with the repository's own builder key, onto an artifact a failed run left
//! without any.

mod common;

use common::{git, text};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Who commits and, unless a test says otherwise, who promotes.
const AUTHOR: &str = "dev@example.org";

/// A test job that leaves a JUnit report, a build that packages a one-line script (its text
/// from VERSION, so every commit is its own digest), and a smoke test after the build that
/// fails while `smoke-fails` exists: the artifact is then packaged but the run fails, and a
/// failed run attaches no evidence.
const PIPELINE: &str = r#"version: 1
name: denials
on: { push: { branches: [main] } }
jobs:
  test:
    reports: { junit: reports/junit.xml }
    steps:
      - run: |
          mkdir -p reports
          printf '<testsuites><testsuite name="unit" tests="2"><testcase name="a"/><testcase name="b"/></testsuite></testsuites>\n' > reports/junit.xml
  build:
    needs: [test]
    steps:
      - run: printf '#!/bin/sh\necho %s\n' "$(cat VERSION)" > app && chmod +x app
    artifact: { name: app, from: app, entrypoint: ["app"] }
  smoke:
    needs: [build]
    steps:
      - run: test ! -e smoke-fails
environments:
  dev: {}
  flaky:
    progress-deadline: 1s
  production:
    approval: { required: 1, exclude-author: true }
"#;

/// The real binary in `dir`, acting as `actor`, with none of the caller's key, trust, clock or
/// state settings.
fn slipway_as(dir: &Path, args: &[&str], actor: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_ACTOR", actor)
        .env_remove("SLIPWAY_STATE_DIR")
        .env_remove("SLIPWAY_SIGNING_KEY")
        .env_remove("SLIPWAY_BUILDER_ID")
        .env_remove("SLIPWAY_TRUST_POLICY")
        .env_remove("SLIPWAY_NOW");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the slipway binary runs")
}

fn slipway(dir: &Path, args: &[&str]) -> Output {
    slipway_as(dir, args, AUTHOR, &[])
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON ({error}) on stdout: {}\nstderr: {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// An AWS access key id in the documented shape, assembled here so that this file itself
/// holds no credential for the repository's own scan to find.
fn planted_key() -> String {
    ["AKIA", "Q3EGRT7", "LN2XW5Y", "VB"].concat()
}

fn osv_data(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../slipway-osv/tests/data")
        .join(part)
}

/// A scratch repository with the pipeline, committed by `AUTHOR`.
struct Repo {
    dir: tempfile::TempDir,
}

/// What one `slipway run --json` left.
struct Run {
    succeeded: bool,
    digest: String,
    run_id: String,
    /// The evidence the run attached (kinds).
    evidence: Vec<String>,
    /// The gate report as the run printed it.
    gates: Value,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        git(repo.path(), &["init", "-q", "-b", "main"]);
        git(repo.path(), &["config", "user.email", AUTHOR]);
        git(repo.path(), &["config", "user.name", "Dev"]);
        let mut all = vec![
            ("slipway.yml", PIPELINE),
            ("VERSION", "1\n"),
            (".gitignore", ".slipway/\n"),
        ];
        all.extend_from_slice(files);
        repo.commit(&all, "init");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state(&self) -> PathBuf {
        self.path().join(".slipway")
    }

    fn commit(&self, files: &[(&str, &str)], message: &str) {
        for (path, content) in files {
            let full = self.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
    }

    fn run(&self) -> Run {
        let output = slipway(self.path(), &["run", "--json"]);
        let events: Vec<Value> = text(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let artifact = events
            .iter()
            .find(|e| e["event"] == "run_artifact")
            .unwrap_or_else(|| {
                panic!(
                    "the run packaged no artifact: {}\n{}",
                    text(&output.stdout),
                    text(&output.stderr)
                )
            });
        let gates = events
            .iter()
            .find(|e| e["event"] == "gates")
            .expect("the gates judged the run")
            .clone();
        Run {
            succeeded: output.status.success(),
            digest: artifact["digest"].as_str().unwrap().to_owned(),
            run_id: artifact["run_id"].as_str().unwrap().to_owned(),
            evidence: artifact["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_owned())
                .collect(),
            gates,
        }
    }

    /// A successful run: every piece of evidence attached.
    fn build(&self) -> Run {
        let run = self.run();
        assert!(run.succeeded, "the run failed: {}", run.gates);
        run.assert_evidence();
        run
    }

    /// A new commit whose build packages an artifact, then fails its smoke test: the artifact
    /// is in the store with no evidence at all.
    fn build_without_evidence(&self) -> Run {
        self.commit(
            &[("VERSION", "2\n"), ("smoke-fails", "")],
            "a release whose smoke test fails",
        );
        let run = self.run();
        assert!(!run.succeeded);
        assert!(run.evidence.is_empty(), "{:?}", run.evidence);
        run
    }
}

impl Run {
    /// The run attached everything the pack asks for.
    fn assert_evidence(&self) {
        for kind in [
            "sbom-cyclonedx",
            "sbom-spdx",
            "test-results",
            "provenance",
            "security-gates",
        ] {
            assert!(
                self.evidence.iter().any(|k| k == kind),
                "{kind} in {:?}",
                self.evidence
            );
        }
    }
}

/// `slipway promote DIGEST --to ENV --json` plus `extra`: the exit code and the outcome.
fn promote(dir: &Path, digest: &str, env: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["promote", digest, "--to", env, "--json"];
    args.extend_from_slice(extra);
    let output = slipway(dir, &args);
    (output.status.code().unwrap_or(-1), json_of(&output))
}

fn failed_checks(outcome: &Value) -> BTreeSet<String> {
    outcome["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn check_detail<'a>(outcome: &'a Value, name: &str) -> &'a str {
    outcome["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {outcome:#}"))["detail"]
        .as_str()
        .unwrap()
}

fn rules_in(reasons: &Value) -> BTreeSet<String> {
    reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn set(rules: &[&str]) -> BTreeSet<String> {
    rules.iter().map(|r| (*r).to_owned()).collect()
}

/// The checks that failed: `checks`, and the `policy` check, which fails with every denial.
fn with_policy(checks: &[&str]) -> BTreeSet<String> {
    let mut failed = set(checks);
    failed.insert("policy".to_owned());
    failed
}

/// The promotion was refused, with exactly `checks` (and `policy`) failing and exactly `rules`
/// denying.
fn assert_refused(code: i32, outcome: &Value, checks: &[&str], rules: &[&str]) {
    assert_eq!(code, 1, "{outcome:#}");
    assert_eq!(outcome["status"], "refused", "{outcome:#}");
    assert!(outcome["release"].is_null(), "{outcome:#}");
    assert_eq!(failed_checks(outcome), with_policy(checks), "{outcome:#}");
    let policy = &outcome["policy"];
    assert_eq!(policy["point"], "promote");
    assert_eq!(policy["allow"], false, "{policy:#}");
    assert_eq!(rules_in(&policy["deny"]), set(rules), "{policy:#}");
}

/// The decision denies with `rule` and exactly `message`, with the remediation the pack
/// documents for the rule, and the `policy` check names both.
fn assert_denied_with(dir: &Path, outcome: &Value, rule: &str, message: &str) {
    let reasons = outcome["policy"]["deny"].as_array().unwrap();
    let reason = reasons
        .iter()
        .find(|r| r["rule"] == rule && r["message"] == message)
        .unwrap_or_else(|| panic!("no {rule} reason `{message}` in {reasons:#?}"));
    assert_eq!(reason["source"], "builtin");
    assert_eq!(reason["remediation"], documented_remediation(dir, rule));
    let detail = check_detail(outcome, "policy");
    assert!(
        detail.starts_with("denied: ") && detail.contains(&format!("{rule} {message}")),
        "{detail}"
    );
}

fn documented_remediation(dir: &Path, rule: &str) -> Value {
    let rules = json_of(&slipway(dir, &["policy", "rules", "--json"]));
    rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rule)
        .unwrap_or_else(|| panic!("no rule {rule}"))["remediation"]
        .clone()
}

/// The in-toto statement of the DSSE envelope `digest` in an exported OCI layout.
fn statement_in(layout: &Path, digest: &str) -> Value {
    let blob = layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    let envelope: Value = serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn audit_entries(dir: &Path, digest: &str, action: &str) -> Vec<Value> {
    let log = json_of(&slipway(
        dir,
        &[
            "audit",
            "log",
            "--subject",
            digest,
            "--action",
            action,
            "--json",
        ],
    ));
    log["entries"].as_array().unwrap().clone()
}

/// The audit log holds the refusal of the last promotion of `digest` to `env`: the failed
/// checks (`checks` and `policy`), and the decision with its denying rules.
fn assert_refusal_logged(dir: &Path, digest: &str, env: &str, checks: &[&str], rules: &[&str]) {
    let refused = audit_entries(dir, digest, "promotion.refused");
    let refusal = refused
        .iter()
        .rev()
        .find(|e| e["details"]["environment"] == env)
        .unwrap_or_else(|| panic!("no promotion.refused of {digest} to {env}: {refused:#?}"));
    assert_eq!(refusal["actor"], AUTHOR);
    let logged: BTreeSet<String> = refusal["details"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged, with_policy(checks), "{refusal:#}");
    let decided = audit_entries(dir, digest, "policy.decided");
    let decision = decided
        .iter()
        .rev()
        .find(|e| e["details"]["environment"] == env)
        .unwrap_or_else(|| panic!("no policy.decided of {digest} for {env}: {decided:#?}"));
    assert_eq!(decision["details"]["allow"], false);
    let denied: BTreeSet<String> = decision["details"]["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(denied, set(rules), "{decision:#}");
}

/// Evidence written the way a run writes it, for the cases the CLI cannot leave behind.
mod evidence {
    use super::{Repo, json_of, slipway};
    use serde_json::Value;
    use slipway_artifact::Artifacts;
    use slipway_evidence::BuilderKey;
    use slipway_evidence::attest::{self, KIND_PROVENANCE, SLSA_PROVENANCE_V1};
    use slipway_evidence::keys::{DEVELOPMENT_BUILDER_ID, DEVELOPMENT_KEY};
    use slipway_scan::scans::{KIND_SECURITY_GATES, SECURITY_GATES_PREDICATE};
    use slipway_sign::Envelope;
    use slipway_sign::keyfile::{self, Passphrase};

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// The repository's development builder key, which signed its runs' evidence.
    fn builder_key(repo: &Repo) -> BuilderKey {
        let files = keyfile::KeyPairFiles::for_prefix(&repo.state().join(DEVELOPMENT_KEY));
        BuilderKey {
            key: keyfile::read_signing_key(&files.private_key, &Passphrase::new(String::new()))
                .unwrap(),
            builder_id: DEVELOPMENT_BUILDER_ID.to_owned(),
            development: true,
            path: files.private_key,
        }
    }

    /// What the provenance of run `run_id` records, from `slipway show`.
    fn run_facts(repo: &Repo, run_id: &str) -> attest::RunFacts {
        let shown = json_of(&slipway(repo.path(), &["show", run_id, "--json"]));
        let run = &shown["run"];
        let text = |key: &str| run[key].as_str().unwrap().to_owned();
        attest::RunFacts {
            run_id: text("id"),
            run_number: run["number"].as_i64().unwrap(),
            repository: text("repository"),
            git_ref: text("git_ref"),
            commit: text("commit_sha"),
            pipeline_path: text("pipeline_path"),
            pipeline_sha256: text("pipeline_sha256"),
            event: text("event"),
            job: "build".into(),
            runner_version: text("runner_version"),
            sandbox: run["sandbox"].as_bool().unwrap(),
            dirty: run["dirty"].as_bool().unwrap(),
            toolchains: run["toolchains"].clone(),
            templates: Vec::new(),
            started_on_ms: run["started_at"].as_i64().unwrap(),
            finished_on_ms: run["finished_at"].as_i64().unwrap(),
            logs: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// Signs and attaches only the SLSA provenance of run `run_id` to `digest`.
    pub fn provenance_only(repo: &Repo, digest: &str, run_id: &str) {
        let facts = run_facts(repo, run_id);
        let key = builder_key(repo);
        block_on(async {
            let artifacts = Artifacts::open_in(&repo.state()).await.unwrap();
            let inspection = artifacts.inspect(digest).await.unwrap();
            let predicate = attest::provenance(&facts, &key, &inspection.config.created);
            attest::attach(
                &artifacts,
                &inspection,
                &key,
                KIND_PROVENANCE,
                SLSA_PROVENANCE_V1,
                predicate,
            )
            .await
            .unwrap();
        });
    }

    /// What a successful run attests: SBOMs of the contents and the provenance.
    pub fn sboms_and_provenance(repo: &Repo, digest: &str, run_id: &str) {
        let facts = run_facts(repo, run_id);
        let key = builder_key(repo);
        block_on(async {
            let artifacts = Artifacts::open_in(&repo.state()).await.unwrap();
            attest::attest(&artifacts, digest, &facts, &key)
                .await
                .unwrap();
        });
    }

    /// Signs the gate report a run printed (`gates` event) and attaches it to `digest`, as
    /// `slipway_scan::scans::attach_report` does after a successful run.
    pub fn gate_report(repo: &Repo, digest: &str, printed: &Value) {
        let mut report = printed.clone();
        let fields = report.as_object_mut().unwrap();
        fields.remove("event");
        fields.remove("run_id");
        let key = builder_key(repo);
        block_on(async {
            let artifacts = Artifacts::open_in(&repo.state()).await.unwrap();
            let inspection = artifacts.inspect(digest).await.unwrap();
            attest::attach(
                &artifacts,
                &inspection,
                &key,
                KIND_SECURITY_GATES,
                SECURITY_GATES_PREDICATE,
                report,
            )
            .await
            .unwrap();
        });
    }

    /// Attaches to `digest` the signed gate report of `other`, as it is — a statement about
    /// `other` — in a copy re-encoded as pretty-printed JSON: the store records one envelope
    /// for one subject, and the copy's bytes are its own while its signature still holds.
    pub fn foreign_gate_report(repo: &Repo, digest: &str, other: &str) {
        block_on(async {
            let artifacts = Artifacts::open_in(&repo.state()).await.unwrap();
            let report = artifacts
                .evidence(other)
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.kind == KIND_SECURITY_GATES)
                .expect("the other artifact has a gate report");
            let bytes = artifacts.evidence_bytes(&report.digest).await.unwrap();
            let copy = serde_json::to_vec_pretty(&Envelope::from_json(&bytes).unwrap()).unwrap();
            let attached = artifacts
                .attach_evidence(
                    digest,
                    slipway_artifact::NewEvidence {
                        kind: report.kind,
                        predicate_type: report.predicate_type,
                        media_type: report.media_type,
                        bytes: copy,
                    },
                )
                .await
                .unwrap();
            assert_ne!(attached.digest, report.digest);
            assert!(
                artifacts
                    .evidence(digest)
                    .await
                    .unwrap()
                    .iter()
                    .any(|e| e.digest == attached.digest)
            );
        });
    }

    /// The key id of the repository's development key, as DSSE signatures name it.
    pub fn builder_key_id(repo: &Repo) -> String {
        builder_key(repo).public_key().key_id()
    }
}

#[test]
fn an_unsigned_artifact_is_refused_by_verification_and_denied_by_slw_p001() {
    // A run whose build passed and whose smoke test then failed leaves its artifact in the
    // store with no signature, provenance, SBOM or gate report.
    let repo = Repo::new(&[]);
    let unsigned = repo.build_without_evidence().digest;
    let verified = slipway(repo.path(), &["verify", &unsigned, "--json"]);
    assert_eq!(verified.status.code(), Some(1));
    assert_eq!(json_of(&verified)["ok"], false);

    let (code, outcome) = promote(repo.path(), &unsigned, "dev", &[]);
    let checks = ["verify", "gates"];
    let rules = ["SLW-P001", "SLW-P002", "SLW-P003", "SLW-P004", "SLW-P005"];
    assert_refused(code, &outcome, &checks, &rules);
    assert_eq!(
        check_detail(&outcome, "verify"),
        format!(
            "`slipway verify {unsigned}` fails: provenance, sbom-cyclonedx matches contents, sbom-spdx matches contents (nothing unverified is deployed, break-glass included)"
        )
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P001",
        &format!("no signed provenance is attached to {unsigned}"),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P001",
        &format!(
            "verification of {unsigned} failed: provenance: no verified SLSA provenance is attached to this artifact; sbom-cyclonedx matches contents: no verified sbom-cyclonedx is attached; sbom-spdx matches contents: no verified sbom-spdx is attached"
        ),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P002",
        &format!("no provenance is attached to {unsigned}"),
    );
    assert_refusal_logged(repo.path(), &unsigned, "dev", &checks, &rules);
}

#[test]
fn a_signature_by_a_key_outside_the_trust_policy_is_denied_by_slw_p001() {
    let repo = Repo::new(&[]);
    let digest = repo.build().digest;
    // The organisation trusts its CI builder's key only; this artifact was signed by the
    // development key of the machine that built it.
    let keys = tempfile::tempdir().unwrap();
    let generated = slipway_as(
        keys.path(),
        &[
            "keys",
            "generate",
            "--output",
            keys.path().join("ci").to_str().unwrap(),
        ],
        AUTHOR,
        &[("SLIPWAY_KEY_PASSPHRASE", "correct horse battery staple")],
    );
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let trust = keys.path().join("trust.yml");
    std::fs::write(
        &trust,
        "version: 1\nbuilders:\n  - id: https://ci.example.org/builders/v1\n    keys:\n      - path: ci.pub\n",
    )
    .unwrap();

    let (code, outcome) = promote(
        repo.path(),
        &digest,
        "dev",
        &["--policy", trust.to_str().unwrap()],
    );
    let checks = ["verify", "gates"];
    let rules = ["SLW-P001", "SLW-P002", "SLW-P003", "SLW-P004", "SLW-P005"];
    assert_refused(code, &outcome, &checks, &rules);
    let verify = check_detail(&outcome, "verify");
    for failed in [
        "provenance signature",
        "sbom-cyclonedx signature",
        "security-gates signature",
    ] {
        assert!(verify.contains(failed), "{failed} in {verify}");
    }
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P001",
        &format!(
            "no trusted builder key signed the provenance of {digest}; it is signed by {}",
            evidence::builder_key_id(&repo)
        ),
    );
    // The statements no trusted key signed are not read, but they are there: the other rules
    // say so instead of calling them missing.
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P002",
        &format!("a provenance is attached to {digest}, but no trusted key signed it"),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P003",
        &format!("an SBOM is attached to {digest}, but no trusted key signed it"),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P004",
        &format!(
            "a security-gates report is attached to {digest}, but no trusted key signed it, so its secrets scan was never recorded"
        ),
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);

    // With this machine's keys trusted, the same digest goes through.
    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
}

#[test]
fn an_artifact_without_an_sbom_is_denied_by_slw_p003() {
    let repo = Repo::new(&[]);
    let run = repo.build_without_evidence();
    // Signed provenance and the run's own gate report, but no SBOM.
    evidence::provenance_only(&repo, &run.digest, &run.run_id);
    evidence::gate_report(&repo, &run.digest, &run.gates);
    let digest = run.digest;

    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    let checks = ["verify"];
    let rules = ["SLW-P001", "SLW-P003"];
    assert_refused(code, &outcome, &checks, &rules);
    assert_eq!(
        check_detail(&outcome, "verify"),
        format!(
            "`slipway verify {digest}` fails: sbom-cyclonedx matches contents, sbom-spdx matches contents (nothing unverified is deployed, break-glass included)"
        )
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P003",
        &format!("no SBOM is attached to {digest}"),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P001",
        &format!(
            "verification of {digest} failed: sbom-cyclonedx matches contents: no verified sbom-cyclonedx is attached; sbom-spdx matches contents: no verified sbom-spdx is attached"
        ),
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);
}

#[test]
fn an_artifact_without_a_scan_of_its_digest_is_denied_by_slw_p004_and_slw_p005() {
    let repo = Repo::new(&[]);
    let run = repo.build_without_evidence();
    // Provenance and SBOMs that verify, but no gate report.
    evidence::sboms_and_provenance(&repo, &run.digest, &run.run_id);
    let digest = run.digest;
    let verified = slipway(repo.path(), &["verify", &digest, "--json"]);
    assert!(verified.status.success(), "{}", text(&verified.stdout));

    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    let checks = ["gates"];
    let rules = ["SLW-P004", "SLW-P005"];
    assert_refused(code, &outcome, &checks, &rules);
    assert!(
        check_detail(&outcome, "gates").starts_with(&format!(
            "no security-gates report about {digest} is attached"
        )),
        "{outcome:#}"
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P004",
        &format!(
            "no security-gates report is attached to {digest}, so its secrets scan was never recorded"
        ),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P005",
        &format!(
            "no security-gates report is attached to {digest}, so its dependency scan was never recorded"
        ),
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);
}

#[test]
fn a_committed_secret_and_a_vulnerable_lockfile_fail_the_scans_denied_by_slw_p004_and_slw_p005() {
    let lockfile = std::fs::read_to_string(osv_data("projects/vulnerable/Cargo.lock")).unwrap();
    let credentials = format!("AWS_ACCESS_KEY_ID={}\n", planted_key());
    let repo = Repo::new(&[("deploy.env", &credentials), ("Cargo.lock", &lockfile)]);
    let imported = slipway(
        repo.path(),
        &[
            "db",
            "import",
            osv_data("advisories").to_str().unwrap(),
            "--json",
        ],
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    // The gates fail the run, and the report that says so is signed onto the artifact.
    let run = repo.run();
    assert!(!run.succeeded);
    assert!(run.evidence.contains(&"security-gates".to_owned()));
    let gate = |name: &str| {
        run.gates["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["gate"] == name)
            .unwrap()
            .clone()
    };
    let blocking = |gate: &Value| {
        gate["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["disposition"] == "block")
            .count()
    };
    let (secrets, vulnerabilities) = (gate("secrets"), gate("vulnerabilities"));
    assert_eq!(secrets["verdict"], "fail");
    assert_eq!(vulnerabilities["verdict"], "fail");
    assert_eq!(blocking(&secrets), 1, "{secrets:#}");
    assert!(blocking(&vulnerabilities) >= 1, "{vulnerabilities:#}");
    // The signed report counts blocking findings over all its gates.
    let in_report: usize = run.gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(blocking)
        .sum();
    let digest = run.digest;

    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    let checks = ["gates"];
    let rules = ["SLW-P004", "SLW-P005"];
    assert_refused(code, &outcome, &checks, &rules);
    assert!(
        check_detail(&outcome, "gates")
            .starts_with(&format!("the security gates of {digest} failed")),
        "{outcome:#}"
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P004",
        &format!(
            "the secrets scan of {digest} failed (the report has {in_report} blocking finding(s) across all its gates)"
        ),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P005",
        &format!(
            "the dependency scan of {digest} failed (the report has {in_report} blocking finding(s) across all its gates)"
        ),
    );
    assert!(
        !serde_json::to_string(&outcome)
            .unwrap()
            .contains(&planted_key()),
        "the key itself must not appear in the outcome"
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);
}

#[test]
fn scans_attached_for_another_digest_are_denied_by_slw_p004_and_slw_p005() {
    let repo = Repo::new(&[]);
    let scanned = repo.build().digest;
    let run = repo.build_without_evidence();
    evidence::sboms_and_provenance(&repo, &run.digest, &run.run_id);
    // The signed gate report of the other build, attached to this one.
    evidence::foreign_gate_report(&repo, &run.digest, &scanned);
    let digest = run.digest;

    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    let checks = ["verify", "gates"];
    let rules = ["SLW-P001", "SLW-P004", "SLW-P005"];
    assert_refused(code, &outcome, &checks, &rules);
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P001",
        &format!(
            "verification of {digest} failed: security-gates subject: the statement is about {scanned}, not {digest}"
        ),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P004",
        &format!(
            "the attached security-gates reports are for {scanned}, not for {digest}: its secrets scan was never recorded"
        ),
    );
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P005",
        &format!(
            "the attached security-gates reports are for {scanned}, not for {digest}: its dependency scan was never recorded"
        ),
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);
}

#[test]
fn an_authors_own_approval_for_production_is_refused_and_denied_by_slw_p007() {
    let repo = Repo::new(&[]);
    let digest = repo.build().digest;
    let (code, outcome) = promote(repo.path(), &digest, "production", &[]);
    assert_eq!(code, 1);
    assert_eq!(outcome["status"], "awaiting-approval", "{outcome:#}");
    let release = outcome["release"]["id"].as_str().unwrap().to_owned();
    assert_eq!(outcome["release"]["commit_authors"], json!([AUTHOR]));

    // `approve` refuses the author outright...
    let refused = slipway_as(repo.path(), &["approve", &release], "Dev@Example.org", &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("authored a commit in it"),
        "{}",
        text(&refused.stderr)
    );

    // ...but an approval given while the environment still let authors approve stays on the
    // release when the environment tightens again, and the policy does not count it.
    let loose = PIPELINE.replace("exclude-author: true", "exclude-author: false");
    repo.commit(&[("slipway.yml", &loose)], "let authors approve");
    let approved = slipway(repo.path(), &["approve", &release, "--json"]);
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    assert_eq!(json_of(&approved)["satisfied"], true);
    repo.commit(
        &[("slipway.yml", PIPELINE)],
        "authors may not approve again",
    );

    let (code, outcome) = promote(repo.path(), &digest, "production", &[]);
    // Every other check passed: the release still waits, as the author's approval counts
    // neither in the approvals check nor in the policy.
    assert_eq!(code, 1, "{outcome:#}");
    assert_eq!(outcome["status"], "awaiting-approval", "{outcome:#}");
    assert_eq!(outcome["release"]["id"], release.as_str());
    assert_eq!(outcome["approvals"], 0);
    assert_eq!(
        failed_checks(&outcome),
        with_policy(&["approvals"]),
        "{outcome:#}"
    );
    assert!(
        check_detail(&outcome, "approvals")
            .contains("0 of 1 approvals (1 by a commit author, not counted: exclude-author)"),
        "{outcome:#}"
    );
    assert_eq!(rules_in(&outcome["policy"]["deny"]), set(&["SLW-P007"]));
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P007",
        &format!(
            "production needs 1 approval(s) of {digest}, it has 0; not counted (commit authors): {AUTHOR}"
        ),
    );

    // A reviewer who wrote none of it approves, and the release starts.
    let reviewed = slipway_as(
        repo.path(),
        &["approve", &release, "--json"],
        "reviewer@example.org",
        &[],
    );
    assert!(reviewed.status.success(), "{}", text(&reviewed.stderr));
    let (code, outcome) = promote(repo.path(), &digest, "production", &[]);
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
    assert_eq!(outcome["release"]["id"], release.as_str());
    assert_eq!(outcome["policy"]["deny"], json!([]));
}

#[test]
fn a_known_bad_digest_is_denied_by_slw_p008_unless_forced() {
    let repo = Repo::new(&[]);
    let digest = repo.build().digest;
    // The script exits at once, so it never becomes ready: the controller aborts the release
    // at its progress deadline and marks the digest bad for the environment.
    let (code, outcome) = promote(repo.path(), &digest, "flaky", &[]);
    assert_eq!(code, 0, "{outcome:#}");
    {
        let _up =
            common::delivery::Up::start_with(repo.path(), &["flaky"], &[("SLIPWAY_ACTOR", AUTHOR)]);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = json_of(&slipway(repo.path(), &["env", "status", "flaky", "--json"]));
            if status["known_bad"]
                .as_array()
                .is_some_and(|k| !k.is_empty())
            {
                assert_eq!(status["known_bad"][0]["digest"], digest.as_str());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the release was not marked bad: {status:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    let (code, outcome) = promote(repo.path(), &digest, "flaky", &[]);
    let checks = ["known-bad"];
    let rules = ["SLW-P008"];
    assert_refused(code, &outcome, &checks, &rules);
    assert!(
        check_detail(&outcome, "known-bad").contains("not ready after the progress deadline"),
        "{outcome:#}"
    );
    let marked = format!("{digest} is marked bad for flaky");
    assert_denied_with(repo.path(), &outcome, "SLW-P008", &marked);
    assert_refusal_logged(repo.path(), &digest, "flaky", &checks, &rules);

    // --force-known-bad turns the denial into a warning, recorded with the decision.
    let (code, outcome) = promote(repo.path(), &digest, "flaky", &["--force-known-bad"]);
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
    assert_eq!(outcome["policy"]["allow"], true);
    assert_eq!(outcome["policy"]["deny"], json!([]));
    assert_eq!(outcome["policy"]["warn"][0]["rule"], "SLW-P008");
    assert_eq!(outcome["policy"]["warn"][0]["message"], marked.as_str());
    let decided = audit_entries(repo.path(), &digest, "policy.decided");
    assert_eq!(
        decided.last().unwrap()["details"]["warn"],
        json!(["SLW-P008"])
    );
}

#[test]
fn an_unpinned_base_image_is_denied_by_slw_p006() {
    let repo = Repo::new(&[("Dockerfile", "FROM debian:12\nCOPY app /app\n")]);
    // The pins gate only warns, so the gates pass and the evidence is attached: the policy
    // decides.
    let run = repo.run();
    run.assert_evidence();
    let pins = run.gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "pins")
        .unwrap();
    assert_eq!(pins["verdict"], "warn", "{pins:#}");
    let digest = run.digest;

    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    // Every other check passed: the policy alone refuses.
    let checks: [&str; 0] = [];
    let rules = ["SLW-P006"];
    assert_refused(code, &outcome, &checks, &rules);
    assert_denied_with(
        repo.path(),
        &outcome,
        "SLW-P006",
        "Dockerfile:1: the base image debian:12 is not pinned by digest",
    );
    assert_refusal_logged(repo.path(), &digest, "dev", &checks, &rules);

    // Pinned by digest, the next build goes through.
    let pinned = format!("FROM debian:12@sha256:{}\nCOPY app /app\n", "4".repeat(64));
    repo.commit(
        &[("Dockerfile", &pinned), ("VERSION", "2\n")],
        "pin the base image",
    );
    let digest = repo.build().digest;
    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["policy"]["deny"], json!([]));
}

#[test]
fn a_fully_evidenced_release_is_allowed_and_its_signed_decision_attached() {
    let repo = Repo::new(&[]);
    let digest = repo.build().digest;
    let (code, outcome) = promote(repo.path(), &digest, "dev", &[]);
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
    assert!(failed_checks(&outcome).is_empty(), "{outcome:#}");
    let policy = &outcome["policy"];
    assert_eq!(policy["allow"], true);
    assert_eq!(policy["deny"], json!([]));
    assert_eq!(policy["warn"], json!([]), "nothing is missing: {policy:#}");

    // The decision is signed onto the artifact as `policy-decision` evidence and verifies with
    // the rest.
    let listed = json_of(&slipway(
        repo.path(),
        &["evidence", "ls", &digest, "--json"],
    ));
    let layout = repo.path().join("layout");
    let exported = slipway(
        repo.path(),
        &["artifact", "export", &digest, layout.to_str().unwrap()],
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let promotions: Vec<Value> = listed["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "policy-decision")
        .map(|e| statement_in(&layout, e["digest"].as_str().unwrap()))
        .filter(|statement| statement["predicate"]["point"] == "promote")
        .collect();
    assert_eq!(promotions.len(), 1, "{listed:#}");
    let statement = &promotions[0];
    assert_eq!(
        statement["predicateType"],
        "https://slipway.invalid/attestation/policy-decision/v1"
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        digest.strip_prefix("sha256:").unwrap()
    );
    assert_eq!(&statement["predicate"], policy);
    let verified = slipway(repo.path(), &["verify", &digest, "--json"]);
    let verified = json_of(&verified);
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert!(
        verified["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "policy-decision signature" && c["ok"] == true),
        "{verified:#}"
    );

    // The audit log holds the decision, with nothing refused.
    let decided: Vec<Value> = audit_entries(repo.path(), &digest, "policy.decided")
        .into_iter()
        .filter(|e| e["details"]["point"] == "promote")
        .collect();
    assert_eq!(decided.len(), 1, "{decided:#?}");
    let details = &decided[0]["details"];
    assert_eq!(details["allow"], true);
    assert_eq!(details["environment"], "dev");
    assert_eq!(details["input_digest"], policy["input_digest"]);
    assert_eq!(details["bundle_digest"], policy["bundle_digest"]);
    assert!(audit_entries(repo.path(), &digest, "promotion.refused").is_empty());
    let chain = json_of(&slipway(repo.path(), &["audit", "verify", "--json"]));
    assert_eq!(chain["ok"], true, "{chain:#}");
}
