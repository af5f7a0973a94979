//! Test support: a small but real OCI layout, real registries started as processes, and an
//! independent client (skopeo).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use slipway_registry::{Credentials, RegistryOptions, RetryPolicy};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";

/// How long a started registry may take to answer `/v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one skopeo or htpasswd run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Where the deps scripts install test tools.
pub fn tools_dir() -> PathBuf {
    // The deps scripts install into the target directory, wherever cargo puts it.
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The tool if installed; otherwise a failure under `CI=true` and a visible skip elsewhere.
fn require(tool: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} is not installed; run scripts/deps/install.sh (CI=true forbids skipping)"
    );
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}

/// Debian's distribution registry (2.8).
pub fn docker_registry_bin() -> Option<PathBuf> {
    require("docker-registry", on_path("docker-registry"))
}

/// A registry implementing the OCI 1.1 referrers API, installed from crates.io.
pub fn ferro_bin() -> Option<PathBuf> {
    let path = tools_dir().join("cargo/bin/ferro-oci-server");
    require("ferro-oci-server", path.is_file().then_some(path))
}

pub fn skopeo_bin() -> Option<PathBuf> {
    require("skopeo", on_path("skopeo"))
}

pub fn htpasswd_bin() -> Option<PathBuf> {
    require("htpasswd", on_path("htpasswd"))
}

/// Runs a tool under a timeout; panics with its stderr when it fails.
pub async fn run(program: &Path, args: &[&str]) -> String {
    let output = tokio::time::timeout(
        TOOL_TIMEOUT,
        tokio::process::Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} {args:?} took more than {TOOL_TIMEOUT:?}",
            program.display()
        )
    })
    .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Registries

/// A free loopback port (free when asked; the registry binds it soon after), below Linux's
/// ephemeral range (32768 and up): a port from that range may meanwhile become the local port of
/// some client connection, and a client connecting to a closed port in it can even connect to
/// itself.
pub fn free_port() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    (0..1000_u32)
        .map(|step| 20_000 + (seed.wrapping_add(step.wrapping_mul(7919)) % 12_000) as u16)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

/// A registry process, killed when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    /// The registry's storage directory.
    pub storage: PathBuf,
    log: PathBuf,
    _home: tempfile::TempDir,
}

impl Registry {
    /// Starts Debian's distribution registry on `port`, with basic authentication when
    /// `htpasswd` (a bcrypt password file) is given; does not wait for it.
    pub fn spawn_distribution(bin: &Path, port: u16, htpasswd: Option<&Path>) -> Self {
        let home = tempfile::tempdir().expect("registry home");
        let storage = home.path().join("storage");
        let auth = htpasswd.map_or_else(String::new, |path| {
            format!(
                "auth:\n  htpasswd:\n    realm: slipway-test\n    path: {}\n",
                path.display()
            )
        });
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             {auth}",
            storage.display()
        );
        let config_path = home.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let mut command = Command::new(bin);
        command.arg("serve").arg(&config_path);
        Self::spawn(command, port, storage, home)
    }

    /// Starts Debian's distribution registry on a free port and waits until it answers.
    pub fn distribution(bin: &Path, htpasswd: Option<&Path>) -> Self {
        let mut registry = Self::spawn_distribution(bin, free_port(), htpasswd);
        registry.wait_ready();
        registry
    }

    /// Starts ferro-oci-server (OCI 1.1 referrers API) on a free port and waits until it
    /// answers.
    pub fn ferro(bin: &Path) -> Self {
        let home = tempfile::tempdir().expect("registry home");
        let storage = home.path().join("storage");
        let port = free_port();
        let mut command = Command::new(bin);
        command
            .env("FERRO_OCI_LISTEN", format!("127.0.0.1:{port}"))
            .env("FERRO_OCI_STORAGE_DIR", &storage)
            .env("RUST_LOG", "warn");
        let mut registry = Self::spawn(command, port, storage, home);
        registry.wait_ready();
        registry
    }

    fn spawn(mut command: Command, port: u16, storage: PathBuf, home: tempfile::TempDir) -> Self {
        let log = home.path().join("registry.log");
        let log_file = std::fs::File::create(&log).expect("registry log");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        Self {
            child,
            port,
            storage,
            log,
            _home: home,
        }
    }

    /// Polls `GET /v2/` until the registry answers (200, or 401 with authentication on).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("registry status") {
                panic!("the registry exited with {status}: {}", self.log_text());
            }
            if let Some(status) = http_status(self.port, "/v2/")
                && (status == 200 || status == 401)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the registry did not answer within {READY_TIMEOUT:?}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of a plain `GET` to the loopback port, if anything answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// A loopback TCP proxy in front of a registry: it answers the first connections itself, one
/// canned HTTP failure each, then forwards every later connection untouched. A real registry
/// cannot be made to throttle or fail on demand; this makes one do so.
pub struct FaultInjector {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl FaultInjector {
    pub async fn start(upstream_port: u16, failures: Vec<String>) -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let task = tokio::spawn(async move {
            let mut failures = failures.into_iter();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(response) = failures.next() else {
                    tokio::spawn(async move {
                        if let Ok(mut outbound) =
                            tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                        {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    continue;
                };
                // Read the request head, answer, close.
                let mut head = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 65_536 {
                    match inbound.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = inbound.write_all(response.as_bytes()).await;
                let _ = inbound.shutdown().await;
            }
        });
        Self { port, task }
    }

    /// A canned answer: status line, extra headers, an OCI error body.
    pub fn response(status: &str, headers: &str, code: &str, message: &str) -> String {
        let body = json!({ "errors": [{ "code": code, "message": message }] }).to_string();
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

impl Drop for FaultInjector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Options for a loopback registry with short waits, so retry tests stay fast.
pub fn fast_options() -> RegistryOptions {
    RegistryOptions {
        request_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retries: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(50),
            factor: 2,
            max_backoff: Duration::from_millis(400),
        },
        ..RegistryOptions::default()
    }
}

pub fn with_credentials(username: &str, password: &str) -> RegistryOptions {
    RegistryOptions {
        credentials: Some(Credentials::new(username, password)),
        ..fast_options()
    }
}

// ---------------------------------------------------------------------------------------------
// The fixture layout

/// A piece of evidence attached to the image as a referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// SLSA provenance as a DSSE envelope, `artifactType` in-toto.
    Provenance,
    /// The same kind of statement as a Sigstore bundle v0.3.
    Bundle,
}

/// What [`write_layout`] wrote.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub image_digest: String,
    pub image_size: usize,
    pub config_digest: String,
    pub layer_digest: String,
    /// `(digest, artifactType)` of each referrer manifest, in `index.json` order.
    pub referrers: Vec<(String, String)>,
}

/// Writes a small but real OCI image layout: a gzip tar layer with two files, an image config
/// whose diff_id is the tar's digest, the image manifest tagged `tag`, and one referrer
/// manifest per piece of `evidence` (DSSE envelope or Sigstore bundle JSON as the only layer,
/// the empty config, the image as `subject`). `layer_noise` bytes of incompressible data are
/// added to the layer, to make it large enough for chunked uploads.
pub fn write_layout(dir: &Path, tag: &str, evidence: &[Evidence], layer_noise: usize) -> Fixture {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("blobs dir");
    let put = |bytes: &[u8]| -> String {
        let digest = sha256(bytes);
        let path = dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
        std::fs::write(path, bytes).expect("write blob");
        digest
    };

    let tar_bytes = layer_tar(layer_noise);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&tar_bytes).expect("gzip");
    let layer = gzip.finish().expect("gzip");
    let layer_digest = put(&layer);

    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Entrypoint": ["/app/hello"] },
        "rootfs": { "type": "layers", "diff_ids": [sha256(&tar_bytes)] },
    })
    .to_string();
    let config_digest = put(config.as_bytes());

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len() }],
    })
    .to_string();
    let image_digest = put(manifest.as_bytes());
    let empty_digest = put(b"{}");

    let mut index_entries = vec![json!({
        "mediaType": MANIFEST,
        "digest": image_digest,
        "size": manifest.len(),
        "annotations": { "org.opencontainers.image.ref.name": tag },
    })];
    let mut referrers = Vec::new();
    for kind in evidence {
        let (artifact_type, layer_type, content) = evidence_blob(*kind, &layer_digest);
        let content_digest = put(content.as_bytes());
        let referrer = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": artifact_type,
            "config": { "mediaType": EMPTY, "digest": empty_digest, "size": 2 },
            "layers": [{ "mediaType": layer_type, "digest": content_digest, "size": content.len() }],
            "subject": { "mediaType": MANIFEST, "digest": image_digest, "size": manifest.len() },
            "annotations": { "org.opencontainers.image.created": "2025-01-01T00:00:00Z" },
        })
        .to_string();
        let referrer_digest = put(referrer.as_bytes());
        index_entries.push(json!({
            "mediaType": MANIFEST,
            "digest": referrer_digest,
            "size": referrer.len(),
            "artifactType": artifact_type,
        }));
        referrers.push((referrer_digest, artifact_type.to_owned()));
    }

    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    let index = json!({ "schemaVersion": 2, "mediaType": INDEX, "manifests": index_entries });
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
    Fixture {
        image_digest,
        image_size: manifest.len(),
        config_digest,
        layer_digest,
        referrers,
    }
}

/// A tar with a script and a binary-looking file, fixed metadata so digests are stable.
fn layer_tar(noise: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, content: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content)
            .expect("tar entry");
    };
    add("app/hello", 0o755, b"#!/bin/sh\necho hello from slipway\n");
    add("app/VERSION", 0o644, b"1.4.2\n");
    if noise > 0 {
        add("app/data.bin", 0o644, &noise_bytes(noise));
    }
    builder.into_inner().expect("tar")
}

/// Deterministic bytes that gzip cannot shrink (xorshift).
fn noise_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// `(artifactType, layer media type, JSON)` of one piece of evidence about the layer.
fn evidence_blob(kind: Evidence, layer_digest: &str) -> (&'static str, &'static str, String) {
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "layer.tar.gz", "digest": { "sha256": &layer_digest["sha256:".len()..] } }],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": { "buildType": "https://slipway.example/buildtypes/pipeline/v1", "externalParameters": {} },
            "runDetails": { "builder": { "id": "https://slipway.example/builders/test" } },
        },
    })
    .to_string();
    let base64 = base64::engine::general_purpose::STANDARD;
    let envelope = json!({
        "payloadType": IN_TOTO,
        "payload": base64.encode(statement.as_bytes()),
        "signatures": [{ "keyid": "fixture", "sig": base64.encode(b"fixture signature bytes") }],
    });
    match kind {
        Evidence::Provenance => (IN_TOTO, DSSE_ENVELOPE, envelope.to_string()),
        Evidence::Bundle => {
            let bundle = json!({
                "mediaType": SIGSTORE_BUNDLE,
                "verificationMaterial": { "publicKey": { "hint": "fixture" }, "tlogEntries": [] },
                "dsseEnvelope": envelope,
            });
            (SIGSTORE_BUNDLE, SIGSTORE_BUNDLE, bundle.to_string())
        }
    }
}

/// Checks a layout written by a pull: `oci-layout`, every blob hashing to its name, and
/// returns `index.json`.
pub fn verified_layout(dir: &Path) -> Value {
    let layout: Value =
        serde_json::from_slice(&std::fs::read(dir.join("oci-layout")).expect("oci-layout"))
            .expect("oci-layout JSON");
    assert_eq!(layout, json!({ "imageLayoutVersion": "1.0.0" }));
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).expect("blobs") {
        let path = entry.expect("blob entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let bytes = std::fs::read(&path).expect("blob");
        assert_eq!(
            sha256(&bytes),
            format!("sha256:{name}"),
            "blob {name} is corrupt"
        );
    }
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
        .expect("index.json JSON")
}

/// The digests in an index's `manifests`, with their artifact types.
pub fn listed(index: &Value) -> BTreeMap<String, Option<String>> {
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|descriptor| {
            (
                descriptor["digest"].as_str().expect("digest").to_owned(),
                descriptor["artifactType"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The files a registry stores for a blob digest (distribution's filesystem driver layout).
pub fn distribution_blob_file(storage: &Path, digest: &str) -> PathBuf {
    let hex = &digest["sha256:".len()..];
    storage
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}
