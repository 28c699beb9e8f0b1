//! Headless Chromium (Debian's `chromium` package) on a report page: the DOM as the browser
//! built it (`--dump-dom`) and a screenshot (`--screenshot`). Each run gets a fresh profile and
//! nothing that reaches out (no sync, no component updates, no background networking).
//!
//! Absent browser: [`available`] prints a notice libtest cannot hide and the test returns,
//! unless `DRIFTGUARD_REQUIRE_CHROMIUM=1` (CI sets it), which makes the absence a failure.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs it.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// When set (to anything but empty or `0`), a missing browser fails the test.
pub const REQUIRE_ENV: &str = "DRIFTGUARD_REQUIRE_CHROMIUM";
/// How long one browser run may take.
const TIMEOUT: Duration = Duration::from_secs(90);

/// Whether the browser is there; when not, a notice naming `test` (or a panic when required).
pub fn available(test: &str) -> bool {
    if Path::new(CHROMIUM).is_file() {
        return true;
    }
    let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{test} needs {CHROMIUM} (apt-get install chromium); {REQUIRE_ENV} is set"
    );
    driftguard_tests::notice(&format!(
        "SKIPPED {test}: no {CHROMIUM} (apt-get install chromium; CI sets {REQUIRE_ENV}=1, which makes this a failure)"
    ));
    false
}

/// Runs the browser on `page` with `extra` arguments; returns its stdout.
fn run(page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().expect("a profile dir");
    let url = format!("file://{}", page.canonicalize().expect("the page's path").display());
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    args.extend(extra.iter().cloned());
    args.push(url);
    let mut child = Command::new(CHROMIUM)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took over {TIMEOUT:?}: {}", err.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    assert!(status.success(), "chromium {args:?} failed ({status}):\n{stderr}");
    stdout
}

/// The page's DOM after the browser loaded and laid it out.
pub fn dump_dom(page: &Path) -> String {
    run(page, &["--dump-dom".to_owned()])
}

/// A PNG of the page at 1280×2000 in `png`.
pub fn screenshot(page: &Path, png: &Path) {
    run(
        page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_owned(),
        ],
    );
}

/// The width and height a PNG file declares (its IHDR chunk), after checking the signature.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG ({} bytes)",
        bytes.len()
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}
