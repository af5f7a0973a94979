//! Property tests of the reference parser, which reads untrusted command-line and
//! configuration input: it never panics, it round-trips, and whatever it accepts the
//! `oci-spec` reference parser (an independent implementation of the distribution grammar)
//! reads the same way.

use proptest::prelude::*;
use slipway_registry::Reference;

fn host() -> impl Strategy<Value = String> {
    // A name made of digits and dots only is read as an IPv4 address.
    let label = "[a-z]([a-z0-9-]{0,8}[a-z0-9])?";
    prop_oneof![
        Just("localhost".to_owned()),
        (label, label).prop_map(|(a, b)| format!("{a}.{b}")),
        (0_u8..=255, 0_u8..=255).prop_map(|(a, b)| format!("127.{a}.{b}.1")),
    ]
}

fn registry() -> impl Strategy<Value = String> {
    (host(), proptest::option::of(1_u32..=65535)).prop_map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn repository() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,4}(([._]|__|-{1,3})[a-z0-9]{1,4}){0,2}";
    proptest::collection::vec(component, 1..4).prop_map(|parts| parts.join("/"))
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9._-]{0,20}"
}

fn digest() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}".prop_map(|hex| format!("sha256:{hex}"))
}

fn joined(registry: &str, repository: &str, tag: Option<&str>, digest: Option<&str>) -> String {
    let mut text = format!("{registry}/{repository}");
    if let Some(tag) = tag {
        text.push(':');
        text.push_str(tag);
    }
    if let Some(digest) = digest {
        text.push('@');
        text.push_str(digest);
    }
    text
}

fn reference_text() -> impl Strategy<Value = (String, String, Option<String>, Option<String>)> {
    (
        registry(),
        repository(),
        proptest::option::of(tag()),
        proptest::option::of(digest()),
    )
}

proptest! {
    #[test]
    fn never_panics_on_any_input(input in ".{0,80}") {
        let _ = input.parse::<Reference>();
    }

    #[test]
    fn never_panics_on_reference_like_input(input in "[a-zA-Z0-9:/@._\\-\\[\\]]{0,60}") {
        if let Ok(reference) = input.parse::<Reference>() {
            prop_assert_eq!(reference.to_string(), input);
        }
    }

    #[test]
    fn valid_references_round_trip((registry, repository, tag, digest) in reference_text()) {
        let text = joined(&registry, &repository, tag.as_deref(), digest.as_deref());
        let reference = text.parse::<Reference>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(reference.registry(), registry.as_str());
        prop_assert_eq!(reference.repository(), repository.as_str());
        prop_assert_eq!(reference.tag(), tag.as_deref());
        prop_assert_eq!(reference.digest(), digest.as_deref());
        prop_assert_eq!(reference.to_string(), text);
    }

    #[test]
    fn oci_spec_reads_what_we_accept_the_same_way(
        (registry, repository, tag, digest) in reference_text(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0_u8..3, proptest::sample::select(vec![':', '/', '@', '.', '_', '-', 'a', 'Z', '0', '['])), 1..3),
    ) {
        // A valid reference with one or two characters inserted, replaced or deleted: close to
        // the grammar's edges, where the two parsers could disagree.
        let mut chars: Vec<char> = joined(&registry, &repository, tag.as_deref(), digest.as_deref()).chars().collect();
        for (position, operation, character) in edits {
            let at = position.index(chars.len() + 1);
            match operation {
                0 => chars.insert(at, character),
                1 if at < chars.len() => chars[at] = character,
                _ if at < chars.len() => { chars.remove(at); }
                _ => {}
            }
        }
        let input: String = chars.into_iter().collect();
        if let Ok(ours) = input.parse::<Reference>() {
            let theirs: oci_spec::distribution::Reference = input
                .parse()
                .map_err(|e| TestCaseError::fail(format!("oci-spec refuses {input}: {e}")))?;
            prop_assert_eq!(ours.registry(), theirs.registry());
            prop_assert_eq!(ours.repository(), theirs.repository());
            prop_assert_eq!(ours.digest(), theirs.digest());
            if ours.tag().is_some() || ours.digest().is_some() {
                prop_assert_eq!(ours.tag(), theirs.tag());
            }
        }
    }

    #[test]
    fn oci_spec_agrees_on_generated_references((registry, repository, tag, digest) in reference_text()) {
        let text = joined(&registry, &repository, tag.as_deref(), digest.as_deref());
        let theirs: oci_spec::distribution::Reference = text
            .parse()
            .map_err(|e| TestCaseError::fail(format!("oci-spec refuses {text}: {e}")))?;
        prop_assert_eq!(theirs.registry(), registry.as_str());
        prop_assert_eq!(theirs.repository(), repository.as_str());
        prop_assert_eq!(theirs.digest(), digest.as_deref());
    }
}
