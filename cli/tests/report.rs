//! `driftguard report`: the sample events replayed into an embedded store, then the report as
//! a user reads it: the console summary, the JSON file, and the HTML page opened in headless
//! Chromium (the DOM it built and a screenshot). A user name carrying markup shows as text and
//! never runs.

use serde_json::{json, Value};
use std::path::Path;

mod common;

use common::{chromium, driftguard, text, STATES};

/// A sample call whose IAM user name is a script that would mark the page if it ran.
const HOSTILE: &str = "<script>document.body.setAttribute('data-pwned','1')</script>";

fn hostile_event(dir: &Path) -> std::path::PathBuf {
    let path = common::root().join("events/cloudtrail/s3-put-bucket-versioning.cli-user.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON");
    let d = &mut event["detail"];
    d["eventID"] = json!("0e5f4a9c-7b1d-4c2e-8f3a-5d6b7c8d9e0f");
    d["userIdentity"]["userName"] = json!(HOSTILE);
    d["userIdentity"]["arn"] = json!(format!("arn:aws:iam::123456789012:user/{HOSTILE}"));
    let out = dir.join("hostile.json");
    std::fs::write(&out, event.to_string()).expect("write");
    out
}

#[test]
fn the_report_of_replayed_events_renders_in_a_browser_with_values_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("report.redb");
    let store_arg = store.to_str().expect("utf-8");
    let hostile = hostile_event(dir.path());
    let mut args = vec![
        "replay",
        "events/",
        hostile.to_str().expect("utf-8"),
        "--store",
        store_arg,
        "--format",
        "jsonl",
    ];
    args.extend(STATES);
    let replayed = driftguard(&args);
    assert_eq!(replayed.status.code(), Some(0), "{}", text(&replayed.stderr));

    // No store: a clear error, no panic.
    let missing = dir.path().join("nothing.redb");
    let out = driftguard(&["report", "--store", missing.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no store at"), "{}", text(&out.stderr));

    let html = dir.path().join("report.html");
    let json_path = dir.path().join("report.json");
    let out = driftguard(&[
        "report",
        "--store",
        store_arg,
        "--html",
        html.to_str().expect("utf-8"),
        "--json",
        json_path.to_str().expect("utf-8"),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("coverage: no sweep recorded"), "no scan ran: {stdout}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json_path).expect("the JSON report")).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let open = findings.iter().filter(|f| f["status"] == json!("open")).count();
    assert_eq!(report["totals"]["findings"], json!(findings.len()));
    assert!(
        stdout.contains(&format!("findings: {} ({open} open", findings.len())),
        "{stdout}"
    );
    assert!(stdout.contains("open by severity: critical"), "{stdout}");
    let actors: Vec<&str> = report["actors"]
        .as_array()
        .expect("actors")
        .iter()
        .filter_map(|a| a["who"].as_str())
        .collect();
    assert!(actors.contains(&"alice@example.com"), "{actors:?}");
    assert!(actors.contains(&HOSTILE), "{actors:?}");
    assert!(
        !report["timeline"].as_array().expect("timeline").is_empty(),
        "{report:#}"
    );

    let page = std::fs::read_to_string(&html).expect("the HTML report");
    assert!(
        !page.contains(HOSTILE),
        "markup from a value reached the page as markup"
    );
    assert!(
        page.contains("&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;"),
        "the value shows as text"
    );
    // Self-contained: nothing is fetched when the page is viewed (values may hold URLs, as text).
    for needle in [
        "<script", "<link", "<img", "<iframe", " src=", " href=", "@import", "url(",
    ] {
        assert!(!page.contains(needle), "the page refers to {needle:?}");
    }
    let first_open = findings
        .iter()
        .find(|f| f["status"] == json!("open"))
        .expect("an open finding");

    let test = "the_report_of_replayed_events_renders_in_a_browser_with_values_escaped";
    if !chromium::available(test) {
        return;
    }
    let dom = chromium::dump_dom(&html);
    for section in [
        "id=\"coverage\"",
        "id=\"findings\"",
        "id=\"hotspots\"",
        "id=\"actors\"",
        "id=\"timeline\"",
        "Open findings by severity",
        "Resources that drift most",
        "Who changes things by hand",
        "Manual changes by day",
        "class=\"day\"",
    ] {
        assert!(dom.contains(section), "the rendered page lacks {section}");
    }
    let id = first_open["id"].as_str().expect("id");
    assert!(dom.contains(id), "the rendered page lacks finding {id}");
    assert!(dom.contains("data-pwned"), "the user name shows as text");
    assert!(!dom.contains("data-pwned=\"1\""), "the script in the user name ran");
    let png = dir.path().join("report.png");
    chromium::screenshot(&html, &png);
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(chromium::png_size(&bytes), (1280, 2000));
    assert!(bytes.len() > 20_000, "a page, not a blank: {} bytes", bytes.len());
}
