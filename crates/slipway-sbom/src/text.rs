//! Small text helpers shared by the line-oriented parsers.

/// The 1-based line and column (in characters) of byte `offset` in `text`.
///
/// An offset past the end, or inside a multi-byte character, is clamped to the nearest
/// preceding character boundary.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Decodes a lockfile's bytes as UTF-8 (a leading byte-order mark is dropped), or says where
/// the first invalid byte is.
pub(crate) fn utf8<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, crate::Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        // The prefix up to `valid_up_to` is valid UTF-8 by definition.
        let text = std::str::from_utf8(valid).unwrap_or_default();
        crate::Error::syntax(
            path,
            line_col(text, text.len()),
            "the file is not valid UTF-8",
            "lockfiles are UTF-8 text; regenerate the file with its package manager",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "ab\ncé\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 6), (2, 3));
        assert_eq!(line_col(text, 5), (2, 2), "inside é is clamped");
        assert_eq!(line_col(text, 99), (3, 2));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let error = utf8("a.lock", b"ok\nx\xff").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.lock:2:2: the file is not valid UTF-8 (hint: lockfiles are UTF-8 text; regenerate the file with its package manager)"
        );
    }
}
