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
    });
    let message = render(&f);
    assert!(message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["type"] != "actions"));
    assert!(message.to_string().contains("resolved by Terraform"));
}
