//! Slack notification decisions (routing, minimum severity, digest, bursts, updates after a
//! resolution or a remediation, idempotency keys), the messages they produce (snapshots, and
//! Slack's limits), and the interactivity model (clicks, authorisation per action, decisions).

#![allow(clippy::unwrap_used)]

mod common;

use common::sample_findings;
use driftguard_core::conformance::sample_finding;
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::interaction::{
    approval_of, check_approval, check_target, parse_click, Action, ActionPolicy, AllowList, Decision, DecisionLedger,
    InteractionError, Origin, Recorded, Refused, RequestStanding,
};
use driftguard_core::notify::{
    digest_due, digest_findings, group_key, plan, verified_drift, Claim, DigestItem, Group, Known, MemoryLedger,
    MessageRef, Notice, NotifyLedger, NotifyPolicy, Plan, Route, SkipReason, Untrusted,
};
use driftguard_core::ports::DriftEvent;
use driftguard_core::remediation::plan::{Call, Direction, SgRule};
use driftguard_core::remediation::{
    RemediationAction, RemediationOutcome, RemediationPending, RemediationRequest, RemediationResult, Requester,
};
use driftguard_core::score::Severity;
use driftguard_core::slack::{check_limits, render, render_digest, render_group, with_note};
use driftguard_core::time::Timestamp;
use serde_json::{json, Value};

fn detected(f: &Finding) -> Notice {
    Notice::Drift(Box::new(DriftEvent::from(
        driftguard_core::finding::Transition::Detected(Box::new(f.clone())),
    )))
}

fn resolved(f: &Finding) -> Notice {
    Notice::Drift(Box::new(DriftEvent::from(
        driftguard_core::finding::Transition::Resolved(Box::new(f.clone())),
    )))
}

fn finding(event: &str, secs: i64, severity: Severity) -> Finding {
    sample_finding(event, "sg-0123456789abcdef0", secs, severity)
}

fn policy() -> NotifyPolicy {
    NotifyPolicy {
        default_channel: Some("C0DEFAULT".into()),
        routes: vec![
            Route {
                channel: "C0SECURITY".into(),
                severity: vec![Severity::Critical],
                ..Route::default()
            },
            Route {
                channel: "C0PROD".into(),
                environment: Some("PROD".into()),
                ..Route::default()
            },
            Route {
                channel: "C0PAYMENTS".into(),
                tags: [("team".to_owned(), "payments".to_owned())].into(),
                ..Route::default()
            },
            Route {
                channel: "C0SANDBOX".into(),
                account: Some("210987654321".into()),
                ..Route::default()
            },
        ],
        ..NotifyPolicy::default()
    }
}

fn channel_of(p: &Plan) -> &str {
    match p {
        Plan::Post { channel, .. } | Plan::Digest { channel } => channel,
        other => panic!("not a post or digest: {other:?}"),
    }
}

#[test]
fn routes_pick_the_channel_by_severity_environment_tag_and_account() {
    let p = policy();
    let k = Known::default();
    let critical = finding("ev-1", 10, Severity::Critical);
    assert_eq!(channel_of(&plan(&detected(&critical), &p, &k, true)), "C0SECURITY");

    let mut prod = finding("ev-2", 10, Severity::Major);
    prod.tags.insert("Environment".into(), "prod".into());
    assert_eq!(
        channel_of(&plan(&detected(&prod), &p, &k, true)),
        "C0PROD",
        "environment compared case-insensitively"
    );

    let mut payments = finding("ev-3", 10, Severity::Major);
    payments.tags.insert("team".into(), "payments".into());
    assert_eq!(channel_of(&plan(&detected(&payments), &p, &k, true)), "C0PAYMENTS");

    let mut sandbox = finding("ev-4", 10, Severity::Major);
    sandbox.resource.account = "210987654321".into();
    assert_eq!(channel_of(&plan(&detected(&sandbox), &p, &k, true)), "C0SANDBOX");

    let other = finding("ev-5", 10, Severity::Major);
    assert_eq!(channel_of(&plan(&detected(&other), &p, &k, true)), "C0DEFAULT");

    let no_default = NotifyPolicy {
        default_channel: None,
        ..policy()
    };
    assert_eq!(
        plan(&detected(&other), &no_default, &k, true),
        Plan::Skip(SkipReason::NoChannel)
    );
}

#[test]
fn routes_are_read_from_json_and_unknown_fields_are_refused() {
    let routes: Vec<Route> = serde_json::from_str(
        r#"[{"channel":"C1","severity":["critical","major"]},{"channel":"C2","environment":"prod","tags":{"team":"core"}}]"#,
    )
    .unwrap();
    assert_eq!(routes[0].severity, vec![Severity::Critical, Severity::Major]);
    assert_eq!(routes[1].tags["team"], "core");
    assert!(serde_json::from_str::<Vec<Route>>(r#"[{"channel":"C1","sevrity":["critical"]}]"#).is_err());
}

#[test]
fn a_minimum_severity_drops_and_minor_findings_go_to_the_digest() {
    let k = Known::default();
    let minor = finding("ev-minor", 10, Severity::Minor);
    assert_eq!(
        plan(&detected(&minor), &policy(), &k, true),
        Plan::Digest {
            channel: "C0DEFAULT".into()
        }
    );
    let strict = NotifyPolicy {
        min_severity: Severity::Major,
        ..policy()
    };
    assert_eq!(
        plan(&detected(&minor), &strict, &k, true),
        Plan::Skip(SkipReason::BelowMinimum)
    );
    let no_digest = NotifyPolicy {
        digest_up_to: None,
        ..policy()
    };
    assert!(matches!(
        plan(&detected(&minor), &no_digest, &k, true),
        Plan::Post { .. }
    ));
}

#[test]
fn a_digest_is_due_when_full_or_old() {
    let p = NotifyPolicy {
        digest_max_items: 3,
        digest_max_age_seconds: 600,
        ..policy()
    };
    let item = |i: i64, at: i64| {
        DigestItem::new(
            &format!("k{i}"),
            &finding(&format!("ev{i}"), at, Severity::Minor),
            Timestamp(at * 1000),
        )
    };
    let two = vec![item(1, 100), item(2, 200)];
    assert!(!digest_due(&[], &p, Timestamp(10_000_000)));
    assert!(!digest_due(&two, &p, Timestamp(600_000)), "not full, not old");
    assert!(digest_due(&two, &p, Timestamp(700_000)), "the oldest waited 600 s");
    let three = vec![item(1, 100), item(2, 200), item(3, 300)];
    assert!(digest_due(&three, &p, Timestamp(300_000)), "full");
}

#[test]
fn a_digest_shows_each_finding_once_in_its_latest_version() {
    let a = finding("ev-a", 100, Severity::Minor);
    let b = finding("ev-b", 200, Severity::Minor);
    let mut a_resolved = a.clone();
    a_resolved.resolve_with(&IacChange {
        resource_key: a.resource.key(),
        event_id: "ev-apply".into(),
        time: Timestamp(300_000),
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    });
    let items = [
        DigestItem::new(&format!("{}:detected", a.id), &a, Timestamp(1)),
        DigestItem::new(&format!("{}:detected", b.id), &b, Timestamp(2)),
        DigestItem::new(&format!("{}:resolved", a.id), &a_resolved, Timestamp(3)),
    ];
    assert_eq!(digest_findings(&items), vec![a_resolved, b]);
}

#[test]
fn a_burst_by_one_actor_on_one_resource_is_one_message_updated() {
    let p = policy();
    let first = finding("ev-burst-1", 100, Severity::Major);
    let Plan::Post {
        group: Some((key, members)),
        ..
    } = plan(&detected(&first), &p, &Known::default(), true)
    else {
        panic!("the first change posts and starts a group");
    };
    assert_eq!(key, group_key(&first));
    let group = Group {
        key,
        message: MessageRef {
            channel: "C0DEFAULT".into(),
            ts: "1.0001".into(),
        },
        findings: members,
        last_at: first.call.time,
    };
    let second = finding("ev-burst-2", 220, Severity::Major);
    assert_eq!(group_key(&second), group.key, "same actor, same resource");
    let known = Known {
        message: None,
        group: Some(group.clone()),
        prompt: None,
    };
    match plan(&detected(&second), &p, &known, true) {
        Plan::Update {
            target,
            message: Some(message),
            reply: None,
            group: Some(g),
        } => {
            assert_eq!(target, group.message);
            assert_eq!(g.findings.len(), 2);
            assert_eq!(g.last_at, second.call.time);
            let text = message.to_string();
            assert!(text.contains("2 changes by alice"), "{text}");
            assert!(text.contains(&first.id) && text.contains(&second.id));
        }
        other => panic!("expected an update of the group's message, got {other:?}"),
    }
    // Outside the window, or with a webhook (no updates), a new message.
    let late = finding("ev-burst-3", 100 + 301, Severity::Major);
    assert!(matches!(plan(&detected(&late), &p, &known, true), Plan::Post { .. }));
    assert!(matches!(
        plan(&detected(&second), &p, &known, false),
        Plan::Post { group: None, .. }
    ));
    // Another actor is another group.
    let mut bob = second.clone();
    bob.actor.human = Some("bob".into());
    assert_ne!(group_key(&bob), group.key);
}

#[test]
fn a_resolution_updates_the_original_message_and_replies_in_its_thread() {
    let mut f = finding("ev-res", 100, Severity::Critical);
    f.resolve_with(&IacChange {
        resource_key: f.resource.key(),
        event_id: "ev-apply".into(),
        time: Timestamp(200_000),
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    });
    let target = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000100".into(),
    };
    let known = Known {
        message: Some(target.clone()),
        group: None,
        prompt: None,
    };
    match plan(&resolved(&f), &policy(), &known, true) {
        Plan::Update {
            target: t,
            message: Some(message),
            reply: Some(reply),
            ..
        } => {
            assert_eq!(t, target);
            assert!(message.to_string().contains("resolved by Terraform"));
            assert!(
                !message.to_string().contains("driftguard.revert"),
                "no buttons once resolved"
            );
            assert_eq!(
                reply["text"],
                json!(
                    ":white_check_mark: Resolved by Terraform at 1970-01-01T00:03:20Z: the resource is back under IaC."
                )
            );
        }
        other => panic!("{other:?}"),
    }
    // With a webhook the resolution is a new message.
    assert!(matches!(
        plan(&resolved(&f), &policy(), &known, false),
        Plan::Post { .. }
    ));
}

#[test]
fn a_remediation_result_updates_the_message_and_replies() {
    let f = finding("ev-rem", 100, Severity::Critical);
    let result = RemediationResult::new(
        &f.id,
        RemediationAction::Revert,
        RemediationOutcome::Failed,
        "driftguard-remediate",
        Timestamp(300_000),
        Some("AccessDenied on RevokeSecurityGroupIngress".into()),
    );
    let notice = Notice::Remediation {
        result: result.clone(),
        finding: Some(Box::new(f.clone())),
    };
    assert_eq!(notice.key(), format!("{}:revert.failed@1970-01-01T00:05:00Z", f.id));
    let known = Known {
        message: Some(MessageRef {
            channel: "C0SECURITY".into(),
            ts: "1.2".into(),
        }),
        group: None,
        prompt: None,
    };
    let Plan::Update {
        message: Some(message),
        reply: Some(reply),
        ..
    } = plan(&notice, &policy(), &known, true)
    else {
        panic!("an update");
    };
    let expected =
        ":x: Revert failed by driftguard-remediate at 1970-01-01T00:05:00Z: AccessDenied on RevokeSecurityGroupIngress";
    assert_eq!(reply["text"], json!(expected));
    assert!(message.to_string().contains(expected));
    // Without a known message it is posted to the finding's channel.
    assert!(matches!(
        plan(&notice, &policy(), &Known::default(), true),
        Plan::Post { channel, .. } if channel == "C0SECURITY"
    ));
}

#[test]
fn idempotency_keys_are_finding_id_and_version() {
    let mut f = finding("ev-key", 100, Severity::Major);
    assert_eq!(detected(&f).key(), format!("{}:detected", f.id));
    assert_eq!(resolved(&f).key(), format!("{}:resolved", f.id));
    f.revision = 2;
    assert_eq!(detected(&f).key(), format!("{}:detected:r2", f.id));
}

#[test]
fn a_new_revision_of_a_shown_finding_updates_its_message() {
    let mut f = finding("ev-rev", 100, Severity::Major);
    let target = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000200".into(),
    };
    let known = Known {
        message: Some(target.clone()),
        group: None,
        prompt: None,
    };
    f.revision = 2;
    f.summary = "AWS Config confirmed the live values".into();
    match plan(&detected(&f), &policy(), &known, true) {
        Plan::Update {
            target: t,
            message: Some(message),
            reply: None,
            ..
        } => {
            assert_eq!(t, target);
            assert!(message.to_string().contains("AWS Config confirmed the live values"));
        }
        other => panic!("{other:?}"),
    }
    // Never shown before: a first post.
    let fresh = Known {
        message: None,
        group: None,
        prompt: None,
    };
    assert!(matches!(
        plan(&detected(&f), &policy(), &fresh, true),
        Plan::Post { .. }
    ));
}

#[test]
fn the_memory_ledger_claims_once_and_lets_a_failed_delivery_retry() {
    let ledger = MemoryLedger::default();
    let now = Timestamp(1_000_000);
    let claim = |t: i64| pollster::block_on(ledger.begin("dg-1:detected", Timestamp(t))).unwrap();
    assert_eq!(claim(now.0), Claim::Fresh);
    assert_eq!(claim(now.0 + 1000), Claim::Busy, "held by the first delivery");
    pollster::block_on(ledger.release("dg-1:detected")).unwrap();
    assert_eq!(claim(now.0 + 2000), Claim::Fresh, "released after a failure");
    pollster::block_on(ledger.finish("dg-1:detected", now)).unwrap();
    assert_eq!(claim(now.0 + 3000), Claim::Done);
    // An abandoned claim is taken over once its lease expires.
    assert_eq!(
        pollster::block_on(ledger.begin("dg-2:detected", now)).unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        pollster::block_on(ledger.begin("dg-2:detected", Timestamp(now.0 + 121_000))).unwrap(),
        Claim::Fresh
    );
}

// --- Messages ---------------------------------------------------------------------------------

fn burst() -> Vec<Finding> {
    let all = sample_findings();
    let sg = all
        .iter()
        .find(|f| f.resource.id == "sg-0123456789abcdef0" && f.actor.human.is_some())
        .unwrap()
        .clone();
    let mut second = sg.clone();
    second.id = "dg-00000000000000b2".into();
    second.call.event_id = "ev-second-change".into();
    second.call.time = Timestamp(sg.call.time.0 + 45_000);
    second.call.name = "ModifySecurityGroupRules".into();
    vec![sg, second]
}

#[test]
fn a_burst_message() {
    let message = render_group(&burst());
    assert_eq!(check_limits(&message), Vec::<String>::new());
    insta::assert_json_snapshot!("burst_message", message);
}

#[test]
fn a_digest_message() {
    let findings: Vec<Finding> = sample_findings().into_iter().take(4).collect();
    let message = render_digest(&findings);
    assert_eq!(check_limits(&message), Vec::<String>::new());
    insta::assert_json_snapshot!("digest_message", message);
}

#[test]
fn a_decided_alert() {
    let f = burst().remove(0);
    let decided = with_note(
        render(&f),
        "Revert requested by <@U0ALICE> at 2026-11-20T09:10:00Z",
        true,
    );
    assert_eq!(check_limits(&decided), Vec::<String>::new());
    let blocks = decided["blocks"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"] != "actions"), "buttons gone");
    assert_eq!(
        blocks.last().unwrap()["elements"][0]["text"],
        json!("Revert requested by <@U0ALICE> at 2026-11-20T09:10:00Z")
    );
    let acknowledged = with_note(render(&f), "Acknowledged by <@U0BOB>", false);
    let blocks = acknowledged["blocks"].as_array().unwrap();
    assert_eq!(
        blocks.last().unwrap()["type"],
        "actions",
        "acknowledge keeps the buttons"
    );
    assert_eq!(blocks[blocks.len() - 2]["type"], "context");
}

#[test]
fn a_remediated_alert_and_its_thread_reply() {
    let f = burst().remove(0);
    let note = ":white_check_mark: Revert completed by driftguard-remediate at 2026-11-20T09:59:11.804Z";
    let updated = with_note(render(&f), note, false);
    assert_eq!(check_limits(&updated), Vec::<String>::new());
    let reply = driftguard_core::slack::text_message(note);
    assert_eq!(check_limits(&reply), Vec::<String>::new());
    insta::assert_json_snapshot!("remediated_alert", json!({ "update": updated, "thread_reply": reply }));
}

fn huge(i: usize) -> Finding {
    let mut f = finding(&format!("ev-huge-{i}"), 100 + i as i64, Severity::Critical);
    for a in 0..30 {
        f.changes.push(AttributeChange {
            attribute: format!("ingress_{a}"),
            declared_in: None,
            expected: json!([]),
            found: json!((0..300).map(|j| format!("tcp {j} 10.{a}.0.0/16")).collect::<Vec<_>>()),
            drifted: true,
        });
    }
    f.summary = "s".repeat(8000);
    f.fix = "f".repeat(8000);
    f.resource.id = "r".repeat(300);
    f
}

#[test]
fn huge_bursts_and_digests_stay_within_slacks_limits() {
    let group: Vec<Finding> = (0..driftguard_core::notify::MAX_GROUP).map(huge).collect();
    let message = render_group(&group);
    assert_eq!(check_limits(&message), Vec::<String>::new());
    assert!(message.to_string().contains("and 27 more attributes"));
    let noted = with_note(message, &"n".repeat(5000), false);
    assert_eq!(check_limits(&noted), Vec::<String>::new());

    let many: Vec<Finding> = (0..2000).map(huge).collect();
    let digest = render_digest(&many);
    assert_eq!(check_limits(&digest), Vec::<String>::new());
    let text = digest.to_string();
    let more: usize = text
        .split("…and ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a digest too long for one message says how many it left out");
    let listed = text.matches("ev-huge").count() + text.matches("· `dg-").count();
    assert!(more > 0 && listed > 0, "{more} {listed}");
    let shown = digest["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .map(|t| t.matches("· `dg-").count())
        .sum::<usize>();
    assert_eq!(shown + more, 2000, "every finding is shown or counted");
}

// --- Interactivity ----------------------------------------------------------------------------

fn form(payload: &Value) -> Vec<u8> {
    let mut out = String::from("payload=");
    for b in payload.to_string().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.into_bytes()
}

fn click_payload(action_id: &str, value: &Value) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": "U0ALICE", "username": "alice", "team_id": "T0DRIFT" },
        "api_app_id": "A0GUARD",
        "container": { "type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SECURITY", "is_ephemeral": false },
        "channel": { "id": "C0SECURITY", "name": "drift-alerts" },
        "response_url": "https://hooks.slack.com/actions/T0DRIFT/1/xyz",
        "actions": [{ "type": "button", "action_id": action_id, "block_id": "driftguard.dg-1", "value": value.to_string(), "action_ts": "1700000100.000200" }],
    })
}

#[test]
fn clicks_are_read_from_the_form_slack_posts() {
    let body = form(&click_payload(
        "driftguard.revert",
        &json!({"finding_id": "dg-1500731b7ee4b0bc", "action": "revert"}),
    ));
    let click = parse_click(&body).unwrap();
    assert_eq!(click.user_id, "U0ALICE");
    assert_eq!(click.user_name.as_deref(), Some("alice"));
    assert_eq!(click.action, Action::Revert);
    assert_eq!(click.finding_ids, vec!["dg-1500731b7ee4b0bc"]);
    assert_eq!(click.response_url, "https://hooks.slack.com/actions/T0DRIFT/1/xyz");
    assert_eq!(
        (click.channel.as_deref(), click.message_ts.as_deref()),
        (Some("C0SECURITY"), Some("1700000000.000100"))
    );
    let burst = parse_click(&form(&click_payload(
        "driftguard.acknowledge",
        &json!({"finding_ids": ["dg-1", "dg-2"], "action": "acknowledge"}),
    )))
    .unwrap();
    assert_eq!(burst.finding_ids, vec!["dg-1", "dg-2"]);
}

#[test]
fn every_rendered_button_is_a_click_driftguard_reads() {
    let f = burst().remove(0);
    for message in [render(&f), render_group(&burst())] {
        let buttons = message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap()["elements"]
            .as_array()
            .unwrap()
            .clone();
        let actions: Vec<Action> = buttons
            .iter()
            .map(|b| {
                let click = parse_click(&form(&click_payload(
                    b["action_id"].as_str().unwrap(),
                    &serde_json::from_str(b["value"].as_str().unwrap()).unwrap(),
                )))
                .unwrap();
                assert!(click.finding_ids.contains(&f.id));
                click.action
            })
            .collect();
        assert_eq!(actions, Action::ALERT.to_vec());
    }
}

#[test]
fn bad_clicks_are_clear_errors() {
    let check = |body: &[u8], want: &str| {
        let err = parse_click(body).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    };
    check(b"", "no `payload` form field");
    check(b"payload=%7Bnot-json", "malformed interaction payload");
    check(b"payload=%ZZ", "bad percent escape");
    check(
        &form(&json!({"type": "view_submission"})),
        "unsupported interaction type",
    );
    check(
        &form(&click_payload(
            "driftguard.delete_everything",
            &json!({"finding_id": "dg-1"}),
        )),
        "unknown action \"driftguard.delete_everything\"",
    );
    check(
        &form(&click_payload("driftguard.revert", &json!({}))),
        "names no finding",
    );
    let mut no_user = click_payload("driftguard.revert", &json!({"finding_id": "dg-1"}));
    no_user["user"] = json!({});
    check(&form(&no_user), "no user.id");
    assert!(matches!(
        parse_click(&form(
            &json!({"type": "block_actions", "user": {"id": "U1"}, "response_url": "https://x", "actions": []})
        )),
        Err(InteractionError::Malformed(_))
    ));
}

fn action_policy() -> ActionPolicy {
    serde_json::from_value(json!({
        "revert": { "users": ["U0ALICE"], "groups": ["S0SRE"] },
        "reapply": { "groups": ["S0SRE"] },
        "accept": { "users": ["U0ALICE", "U0BOB"] },
        "acknowledge": { "users": ["*"] },
    }))
    .unwrap()
}

#[test]
fn each_action_has_its_own_allow_list() {
    let p = action_policy();
    let none: &[String] = &[];
    let sre = &["S0SRE".to_owned()];
    // Revert: alice by name, carol through the SRE group, bob not.
    assert_eq!(p.authorise(Action::Revert, "U0ALICE", none), Ok(()));
    assert_eq!(p.authorise(Action::Revert, "U0CAROL", sre), Ok(()));
    let denied = p.authorise(Action::Revert, "U0BOB", none).unwrap_err();
    assert_eq!(denied.to_string(), "<@U0BOB> is not allowed to revert");
    // Re-apply: the SRE group only, so even alice is refused without it.
    assert!(p.authorise(Action::Reapply, "U0ALICE", none).is_err());
    assert_eq!(p.authorise(Action::Reapply, "U0ALICE", sre), Ok(()));
    // Accept: alice and bob, not carol (her group does not count here).
    assert_eq!(p.authorise(Action::Accept, "U0BOB", none), Ok(()));
    assert!(p.authorise(Action::Accept, "U0CAROL", sre).is_err());
    // Acknowledge: everyone.
    assert_eq!(p.authorise(Action::Acknowledge, "U0ANYONE", none), Ok(()));
    assert!(p.admits_directly(Action::Acknowledge, "U0ANYONE"));
    assert!(!p.admits_directly(Action::Reapply, "U0CAROL"));
    // An action nobody is listed for is refused to all.
    let empty = ActionPolicy {
        acknowledge: AllowList::default(),
        ..ActionPolicy::default()
    };
    for a in Action::ALL {
        assert!(empty.authorise(a, "U0ALICE", sre).is_err(), "{a:?}");
    }
    assert!(serde_json::from_value::<ActionPolicy>(json!({"revrt": {}})).is_err());
}

#[test]
fn decisions_are_recorded_once_and_revert_and_reapply_request_remediation() {
    let click = parse_click(&form(&click_payload(
        "driftguard.reapply",
        &json!({"finding_ids": ["dg-1", "dg-2"]}),
    )))
    .unwrap();
    let at = Timestamp(1_795_165_337_000);
    let decisions = Decision::from_click(&click, at);
    assert_eq!(decisions.len(), 2);
    let request = decisions[0].remediation_request().unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "schema_version": 1,
            "finding_id": "dg-1",
            "action": "reapply",
            "requested_by": { "source": "slack", "user": "U0ALICE" },
            "requested_at": "2026-11-20T09:02:17Z",
            "dry_run": false,
        })
    );
    let mut ack = decisions[0].clone();
    ack.action = Action::Acknowledge;
    assert_eq!(ack.remediation_request(), None);
    let mut accept = decisions[0].clone();
    accept.action = Action::Accept;
    assert_eq!(
        accept.remediation_request().map(|r| r.action),
        Some(driftguard_core::remediation::RemediationAction::Accept),
        "an accepted change goes to the remediate function, which records the baseline"
    );

    let ledger = MemoryLedger::default();
    assert_eq!(pollster::block_on(ledger.record(&decisions[0])).unwrap(), Recorded::New);
    assert_eq!(
        pollster::block_on(ledger.record(&decisions[0])).unwrap(),
        Recorded::Repeat { published: false },
        "recorded once; its request not yet published"
    );
    pollster::block_on(ledger.mark_published(&decisions[0])).unwrap();
    assert_eq!(
        pollster::block_on(ledger.record(&decisions[0])).unwrap(),
        Recorded::Repeat { published: true }
    );
    assert_eq!(pollster::block_on(ledger.record(&ack)).unwrap(), Recorded::New);
    let on_first = pollster::block_on(ledger.decisions("dg-1")).unwrap();
    assert_eq!(on_first.len(), 2);
    assert!(pollster::block_on(ledger.first_use("v0=abc", at)).unwrap());
    assert!(!pollster::block_on(ledger.first_use("v0=abc", at)).unwrap(), "a replay");
}

/// Issue #16 item 3: the same user clicking the same button again, seconds later, is the same
/// decision (the key once held the time to the millisecond, so every click was a new one and
/// published another Remediation Requested); and the first settling decision holds the finding.
#[test]
fn a_repeat_click_is_the_same_decision_and_the_first_settling_decision_wins() {
    let click = parse_click(&form(&click_payload(
        "driftguard.revert",
        &json!({"finding_id": "dg-1"}),
    )))
    .unwrap();
    let first = Decision::from_click(&click, Timestamp(1_795_165_337_000)).remove(0);
    let again = Decision::from_click(&click, Timestamp(1_795_165_339_512)).remove(0);
    assert_eq!(first.key(), "revert#U0ALICE");
    assert_eq!(first.key(), again.key(), "no time in the key");
    let ledger = MemoryLedger::default();
    assert_eq!(pollster::block_on(ledger.record(&first)).unwrap(), Recorded::New);
    pollster::block_on(ledger.mark_published(&first)).unwrap();
    assert_eq!(
        pollster::block_on(ledger.record(&again)).unwrap(),
        Recorded::Repeat { published: true },
        "nothing new to publish"
    );
    // Bob re-applies after alice's revert: refused, alice's decision is named.
    let mut bob = again.clone();
    bob.action = Action::Reapply;
    bob.by.user = "U0BOB".into();
    assert_eq!(
        pollster::block_on(ledger.record(&bob)).unwrap(),
        Recorded::Taken(Box::new(first.clone()))
    );
    // Acknowledging still records, once per user.
    let mut ack = bob.clone();
    ack.action = Action::Acknowledge;
    assert_eq!(pollster::block_on(ledger.record(&ack)).unwrap(), Recorded::New);
    assert_eq!(
        pollster::block_on(ledger.record(&ack)).unwrap(),
        Recorded::Repeat { published: true }
    );
    let all = pollster::block_on(ledger.decisions("dg-1")).unwrap();
    assert_eq!(all, vec![first, ack]);
}

fn clicked(action: &str, finding_id: &str) -> driftguard_core::interaction::Click {
    parse_click(&form(&click_payload(
        &format!("driftguard.{action}"),
        &json!({ "finding_id": finding_id }),
    )))
    .unwrap()
}

/// Issue #16 item 3: a click acts only on a stored, open, undecided finding shown in the message
/// clicked (channel and ts from the ledger).
#[test]
fn a_click_is_tied_to_its_message_and_the_findings_state() {
    let f = finding("ev-click", 100, Severity::Critical);
    let click = clicked("revert", &f.id);
    let here = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000100".into(),
    };
    assert_eq!(check_target(&click, &f.id, Some(&f), Some(&here), &[]), Ok(()));

    let refused = |finding: Option<&Finding>, posted: Option<&MessageRef>, decisions: &[Decision]| {
        check_target(&click, &f.id, finding, posted, decisions).unwrap_err()
    };
    assert_eq!(refused(None, Some(&here), &[]), Refused::NotFound(f.id.clone()));
    // Posted elsewhere (another message's button carrying this id), or never posted.
    let elsewhere = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000999".into(),
    };
    let other_channel = MessageRef {
        channel: "C0OTHER".into(),
        ts: here.ts.clone(),
    };
    for posted in [Some(&elsewhere), Some(&other_channel), None] {
        let r = refused(Some(&f), posted, &[]);
        assert_eq!(r.reason(), "not_on_message", "{posted:?}");
        assert_eq!(
            r.user_text(),
            format!(
                ":warning: Finding `{}` was not posted in this message. Nothing was changed.",
                f.id
            )
        );
    }
    let mut resolved = f.clone();
    resolved.resolve_with(&IacChange {
        resource_key: f.resource.key(),
        event_id: "ev-apply".into(),
        time: Timestamp(200_000),
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    });
    assert_eq!(
        refused(Some(&resolved), Some(&here), &[]),
        Refused::Resolved(f.id.clone())
    );
    // Decided: any settling decision refuses every further action; acknowledgements do not.
    let ack = Decision::from_click(&clicked("acknowledge", &f.id), Timestamp(1_000)).remove(0);
    assert_eq!(
        check_target(&click, &f.id, Some(&f), Some(&here), std::slice::from_ref(&ack)),
        Ok(())
    );
    // The same user repeating the same click passes (the ledger makes it a no-op).
    let mine = Decision::from_click(&click, Timestamp(1_500)).remove(0);
    assert_eq!(check_target(&click, &f.id, Some(&f), Some(&here), &[mine]), Ok(()));
    let accept = Decision::from_click(&clicked("accept", &f.id), Timestamp(2_000)).remove(0);
    let r = refused(Some(&f), Some(&here), &[ack, accept]);
    assert_eq!(
        r.user_text(),
        format!(
            ":warning: Finding `{}` is already decided: Change accepted by <@U0ALICE> at 1970-01-01T00:00:02Z. Nothing was changed.",
            f.id
        )
    );
}

/// Issue #16 item 3: the workspace and the app are checked against configuration.
#[test]
fn clicks_from_another_workspace_or_app_are_refused() {
    let origin = Origin {
        team_id: "T0DRIFT".into(),
        api_app_id: "A0GUARD".into(),
    };
    let mut payload = click_payload("driftguard.revert", &json!({"finding_id": "dg-1"}));
    payload["team"] = json!({ "id": "T0DRIFT", "domain": "acme" });
    let click = parse_click(&form(&payload)).unwrap();
    assert_eq!(
        (click.team_id.as_deref(), click.api_app_id.as_deref()),
        (Some("T0DRIFT"), Some("A0GUARD"))
    );
    assert_eq!(origin.check(&click), Ok(()));
    payload["team"]["id"] = json!("T0EVIL");
    assert_eq!(
        origin
            .check(&parse_click(&form(&payload)).unwrap())
            .unwrap_err()
            .to_string(),
        "team.id \"T0EVIL\" is not the configured one"
    );
    payload["team"]["id"] = json!("T0DRIFT");
    payload["api_app_id"] = json!("A0OTHER");
    assert_eq!(
        origin
            .check(&parse_click(&form(&payload)).unwrap())
            .unwrap_err()
            .to_string(),
        "api_app_id \"A0OTHER\" is not the configured one"
    );
    payload.as_object_mut().unwrap().remove("api_app_id");
    assert!(
        origin.check(&parse_click(&form(&payload)).unwrap()).is_err(),
        "missing is refused"
    );
}

/// Issue #16 item 3: a policy that would silently refuse everyone is an error naming the action.
#[test]
fn unenforceable_group_lists_are_refused() {
    let star: ActionPolicy = serde_json::from_value(json!({"revert": {"groups": ["*"]}})).unwrap();
    assert!(star.validate(true).unwrap_err().contains("revert.groups holds \"*\""));
    let groups = action_policy();
    assert!(groups.validate(false).unwrap_err().contains("needs a bot token"));
    assert_eq!(groups.validate(true), Ok(()));
}

fn drift_event(f: &Finding) -> DriftEvent {
    DriftEvent::from(driftguard_core::finding::Transition::Detected(Box::new(f.clone())))
}

/// Issue #16 item 1: an event on the bus is checked against the table, and what is posted is
/// the stored finding.
#[test]
fn drift_events_are_checked_against_the_stored_finding() {
    let stored = finding("ev-stored", 100, Severity::Critical);
    let event = drift_event(&stored);
    let Notice::Drift(ok) = verified_drift(&event, Some(&stored)).unwrap() else {
        panic!("a drift notice");
    };
    assert_eq!((ok.key.as_str(), &ok.finding), (event.key.as_str(), &stored));

    assert_eq!(
        verified_drift(&event, None).unwrap_err(),
        Untrusted::NotStored(stored.id.clone())
    );
    let differs = |change: &dyn Fn(&mut DriftEvent)| {
        let mut forged = event.clone();
        change(&mut forged);
        match verified_drift(&forged, Some(&stored)) {
            Err(Untrusted::Differs { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert_eq!(
        differs(&|e| e.finding.resource.id = "sg-0ffffffffffffffff".into()),
        "resource"
    );
    assert_eq!(differs(&|e| e.finding.call.event_id = "ev-forged".into()), "call");
    assert_eq!(differs(&|e| e.finding.actor.human = Some("mallory".into())), "actor");
    assert_eq!(differs(&|e| e.finding.severity = Severity::Minor), "severity");
    assert_eq!(differs(&|e| e.finding.revision = 2), "revision");
    assert_eq!(differs(&|e| e.key = format!("{}:resolved", stored.id)), "key");
    assert_eq!(
        differs(&|e| e.kind = driftguard_core::ports::DriftEventKind::Resolved),
        "status"
    );
    // The table ahead of the event (resolved since): the stored, resolved finding is shown.
    let mut later = stored.clone();
    later.resolve_with(&IacChange {
        resource_key: stored.resource.key(),
        event_id: "ev-apply".into(),
        time: Timestamp(200_000),
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    });
    let Notice::Drift(shown) = verified_drift(&event, Some(&later)).unwrap() else {
        panic!("a drift notice");
    };
    assert_eq!(shown.finding, later);
}

fn pending(f: &Finding, approved_by: &[&str]) -> RemediationPending {
    RemediationPending {
        schema_version: 1,
        finding_id: f.id.clone(),
        request_id: "rq-00c0ffee00c0ffee".into(),
        action: RemediationAction::Revert,
        requested_by: Requester {
            source: "slack".into(),
            user: "U0ALICE".into(),
        },
        required: 2,
        approved_by: approved_by.iter().map(|s| (*s).to_owned()).collect(),
        calls: vec![Call::RevokeSecurityGroupRules {
            group_id: "sg-0123456789abcdef0".into(),
            direction: Direction::Ingress,
            rules: vec![SgRule::parse("tcp 22 0.0.0.0/0").unwrap()],
        }],
        at: Timestamp(400_000),
    }
}

/// The approval prompt's button, clicked by `user` on the prompt message `ts`.
fn approve_click(prompt: &Value, user: &str, ts: &str) -> driftguard_core::interaction::Click {
    let button = prompt["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("an actions block")["elements"][0]
        .clone();
    let mut payload = click_payload(
        button["action_id"].as_str().unwrap(),
        &serde_json::from_str(button["value"].as_str().unwrap()).unwrap(),
    );
    payload["user"]["id"] = json!(user);
    payload["container"]["message_ts"] = json!(ts);
    parse_click(&form(&payload)).unwrap()
}

#[test]
fn a_waiting_request_gets_an_approve_prompt_in_the_alerts_thread() {
    let f = finding("ev-approve", 100, Severity::Critical);
    let notice = Notice::Approval {
        pending: pending(&f, &["U0BOB"]),
        finding: Box::new(f.clone()),
    };
    assert_eq!(notice.key(), format!("{}:approval.rq-00c0ffee00c0ffee.1", f.id));
    let alert = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000100".into(),
    };
    let known = Known {
        message: Some(alert.clone()),
        ..Known::default()
    };
    let Plan::Prompt {
        channel,
        thread,
        existing,
        request_id,
        message,
    } = plan(&notice, &policy(), &known, true)
    else {
        panic!("a prompt");
    };
    assert_eq!(
        (channel.as_str(), thread.as_deref()),
        ("C0SECURITY", Some("1700000000.000100"))
    );
    assert_eq!((existing, request_id.as_str()), (None, "rq-00c0ffee00c0ffee"));
    assert_eq!(check_limits(&message), Vec::<String>::new());
    let text = message.to_string();
    assert!(text.contains("1 of 2 approvals (<@U0BOB>)"), "{text}");
    assert!(text.contains("Requested by <@U0ALICE>"), "{text}");
    assert!(
        text.contains("ec2:RevokeSecurityGroupIngress"),
        "the plan is shown: {text}"
    );
    // The button reads back as an approval of this request on this finding.
    let click = approve_click(&message, "U0CAROL", "1700000000.000200");
    assert_eq!(click.action, Action::Approve);
    assert_eq!(click.finding_ids, vec![f.id.clone()]);
    assert_eq!(click.request_id.as_deref(), Some("rq-00c0ffee00c0ffee"));
    let approval = approval_of(&click, Timestamp(500_000)).unwrap();
    assert_eq!(
        serde_json::to_value(&approval).unwrap(),
        json!({"schema_version": 1, "finding_id": f.id, "request_id": "rq-00c0ffee00c0ffee", "approver": "U0CAROL", "at": "1970-01-01T00:08:20Z"})
    );
    // A later count updates the prompt already posted.
    let posted = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000200".into(),
    };
    let known = Known {
        message: Some(alert),
        prompt: Some(posted.clone()),
        ..Known::default()
    };
    assert!(matches!(plan(&notice, &policy(), &known, true), Plan::Prompt { existing: Some(p), .. } if p == posted));
    // An incoming webhook cannot bind a click to its message: the prompt goes without a button.
    let Plan::Post { message, .. } = plan(&notice, &policy(), &Known::default(), false) else {
        panic!("a post");
    };
    assert!(!message.to_string().contains("driftguard.approve"), "{message}");
    assert!(message.to_string().contains("bot token"), "{message}");

    // The request's result closes the prompt (no button), when there is one and it can be updated.
    let mut result = RemediationResult::new(
        &f.id,
        RemediationAction::Revert,
        RemediationOutcome::Completed,
        "driftguard-remediate",
        Timestamp(600_000),
        None,
    );
    result.request_id = Some("rq-00c0ffee00c0ffee".into());
    let done = Notice::Remediation {
        result,
        finding: Some(Box::new(f.clone())),
    };
    let with_prompt = Known {
        prompt: Some(posted.clone()),
        ..Known::default()
    };
    let (target, closed) = driftguard_core::notify::prompt_to_close(&done, &with_prompt, true).expect("closed");
    assert_eq!(target, posted);
    assert!(
        closed
            .to_string()
            .contains("No more approvals needed for `rq-00c0ffee00c0ffee`"),
        "{closed}"
    );
    assert!(!closed.to_string().contains("driftguard.approve"));
    assert_eq!(
        driftguard_core::notify::prompt_to_close(&done, &with_prompt, false),
        None,
        "a webhook cannot update"
    );
    assert_eq!(
        driftguard_core::notify::prompt_to_close(&done, &Known::default(), true),
        None,
        "no prompt"
    );
    assert_eq!(
        driftguard_core::notify::prompt_to_close(&notice, &with_prompt, true),
        None,
        "only results close it"
    );
}

#[test]
fn an_approval_is_checked_against_its_prompt_and_its_request_not_the_alerts_decision() {
    let f = finding("ev-approve-check", 100, Severity::Critical);
    let prompt_message = render_approval_of(&f);
    let prompt = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000200".into(),
    };
    let request = RemediationRequest {
        schema_version: 1,
        finding_id: f.id.clone(),
        action: RemediationAction::Revert,
        requested_by: Requester {
            source: "slack".into(),
            user: "U0ALICE".into(),
        },
        requested_at: Timestamp(300_000),
        dry_run: false,
        reason: None,
    };
    let waiting = RequestStanding::Awaiting(request);
    let carol = approve_click(&prompt_message, "U0CAROL", "1700000000.000200");
    // The alert's Revert decision settled the alert; the approval still passes.
    assert_eq!(check_approval(&carol, Some(&f), Some(&prompt), &waiting), Ok(()));
    // The requester cannot approve their own request.
    let alice = approve_click(&prompt_message, "U0ALICE", "1700000000.000200");
    let refused = check_approval(&alice, Some(&f), Some(&prompt), &waiting).unwrap_err();
    assert_eq!(refused.reason(), "own_request");
    assert!(
        refused.user_text().contains("someone else must approve"),
        "{}",
        refused.user_text()
    );
    // A button replayed onto another message (the alert itself) is refused.
    let elsewhere = approve_click(&prompt_message, "U0CAROL", "1700000000.000100");
    assert_eq!(
        check_approval(&elsewhere, Some(&f), Some(&prompt), &waiting)
            .unwrap_err()
            .reason(),
        "not_on_message"
    );
    // A request that ran already, or that the ledger does not hold for this finding.
    for standing in [RequestStanding::Other("done"), RequestStanding::Unknown] {
        let refused = check_approval(&carol, Some(&f), Some(&prompt), &standing).unwrap_err();
        assert_eq!(refused.reason(), "not_awaiting");
        assert!(
            refused.user_text().contains("rq-00c0ffee00c0ffee"),
            "{}",
            refused.user_text()
        );
    }
    let mut resolved = f.clone();
    resolved.status = driftguard_core::finding::Status::Resolved;
    assert_eq!(
        check_approval(&carol, Some(&resolved), Some(&prompt), &waiting)
            .unwrap_err()
            .reason(),
        "resolved"
    );
    // Approve buttons must name one finding and a well-formed request.
    for value in [
        json!({"finding_id": f.id}),
        json!({"finding_id": f.id, "request_id": "rq-nothex"}),
        json!({"finding_ids": ["dg-1", "dg-2"], "request_id": "rq-00c0ffee00c0ffee"}),
    ] {
        let err = parse_click(&form(&click_payload("driftguard.approve", &value))).unwrap_err();
        assert!(err.to_string().contains("approve button"), "{err}");
    }
}

fn render_approval_of(f: &Finding) -> Value {
    driftguard_core::slack::render_approval(&pending(f, &[]), "AWS::EC2::SecurityGroup sg-0123456789abcdef0")
}
