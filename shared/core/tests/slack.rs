//! Slack messages for the findings the sample events produce: within Slack's limits, with the
//! buttons and links an operator needs, and stable (snapshots).

#![allow(clippy::unwrap_used)]

mod common;

use common::sample_findings;
use driftguard_core::slack::{check_limits, render, ACTIONS};

#[test]
fn every_sample_finding_renders_within_slacks_limits() {
    let findings = sample_findings();
    assert!(findings.len() >= 10);
    for f in &findings {
        let message = render(f);
        assert_eq!(check_limits(&message), Vec::<String>::new(), "{}", f.id);
        let text = message.to_string();
        assert!(text.contains(&f.call.event_id), "{}: links the CloudTrail event", f.id);
        for (action_id, label, _) in ACTIONS {
            assert!(
                text.contains(action_id) && text.contains(label),
                "{}: button {label}",
                f.id
            );
        }
    }
}

#[test]
fn the_console_security_group_alert() {
    let f = sample_findings()
        .into_iter()
        .find(|f| f.resource.id == "sg-0123456789abcdef0" && f.actor.human.is_some())
        .unwrap();
    insta::assert_json_snapshot!("console_security_group_alert", render(&f));
}

#[test]
fn the_unmanaged_bucket_alert() {
    let f = sample_findings()
        .into_iter()
        .find(|f| f.resource.id == "acme-tmp-export")
        .unwrap();
    insta::assert_json_snapshot!("unmanaged_bucket_alert", render(&f));
}

#[test]
fn resolved_findings_have_no_buttons() {
    let mut f = sample_findings().into_iter().next().unwrap();
    f.resolve_with(&driftguard_core::finding::IacChange {
        resource_key: f.resource.key(),
        event_id: "ev-apply".into(),
        time: f.call.time,
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    });
    let message = render(&f);
    assert!(message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["type"] != "actions"));
    assert!(message.to_string().contains("resolved by Terraform"));
}

/// The buttons of a message: `(label, action_id, value, confirm dialog)`.
fn buttons(message: &serde_json::Value) -> Vec<(String, String, serde_json::Value, serde_json::Value)> {
    message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["text"]["text"].as_str().unwrap().to_owned(),
                e["action_id"].as_str().unwrap().to_owned(),
                serde_json::from_str(e["value"].as_str().unwrap()).unwrap(),
                e["confirm"].clone(),
            )
        })
        .collect()
}

/// Issue #16 item 3: Revert and Re-apply ask for confirmation (Block Kit's confirmation dialog
/// object: plain-text title, text, confirm and deny, and a style); Accept and Acknowledge do not.
#[test]
fn destructive_buttons_ask_for_confirmation() {
    let f = sample_findings()
        .into_iter()
        .find(|f| f.resource.id == "sg-0123456789abcdef0" && f.actor.human.is_some())
        .unwrap();
    let message = render(&f);
    assert_eq!(check_limits(&message), Vec::<String>::new());
    let plain = |t: &str| serde_json::json!({ "type": "plain_text", "text": t });
    let got = buttons(&message);
    let labels: Vec<(&str, &str)> = got.iter().map(|(l, a, _, _)| (l.as_str(), a.as_str())).collect();
    assert_eq!(
        labels,
        [
            ("Revert", "driftguard.revert"),
            ("Re-apply IaC", "driftguard.reapply"),
            ("Accept change", "driftguard.accept"),
            ("Acknowledge", "driftguard.acknowledge"),
            ("Not drift", "driftguard.not_drift"),
        ]
    );
    for (_, action_id, value, _) in &got {
        assert_eq!(value["finding_id"], serde_json::json!(f.id), "{action_id}");
    }
    assert_eq!(
        got[0].3,
        serde_json::json!({
            "title": plain("Revert this change?"),
            "text": plain("DriftGuard will request a remediation that undoes the manual change on AWS::EC2::SecurityGroup sg-0123456789abcdef0 and restores what IaC declares. The request is recorded under your name."),
            "confirm": plain("Revert"),
            "deny": plain("Cancel"),
            "style": "danger",
        })
    );
    assert_eq!(got[1].3["title"], plain("Re-apply IaC?"));
    assert_eq!(got[1].3["confirm"], plain("Re-apply"));
    assert_eq!(got[1].3["style"], "primary");
    assert!(
        got[2].3.is_null() && got[3].3.is_null() && got[4].3.is_null(),
        "accept, acknowledge and not drift do not ask"
    );
    // A burst's buttons ask too, naming how many changes they act on.
    let mut second = f.clone();
    second.id = "dg-00000000000000b2".into();
    second.call.event_id = "ev-second".into();
    let group = driftguard_core::slack::render_group(&[f.clone(), second]);
    let revert = &buttons(&group)[0];
    assert_eq!(
        revert.2["finding_ids"],
        serde_json::json!([f.id, "dg-00000000000000b2"])
    );
    assert!(revert.3["text"]["text"]
        .as_str()
        .unwrap()
        .contains("AWS::EC2::SecurityGroup sg-0123456789abcdef0 (2 changes)"));
}

/// Issue #16 item 2: the replay record's key is the decoded signature, so flipping the case of
/// its hex digits (which still verifies) is the same key.
#[test]
fn the_replay_key_ignores_the_case_of_the_hex_digits() {
    use driftguard_core::slack::{replay_key, sign, verify};
    let body = b"payload=%7B%7D";
    let signature = sign("secret", "1531420618", body);
    let flipped = format!("v0={}", signature.trim_start_matches("v0=").to_uppercase());
    assert_ne!(flipped, signature);
    let now = driftguard_core::time::Timestamp(1_531_420_618_000);
    assert_eq!(
        verify("secret", Some("1531420618"), Some(&flipped), body, now),
        Ok(()),
        "both verify"
    );
    assert_eq!(replay_key(&flipped), replay_key(&signature));
    assert_eq!(replay_key(&signature).as_deref(), Some(signature.as_str()));
    assert_eq!(replay_key("v0=zz"), None);
}

/// Issue #16 item 5: the answer to a refused signature is the same text whatever failed, so it
/// tells nothing about the server's clock.
#[test]
fn a_refused_signature_says_nothing_about_the_clock() {
    use driftguard_core::slack::SignatureError;
    assert_eq!(SignatureError::PUBLIC, "invalid or expired request signature");
    assert!(!SignatureError::PUBLIC.chars().any(|c| c.is_ascii_digit()));
}
