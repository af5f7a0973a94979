//! Synthesised secrets for tests. Samples are written as templates (`ghp_{gh}`,
//! `AKIA{AN:16}`) and filled with deterministic pseudo-random characters, so no secret, real or
//! fake, appears in this repository's source for its own scan to trip over.

#![allow(dead_code)]

/// SplitMix64: small, deterministic, good enough to fill templates.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(seed: &str) -> Rng {
        // FNV-1a of the seed text.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in seed.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(hash)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn pick(&mut self, alphabet: &[u8], count: usize) -> String {
        (0..count)
            .map(|_| {
                let index = usize::try_from(self.next() % alphabet.len() as u64).unwrap_or(0);
                char::from(alphabet[index])
            })
            .collect()
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn alphabet(kind: &str) -> Option<&'static [u8]> {
    Some(match kind {
        "an" => ALNUM,
        "AN" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "lo" => b"abcdefghijklmnopqrstuvwxyz0123456789",
        "hex" => b"0123456789abcdef",
        "HEX" => b"0123456789ABCDEF",
        "b64" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "url" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        "d" => b"0123456789",
        "al" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "up" => UPPER,
        "b32" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "bech" => b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
        "ah" => b"abcdefgh0123456789",
        "pw" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&*+-=?^_~",
        _ => return None,
    })
}

/// `value` in base62, left-padded with `0` to six characters (GitHub's and npm's checksum).
pub fn base62_check(mut value: u32) -> String {
    let mut digits = Vec::new();
    while value > 0 {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    while digits.len() < 6 {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Fills a template: `{kind:N}` is N random characters of `kind`; `{gh}` is 30 random
/// alphanumerics and their CRC32 checksum in base62 (GitHub/npm token body); `{gh-bad}` the
/// same with a wrong checksum; `{pem}` is 20 lines of random base64.
pub fn fill(template: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let spec = &rest[open + 1..open + close];
        if spec.contains('{') {
            // A literal brace before a template (`{"k": "{b64:8}"}`).
            out.push('{');
            rest = &rest[open + 1..];
            continue;
        }
        match spec {
            "gh" | "gh-bad" => {
                let body = rng.pick(ALNUM, 30);
                let mut check = base62_check(crc32fast::hash(body.as_bytes()));
                if spec == "gh-bad" {
                    let last = check.pop().unwrap_or('0');
                    check.push(if last == 'A' { 'B' } else { 'A' });
                }
                out.push_str(&body);
                out.push_str(&check);
            }
            "pem" => {
                for _ in 0..20 {
                    out.push_str(&rng.pick(alphabet("b64").unwrap_or(ALNUM), 64));
                    out.push('\n');
                }
            }
            _ => match spec.split_once(':') {
                Some((kind, count)) if alphabet(kind).is_some() => {
                    let count: usize = count.parse().unwrap_or(0);
                    out.push_str(&rng.pick(alphabet(kind).unwrap_or(ALNUM), count));
                }
                // Not a template: a literal brace (`${TOKEN}`, `{{ .Values.x }}`).
                _ => out.push_str(&rest[open..=open + close]),
            },
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a tool-dependent test may run; prints the skip notice (or panics under CI) when
/// `program` is not on PATH.
pub fn tool_available(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{program} is required under CI=true (run scripts/deps/install.sh)");
        }
        eprintln!("skipped: {program} not installed (run scripts/deps/install.sh)");
    }
    found
}
