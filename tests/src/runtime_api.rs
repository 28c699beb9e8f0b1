//! A Lambda Runtime API (version 2018-06-01) on loopback, so a test runs a compiled Lambda binary exactly
//! as AWS Lambda would: the binary polls `/runtime/invocation/next`, gets an event with the usual
//! `Lambda-Runtime-*` headers, and posts its answer to `/response` or `/error`.
//!
//! ```no_run
//! use std::path::Path;
//! use std::time::Duration;
//! use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
//!
//! let api = RuntimeApi::start();
//! let mut function = LambdaProcess::spawn(Path::new("target/debug/ingest"), &api, &[("RUST_LOG", "debug")]);
//! match function.invoke(br#"{"detail-type":"AWS API Call via CloudTrail"}"#, Duration::from_secs(10)) {
//!     Invocation::Response(body) => assert_eq!(body["status"], "ok"),
//!     other => panic!("{other:?}\n{}", function.logs()),
//! }
//! ```
//!
//! The server is HTTP/1.1 with keep-alive (one thread per connection, several requests per connection,
//! `Content-Length` or chunked request bodies), which is what `lambda_runtime`'s hyper client speaks.
//! Only the standard library is used, so the harness builds in seconds.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The path prefix of every Runtime API resource.
pub const API_PREFIX: &str = "/2018-06-01/runtime";
/// The region the harness pretends to run in (`AWS_REGION`, and the invoked function's ARN).
pub const REGION: &str = "eu-west-1";
/// The account the harness pretends to run in (the invoked function's ARN).
pub const ACCOUNT_ID: &str = "123456789012";
/// The function name [`RuntimeApi::start`] uses.
pub const DEFAULT_FUNCTION_NAME: &str = "driftguard-test";
/// How long a function has for one invocation, as announced in `Lambda-Runtime-Deadline-Ms`.
pub const INVOCATION_DEADLINE: Duration = Duration::from_secs(30);

/// The largest request body the server accepts (Lambda's own limit for a buffered response is 6 MB).
const MAX_BODY: usize = 16 << 20;
/// The longest request line or header line the server accepts.
const MAX_LINE: usize = 16 << 10;
/// The most headers (and trailers) one request may carry.
const MAX_HEADERS: usize = 128;
/// How often a waiting [`LambdaProcess::invoke`] checks whether the process is still alive.
const EXIT_POLL: Duration = Duration::from_millis(25);
/// How long to wait for a process's stdout/stderr readers to drain once it has exited.
const LOG_DRAIN: Duration = Duration::from_secs(1);

/// What became of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function posted to `/invocation/{id}/response`. The body as JSON: `lambda_runtime` always
    /// sends JSON for a buffered response; a body that is not JSON is kept as a JSON string (lossy
    /// UTF-8), an empty body is `Null`.
    Response(Value),
    /// The function posted to `/invocation/{id}/error`.
    Error(ReportedError),
    /// The runtime posted to `/init/error` (before or instead of answering this invocation).
    InitError(ReportedError),
    /// The function process exited before answering (only from [`LambdaProcess::invoke`]).
    ProcessExited {
        /// How it exited.
        status: ExitStatus,
    },
    /// Nothing was posted for this invocation in time.
    TimedOut {
        /// The timeout that passed.
        after: Duration,
        /// Whether a runtime fetched the event from `/invocation/next` (it was running the event and did
        /// not answer) or not (nobody polled). A queued event that was never fetched is withdrawn, so a
        /// later poll does not get it.
        delivered: bool,
    },
}

impl Invocation {
    /// The response body, or a panic naming what happened instead (for tests).
    pub fn expect_response(self) -> Value {
        match self {
            Invocation::Response(body) => body,
            other => panic!("expected a function response, got {other:?}"),
        }
    }

    /// The reported invocation error, or a panic naming what happened instead (for tests).
    pub fn expect_error(self) -> ReportedError {
        match self {
            Invocation::Error(error) => error,
            other => panic!("expected a function error, got {other:?}"),
        }
    }
}

/// An error a runtime reported, through `/invocation/{id}/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedError {
    /// The `Lambda-Runtime-Function-Error-Type` header (or trailer), if sent; `lambda_runtime` sends
    /// `unhandled`, the interesting type is in the body.
    pub header_type: Option<String>,
    /// The body as JSON, normally `{"errorType": ..., "errorMessage": ...}`; a body that is not JSON is
    /// kept as a JSON string, an empty body is `Null`.
    pub body: Value,
}

impl ReportedError {
    /// `errorType` from the body, else the error-type header.
    pub fn error_type(&self) -> Option<&str> {
        self.body
            .get("errorType")
            .and_then(Value::as_str)
            .or(self.header_type.as_deref())
    }

    /// `errorMessage` from the body.
    pub fn error_message(&self) -> Option<&str> {
        self.body.get("errorMessage").and_then(Value::as_str)
    }
}

/// A Lambda Runtime API server on `127.0.0.1`, serving on background threads until dropped.
///
/// Dropping it closes every connection and stops accepting; a [`LambdaProcess`] keeps the server it was
/// spawned against alive until the process is dropped too.
pub struct RuntimeApi {
    inner: Arc<Inner>,
}

impl RuntimeApi {
    /// Starts a server for a function named [`DEFAULT_FUNCTION_NAME`] on a free loopback port.
    pub fn start() -> RuntimeApi {
        RuntimeApi::start_named(DEFAULT_FUNCTION_NAME)
    }

    /// Starts a server for the named function on a free loopback port. The name goes into the invoked
    /// function ARN and, through [`LambdaProcess::spawn`], `AWS_LAMBDA_FUNCTION_NAME`.
    pub fn start_named(function_name: &str) -> RuntimeApi {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port for the Runtime API");
        let addr = listener.local_addr().expect("read the Runtime API's bound address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            function_name: function_name.to_owned(),
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"),
            nonce: id_nonce(),
            invocations: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("runtime-api-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn the Runtime API accept thread")
        };
        RuntimeApi {
            inner: Arc::new(Inner {
                addr,
                shared,
                acceptor: Some(acceptor),
            }),
        }
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> String {
        self.inner.addr.to_string()
    }

    /// The function name this server announces.
    pub fn function_name(&self) -> &str {
        &self.inner.shared.function_name
    }

    /// The ARN sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.inner.shared.function_arn
    }

    /// Queues `event` under a fresh request id and waits until that id's response or error arrives, an
    /// init error is reported, or `timeout` passes.
    ///
    /// Prefer [`LambdaProcess::invoke`] when a process is attached: it also notices the process dying.
    pub fn invoke(&self, event: &[u8], timeout: Duration) -> Invocation {
        self.inner.shared.invoke(event, timeout, || None)
    }

    /// The error a runtime posted to `/init/error`, if any.
    pub fn init_error(&self) -> Option<ReportedError> {
        self.inner.shared.lock().init_error.clone()
    }
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.inner.addr)
            .field("function_arn", &self.inner.shared.function_arn)
            .finish_non_exhaustive()
    }
}

/// A compiled Lambda binary running against a [`RuntimeApi`], with its stdout and stderr captured.
/// Killed (and reaped) on drop, and then its logs are searched for secrets ([`secret_leaks`]):
/// Slack tokens and webhook URLs, AWS access key ids, the values of the secrets it was given in
/// its environment (variables named `*SECRET*`, `*TOKEN*`, `*WEBHOOK*`, `*PASSWORD*`) and those a
/// test names with [`never_logs`](Self::never_logs). A leak fails the test that spawned it.
pub struct LambdaProcess {
    child: Child,
    api: Arc<Inner>,
    logs: Arc<Logs>,
    status: Option<ExitStatus>,
    secrets: Vec<String>,
}

impl LambdaProcess {
    /// Starts `binary` with the environment Lambda gives a function: `AWS_LAMBDA_RUNTIME_API` (this
    /// server), `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`,
    /// `AWS_LAMBDA_FUNCTION_VERSION=$LATEST`, `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_LOG_STREAM_NAME`,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`, and dummy credentials (`AWS_PROFILE` removed, instance
    /// metadata disabled) so a test can never reach a real account by accident. `env` comes last and
    /// overrides any of these.
    ///
    /// Panics when the binary cannot be started; [`try_spawn`](Self::try_spawn) returns the error.
    pub fn spawn(binary: &Path, api: &RuntimeApi, env: &[(&str, &str)]) -> LambdaProcess {
        LambdaProcess::try_spawn(binary, api, env)
            .unwrap_or_else(|error| panic!("start Lambda binary {}: {error}", binary.display()))
    }

    /// [`spawn`](Self::spawn), returning the error when the binary cannot be started.
    pub fn try_spawn(binary: &Path, api: &RuntimeApi, env: &[(&str, &str)]) -> io::Result<LambdaProcess> {
        Self::start(Command::new(binary), api, env)
    }

    /// [`spawn`](Self::spawn) with the process's data segment (heap and every private writable
    /// mapping, `RLIMIT_DATA`) limited to `bytes` by util-linux's `prlimit`, which then runs
    /// the binary in its own place (same pid): an allocation past the limit fails and the
    /// function dies, as a Lambda function dies at its memory size.
    pub fn spawn_with_data_limit(
        binary: &Path,
        api: &RuntimeApi,
        env: &[(&str, &str)],
        bytes: u64,
    ) -> io::Result<LambdaProcess> {
        let mut command = Command::new("prlimit");
        command.arg(format!("--data={bytes}:{bytes}")).arg("--").arg(binary);
        Self::start(command, api, env)
    }

    fn start(mut command: Command, api: &RuntimeApi, env: &[(&str, &str)]) -> io::Result<LambdaProcess> {
        let name = api.function_name();
        command
            .env_remove("AWS_PROFILE")
            .env("AWS_LAMBDA_RUNTIME_API", api.addr())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2024/01/01/[$LATEST]00000000000000000000000000000000",
            )
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let logs = Arc::new(Logs::default());
        if let Some(stdout) = child.stdout.take() {
            logs.capture(stdout, "stdout");
        }
        if let Some(stderr) = child.stderr.take() {
            logs.capture(stderr, "stderr");
        }
        let secrets = env
            .iter()
            .filter(|(name, value)| {
                let name = name.to_ascii_uppercase();
                ["SECRET", "TOKEN", "WEBHOOK", "PASSWORD"]
                    .iter()
                    .any(|w| name.contains(w))
                    && value.len() >= MIN_SECRET_LEN
            })
            .map(|(_, value)| (*value).to_owned())
            .collect();
        Ok(LambdaProcess {
            child,
            api: Arc::clone(&api.inner),
            logs,
            status: None,
            secrets,
        })
    }

    /// Adds a secret the function reads from elsewhere (Secrets Manager, SSM) to those its logs
    /// must never contain.
    pub fn never_logs(&mut self, secret: &str) -> &mut Self {
        if secret.len() >= MIN_SECRET_LEN {
            self.secrets.push(secret.to_owned());
        }
        self
    }

    /// Like [`RuntimeApi::invoke`], and also returns [`Invocation::ProcessExited`] as soon as the process
    /// dies without answering.
    pub fn invoke(&mut self, event: &[u8], timeout: Duration) -> Invocation {
        let api = Arc::clone(&self.api);
        api.shared.invoke(event, timeout, || {
            self.exit_status().map(|status| Invocation::ProcessExited { status })
        })
    }

    /// Everything the process wrote so far, stdout and stderr interleaved line by line.
    pub fn logs(&self) -> String {
        let state = lock(&self.logs.state);
        String::from_utf8_lossy(&state.text).into_owned()
    }

    /// The process's metrics lines ([`emf_lines`]), once at least `n` were written (waiting for
    /// the log readers up to `timeout`; fewer when it passes, for the caller to report).
    pub fn metrics_lines(&self, n: usize, timeout: Duration) -> Vec<BTreeMap<String, f64>> {
        let until = Instant::now() + timeout;
        loop {
            let lines = emf_lines(&self.logs());
            if lines.len() >= n || Instant::now() >= until {
                return lines;
            }
            thread::sleep(EXIT_POLL);
        }
    }

    /// How the process exited, or `None` while it runs. Does not block (beyond letting the log readers
    /// drain once it has exited, so [`logs`](Self::logs) is then complete).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
            if self.status.is_some() {
                self.logs.wait_drained(LOG_DRAIN);
            }
        }
        self.status
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident set so far (`VmHWM`), in bytes; `None` once it exited or
    /// where `/proc` does not say.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Errors mean it already exited; either way wait() reaps it.
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.logs.wait_drained(LOG_DRAIN);
        }
        if !thread::panicking() {
            let leaks = secret_leaks(&self.logs(), &self.secrets);
            assert!(
                leaks.is_empty(),
                "secrets in the function's logs:\n{}",
                leaks.join("\n")
            );
        }
    }
}

/// Shorter values (`testing`, the dummy AWS credentials) are not secrets worth searching for.
const MIN_SECRET_LEN: usize = 12;

/// Every line of `logs` that holds a secret, with what it holds: a Slack token (`xoxb-`, `xoxp-`,
/// ... and at least ten more characters), a Slack webhook URL, an AWS secret access key (40
/// characters after its name), a GitHub token (`ghp_`, `ghs_`, `github_pat_`), or one of
/// `secrets`. An access key id is not a secret (AWS prints it in consoles and CloudTrail), and
/// remediate's audit line names the key it deactivated.
pub fn secret_leaks(logs: &str, secrets: &[String]) -> Vec<String> {
    fn run_after(line: &str, at: usize, ok: impl Fn(char) -> bool) -> usize {
        line[at..].chars().take_while(|c| ok(*c)).count()
    }
    let mut out = Vec::new();
    for line in logs.lines() {
        let mut what = Vec::new();
        for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"] {
            if line
                .match_indices(prefix)
                .any(|(i, _)| run_after(line, i + prefix.len(), |c| c.is_ascii_alphanumeric() || c == '-') >= 10)
            {
                what.push("a Slack token");
            }
        }
        if line.match_indices("hooks.slack.com/services/").any(|(i, _)| {
            run_after(line, i + "hooks.slack.com/services/".len(), |c| {
                c.is_ascii_alphanumeric()
            }) > 0
        }) {
            what.push("a Slack webhook URL");
        }
        for name in ["SecretAccessKey", "aws_secret_access_key", "secret_access_key"] {
            if line.match_indices(name).any(|(i, _)| {
                let rest = line[i + name.len()..].trim_start_matches(|c: char| "\"':= ".contains(c));
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '+')
                    .count()
                    == 40
            }) {
                what.push("an AWS secret access key");
            }
        }
        for prefix in ["ghp_", "github_pat_", "ghs_"] {
            if line
                .match_indices(prefix)
                .any(|(i, _)| run_after(line, i + prefix.len(), |c| c.is_ascii_alphanumeric() || c == '_') >= 20)
            {
                what.push("a GitHub token");
            }
        }
        if secrets.iter().any(|s| line.contains(s.as_str())) {
            what.push("a secret the function was given");
        }
        if !what.is_empty() {
            out.push(format!("{}: {line}", what.join(", ")));
        }
    }
    out
}

impl std::fmt::Debug for LambdaProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaProcess")
            .field("pid", &self.child.id())
            .field("runtime_api", &self.api.addr)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The CloudWatch embedded metric format lines in `logs` (lines holding an `_aws` member), each as
/// metric name → value. Panics on a line that is not valid EMF as CloudWatch reads it: a
/// timestamp, directives in the `DriftGuard` namespace, every dimension a string member and every
/// metric a number at the top level.
pub fn emf_lines(logs: &str) -> Vec<BTreeMap<String, f64>> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .map(|doc| {
            let aws = &doc["_aws"];
            assert!(aws["Timestamp"].is_u64(), "EMF timestamp in ms: {doc}");
            let mut values = BTreeMap::new();
            for d in aws["CloudWatchMetrics"]
                .as_array()
                .unwrap_or_else(|| panic!("directives: {doc}"))
            {
                assert_eq!(d["Namespace"], "DriftGuard", "{doc}");
                for set in d["Dimensions"]
                    .as_array()
                    .unwrap_or_else(|| panic!("dimensions: {doc}"))
                {
                    for key in set.as_array().unwrap_or_else(|| panic!("a dimension set: {doc}")) {
                        let key = key.as_str().unwrap_or_default();
                        assert!(doc[key].is_string(), "dimension {key} at the top level: {doc}");
                    }
                }
                let metrics = d["Metrics"].as_array().unwrap_or_else(|| panic!("metrics: {doc}"));
                assert!(metrics.len() <= 100, "at most 100 metrics per directive: {doc}");
                for m in metrics {
                    let name = m["Name"].as_str().unwrap_or_default();
                    let value = doc[name]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{name} has a number at the top level: {doc}"));
                    values.insert(name.to_owned(), value);
                }
            }
            values
        })
        .collect()
}

/// Captured process output: lines from stdout and stderr, and how many of the two are still open.
#[derive(Default)]
struct Logs {
    state: Mutex<LogState>,
    drained: Condvar,
}

#[derive(Default)]
struct LogState {
    text: Vec<u8>,
    open: usize,
}

impl Logs {
    /// Reads `stream` line by line into the buffer on a background thread until it closes.
    fn capture(self: &Arc<Self>, stream: impl Read + Send + 'static, name: &str) {
        lock(&self.state).open += 1;
        let logs = Arc::clone(self);
        let spawned = thread::Builder::new().name(format!("lambda-{name}")).spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => lock(&logs.state).text.extend_from_slice(&line),
                }
            }
            lock(&logs.state).open -= 1;
            logs.drained.notify_all();
        });
        if let Err(error) = spawned {
            let mut state = lock(&self.state);
            state.open -= 1;
            state
                .text
                .extend_from_slice(format!("[harness: cannot capture {name}: {error}]\n").as_bytes());
        }
    }

    /// Waits up to `limit` for both streams to reach end of file.
    fn wait_drained(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut state = lock(&self.state);
        while state.open > 0 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self
                .drained
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The server's lifetime: shut down when the last [`RuntimeApi`] / [`LambdaProcess`] handle goes.
struct Inner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            for connection in state.connections.values() {
                let _ = connection.shutdown(Shutdown::Both);
            }
        }
        self.shared.changed.notify_all();
        // Wake the accept loop so it sees the flag; join it only if the wake-up got through.
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let (true, Some(acceptor)) = (woken, self.acceptor.take()) {
            let _ = acceptor.join();
        }
    }
}

/// State shared by the accept loop, the connection threads and the test's thread.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    function_name: String,
    function_arn: String,
    nonce: u64,
    invocations: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Events waiting for a `/next` poll, oldest first.
    queue: VecDeque<Queued>,
    /// Where each request id handed out so far stands.
    phases: HashMap<String, Phase>,
    /// Answers not yet collected by the waiting `invoke`.
    outcomes: HashMap<String, Invocation>,
    init_error: Option<ReportedError>,
    /// Open connections, so shutdown can close them.
    connections: HashMap<u64, TcpStream>,
    next_connection: u64,
    shutdown: bool,
}

struct Queued {
    id: String,
    /// The invocation's sequence number on this server (for the trace id).
    n: u64,
    event: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Delivered,
    Answered,
    /// The waiting `invoke` gave up; a late answer is accepted and dropped.
    Abandoned,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Queues an event and waits for its outcome; `exited` is asked between waits whether the function
    /// process is gone.
    fn invoke(&self, event: &[u8], timeout: Duration, mut exited: impl FnMut() -> Option<Invocation>) -> Invocation {
        let n = self.invocations.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("{:08x}-0000-4000-8000-{n:012x}", self.nonce & 0xffff_ffff);
        let deadline = Instant::now() + timeout;
        {
            let mut state = self.lock();
            state.phases.insert(id.clone(), Phase::Queued);
            state.queue.push_back(Queued {
                id: id.clone(),
                n,
                event: event.to_vec(),
            });
        }
        self.changed.notify_all();
        loop {
            let mut state = self.lock();
            if let Some(done) = settled(&mut state, &id) {
                return done;
            }
            let now = Instant::now();
            if now >= deadline {
                let delivered = abandon(&mut state, &id);
                return Invocation::TimedOut {
                    after: timeout,
                    delivered,
                };
            }
            let wait = (deadline - now).min(EXIT_POLL);
            let mut state = self
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if let Some(done) = settled(&mut state, &id) {
                return done;
            }
            drop(state);
            if let Some(gone) = exited() {
                // An answer posted just before the exit still wins.
                let mut state = self.lock();
                if let Some(done) = settled(&mut state, &id) {
                    return done;
                }
                abandon(&mut state, &id);
                return gone;
            }
        }
    }

    /// `GET /next`: blocks until an event is queued (or the server shuts down, giving `None`).
    fn next_invocation(&self) -> Option<Reply> {
        let mut state = self.lock();
        let queued = loop {
            if state.shutdown {
                return None;
            }
            if let Some(queued) = state.queue.pop_front() {
                break queued;
            }
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        };
        state.phases.insert(queued.id.clone(), Phase::Delivered);
        drop(state);

        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let deadline = (now + INVOCATION_DEADLINE).as_millis();
        let n = queued.n;
        let trace = format!(
            "Root=1-{:08x}-{:016x}{n:08x};Parent={n:016x};Sampled=0",
            now.as_secs() & 0xffff_ffff,
            self.nonce
        );
        Some(Reply {
            status: 200,
            headers: vec![
                ("Lambda-Runtime-Aws-Request-Id", queued.id),
                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn.clone()),
                ("Lambda-Runtime-Trace-Id", trace),
            ],
            body: queued.event,
        })
    }

    /// `POST /invocation/{id}/response` and `/error`: records the answer for the waiting `invoke`.
    fn answer(&self, id: &str, outcome: Invocation) -> Reply {
        let mut state = self.lock();
        match state.phases.get(id).copied() {
            Some(Phase::Delivered) => {
                state.phases.insert(id.to_owned(), Phase::Answered);
                state.outcomes.insert(id.to_owned(), outcome);
            }
            Some(Phase::Abandoned) => {}
            Some(Phase::Answered) => {
                return Reply::error(
                    400,
                    "InvalidStateTransition",
                    &format!("request {id} was already answered"),
                );
            }
            Some(Phase::Queued) | None => {
                return Reply::error(
                    400,
                    "InvalidRequestID",
                    &format!("request {id} was not handed out by /next"),
                );
            }
        }
        drop(state);
        self.changed.notify_all();
        Reply::accepted()
    }

    /// `POST /init/error`: the first report is kept.
    fn init_failed(&self, error: ReportedError) -> Reply {
        self.lock().init_error.get_or_insert(error);
        self.changed.notify_all();
        Reply::accepted()
    }
}

/// The outcome for `id` if there is one: its answer, or an init error (which ends every invocation).
fn settled(state: &mut State, id: &str) -> Option<Invocation> {
    if let Some(outcome) = state.outcomes.remove(id) {
        return Some(outcome);
    }
    let error = state.init_error.clone()?;
    abandon(state, id);
    Some(Invocation::InitError(error))
}

/// Gives up on `id`: withdraws it if still queued; returns whether a runtime had fetched it.
fn abandon(state: &mut State, id: &str) -> bool {
    state.queue.retain(|queued| queued.id != id);
    let delivered = state.phases.get(id) == Some(&Phase::Delivered);
    state.phases.insert(id.to_owned(), Phase::Abandoned);
    delivered
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.lock().shutdown {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or a connection reset before accept: try again shortly.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("runtime-api-connection".into())
            .spawn(move || {
                serve_connection(&shared, stream);
            });
        if let Err(error) = spawned {
            eprintln!("runtime API: cannot serve a connection: {error}");
        }
    }
}

/// Serves requests on one connection until the client closes it, asks to, or the server shuts down.
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
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(error) => {
                if error.kind() == io::ErrorKind::InvalidData {
                    let reply = Reply::error(400, "InvalidRequest", &error.to_string());
                    let _ = write_reply(&mut writer, &reply, true);
                }
                break;
            }
        };
        let Some(reply) = route(shared, &request) else {
            break;
        };
        let close = request.wants_close();
        if write_reply(&mut writer, &reply, close).is_err() || close {
            break;
        }
    }
    shared.lock().connections.remove(&key);
}

fn route(shared: &Shared, request: &Request) -> Option<Reply> {
    let path = request.target.split('?').next().unwrap_or_default();
    let Some(resource) = path.strip_prefix(API_PREFIX).and_then(|rest| rest.strip_prefix('/')) else {
        return Some(Reply::not_found(path));
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let post = request.method == "POST";
    let reply = match segments.as_slice() {
        ["invocation", "next"] if request.method == "GET" => return shared.next_invocation(),
        ["init", "error"] if post => shared.init_failed(request.reported_error()),
        ["invocation", id, "response"] if post && !id.is_empty() => {
            let outcome = match request.header("lambda-runtime-function-error-type") {
                // A streamed response that failed midway names the error in trailers.
                Some(error_type) => Invocation::Error(ReportedError {
                    header_type: Some(error_type.to_owned()),
                    body: request
                        .header("lambda-runtime-function-error-body")
                        .map_or(Value::Null, Value::from),
                }),
                None => Invocation::Response(body_value(&request.body)),
            };
            shared.answer(id, outcome)
        }
        ["invocation", id, "error"] if post && !id.is_empty() => {
            shared.answer(id, Invocation::Error(request.reported_error()))
        }
        ["invocation", "next"] | ["init", "error"] | ["invocation", _, "response" | "error"] => Reply::error(
            405,
            "MethodNotAllowed",
            &format!("{} is not allowed on {path}", request.method),
        ),
        _ => Reply::not_found(path),
    };
    Some(reply)
}

/// A request body as JSON: parsed, else a JSON string (lossy UTF-8), `Null` when empty.
fn body_value(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// One parsed HTTP request; header names lowercased, trailers of a chunked body appended to the headers.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) version: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    pub(crate) fn wants_close(&self) -> bool {
        self.has_token("connection", "close")
            || (self.version == "HTTP/1.0" && !self.has_token("connection", "keep-alive"))
    }

    fn reported_error(&self) -> ReportedError {
        ReportedError {
            header_type: self.header("lambda-runtime-function-error-type").map(str::to_owned),
            body: body_value(&self.body),
        }
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads one request; `Ok(None)` when the client closed the connection between requests.
/// Answers `Expect: 100-continue` on `writer` before reading the body.
pub(crate) fn read_request(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<Option<Request>> {
    let line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            // Tolerate blank lines between requests (RFC 9112 §2.2).
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("malformed request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("unsupported protocol {version:?}")));
    }
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers: read_headers(reader)?,
        body: Vec::new(),
    };
    if request.has_token("expect", "100-continue") {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    if let Some(coding) = request.header("transfer-encoding") {
        if !coding
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        {
            return Err(invalid(format!("unsupported transfer-encoding {coding:?}")));
        }
        request.body = read_chunked(reader, &mut request.headers)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .trim()
            .parse()
            .map_err(|_| invalid(format!("bad content-length {length:?}")))?;
        if length > MAX_BODY {
            return Err(invalid(format!(
                "body of {length} bytes is over the {MAX_BODY}-byte limit"
            )));
        }
        request.body = vec![0; length];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

/// Reads a CRLF- (or LF-) terminated line without its terminator; `Ok(None)` at end of file.
pub(crate) fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = Read::take(&mut *reader, MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if read > MAX_LINE {
            invalid(format!("line over {MAX_LINE} bytes"))
        } else {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-line")
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| invalid("line is not UTF-8"))
}

/// Reads header lines up to the blank line; names lowercased, values trimmed.
pub(crate) fn read_headers(reader: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in headers"))?;
        if line.is_empty() {
            return Ok(headers);
        }
        if headers.len() == MAX_HEADERS {
            return Err(invalid(format!("more than {MAX_HEADERS} headers")));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// Reads a chunked body; trailers are appended to `headers`.
fn read_chunked(reader: &mut impl BufRead, headers: &mut Vec<(String, String)>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in a chunked body"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            let trailers = read_headers(reader)?;
            if headers.len() + trailers.len() > MAX_HEADERS {
                return Err(invalid(format!("more than {MAX_HEADERS} headers and trailers")));
            }
            headers.extend(trailers);
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid(format!("chunked body over the {MAX_BODY}-byte limit")));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut end = [0; 2];
        reader.read_exact(&mut end)?;
        if &end != b"\r\n" {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
}

/// One response, always sent with `Content-Length`.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn accepted() -> Reply {
        Reply {
            status: 202,
            headers: Vec::new(),
            body: br#"{"status":"OK"}"#.to_vec(),
        }
    }

    /// An error in the Runtime API's `ErrorResponse` shape.
    fn error(status: u16, error_type: &str, message: &str) -> Reply {
        let body = json!({ "errorType": error_type, "errorMessage": message });
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    fn not_found(path: &str) -> Reply {
        Reply::error(404, "NotFound", &format!("no Runtime API resource at {path}"))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Unknown",
    }
}

fn write_reply(writer: &mut impl Write, reply: &Reply, close: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\n",
        reply.status,
        reason(reply.status)
    );
    for (name, value) in &reply.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
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

/// A per-server value that keeps request and trace ids apart across servers and test runs.
fn id_nonce() -> u64 {
    static SERVERS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let salt = (u64::from(std::process::id()) << 32) ^ SERVERS.fetch_add(1, Ordering::Relaxed);
    (nanos ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Locks a mutex, carrying on past a panic in another holder (the state stays consistent per call).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    //! The server driven by a tiny client that plays the runtime's part, over real sockets.

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn secret_leaks_names_each_kind_of_secret_and_passes_redacted_ones() {
        let given = vec!["s3cr3t-signing-value-0123".to_owned()];
        let logs = [
            r#"{"level":"INFO","message":"Posted","token":"xoxb-0000000000-1111111111111-AbCdEf"}"#,
            "posting to https://hooks.slack.com/services/T000/B000/XXXX",
            r#"{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
            "deactivated AKIAIOSFODNN7EXAMPLE",
            "dispatch with ghp_test0000000000000000000000000000000000",
            "verifying with s3cr3t-signing-value-0123",
            r#"{"level":"INFO","message":"Posted","token":"xoxb-…","webhook":"hooks.slack.com/services/…"}"#,
            "AKIA is a prefix, not a key",
        ]
        .join("\n");
        let found = secret_leaks(&logs, &given);
        let kinds: Vec<&str> = found.iter().map(|l| l.split(':').next().unwrap_or("")).collect();
        assert_eq!(
            kinds,
            [
                "a Slack token",
                "a Slack webhook URL",
                "an AWS secret access key",
                "a GitHub token",
                "a secret the function was given"
            ]
        );
    }

    /// A keep-alive HTTP/1.1 client: one connection, any number of requests.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    /// A parsed response: status, lowercased headers, body.
    struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Response {
        fn header(&self, name: &str) -> &str {
            let found = self.headers.iter().find(|(key, _)| key == name);
            found
                .map(|(_, value)| value.as_str())
                .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
        }

        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).expect("response body is JSON")
        }
    }

    impl Client {
        fn connect(api: &RuntimeApi) -> Client {
            let stream = TcpStream::connect(api.addr()).expect("connect to the Runtime API");
            stream.set_read_timeout(Some(WAIT)).expect("set a read timeout");
            let writer = stream.try_clone().expect("clone the client stream");
            Client {
                reader: BufReader::new(stream),
                writer,
            }
        }

        /// Sends raw request bytes and reads one response.
        fn raw(&mut self, request: &[u8]) -> Response {
            self.writer.write_all(request).expect("send request");
            let status_line = read_line(&mut self.reader)
                .expect("read status line")
                .expect("a response");
            let status = status_line.split(' ').nth(1).and_then(|code| code.parse().ok());
            let status = status.unwrap_or_else(|| panic!("bad status line {status_line:?}"));
            let headers = read_headers(&mut self.reader).expect("read response headers");
            let length = headers.iter().find(|(key, _)| key == "content-length");
            let length: usize = length
                .and_then(|(_, value)| value.parse().ok())
                .expect("a content-length");
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).expect("read response body");
            Response { status, headers, body }
        }

        fn get(&mut self, path: &str) -> Response {
            self.raw(format!("GET {path} HTTP/1.1\r\nHost: runtime\r\n\r\n").as_bytes())
        }

        fn post(&mut self, path: &str, extra_headers: &str, body: &[u8]) -> Response {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: runtime\r\n{extra_headers}Content-Length: {}\r\n\r\n",
                body.len()
            );
            let mut request = head.into_bytes();
            request.extend_from_slice(body);
            self.raw(&request)
        }

        fn next(&mut self) -> Response {
            let response = self.get("/2018-06-01/runtime/invocation/next");
            assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
            response
        }
    }

    /// Runs `runtime` on a thread with its own connection, as a Lambda binary would.
    fn play_runtime<T: Send + 'static>(
        api: &RuntimeApi,
        runtime: impl FnOnce(Client) -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let client = Client::connect(api);
        thread::spawn(move || runtime(client))
    }

    #[test]
    fn next_then_response_completes_the_invocation() {
        let api = RuntimeApi::start_named("driftguard-ingest");
        let runtime = play_runtime(&api, |mut client| {
            let next = client.next();
            let id = next.header("lambda-runtime-aws-request-id").to_owned();
            let posted = client.post(
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                "",
                br#"{"ok":true}"#,
            );
            assert_eq!((posted.status, posted.json()), (202, json!({"status": "OK"})));
            next
        });

        let outcome = api.invoke(br#"{"n":1}"#, WAIT);
        assert_eq!(outcome, Invocation::Response(json!({"ok": true})));

        let next = runtime.join().expect("runtime thread");
        assert_eq!(next.body, br#"{"n":1}"#);
        assert_eq!(
            next.header("lambda-runtime-invoked-function-arn"),
            "arn:aws:lambda:eu-west-1:123456789012:function:driftguard-ingest"
        );
        assert!(next.header("lambda-runtime-trace-id").starts_with("Root=1-"));
        let deadline: u128 = next
            .header("lambda-runtime-deadline-ms")
            .parse()
            .expect("deadline is epoch ms");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        assert!(
            (now + 25_000..=now + 30_000).contains(&deadline),
            "deadline {deadline} vs now {now}"
        );
    }

    #[test]
    fn next_then_error_reports_the_error() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let id = client.next().header("lambda-runtime-aws-request-id").to_owned();
            let body = br#"{"errorType":"driftguard::Error","errorMessage":"bad event"}"#;
            let path = format!("/2018-06-01/runtime/invocation/{id}/error");
            let posted = client.post(&path, "Lambda-Runtime-Function-Error-Type: unhandled\r\n", body);
            assert_eq!(posted.status, 202);
        });

        let error = api.invoke(b"{}", WAIT).expect_error();
        runtime.join().expect("runtime thread");
        assert_eq!(error.header_type.as_deref(), Some("unhandled"));
        assert_eq!(error.error_type(), Some("driftguard::Error"));
        assert_eq!(error.error_message(), Some("bad event"));
    }

    #[test]
    fn keep_alive_serves_several_invocations_on_one_connection() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let mut ids = Vec::new();
            for _ in 0..2 {
                let next = client.next();
                let id = next.header("lambda-runtime-aws-request-id").to_owned();
                let echo = json!({ "echo": serde_json::from_slice::<Value>(&next.body).expect("event is JSON") });
                let path = format!("/2018-06-01/runtime/invocation/{id}/response");
                assert_eq!(client.post(&path, "", echo.to_string().as_bytes()).status, 202);
                ids.push(id);
            }
            ids
        });

        assert_eq!(api.invoke(b"1", WAIT), Invocation::Response(json!({"echo": 1})));
        assert_eq!(api.invoke(b"2", WAIT), Invocation::Response(json!({"echo": 2})));
        let ids = runtime.join().expect("runtime thread");
        assert_ne!(ids[0], ids[1], "each invocation gets a fresh request id");
    }

    #[test]
    fn chunked_response_bodies_are_reassembled_with_trailers() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let id = client.next().header("lambda-runtime-aws-request-id").to_owned();
            let request = format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: runtime\r\n\
                 Transfer-Encoding: chunked\r\n\r\n\
                 5\r\n{{\"a\":\r\n6;ext=1\r\n[1,2],\r\n6\r\n\"b\":3}}\r\n0\r\nX-Checksum: none\r\n\r\n"
            );
            assert_eq!(client.raw(request.as_bytes()).status, 202);
            // The connection is still usable afterwards.
            assert_eq!(client.get("/2018-06-01/nowhere").status, 404);
        });

        assert_eq!(
            api.invoke(b"{}", WAIT),
            Invocation::Response(json!({"a": [1, 2], "b": 3}))
        );
        runtime.join().expect("runtime thread");
    }

    #[test]
    fn streamed_response_that_fails_midway_is_an_error() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let id = client.next().header("lambda-runtime-aws-request-id").to_owned();
            let request = format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: runtime\r\n\
                 Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
                 Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n\
                 3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n\
                 Lambda-Runtime-Function-Error-Body: Ym9vbQ==\r\n\r\n"
            );
            assert_eq!(client.raw(request.as_bytes()).status, 202);
        });

        let error = api.invoke(b"{}", WAIT).expect_error();
        runtime.join().expect("runtime thread");
        assert_eq!(error.error_type(), Some("Runtime.StreamError"));
        assert_eq!(error.body, json!("Ym9vbQ=="));
    }

    #[test]
    fn init_error_ends_the_invocation() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let body = br#"{"errorType":"Config","errorMessage":"TABLE_NAME is not set"}"#;
            let posted = client.post("/2018-06-01/runtime/init/error", "Connection: close\r\n", body);
            assert_eq!(posted.status, 202);
            assert_eq!(posted.header("connection"), "close");
        });
        runtime.join().expect("runtime thread");

        let Invocation::InitError(error) = api.invoke(b"{}", WAIT) else {
            panic!("expected an init error");
        };
        assert_eq!(error.error_message(), Some("TABLE_NAME is not set"));
        assert_eq!(api.init_error(), Some(error));
    }

    #[test]
    fn invoke_times_out_when_nobody_polls_and_withdraws_the_event() {
        let api = RuntimeApi::start();
        let started = Instant::now();
        let outcome = api.invoke(b"{}", Duration::from_millis(200));
        assert_eq!(
            outcome,
            Invocation::TimedOut {
                after: Duration::from_millis(200),
                delivered: false
            }
        );
        assert!(started.elapsed() < Duration::from_secs(5));

        // A runtime that polls afterwards does not get the stale event: its poll blocks.
        let mut late = Client::connect(&api);
        late.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("set a short timeout");
        late.writer
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n")
            .expect("send");
        let mut byte = [0; 1];
        let read = late.reader.read(&mut byte);
        assert!(read.is_err(), "a poll after the timeout got {read:?}");
    }

    #[test]
    fn invoke_times_out_when_the_runtime_does_not_answer() {
        let api = RuntimeApi::start();
        let runtime = play_runtime(&api, |mut client| {
            let id = client.next().header("lambda-runtime-aws-request-id").to_owned();
            thread::sleep(Duration::from_millis(400));
            // A late answer is accepted and dropped.
            client
                .post(&format!("/2018-06-01/runtime/invocation/{id}/response"), "", b"{}")
                .status
        });
        let outcome = api.invoke(b"{}", Duration::from_millis(200));
        assert_eq!(
            outcome,
            Invocation::TimedOut {
                after: Duration::from_millis(200),
                delivered: true
            }
        );
        assert_eq!(runtime.join().expect("runtime thread"), 202);
    }

    #[test]
    fn rejects_unknown_paths_methods_and_request_ids() {
        let api = RuntimeApi::start();
        let mut client = Client::connect(&api);
        assert_eq!(client.get("/2018-06-01/runtime/invocation").status, 404);
        assert_eq!(client.get("/2018-06-01/runtime/nope/next").status, 404);
        assert_eq!(client.get("/").status, 404);
        assert_eq!(client.post("/2018-06-01/runtime/invocation/next", "", b"").status, 405);
        let unknown = client.post("/2018-06-01/runtime/invocation/not-issued/response", "", b"{}");
        assert_eq!(
            (unknown.status, unknown.json()["errorType"].clone()),
            (400, json!("InvalidRequestID"))
        );
        let malformed = client.raw(b"NONSENSE\r\n\r\n");
        assert_eq!(malformed.status, 400);
    }

    #[test]
    fn lambda_process_gets_the_lambda_environment_and_its_exit_is_noticed() {
        let dir = std::env::temp_dir().join(format!("driftguard-runtime-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        let script = dir.join("bootstrap");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"api=$AWS_LAMBDA_RUNTIME_API fn=$AWS_LAMBDA_FUNCTION_NAME \
             mem=$AWS_LAMBDA_FUNCTION_MEMORY_SIZE ver=$AWS_LAMBDA_FUNCTION_VERSION region=$AWS_REGION x=$X\"\n\
             echo 'init failed' >&2\nexit 3\n",
        )
        .expect("write the script");
        let mut permissions = std::fs::metadata(&script).expect("stat the script").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&script, permissions).expect("make the script executable");

        let api = RuntimeApi::start();
        let mut process = spawn_retrying_busy(&script, &api, &[("X", "1")]);
        let outcome = process.invoke(b"{}", WAIT);
        let Invocation::ProcessExited { status } = outcome else {
            panic!("expected the exit to be noticed, got {outcome:?}");
        };
        assert_eq!(status.code(), Some(3));
        assert_eq!(process.exit_status(), Some(status));
        let logs = process.logs();
        let expected = format!(
            "api={} fn=driftguard-test mem=128 ver=$LATEST region=eu-west-1 x=1\n",
            api.addr()
        );
        assert!(logs.contains(&expected), "logs: {logs}");
        assert!(logs.contains("init failed\n"), "logs: {logs}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Spawns, retrying while the freshly written script is "text file busy": another test thread's
    /// fork can briefly hold a copy of the descriptor it was written through.
    fn spawn_retrying_busy(script: &Path, api: &RuntimeApi, env: &[(&str, &str)]) -> LambdaProcess {
        const ETXTBSY: i32 = 26;
        for _ in 0..50 {
            match LambdaProcess::try_spawn(script, api, env) {
                Err(error) if error.raw_os_error() == Some(ETXTBSY) => thread::sleep(Duration::from_millis(20)),
                attempt => return attempt.expect("start the script"),
            }
        }
        LambdaProcess::spawn(script, api, env)
    }
}
