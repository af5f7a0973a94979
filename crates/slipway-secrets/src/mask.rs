//! Replacing secret values, and the usual encodings of them, with `***`.
//!
//! [`Masker`] works on whole texts (error messages, stored documents);
//! [`LineMasker`] works on a byte stream (a step's stdout) cut into chunks at
//! arbitrary places and turns it into masked lines.

use std::borrow::Cow;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::secret::{MIN_SECRET_CHARS, Secret, SecretError};

/// What every occurrence is replaced with.
pub const MASK: &str = "***";

/// Re-masking passes allowed before giving up on a text (see [`Masker::mask_bytes`]).
const MAX_MASK_PASSES: usize = 16;

/// A base64 fragment cut out of a longer encoding (see [`shifted_base64`]) is
/// kept only from this length on: shorter fragments of common words turn up
/// by chance in unrelated base64 and hex, and would be masked for nothing.
const MIN_SHIFTED_BASE64_CHARS: usize = 8;

/// Finds and masks every form of a set of secrets.
///
/// Cheap to clone (the automaton is shared). `Debug` shows only counts.
#[derive(Clone)]
pub struct Masker {
    /// `None` when there is nothing to mask.
    automaton: Option<AhoCorasick>,
    forms: usize,
    /// Length in bytes of the longest form: how far a match can reach.
    longest: usize,
    /// Whether a form contains `*`; only then can a replacement `***` combine
    /// with its neighbours into a new occurrence, so only then is a second
    /// pass needed.
    star_in_forms: bool,
}

impl Masker {
    /// Builds a masker for these secrets' values in all the forms listed in
    /// the crate's README: exact, base64 (standard and URL-safe, padded and
    /// not, and as part of a longer encoding), percent-encoded (upper- and
    /// lower-case hex), JSON-escaped, and each line of a multi-line value.
    ///
    /// Fails only if the automaton exceeds aho-corasick's size limits, which
    /// takes far more secret material than a pipeline can declare.
    pub fn new(secrets: &[Secret]) -> Result<Self, SecretError> {
        let mut forms: Vec<Zeroizing<Vec<u8>>> = secrets
            .iter()
            .flat_map(|s| forms_of(s.expose()))
            .filter(|f| std::str::from_utf8(f).is_ok_and(|s| s.chars().count() >= MIN_SECRET_CHARS))
            .collect();
        forms.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        forms.dedup_by(|a, b| a.as_slice() == b.as_slice());
        if forms.is_empty() {
            return Ok(Self {
                automaton: None,
                forms: 0,
                longest: 0,
                star_in_forms: false,
            });
        }
        // Standard semantics so that overlapping occurrences can all be found:
        // the union of everything any form covers is masked. Leftmost-longest
        // would pick one of two overlapping occurrences (say two secrets that
        // share a suffix) and leave the rest of the other one readable.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(forms.iter().map(|f| f.as_slice()))
            .map_err(|e| SecretError::Masker {
                reason: e.to_string(),
            })?;
        Ok(Self {
            automaton: Some(automaton),
            forms: forms.len(),
            longest: forms.iter().map(|f| f.len()).max().unwrap_or(0),
            star_in_forms: forms.iter().any(|f| f.contains(&b'*')),
        })
    }

    /// True when there is nothing to mask (no secrets were given).
    pub fn is_empty(&self) -> bool {
        self.automaton.is_none()
    }

    /// Whether `bytes` holds any form of any secret; used to refuse caching
    /// or storing files that contain one.
    pub fn contains_secret(&self, bytes: &[u8]) -> bool {
        self.automaton.as_ref().is_some_and(|ac| ac.is_match(bytes))
    }

    /// `text` with every occurrence of every form replaced by `***`.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.mask_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Forms are whole UTF-8 strings, so in UTF-8 text every cut falls
            // on a character boundary; the lossy path only guards that claim.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// `bytes` with every occurrence of every form replaced by `***`.
    ///
    /// The result contains no form, so masking it again changes nothing.
    pub fn mask_bytes<'t>(&self, bytes: &'t [u8]) -> Cow<'t, [u8]> {
        let (first, _) = self.mask_window(bytes, bytes.len(), 0);
        match first {
            Cow::Borrowed(b) => Cow::Borrowed(b),
            Cow::Owned(out) => Cow::Owned(self.settle(out)),
        }
    }

    /// A replacement `***` next to other text can form a new occurrence only
    /// when a form contains `*` (say the value `ab***`). Mask again until
    /// nothing is found; each pass shortens the text, and if a crafted text
    /// still needs more passes after [`MAX_MASK_PASSES`], the whole text is
    /// withheld rather than risk showing part of a value.
    fn settle(&self, mut out: Vec<u8>) -> Vec<u8> {
        if !self.star_in_forms {
            return out;
        }
        for _ in 0..MAX_MASK_PASSES {
            match self.mask_window(&out, out.len(), 0).0 {
                Cow::Borrowed(_) => return out,
                Cow::Owned(next) => out = next,
            }
        }
        if self.contains_secret(&out) {
            MASK.as_bytes().to_vec()
        } else {
            out
        }
    }

    /// Masks `window[..limit]`.
    ///
    /// Occurrences are looked for in all of `window` but only those starting
    /// before `limit` count; one of them may run past `limit`, and the returned
    /// number says how many bytes after `limit` it still covers (the caller
    /// masks those at the start of the next piece). `forced` bytes at the
    /// start are masked unconditionally: the tail of such an occurrence from
    /// the previous piece.
    fn mask_window<'w>(
        &self,
        window: &'w [u8],
        limit: usize,
        forced: usize,
    ) -> (Cow<'w, [u8]>, usize) {
        let limit = limit.min(window.len());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        if forced > 0 {
            spans.push((0, forced));
        }
        if let Some(ac) = &self.automaton {
            match ac.try_find_overlapping_iter(window) {
                Ok(matches) => spans.extend(
                    matches
                        .filter(|m| m.start() < limit)
                        .map(|m| (m.start(), m.end())),
                ),
                // Cannot happen with a Standard automaton; should it ever,
                // withhold the text rather than show it unmasked.
                Err(_) => spans.push((0, window.len())),
            }
        }
        if spans.is_empty() {
            return (Cow::Borrowed(&window[..limit]), 0);
        }
        spans.sort_unstable();

        let mut out = Vec::with_capacity(limit);
        let mut copied = 0; // next byte of `window` not yet copied or masked
        let mut reach = 0;
        let mut spans = spans.into_iter();
        let Some((mut start, mut end)) = spans.next() else {
            return (Cow::Borrowed(&window[..limit]), 0);
        };
        let mut flush = |start: usize, end: usize, out: &mut Vec<u8>| {
            out.extend_from_slice(&window[copied.min(limit)..start.min(limit)]);
            out.extend_from_slice(MASK.as_bytes());
            copied = end;
            reach = end.saturating_sub(limit);
        };
        for (s, e) in spans {
            if s < end {
                end = end.max(e);
            } else {
                flush(start, end, &mut out);
                (start, end) = (s, e);
            }
        }
        flush(start, end, &mut out);
        if copied < limit {
            out.extend_from_slice(&window[copied..limit]);
        }
        (Cow::Owned(out), reach)
    }
}

impl fmt::Debug for Masker {
    // The automaton's own Debug output would print the patterns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("forms", &self.forms)
            .field("longest", &self.longest)
            .finish()
    }
}

/// Every form of `value` that may show up in output.
fn forms_of(value: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let mut forms: Vec<String> = vec![value.to_owned()];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(value));
    }
    forms.extend(shifted_base64(value.as_bytes()));
    forms.push(percent_encode(value, b"0123456789ABCDEF"));
    forms.push(percent_encode(value, b"0123456789abcdef"));
    forms.push(json_escape(value));
    if value.contains('\n') {
        // Line-oriented output never holds the whole value on one line, so
        // each line counts on its own. Trimming keeps the match when a tool
        // re-indents; the surrounding whitespace it leaves visible is harmless.
        forms.extend(value.split('\n').map(|line| line.trim().to_owned()));
    }
    forms
        .into_iter()
        .map(|f| Zeroizing::new(f.into_bytes()))
        .collect()
}

/// The part of `bytes`' base64 encoding that stays the same wherever the value
/// sits inside a longer encoded blob (`Authorization: Basic base64(user:pass)`),
/// for each of the three alignments and both alphabets.
///
/// With `k` unknown bytes before the value, output character `i` covers input
/// bits `6i..6i+6`; it depends on the value alone when those bits lie within
/// `8k..8(k+n)`.
fn shifted_base64(bytes: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for k in 0..3usize {
        let mut input = Zeroizing::new(vec![0u8; k]);
        input.extend_from_slice(bytes);
        let encoded = Zeroizing::new(STANDARD_NO_PAD.encode(input.as_slice()));
        let first = (8 * k).div_ceil(6);
        let end = 8 * (k + bytes.len()) / 6;
        let Some(stable) = encoded.get(first..end) else {
            continue;
        };
        if stable.len() < MIN_SHIFTED_BASE64_CHARS {
            continue;
        }
        forms.push(stable.to_owned());
        forms.push(stable.replace('+', "-").replace('/', "_"));
    }
    forms
}

/// RFC 3986 percent-encoding: unreserved characters kept, every other byte
/// as `%XX` with the given hex digits.
fn percent_encode(value: &str, hex: &[u8; 16]) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(hex[usize::from(b >> 4)]));
            out.push(char::from(hex[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The value as it appears inside a JSON string, without the quotes.
fn json_escape(value: &str) -> String {
    // Serializing a &str cannot fail; the fallback keeps this panic-free.
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// Turns one output stream, fed in chunks cut anywhere, into masked lines.
///
/// A line is only masked once it is complete, so a value split over two
/// chunks is still found. A line longer than the cap is emitted in pieces;
/// each piece is cut only once `longest form − 1` further bytes are known, so
/// an occurrence crossing the cut is seen whole, and it is masked on both
/// sides of the cut (`…***` then `***…`).
pub struct LineMasker {
    masker: Masker,
    cap: usize,
    /// Bytes of the current, unfinished line not yet emitted.
    pending: Vec<u8>,
    /// Leading bytes of `pending` that belong to an occurrence which started
    /// in the previous piece.
    carry: usize,
}

impl LineMasker {
    /// Default longest line emitted in one piece.
    pub const DEFAULT_LINE_CAP: usize = 64 * 1024;
    /// Smallest cap accepted by [`LineMasker::with_line_cap`].
    pub const MIN_LINE_CAP: usize = 16;

    pub fn new(masker: &Masker) -> Self {
        Self::with_line_cap(masker, Self::DEFAULT_LINE_CAP)
    }

    /// Lines longer than `cap` bytes (at least [`Self::MIN_LINE_CAP`]) are
    /// emitted in pieces of about `cap` bytes.
    pub fn with_line_cap(masker: &Masker, cap: usize) -> Self {
        Self {
            masker: masker.clone(),
            cap: cap.max(Self::MIN_LINE_CAP),
            pending: Vec::new(),
            carry: 0,
        }
    }

    /// Feeds a chunk; returns the lines (and pieces of long lines) it
    /// completed, masked, without their `\n`. Invalid UTF-8 is replaced
    /// (lossily) only after masking, so it cannot hide a value.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        // Bytes already pending hold no newline: search only the new ones.
        let mut searched = self.pending.len();
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        loop {
            let newline = self.pending[searched..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| searched + i);
            match newline {
                Some(end) => {
                    self.emit(start, end, true, &mut lines);
                    self.carry = 0;
                    start = end + 1;
                    searched = start;
                }
                None => {
                    start += self.emit(start, self.pending.len(), false, &mut lines);
                    break;
                }
            }
        }
        self.pending.drain(..start);
        lines
    }

    /// Emits what is left after the last newline, if anything.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        // At most `cap + longest − 1` bytes wait here, so one piece is fine.
        let (piece, _) = self
            .masker
            .mask_window(&self.pending, self.pending.len(), self.carry);
        let line = self.finish_line(piece);
        self.pending.clear();
        self.carry = 0;
        Some(line)
    }

    /// Emits `pending[from..to]` (no newline inside) as pieces of at most
    /// about `cap` bytes and, when `complete`, the remainder as the last piece.
    /// Returns how many bytes were emitted.
    fn emit(&mut self, from: usize, to: usize, complete: bool, lines: &mut Vec<String>) -> usize {
        let lookahead = self.masker.longest.saturating_sub(1);
        let mut pos = from;
        loop {
            let rest = &self.pending[pos..to];
            // An unfinished line is cut only when the bytes after the cut that
            // an occurrence crossing it could reach are already here; the `>`
            // also guarantees the final piece is never empty.
            let cut_now = if complete {
                rest.len() > self.cap
            } else {
                rest.len() > self.cap + lookahead
            };
            if !cut_now {
                break;
            }
            let cut = char_boundary_before(rest, self.cap);
            let window = &rest[..rest.len().min(cut + lookahead)];
            let (piece, reach) = self.masker.mask_window(window, cut, self.carry);
            lines.push(self.finish_line(piece));
            self.carry = reach;
            pos += cut;
        }
        if complete {
            let rest = &self.pending[pos..to];
            let (piece, _) = self.masker.mask_window(rest, rest.len(), self.carry);
            lines.push(self.finish_line(piece));
            pos = to;
        }
        pos - from
    }

    fn finish_line(&self, piece: Cow<'_, [u8]>) -> String {
        let piece = match piece {
            Cow::Owned(out) => Cow::Owned(self.masker.settle(out)),
            borrowed => borrowed,
        };
        String::from_utf8_lossy(&piece).into_owned()
    }
}

impl fmt::Debug for LineMasker {
    // `pending` holds unmasked output: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineMasker")
            .field("masker", &self.masker)
            .field("cap", &self.cap)
            .field("pending_bytes", &self.pending.len())
            .finish()
    }
}

/// `at`, moved back (at most 3 bytes) so that it does not split a UTF-8
/// character, which would otherwise be shown as two replacement characters.
fn char_boundary_before(bytes: &[u8], at: usize) -> usize {
    let mut cut = at;
    for _ in 0..3 {
        match bytes.get(cut) {
            Some(b) if cut > 1 && b & 0xC0 == 0x80 => cut -= 1,
            _ => break,
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(values: &[&str]) -> Masker {
        let secrets: Vec<Secret> = values
            .iter()
            .map(|v| Secret::new("S", *v).expect("valid secret"))
            .collect();
        Masker::new(&secrets).expect("masker")
    }

    #[test]
    fn shifted_base64_finds_the_value_inside_a_longer_encoding() {
        let m = masker(&["s3cr3t-passw0rd"]);
        for prefix in ["", "u", "us", "user:"] {
            for suffix in ["", "!", "!!", "!!!"] {
                let blob = STANDARD.encode(format!("{prefix}s3cr3t-passw0rd{suffix}"));
                let masked = m.mask(&blob);
                assert!(masked.contains(MASK), "{prefix:?} {suffix:?}: {masked}");
                // The value's 20 characters of base64, less at most two edge
                // characters that also depend on the neighbours, are gone.
                assert!(masked.len() + 15 <= blob.len(), "{blob} -> {masked}");
            }
        }
    }

    #[test]
    fn percent_encoding_keeps_unreserved_only() {
        assert_eq!(
            percent_encode("a b/é~", b"0123456789ABCDEF"),
            "a%20b%2F%C3%A9~"
        );
        assert_eq!(
            percent_encode("a b/é~", b"0123456789abcdef"),
            "a%20b%2f%c3%a9~"
        );
    }

    #[test]
    fn json_escape_matches_a_json_string_body() {
        assert_eq!(json_escape("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
    }

    #[test]
    fn overlapping_values_are_masked_as_one_union() {
        // Leftmost-longest would mask `abcd1234` and leave `5678` (part of the
        // second value) readable.
        let m = masker(&["abcd1234", "12345678"]);
        assert_eq!(m.mask("x abcd12345678 y"), "x *** y");
    }

    #[test]
    fn a_value_containing_the_mask_cannot_reappear_after_masking() {
        let m = masker(&["ab***"]);
        let once = m.mask("aab*** and aaab***");
        assert!(!once.contains("ab***"), "{once}");
        assert_eq!(m.mask(&once), once);
        // A text built to need many passes is withheld, not shown.
        let crafted = format!("{}***", "ab".repeat(40));
        assert_eq!(m.mask(&crafted), MASK);
    }

    #[test]
    fn debug_does_not_print_patterns() {
        let m = masker(&["topsecretvalue"]);
        let dbg = format!("{m:?} {:?}", LineMasker::new(&m));
        assert!(!dbg.contains("topsecret"), "{dbg}");
    }

    #[test]
    fn char_boundary_before_backs_off_inside_a_character() {
        let s = "ab日c".as_bytes(); // 日 is bytes 2..5
        assert_eq!(char_boundary_before(s, 2), 2);
        assert_eq!(char_boundary_before(s, 3), 2);
        assert_eq!(char_boundary_before(s, 4), 2);
        assert_eq!(char_boundary_before(s, 5), 5);
    }
}
