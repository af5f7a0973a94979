//! Base64 as the formats want it: standard alphabet with padding out; standard or URL-safe,
//! padded or not, in (DSSE requires verifiers to accept both alphabets).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard or URL-safe base64, padded or not. `None` when it is neither.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT
        .decode(text)
        .or_else(|_| URL_SAFE_LENIENT.decode(text))
        .ok()
}

/// Serde adapters for byte fields carried as base64 strings.
pub(crate) mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode(&text).ok_or_else(|| {
            serde::de::Error::custom("not base64 (standard or URL-safe alphabet expected)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    #[test]
    fn accepts_both_alphabets_with_and_without_padding() {
        let bytes = [0xfb, 0xff, 0xfe, 0x00];
        let standard = general_purpose::STANDARD.encode(bytes);
        let url = general_purpose::URL_SAFE.encode(bytes);
        assert_ne!(standard, url, "the sample must differ between alphabets");
        for text in [
            standard.clone(),
            standard.trim_end_matches('=').to_string(),
            url.clone(),
            url.trim_end_matches('=').to_string(),
        ] {
            assert_eq!(decode(&text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(encode(&bytes), standard);
    }

    #[test]
    fn rejects_text_that_is_not_base64() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode("+-"), None, "mixed alphabets");
    }
}
