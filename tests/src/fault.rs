//! A fault-injecting HTTP proxy for AWS JSON protocols: sits between an SDK client and moto's
//! server and, for chosen operations (by `X-Amz-Target`), answers the first N requests with a
//! throttling error, a 5xx, or a PutEvents response whose entries all failed; everything else is
//! forwarded. Tests use it to show that retries really happen and that persistent failures are
//! reported, not swallowed. Armed ([`FaultProxy::fail_after`], core's `StoreFaults`), it lets n
//! requests of any operation through and then fails every request with a 500 until healed —
//! before forwarding, or after (the write happened, its answer is lost).
//!
//! In chaos mode ([`FaultProxy::chaos`]) a seeded random draw picks a share of the requests to
//! the services it names (DynamoDB and EventBridge by `X-Amz-Target`, S3, a REST protocol, by
//! the service in the request's SigV4 credential scope) and answers each with the service's own
//! throttling error, a 5xx, or a timeout: the connection is held past the client's attempt
//! timeout and dropped, either before the request reaches the service or after (its answer is
//! lost). Requests seen and faults injected are counted per service and operation
//! ([`FaultProxy::tally`]).

use crate::runtime_api::read_request;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What to answer instead of forwarding.
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 400 with the service's throttling error type (`__type`), e.g.
    /// `com.amazonaws.dynamodb.v20120810#ThrottlingException`.
    Throttle(&'static str),
    /// HTTP 500 with the given error type.
    ServerError(&'static str),
    /// A 200 PutEvents response in which every entry failed with `InternalFailure`.
    PutEventsAllFailed,
    /// No answer: the connection is held this long and then closed (a stalled connection, as
    /// a client sees a service that accepted the request and never answered).
    Stall(Duration),
    /// Any answer: status line (`500 Internal Server Error`), content type and body.
    Respond {
        /// Status code and reason.
        status: &'static str,
        /// `content-type`.
        content_type: &'static str,
        /// The body.
        body: String,
    },
}

/// Inject `fault` into the first `times` requests for `operation` (the part of `X-Amz-Target`
/// after the dot, e.g. `PutItem`, `PutEvents`; `""` for REST protocols such as S3's, which send
/// no target).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Operation name.
    pub operation: &'static str,
    /// How many requests get the fault.
    pub times: usize,
    /// The fault.
    pub fault: Fault,
}

/// One request the proxy saw, as the client sent it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The `user-agent` header (what CloudTrail records as `userAgent`).
    pub user_agent: String,
    /// The `x-amz-user-agent` header, when sent.
    pub amz_user_agent: String,
    /// The body, as text.
    pub body: String,
}

/// A fault chaos mode injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Injected {
    /// The service's throttling error: DynamoDB `ThrottlingException` or
    /// `ProvisionedThroughputExceededException` (HTTP 400), EventBridge `ThrottlingException`
    /// (HTTP 400), S3 `503 SlowDown`.
    Throttle,
    /// The service's internal error: HTTP 500 (DynamoDB `InternalServerError`, EventBridge
    /// `InternalException`, S3 `InternalError`).
    ServerError,
    /// No answer: the connection is held for [`Chaos::hold`] and closed; the request never
    /// reached the service.
    Timeout,
    /// The request reached the service, then no answer: held and closed like [`Injected::Timeout`].
    LostAnswer,
}

impl Injected {
    /// Every kind, in a fixed order (for reports).
    pub const ALL: [Injected; 4] = [
        Injected::Throttle,
        Injected::ServerError,
        Injected::Timeout,
        Injected::LostAnswer,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Injected::Throttle => "throttle",
            Injected::ServerError => "5xx",
            Injected::Timeout => "timeout",
            Injected::LostAnswer => "lost answer",
        }
    }
}

/// Chaos mode: which requests get a fault, drawn from a seeded generator in arrival order (the
/// same seed and the same requests in the same order give the same faults).
#[derive(Debug, Clone)]
pub struct Chaos {
    /// The generator's seed.
    pub seed: u64,
    /// The share of requests faulted, in basis points (1,000 = 10%).
    pub rate_bp: u32,
    /// The services faulted, as the SigV4 credential scope names them (`dynamodb`, `events`,
    /// `s3`); requests to other services are forwarded.
    pub services: Vec<&'static str>,
    /// How the faults are shared among kinds: relative weights.
    pub kinds: Vec<(Injected, u32)>,
    /// How long a timed-out request's connection is held before it is closed: longer than the
    /// client's attempt timeout, so the client gives up first.
    pub hold: Duration,
}

/// What one service operation saw through the proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests that arrived (each attempt counts).
    pub seen: usize,
    /// Faults chaos mode injected, by kind.
    pub injected: BTreeMap<Injected, usize>,
    /// Time the service took to answer the requests forwarded to it (from sending the request
    /// to the end of its answer), in all.
    pub answering: Duration,
}

impl Tally {
    /// Faults of every kind.
    pub fn faults(&self) -> usize {
        self.injected.values().sum()
    }
}

/// A request the service got and what it answered (kept for the operations
/// [`FaultProxy::capture`] names), also when the answer never reached the client.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The operation.
    pub operation: String,
    /// The request body.
    pub request: Vec<u8>,
    /// The answer's status code.
    pub status: u16,
    /// The answer's body.
    pub response: Vec<u8>,
    /// Whether the client got the answer (false for [`Injected::LostAnswer`]).
    pub delivered: bool,
}

/// A small seeded generator (SplitMix64): reproducible, no dependency.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Debug, Default)]
struct Counters {
    log: Vec<Logged>,
    seen: HashMap<String, usize>,
    injected: HashMap<String, usize>,
    /// Per (service, operation).
    tally: BTreeMap<(String, String), Tally>,
    /// Chaos mode and its generator.
    chaos: Option<(Chaos, SplitMix)>,
    /// Whether the request log is kept (chaos runs of thousands of requests turn it off).
    no_log: bool,
    /// Forward one request at a time (see [`FaultProxy::one_at_a_time`]).
    serial: bool,
    /// Operations whose forwarded requests and the service's answers are kept.
    capture: Vec<String>,
    captured: Vec<Exchange>,
    /// Armed: requests still let through, whether any failed since.
    armed: Option<(usize, bool)>,
    /// Armed failures forward the request first and lose its answer.
    after_forwarding: bool,
}

/// The running proxy; it stops accepting when dropped (its threads end with their connections).
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    counters: Arc<Mutex<Counters>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    rewrites: Arc<Mutex<Vec<Rewrite>>>,
}

/// A change made to the JSON body of a forwarded answer to one operation.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite {
    /// The operation (as in [`Rule::operation`]).
    pub operation: &'static str,
    /// What is done to the answer's body.
    pub apply: fn(&mut Value),
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("local addr").port();
        let counters = Arc::new(Mutex::new(Counters::default()));
        let rules = Arc::new(Mutex::new(rules));
        let rewrites: Arc<Mutex<Vec<Rewrite>>> = Arc::new(Mutex::new(Vec::new()));
        let (shared_rules, shared, shared_rewrites) = (rules.clone(), counters.clone(), rewrites.clone());
        thread::spawn(move || {
            let rules = shared_rules;
            for conn in listener.incoming().flatten() {
                let (rules, counters, upstream, rewrites) =
                    (rules.clone(), shared.clone(), upstream.clone(), shared_rewrites.clone());
                thread::spawn(move || serve(conn, &upstream, &rules, &counters, &rewrites));
            }
        });
        FaultProxy {
            port,
            counters,
            rules,
            rewrites,
        }
    }

    /// Rewrites the JSON body of every forwarded answer to `rewrite.operation` (a stand-in whose
    /// answers stray from the API's wire shape is put back in it).
    pub fn rewrite(&self, rewrite: Rewrite) {
        if let Ok(mut r) = self.rewrites.lock() {
            r.push(rewrite);
        }
    }

    /// Drops every rule: from now on requests are forwarded (unless armed).
    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
        }
    }

    /// Adds a rule while the proxy runs (its count starts from the faults already injected
    /// for the operation).
    pub fn add(&self, rule: Rule) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(rule);
        }
    }

    /// The endpoint URL to give the SDK.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests for `operation` arrived (faulted or forwarded).
    pub fn seen(&self, operation: &str) -> usize {
        self.counters
            .lock()
            .map_or(0, |c| c.seen.get(operation).copied().unwrap_or(0))
    }

    /// Armed failures forward the request first, then answer 500: the write happened but the
    /// caller does not know.
    pub fn lose_answers(self) -> Self {
        if let Ok(mut c) = self.counters.lock() {
            c.after_forwarding = true;
        }
        self
    }

    /// Turns chaos mode on (replacing any earlier chaos), with a fresh generator from its seed,
    /// and stops keeping the request log (the counts are kept).
    pub fn chaos(&self, chaos: Chaos) {
        if let Ok(mut c) = self.counters.lock() {
            let rng = SplitMix(chaos.seed);
            c.chaos = Some((chaos, rng));
            c.no_log = true;
        }
    }

    /// Turns chaos mode off: from now on requests are forwarded (unless a rule or arming says
    /// otherwise).
    pub fn calm(&self) {
        if let Ok(mut c) = self.counters.lock() {
            c.chaos = None;
        }
    }

    /// From now on requests reach the service one at a time. moto's server runs each request
    /// on its own thread and its DynamoDB checks a condition and writes without a lock, so two
    /// concurrent conditional writes on one item can both succeed; DynamoDB makes each
    /// conditional write atomic. Serialised, moto keeps that promise (it is single-core bound
    /// anyway). Held and failed requests are not serialised.
    pub fn one_at_a_time(&self) {
        if let Ok(mut c) = self.counters.lock() {
            c.serial = true;
        }
    }

    /// Stops keeping the request log (the counts are kept): for runs of many thousands of
    /// requests.
    pub fn quiet(&self) {
        if let Ok(mut c) = self.counters.lock() {
            c.no_log = true;
        }
    }

    /// Keeps every request for `operation` that reached the service, with its answer.
    pub fn capture(&self, operation: &str) {
        if let Ok(mut c) = self.counters.lock() {
            c.capture.push(operation.to_owned());
        }
    }

    /// The exchanges kept so far, in the order the service answered them.
    pub fn captured(&self) -> Vec<Exchange> {
        self.counters.lock().map(|c| c.captured.clone()).unwrap_or_default()
    }

    /// What each (service, operation) saw so far.
    pub fn tally(&self) -> BTreeMap<(String, String), Tally> {
        self.counters.lock().map(|c| c.tally.clone()).unwrap_or_default()
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Logged> {
        self.counters.lock().map(|c| c.log.clone()).unwrap_or_default()
    }

    /// How many requests for `operation` got a fault.
    pub fn injected(&self, operation: &str) -> usize {
        self.counters
            .lock()
            .map_or(0, |c| c.injected.get(operation).copied().unwrap_or(0))
    }
}

impl driftguard_core::conformance::StoreFaults for FaultProxy {
    fn fail_after(&self, ok: usize) {
        if let Ok(mut c) = self.counters.lock() {
            c.armed = Some((ok, false));
        }
    }

    fn heal(&self) -> bool {
        self.counters
            .lock()
            .map(|mut c| c.armed.take().is_some_and(|(_, hit)| hit))
            .unwrap_or(false)
    }
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    rules: &Mutex<Vec<Rule>>,
    counters: &Mutex<Counters>,
    rewrites: &Mutex<Vec<Rewrite>>,
) {
    let Ok(mut writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    while let Ok(Some(request)) = read_request(&mut reader, &mut writer) {
        let operation = request
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned();
        let service = service_of(&request);
        let named = if operation.is_empty() && service == "s3" {
            s3_operation(&request.method, &request.target).to_owned()
        } else {
            operation.clone()
        };
        let (fault, armed_fault, chaos) = {
            let Ok(mut c) = counters.lock() else { return };
            *c.seen.entry(operation.clone()).or_insert(0) += 1;
            if !c.no_log {
                c.log.push(Logged {
                    method: request.method.clone(),
                    target: request.target.clone(),
                    user_agent: request.header("user-agent").unwrap_or("").to_owned(),
                    amz_user_agent: request.header("x-amz-user-agent").unwrap_or("").to_owned(),
                    body: String::from_utf8_lossy(&request.body).into_owned(),
                });
            }
            let chaos = draw(&mut c, &service);
            let tally = c.tally.entry((service.clone(), named.clone())).or_default();
            tally.seen += 1;
            if let Some((kind, _)) = &chaos {
                *tally.injected.entry(*kind).or_insert(0) += 1;
            }
            let armed_fault = match &mut c.armed {
                Some((0, hit)) => {
                    *hit = true;
                    true
                }
                Some((left, _)) => {
                    *left -= 1;
                    false
                }
                None => false,
            };
            if armed_fault {
                let after = c.after_forwarding;
                drop(c);
                (None, Some(after), None)
            } else if chaos.is_some() {
                (None, None, chaos)
            } else {
                let done = c.injected.get(&operation).copied().unwrap_or(0);
                let rules = match rules.lock() {
                    Ok(r) => r.clone(),
                    Err(_) => return,
                };
                let rule = rules
                    .iter()
                    .find(|r| r.operation == operation && done < r.times)
                    .map(|r| r.fault.clone());
                if rule.is_some() {
                    *c.injected.entry(operation.clone()).or_insert(0) += 1;
                }
                (rule, None, None)
            }
        };
        if let Some((kind, hold)) = chaos {
            match kind {
                Injected::Timeout | Injected::LostAnswer => {
                    if kind == Injected::LostAnswer {
                        let Ok(bytes) = forward_in_turn(upstream, &request, counters) else {
                            return;
                        };
                        keep(counters, &named, &request.body, &bytes, false);
                    }
                    // Hold the connection past the client's timeout, then drop it unanswered.
                    thread::sleep(hold);
                    return;
                }
                Injected::Throttle | Injected::ServerError => {
                    let response = service_error(&service, kind, &request);
                    if writer.write_all(&response).is_err() || request.wants_close() {
                        return;
                    }
                    continue;
                }
            }
        }
        let armed_500 = Fault::ServerError("com.amazonaws.dynamodb.v20120810#InternalServerError");
        let response = match (fault, armed_fault) {
            (_, Some(after_forwarding)) => {
                if after_forwarding && forward(upstream, &request).is_err() {
                    return;
                }
                fault_response(&armed_500, &request.body)
            }
            (Some(Fault::Stall(hold)), None) => {
                thread::sleep(hold);
                return;
            }
            (Some(f), None) => fault_response(&f, &request.body),
            (None, None) => match forward_timed(upstream, &request, counters, &service, &named) {
                Ok(bytes) => {
                    keep(counters, &named, &request.body, &bytes, true);
                    let rewrite = rewrites
                        .lock()
                        .ok()
                        .and_then(|r| r.iter().find(|r| r.operation == operation).copied());
                    match rewrite {
                        Some(r) => rewritten(bytes, r.apply),
                        None => bytes,
                    }
                }
                Err(_) => return,
            },
        };
        if writer.write_all(&response).is_err() || request.wants_close() {
            return;
        }
    }
}

/// The turn to reach the service, when requests go one at a time (shared by the proxies of a
/// process: a test runs one service at a time).
static TURN: Mutex<()> = Mutex::new(());

/// [`forward`], one request at a time when the proxy is set so.
fn forward_in_turn(
    upstream: &str,
    request: &crate::runtime_api::Request,
    counters: &Mutex<Counters>,
) -> std::io::Result<Vec<u8>> {
    if counters.lock().is_ok_and(|c| c.serial) {
        let _turn = TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        forward(upstream, request)
    } else {
        forward(upstream, request)
    }
}

/// [`forward_in_turn`], adding the time the service took to its tally (the wait for a turn
/// left out).
fn forward_timed(
    upstream: &str,
    request: &crate::runtime_api::Request,
    counters: &Mutex<Counters>,
    service: &str,
    operation: &str,
) -> std::io::Result<Vec<u8>> {
    let timed = || {
        let started = std::time::Instant::now();
        let answer = forward(upstream, request);
        let took = started.elapsed();
        if let Ok(mut c) = counters.lock() {
            if let Some(t) = c.tally.get_mut(&(service.to_owned(), operation.to_owned())) {
                t.answering += took;
            }
        }
        answer
    };
    if counters.lock().is_ok_and(|c| c.serial) {
        let _turn = TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        timed()
    } else {
        timed()
    }
}

/// Keeps an exchange when its operation is captured.
fn keep(counters: &Mutex<Counters>, operation: &str, request: &[u8], response: &[u8], delivered: bool) {
    let Ok(mut c) = counters.lock() else { return };
    if !c.capture.iter().any(|o| o == operation) {
        return;
    }
    let status = std::str::from_utf8(&response[..response.len().min(16)])
        .ok()
        .and_then(|head| head.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |at| &response[at + 4..]);
    c.captured.push(Exchange {
        operation: operation.to_owned(),
        request: request.to_vec(),
        status,
        response: body.to_vec(),
        delivered,
    });
}

/// The service a request is for: the service name of its SigV4 credential scope
/// (`Credential=AKID/20261201/eu-west-1/dynamodb/aws4_request`), else the `X-Amz-Target`
/// prefix, else `s3` for a request without a target (S3's REST protocol, path-style on a local
/// endpoint).
fn service_of(request: &crate::runtime_api::Request) -> String {
    let scope = request.header("authorization").and_then(|a| {
        let credential = a.split("Credential=").nth(1)?;
        let credential = credential.split([',', ' ']).next()?;
        credential.split('/').nth(3).map(str::to_owned)
    });
    if let Some(service) = scope {
        return service;
    }
    match request.header("x-amz-target") {
        Some(t) if t.starts_with("DynamoDB_") => "dynamodb".to_owned(),
        Some(t) if t.starts_with("AWSEvents.") => "events".to_owned(),
        Some(t) => t.split('.').next().unwrap_or("").to_ascii_lowercase(),
        None => "s3".to_owned(),
    }
}

/// An S3 REST request's operation, from its method, path and query (path-style addressing:
/// `/bucket` or `/bucket/key`).
fn s3_operation(method: &str, target: &str) -> &'static str {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let has_key = path.trim_start_matches('/').contains('/');
    let has = |q: &str| query.split('&').any(|p| p == q || p.starts_with(&format!("{q}=")));
    match (method, has_key) {
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("GET", false) if has("versions") => "ListObjectVersions",
        ("GET", false) => "ListObjects",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("HEAD", false) => "HeadBucket",
        ("PUT", true) => "PutObject",
        ("PUT", false) => "CreateBucket",
        ("DELETE", true) => "DeleteObject",
        _ => "other",
    }
}

/// Chaos mode's verdict on one request to `service`: a fault and how long to hold, or `None`.
fn draw(c: &mut Counters, service: &str) -> Option<(Injected, Duration)> {
    let (chaos, rng) = c.chaos.as_mut()?;
    if !chaos.services.contains(&service) {
        return None;
    }
    if rng.next() % 10_000 >= u64::from(chaos.rate_bp) {
        return None;
    }
    let total: u64 = chaos.kinds.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut pick = rng.next() % total.max(1);
    for (kind, weight) in &chaos.kinds {
        if pick < u64::from(*weight) {
            return Some((*kind, chaos.hold));
        }
        pick -= u64::from(*weight);
    }
    None
}

/// The answer `service` gives for a throttled or failed request, in its own protocol.
fn service_error(service: &str, kind: Injected, request: &crate::runtime_api::Request) -> Vec<u8> {
    let json = |status: &str, content_type: &str, kind: &str, message: &str| {
        http(
            status,
            content_type,
            &json!({"__type": kind, "message": message}).to_string(),
        )
    };
    match (service, kind) {
        ("s3", Injected::Throttle) => {
            xml_error("503 Slow Down", "SlowDown", "Please reduce your request rate.", request)
        }
        ("s3", _) => xml_error(
            "500 Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
            request,
        ),
        ("dynamodb", Injected::Throttle) => {
            // DynamoDB has two throttling errors: the account's request rate, and a table's
            // provisioned throughput; both are retried the same way.
            let kind = if request.body.len() % 2 == 0 {
                "com.amazonaws.dynamodb.v20120810#ThrottlingException"
            } else {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            };
            json(
                "400 Bad Request",
                "application/x-amz-json-1.0",
                kind,
                "Rate of requests exceeds the allowed throughput.",
            )
        }
        ("dynamodb", _) => json(
            "500 Internal Server Error",
            "application/x-amz-json-1.0",
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
        ),
        (_, Injected::Throttle) => json(
            "400 Bad Request",
            "application/x-amz-json-1.1",
            "ThrottlingException",
            "Rate exceeded",
        ),
        (_, _) => json(
            "500 Internal Server Error",
            "application/x-amz-json-1.1",
            "InternalException",
            "An internal error occurred.",
        ),
    }
}

/// An S3 error document (`<Error><Code>...`), as S3 sends it; a `HEAD` answer has no body.
fn xml_error(status: &str, code: &str, message: &str, request: &crate::runtime_api::Request) -> Vec<u8> {
    let body = if request.method == "HEAD" {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULTPROXY0000001</RequestId><HostId>fault-proxy</HostId></Error>"
        )
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nx-amz-request-id: FAULTPROXY0000001\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn http(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: fault-proxy\r\n\r\n{body}", body.len())
        .into_bytes()
}

fn fault_response(fault: &Fault, request_body: &[u8]) -> Vec<u8> {
    match fault {
        Fault::Throttle(kind) => http(
            "400 Bad Request",
            "application/x-amz-json-1.0",
            &json!({"__type": kind, "message": "Rate exceeded (injected)"}).to_string(),
        ),
        Fault::ServerError(kind) => http(
            "500 Internal Server Error",
            "application/x-amz-json-1.0",
            &json!({"__type": kind, "message": "Injected server error"}).to_string(),
        ),
        Fault::Respond {
            status,
            content_type,
            body,
        } => http(status, content_type, body),
        // Answered by holding the connection (see `serve`); never written.
        Fault::Stall(_) => Vec::new(),
        Fault::PutEventsAllFailed => {
            let entries = serde_json::from_slice::<Value>(request_body)
                .ok()
                .and_then(|v| v["Entries"].as_array().map(Vec::len))
                .unwrap_or(1);
            let failed: Vec<Value> = (0..entries)
                .map(|_| json!({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}))
                .collect();
            http(
                "200 OK",
                "application/x-amz-json-1.1",
                &json!({"FailedEntryCount": entries, "Entries": failed}).to_string(),
            )
        }
    }
}

/// A whole HTTP response with its JSON body passed through `apply` (left alone when the body
/// is not JSON).
fn rewritten(response: Vec<u8>, apply: fn(&mut Value)) -> Vec<u8> {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let (head, body) = (&response[..split], &response[split + 4..]);
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return response;
    };
    apply(&mut value);
    let body = value.to_string();
    let head = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// Sends the request upstream on a fresh connection and returns the whole response.
pub(crate) fn forward(upstream: &str, request: &crate::runtime_api::Request) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} {}\r\n", request.method, request.target, request.version);
    for (k, v) in &request.headers {
        if k != "connection" && k != "transfer-encoding" && k != "content-length" && k != "expect" {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        request.body.len()
    ));
    up.write_all(head.as_bytes())?;
    up.write_all(&request.body)?;
    let mut reader = BufReader::new(up);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let headers = crate::runtime_api::read_headers(&mut reader)?;
    let mut body = Vec::new();
    match headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
    {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    let mut out = status.trim_end().to_owned();
    out.push_str("\r\n");
    for (k, v) in headers
        .iter()
        .filter(|(k, _)| k != "connection" && k != "content-length" && k != "transfer-encoding")
    {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(bytes)
}
