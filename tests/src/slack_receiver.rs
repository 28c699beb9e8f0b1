//! An HTTP receiver on loopback standing in for Slack, so a test drives the real Slack client (or
//! a compiled function) over real sockets and asserts on exactly what Slack would have received.
//!
//! ```no_run
//! use driftguard_tests::slack_receiver::{Reply, SlackReceiver};
//!
//! let slack = SlackReceiver::start();
//! // The first chat.postMessage is rate limited, the second fails, the third gets this answer.
//! slack.script(
//!     "/api/chat.postMessage",
//!     [
//!         Reply::rate_limited(1),
//!         Reply::server_error(),
//!         Reply::ok_posted("C1", "1700000000.000100"),
//!     ],
//! );
//! // ... point a bot client at `slack.api_base()`, a webhook client at `slack.url("/services/...")`,
//! // post, then:
//! for request in slack.requests_to("/api/chat.postMessage") {
//!     assert_eq!(request.header("authorization"), Some("Bearer xoxb-test"));
//! }
//! ```
//!
//! Every request is recorded (method, path, headers, body, the body as JSON when it is JSON, and
//! when it arrived). Each path has a queue of scripted replies; once it is empty, the receiver
//! answers like Slack: `/api/chat.postMessage` and `/api/chat.update` with `{"ok": true,
//! "channel": ..., "ts": ...}` (or Slack's `not_authed` / `invalid_auth` / `channel_not_found` /
//! `no_text` errors), any other path as an incoming webhook, `ok` or an error code as text.
//!
//! In chaos mode ([`SlackReceiver::chaos`]) a seeded share of the requests nobody scripted is
//! answered `429` with `Retry-After` or a 5xx instead; [`SlackReceiver::accepted`] lists the
//! requests Slack would have acted on (answered `ok`).
//!
//! HTTP/1.1 with keep-alive, one thread per connection, the request parsing of
//! [`runtime_api`](crate::runtime_api); standard library only.

use crate::runtime_api::{read_request, Request};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Where the receiver serves the Web API (`/api/<method>`), like `https://slack.com/api/`.
pub const API_PREFIX: &str = "/api/";

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// When the whole request had arrived.
    pub at: Instant,
}

impl Received {
    /// The first value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn from_request(request: Request) -> Received {
        let json = serde_json::from_slice(&request.body).ok();
        Received {
            method: request.method,
            path: request.target.split('?').next().unwrap_or_default().to_owned(),
            headers: request.headers,
            body: request.body,
            json,
            at: Instant::now(),
        }
    }
}

/// An answer to send, scripted by a test or chosen by the receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers besides `Content-Length` (and `Connection`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering (to make a client time out).
    pub delay: Duration,
}

impl Reply {
    /// A JSON answer, typed `application/json; charset=utf-8` as Slack's Web API does.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    /// A plain-text answer, as incoming webhooks give (`ok`, `invalid_blocks`, ...).
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// A successful `chat.postMessage` / `chat.update` answer.
    pub fn ok_posted(channel: &str, ts: &str) -> Reply {
        Reply::json(200, &json!({ "ok": true, "channel": channel, "ts": ts }))
    }

    /// A Web API refusal: HTTP 200 with `{"ok": false, "error": code}`.
    pub fn api_error(code: &str) -> Reply {
        Reply::json(200, &json!({ "ok": false, "error": code }))
    }

    /// HTTP 429 with `Retry-After: <seconds>` and `{"ok": false, "error": "ratelimited"}`.
    pub fn rate_limited(retry_after_seconds: u64) -> Reply {
        Reply::json(429, &json!({ "ok": false, "error": "ratelimited" }))
            .with_header("Retry-After", &retry_after_seconds.to_string())
    }

    /// HTTP 500 with an HTML page, as a failing front end gives.
    pub fn server_error() -> Reply {
        let mut reply = Reply::text(500, "<html><body><h1>500 Internal Server Error</h1></body></html>");
        reply.headers = vec![("Content-Type".into(), "text/html".into())];
        reply
    }

    /// The reply with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The reply sent only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A Slack stand-in on `127.0.0.1`, serving on background threads until dropped (dropping it
/// closes every connection).
pub struct SlackReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

/// Chaos mode: a share of requests answered 429 or 5xx, drawn from a seeded generator in
/// arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlackChaos {
    /// The generator's seed.
    pub seed: u64,
    /// The share of requests refused, in basis points (1,000 = 10%).
    pub rate_bp: u32,
    /// Of the refusals, the share that are 429s (the rest are 500, 502 and 503 in turn), in
    /// basis points.
    pub rate_limited_bp: u32,
    /// The `Retry-After` a 429 carries, in seconds.
    pub retry_after_s: u64,
}

/// What chaos mode did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChaosCount {
    /// Requests answered 429.
    pub rate_limited: usize,
    /// Requests answered with a 5xx.
    pub server_errors: usize,
}

#[derive(Default)]
struct State {
    requests: Vec<Received>,
    /// Requests answered `ok` (HTTP 200 and `"ok": true`, or a webhook's `ok`).
    accepted: Vec<Received>,
    chaos: Option<(SlackChaos, u64)>,
    chaos_count: ChaosCount,
    scripts: HashMap<String, VecDeque<Reply>>,
    token: Option<String>,
    posted: u64,
    connections: HashMap<u64, TcpStream>,
    next_connection: u64,
    shutdown: bool,
}

impl SlackReceiver {
    /// Starts a receiver on a free loopback port.
    pub fn start() -> SlackReceiver {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port for the Slack receiver");
        let addr = listener.local_addr().expect("read the Slack receiver's address");
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name(format!("slack-receiver-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &accepting))
            .expect("spawn the Slack receiver's accept thread");
        SlackReceiver { addr, shared }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (e.g. a webhook path `/services/T…/B…/…`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The Web API base to give a bot client: `http://127.0.0.1:PORT/api/`.
    pub fn api_base(&self) -> String {
        self.url(API_PREFIX)
    }

    /// From now on, Web API calls with another bearer token are answered `invalid_auth`
    /// (calls without one always get `not_authed`).
    pub fn expect_token(&self, token: &str) {
        self.lock().token = Some(token.to_owned());
    }

    /// Queues replies for `path`, used in order before the receiver's own answers.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.lock().scripts.entry(path.to_owned()).or_default().extend(replies);
    }

    /// Turns chaos mode on (a fresh generator from its seed).
    pub fn chaos(&self, chaos: SlackChaos) {
        self.lock().chaos = Some((chaos, chaos.seed));
    }

    /// Turns chaos mode off.
    pub fn calm(&self) {
        self.lock().chaos = None;
    }

    /// What chaos mode did so far.
    pub fn chaos_count(&self) -> ChaosCount {
        self.lock().chaos_count
    }

    /// The requests answered `ok`, in arrival order: what Slack would have posted or updated.
    pub fn accepted(&self) -> Vec<Received> {
        self.lock().accepted.clone()
    }

    /// Scripted replies for `path` not used yet.
    pub fn pending(&self, path: &str) -> usize {
        self.lock().scripts.get(path).map_or(0, VecDeque::len)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    /// The requests after the first `n`, in arrival order (cheap to poll: only the new ones
    /// are copied).
    pub fn requests_since(&self, n: usize) -> Vec<Received> {
        self.lock().requests.iter().skip(n).cloned().collect()
    }

    /// The requests to `path`, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.lock()
            .requests
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Drop for SlackReceiver {
    fn drop(&mut self) {
        {
            let mut state = self.lock();
            state.shutdown = true;
            for connection in state.connections.values() {
                let _ = connection.shutdown(Shutdown::Both);
            }
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

impl std::fmt::Debug for SlackReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackReceiver")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.lock().shutdown {
            return;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let serving = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("slack-receiver-connection".into())
            .spawn(move || serve_connection(&serving, stream));
        if let Err(error) = spawned {
            eprintln!("Slack receiver: cannot serve a connection: {error}");
        }
    }
}

/// Serves requests on one connection until the client closes it or the receiver is dropped.
fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (Ok(mut writer), Ok(registered)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let key = {
        let mut state = shared.lock();
        if state.shutdown {
            return;
        }
        let key = state.next_connection;
        state.next_connection += 1;
        state.connections.insert(key, registered);
        key
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader, &mut writer) {
        let close = request.wants_close();
        let received = Received::from_request(request);
        let reply = {
            let mut state = shared.lock();
            state.requests.push(received.clone());
            let scripted = state.scripts.get_mut(&received.path).and_then(VecDeque::pop_front);
            let reply = scripted
                .or_else(|| chaos_reply(&mut state))
                .unwrap_or_else(|| answer_like_slack(&mut state, &received));
            if is_ok(&reply) {
                state.accepted.push(received.clone());
            }
            reply
        };
        if !reply.delay.is_zero() {
            thread::sleep(reply.delay);
        }
        if write_reply(&mut writer, &reply, close).is_err() || close {
            break;
        }
    }
    shared.lock().connections.remove(&key);
}

/// A SplitMix64 step: the next state and its output.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Chaos mode's refusal for the next request, if it draws one.
fn chaos_reply(state: &mut State) -> Option<Reply> {
    let (chaos, rng) = state.chaos.as_mut()?;
    if splitmix(rng) % 10_000 >= u64::from(chaos.rate_bp) {
        return None;
    }
    if splitmix(rng) % 10_000 < u64::from(chaos.rate_limited_bp) {
        state.chaos_count.rate_limited += 1;
        return Some(Reply::rate_limited(chaos.retry_after_s));
    }
    let n = state.chaos_count.server_errors;
    state.chaos_count.server_errors += 1;
    Some(match n % 3 {
        0 => Reply::server_error(),
        1 => Reply::text(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        _ => Reply::json(503, &json!({ "ok": false, "error": "service_unavailable" })),
    })
}

/// Whether Slack acted on a request given this answer.
fn is_ok(reply: &Reply) -> bool {
    reply.status == 200
        && (reply.body == b"ok" || serde_json::from_slice::<Value>(&reply.body).is_ok_and(|v| v["ok"] == json!(true)))
}

/// What Slack would answer a request nobody scripted.
fn answer_like_slack(state: &mut State, request: &Received) -> Reply {
    if request.method != "POST" {
        return Reply::text(405, "method_not_allowed");
    }
    match request.path.strip_prefix(API_PREFIX) {
        Some(method) => web_api(state, method, request),
        None => webhook(request),
    }
}

/// Whether a message body has something to show: a non-empty `text` or `blocks`.
fn has_content(body: &Value) -> bool {
    body["text"].as_str().is_some_and(|text| !text.is_empty())
        || body["blocks"].as_array().is_some_and(|blocks| !blocks.is_empty())
}

fn webhook(request: &Received) -> Reply {
    match &request.json {
        None => Reply::text(400, "invalid_payload"),
        Some(body) if body.get("blocks").is_some_and(|blocks| !blocks.is_array()) => Reply::text(400, "invalid_blocks"),
        Some(body) if !has_content(body) => Reply::text(400, "no_text"),
        Some(_) => Reply::text(200, "ok"),
    }
}

fn web_api(state: &mut State, method: &str, request: &Received) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    match (token, &state.token) {
        (None, _) => return Reply::api_error("not_authed"),
        (Some(given), Some(expected)) if given != expected => return Reply::api_error("invalid_auth"),
        _ => {}
    }
    let Some(body) = &request.json else {
        return Reply::api_error("invalid_arguments");
    };
    let Some(channel) = body["channel"].as_str() else {
        return Reply::api_error("channel_not_found");
    };
    match method {
        "chat.postMessage" => {
            if !has_content(body) {
                return Reply::api_error("no_text");
            }
            state.posted += 1;
            let ts = format!("1700000000.{:06}", 100 * state.posted);
            Reply::json(
                200,
                &json!({
                    "ok": true,
                    "channel": channel,
                    "ts": ts,
                    "message": { "type": "message", "text": body["text"], "ts": ts },
                }),
            )
        }
        "chat.update" => {
            let Some(ts) = body["ts"].as_str() else {
                return Reply::api_error("message_not_found");
            };
            if !has_content(body) {
                return Reply::api_error("no_text");
            }
            Reply::json(
                200,
                &json!({ "ok": true, "channel": channel, "ts": ts, "text": body["text"] }),
            )
        }
        _ => Reply::json(404, &json!({ "ok": false, "error": "unknown_method" })),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_reply(writer: &mut impl Write, reply: &Reply, close: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(&reply.body);
    writer.write_all(&message)?;
    writer.flush()
}

/// What a person sees of a Block Kit message, read from the JSON Slack received, so tests assert
/// texts, buttons and ids directly (never "equals what the renderer produced").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible {
    /// The header block's text, when there is one.
    pub header: Option<String>,
    /// Every section's text and fields, and every context element, in order.
    pub texts: Vec<String>,
    /// The buttons, in order.
    pub buttons: Vec<Button>,
}

/// One button as a person (and DriftGuard, on click) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Its label.
    pub label: String,
    /// `action_id`.
    pub action_id: String,
    /// The finding ids its value names (`finding_id` or `finding_ids`).
    pub finding_ids: Vec<String>,
    /// The confirmation dialog's title, when it asks first.
    pub confirm: Option<String>,
    /// Its value, parsed (what a click sends back).
    pub value: Value,
}

impl Visible {
    /// Reads `{"text", "blocks"}` (or a payload carrying them).
    pub fn of(message: &Value) -> Visible {
        let mut out = Visible {
            header: None,
            texts: Vec::new(),
            buttons: Vec::new(),
        };
        let text = |v: &Value| v["text"].as_str().map(str::to_owned);
        for block in message["blocks"].as_array().into_iter().flatten() {
            match block["type"].as_str() {
                Some("header") => out.header = text(&block["text"]),
                Some("section") => {
                    out.texts.extend(text(&block["text"]));
                    for field in block["fields"].as_array().into_iter().flatten() {
                        out.texts.extend(text(field));
                    }
                }
                Some("context") => {
                    for element in block["elements"].as_array().into_iter().flatten() {
                        out.texts.extend(text(element));
                    }
                }
                Some("actions") => {
                    for e in block["elements"].as_array().into_iter().flatten() {
                        let value: Value = e["value"]
                            .as_str()
                            .and_then(|v| serde_json::from_str(v).ok())
                            .unwrap_or(Value::Null);
                        let mut ids: Vec<String> =
                            value["finding_id"].as_str().map(str::to_owned).into_iter().collect();
                        ids.extend(
                            value["finding_ids"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_owned),
                        );
                        out.buttons.push(Button {
                            label: text(&e["text"]).unwrap_or_default(),
                            action_id: e["action_id"].as_str().unwrap_or_default().to_owned(),
                            finding_ids: ids,
                            confirm: e["confirm"]["title"]["text"].as_str().map(str::to_owned),
                            value,
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether some text contains `needle`.
    pub fn says(&self, needle: &str) -> bool {
        self.header.as_deref().is_some_and(|h| h.contains(needle)) || self.texts.iter().any(|t| t.contains(needle))
    }

    /// The buttons' `(label, finding ids)`.
    pub fn button_labels(&self) -> Vec<&str> {
        self.buttons.iter().map(|b| b.label.as_str()).collect()
    }
}
