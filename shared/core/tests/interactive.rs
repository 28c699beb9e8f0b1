//! Interactive access to IaC-managed instances (SSM `SendCommand` / `StartSession`, EC2 Instance
//! Connect `SendSSHPublicKey`) is reported as a minor `access` finding of its own: nothing
//! declared changed, but a changed instance no state can see starts there. It can be turned off.
//! Requests follow the shapes CloudTrail records (Panther's rule tests in ../shared/data).

mod common;

use common::evaluate::{self, cli_call, pipeline_over};
use driftguard_core::finding::FindingKind;
use driftguard_core::pipeline::{Outcome, Pipeline, Skip};
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const INSTANCE: &str = "i-0abc1234def567890";

fn pipeline() -> Pipeline {
    pipeline_over(&["events/terraform/network.tfstate"])
}

fn outcome(pipeline: &Pipeline, source: &str, name: &str, request: Value, response: Value) -> Outcome {
    evaluate::outcome(pipeline, &cli_call(source, name, request, response))
}

fn send_command(pipeline: &Pipeline, instance: &str) -> Outcome {
    outcome(
        pipeline,
        "ssm.amazonaws.com",
        "SendCommand",
        json!({"documentName": "AWS-RunShellScript", "instanceIds": [instance], "interactive": false, "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
        json!({"command": {"commandId": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", "documentName": "AWS-RunShellScript", "instanceIds": [instance], "status": "Pending"}}),
    )
}

#[test]
fn ssm_commands_sessions_and_instance_connect_are_minor_access_findings() {
    let pipeline = pipeline();
    let cases = [
        send_command(&pipeline, INSTANCE),
        outcome(
            &pipeline,
            "ssm.amazonaws.com",
            "StartSession",
            json!({"target": INSTANCE}),
            json!({"sessionId": "bob-0a1b2c3d4e5f60718", "tokenValue": "Value hidden due to security reasons.", "streamUrl": "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/bob-0a1b2c3d4e5f60718"}),
        ),
        outcome(
            &pipeline,
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey",
            json!({"instanceId": INSTANCE, "instanceOSUser": "ec2-user", "sSHPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTests"}),
            json!({"requestId": "25eac5d1-cd24-4156-a49b-f2bf3a20ec9d", "success": true}),
        ),
    ];
    for case in cases {
        let Outcome::Finding(f) = case else {
            panic!("expected a finding, got {case:?}");
        };
        assert_eq!(f.kind, FindingKind::Access, "{}", f.call.name);
        assert_eq!(f.resource.id, INSTANCE);
        assert_eq!(f.severity, Severity::Minor, "{:?}", f.severity_reasons);
        assert!(
            f.severity_reasons.iter().any(|r| r.contains("interactive access")),
            "{:?}",
            f.severity_reasons
        );
        assert!(f.factors.iter().any(|x| x.name == "op.access"), "{:?}", f.factors);
        assert!(f.fix.contains("-replace='aws_instance.app'"), "{}", f.fix);
        let slack = driftguard_core::slack::render(&f);
        assert!(
            slack["text"].as_str().unwrap_or("").contains("interactive access")
                || slack["blocks"][0]["text"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("interactive access"),
            "{slack}"
        );
    }
}

#[test]
fn access_reporting_can_be_turned_off() {
    let pipeline = pipeline().with_access_findings(false);
    let outcome = send_command(&pipeline, INSTANCE);
    assert!(
        matches!(
            outcome,
            Outcome::Skipped {
                reason: Skip::AccessNotReported
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn access_to_an_undeclared_instance_is_outside_iac() {
    let outcome = send_command(&pipeline(), "i-0fffffffffffffff0");
    assert!(
        matches!(
            outcome,
            Outcome::Skipped {
                reason: Skip::OutsideIac
            }
        ),
        "{outcome:?}"
    );
}
