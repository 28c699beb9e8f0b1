//! The public corpora at `../shared/data` (beside the workspace; `/work/shared/data/README.md`
//! lists them), for tests in packages without the `driftguard_no_data` cfg that `build.rs` sets.
//!
//! Such tests call [`shared_data`]: with the corpora absent they get `None` and a notice on the
//! real stderr (which libtest does not capture), unless [`REQUIRE_ENV`] is set (CI sets it): then
//! the absence fails the test.

use crate::stack::workspace;
use std::path::PathBuf;

/// When set (to anything but empty or `0`), an absent corpus fails the tests that read it.
pub const REQUIRE_ENV: &str = "DRIFTGUARD_REQUIRE_DATA";

/// Where the corpora are expected.
pub fn root() -> PathBuf {
    workspace().join("../shared/data")
}

/// Whether [`REQUIRE_ENV`] is set.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// The corpora, or `None` after a notice naming `test` and what it leaves out. Panics when they
/// are absent and [`REQUIRE_ENV`] is set.
pub fn shared_data(test: &str, left_out: &str) -> Option<PathBuf> {
    let dir = root();
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !required(),
        "{test} needs the public corpora at {}, which are absent ({REQUIRE_ENV} is set)",
        dir.display()
    );
    crate::notice(&format!(
        "{test}: the public corpora at {} are absent: {left_out} (CI sets {REQUIRE_ENV}=1, which makes this a failure)",
        dir.display()
    ));
    None
}
