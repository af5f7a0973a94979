//! `sha256:<hex>` content digests: checking their form and computing them.

use sha2::{Digest as _, Sha256};

/// The only algorithm pushed and verified; the OCI specifications require registries to
/// support it and Slipway's artifacts use nothing else.
const SHA256_PREFIX: &str = "sha256:";

/// Checks that `digest` is `sha256:` followed by 64 lowercase hex digits.
pub(crate) fn check_sha256(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "the digest `{digest}` has no algorithm; write sha256:<64 hex digits>"
        ));
    };
    if algorithm != "sha256" {
        return Err(format!(
            "only sha256 digests are supported, not `{algorithm}`"
        ));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "the digest `{digest}` is not sha256: followed by 64 lowercase hex digits"
        ));
    }
    Ok(())
}

/// The 64 hex digits of a digest already checked by [`check_sha256`].
pub(crate) fn hex_part(digest: &str) -> &str {
    digest.strip_prefix(SHA256_PREFIX).unwrap_or(digest)
}

/// The `sha256:<hex>` digest of `bytes`.
pub(crate) fn sha256_of(bytes: &[u8]) -> String {
    format!("{SHA256_PREFIX}{}", hex::encode(Sha256::digest(bytes)))
}

/// A digest computed over content arriving in pieces.
#[derive(Default)]
pub(crate) struct Hasher {
    state: Sha256,
    len: u64,
}

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.len = self.len.saturating_add(bytes.len() as u64);
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn finish(self) -> String {
        format!("{SHA256_PREFIX}{}", hex::encode(self.state.finalize()))
    }
}

/// The referrers tag schema's tag for a subject: `sha256-<hex>`.
pub(crate) fn referrers_tag(subject_digest: &str) -> String {
    format!("sha256-{}", hex_part(subject_digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_the_known_digest_of_the_empty_json_object() {
        assert_eq!(
            sha256_of(b"{}"),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let mut hasher = Hasher::default();
        hasher.update(b"{");
        hasher.update(b"}");
        assert_eq!(hasher.len(), 2);
        assert_eq!(hasher.finish(), sha256_of(b"{}"));
    }

    #[test]
    fn accepts_only_lowercase_sha256() {
        let good = sha256_of(b"x");
        assert_eq!(check_sha256(&good), Ok(()));
        assert!(check_sha256(&good.to_uppercase()).is_err());
        assert!(check_sha256("sha256:abc").is_err());
        assert!(check_sha256(&good.replace("sha256", "sha512")).is_err());
        assert!(check_sha256("nocolon").is_err());
        assert_eq!(referrers_tag(&good), format!("sha256-{}", hex_part(&good)));
    }
}
