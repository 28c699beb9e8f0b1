//! `driftguard findings show <id> --slack --post`: the alert a user sees locally is exactly what
//! a (loopback) incoming webhook receives; a 500 is retried; without a webhook URL, a clear error.

use driftguard_tests::slack_receiver::{Reply, SlackReceiver};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HOOK: &str = "/services/T0LOCAL00/B0LOCAL00/LocalWebhookSecret99";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn driftguard(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(args)
        .env_remove("DRIFTGUARD_SLACK_WEBHOOK_URL")
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("run driftguard")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A store with the sample findings, and the id of a critical one.
fn store_with_findings(dir: &Path) -> (String, String) {
    let store = dir.join("s.redb").to_str().expect("utf-8").to_owned();
    let replay = driftguard(
        &[
            "replay",
            "events/",
            "--store",
            &store,
            "--state",
            "events/terraform/network.tfstate",
            "--state",
            "events/terraform/data.tfstate",
        ],
        &[],
    );
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let list = driftguard(
        &[
            "findings",
            "list",
            "--store",
            &store,
            "--min-severity",
            "critical",
            "--format",
            "jsonl",
        ],
        &[],
    );
    let first: Value = serde_json::from_str(text(&list.stdout).lines().next().expect("a finding")).expect("JSON");
    (store, first["id"].as_str().expect("id").to_owned())
}

#[test]
fn the_local_alert_is_posted_through_the_webhook_exactly_as_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, id) = store_with_findings(dir.path());
    let slack = SlackReceiver::start();
    slack.script(HOOK, [Reply::server_error()]);
    let url = slack.url(HOOK);
    let out = driftguard(
        &["findings", "show", &id, "--store", &store, "--post"],
        &[("DRIFTGUARD_SLACK_WEBHOOK_URL", url.as_str())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the message is printed");
    let received = slack.requests_to(HOOK);
    assert_eq!(received.len(), 2, "a 500, then the retry");
    for r in &received {
        assert_eq!(r.json.as_ref(), Some(&printed));
    }
    assert!(text(&out.stderr).contains(&format!("posted {id} to Slack")));
    assert!(!text(&out.stderr).contains("LocalWebhookSecret99"));

    // Slack refuses: the error names the refusal, not the URL.
    slack.script(HOOK, [Reply::text(404, "no_service")]);
    let refused = driftguard(
        &[
            "findings",
            "show",
            &id,
            "--store",
            &store,
            "--post",
            "--webhook-url",
            &url,
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("no_service"), "{stderr}");
    assert!(!stderr.contains("LocalWebhookSecret99"), "{stderr}");
}

#[test]
fn posting_without_a_webhook_url_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, id) = store_with_findings(dir.path());
    let out = driftguard(&["findings", "show", &id, "--store", &store, "--post"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--post needs a webhook URL: --webhook-url or DRIFTGUARD_SLACK_WEBHOOK_URL"),
        "{}",
        text(&out.stderr)
    );
}
