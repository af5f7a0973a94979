//! The scan of one buffer: the keyword automaton runs once over it; each rule's regex runs
//! only over a bounded window around its keywords' hits; candidates pass entropy and
//! placeholder checks, overlapping ones are reduced to the most specific, and the survivors
//! become located, redacted, fingerprinted findings.

use crate::filter::{is_generic_placeholder, is_placeholder, shannon_entropy};
use crate::report::Finding;
use crate::rules::{Rule, RuleSet};
use aho_corasick::Input;
use sha2::{Digest, Sha256};

/// How far a window reaches either side of a keyword hit on a long line. Secrets and the
/// context rules need look at far less; minified files would otherwise make every hit scan
/// the whole line.
const CONTEXT_BYTES: usize = 512;
/// How far a multi-line rule's window may reach past its keyword.
const SPAN_BYTES: usize = 64 << 10;
/// Characters of context kept either side of the secret in an excerpt.
const EXCERPT_CONTEXT_CHARS: usize = 48;
/// The visible prefix of a secret in an excerpt.
const VISIBLE_PREFIX_CHARS: usize = 4;
/// The inline marker that excuses the line it is on.
pub(crate) const INLINE_ALLOW_MARKER: &[u8] = b"slipway:allow-secret";

/// A match that passed the rule's checks: byte range of the secret in the buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) rule: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) entropy: Option<f32>,
}

/// A finding before allowlisting, with what allowlisting needs to know.
pub(crate) struct Located {
    pub(crate) finding: Finding,
    pub(crate) inline_allowed: bool,
}

/// Which windows a rule has already searched in this buffer.
#[derive(Clone, Copy)]
struct Searched {
    start: usize,
    end: usize,
    /// The window stopped before the line's end, so a later hit may still find more.
    clipped_right: bool,
}

/// Finds every candidate in `bytes` for the rules that apply to `file`.
pub(crate) fn candidates(set: &RuleSet, file: &str, bytes: &[u8]) -> Vec<Candidate> {
    let mut found = Vec::new();
    let mut vetoes = Vec::new();
    // Per rule: not yet checked / applies to this path / does not.
    let mut applies: Vec<Option<bool>> = vec![None; set.rules.len()];
    let mut searched: Vec<Option<Searched>> = vec![None; set.rules.len()];
    // The fast non-overlapping search finds the next line holding any keyword; only that line
    // is searched again for every (overlapping) keyword, and the search resumes after it.
    let mut position = 0usize;
    while position < bytes.len() {
        let Some(first) = set
            .automaton
            .find(Input::new(bytes).span(position..bytes.len()))
        else {
            break;
        };
        let line = line_bounds(bytes, first.start(), first.end());
        let hits = set
            .automaton
            .find_overlapping_iter(Input::new(bytes).span(line.0..line.1));
        for hit in hits {
            let Some(rule_indices) = set.keyword_rules.get(hit.pattern().as_usize()) else {
                continue;
            };
            for &index in rule_indices {
                let Some(rule) = set.rules.get(index) else {
                    continue;
                };
                let applies_here = match applies.get(index).copied().flatten() {
                    Some(known) => known,
                    None => {
                        let known = rule.applies_to(file);
                        if let Some(slot) = applies.get_mut(index) {
                            *slot = Some(known);
                        }
                        known
                    }
                };
                if !applies_here {
                    continue;
                }
                if let Some(Some(previous)) = searched.get(index)
                    && previous.start <= hit.start()
                    && hit.end() <= previous.end
                    && !previous.clipped_right
                {
                    continue;
                }
                let window = window(bytes, rule, hit.start(), hit.end(), line);
                if let Some(Some(previous)) = searched.get(index)
                    && previous.start == window.start
                    && previous.end == window.end
                {
                    continue;
                }
                search_window(rule, index, bytes, &window, &mut found, &mut vetoes);
                if let Some(slot) = searched.get_mut(index) {
                    *slot = Some(Searched {
                        start: window.start,
                        end: window.end,
                        clipped_right: window.clipped_right,
                    });
                }
            }
        }
        position = line.1.saturating_add(1);
    }
    reduce_overlaps(set, found, &vetoes)
}

struct Window {
    start: usize,
    end: usize,
    clipped_left: bool,
    clipped_right: bool,
}

/// The line containing `start..end`: (first byte, end without the `\n`).
fn line_bounds(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let head = bytes.get(..start).unwrap_or_default();
    let line_start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    let tail = bytes.get(end..).unwrap_or_default();
    let line_end = memchr::memchr(b'\n', tail).map_or(bytes.len(), |i| end + i);
    (line_start, line_end)
}

fn window(bytes: &[u8], rule: &Rule, start: usize, end: usize, line: (usize, usize)) -> Window {
    let (line_start, line_end) = line;
    let window_start = line_start.max(start.saturating_sub(CONTEXT_BYTES));
    if rule.span_lines() > 0 {
        // Multi-line secrets: the following lines, bounded in count and bytes.
        let limit = bytes.len().min(end.saturating_add(SPAN_BYTES));
        let mut window_end = line_end;
        for _ in 0..rule.span_lines() {
            if window_end >= limit {
                break;
            }
            let rest = bytes.get(window_end + 1..limit).unwrap_or_default();
            window_end = memchr::memchr(b'\n', rest).map_or(limit, |i| window_end + 1 + i);
        }
        let window_end = window_end.min(limit);
        return Window {
            start: window_start,
            end: window_end,
            clipped_left: window_start > line_start,
            clipped_right: window_end < bytes.len() && window_end == limit,
        };
    }
    let window_end = line_end.min(end.saturating_add(CONTEXT_BYTES));
    Window {
        start: window_start,
        end: window_end,
        clipped_left: window_start > line_start,
        clipped_right: window_end < line_end,
    }
}

/// Searches one window; matches that pass go to `found`. A provider rule's match that its
/// own checks reject (a documented example, a bad checksum, a placeholder) goes to `vetoes`:
/// a generic rule must not report what the provider rule knows to be harmless.
fn search_window(
    rule: &Rule,
    index: usize,
    bytes: &[u8],
    window: &Window,
    found: &mut Vec<Candidate>,
    vetoes: &mut Vec<(usize, usize)>,
) {
    let Some(regex) = rule.regex() else {
        return;
    };
    let Some(haystack) = bytes.get(window.start..window.end) else {
        return;
    };
    for captures in regex.captures_iter(haystack) {
        let secret = match rule.secret_group() {
            Some(group) => captures.get(group),
            None => (1..captures.len())
                .find_map(|group| captures.get(group))
                .or_else(|| captures.get(0)),
        };
        let Some(secret) = secret else {
            continue;
        };
        if secret.is_empty() {
            continue;
        }
        // A secret cut by the window's edge is not the whole secret; a later window (or
        // none, on a pathological line) decides.
        if window.clipped_left && secret.start() == 0
            || window.clipped_right && secret.end() == haystack.len()
        {
            continue;
        }
        let value = secret.as_bytes();
        let entropy = match rule.entropy {
            Some(threshold) => {
                let entropy = shannon_entropy(value);
                if entropy < threshold {
                    continue;
                }
                Some(entropy)
            }
            None => None,
        };
        let rejected = if rule.generic {
            let quoted = secret
                .start()
                .checked_sub(1)
                .and_then(|before| haystack.get(before))
                .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'));
            is_generic_placeholder(value, quoted)
        } else {
            is_placeholder(value)
        };
        let bad_checksum = rule
            .checksum()
            .is_some_and(|checksum| !checksum.verify(value));
        if rejected || bad_checksum || rule.allows(value) {
            if !rule.generic {
                vetoes.push((window.start + secret.start(), window.start + secret.end()));
            }
            continue;
        }
        found.push(Candidate {
            rule: index,
            start: window.start + secret.start(),
            end: window.start + secret.end(),
            entropy,
        });
    }
}

/// Where candidates overlap, keeps one: a provider rule over a generic one, then the rule
/// listed first. Generic candidates overlapping a vetoed provider match are dropped.
fn reduce_overlaps(
    set: &RuleSet,
    mut found: Vec<Candidate>,
    vetoes: &[(usize, usize)],
) -> Vec<Candidate> {
    if !vetoes.is_empty() {
        found.retain(|candidate| {
            let generic = set
                .rules
                .get(candidate.rule)
                .is_none_or(|rule| rule.generic);
            !generic
                || !vetoes
                    .iter()
                    .any(|&(start, end)| start < candidate.end && candidate.start < end)
        });
    }
    let priority = |candidate: &Candidate| {
        let generic = set
            .rules
            .get(candidate.rule)
            .is_none_or(|rule| rule.generic);
        (generic, candidate.rule)
    };
    found.sort_by(|a, b| priority(a).cmp(&priority(b)).then(a.start.cmp(&b.start)));
    let mut kept: Vec<Candidate> = Vec::with_capacity(found.len());
    for candidate in found {
        let overlaps = kept
            .iter()
            .any(|k| k.start < candidate.end && candidate.start < k.end);
        if !overlaps {
            kept.push(candidate);
        }
    }
    kept.sort_by_key(|c| (c.start, c.rule));
    kept
}

/// Turns candidates into findings: line and column, excerpt, fingerprint.
pub(crate) fn locate(
    set: &RuleSet,
    file: &str,
    bytes: &[u8],
    candidates: &[Candidate],
) -> Vec<Located> {
    let mut located = Vec::with_capacity(candidates.len());
    // Candidates are sorted by start, so line numbers are counted once, forwards.
    let mut counted_to = 0usize;
    let mut line_number = 1usize;
    for candidate in candidates {
        let Some(rule) = set.rules.get(candidate.rule) else {
            continue;
        };
        let start = candidate.start.min(bytes.len());
        let end = candidate.end.min(bytes.len()).max(start);
        if start >= counted_to {
            line_number += count_newlines(bytes.get(counted_to..start).unwrap_or_default());
        } else {
            line_number = 1 + count_newlines(bytes.get(..start).unwrap_or_default());
        }
        counted_to = start;
        let secret = bytes.get(start..end).unwrap_or_default();
        let end_line = line_number + count_newlines(secret);
        let (line_start, line_end) = line_bounds(bytes, start, start);
        let column = 1 + count_chars(bytes.get(line_start..start).unwrap_or_default());
        let last_line_start = memchr::memrchr(b'\n', secret).map_or(line_start, |i| start + i + 1);
        let end_column = 1 + count_chars(bytes.get(last_line_start..end).unwrap_or_default());
        let line_text = bytes.get(line_start..line_end).unwrap_or_default();
        let inline_allowed = memchr::memmem::find(line_text, INLINE_ALLOW_MARKER).is_some();
        let excerpt = excerpt(bytes, (line_start, line_end), candidate, candidates);
        located.push(Located {
            finding: Finding {
                rule: rule.id.clone(),
                file: file.to_string(),
                line: saturate(line_number),
                column: saturate(column),
                end_line: saturate(end_line),
                end_column: saturate(end_column),
                fingerprint: fingerprint(&rule.id, file, secret),
                excerpt,
                commit: None,
                author: None,
                severity: rule.severity,
                entropy: candidate.entropy,
            },
            inline_allowed,
        });
    }
    located
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Characters in UTF-8 text: every byte that does not continue a sequence. Invalid bytes
/// count one each.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Lowercase hex SHA-256 of `rule \0 file \0 secret`, first 32 characters.
pub fn fingerprint(rule: &str, file: &str, secret: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule.as_bytes());
    hasher.update([0u8]);
    hasher.update(file.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret);
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in digest.iter().take(16) {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// The secret's line, cut to a window around it, with this and every other secret on the
/// line shortened to its first characters and length.
fn excerpt(bytes: &[u8], line: (usize, usize), candidate: &Candidate, all: &[Candidate]) -> String {
    let (line_start, mut line_end) = line;
    if line_end > line_start && bytes.get(line_end - 1) == Some(&b'\r') {
        line_end -= 1;
    }
    let secret_end_on_line = candidate.end.min(line_end);
    let from = char_boundary_back(bytes, line_start, candidate.start, EXCERPT_CONTEXT_CHARS);
    let to = char_boundary_forward(bytes, line_end, secret_end_on_line, EXCERPT_CONTEXT_CHARS);
    let mut out = String::new();
    if from > line_start {
        out.push('…');
    }
    let mut redactions: Vec<&Candidate> = all
        .iter()
        .filter(|other| other.start < to && other.end > from)
        .collect();
    redactions.sort_by_key(|c| c.start);
    let mut cursor = from;
    for other in redactions {
        let start = other.start.max(cursor);
        if start > cursor {
            out.push_str(&String::from_utf8_lossy(
                bytes.get(cursor..start).unwrap_or_default(),
            ));
        }
        let secret = bytes.get(other.start..other.end).unwrap_or_default();
        if other.start >= from {
            out.push_str(&shorten(secret));
        } else {
            out.push('…');
        }
        cursor = cursor.max(other.end.min(to));
    }
    if cursor < to {
        out.push_str(&String::from_utf8_lossy(
            bytes.get(cursor..to).unwrap_or_default(),
        ));
    }
    if to < line_end {
        out.push('…');
    }
    out.trim().to_string()
}

/// `abcd…(40 chars)`: at most four characters of the secret.
fn shorten(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let total = text.chars().count();
    let visible: String = text
        .chars()
        .take(VISIBLE_PREFIX_CHARS.min(total.saturating_sub(1)))
        .collect();
    format!("{visible}…({total} chars)")
}

/// Whether `bytes` is UTF-8 except for a character cut off at either end.
fn is_utf8_apart_from_cut_ends(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0xC0) == 0x80)
        .count();
    match std::str::from_utf8(bytes.get(start..).unwrap_or_default()) {
        Ok(_) => true,
        // `error_len() == None`: the input ends inside a character, which the cut explains.
        Err(error) => error.error_len().is_none(),
    }
}

/// A byte offset at most `chars` characters before `from`, not before `floor`, on a character
/// boundary.
fn char_boundary_back(bytes: &[u8], floor: usize, from: usize, chars: usize) -> usize {
    let floor = floor.max(from.saturating_sub(chars * 4));
    if !is_utf8_apart_from_cut_ends(bytes.get(floor..from).unwrap_or_default()) {
        // Invalid UTF-8 prints one U+FFFD per byte: count bytes.
        return floor.max(from.saturating_sub(chars));
    }
    let mut position = from;
    let mut taken = 0;
    while position > floor && taken < chars {
        position -= 1;
        if bytes.get(position).is_some_and(|b| (b & 0xC0) != 0x80) {
            taken += 1;
        }
    }
    while position > floor && bytes.get(position).is_some_and(|b| (b & 0xC0) == 0x80) {
        position -= 1;
    }
    position
}

/// A byte offset at most `chars` characters after `from`, not past `ceiling`, on a character
/// boundary.
fn char_boundary_forward(bytes: &[u8], ceiling: usize, from: usize, chars: usize) -> usize {
    let ceiling = ceiling.min(from.saturating_add(chars * 4));
    if !is_utf8_apart_from_cut_ends(bytes.get(from.min(ceiling)..ceiling).unwrap_or_default()) {
        return ceiling.min(from.saturating_add(chars));
    }
    let mut position = from.min(ceiling);
    let mut taken = 0;
    while position < ceiling && taken < chars {
        position += 1;
        if bytes.get(position).is_none_or(|b| (b & 0xC0) != 0x80) {
            taken += 1;
        }
    }
    while position < ceiling && bytes.get(position).is_some_and(|b| (b & 0xC0) == 0x80) {
        position += 1;
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_prefix() {
        // sha256("r\0f\0s") computed independently with `printf 'r\0f\0s' | sha256sum`.
        let expected = "7b477b3230b0437a225574857af82c2a";
        let got = fingerprint("r", "f", b"s");
        assert_eq!(got.len(), 32);
        assert!(
            got.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn shorten_keeps_four_characters() {
        assert_eq!(shorten(b"abcdefgh"), "abcd…(8 chars)");
        assert_eq!(shorten(b"abc"), "ab…(3 chars)");
        assert_eq!(shorten("äöüßxyz".as_bytes()), "äöüß…(7 chars)");
    }

    #[test]
    fn char_counting_is_utf8_aware() {
        assert_eq!(count_chars("aé€😀".as_bytes()), 4);
        assert_eq!(count_chars(&[0xff, 0xfe]), 2);
    }
}
