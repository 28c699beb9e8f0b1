//! DriftGuard's integration-test crate: the tests live in `tests/`; this library holds the harnesses
//! they share.
//!
//! - [`runtime_api`]: a Lambda Runtime API on loopback and a runner for compiled Lambda binaries, so a
//!   test invokes a function the way AWS Lambda does.
//! - [`bench`]: the deployed flow's latency and a burst, measured with the compiled release
//!   functions (the `pipeline-bench` binary).
//! - [`cloudformation`]: CloudFormation's owner lookup and drift detection on loopback (moto
//!   serves neither).
//! - [`config_standin`]: AWS Config on loopback for the resource types moto's Config does not
//!   serve, answering from the AWS Config RDK's example items and forwarding the rest to moto.
//! - [`deployed`]: the SAM template translated and created as stacks on moto's CloudFormation,
//!   with the named workarounds for moto's gaps.
//! - [`fleet`]: a Terraform state of cloned sample resources and thousands of CloudTrail
//!   events on it, derived from the samples, for load and fault runs.
//! - [`large_estate`]: an organisation-sized estate of many state files, cloned from the real
//!   states in `../shared/data` with fresh ids, for memory and load runs.
//! - [`moto`]: a moto server on loopback (DynamoDB, EventBridge, SQS wire protocols) for adapter and
//!   end-to-end tests.
//!
//! Both use only the standard library (and `serde_json`), so the harnesses build in seconds.
//!
//! Absent requirements are never a silent pass: `build.rs` sets `driftguard_no_moto` /
//! `driftguard_no_data` when moto or the public corpora are missing (and not required by
//! `DRIFTGUARD_REQUIRE_MOTO` / `DRIFTGUARD_REQUIRE_DATA`), and the tests that need them carry
//! `#[cfg_attr(driftguard_no_moto, ignore = "...")]`, so libtest reports them as ignored with the
//! reason. Where that cfg is not available, [`moto`] and [`corpora`] print a [`notice`] that
//! libtest cannot hide.

pub mod bench;
pub mod cloudformation;
pub mod config_standin;
pub mod corpora;
pub mod deployed;
pub mod estate;
pub mod fault;
pub mod fleet;
pub mod large_estate;
pub mod moto;
pub mod runtime_api;
pub mod slack_receiver;
pub mod stack;

/// Writes `message` and a newline to the process's real stderr. libtest captures `print!` and
/// `eprint!` and shows them only for failing tests; writes to the stderr handle itself are not
/// captured, so a skip notice shows in every run.
pub fn notice(message: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{message}");
}

#[cfg(test)]
mod tests {
    //! Every test that needs moto or the public corpora, in the packages whose build script sets
    //! `driftguard_no_moto` / `driftguard_no_data`, carries the `cfg_attr` that turns their absence
    //! into an `ignored` with a reason: a new test cannot quietly pass without running.

    use crate::stack::workspace;
    use std::path::Path;

    /// `(file, test)` for every top-level test function in `file` whose body contains one of
    /// `needles` and whose attributes lack `#[cfg_attr(<cfg>, ignore = ...)]`.
    fn unmarked(file: &Path, needles: &[&str], cfg: &str) -> Vec<String> {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let lines: Vec<&str> = text.lines().collect();
        let is_fn = |l: &str| l.starts_with("fn ") || l.starts_with("async fn ") || l.starts_with("pub fn ");
        let starts: Vec<usize> = (0..lines.len()).filter(|&i| is_fn(lines[i])).collect();
        let mut out = Vec::new();
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(lines.len());
            let body = lines[start..end].join("\n");
            let attrs: Vec<&str> = lines[..start]
                .iter()
                .rev()
                .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
                .copied()
                .collect();
            let is_test = attrs
                .iter()
                .any(|a| a.starts_with("#[test]") || a.starts_with("#[tokio::test"));
            let marked = attrs
                .iter()
                .any(|a| a.starts_with(&format!("#[cfg_attr({cfg}, ignore = \"")));
            if is_test && !marked && needles.iter().any(|n| body.contains(n)) {
                out.push(format!("{}: {}", file.display(), lines[start]));
            }
        }
        out
    }

    fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn tests_needing_moto_or_the_corpora_say_so_when_they_are_absent() {
        let root = workspace();
        let mut found = Vec::new();
        for file in rust_files(&root.join("tests/tests")) {
            found.extend(unmarked(
                &file,
                &["Stack::start(", "start_or_skip("],
                "driftguard_no_moto",
            ));
        }
        for file in rust_files(&root.join("shared/core/tests")) {
            found.extend(unmarked(&file, &["corpora("], "driftguard_no_data"));
        }
        assert!(
            found.is_empty(),
            "these tests would pass without running when moto or ../shared/data is absent; add \
             #[cfg_attr(driftguard_no_moto, ignore = \"...\")] or #[cfg_attr(driftguard_no_data, ignore = \"...\")]:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn an_unmarked_test_is_found() {
        let dir = std::env::temp_dir().join(format!("driftguard-honest-skips-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("t.rs");
        let src = "#[test]\nfn quiet() {\n    let Some(s) = Stack::start(\"quiet\") else { return };\n}\n\n\
                   #[test]\n#[cfg_attr(driftguard_no_moto, ignore = \"no moto\")]\nfn honest() {\n    Stack::start(\"honest\");\n}\n\n\
                   fn helper() {\n    Stack::start(\"x\");\n}\n";
        std::fs::write(&file, src).expect("write");
        let found = unmarked(&file, &["Stack::start("], "driftguard_no_moto");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ends_with("fn quiet() {"), "{found:?}");
    }
}
