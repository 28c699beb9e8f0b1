//! `driftguard backfill` against a loopback stand-in for CloudTrail's `LookupEvents` (moto has no
//! event history): the real SDK client speaks the AWS JSON 1.1 protocol to the loopback HTTP
//! receiver, which answers pages in the API's wire shape (`Events[].CloudTrailEvent` holding the
//! record as text, `EventTime` in epoch seconds, `NextToken`), throttles once, and records what was
//! asked. The records are the sample events' CloudTrail records.

use driftguard_tests::slack_receiver::{Reply, SlackReceiver};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Output;

mod common;

use common::{driftguard, root, text, STATES};

fn ids(out: &Output) -> Vec<String> {
    let mut ids: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            v["id"].as_str().expect("a finding id").to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// The write calls among the sample CloudTrail events, as `LookupEvents` returns them.
fn history_events() -> Vec<Value> {
    let dir = root().join("events/cloudtrail");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("events/cloudtrail")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let event: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
        let record = &event["detail"];
        if record["readOnly"] == json!(true) {
            continue;
        }
        let time = record["eventTime"].as_str().expect("eventTime");
        let seconds = driftguard_core::time::Timestamp::parse(time).expect("a time").0 / 1000;
        out.push(json!({
            "EventId": record["eventID"],
            "EventName": record["eventName"],
            "ReadOnly": "false",
            "EventTime": seconds,
            "EventSource": record["eventSource"],
            "Username": record["userIdentity"]["userName"].as_str().or(record["userIdentity"]["principalId"].as_str()),
            "Resources": [],
            "CloudTrailEvent": record.to_string(),
        }));
    }
    out
}

fn page(events: &[Value], next: Option<&str>) -> Reply {
    let mut body = json!({ "Events": events });
    if let Some(token) = next {
        body["NextToken"] = json!(token);
    }
    let mut reply = Reply::json(200, &body);
    reply.headers = vec![("Content-Type".into(), "application/x-amz-json-1.1".into())];
    reply
}

fn throttled() -> Reply {
    let mut reply = Reply::json(
        400,
        &json!({ "__type": "ThrottlingException", "message": "Rate exceeded" }),
    );
    reply.headers = vec![("Content-Type".into(), "application/x-amz-json-1.1".into())];
    reply
}

#[test]
fn a_backfill_reads_every_page_into_the_store_once_and_matches_the_live_path() {
    let events = history_events();
    assert!(events.len() >= 8, "the sample write calls: {}", events.len());
    let (first, rest) = events.split_at(5);
    let mut last: Vec<Value> = rest.to_vec();
    // One event whose record is not JSON: reported, and the page's other records still count.
    last.push(json!({"EventId": "0bad0bad-0000-4000-8000-000000000000", "EventName": "PutBucketPolicy", "ReadOnly": "false", "EventTime": 1795165337, "CloudTrailEvent": "{\"eventVersion\":\"1.08\","}));
    let history = SlackReceiver::start();
    history.script("/", [page(first, Some("token-2")), throttled(), page(&last, None)]);

    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("backfill.redb");
    let store_arg = store.to_str().expect("utf-8");
    let endpoint = history.url("");
    let mut args = vec![
        "backfill",
        "--since",
        "90d",
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        "eu-west-1",
        "--store",
        store_arg,
        "--format",
        "jsonl",
        "--interval",
        "0.3",
    ];
    args.extend(STATES);
    let out = driftguard(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "input errors are exit 2:\n{stderr}");
    assert!(
        stderr.contains("error: LookupEvents page 2, event"),
        "the bad record is named: {stderr}"
    );
    assert!(stderr.contains("malformed JSON"), "{stderr}");
    assert!(
        stderr.contains(&format!("read {} events from 2 LookupEvents pages", events.len())),
        "{stderr}"
    );

    // What CloudTrail was asked: writes only, 50 a page, the window, then the next token; the
    // throttled call retried. (The spacing of calls is a unit test of driftguard-aws, not timed here.)
    let requests = history.requests_to("/");
    assert_eq!(requests.len(), 3, "two pages and one retry");
    for r in &requests {
        assert_eq!(
            r.header("x-amz-target"),
            Some("CloudTrail_20131101.LookupEvents"),
            "{:?}",
            r.headers
        );
        let body = r.json.clone().expect("a JSON body");
        assert_eq!(
            body["LookupAttributes"],
            json!([{ "AttributeKey": "ReadOnly", "AttributeValue": "false" }])
        );
        assert_eq!(body["MaxResults"], json!(50));
        let (start, end) = (
            body["StartTime"].as_f64().expect("start"),
            body["EndTime"].as_f64().expect("end"),
        );
        assert!(
            (end - start - 90.0 * 86_400.0).abs() < 5.0,
            "a 90-day window: {start} .. {end}"
        );
    }
    assert_eq!(requests[0].json.as_ref().expect("json").get("NextToken"), None);
    assert_eq!(requests[2].json.as_ref().expect("json")["NextToken"], "token-2");

    // The same findings the live path makes from the same records, and the live path finds them
    // already stored (same event ids): nothing new.
    let backfilled = ids(&out);
    assert!(!backfilled.is_empty(), "{stderr}");
    let live_store = dir.path().join("live.redb");
    let mut replay = vec![
        "replay",
        "events/cloudtrail/",
        "--store",
        live_store.to_str().expect("utf-8"),
        "--format",
        "jsonl",
    ];
    replay.extend(STATES);
    assert_eq!(ids(&driftguard(&replay)), backfilled);
    let mut again = vec![
        "replay",
        "events/cloudtrail/",
        "--store",
        store_arg,
        "--format",
        "jsonl",
    ];
    again.extend(STATES);
    let again = driftguard(&again);
    assert!(
        text(&again.stderr).contains("0 new findings"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_window_past_cloudtrails_history_is_refused_before_any_call() {
    let out = driftguard(&["backfill", "--since", "120d"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(text(&out.stderr).contains("holds 90 days"), "{}", text(&out.stderr));
}

/// #17 item 3: "why was this (not) flagged?" for an event in production: `explain --event-id`
/// fetches the record from the event history and traces it like a local file.
#[test]
fn explain_fetches_an_event_by_id_and_traces_it() {
    let event: Value = serde_json::from_slice(
        &std::fs::read(root().join("events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json"))
            .expect("read"),
    )
    .expect("JSON");
    let id = event["detail"]["eventID"].as_str().expect("eventID").to_owned();
    let listed = history_events()
        .into_iter()
        .find(|e| e["EventId"] == json!(id))
        .expect("the console event among the history");
    let history = SlackReceiver::start();
    history.script("/", [page(&[listed], None), page(&[], None)]);
    let endpoint = history.url("");
    let mut args = vec![
        "explain",
        "--event-id",
        id.as_str(),
        "--event-id",
        "00000000-0000-4000-8000-00000000dead",
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        "eu-west-1",
        "--format",
        "jsonl",
    ];
    args.extend(STATES);
    let out = driftguard(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "one id was not found:\n{stderr}");
    assert!(
        stderr.contains("event 00000000-0000-4000-8000-00000000dead is not in CloudTrail's event history"),
        "{stderr}"
    );
    let traces: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON trace"))
        .collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert_eq!(traces[0]["event_id"], json!(id));
    assert_eq!(traces[0]["actor"]["kind"], "human");
    assert_eq!(traces[0]["actor"]["rule"], "session.console-credential");
    assert_eq!(traces[0]["resource"]["id"], "sg-0123456789abcdef0");
    let asked: Vec<Value> = history
        .requests_to("/")
        .iter()
        .map(|r| r.json.clone().expect("JSON")["LookupAttributes"].clone())
        .collect();
    assert_eq!(
        asked,
        [
            json!([{ "AttributeKey": "EventId", "AttributeValue": id }]),
            json!([{ "AttributeKey": "EventId", "AttributeValue": "00000000-0000-4000-8000-00000000dead" }]),
        ]
    );
}
