//! Writes the labelled secrets corpus: `cargo run -p slipway-secretscan --example secrets_corpus -- DIR`.
//!
//! The files go under `DIR/tree/`, the labels to `DIR/labels.json`; a summary (counts only,
//! never a value) goes to stdout. The corpus is the one `tests/precision_recall.rs` scores.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

#[allow(
    dead_code,
    reason = "the module is shared with tests/precision_recall.rs, which uses more of it"
)]
#[path = "../tests/corpus/mod.rs"]
mod corpus;

use corpus::{Corpus, Label};

fn summary(corpus: &Corpus, out: &mut impl io::Write) -> io::Result<()> {
    writeln!(
        out,
        "files: {}  bytes: {}  secrets: {}  near-misses: {}",
        corpus.files.len(),
        corpus.bytes(),
        corpus.count(Label::Secret),
        corpus.count(Label::NearMiss)
    )?;
    for ((label, provider), count) in corpus.by_provider() {
        writeln!(out, "{:<10} {provider:<28} {count}", label.as_str())?;
    }
    for ((label, kind), count) in corpus.by_kind() {
        writeln!(
            out,
            "{:<10} kind:{:<23} {count}",
            label.as_str(),
            kind.name()
        )?;
    }
    out.flush()
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: secrets_corpus DIR  (writes DIR/tree/** and DIR/labels.json)");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let corpus = Corpus::generate();
    if let Err(error) = corpus.write(&dir) {
        eprintln!(
            "secrets_corpus: cannot write the corpus under {}: {error}",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    // A closed stdout (e.g. piped into `head`) is not an error of the corpus.
    let _ = summary(&corpus, &mut io::stdout().lock());
    ExitCode::SUCCESS
}
