//! A moto server (PyPI `moto[server]`) on loopback: the real DynamoDB, EventBridge and SQS wire protocols
//! for adapter and end-to-end tests, without an AWS account.
//!
//! ```no_run
//! use driftguard_tests::moto::MotoServer;
//!
//! let Some(moto) = MotoServer::start_or_skip("store_round_trip") else { return };
//! // Point an SDK client at `moto.endpoint()` with any credentials and region.
//! moto.reset().expect("reset moto");
//! ```
//!
//! Tests that need moto call [`MotoServer::start_or_skip`] and, in this package, carry
//! `#[cfg_attr(driftguard_no_moto, ignore = "...")]`: `build.rs` sets `driftguard_no_moto` when
//! moto is not installed, so libtest lists them as `ignored` with the reason. With
//! `DRIFTGUARD_REQUIRE_MOTO` set (CI sets it) the cfg is never set, and a missing moto fails each
//! of them. Packages without that cfg (the functions' runtime tests) get `None` and a notice on
//! the process's real stderr, which libtest does not capture.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How to install moto, for error messages.
pub const INSTALL_HINT: &str = r#"pip install "moto[server]""#;
/// When set (to anything but empty or `0`), [`MotoServer::start_or_skip`] fails instead of skipping.
pub const REQUIRE_ENV: &str = "DRIFTGUARD_REQUIRE_MOTO";

/// How long moto may take to accept HTTP after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often readiness is probed.
const READY_POLL: Duration = Duration::from_millis(100);
/// Timeout for one harness HTTP request to moto.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of moto's output is kept for error messages (the rest is read and dropped).
const OUTPUT_CAP: usize = 64 << 10;
/// Ways to start moto, tried in order: the console script, then the module.
const LAUNCHERS: [(&str, &[&str]); 2] = [("moto_server", &[]), ("python3", &["-m", "moto.server"])];
/// Attempts per launcher when the chosen port was taken between picking and binding it.
const PORT_ATTEMPTS: usize = 3;

/// A running `moto_server` on `127.0.0.1`, killed and reaped on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` on a free port (falling back to
    /// `python3 -m moto.server`) and waits up to 30 s until it answers HTTP.
    ///
    /// The error says what went wrong; when moto is not installed it says how to install it.
    pub fn start() -> Result<MotoServer, String> {
        MotoServer::launch().map_err(|error| match error {
            StartError::NotInstalled(message) | StartError::Failed(message) => message,
        })
    }

    /// [`start`](Self::start) for tests: `None` when moto is not installed and [`REQUIRE_ENV`] is not
    /// set, after a notice naming `test` on the process's real stderr (libtest captures `eprintln!`
    /// and shows it only for failures; this notice shows in every run). Panics when moto is
    /// required and missing, and when it is installed but does not come up (a broken setup
    /// rather than a missing one).
    pub fn start_or_skip(test: &str) -> Option<MotoServer> {
        match MotoServer::launch() {
            Ok(server) => Some(server),
            Err(StartError::NotInstalled(message)) if !required() => {
                crate::notice(&format!(
                    "SKIPPED {test}: {message} (CI sets {REQUIRE_ENV}=1, which makes this a failure)"
                ));
                None
            }
            Err(StartError::NotInstalled(message) | StartError::Failed(message)) => {
                panic!("{test} needs moto: {message}")
            }
        }
    }

    /// `http://127.0.0.1:PORT`, the endpoint URL for SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id (benchmarks read its CPU time from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Drops every resource in every moto backend (`POST /moto-api/reset`), so tests sharing a server
    /// start from empty.
    pub fn reset(&self) -> Result<(), String> {
        let (status, body) = request(self.port, "POST", "/moto-api/reset")?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!(
                "moto reset answered {status}: {}",
                String::from_utf8_lossy(&body)
            ))
        }
    }

    fn launch() -> Result<MotoServer, StartError> {
        let mut missing = Vec::new();
        for (program, prefix) in LAUNCHERS {
            for attempt in 1..=PORT_ATTEMPTS {
                match try_launch(program, prefix) {
                    Ok(server) => return Ok(server),
                    Err(Launch::Missing(why)) => {
                        missing.push(format!("`{program}`: {why}"));
                        break;
                    }
                    Err(Launch::PortTaken(_)) if attempt < PORT_ATTEMPTS => continue,
                    Err(Launch::PortTaken(why) | Launch::Failed(why)) => return Err(StartError::Failed(why)),
                }
            }
        }
        Err(StartError::NotInstalled(format!(
            "moto server is not installed ({}); install it with: {INSTALL_HINT}",
            missing.join("; ")
        )))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // An error means it already exited; wait() reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why [`MotoServer::launch`] failed: moto is missing, or it is there and broken.
enum StartError {
    NotInstalled(String),
    Failed(String),
}

/// Why one launch attempt failed.
enum Launch {
    /// This launcher does not exist or has no moto.
    Missing(String),
    /// The port was taken before moto bound it; worth another try.
    PortTaken(String),
    Failed(String),
}

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// A port that was free a moment ago (moto binds it itself, so there is a small race, retried).
fn free_port() -> Result<u16, Launch> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|error| Launch::Failed(format!("cannot bind a loopback port: {error}")))?;
    let port = listener
        .local_addr()
        .map_err(|error| Launch::Failed(format!("cannot read the port: {error}")))?
        .port();
    Ok(port)
}

fn try_launch(program: &str, prefix: &[&str]) -> Result<MotoServer, Launch> {
    let port = free_port()?;
    let mut command = Command::new(program);
    command
        .args(prefix)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(Launch::Missing(error.to_string())),
        Err(error) => return Err(Launch::Failed(format!("cannot run `{program}`: {error}"))),
    };
    // moto logs every request; its pipes must be drained or it blocks once they fill.
    let output = Arc::new(Mutex::new(Vec::new()));
    let drains = [
        child.stdout.take().map(|stream| drain(stream, &output)),
        child.stderr.take().map(|stream| drain(stream, &output)),
    ];
    let command_line = format!("{program} {} -H 127.0.0.1 -p {port}", prefix.join(" ")).replace("  ", " ");

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            for drain in drains.into_iter().flatten() {
                let _ = drain.join();
            }
            let output = output.lock().unwrap_or_else(PoisonError::into_inner);
            return Err(exited_early(&command_line, status, &String::from_utf8_lossy(&output)));
        }
        // Any HTTP answer means moto is serving.
        if request(port, "GET", "/moto-api/data.json").is_ok() && matches!(child.try_wait(), Ok(None)) {
            return Ok(MotoServer { child, port });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Launch::Failed(format!(
                "`{command_line}` did not answer HTTP within {} s",
                READY_TIMEOUT.as_secs()
            )));
        }
        thread::sleep(READY_POLL);
    }
}

/// Classifies a moto process that exited before serving.
fn exited_early(command_line: &str, status: ExitStatus, output: &str) -> Launch {
    let tail: Vec<&str> = output.lines().rev().take(3).collect();
    let last_lines = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
    if status.code() == Some(127)
        || output.contains("No module named")
        || output.contains("command not found")
        || output.contains("ModuleNotFoundError")
    {
        Launch::Missing(last_lines)
    } else if output.contains("Address already in use") {
        Launch::PortTaken(format!("`{command_line}`: port taken: {last_lines}"))
    } else {
        Launch::Failed(format!(
            "`{command_line}` exited with {status} before serving:\n{output}"
        ))
    }
}

/// Reads `stream` to its end on a thread, keeping the first [`OUTPUT_CAP`] bytes in `output`.
fn drain(stream: impl Read + Send + 'static, output: &Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    let output = Arc::clone(output);
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) | Err(_) => return,
                Ok(chunk) => chunk,
            };
            let length = chunk.len();
            let mut kept = output.lock().unwrap_or_else(PoisonError::into_inner);
            let room = OUTPUT_CAP.saturating_sub(kept.len()).min(length);
            kept.extend_from_slice(&chunk[..room]);
            drop(kept);
            reader.consume(length);
        }
    })
}

/// One HTTP/1.1 request to moto with `Connection: close`; returns the status and the raw body.
fn request(port: u16, method: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).map_err(|error| format!("connect {addr}: {error}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|error| error.to_string())?;
    stream
        .set_write_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|error| error.to_string())?;
    let head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|error| format!("send {method} {path}: {error}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|error| format!("read the answer to {method} {path}: {error}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            format!(
                "{method} {path}: not an HTTP response: {:?}",
                text.chars().take(80).collect::<String>()
            )
        })?;
    let body = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(Vec::new(), |end| response[end + 4..].to_vec());
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    //! Starts a real moto server; skips (loudly) where moto is not installed.

    use super::*;

    #[test]
    #[cfg_attr(
        driftguard_no_moto,
        ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
    )]
    fn moto_starts_answers_resets_and_stops() {
        let Some(moto) = MotoServer::start_or_skip("moto_starts_answers_resets_and_stops") else {
            return;
        };
        let port = moto.port();
        assert_eq!(moto.endpoint(), format!("http://127.0.0.1:{port}"));

        let (status, body) = request(port, "GET", "/moto-api/data.json").expect("moto answers");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (status, _) = request(port, "GET", "/moto-api/reset").expect("moto answers");
        assert_eq!(status, 400, "moto only resets on POST");
        moto.reset().expect("reset moto");

        drop(moto);
        assert!(
            request(port, "GET", "/moto-api/data.json").is_err(),
            "moto still answers after drop"
        );
    }
}
