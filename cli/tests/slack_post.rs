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

#[test]
fn the_slack_preview_script_draws_what_findings_show_slack_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, id) = store_with_findings(dir.path());
    let shown = driftguard(&["findings", "show", &id, "--store", &store, "--slack"], &[]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let message: Value = serde_json::from_slice(&shown.stdout).expect("Block Kit JSON");
    let json = dir.path().join("alert.json");
    std::fs::write(&json, &shown.stdout).expect("write");
    let page = dir.path().join("alert.html");
    let drawn = Command::new("python3")
        .arg(root().join("scripts/slack-preview.py"))
        .arg(&json)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("python3 runs the script");
    assert!(drawn.status.success(), "{}", text(&drawn.stderr));
    let html = std::fs::read_to_string(&page).expect("the page");
    let header = message["blocks"][0]["text"]["text"].as_str().expect("a header");
    assert!(html.contains(header), "the header is drawn: {header}");
    for label in ["Revert", "Re-apply IaC", "Accept change", "Acknowledge", "Not drift"] {
        assert!(html.contains(label), "the {label} button is drawn");
    }
    assert!(
        html.contains(&format!("<code>{id}</code>")),
        "mrkdwn code spans are drawn"
    );
    // Not a Block Kit message: a clear refusal.
    std::fs::write(&json, b"{\"text\":\"hi\"}").expect("write");
    let refused = Command::new("python3")
        .arg(root().join("scripts/slack-preview.py"))
        .arg(&json)
        .output()
        .expect("python3 runs the script");
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("no \"blocks\" list"),
        "{}",
        text(&refused.stderr)
    );
}
