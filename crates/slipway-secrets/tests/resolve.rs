//! The `env` and `file` providers and the checks made before anything is read.

use std::path::PathBuf;

use slipway_secrets::{Provider, ResolveContext, SecretError, resolve_all};

fn env(name: &str, var: &str) -> (String, Provider) {
    (
        name.to_owned(),
        Provider::Env {
            name: var.to_owned(),
        },
    )
}

fn file(name: &str, path: impl Into<PathBuf>) -> (String, Provider) {
    (name.to_owned(), Provider::File { path: path.into() })
}

async fn error_of(requests: &[(String, Provider)], ctx: &ResolveContext) -> SecretError {
    resolve_all(requests, ctx)
        .await
        .result
        .expect_err("resolution should fail")
}

#[tokio::test]
async fn env_and_file_values_are_loaded_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    std::fs::write(&db, "db-pass-word\n").expect("write");
    let ctx = ResolveContext::from_map([("CI_REGISTRY_TOKEN", "reg-token-1")]);
    let resolution = resolve_all(
        &[
            env("REGISTRY_TOKEN", "CI_REGISTRY_TOKEN"),
            file("DB_PASSWORD", &db),
        ],
        &ctx,
    )
    .await;
    let secrets = resolution.result.expect("resolved");
    let values: Vec<(&str, &str)> = secrets
        .iter()
        .map(|(name, s)| (name.as_str(), s.expose()))
        .collect();
    assert_eq!(
        values,
        [
            ("REGISTRY_TOKEN", "reg-token-1"),
            ("DB_PASSWORD", "db-pass-word")
        ]
    );
    assert!(resolution.attempts.is_empty());
}

#[tokio::test]
async fn only_one_trailing_newline_is_trimmed_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("a", "value1\n", "value1"),
        ("b", "value2\r\n", "value2"),
        ("c", "value3\n\n", "value3\n"),
        ("d", "value4", "value4"),
        ("e", "  value5  ", "  value5  "),
    ];
    for (file_name, content, expected) in cases {
        let path = dir.path().join(file_name);
        std::fs::write(&path, content).expect("write");
        let resolution = resolve_all(
            &[file("S", &path)],
            &ResolveContext::from_map::<&str, &str>([]),
        )
        .await;
        let secrets = resolution.result.expect("resolved");
        assert_eq!(secrets[0].1.expose(), expected, "{content:?}");
    }
}

#[tokio::test]
async fn unreadable_unset_and_short_values_are_clear_errors() {
    let ctx = ResolveContext::from_map([("SHORT", "abc"), ("EMPTY", "")]);
    let message = error_of(&[file("DB_PASSWORD", "/nonexistent/slipway/db")], &ctx)
        .await
        .to_string();
    assert!(
        message
            .starts_with("secret `DB_PASSWORD`: cannot read /nonexistent/slipway/db: No such file"),
        "{message}"
    );
    assert_eq!(
        error_of(&[env("REGISTRY_TOKEN", "CI_REGISTRY_TOKEN")], &ctx)
            .await
            .to_string(),
        "secret `REGISTRY_TOKEN`: environment variable `CI_REGISTRY_TOKEN` is not set"
    );
    assert_eq!(
        error_of(&[env("X", "SHORT")], &ctx).await.to_string(),
        "secret `X`: value is 3 characters; secrets shorter than 4 are refused because \
         masking them would hide ordinary text"
    );
    assert_eq!(
        error_of(&[env("X", "EMPTY")], &ctx).await.to_string(),
        "secret `X`: value is empty"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    assert!(matches!(
        error_of(&[file("X", &empty)], &ctx).await,
        SecretError::Empty { .. }
    ));
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).expect("write");
    assert!(matches!(
        error_of(&[file("X", &binary)], &ctx).await,
        SecretError::FileNotUtf8 { .. }
    ));
}

#[tokio::test]
async fn declarations_are_checked_before_anything_is_read() {
    let ctx = ResolveContext::from_map([("A", "value-a")]);
    assert_eq!(
        error_of(&[env("A", "A"), env("A", "A")], &ctx)
            .await
            .to_string(),
        "secret `A` is declared twice"
    );
    assert!(matches!(
        error_of(&[env("bad-name", "A")], &ctx).await,
        SecretError::InvalidName { .. }
    ));
    assert!(matches!(
        error_of(&[env("A", "X=Y")], &ctx).await,
        SecretError::InvalidSource { .. }
    ));
    // The bad Vault path is reported although VAULT_ADDR is not set and the
    // file before it does not exist: no I/O happens before the checks pass.
    let bad_vault = (
        "API_KEY".to_owned(),
        Provider::Vault {
            path: "kv/../sys/raw".to_owned(),
            field: "key".to_owned(),
        },
    );
    let message = error_of(&[file("F", "/nonexistent"), bad_vault], &ctx)
        .await
        .to_string();
    assert!(
        message.starts_with("secret `API_KEY`: vault `path`"),
        "{message}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn non_utf8_env_values_are_refused() {
    use std::os::unix::ffi::OsStringExt as _;
    let ctx = ResolveContext::new(|_| Some(std::ffi::OsString::from_vec(vec![0xff; 8])));
    assert_eq!(
        error_of(&[env("X", "RAW")], &ctx).await.to_string(),
        "secret `X`: environment variable `RAW` is not valid UTF-8"
    );
}
