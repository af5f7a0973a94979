//! Precision and recall of the built-in rules on the labelled corpus of `tests/corpus/`.
//!
//! A finding on a secret's line (or anywhere in a multi-line secret's span) finds that secret,
//! counted once however many findings it draws; a finding on any other line is a false
//! positive. Recall = secrets found / secrets; precision = secrets found / (secrets found +
//! false positives). The per-provider table, every miss and every false positive (file:line
//! and rule, never the value) go to stderr.

#[path = "corpus/mod.rs"]
mod corpus;

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;

use corpus::{
    Corpus, FileKind, LABELS_FILE, Label, LabelledLine, TREE_DIR, base62_checksum, crc32,
};
use slipway_secretscan::{Finding, ScanOptions, Scanner};

const MIN_RECALL: f64 = 0.95;
const MIN_PRECISION: f64 = 0.90;
const MIN_SECRETS: usize = 150;
const MIN_NEAR_MISSES: usize = 150;

/// The outcome of scoring findings against the labels.
struct Score<'a> {
    /// Labels of the secrets some finding reported.
    found: BTreeSet<usize>,
    /// Findings on lines that hold no secret, with the near-miss label of the line if any.
    false_positives: Vec<(&'a Finding, Option<&'a LabelledLine>)>,
    secrets: usize,
}

impl Score<'_> {
    fn recall(&self) -> f64 {
        ratio(self.found.len(), self.secrets)
    }

    fn precision(&self) -> f64 {
        ratio(
            self.found.len(),
            self.found.len() + self.false_positives.len(),
        )
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn score<'a>(corpus: &'a Corpus, findings: &'a [Finding]) -> Score<'a> {
    let mut secrets_by_file: BTreeMap<&str, Vec<(usize, &LabelledLine)>> = BTreeMap::new();
    let mut near_misses: BTreeMap<(&str, u32), &LabelledLine> = BTreeMap::new();
    for (index, label) in corpus.labels.iter().enumerate() {
        match label.label {
            Label::Secret => secrets_by_file
                .entry(label.file.as_str())
                .or_default()
                .push((index, label)),
            Label::NearMiss => {
                near_misses.insert((label.file.as_str(), label.line), label);
            }
        }
    }
    let mut found = BTreeSet::new();
    let mut false_positives = Vec::new();
    for finding in findings {
        let hit = secrets_by_file
            .get(finding.file.as_str())
            .and_then(|labels| {
                labels
                    .iter()
                    .find(|(_, label)| (label.span.0..=label.span.1).contains(&finding.line))
            })
            .map(|(index, _)| *index);
        match hit {
            Some(index) => {
                found.insert(index);
            }
            None => false_positives.push((
                finding,
                near_misses
                    .get(&(finding.file.as_str(), finding.line))
                    .copied(),
            )),
        }
    }
    Score {
        found,
        false_positives,
        secrets: corpus.count(Label::Secret),
    }
}

/// The per-provider table, the misses and the false positives, for stderr.
fn report(corpus: &Corpus, score: &Score<'_>) -> String {
    let mut out = String::new();
    let mut per_provider: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (index, label) in corpus.labels.iter().enumerate() {
        if label.label == Label::Secret {
            let entry = per_provider.entry(label.provider).or_default();
            entry.0 += 1;
            entry.1 += usize::from(score.found.contains(&index));
        }
    }
    let _ = writeln!(
        out,
        "{:<28} {:>7} {:>6} {:>7}",
        "provider", "secrets", "found", "recall"
    );
    for (provider, (total, found)) in &per_provider {
        let _ = writeln!(
            out,
            "{provider:<28} {total:>7} {found:>6} {:>7.3}",
            ratio(*found, *total)
        );
    }

    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for label in corpus.labels.iter().filter(|l| l.label == Label::NearMiss) {
        per_category.entry(label.provider).or_default().0 += 1;
    }
    let mut unlabelled = 0;
    for (_, near_miss) in &score.false_positives {
        match near_miss {
            Some(label) => per_category.entry(label.provider).or_default().1 += 1,
            None => unlabelled += 1,
        }
    }
    let _ = writeln!(
        out,
        "\n{:<28} {:>11} {:>16}",
        "near-miss category", "near-misses", "false positives"
    );
    for (category, (total, flagged)) in &per_category {
        let _ = writeln!(out, "{category:<28} {total:>11} {flagged:>16}");
    }
    let _ = writeln!(
        out,
        "{:<28} {:>11} {unlabelled:>16}",
        "(unlabelled lines)", "-"
    );

    let _ = writeln!(out, "\nmisses:");
    for (index, label) in corpus.labels.iter().enumerate() {
        if label.label == Label::Secret && !score.found.contains(&index) {
            let _ = writeln!(
                out,
                "  {}:{}  {} in {}",
                label.file,
                label.line,
                label.provider,
                label.kind.name()
            );
        }
    }
    let _ = writeln!(out, "false positives:");
    for (finding, near_miss) in &score.false_positives {
        let what = near_miss.map_or("unlabelled line", |label| label.provider);
        let _ = writeln!(
            out,
            "  {}:{}  rule {}  ({what})",
            finding.file, finding.line, finding.rule
        );
    }
    let _ = writeln!(
        out,
        "\nfiles {}, bytes {}, secrets {}, near-misses {}: found {}, false positives {}, recall {:.3}, precision {:.3}",
        corpus.files.len(),
        corpus.bytes(),
        score.secrets,
        corpus.count(Label::NearMiss),
        score.found.len(),
        score.false_positives.len(),
        score.recall(),
        score.precision()
    );
    out
}

#[test]
fn builtin_rules_meet_precision_and_recall() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let corpus = Corpus::generate();
    corpus.write(dir.path())?;
    let report_of_scan =
        Scanner::builtin().scan_dir(&dir.path().join(TREE_DIR), &ScanOptions::default())?;
    let score = score(&corpus, &report_of_scan.findings);
    eprintln!(
        "scanned {} files, {} bytes",
        report_of_scan.scanned_files, report_of_scan.scanned_bytes
    );
    eprintln!("{}", report(&corpus, &score));
    assert!(
        score.recall() >= MIN_RECALL,
        "recall {:.3} is below {MIN_RECALL} (misses listed above)",
        score.recall()
    );
    assert!(
        score.precision() >= MIN_PRECISION,
        "precision {:.3} is below {MIN_PRECISION} (false positives listed above)",
        score.precision()
    );
    Ok(())
}

#[test]
fn corpus_has_enough_secrets_and_near_misses_in_every_kind() {
    let corpus = Corpus::generate();
    let secrets = corpus.count(Label::Secret);
    let near_misses = corpus.count(Label::NearMiss);
    assert!(secrets >= MIN_SECRETS, "only {secrets} secrets");
    assert!(
        near_misses >= MIN_NEAR_MISSES,
        "only {near_misses} near-misses"
    );
    let by_kind = corpus.by_kind();
    for kind in FileKind::ALL {
        if kind.holds_secrets() {
            assert!(
                by_kind.get(&(Label::Secret, kind)).is_some_and(|&n| n > 0),
                "no secret in a {} file",
                kind.name()
            );
        }
        assert!(
            by_kind
                .get(&(Label::NearMiss, kind))
                .is_some_and(|&n| n > 0),
            "no near-miss in a {} file",
            kind.name()
        );
    }
    let providers: BTreeSet<&str> = corpus
        .by_provider()
        .into_keys()
        .filter(|(label, _)| *label == Label::Secret)
        .map(|(_, provider)| provider)
        .collect();
    assert!(providers.len() >= 40, "only {} providers", providers.len());
}

#[test]
fn labels_point_at_their_candidates() {
    let corpus = Corpus::generate();
    let texts: BTreeMap<&str, Vec<&str>> = corpus
        .files
        .iter()
        .map(|file| (file.path.as_str(), file.text.lines().collect()))
        .collect();
    let mut seen = BTreeSet::new();
    for label in &corpus.labels {
        let where_ = format!("{}:{}", label.file, label.line);
        assert!(
            seen.insert((label.file.as_str(), label.line)),
            "{where_} is labelled twice"
        );
        let lines = texts
            .get(label.file.as_str())
            .unwrap_or_else(|| panic!("{where_}: no such file"));
        let (first, last) = label.span;
        assert!(
            1 <= first && first <= label.line && label.line <= last && last as usize <= lines.len(),
            "{where_}: span {first}..={last} is outside the file or misses the line"
        );
        let line = lines[label.line as usize - 1];
        assert!(!line.trim().is_empty(), "{where_} is blank");
        if label.provider.starts_with("private-key") {
            assert!(
                line.contains("-----BEGIN "),
                "{where_}: the key does not start here"
            );
        }
    }
}

#[test]
fn corpus_is_deterministic_and_written_with_its_labels() -> Result<(), Box<dyn Error>> {
    let corpus = Corpus::generate();
    assert_eq!(corpus, Corpus::generate());
    let dir = tempfile::tempdir()?;
    corpus.write(dir.path())?;
    let labels: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(LABELS_FILE))?)?;
    assert_eq!(labels.len(), corpus.labels.len());
    for (written, label) in labels.iter().zip(&corpus.labels) {
        assert_eq!(written["file"], label.file.as_str());
        assert_eq!(written["line"], label.line);
        assert_eq!(written["label"], label.label.as_str());
        assert_eq!(written["provider"], label.provider);
    }
    for file in &corpus.files {
        let on_disk = std::fs::read_to_string(dir.path().join(TREE_DIR).join(&file.path))?;
        assert_eq!(on_disk, file.text, "{}", file.path);
    }
    Ok(())
}

#[test]
fn token_checksums_follow_the_published_scheme() {
    // The CRC-32 check value of the IEEE polynomial.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(base62_checksum(0xCBF4_3926), "3jZRME");
    assert_eq!(base62_checksum(0), "000000");
    assert_eq!(base62_checksum(61), "00000z");
    assert_eq!(base62_checksum(u32::MAX), "4gfFC3");
    // Every checksummed token in the corpus carries the CRC of its random part.
    let corpus = Corpus::generate();
    let mut checked = 0;
    for label in corpus.labels.iter().filter(|l| {
        l.label == Label::Secret
            && matches!(
                l.provider,
                "github-classic-pat" | "github-oauth-token" | "npm-token"
            )
    }) {
        let file = corpus.files.iter().find(|f| f.path == label.file);
        let line = file.and_then(|f| f.text.lines().nth(label.line as usize - 1));
        let token = line.and_then(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .find(|word| {
                    word.len() == 40 && (word.starts_with("gh") || word.starts_with("npm_"))
                })
        });
        let token = token.unwrap_or_else(|| panic!("{}:{}: no token", label.file, label.line));
        let (random, checksum) = token[4..].split_at(30);
        assert_eq!(base62_checksum(crc32(random.as_bytes())), checksum);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} checksummed tokens");
}
