//! The masking cases the secrets issue lists, one test each, plus streaming.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use slipway_secrets::{LineMasker, Masker, Secret};

const TOKEN: &str = "ghp_Tok3n/With+Symbols?&=";

const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n\
VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n\
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n\
-----END PRIVATE KEY-----\n";

fn masker(values: &[&str]) -> Masker {
    let secrets: Vec<Secret> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Secret::new(format!("S{i}"), *v).expect("valid secret"))
        .collect();
    Masker::new(&secrets).expect("masker")
}

/// Streams `chunks` through a line masker and returns every line.
fn stream(m: &Masker, cap: usize, chunks: &[&[u8]]) -> Vec<String> {
    let mut lines = LineMasker::with_line_cap(m, cap);
    let mut out: Vec<String> = chunks.iter().flat_map(|c| lines.push(c)).collect();
    out.extend(lines.finish());
    out
}

#[test]
fn whole_value() {
    let m = masker(&[TOKEN]);
    assert_eq!(
        m.mask(&format!("login with {TOKEN} ok; again:{TOKEN}")),
        "login with *** ok; again:***"
    );
}

#[test]
fn base64_in_both_alphabets_with_and_without_padding() {
    // `>>>` and `???` encode to `Pj4+` and `Pz8/`, where the alphabets differ.
    let value = "s3cr3t>>>???x";
    let m = masker(&[value, TOKEN]);
    let standard = STANDARD.encode(value);
    let url_safe = URL_SAFE_NO_PAD.encode(value);
    assert!(standard.ends_with("=="), "{standard}");
    assert_ne!(
        standard.trim_end_matches('='),
        url_safe,
        "alphabets differ here"
    );
    assert_eq!(m.mask(&format!("b64={standard}")), "b64=***");
    assert_eq!(m.mask(&format!("b64u={url_safe}.")), "b64u=***.");
    // Inside a longer blob: HTTP basic auth of `ci:<value>`.
    let basic = STANDARD.encode(format!("ci:{TOKEN}"));
    let masked = m.mask(&basic);
    assert!(
        masked.contains("***") && masked.len() < 10,
        "{basic} -> {masked}"
    );
}

#[test]
fn split_write_across_chunks() {
    let m = masker(&[TOKEN]);
    let text = format!("first line\npush {TOKEN} done\nlast");
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        let (a, b) = bytes.split_at(cut);
        assert_eq!(
            stream(&m, LineMasker::DEFAULT_LINE_CAP, &[a, b]),
            ["first line", "push *** done", "last"],
            "cut at {cut}"
        );
    }
    // One byte at a time.
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(
        stream(&m, LineMasker::DEFAULT_LINE_CAP, &singles),
        ["first line", "push *** done", "last"]
    );
}

#[test]
fn json_escaped() {
    let value = "pa\"ss\\wo\trd";
    let m = masker(&[value]);
    let document = serde_json::json!({ "password": value }).to_string();
    assert_eq!(m.mask(&document), r#"{"password":"***"}"#);
}

#[test]
fn multi_line_pem_key_line_by_line() {
    let m = masker(&[PEM.trim_end()]);
    let printed = format!("$ cat key.pem\n{PEM}$ echo done\n");
    let lines = stream(&m, LineMasker::DEFAULT_LINE_CAP, &[printed.as_bytes()]);
    assert_eq!(
        lines,
        [
            "$ cat key.pem",
            "***",
            "***",
            "***",
            "***",
            "***",
            "$ echo done"
        ]
    );
    // Whole-text masking sees the value at once; the JSON-escaped whole (as in
    // a service-account file) is masked too.
    assert_eq!(m.mask(&printed), "$ cat key.pem\n***\n$ echo done\n");
    let json = serde_json::json!({ "private_key": PEM.trim_end() }).to_string();
    assert_eq!(m.mask(&json), r#"{"private_key":"***"}"#);
    // An indented copy still has every line masked.
    let indented: String = PEM.lines().map(|l| format!("    {l}\n")).collect();
    assert!(m.mask(&indented).lines().all(|l| l == "    ***"));
}

#[test]
fn value_inside_an_error_message() {
    let m = masker(&[TOKEN]);
    let error = format!("curl: (22) The requested URL returned error: 401 for token {TOKEN}");
    assert_eq!(
        m.mask(&error),
        "curl: (22) The requested URL returned error: 401 for token ***"
    );
}

#[test]
fn url_encoded_upper_and_lower_case() {
    let m = masker(&[TOKEN]);
    let upper = "ghp_Tok3n%2FWith%2BSymbols%3F%26%3D";
    assert_eq!(m.mask(&format!("GET /?t={upper} 200")), "GET /?t=*** 200");
    let lower = upper
        .to_lowercase()
        .replace("ghp_tok3n", "ghp_Tok3n")
        .replace("with", "With")
        .replace("symbols", "Symbols");
    assert_eq!(m.mask(&format!("t={lower}")), "t=***");
}

#[test]
fn text_without_secrets_is_borrowed_unchanged() {
    let m = masker(&[TOKEN]);
    assert!(matches!(
        m.mask("nothing here"),
        Cow::Borrowed("nothing here")
    ));
    assert!(matches!(m.mask_bytes(b"\xff\xfe"), Cow::Borrowed(_)));
    let empty = Masker::new(&[]).expect("masker");
    assert!(empty.is_empty());
    assert!(!m.is_empty());
    assert_eq!(empty.mask(TOKEN), TOKEN);
    assert_eq!(stream(&empty, 64, &[b"a\nb"]), ["a", "b"]);
}

#[test]
fn contains_secret_sees_every_form() {
    let m = masker(&[TOKEN]);
    assert!(m.contains_secret(format!("x{TOKEN}x").as_bytes()));
    assert!(m.contains_secret(STANDARD.encode(TOKEN).as_bytes()));
    assert!(!m.contains_secret(b"ghp_Tok3n"));
}

#[test]
fn invalid_utf8_is_replaced_after_masking() {
    let m = masker(&[TOKEN]);
    let mut bytes = b"\xff ".to_vec();
    bytes.extend_from_slice(TOKEN.as_bytes());
    bytes.extend_from_slice(b" \xc3\n");
    assert_eq!(stream(&m, 1024, &[&bytes]), ["\u{fffd} *** \u{fffd}"]);
}

#[test]
fn long_lines_come_in_pieces_and_a_value_across_the_cut_is_masked_on_both_sides() {
    let m = masker(&[TOKEN]);
    let cap = 32;
    for offset in 0..60 {
        let line = format!("{}{TOKEN}{}", "a".repeat(offset), "b".repeat(70));
        let text = format!("{line}\nnext\n");
        let singles: Vec<&[u8]> = text.as_bytes().chunks(7).collect();
        for lines in [
            stream(&m, cap, &[text.as_bytes()]),
            stream(&m, cap, &singles),
        ] {
            assert_eq!(lines.last().map(String::as_str), Some("next"));
            let pieces = &lines[..lines.len() - 1];
            assert!(pieces.len() > 1, "offset {offset}: {pieces:?}");
            for piece in pieces {
                assert!(piece.len() <= cap + TOKEN.len() + 3, "{piece}");
                for window in TOKEN.as_bytes().windows(4) {
                    let part = std::str::from_utf8(window).expect("ascii");
                    assert!(!piece.contains(part), "offset {offset}: {part} in {piece}");
                }
            }
            let joined: String = pieces.concat();
            assert!(joined.contains("***"), "offset {offset}: {joined}");
            assert_eq!(
                joined.replace('*', "").len(),
                offset + 70,
                "offset {offset}"
            );
        }
    }
}

#[test]
fn an_unfinished_long_line_is_flushed_by_finish() {
    let m = masker(&[TOKEN]);
    let text = format!("{}{TOKEN}", "x".repeat(40));
    let mut lines = LineMasker::with_line_cap(&m, 16);
    let mut out = lines.push(text.as_bytes());
    out.extend(lines.finish());
    assert!(lines.finish().is_none());
    let joined = out.concat();
    assert!(
        joined.ends_with("***") && !joined.contains("Tok3n"),
        "{out:?}"
    );
    assert_eq!(joined.replace('*', ""), "x".repeat(40));
}

#[test]
fn multibyte_characters_are_not_split_between_pieces() {
    let m = masker(&[TOKEN]);
    let line = "日本語のログ".repeat(20);
    let lines = stream(&m, 16, &[line.as_bytes()]);
    assert!(lines.len() > 1);
    assert!(lines.iter().all(|l| !l.contains('\u{fffd}')), "{lines:?}");
    assert_eq!(lines.concat(), line);
}
