//! `driftguard remediate` on moto's EC2: a finding replayed from a CloudTrail record against a
//! Terraform state, its revert planned (nothing changes), executed (the rule is gone, seen
//! through the SDK), refused the second time, and the trail printed by `findings show`.

use aws_sdk_ec2::types as ec2;
use driftguard_tests::moto::MotoServer;
use driftguard_tests::runtime_api::REGION;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn driftguard(moto: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", moto)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run driftguard")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ingress(rt: &tokio::runtime::Runtime, client: &aws_sdk_ec2::Client, group: &str) -> Vec<i32> {
    let out = rt
        .block_on(client.describe_security_groups().group_ids(group).send())
        .expect("describe");
    let mut ports: Vec<i32> = out
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .filter_map(|p| p.from_port())
        .collect();
    ports.sort_unstable();
    ports
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("JSON")).expect("write");
}

#[test]
fn a_revert_is_planned_then_executed_and_its_trail_shown() {
    let Some(moto) = MotoServer::start_or_skip("a_revert_is_planned_then_executed") else {
        return;
    };
    let endpoint = moto.endpoint();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sdk = rt.block_on(driftguard_tests::stack::sdk_config(&endpoint));
    let client = aws_sdk_ec2::Client::new(&sdk);
    let group = rt
        .block_on(
            client
                .create_security_group()
                .group_name("web")
                .description("web")
                .send(),
        )
        .expect("group")
        .group_id
        .expect("id");
    for port in [443, 22] {
        let rule = ec2::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(ec2::IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        rt.block_on(
            client
                .authorize_security_group_ingress()
                .group_id(&group)
                .ip_permissions(rule)
                .send(),
        )
        .expect("rule");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("web.tfstate");
    write(
        &state,
        &json!({"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "0b9d6c1e-3f2a-4b5c-8d7e-9f0a1b2c3d4e", "outputs": {},
            "resources": [{"mode": "managed", "type": "aws_security_group", "name": "web",
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 1, "sensitive_attributes": [], "attributes": {
                    "id": group, "name": "web", "description": "web", "vpc_id": "vpc-00000000",
                    "ingress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 443, "ipv6_cidr_blocks": [],
                                 "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": false, "to_port": 443}],
                    "egress": [], "tags": {}}}]}]}),
    );
    let events = dir.path().join("cloudtrail.json");
    write(
        &events,
        &json!({"Records": [{
            "eventVersion": "1.10",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEBOB000001", "arn": "arn:aws:iam::123456789012:user/bob",
                             "accountId": "123456789012", "accessKeyId": "AKIAEXAMPLEBOB000001", "userName": "bob"},
            "eventTime": "2026-11-30T11:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress",
            "awsRegion": REGION, "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.22.12 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
            "requestParameters": {"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}},
            "responseElements": {"requestId": "4f1e2d3c-0000-4000-8000-000000000001", "_return": true},
            "requestID": "4f1e2d3c-0000-4000-8000-000000000001", "eventID": "9a8b7c6d-0000-4000-8000-000000000001",
            "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "123456789012"
        }]}),
    );
    let store = dir.path().join("s.redb");
    let (store, state, events) = (
        store.to_str().expect("utf-8"),
        state.to_str().expect("utf-8"),
        events.to_str().expect("utf-8"),
    );
    let out = driftguard(
        &endpoint,
        &[
            "replay", events, "--store", store, "--state", state, "--format", "jsonl",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let finding: Value = serde_json::from_str(text(&out.stdout).lines().next().expect("one finding")).expect("JSON");
    let id = finding["id"].as_str().expect("id").to_owned();

    // The plan: one revoke of the SSH rule; nothing changes.
    let out = driftguard(&endpoint, &["remediate", &id, "--action", "revert", "--store", store]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ec2:RevokeSecurityGroupIngress"), "{stdout}");
    assert!(
        stdout.contains("ingress: [\"tcp 22 0.0.0.0/0\",\"tcp 443 0.0.0.0/0\"] → [\"tcp 443 0.0.0.0/0\"]"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run"), "{stdout}");
    assert_eq!(ingress(&rt, &client, &group), [22, 443]);
    // The same plan for scripts: its first line is the plan as one JSON object.
    let out = driftguard(
        &endpoint,
        &[
            "remediate",
            &id,
            "--action",
            "revert",
            "--store",
            store,
            "--format",
            "jsonl",
        ],
    );
    let first = text(&out.stdout).lines().next().unwrap_or_default().to_owned();
    let plan: Value = serde_json::from_str(&first).expect("the plan as one JSON line");
    assert_eq!(plan["calls"].as_array().map(Vec::len), Some(1), "{plan:#}");
    assert_eq!(ingress(&rt, &client, &group), [22, 443], "still a dry run");

    // Executed: the rule is gone.
    let out = driftguard(
        &endpoint,
        &[
            "remediate",
            &id,
            "--action",
            "revert",
            "--store",
            store,
            "--execute",
            "--by",
            "bob",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("completed: 1 calls made"), "{stdout}");
    assert_eq!(ingress(&rt, &client, &group), [443]);

    // Again: refused, already fixed (exit status 3).
    let out = driftguard(
        &endpoint,
        &["remediate", &id, "--action", "revert", "--store", store, "--execute"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("already has the declared values"),
        "{}",
        text(&out.stdout)
    );

    // The trail, as `findings show` prints it.
    let out = driftguard(&endpoint, &["findings", "show", &id, "--store", store]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("remediation trail:"), "{stdout}");
    assert!(stdout.contains("requested revert by cli:bob"), "{stdout}");
    assert!(stdout.contains("ec2:RevokeSecurityGroupIngress ok"), "{stdout}");
    assert!(stdout.contains("read back: as planned"), "{stdout}");
    assert!(
        stdout.contains("refused: the resource already has the declared values"),
        "{stdout}"
    );
}
