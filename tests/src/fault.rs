//! A fault-injecting HTTP proxy for AWS JSON protocols: sits between an SDK client and moto's
//! server and, for chosen operations (by `X-Amz-Target`), answers the first N requests with a
//! throttling error, a 5xx, or a PutEvents response whose entries all failed; everything else is
//! forwarded. Tests use it to show that retries really happen and that persistent failures are
//! reported, not swallowed. Armed ([`FaultProxy::fail_after`], core's `StoreFaults`), it lets n
//! requests of any operation through and then fails every request with a 500 until healed —
//! before forwarding, or after (the write happened, its answer is lost).

use crate::runtime_api::read_request;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

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

#[derive(Debug, Default)]
struct Counters {
    log: Vec<Logged>,
    seen: HashMap<String, usize>,
    injected: HashMap<String, usize>,
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
        let (fault, armed_fault) = {
            let Ok(mut c) = counters.lock() else { return };
            *c.seen.entry(operation.clone()).or_insert(0) += 1;
            c.log.push(Logged {
                method: request.method.clone(),
                target: request.target.clone(),
                user_agent: request.header("user-agent").unwrap_or("").to_owned(),
                amz_user_agent: request.header("x-amz-user-agent").unwrap_or("").to_owned(),
                body: String::from_utf8_lossy(&request.body).into_owned(),
            });
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
                (None, Some(after))
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
                (rule, None)
            }
        };
        let armed_500 = Fault::ServerError("com.amazonaws.dynamodb.v20120810#InternalServerError");
        let response = match (fault, armed_fault) {
            (_, Some(after_forwarding)) => {
                if after_forwarding && forward(upstream, &request).is_err() {
                    return;
                }
                fault_response(&armed_500, &request.body)
            }
            (Some(f), None) => fault_response(&f, &request.body),
            (None, None) => match forward(upstream, &request) {
                Ok(bytes) => {
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
