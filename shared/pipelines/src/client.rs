//! [`PipelineClient`]: sends an [`HttpCall`] with the secret it is handed, through one retry loop,
//! and reads the answer. GitHub calls carry `Authorization: Bearer` (a token, or an installation
//! token minted from a GitHub App key and kept until shortly before it expires); webhook calls
//! are signed afresh on every attempt.

use crate::error::PipelineError;
use crate::github_app::{app_jwt, Credential};
use crate::retry::RetryPolicy;
use driftguard_core::remediation::{CallAuth, CallKind, HttpCall, GITHUB_ACCEPT, GITHUB_API_VERSION};
use driftguard_core::secret::Secret;
use driftguard_core::time::Timestamp;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one attempt may take, connection to last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

const USER_AGENT: &str = concat!("driftguard-pipelines/", env!("CARGO_PKG_VERSION"));
const API_VERSION: &str = "x-github-api-version";
/// A minted installation token is used until this long before it expires.
const TOKEN_MARGIN_SECS: i64 = 5 * 60;
/// The longest server message quoted in an error.
const MAX_MESSAGE_CHARS: usize = 300;

const DISPATCH: &str = "workflow dispatch";
const ISSUE: &str = "issue creation";
const WEBHOOK: &str = "webhook";
const TOKEN_EXCHANGE: &str = "installation token";

/// What a call achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Executed {
    /// The pipeline was started: a workflow dispatch (HTTP 204 without run details, 200 with
    /// them) or a webhook (any 2xx).
    Dispatched {
        /// The HTTP status.
        status: u16,
        /// The workflow run's id, when GitHub returned it.
        run_id: Option<u64>,
        /// Where to watch the run: GitHub's `html_url` (else its API `run_url`), or a `run_url` /
        /// `html_url` a webhook receiver answered with.
        run_url: Option<String>,
    },
    /// The issue was opened.
    IssueOpened {
        /// Its number in the repository.
        number: u64,
        /// Its page.
        html_url: String,
    },
}

/// An async client for GitHub and pipeline webhooks. Cheap to clone (the connection pool and the
/// installation-token cache are shared); build it once per process. It holds no secret except
/// minted installation tokens, which `Debug` does not show.
#[derive(Clone)]
pub struct PipelineClient {
    http: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
    tokens: Arc<Mutex<HashMap<TokenKey, Minted>>>,
}

/// An installation: the API it lives on, the App (issuer), the installation id.
type TokenKey = (String, String, u64);

struct Minted {
    token: String,
    use_until: i64,
}

/// One HTTP answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl PipelineClient {
    /// A client with the default retry policy and timeout.
    pub fn new() -> Result<PipelineClient, PipelineError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // GitHub answers these POSTs directly; following a redirect would turn them into GETs.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PipelineError::config("HTTP client", e.without_url().to_string()))?;
        Ok(PipelineClient {
            http,
            retry: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            tokens: Arc::default(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> PipelineClient {
        self.retry = policy;
        self
    }

    /// Replaces the per-attempt timeout ([`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> PipelineClient {
        self.timeout = timeout;
        self
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Sends `call` with `secret`, the value of the secret `call.auth` names: for GitHub a token
    /// or a GitHub App key (JSON), for a webhook the signing secret.
    ///
    /// A retry after a 5xx or a timeout may start the pipeline twice or open a second issue when
    /// the server had acted before failing; re-applying Terraform twice is harmless, and the
    /// webhook's `Idempotency-Key` lets a receiver run once.
    pub async fn execute(&self, call: &HttpCall, secret: &Secret) -> Result<Executed, PipelineError> {
        match (call.kind, &call.auth) {
            (CallKind::WorkflowDispatch | CallKind::OpenIssue, CallAuth::Github { api_url, .. }) => {
                self.github(call, api_url, secret).await
            }
            (CallKind::Webhook, CallAuth::WebhookSignature { .. }) => self.webhook(call, secret).await,
            _ => Err(PipelineError::config(
                "call",
                "its kind and its authentication disagree (GitHub calls use a GitHub credential, webhooks a signature)",
            )),
        }
    }

    async fn github(&self, call: &HttpCall, api_url: &str, secret: &Secret) -> Result<Executed, PipelineError> {
        let name = if call.kind == CallKind::OpenIssue {
            ISSUE
        } else {
            DISPATCH
        };
        let credential = Credential::parse(secret.expose())?;
        let (token, minted_for) = match &credential {
            Credential::Token(token) => (token.clone(), None),
            Credential::App(app) => {
                let key = (api_url.to_owned(), app.issuer.to_string(), app.installation_id);
                (self.installation_token(api_url, app, &key).await?, Some(key))
            }
        };
        let url = parse_url(&call.url, name)?;
        let mut headers = call_headers(call)?;
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_ACCEPT));
        }
        if !headers.contains_key(API_VERSION) {
            headers.insert(API_VERSION, HeaderValue::from_static(GITHUB_API_VERSION));
        }
        headers.insert(AUTHORIZATION, bearer(&token)?);
        let secrets = [secret.expose(), token.as_str()];
        let mut result = self
            .send(name, &url, &headers, call.body.as_bytes(), None, &secrets)
            .await;
        if call.kind == CallKind::WorkflowDispatch {
            if let Some(body) = without_run_details(&result, &call.body) {
                // GitHub Enterprise Server versions before the parameter existed refuse it.
                tracing::info!(call = name, "GitHub refused return_run_details; dispatching without it");
                result = self.send(name, &url, &headers, body.as_bytes(), None, &secrets).await;
            }
        }
        if let (Err(PipelineError::Refused { status: 401, .. }), Some(key)) = (&result, &minted_for) {
            // A revoked installation token: the next call mints a new one.
            self.lock_tokens().remove(key);
        }
        let answer = result?;
        match call.kind {
            CallKind::OpenIssue => issue_opened(answer),
            _ => Ok(dispatched(answer)),
        }
    }

    async fn webhook(&self, call: &HttpCall, secret: &Secret) -> Result<Executed, PipelineError> {
        if secret.is_empty() {
            return Err(PipelineError::config("webhook secret", "it is empty"));
        }
        let url = parse_url(&call.url, WEBHOOK)?;
        let headers = call_headers(call)?;
        let signing = Some(secret.expose().as_bytes());
        let answer = self
            .send(
                WEBHOOK,
                &url,
                &headers,
                call.body.as_bytes(),
                signing,
                &[secret.expose()],
            )
            .await?;
        Ok(dispatched(answer))
    }

    /// A cached installation token, or a new one: an App JWT exchanged at
    /// `POST {api_url}/app/installations/{id}/access_tokens`.
    async fn installation_token(
        &self,
        api_url: &str,
        app: &crate::github_app::AppKey,
        key: &TokenKey,
    ) -> Result<String, PipelineError> {
        let now = now_unix();
        if let Some(minted) = self.lock_tokens().get(key).filter(|m| m.use_until > now) {
            return Ok(minted.token.clone());
        }
        let jwt = app_jwt(app, now)?;
        let url = parse_url(
            &format!("{api_url}/app/installations/{}/access_tokens", app.installation_id),
            TOKEN_EXCHANGE,
        )?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_ACCEPT));
        headers.insert(API_VERSION, HeaderValue::from_static(GITHUB_API_VERSION));
        headers.insert(AUTHORIZATION, bearer(&jwt)?);
        let answer = self.send(TOKEN_EXCHANGE, &url, &headers, b"", None, &[&jwt]).await?;
        #[derive(Deserialize)]
        struct Token {
            token: String,
            #[serde(default)]
            expires_at: Option<String>,
        }
        let token: Token = serde_json::from_slice(&answer.body).map_err(|e| bad_body(TOKEN_EXCHANGE, &answer, &e))?;
        if token.token.is_empty() || !token.token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PipelineError::BadResponse {
                call: TOKEN_EXCHANGE,
                status: answer.status,
                detail: "`token` is empty or not header-safe".into(),
            });
        }
        if let Some(expires) = token.expires_at.as_deref().and_then(Timestamp::parse) {
            self.lock_tokens().insert(
                key.clone(),
                Minted {
                    token: token.token.clone(),
                    use_until: expires.unix_seconds() - TOKEN_MARGIN_SECS,
                },
            );
        }
        tracing::debug!(
            installation = app.installation_id,
            "GitHub App installation token minted"
        );
        Ok(token.token)
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, Minted>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `body` until a 2xx, an error that is not retryable, or the policy's attempts run
    /// out. A 429 (or GitHub's rate-limited 403) waits what the server asks (or ends the call when
    /// that is longer than the policy allows); other retryable failures wait a jittered backoff.
    /// `signing`: the webhook secret, to sign each attempt at its own time. `secrets` are removed
    /// from any message quoted in an error.
    async fn send(
        &self,
        call: &'static str,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
        signing: Option<&[u8]>,
        secrets: &[&str],
    ) -> Result<Answer, PipelineError> {
        let attempts = self.retry.attempts();
        let mut attempt = 1;
        loop {
            let error = match self.attempt(call, url, headers, body, signing, secrets).await {
                Ok(answer) => {
                    tracing::debug!(call, attempt, status = answer.status, "Call succeeded");
                    return Ok(answer);
                }
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) if attempt >= attempts => {
                    return Err(PipelineError::GaveUp {
                        call,
                        attempts: attempt,
                        last: Box::new(error),
                    })
                }
                Err(error) => error,
            };
            let wait = match error.retry_after() {
                Some(wait) if wait > self.retry.max_retry_after => {
                    tracing::warn!(
                        call,
                        attempt,
                        wait_s = wait.as_secs(),
                        "Rate limited for longer than the policy waits"
                    );
                    return Err(error);
                }
                Some(wait) => wait,
                None => self.retry.backoff(attempt),
            };
            tracing::warn!(
                call,
                attempt,
                status = error.status().unwrap_or(0),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "Call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        call: &'static str,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
        signing: Option<&[u8]>,
        secrets: &[&str],
    ) -> Result<Answer, PipelineError> {
        let mut headers = headers.clone();
        if let Some(secret) = signing {
            for (name, value) in driftguard_core::remediation::webhook_signature_headers(secret, now_unix(), body) {
                headers.insert(header_name(&name)?, header_value(&name, &value)?);
            }
        }
        let response = self
            .http
            .post(url.clone())
            .timeout(self.timeout)
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| PipelineError::transport(call, e))?;
        let status = response.status().as_u16();
        let wait = server_wait(status, response.headers());
        let bytes = response.bytes().await.map_err(|e| PipelineError::transport(call, e))?;
        if (200..300).contains(&status) {
            return Ok(Answer {
                status,
                body: bytes.to_vec(),
            });
        }
        if let Some(retry_after) = wait {
            return Err(PipelineError::RateLimited {
                call,
                status,
                retry_after,
            });
        }
        Err(PipelineError::Refused {
            call,
            status,
            message: server_message(&bytes, secrets),
        })
    }
}

impl fmt::Debug for PipelineClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineClient")
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("cached_installation_tokens", &self.lock_tokens().len())
            .finish_non_exhaustive()
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn parse_url(url: &str, call: &'static str) -> Result<Url, PipelineError> {
    let parsed =
        Url::parse(url).map_err(|e| PipelineError::config("URL", format!("the {call} URL does not parse ({e})")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(PipelineError::config(
            "URL",
            format!("the {call} URL is not http(s) with a host"),
        ));
    }
    Ok(parsed)
}

fn header_name(name: &str) -> Result<HeaderName, PipelineError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| PipelineError::config("header", format!("{name:?} is not a header name")))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, PipelineError> {
    HeaderValue::from_str(value)
        .map_err(|_| PipelineError::config("header", format!("the value of {name} is not header-safe")))
}

fn call_headers(call: &HttpCall) -> Result<HeaderMap, PipelineError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &call.headers {
        let name_ = header_name(name)?;
        if name_ == AUTHORIZATION {
            return Err(PipelineError::config(
                "header",
                "a call carries no Authorization of its own",
            ));
        }
        headers.append(name_, header_value(name, value)?);
    }
    Ok(headers)
}

fn bearer(token: &str) -> Result<HeaderValue, PipelineError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| PipelineError::Credential("the token has characters an HTTP header cannot carry".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// How long a rate-limited answer asks to wait: `Some(None)` when rate limited without saying,
/// `None` when not rate limited. A 429 always is; a 403 is when it carries `Retry-After` or
/// `x-ratelimit-remaining: 0` (GitHub's secondary and primary limits), then waits until
/// `x-ratelimit-reset`.
fn server_wait(status: u16, headers: &HeaderMap) -> Option<Option<Duration>> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let retry_after = text(RETRY_AFTER.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let exhausted = text("x-ratelimit-remaining") == Some("0");
    let until_reset = text("x-ratelimit-reset")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|_| exhausted)
        .map(|reset| Duration::from_secs(u64::try_from(reset - now_unix()).unwrap_or(0)));
    let limited = status == 429 || (status == 403 && (retry_after.is_some() || exhausted));
    limited.then_some(retry_after.or(until_reset))
}

/// GitHub's `message` (or a receiver's `message` / `error`), on one line, cut short, with every
/// secret replaced.
fn server_message(body: &[u8], secrets: &[&str]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let message = json
        .get("message")
        .or_else(|| json.get("error"))
        .and_then(Value::as_str)?;
    let mut message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        message = message.replace(secret, "[redacted]");
    }
    Some(message.trim().to_owned()).filter(|m| !m.is_empty())
}

/// The dispatch body without `return_run_details`, when GitHub refused that parameter.
fn without_run_details(result: &Result<Answer, PipelineError>, body: &str) -> Option<String> {
    let Err(PipelineError::Refused {
        status: 400 | 422,
        message: Some(message),
        ..
    }) = result
    else {
        return None;
    };
    if !message.contains("return_run_details") {
        return None;
    }
    let mut json: Value = serde_json::from_str(body).ok()?;
    json.as_object_mut()?.remove("return_run_details")?;
    Some(json.to_string())
}

/// A 2xx to a dispatch or a webhook. The call took effect, so an unreadable body only loses the
/// run's details (logged), never turns into an error a caller would retry.
fn dispatched(answer: Answer) -> Executed {
    #[derive(Deserialize)]
    struct RunDetails {
        #[serde(default)]
        workflow_run_id: Option<u64>,
        #[serde(default)]
        run_url: Option<String>,
        #[serde(default)]
        html_url: Option<String>,
    }
    let details = if answer.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<RunDetails>(&answer.body) {
            Ok(details) => Some(details),
            Err(e) => {
                tracing::warn!(
                    status = answer.status,
                    error_line = e.line(),
                    "Pipeline answered with an unreadable body"
                );
                None
            }
        }
    };
    let is_link = |url: &String| url.starts_with("https://") || url.starts_with("http://");
    let (run_id, run_url) = match details {
        Some(d) => (
            d.workflow_run_id,
            d.html_url.filter(is_link).or(d.run_url.filter(is_link)),
        ),
        None => (None, None),
    };
    Executed::Dispatched {
        status: answer.status,
        run_id,
        run_url,
    }
}

/// GitHub answers 201 with the issue.
fn issue_opened(answer: Answer) -> Result<Executed, PipelineError> {
    #[derive(Deserialize)]
    struct Issue {
        number: u64,
        html_url: String,
    }
    let issue: Issue = serde_json::from_slice(&answer.body).map_err(|e| bad_body(ISSUE, &answer, &e))?;
    Ok(Executed::IssueOpened {
        number: issue.number,
        html_url: issue.html_url,
    })
}

fn bad_body(call: &'static str, answer: &Answer, e: &serde_json::Error) -> PipelineError {
    PipelineError::BadResponse {
        call,
        status: answer.status,
        // Category and position only: serde's message can quote the body (a token).
        detail: format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_read_from_429_and_githubs_403() {
        let mut headers = HeaderMap::new();
        assert_eq!(server_wait(403, &headers), None, "a plain 403 is a refusal");
        assert_eq!(server_wait(429, &headers), Some(None));
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(server_wait(403, &headers), Some(Some(Duration::from_secs(7))));
        assert_eq!(server_wait(500, &headers), None);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = HeaderValue::from_str(&(now_unix() + 20).to_string()).expect("digits");
        headers.insert("x-ratelimit-reset", reset);
        let wait = server_wait(403, &headers).flatten().expect("waits until the reset");
        assert!(
            (Duration::from_secs(18)..=Duration::from_secs(20)).contains(&wait),
            "{wait:?}"
        );
    }

    #[test]
    fn server_messages_are_short_single_line_and_scrubbed() {
        let body = br#"{"message": "Bad credentials for ghp_SECRET\nsee docs", "documentation_url": "https://docs.github.com"}"#;
        assert_eq!(
            server_message(body, &["ghp_SECRET"]).as_deref(),
            Some("Bad credentials for [redacted] see docs")
        );
        assert_eq!(server_message(b"<html>oops</html>", &[]), None);
        let long = serde_json::json!({ "message": "x".repeat(1_000) }).to_string();
        assert_eq!(
            server_message(long.as_bytes(), &[]).map(|m| m.len()),
            Some(MAX_MESSAGE_CHARS)
        );
    }

    #[test]
    fn dispatch_answers_keep_the_run_link_and_never_fail() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            dispatched(answer(204, "")),
            Executed::Dispatched {
                status: 204,
                run_id: None,
                run_url: None
            }
        );
        let details = r#"{"workflow_run_id": 42, "run_url": "https://api.github.com/repos/o/r/actions/runs/42",
                          "html_url": "https://github.com/o/r/actions/runs/42"}"#;
        assert_eq!(
            dispatched(answer(200, details)),
            Executed::Dispatched {
                status: 200,
                run_id: Some(42),
                run_url: Some("https://github.com/o/r/actions/runs/42".into())
            }
        );
        assert!(matches!(
            dispatched(answer(200, "not json")),
            Executed::Dispatched {
                status: 200,
                run_url: None,
                ..
            }
        ));
        let e = issue_opened(answer(201, r#"{"number": "ghs_SECRET"}"#)).expect_err("bad issue");
        assert!(!e.to_string().contains("SECRET") && !e.is_retryable(), "{e}");
    }
}
