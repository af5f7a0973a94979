//! The one HTTP GET that Prometheus queries and web checks share: a timeout on the whole
//! exchange, a cap on the body, and errors that never show credentials.

use std::time::Duration;

/// Largest response body read; analysis answers are a few kilobytes.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A response read whole.
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// GETs `url`, reading at most [`MAX_BODY`] bytes, all within `timeout`. The error is a plain
/// sentence naming the URL without credentials or query.
pub(crate) async fn get(url: reqwest::Url, timeout: Duration) -> Result<Response, String> {
    let shown = redact(url.as_str());
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|error| format!("could not set up an HTTP client: {}", describe(error)))?;
    let failed = |error: reqwest::Error| {
        if error.is_timeout() {
            format!("GET {shown} timed out after {}", seconds(timeout))
        } else {
            format!("GET {shown} failed: {}", describe(error))
        }
    };
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(failed)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!(
                "GET {shown} answered more than {} MiB",
                MAX_BODY / (1024 * 1024)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, body })
}

/// A URL as it may be shown: scheme, host, port and path; no user, password, query or
/// fragment (tokens travel there).
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            // Both only fail for URLs that cannot have credentials, which is fine as is.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let had_query = parsed.query().is_some();
            parsed.set_query(None);
            parsed.set_fragment(None);
            let mut shown = parsed.to_string();
            if had_query {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "(an invalid URL)".to_string(),
    }
}

/// The error and its causes, without the URL reqwest would repeat (it may hold credentials).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A duration as "10s" or "1.5s".
pub(crate) fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_credentials_and_queries() {
        assert_eq!(
            redact("https://alice:s3cret@prom.example:9090/api/v1/query?query=up&token=abc#x"),
            "https://prom.example:9090/api/v1/query?…"
        );
        assert_eq!(
            redact("http://127.0.0.1:8080/healthz"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(redact("not a url"), "(an invalid URL)");
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25s");
    }
}
