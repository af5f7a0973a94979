//! Values from an HTTP GET: the status (1 for 2xx, 0 otherwise) or a field of the JSON body.

use crate::http;
use crate::measure::{Observation, Observed, Settings, Target};
use crate::prometheus::fill_runtime;
use serde_json::{Map, Value as Json, json};

/// A dotted path into a JSON document: `data.ok`, `$.data.ok`, `checks.0.healthy` (a number
/// indexes an array); `$` alone is the whole document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    segments: Vec<String>,
}

impl JsonPath {
    /// Parses a path; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let text = text.trim();
        let rest = match text.strip_prefix('$') {
            Some("") => return Ok(JsonPath { segments: vec![] }),
            Some(rest) => rest
                .strip_prefix('.')
                .ok_or_else(|| format!("`{text}`: after `$` comes `.` and a field name"))?,
            None => text,
        };
        if rest.is_empty() {
            return Err("the path is empty".into());
        }
        let segments: Vec<String> = rest.split('.').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` has an empty field name (two dots, or a dot at an end)"
            ));
        }
        if let Some(bracket) = segments.iter().find(|s| s.contains(['[', ']'])) {
            return Err(format!(
                "`{bracket}`: brackets are not supported; index arrays with a number, e.g. `items.0.ok`"
            ));
        }
        Ok(JsonPath { segments })
    }

    /// The value at the path, if the document has one there.
    pub fn lookup<'a>(&self, document: &'a Json) -> Option<&'a Json> {
        self.segments
            .iter()
            .try_fold(document, |node, segment| match node {
                Json::Object(fields) => fields.get(segment),
                Json::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
    }
}

/// GETs the URL (placeholders filled, `{{ canary }}` being the canary's address) within
/// `settings.http_timeout`.
pub(crate) async fn observe(
    url: &str,
    json_path: Option<&str>,
    target: &Target,
    settings: &Settings,
) -> Observation {
    let mut details = Map::new();
    let read = check(url, json_path, target, settings, &mut details).await;
    Observation::single(read, details)
}

async fn check(
    url: &str,
    json_path: Option<&str>,
    target: &Target,
    settings: &Settings,
    details: &mut Map<String, Json>,
) -> Result<Observed, String> {
    let filled = fill_runtime(url, target, true)?;
    let shown = http::redact(&filled);
    details.insert("url".into(), json!(shown));
    let parsed =
        reqwest::Url::parse(&filled).map_err(|error| format!("`{shown}` is not a URL: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{shown}` is not an http or https URL"));
    }
    let response = http::get(parsed, settings.http_timeout).await?;
    details.insert("http_status".into(), json!(response.status));
    let success = (200..300).contains(&response.status);
    let Some(path_text) = json_path else {
        return Ok(Observed::Value {
            value: if success { 1.0 } else { 0.0 },
            described: format!("GET {shown} answered HTTP {}", response.status),
        });
    };
    details.insert("json_path".into(), json!(path_text));
    if !success {
        return Err(format!(
            "GET {shown} answered HTTP {}, so its body has no `{path_text}` to read",
            response.status
        ));
    }
    let path = JsonPath::parse(path_text)?;
    let document: Json = serde_json::from_slice(&response.body)
        .map_err(|error| format!("GET {shown} answered something other than JSON: {error}"))?;
    let field = path
        .lookup(&document)
        .ok_or_else(|| format!("the response of GET {shown} has no `{path_text}`"))?;
    let value = match field {
        Json::Number(number) => number
            .as_f64()
            .ok_or_else(|| format!("`{path_text}` is not a number this analysis can read"))?,
        Json::Bool(flag) => f64::from(u8::from(*flag)),
        Json::Null => {
            return Ok(Observed::Inconclusive(format!(
                "`{path_text}` in the response of GET {shown} is null"
            )));
        }
        Json::String(_) | Json::Array(_) | Json::Object(_) => {
            return Err(format!(
                "`{path_text}` in the response of GET {shown} is {}, not a number or a boolean",
                kind(field)
            ));
        }
    };
    details.insert("field".into(), field.clone());
    Ok(Observed::Value {
        value,
        described: format!(
            "`{path_text}` = {} from GET {shown}",
            slipway_pipeline::expr::format_number(value)
        ),
    })
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_fields_and_indexes() {
        let document = json!({ "data": { "ok": true, "checks": [{ "latency": 12.5 }] } });
        let read = |path: &str| JsonPath::parse(path).unwrap().lookup(&document).cloned();
        assert_eq!(read("data.ok"), Some(json!(true)));
        assert_eq!(read("$.data.ok"), Some(json!(true)));
        assert_eq!(read("data.checks.0.latency"), Some(json!(12.5)));
        assert_eq!(read("data.checks.1.latency"), None);
        assert_eq!(read("data.missing"), None);
        assert_eq!(read("$"), Some(document.clone()));
    }

    #[test]
    fn malformed_paths_say_what_is_wrong() {
        assert!(JsonPath::parse("").unwrap_err().contains("empty"));
        assert!(
            JsonPath::parse("data..ok")
                .unwrap_err()
                .contains("empty field")
        );
        assert!(JsonPath::parse("$data").unwrap_err().contains("after `$`"));
        assert!(
            JsonPath::parse("items[0]")
                .unwrap_err()
                .contains("brackets")
        );
    }
}
