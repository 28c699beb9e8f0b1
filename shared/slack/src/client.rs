//! [`SlackClient`]: one HTTP client, an incoming webhook or a bot token, and the retry loop
//! every call goes through. Request and answer shapes of the Web API stay in this module.

use crate::error::SlackError;
use crate::retry::RetryPolicy;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Where the Web API lives.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api/";
/// How long one attempt may take, connection to last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Web API takes JSON bodies when told so, charset included (otherwise it warns
/// `missing_charset`).
const JSON_UTF8: &str = "application/json; charset=utf-8";
/// The `method` of errors and logs for webhook calls.
const WEBHOOK: &str = "incoming webhook";
const POST_MESSAGE: &str = "chat.postMessage";
const UPDATE: &str = "chat.update";
const USERGROUP_MEMBERS: &str = "usergroups.users.list";
const RESPONSE_URL: &str = "response_url";
const FORM: &str = "application/x-www-form-urlencoded";

/// How a client delivers messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An incoming webhook: posts to the one channel the webhook was created for; cannot
    /// update or thread.
    Webhook,
    /// A bot token: `chat.postMessage` to any channel the bot is in, and `chat.update`.
    Bot,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::Webhook => "incoming webhook",
            Delivery::Bot => "bot token",
        })
    }
}

/// A message as DriftGuard sends it: the notification text (also the fallback where blocks
/// cannot be shown) and the Block Kit blocks. Serialises to `{"text": ..., "blocks": [...]}`,
/// exactly what `driftguard_core::slack::render` produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Notification / fallback text.
    pub text: String,
    /// Block Kit blocks (omitted from webhook and `chat.postMessage` bodies when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
}

impl Message {
    /// A message from its parts.
    pub fn new(text: impl Into<String>, blocks: Vec<Value>) -> Message {
        Message {
            text: text.into(),
            blocks,
        }
    }
}

impl TryFrom<Value> for Message {
    type Error = SlackError;

    /// Accepts an object with a string `text` and, optionally, an array `blocks`; anything else
    /// (another field included) is refused rather than dropped.
    fn try_from(value: Value) -> Result<Message, SlackError> {
        let Value::Object(mut fields) = value else {
            return Err(SlackError::InvalidMessage("expected a JSON object".into()));
        };
        let text = match fields.remove("text") {
            Some(Value::String(text)) => text,
            Some(_) => return Err(SlackError::InvalidMessage("`text` is not a string".into())),
            None => String::new(),
        };
        let blocks = match fields.remove("blocks") {
            Some(Value::Array(blocks)) => blocks,
            Some(_) => return Err(SlackError::InvalidMessage("`blocks` is not an array".into())),
            None => Vec::new(),
        };
        if let Some(other) = fields.keys().next() {
            return Err(SlackError::InvalidMessage(format!(
                "unexpected field `{other}` (only `text` and `blocks` are sent)"
            )));
        }
        if text.trim().is_empty() {
            return Err(SlackError::InvalidMessage(
                "`text` is missing or empty (Slack uses it for notifications)".into(),
            ));
        }
        Ok(Message { text, blocks })
    }
}

impl TryFrom<&Value> for Message {
    type Error = SlackError;

    /// As for an owned value.
    fn try_from(value: &Value) -> Result<Message, SlackError> {
        Message::try_from(value.clone())
    }
}

/// Where a posted message lives: keep it with the finding to update the message or reply in
/// its thread later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Posted {
    /// The channel id (`C…`), as Slack answered it (a channel name given on posting becomes its id).
    pub channel: String,
    /// The message timestamp, the message's id within the channel (`1700000000.000100`).
    pub ts: String,
}

/// An async Slack client. Cheap to clone (the connection pool is shared); build it once per
/// process. `Debug` shows neither the webhook URL's path nor the token.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    target: Target,
    retry: RetryPolicy,
    timeout: Duration,
}

#[derive(Clone)]
enum Target {
    /// The whole URL is the credential.
    Webhook { url: Url },
    /// `authorization` is `Bearer <token>`, marked sensitive.
    Bot { authorization: HeaderValue, api_base: Url },
}

impl SlackClient {
    /// A client posting through an incoming webhook (`https://hooks.slack.com/services/…`).
    pub fn webhook(url: &str) -> Result<SlackClient, SlackError> {
        let url = Url::parse(url.trim())
            .map_err(|e| SlackError::config("webhook URL", format!("not an absolute URL ({e})")))?;
        check_http_url(&url, "webhook URL")?;
        SlackClient::new(Target::Webhook { url })
    }

    /// A client calling the Web API with a bot token (`xoxb-…`), at [`DEFAULT_API_BASE`].
    pub fn bot(token: &str) -> Result<SlackClient, SlackError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(SlackError::config("bot token", "it is empty"));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SlackError::config("bot token", "it has characters an HTTP header cannot carry"))?;
        authorization.set_sensitive(true);
        let api_base = Url::parse(DEFAULT_API_BASE)
            .map_err(|e| SlackError::config("API base", format!("not an absolute URL ({e})")))?;
        SlackClient::new(Target::Bot {
            authorization,
            api_base,
        })
    }

    fn new(target: Target) -> Result<SlackClient, SlackError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("driftguard-slack/", env!("CARGO_PKG_VERSION")))
            // Slack does not redirect API calls; following one would turn the POST into a GET.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SlackError::config("HTTP client", e.without_url().to_string()))?;
        Ok(SlackClient {
            http,
            target,
            retry: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Calls the Web API at `base` instead of [`DEFAULT_API_BASE`] (a test receiver, a proxy);
    /// method names are appended to it. Bot clients only.
    pub fn with_api_base(mut self, base: &str) -> Result<SlackClient, SlackError> {
        let Target::Bot { api_base, .. } = &mut self.target else {
            return Err(SlackError::config(
                "API base",
                "only a bot-token client calls the Web API",
            ));
        };
        let mut base = base.trim().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let url =
            Url::parse(&base).map_err(|e| SlackError::config("API base", format!("not an absolute URL ({e})")))?;
        check_http_url(&url, "API base")?;
        *api_base = url;
        Ok(self)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> SlackClient {
        self.retry = policy;
        self
    }

    /// Replaces the per-attempt timeout ([`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> SlackClient {
        self.timeout = timeout;
        self
    }

    /// How this client delivers.
    pub fn delivery(&self) -> Delivery {
        match self.target {
            Target::Webhook { .. } => Delivery::Webhook,
            Target::Bot { .. } => Delivery::Bot,
        }
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Posts `message` through the incoming webhook. Slack answers `ok`, or an error status
    /// with the error code as the body (`invalid_blocks`, `no_text`, `channel_not_found`, ...).
    pub async fn send_webhook(&self, message: &Message) -> Result<(), SlackError> {
        let Target::Webhook { url } = &self.target else {
            return Err(self.unsupported(WEBHOOK, Delivery::Webhook));
        };
        let body = to_body(message)?;
        self.call(WEBHOOK, url, None, JSON_UTF8, body, webhook_answer).await
    }

    /// `chat.postMessage`: posts `message` to `channel` (an id, or a name), as a reply in the
    /// thread of `thread_ts` when given. Returns where the message now lives.
    ///
    /// A retry after a 5xx or a timeout can post twice when Slack had posted before failing;
    /// callers that must post once per finding keep the returned [`Posted`] and update instead.
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Message,
        thread_ts: Option<&str>,
    ) -> Result<Posted, SlackError> {
        let Target::Bot {
            authorization,
            api_base,
        } = &self.target
        else {
            return Err(self.unsupported(POST_MESSAGE, Delivery::Bot));
        };
        let body = to_body(&PostMessageRequest {
            channel,
            text: &message.text,
            blocks: &message.blocks,
            thread_ts,
        })?;
        let url = method_url(api_base, POST_MESSAGE)?;
        let answer = self
            .call(POST_MESSAGE, &url, Some(authorization), JSON_UTF8, body, web_api_answer)
            .await?;
        answer.posted(POST_MESSAGE)
    }

    /// `chat.update`: replaces the text and blocks of the message at `channel` / `ts` (an empty
    /// `blocks` removes the old blocks; Slack would keep them if the field were left out).
    pub async fn update_message(&self, channel: &str, ts: &str, message: &Message) -> Result<Posted, SlackError> {
        let Target::Bot {
            authorization,
            api_base,
        } = &self.target
        else {
            return Err(self.unsupported(UPDATE, Delivery::Bot));
        };
        let body = to_body(&UpdateRequest {
            channel,
            ts,
            text: &message.text,
            blocks: &message.blocks,
        })?;
        let url = method_url(api_base, UPDATE)?;
        let answer = self
            .call(UPDATE, &url, Some(authorization), JSON_UTF8, body, web_api_answer)
            .await?;
        answer.posted(UPDATE)
    }

    /// Answers an interaction through its `response_url` (any client can: the URL is the
    /// credential): `body` is a message with `replace_original` / `response_type`. Slack answers
    /// like an incoming webhook. The URL is never logged or quoted in errors.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        let url = Url::parse(response_url.trim())
            .map_err(|e| SlackError::config("response_url", format!("not an absolute URL ({e})")))?;
        check_http_url(&url, "response_url")?;
        let body = to_body(body)?;
        self.call(RESPONSE_URL, &url, None, JSON_UTF8, body, webhook_answer)
            .await
    }

    /// `usergroups.users.list`: the user ids in a user group (`S…`), for authorising clicks by
    /// group. Bot clients only (scope `usergroups:read`).
    pub async fn usergroup_members(&self, usergroup: &str) -> Result<Vec<String>, SlackError> {
        let Target::Bot {
            authorization,
            api_base,
        } = &self.target
        else {
            return Err(self.unsupported(USERGROUP_MEMBERS, Delivery::Bot));
        };
        if usergroup.is_empty() || !usergroup.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SlackError::InvalidMessage(format!(
                "{usergroup:?} is not a user group id"
            )));
        }
        let url = method_url(api_base, USERGROUP_MEMBERS)?;
        let body = format!("usergroup={usergroup}").into_bytes();
        let answer = self
            .call(USERGROUP_MEMBERS, &url, Some(authorization), FORM, body, web_api_answer)
            .await?;
        Ok(answer.users)
    }

    fn unsupported(&self, method: &'static str, needs: Delivery) -> SlackError {
        SlackError::Unsupported {
            method,
            needs,
            has: self.delivery(),
        }
    }

    /// Sends `body` until `interpret` accepts the answer, the error is not retryable, or the
    /// policy's attempts run out. A 429 waits its `Retry-After` (or ends the call when that is
    /// longer than the policy allows); other retryable failures wait a jittered backoff.
    async fn call<T>(
        &self,
        method: &'static str,
        url: &Url,
        authorization: Option<&HeaderValue>,
        content_type: &'static str,
        body: Vec<u8>,
        interpret: fn(&'static str, Answer) -> Result<T, SlackError>,
    ) -> Result<T, SlackError> {
        let attempts = self.retry.attempts();
        let mut attempt = 1;
        loop {
            let outcome = match self.attempt(method, url, authorization, content_type, &body).await {
                Ok(answer) => interpret(method, answer),
                Err(error) => Err(error),
            };
            let error = match outcome {
                Ok(value) => {
                    tracing::debug!(method, attempt, "Slack call succeeded");
                    return Ok(value);
                }
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) if attempt >= attempts => {
                    return Err(SlackError::GaveUp {
                        method,
                        attempts: attempt,
                        last: Box::new(error),
                    })
                }
                Err(error) => error,
            };
            let wait = match error.retry_after() {
                Some(wait) if wait > self.retry.max_retry_after => {
                    tracing::warn!(
                        method,
                        attempt,
                        retry_after_s = wait.as_secs(),
                        "Slack asks to wait longer than allowed; giving up for now"
                    );
                    return Err(error);
                }
                Some(wait) => wait,
                None => self.retry.backoff(attempt),
            };
            tracing::warn!(
                method,
                attempt,
                code = error.code().unwrap_or(""),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "Slack call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        method: &'static str,
        url: &Url,
        authorization: Option<&HeaderValue>,
        content_type: &'static str,
        body: &[u8],
    ) -> Result<Answer, SlackError> {
        let mut request = self
            .http
            .post(url.clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, content_type)
            .body(body.to_vec());
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let response = request.send().await.map_err(|e| SlackError::transport(method, e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| SlackError::transport(method, e))?;
        Ok(Answer {
            status,
            retry_after,
            body: body.to_vec(),
        })
    }
}

impl fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("SlackClient");
        match &self.target {
            Target::Webhook { url } => out.field("delivery", &Delivery::Webhook).field(
                "webhook",
                &format_args!("{}/[redacted]", url.origin().ascii_serialization()),
            ),
            Target::Bot { api_base, .. } => out
                .field("delivery", &Delivery::Bot)
                .field("token", &format_args!("[redacted]"))
                .field(
                    "api_base",
                    &format_args!("{}{}", api_base.origin().ascii_serialization(), api_base.path()),
                ),
        };
        out.field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn check_http_url(url: &Url, what: &'static str) -> Result<(), SlackError> {
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(SlackError::config(what, "it must be an http(s) URL with a host"));
    }
    Ok(())
}

fn method_url(api_base: &Url, method: &'static str) -> Result<Url, SlackError> {
    api_base
        .join(method)
        .map_err(|e| SlackError::config("API base", format!("cannot append {method} ({e})")))
}

fn to_body(value: &impl Serialize) -> Result<Vec<u8>, SlackError> {
    serde_json::to_vec(value).map_err(|e| SlackError::InvalidMessage(e.to_string()))
}

/// `Retry-After` in seconds (the form Slack sends); an HTTP date or garbage counts as absent.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// `chat.postMessage` body.
#[derive(Serialize)]
struct PostMessageRequest<'a> {
    channel: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    blocks: &'a [Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
}

/// `chat.update` body; `blocks` always present (see [`SlackClient::update_message`]).
#[derive(Serialize)]
struct UpdateRequest<'a> {
    channel: &'a str,
    ts: &'a str,
    text: &'a str,
    blocks: &'a [Value],
}

/// One HTTP answer.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The Web API's envelope: `{"ok": true, ...}` or `{"ok": false, "error": "..."}`.
#[derive(Debug, Deserialize)]
struct WebApiResponse {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warning: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
    /// `usergroups.users.list`.
    #[serde(default)]
    users: Vec<String>,
}

impl WebApiResponse {
    fn posted(self, method: &'static str) -> Result<Posted, SlackError> {
        match (self.channel, self.ts) {
            (Some(channel), Some(ts)) => Ok(Posted { channel, ts }),
            _ => Err(SlackError::BadResponse {
                method,
                status: 200,
                detail: "`ok` without `channel` and `ts`".into(),
            }),
        }
    }
}

/// A webhook answers 200 `ok`, or an error status with the code as plain text.
fn webhook_answer(method: &'static str, answer: Answer) -> Result<(), SlackError> {
    match answer.status {
        200..=299 => Ok(()),
        429 => Err(SlackError::RateLimited {
            method,
            retry_after: answer.retry_after,
        }),
        status => Err(SlackError::Api {
            method,
            status,
            code: error_code(&answer.body).unwrap_or_else(|| format!("http_{status}")),
        }),
    }
}

/// The Web API answers 200 with `{"ok": ...}`, also for most errors; 429 when rate limited.
fn web_api_answer(method: &'static str, answer: Answer) -> Result<WebApiResponse, SlackError> {
    let status = answer.status;
    if status == 429 {
        return Err(SlackError::RateLimited {
            method,
            retry_after: answer.retry_after,
        });
    }
    match serde_json::from_slice::<WebApiResponse>(&answer.body) {
        Ok(response) if response.ok && (200..300).contains(&status) => {
            if let Some(warning) = response.warning.as_deref().filter(|w| is_code(w)) {
                tracing::debug!(method, warning, "Slack warning");
            }
            Ok(response)
        }
        Ok(response) if !response.ok => Err(SlackError::Api {
            method,
            status,
            code: response
                .error
                .filter(|code| is_code(code))
                .unwrap_or_else(|| "unknown_error".into()),
        }),
        Err(e) if (200..300).contains(&status) => Err(SlackError::BadResponse {
            method,
            status,
            // Position and category only: serde's message can quote the body.
            detail: format!(
                "not a Web API response ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        }),
        _ => Err(SlackError::Api {
            method,
            status,
            code: error_code(&answer.body).unwrap_or_else(|| format!("http_{status}")),
        }),
    }
}

/// The error code in an error body: a bare code (webhooks) or the `error` of a JSON envelope.
fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if is_code(text) {
        return Some(text.to_owned());
    }
    let json: Value = serde_json::from_str(text).ok()?;
    json.get("error")
        .and_then(Value::as_str)
        .filter(|code| is_code(code))
        .map(str::to_owned)
}

/// Slack's error codes are short snake_case words; anything else (an HTML error page, a
/// message) is not quoted in errors.
fn is_code(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn messages_convert_from_rendered_json_and_refuse_what_they_would_drop() {
        let rendered = json!({"text": "hi", "blocks": [{"type": "divider"}]});
        let message = Message::try_from(&rendered).expect("a message");
        assert_eq!(serde_json::to_value(&message).expect("serialises"), rendered);
        assert!(Message::try_from(json!({"text": "hi", "attachments": []})).is_err());
        assert!(Message::try_from(json!({"blocks": []})).is_err());
        assert!(Message::try_from(json!({"text": 1})).is_err());
        assert!(Message::try_from(json!("hi")).is_err());
        let plain = serde_json::to_value(Message::try_from(json!({"text": "hi"})).expect("text only"));
        assert_eq!(plain.expect("serialises"), json!({"text": "hi"}));
    }

    #[test]
    fn answers_are_interpreted_like_slack_means_them() {
        assert!(webhook_answer(WEBHOOK, answer(200, "ok")).is_ok());
        let e = webhook_answer(WEBHOOK, answer(400, "invalid_blocks")).expect_err("400");
        assert_eq!((e.code(), e.is_retryable()), (Some("invalid_blocks"), false));
        let e = webhook_answer(WEBHOOK, answer(502, "<html>Bad gateway</html>")).expect_err("502");
        assert_eq!((e.code(), e.is_retryable()), (Some("http_502"), true));

        let ok = web_api_answer(POST_MESSAGE, answer(200, r#"{"ok":true,"channel":"C1","ts":"1.2"}"#));
        let posted = ok.and_then(|r| r.posted(POST_MESSAGE)).expect("posted");
        assert_eq!(
            posted,
            Posted {
                channel: "C1".into(),
                ts: "1.2".into()
            }
        );
        let e =
            web_api_answer(POST_MESSAGE, answer(200, r#"{"ok":false,"error":"invalid_auth"}"#)).expect_err("refused");
        assert_eq!((e.code(), e.is_retryable()), (Some("invalid_auth"), false));
        let e = web_api_answer(
            POST_MESSAGE,
            answer(200, r#"{"ok":false,"error":"Secret xoxb-1 here"}"#),
        )
        .expect_err("refused");
        assert_eq!(e.code(), Some("unknown_error"));
        let e = web_api_answer(POST_MESSAGE, answer(200, r#"{"ok":"xoxb-secret"}"#)).expect_err("garbled");
        assert!(
            matches!(e, SlackError::BadResponse { .. }) && !e.to_string().contains("xoxb"),
            "{e}"
        );
        let e = web_api_answer(POST_MESSAGE, answer(503, "upstream down")).expect_err("503");
        assert_eq!((e.code(), e.is_retryable()), (Some("http_503"), true));
        let e = web_api_answer(POST_MESSAGE, answer(200, r#"{"ok":true}"#))
            .and_then(|r| r.posted(POST_MESSAGE))
            .expect_err("no ts");
        assert!(matches!(e, SlackError::BadResponse { .. }));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn configuration_errors_do_not_quote_the_secret() {
        let e = SlackClient::bot("xoxb-1\nsecret").expect_err("newline");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = SlackClient::webhook("ftp://hooks.example/services/SECRET").expect_err("scheme");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let e = SlackClient::webhook("hooks/SECRET").expect_err("relative");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let webhook = SlackClient::webhook("https://hooks.slack.com/services/T1/B1/SECRET").expect("valid");
        assert!(webhook.clone().with_api_base("http://127.0.0.1:1/api").is_err());
        let bot = SlackClient::bot("xoxb-SECRET")
            .and_then(|c| c.with_api_base("http://127.0.0.1:1/api"))
            .expect("valid");
        let shown = format!("{webhook:?} {bot:?}");
        assert!(
            !shown.contains("SECRET") && shown.contains("http://127.0.0.1:1/api/"),
            "{shown}"
        );
    }
}
