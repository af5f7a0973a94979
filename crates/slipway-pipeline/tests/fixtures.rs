//! Every fixture pipeline: invalid ones snapshot their exact diagnostics, valid ones load
//! clean and validate against the generated JSON Schema.

use slipway_pipeline::{ResolvedTemplate, TemplateRef, TemplateResolver, load};
use std::path::{Path, PathBuf};

/// Local templates from `tests/fixtures/`, the fixtures' repository root.
struct FixtureTemplates;

impl TemplateResolver for FixtureTemplates {
    fn resolve(&self, reference: &TemplateRef) -> Result<ResolvedTemplate, String> {
        match reference {
            TemplateRef::Local(path) => std::fs::read_to_string(fixtures().join(path))
                .map(|text| ResolvedTemplate {
                    name: path.clone(),
                    text,
                    revision: None,
                })
                .map_err(|e| format!("{path}: {e}")),
            TemplateRef::Git { .. } => Err("network templates are not fetched in tests".into()),
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn lint(path: &Path) -> slipway_pipeline::Loaded {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    load(&name, &text, &FixtureTemplates)
}

#[test]
fn invalid_fixtures_report_exact_diagnostics() {
    let files = files("invalid");
    assert!(files.len() >= 40, "only {} invalid fixtures", files.len());
    for path in files {
        let loaded = lint(&path);
        assert!(
            !loaded.diagnostics.is_empty(),
            "{} produced no diagnostic",
            path.display()
        );
        let located: Vec<_> = loaded
            .diagnostics
            .iter()
            .map(|d| d.located(&loaded.sources))
            .collect();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ snapshot_suffix => name, prepend_module_to_snapshot => false }, {
            insta::assert_yaml_snapshot!("invalid", located);
        });
    }
}

#[test]
fn valid_fixtures_lint_clean_and_match_the_schema() {
    let files = files("valid");
    assert!(files.len() >= 15, "only {} valid fixtures", files.len());
    let schema = slipway_pipeline::schema::pipeline_schema();
    let validator = jsonschema::validator_for(&schema).expect("the generated schema compiles");
    for path in files {
        let loaded = lint(&path);
        let located: Vec<_> = loaded
            .diagnostics
            .iter()
            .map(|d| d.located(&loaded.sources))
            .collect();
        // The spec's own example declares secrets it never uses: warnings, not errors.
        let allowed_warnings = path.ends_with("01-spec-example.yml");
        let unexpected: Vec<_> = located
            .iter()
            .filter(|d| d.severity == slipway_pipeline::Severity::Error || !allowed_warnings)
            .collect();
        assert!(unexpected.is_empty(), "{}: {unexpected:#?}", path.display());
        assert_valid(&validator, &path);
    }
}

fn assert_valid(validator: &jsonschema::Validator, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let file = slipway_pipeline::source::SourceFile::new("f", text);
    let (tree, _) = slipway_pipeline::yaml::parse(&file, slipway_pipeline::source::SourceId(0));
    let json = tree.unwrap().to_json();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not match the schema:\n{}",
        path.display(),
        errors.join("\n")
    );
}

#[test]
fn invalid_fixtures_that_are_schema_violations_fail_the_schema_too() {
    let schema = slipway_pipeline::schema::pipeline_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in [
        "04-unknown-key-typo",
        "06-wrong-type-steps",
        "08-unknown-stage",
        "09-invalid-duration",
        "24-invalid-retry-on",
    ] {
        let text = std::fs::read_to_string(fixtures().join(format!("invalid/{name}.yml"))).unwrap();
        let file = slipway_pipeline::source::SourceFile::new("f", text);
        let (tree, _) = slipway_pipeline::yaml::parse(&file, slipway_pipeline::source::SourceId(0));
        assert!(
            !validator.is_valid(&tree.unwrap().to_json()),
            "{name} passes the schema"
        );
    }
}

fn docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pipeline.md"))
        .unwrap()
}

/// Every complete example in the reference lints clean and matches the schema. Fragments
/// are fenced as `text`, so each `yaml` block must stand alone.
#[test]
fn docs_examples_are_valid_pipelines() {
    let docs = docs();
    let schema = slipway_pipeline::schema::pipeline_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let blocks: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 10, "only {} examples", blocks.len());
    let dir = tempfile_dir();
    for (i, block) in blocks.iter().enumerate() {
        let loaded = load("docs/pipeline.md", block, &FixtureTemplates);
        let located: Vec<_> = loaded
            .diagnostics
            .iter()
            .map(|d| d.located(&loaded.sources))
            .collect();
        assert!(located.is_empty(), "example {i}:\n{block}\n{located:#?}");
        let path = dir.join(format!("example-{i}.yml"));
        std::fs::write(&path, block).unwrap();
        assert_valid(&validator, &path);
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("slipway-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn docs_list_every_diagnostic_code() {
    let docs = docs();
    for code in slipway_pipeline::Code::ALL {
        let row = format!("| {} | `{}` |", code.code(), code.name());
        assert!(
            docs.contains(&row),
            "docs/pipeline.md lacks the row for {}",
            code.code()
        );
    }
}

/// The committed copy of the schema that editors use is the generated one.
#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/pipeline-v1.json");
    let generated =
        serde_json::to_string_pretty(&slipway_pipeline::schema::pipeline_schema()).unwrap() + "\n";
    if std::env::var_os("SLIPWAY_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/pipeline-v1.json is stale: run `SLIPWAY_UPDATE_SCHEMA=1 cargo test -p slipway-pipeline --test fixtures`"
    );
}
