//! Any bytes, read as two versions under every ordering scheme and as a CVSS vector: parsing,
//! comparing and scoring must not panic, and comparisons must be antisymmetric and agree with
//! equality.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_osv::cvss::score;
use slipway_osv::version::{Scheme, Version};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line against the rest, so the fuzzer controls both sides of a comparison.
    let (left, right) = text.split_once('\n').unwrap_or((&text, "1.0"));
    for scheme in Scheme::ALL {
        let a = Version::parse(scheme, left);
        let b = Version::parse(scheme, right);
        if let (Ok(a), Ok(b)) = (a, b) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{scheme}: {left:?} vs {right:?}");
            assert_eq!(a == b, a.cmp(&b).is_eq(), "{scheme}: {left:?} vs {right:?}");
            assert_eq!(a.cmp(&a), std::cmp::Ordering::Equal);
        }
    }
    if let Ok(scored) = score(&text) {
        assert!((0.0..=10.0).contains(&scored.base_score));
    }
});
