//! Configuration from environment variables.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Upper bound for `HELLO_LATENCY_MS`: anything longer is past every sensible
/// client timeout and only ties up connection threads.
pub const MAX_LATENCY_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bind: IpAddr,
    pub port: u16,
    pub version: String,
    /// Fraction of `/api/*` requests that answer 500, in `0.0..=1.0`.
    pub error_rate: f64,
    pub latency: Latency,
    /// `None` means "seed from the clock" at start-up.
    pub seed: Option<u64>,
    /// `false` keeps `/readyz` at 503: a release that never becomes ready.
    pub ready: bool,
    /// When set, `/api/*` requires `Authorization: Bearer <key>`.
    pub api_key: Option<ApiKey>,
}

/// The key `/api/*` requests must present. A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            version: env!("CARGO_PKG_VERSION").to_string(),
            error_rate: 0.0,
            latency: Latency {
                min_ms: 0,
                max_ms: 0,
            },
            seed: None,
            ready: true,
            api_key: None,
        }
    }
}

/// Extra latency for `/api/*` responses, drawn uniformly from `min_ms..=max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min_ms == self.max_ms {
            write!(f, "{}", self.min_ms)
        } else {
            write!(f, "{}-{}", self.min_ms, self.max_ms)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.var, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

const PORT_FORM: &str = "a TCP port number from 0 to 65535 (0 picks a free port)";
const BIND_FORM: &str = "an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::";
const ERROR_RATE_FORM: &str = "a number from 0.0 to 1.0, such as 0.1";
const LATENCY_FORM: &str =
    "milliseconds as N or MIN-MAX (such as 20 or 20-50), each 0 to 60000, MIN <= MAX";
const SEED_FORM: &str = "an unsigned 64-bit integer";
const READY_FORM: &str = "true or false";

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        // Non-UTF-8 values are converted lossily: numeric and address variables
        // then fail to parse with the usual message, and a version string
        // merely shows replacement characters.
        Config::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Builds the configuration from any variable source, so tests need not
    /// touch the process environment (which is shared between test threads).
    /// Empty values count as unset, the way shells and compose files often
    /// "clear" a variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let defaults = Config::default();
        Ok(Config {
            bind: parse_var(get("BIND"), "BIND", BIND_FORM, |v| v.parse().ok())?
                .unwrap_or(defaults.bind),
            port: parse_var(get("PORT"), "PORT", PORT_FORM, |v| v.parse().ok())?
                .unwrap_or(defaults.port),
            version: get("HELLO_VERSION").unwrap_or(defaults.version),
            error_rate: parse_var(
                get("HELLO_ERROR_RATE"),
                "HELLO_ERROR_RATE",
                ERROR_RATE_FORM,
                parse_rate,
            )?
            .unwrap_or(defaults.error_rate),
            latency: parse_var(
                get("HELLO_LATENCY_MS"),
                "HELLO_LATENCY_MS",
                LATENCY_FORM,
                parse_latency,
            )?
            .unwrap_or(defaults.latency),
            seed: parse_var(get("HELLO_SEED"), "HELLO_SEED", SEED_FORM, |v| {
                v.parse().ok()
            })?,
            ready: parse_var(get("HELLO_READY"), "HELLO_READY", READY_FORM, |v| {
                v.parse().ok()
            })?
            .unwrap_or(defaults.ready),
            api_key: get("HELLO_API_KEY").map(ApiKey),
        })
    }
}

fn parse_var<T>(
    value: Option<String>,
    var: &'static str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ConfigError> {
    match value {
        None => Ok(None),
        Some(value) => match parse(&value) {
            Some(parsed) => Ok(Some(parsed)),
            None => Err(ConfigError {
                var,
                value,
                expected,
            }),
        },
    }
}

fn parse_rate(value: &str) -> Option<f64> {
    // f64's parser also takes "NaN" and "inf"; the range check rejects both.
    let rate: f64 = value.parse().ok()?;
    (0.0..=1.0).contains(&rate).then_some(rate)
}

fn parse_latency(value: &str) -> Option<Latency> {
    let ms = |part: &str| -> Option<u64> {
        // u64's parser accepts a leading '+', which "20-+50" should not.
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|&ms| ms <= MAX_LATENCY_MS)
    };
    let (min_ms, max_ms) = match value.split_once('-') {
        Some((min, max)) => (ms(min)?, ms(max)?),
        None => (ms(value)?, ms(value)?),
    };
    (min_ms <= max_ms).then_some(Latency { min_ms, max_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    fn rejected_var(vars: &[(&str, &str)]) -> &'static str {
        config(vars).expect_err("should be rejected").var
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.port, 8080);
        assert_eq!(c.bind.to_string(), "127.0.0.1");
        assert_eq!(c.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(c.error_rate, 0.0);
        assert_eq!(
            c.latency,
            Latency {
                min_ms: 0,
                max_ms: 0
            }
        );
        assert_eq!(c.seed, None);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = config(&[("PORT", ""), ("HELLO_VERSION", ""), ("BIND", "")]).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn port() {
        assert_eq!(config(&[("PORT", "9000")]).unwrap().port, 9000);
        assert_eq!(config(&[("PORT", "0")]).unwrap().port, 0);
        assert_eq!(config(&[("PORT", "65535")]).unwrap().port, 65535);
        for bad in ["65536", "-1", "80a", " 80", "http"] {
            assert_eq!(rejected_var(&[("PORT", bad)]), "PORT", "{bad:?}");
        }
    }

    #[test]
    fn bind() {
        assert_eq!(
            config(&[("BIND", "0.0.0.0")]).unwrap().bind.to_string(),
            "0.0.0.0"
        );
        assert_eq!(config(&[("BIND", "::1")]).unwrap().bind.to_string(), "::1");
        for bad in ["localhost", "127.0.0.1:80", "300.1.1.1", "[::1]"] {
            assert_eq!(rejected_var(&[("BIND", bad)]), "BIND", "{bad:?}");
        }
    }

    #[test]
    fn version_is_taken_verbatim() {
        let c = config(&[("HELLO_VERSION", "v2.0.0-rc.1 \"canary\"")]).unwrap();
        assert_eq!(c.version, "v2.0.0-rc.1 \"canary\"");
    }

    #[test]
    fn error_rate() {
        for (raw, want) in [
            ("0", 0.0),
            ("0.1", 0.1),
            ("1", 1.0),
            ("1.0", 1.0),
            ("1e-2", 0.01),
        ] {
            assert_eq!(
                config(&[("HELLO_ERROR_RATE", raw)]).unwrap().error_rate,
                want
            );
        }
        for bad in ["-0.1", "1.01", "10%", "NaN", "inf", "abc"] {
            assert_eq!(
                rejected_var(&[("HELLO_ERROR_RATE", bad)]),
                "HELLO_ERROR_RATE",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn latency() {
        let lat = |raw| config(&[("HELLO_LATENCY_MS", raw)]).unwrap().latency;
        assert_eq!(
            lat("0"),
            Latency {
                min_ms: 0,
                max_ms: 0
            }
        );
        assert_eq!(
            lat("25"),
            Latency {
                min_ms: 25,
                max_ms: 25
            }
        );
        assert_eq!(
            lat("20-50"),
            Latency {
                min_ms: 20,
                max_ms: 50
            }
        );
        assert_eq!(
            lat("30-30"),
            Latency {
                min_ms: 30,
                max_ms: 30
            }
        );
        assert_eq!(
            lat("60000"),
            Latency {
                min_ms: 60_000,
                max_ms: 60_000
            }
        );
        for bad in [
            "50-20", "-5", "5-", "-", "1-2-3", "+5", "20-+50", "60001", "1.5", "fast", " 5",
        ] {
            assert_eq!(
                rejected_var(&[("HELLO_LATENCY_MS", bad)]),
                "HELLO_LATENCY_MS",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn latency_display_round_trips() {
        for raw in ["0", "25", "20-50"] {
            assert_eq!(parse_latency(raw).unwrap().to_string(), raw);
        }
    }

    #[test]
    fn seed() {
        assert_eq!(config(&[("HELLO_SEED", "42")]).unwrap().seed, Some(42));
        assert_eq!(
            config(&[("HELLO_SEED", "18446744073709551615")])
                .unwrap()
                .seed,
            Some(u64::MAX)
        );
        for bad in ["-1", "0x10", "18446744073709551616", "seed"] {
            assert_eq!(
                rejected_var(&[("HELLO_SEED", bad)]),
                "HELLO_SEED",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn api_key_is_read_and_never_shown() {
        assert_eq!(config(&[]).unwrap().api_key, None);
        let c = config(&[("HELLO_API_KEY", "k3y-value")]).unwrap();
        assert_eq!(c.api_key, Some(ApiKey("k3y-value".into())));
        assert!(!format!("{c:?}").contains("k3y-value"));
    }

    #[test]
    fn error_message_names_variable_value_and_form() {
        let err = config(&[("HELLO_ERROR_RATE", "lots")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("HELLO_ERROR_RATE"), "{msg}");
        assert!(msg.contains("\"lots\""), "{msg}");
        assert!(msg.contains("0.0 to 1.0"), "{msg}");
    }
}
