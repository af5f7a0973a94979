//! Property tests: random values embedded anywhere in random text, in any of
//! their forms, fed in random chunks.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use slipway_secrets::{LineMasker, Masker, Secret};

/// Printable ASCII (with `*`, the mask's own character), a few multibyte
/// characters, and newlines.
fn alphabet() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::char::range(' ', '~'),
        1 => prop::sample::select(vec!['é', 'ß', '日', '語', '😀', '\u{a0}']),
        1 => Just('\n'),
    ]
}

/// One line of text without `*`, so that two adjacent masks (`******`) cannot
/// read as a value made of stars.
fn line_char() -> impl Strategy<Value = char> {
    alphabet().prop_filter("newline or star", |c| !matches!(c, '\n' | '*'))
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(alphabet(), 0..120).prop_map(|c| c.into_iter().collect())
}

fn secret() -> impl Strategy<Value = Secret> {
    prop::collection::vec(alphabet(), 4..40).prop_filter_map("refused value", |c| {
        Secret::new("S", c.into_iter().collect::<String>()).ok()
    })
}

fn percent(value: &str, lower: bool) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ if lower => format!("%{b:02x}"),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The forms the issue requires to be masked, computed independently of the
/// crate; a multi-line value contributes its lines, not itself.
fn single_line_forms(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value).expect("json");
    let mut forms = vec![
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
        percent(value, false),
        percent(value, true),
        json[1..json.len() - 1].to_owned(),
    ];
    if value.contains('\n') {
        forms.extend(value.split('\n').map(|l| l.trim().to_owned()));
    } else {
        forms.push(value.to_owned());
    }
    forms.retain(|f| f.chars().count() >= 4);
    forms
}

fn embedded(value: &str, kind: usize) -> String {
    match kind {
        0 => value.to_owned(),
        1 => STANDARD.encode(value),
        2 => URL_SAFE_NO_PAD.encode(value),
        3 => percent(value, false),
        4 => percent(value, true),
        _ => {
            let json = serde_json::to_string(value).expect("json");
            json[1..json.len() - 1].to_owned()
        }
    }
}

/// Feeds `bytes` cut at `cuts` (taken modulo the length).
fn stream(m: &Masker, cap: usize, bytes: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut lines = LineMasker::with_line_cap(m, cap);
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        out.extend(lines.push(&bytes[from..cut]));
        from = cut;
    }
    out.extend(lines.finish());
    out
}

fn masker(secret: &Secret) -> Masker {
    Masker::new(std::slice::from_ref(secret)).expect("masker")
}

proptest! {
    #[test]
    fn no_form_survives_whole_text_masking(
        secret in secret(), before in text(), after in text(), kind in 0..6usize,
    ) {
        let m = masker(&secret);
        let text = format!("{before}{}{after}", embedded(secret.expose(), kind));
        let out = m.mask(&text);
        prop_assert!(!secret.expose().contains('\n') || !out.contains(secret.expose()));
        for form in single_line_forms(secret.expose()) {
            prop_assert!(!out.contains(&form), "{:?} left in {:?}", form, out);
        }
        prop_assert_eq!(m.mask(&out), out.clone(), "not idempotent");
    }

    #[test]
    fn no_form_survives_streaming_in_random_chunks(
        secret in secret(), before in text(), after in text(), kind in 0..6usize,
        cuts in prop::collection::vec(any::<usize>(), 0..8), cap in 16..80usize,
    ) {
        let m = masker(&secret);
        let text = format!("{before}{}{after}", embedded(secret.expose(), kind));
        let forms = single_line_forms(secret.expose());
        for line in stream(&m, cap, text.as_bytes(), &cuts) {
            for form in &forms {
                prop_assert!(!line.contains(form.as_str()), "{:?} left in {:?}", form, line);
            }
        }
    }

    #[test]
    fn a_value_across_a_piece_cut_is_masked_on_both_sides(
        value in prop::collection::vec(line_char(), 4..40),
        before in prop::collection::vec(line_char(), 0..150),
        after in prop::collection::vec(line_char(), 0..150),
        kind in 0..6usize,
        cuts in prop::collection::vec(any::<usize>(), 0..8), cap in 16..80usize,
    ) {
        let value: String = value.into_iter().collect();
        let secret = Secret::new("S", value);
        prop_assume!(secret.is_ok());
        let secret = secret.expect("checked");
        let form = embedded(secret.expose(), kind);
        let (before, after): (String, String) = (before.into_iter().collect(), after.into_iter().collect());
        // Every 4-character piece of the embedded form; the text around it
        // holds none of them, so any found in the output leaked.
        let chars: Vec<char> = form.chars().collect();
        let parts: Vec<String> = chars.windows(4).map(|w| w.iter().collect()).collect();
        prop_assume!(parts.iter().all(|p| !before.contains(p.as_str()) && !after.contains(p.as_str())));
        let m = masker(&secret);
        // The whole text is one line, so the pieces put together are that
        // line: a value cut in two halves that are not both masked shows here.
        let line = format!("{before}{form}{after}");
        let joined = stream(&m, cap, line.as_bytes(), &cuts).concat();
        for part in &parts {
            prop_assert!(!joined.contains(part.as_str()), "{:?} left in {:?}", part, joined);
        }
    }

    #[test]
    fn chunking_does_not_change_the_result(
        secret in secret(), before in text(), after in text(), kind in 0..6usize,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let m = masker(&secret);
        let text = format!("{before}{}{after}", embedded(secret.expose(), kind));
        let mut expected: Vec<String> = text.split('\n').map(|l| m.mask(l).into_owned()).collect();
        if text.ends_with('\n') || text.is_empty() {
            expected.pop();
        }
        prop_assert_eq!(stream(&m, LineMasker::DEFAULT_LINE_CAP, text.as_bytes(), &cuts), expected);
    }

    #[test]
    fn text_without_the_secret_is_unchanged(
        secret in secret(), text in text(),
        cuts in prop::collection::vec(any::<usize>(), 0..8), cap in 16..80usize,
    ) {
        let forms = single_line_forms(secret.expose());
        prop_assume!(!text.contains(secret.expose()));
        prop_assume!(forms.iter().all(|f| !text.contains(f.as_str())));
        let m = masker(&secret);
        prop_assert_eq!(m.mask(&text), text.as_str());
        // Long lines come in pieces, so compare the bytes without line breaks.
        let lines = stream(&m, cap, text.as_bytes(), &cuts);
        prop_assert_eq!(lines.concat(), text.replace('\n', ""));
    }
}
