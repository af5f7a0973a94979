//! One registry repository over HTTP: authentication, timeouts, bounded retries, and the
//! distribution API requests that push and pull are made of.
//!
//! The token handshake (`WWW-Authenticate: Bearer` challenge, scope, token endpoint) is
//! `oci-client`'s. The requests themselves go through reqwest directly, because push and pull
//! need what `oci-client` does not hand back: response headers (`OCI-Subject`, `Retry-After`,
//! `Docker-Content-Digest`), the exact manifest bytes, a total timeout per request, and which
//! referrers path answered.

use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use oci_client::RegistryOperation;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::digest::{self, Hasher};
use crate::error::Error;
use crate::options::{Credentials, RegistryOptions, RetryPolicy};
use crate::reference::Reference;
use crate::report::Attempt;

/// The OCI image manifest media type.
pub(crate) const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type.
pub(crate) const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Largest manifest or index accepted, the limit the distribution specification recommends
/// registries enforce.
pub(crate) const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// How much of an error answer is read for its explanation.
const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;
/// Pages of a referrers listing followed through `Link` headers.
const MAX_REFERRERS_PAGES: usize = 100;

/// Whether a session only reads or also writes; it decides the token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Pull,
    Push,
}

/// Why one try of an operation failed, and so whether to try again.
pub(crate) enum Failure {
    /// Connection refused or reset, HTTP 5xx or 429: worth another try after a wait.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// HTTP 401: authenticate, then try again once.
    Unauthorized,
    /// Anything else: give up with this error.
    Final(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Final(error)
    }
}

/// A manifest as the registry sent it.
pub(crate) struct FetchedManifest {
    /// The exact bytes, which the digest is computed over.
    pub(crate) bytes: Bytes,
    /// `sha256:<hex>` of `bytes`.
    pub(crate) digest: String,
    /// The `Content-Type` the registry declared.
    pub(crate) media_type: Option<String>,
}

/// A connection to one repository of one registry.
pub(crate) struct Session {
    http: reqwest::Client,
    /// `<scheme>://<registry>/v2/<repository>/`.
    base: Url,
    registry: String,
    access: Access,
    credentials: Option<Credentials>,
    token_client: oci_client::Client,
    token_reference: oci_client::Reference,
    authorization: Mutex<Option<HeaderValue>>,
    policy: RetryPolicy,
    request_timeout: Duration,
    chunk_size: usize,
    attempts: Mutex<Vec<Attempt>>,
}

impl Session {
    pub(crate) fn new(
        reference: &Reference,
        options: &RegistryOptions,
        access: Access,
    ) -> Result<Self, Error> {
        let plain = options.plain_http.applies_to(reference.host());
        let scheme = if plain { "http" } else { "https" };
        let base_text = format!(
            "{scheme}://{}/v2/{}/",
            reference.registry(),
            reference.repository()
        );
        let base = Url::parse(&base_text).map_err(|error| Error::Transport {
            what: "build the registry URL".to_owned(),
            registry: reference.registry().to_owned(),
            reason: format!("{base_text} is not a URL: {error}"),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| Error::Transport {
                what: "set up the HTTP client".to_owned(),
                registry: reference.registry().to_owned(),
                reason: describe(&error),
            })?;
        let token_client = oci_client::Client::try_from(ClientConfig {
            protocol: if plain {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(options.connect_timeout),
            read_timeout: Some(options.request_timeout),
            ..ClientConfig::default()
        })
        .map_err(|error| Error::Transport {
            what: "set up the token client".to_owned(),
            registry: reference.registry().to_owned(),
            reason: error.to_string(),
        })?;
        let token_reference = oci_client::Reference::with_tag(
            reference.registry().to_owned(),
            reference.repository().to_owned(),
            reference.tag().unwrap_or("latest").to_owned(),
        );
        Ok(Self {
            http,
            base,
            registry: reference.registry().to_owned(),
            access,
            credentials: options.credentials.clone(),
            token_client,
            token_reference,
            authorization: Mutex::new(None),
            policy: options.retries,
            request_timeout: options.request_timeout,
            chunk_size: options.chunk_size.max(1),
            attempts: Mutex::new(Vec::new()),
        })
    }

    /// `host[:port]`.
    pub(crate) fn registry(&self) -> &str {
        &self.registry
    }

    /// The retries recorded so far.
    pub(crate) fn take_attempts(&self) -> Vec<Attempt> {
        std::mem::take(&mut *self.attempts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `operation` until it succeeds, fails for good, or the retry policy runs out.
    /// A 401 leads to one authentication and one more try, not counted as a retry.
    pub(crate) async fn retrying<T, F, Fut>(&self, what: &str, mut operation: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut failures = 0_u32;
        let mut authenticated = false;
        loop {
            match operation().await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Unauthorized) if authenticated => return Err(self.refused()),
                Err(Failure::Unauthorized) => {
                    self.authenticate(what).await?;
                    authenticated = true;
                }
                Err(Failure::Retryable {
                    reason,
                    retry_after,
                }) => {
                    failures += 1;
                    if failures > self.policy.max_retries {
                        return Err(Error::Unavailable {
                            what: what.to_owned(),
                            registry: self.registry.clone(),
                            attempts: failures,
                            last_error: reason,
                        });
                    }
                    let delay = retry_after.map_or_else(
                        || self.policy.backoff(failures),
                        |asked| asked.min(self.policy.max_backoff),
                    );
                    self.attempts
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Attempt {
                            what: what.to_owned(),
                            attempt: failures,
                            error: reason,
                            delay,
                        });
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The error for a 401 that authentication did not cure.
    fn refused(&self) -> Error {
        match &self.credentials {
            Some(credentials) => Error::Unauthorized {
                registry: self.registry.clone(),
                username: credentials.username().to_owned(),
            },
            None => Error::CredentialsRequired {
                registry: self.registry.clone(),
            },
        }
    }

    /// Answers the registry's challenge: a bearer token from its token service, or the basic
    /// credentials themselves when it asks for basic authentication.
    async fn authenticate(&self, what: &str) -> Result<(), Error> {
        let auth = match &self.credentials {
            Some(credentials) => RegistryAuth::Basic(
                credentials.username().to_owned(),
                credentials.password().to_owned(),
            ),
            None => RegistryAuth::Anonymous,
        };
        let operation = match self.access {
            Access::Pull => RegistryOperation::Pull,
            Access::Push => RegistryOperation::Push,
        };
        // The handshake is two requests: the challenge, then the token.
        let limit = self.request_timeout.saturating_mul(2);
        let handshake = self
            .token_client
            .auth(&self.token_reference, &auth, operation);
        let header = match tokio::time::timeout(limit, handshake).await {
            Err(_) => {
                return Err(Error::Timeout {
                    what: format!("authenticate to {what}"),
                    registry: self.registry.clone(),
                    timeout: limit,
                });
            }
            Ok(Ok(Some(token))) => {
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Protocol {
                    what: format!("authenticate to {what}"),
                    registry: self.registry.clone(),
                    reason: "its token service returned a token that is not a valid header value"
                        .to_owned(),
                })?
            }
            Ok(Ok(None)) => match &self.credentials {
                Some(credentials) => {
                    let pair = zeroize::Zeroizing::new(format!(
                        "{}:{}",
                        credentials.username(),
                        credentials.password()
                    ));
                    let encoded = zeroize::Zeroizing::new(
                        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()),
                    );
                    HeaderValue::from_str(&format!("Basic {}", encoded.as_str())).map_err(|_| {
                        Error::Transport {
                            what: format!("authenticate to {what}"),
                            registry: self.registry.clone(),
                            reason: "the credentials cannot be sent in an HTTP header".to_owned(),
                        }
                    })?
                }
                None => return Err(self.refused()),
            },
            Ok(Err(OciDistributionError::AuthenticationFailure(_))) => return Err(self.refused()),
            Ok(Err(error)) => {
                return Err(Error::Transport {
                    what: format!("authenticate to {what}"),
                    registry: self.registry.clone(),
                    reason: self.redact(&describe_oci(&error)),
                });
            }
        };
        let mut header = header;
        header.set_sensitive(true);
        *self
            .authorization
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(header);
        Ok(())
    }

    /// A request, with the credentials attached when it goes to the registry itself (not to
    /// a storage host an upload location may point at).
    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let same_origin = url.origin() == self.base.origin();
        let builder = self.http.request(method, url);
        let authorization = self
            .authorization
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match authorization {
            Some(value) if same_origin => builder.header(header::AUTHORIZATION, value),
            _ => builder,
        }
    }

    /// `<base><path>`, where `path` was built from checked parts.
    fn url(&self, path: &str) -> Result<Url, Failure> {
        let text = format!("{}{path}", self.base);
        Url::parse(&text).map_err(|error| {
            Failure::Final(Error::Transport {
                what: format!("build the URL {text}"),
                registry: self.registry.clone(),
                reason: error.to_string(),
            })
        })
    }

    /// Sends a request and sorts the answer: 401, 429 and 5xx become failures; every other
    /// status is the caller's to judge.
    async fn send(&self, what: &str, request: RequestBuilder) -> Result<Response, Failure> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_failure(what, &error))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(Failure::Unauthorized);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = retry_after(response.headers());
            let detail = self.error_detail(response).await;
            return Err(Failure::Retryable {
                reason: format!("HTTP {}{detail}", status.as_u16()),
                retry_after,
            });
        }
        Ok(response)
    }

    /// A reqwest error as a failure: connection and mid-answer breaks may pass; a timeout
    /// already cost a full request timeout, so it is not repeated.
    fn transport_failure(&self, what: &str, error: &reqwest::Error) -> Failure {
        if error.is_timeout() {
            return Failure::Final(Error::Timeout {
                what: what.to_owned(),
                registry: self.registry.clone(),
                timeout: self.request_timeout,
            });
        }
        let reason = self.redact(&describe(error));
        if error.is_connect() || error.is_request() || error.is_body() {
            Failure::Retryable {
                reason,
                retry_after: None,
            }
        } else {
            Failure::Final(Error::Transport {
                what: what.to_owned(),
                registry: self.registry.clone(),
                reason,
            })
        }
    }

    /// The registry's explanation of an error answer, from its error envelope
    /// (`{"errors":[{"code":…,"message":…}]}`) or its text, starting with ": ".
    async fn error_detail(&self, response: Response) -> String {
        let Ok(body) = read_limited(response, MAX_ERROR_BODY_BYTES).await else {
            return String::new();
        };
        let from_envelope = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| {
                let errors = value.get("errors")?.as_array()?;
                let parts: Vec<String> = errors
                    .iter()
                    .map(|error| {
                        let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("");
                        let message = error.get("message").and_then(|m| m.as_str()).unwrap_or("");
                        format!("{code} {message}").trim().to_owned()
                    })
                    .filter(|part| !part.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            });
        let text = from_envelope.unwrap_or_else(|| {
            String::from_utf8_lossy(&body)
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect::<String>()
                .trim()
                .to_owned()
        });
        if text.is_empty() {
            String::new()
        } else {
            format!(": {}", self.redact(&text))
        }
    }

    /// An error for an answer the operation did not expect.
    async fn status_error(&self, what: &str, response: Response) -> Failure {
        let status = response.status();
        let detail = self.error_detail(response).await;
        Failure::Final(match status {
            StatusCode::FORBIDDEN => Error::Denied {
                what: what.to_owned(),
                registry: self.registry.clone(),
                access: match self.access {
                    Access::Pull => "pull",
                    Access::Push => "push",
                },
                detail,
            },
            StatusCode::NOT_FOUND => Error::NotFound {
                what: what.to_owned(),
                registry: self.registry.clone(),
                detail,
            },
            _ => Error::Status {
                what: what.to_owned(),
                registry: self.registry.clone(),
                status: status.as_u16(),
                detail,
            },
        })
    }

    fn protocol(&self, what: &str, reason: impl Into<String>) -> Failure {
        Failure::Final(Error::Protocol {
            what: what.to_owned(),
            registry: self.registry.clone(),
            reason: reason.into(),
        })
    }

    /// Text from the registry or from errors, with the password cut out in case a server
    /// echoed it back.
    fn redact(&self, text: &str) -> String {
        match &self.credentials {
            Some(credentials) if !credentials.password().is_empty() => {
                text.replace(credentials.password(), "<redacted>")
            }
            _ => text.to_owned(),
        }
    }

    /// `HEAD /v2/<name>/blobs/<digest>`: whether the registry has the blob.
    pub(crate) async fn blob_exists(&self, digest: &str) -> Result<bool, Failure> {
        let what = format!("check blob {digest}");
        let url = self.url(&format!("blobs/{digest}"))?;
        let response = self.send(&what, self.request(Method::HEAD, url)).await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&what, response).await),
        }
    }

    /// Uploads one blob from a file: in one `PUT` when it fits in a chunk, else as `PATCH`
    /// chunks closed by a `PUT`. A retry starts a new upload session.
    pub(crate) async fn upload_blob(
        &self,
        digest: &str,
        size: u64,
        path: &Path,
    ) -> Result<(), Failure> {
        let what = format!("upload blob {digest}");
        let start = self
            .send(
                &what,
                self.request(Method::POST, self.url("blobs/uploads/")?)
                    .header(header::CONTENT_LENGTH, "0"),
            )
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(&what, start).await);
        }
        let mut location = self.location(&what, &start)?;

        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::Io {
                action: "cannot read",
                path: path.to_owned(),
                source,
            })?;
        let whole_in_one = size <= self.chunk_size as u64;
        let mut sent = 0_u64;
        let mut last_body = Bytes::new();
        loop {
            let chunk = read_chunk(&mut file, self.chunk_size, path).await?;
            if chunk.is_empty() {
                break;
            }
            if whole_in_one {
                last_body = chunk;
                sent = last_body.len() as u64;
                // A blob that fits in one chunk is read whole; see if the file grew.
                if !read_chunk(&mut file, 1, path).await?.is_empty() {
                    sent += 1;
                }
                break;
            }
            let end = sent + chunk.len() as u64 - 1;
            let response = self
                .send(
                    &what,
                    self.request(Method::PATCH, location.clone())
                        .header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_RANGE, format!("{sent}-{end}"))
                        .header(header::CONTENT_LENGTH, chunk.len().to_string())
                        .body(chunk),
                )
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(self.status_error(&what, response).await);
            }
            location = self.location(&what, &response)?;
            sent = end + 1;
        }
        if sent != size {
            return Err(Failure::Final(Error::SizeMismatch {
                what: format!("{} (changed since it was checked)", path.display()),
                expected: size,
                actual: sent,
            }));
        }
        location.query_pairs_mut().append_pair("digest", digest);
        let response = self
            .send(
                &what,
                self.request(Method::PUT, location)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, last_body.len().to_string())
                    .body(last_body),
            )
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.status_error(&what, response).await);
        }
        Ok(())
    }

    /// An upload session's next URL, from the `Location` header (absolute or relative).
    fn location(&self, what: &str, response: &Response) -> Result<Url, Failure> {
        let value = response
            .headers()
            .get(header::LOCATION)
            .ok_or_else(|| self.protocol(what, "its answer has no Location header"))?;
        let text = value
            .to_str()
            .map_err(|_| self.protocol(what, "its Location header is not text"))?;
        self.base.join(text).map_err(|error| {
            self.protocol(what, format!("its Location `{text}` is not a URL: {error}"))
        })
    }

    /// `GET /v2/<name>/blobs/<digest>` into `destination`, verifying size and digest as the
    /// bytes arrive; a blob larger than `size` is cut off at the first byte too many.
    pub(crate) async fn download_blob(
        &self,
        digest: &str,
        size: u64,
        destination: &Path,
    ) -> Result<(), Failure> {
        let what = format!("blob {digest} from {}", self.base_name());
        let url = self.url(&format!("blobs/{digest}"))?;
        let mut response = self.send(&what, self.request(Method::GET, url)).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(&what, response).await);
        }
        let io_error = |source| {
            Failure::Final(Error::Io {
                action: "cannot write",
                path: destination.to_owned(),
                source,
            })
        };
        let mut file = tokio::fs::File::create(destination)
            .await
            .map_err(io_error)?;
        let mut hasher = Hasher::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport_failure(&what, &error))?
        {
            hasher.update(&chunk);
            if hasher.len() > size {
                return Err(Failure::Final(Error::SizeMismatch {
                    what,
                    expected: size,
                    actual: hasher.len(),
                }));
            }
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        if hasher.len() != size {
            return Err(Failure::Final(Error::SizeMismatch {
                what,
                expected: size,
                actual: hasher.len(),
            }));
        }
        let actual = hasher.finish();
        if actual != digest {
            return Err(Failure::Final(Error::DigestMismatch {
                what,
                expected: digest.to_owned(),
                actual,
            }));
        }
        file.sync_all().await.map_err(io_error)?;
        Ok(())
    }

    /// `GET /v2/<name>/manifests/<reference>`; `None` on 404. The bytes are checked against
    /// the digest when `reference` is one, and against `Docker-Content-Digest` when the
    /// registry sends it.
    pub(crate) async fn get_manifest(
        &self,
        reference: &str,
        accept: &str,
    ) -> Result<Option<FetchedManifest>, Failure> {
        let what = format!(
            "manifest {}{}",
            self.base_name(),
            reference_suffix(reference)
        );
        let url = self.url(&format!("manifests/{reference}"))?;
        let response = self
            .send(
                &what,
                self.request(Method::GET, url)
                    .header(header::ACCEPT, accept),
            )
            .await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(self.status_error(&what, response).await),
        }
        let declared_digest = header_text(response.headers(), "docker-content-digest");
        let media_type = header_text(response.headers(), header::CONTENT_TYPE.as_str());
        let bytes = read_limited(response, MAX_MANIFEST_BYTES)
            .await
            .map_err(|problem| match problem {
                LimitedRead::TooLarge => self.protocol(
                    &what,
                    format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes"),
                ),
                LimitedRead::Failed(error) => self.transport_failure(&what, &error),
            })?;
        let digest = digest::sha256_of(&bytes);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            declared_digest.filter(|declared| declared.starts_with("sha256:"))
        };
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(Failure::Final(Error::DigestMismatch {
                what,
                expected,
                actual: digest,
            }));
        }
        Ok(Some(FetchedManifest {
            bytes,
            digest,
            media_type,
        }))
    }

    /// `PUT /v2/<name>/manifests/<reference>`; whether the registry answered `OCI-Subject`,
    /// i.e. indexed the manifest as a referrer itself.
    pub(crate) async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        body: &Bytes,
        digest: &str,
    ) -> Result<bool, Failure> {
        let what = format!(
            "push manifest {}{}",
            self.base_name(),
            reference_suffix(reference)
        );
        let url = self.url(&format!("manifests/{reference}"))?;
        let response = self
            .send(
                &what,
                self.request(Method::PUT, url)
                    .header(header::CONTENT_TYPE, media_type)
                    .body(body.clone()),
            )
            .await?;
        if !response.status().is_success() {
            return Err(self.status_error(&what, response).await);
        }
        if let Some(stored) = header_text(response.headers(), "docker-content-digest")
            && stored.starts_with("sha256:")
            && stored != digest
        {
            return Err(Failure::Final(Error::DigestMismatch {
                what: format!("{what}: the digest the registry stored it under"),
                expected: digest.to_owned(),
                actual: stored,
            }));
        }
        Ok(response.headers().contains_key("oci-subject"))
    }

    /// `GET /v2/<name>/referrers/<digest>`, every page; `None` when the registry does not
    /// implement the API (404).
    pub(crate) async fn list_referrers(
        &self,
        subject: &str,
    ) -> Result<Option<Vec<serde_json::Value>>, Failure> {
        let what = format!("list referrers of {subject}");
        let mut url = self.url(&format!("referrers/{subject}"))?;
        let mut descriptors = Vec::new();
        for _ in 0..MAX_REFERRERS_PAGES {
            let response = self
                .send(
                    &what,
                    self.request(Method::GET, url.clone())
                        .header(header::ACCEPT, INDEX_MEDIA_TYPE),
                )
                .await?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND if descriptors.is_empty() => return Ok(None),
                _ => return Err(self.status_error(&what, response).await),
            }
            let next = header_text(response.headers(), header::LINK.as_str())
                .and_then(|link| next_link(&link).map(str::to_owned));
            let bytes = read_limited(response, MAX_MANIFEST_BYTES)
                .await
                .map_err(|problem| match problem {
                    LimitedRead::TooLarge => self.protocol(
                        &what,
                        format!("a page of the listing is larger than {MAX_MANIFEST_BYTES} bytes"),
                    ),
                    LimitedRead::Failed(error) => self.transport_failure(&what, &error),
                })?;
            descriptors.extend(parse_index_descriptors(&bytes).map_err(|reason| {
                self.protocol(&what, format!("its answer is not an image index: {reason}"))
            })?);
            match next {
                Some(next) => {
                    url = url.join(&next).map_err(|error| {
                        self.protocol(&what, format!("its Link `{next}` is not a URL: {error}"))
                    })?;
                }
                None => return Ok(Some(descriptors)),
            }
        }
        Err(self.protocol(
            &what,
            format!("the listing goes on for more than {MAX_REFERRERS_PAGES} pages"),
        ))
    }

    /// `<registry>/<repository>`, for messages.
    fn base_name(&self) -> String {
        let repository = self
            .base
            .path()
            .trim_start_matches("/v2/")
            .trim_end_matches('/');
        format!("{}/{repository}", self.registry)
    }
}

/// `:tag` or `@digest`, as a reference writes it.
fn reference_suffix(reference: &str) -> String {
    if reference.starts_with("sha256:") {
        format!("@{reference}")
    } else {
        format!(":{reference}")
    }
}

/// The `manifests` of an image index, each checked to be a descriptor.
pub(crate) fn parse_index_descriptors(bytes: &[u8]) -> Result<Vec<serde_json::Value>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    let manifests = value
        .get("manifests")
        .and_then(serde_json::Value::as_array)
        .ok_or("it has no `manifests` list")?;
    for descriptor in manifests {
        serde_json::from_value::<oci_spec::image::Descriptor>(descriptor.clone())
            .map_err(|error| format!("an entry of `manifests` is not a descriptor: {error}"))?;
    }
    Ok(manifests.clone())
}

enum LimitedRead {
    TooLarge,
    Failed(reqwest::Error),
}

/// The whole body, refused past `limit` bytes.
async fn read_limited(mut response: Response, limit: usize) -> Result<Bytes, LimitedRead> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(LimitedRead::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(LimitedRead::Failed)? {
        if body.len() + chunk.len() > limit {
            return Err(LimitedRead::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// Up to `limit` bytes of `file`; fewer only at its end.
async fn read_chunk(
    file: &mut tokio::fs::File,
    limit: usize,
    path: &Path,
) -> Result<Bytes, Failure> {
    let mut chunk = Vec::with_capacity(limit.min(1024 * 1024));
    let mut reader = file.take(limit as u64);
    reader.read_to_end(&mut chunk).await.map_err(|source| {
        Failure::Final(Error::Io {
            action: "cannot read",
            path: path.to_owned(),
            source,
        })
    })?;
    Ok(Bytes::from(chunk))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` in seconds. The HTTP-date form is rare on registries and falls back to the
/// policy's own backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The target of the `rel="next"` link in a `Link` header (RFC 8288), as the referrers API
/// paginates.
pub(crate) fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|link| {
        let link = link.trim();
        let rest = link.strip_prefix('<')?;
        let (target, params) = rest.split_once('>')?;
        params
            .split(';')
            .map(str::trim)
            .filter_map(|param| param.split_once('='))
            .any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
            .then_some(target)
    })
}

/// A reqwest error and its causes, without the URL (the operation names what was asked).
fn describe(error: &reqwest::Error) -> String {
    let mut text = match error.url() {
        Some(url) => error.to_string().replace(url.as_str(), "<url>"),
        None => error.to_string(),
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn describe_oci(error: &OciDistributionError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        assert_eq!(
            next_link(r#"</v2/app/referrers/sha256:ab?n=2&last=x>; rel="next""#),
            Some("/v2/app/referrers/sha256:ab?n=2&last=x")
        );
        assert_eq!(
            next_link(r#"<https://a/prev>; rel="prev", <https://a/next>;rel=next"#),
            Some("https://a/next")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn reads_retry_after_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn index_descriptors_must_be_descriptors() {
        let good = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"artifactType":"x/y"}]}"#;
        assert_eq!(parse_index_descriptors(good).map(|d| d.len()), Ok(1));
        assert!(parse_index_descriptors(br#"{"manifests":[{"digest":"nope"}]}"#).is_err());
        assert!(parse_index_descriptors(b"[]").is_err());
    }
}
