//! Attribution as a user reads it: who made each sample change (class, channel, tool, person)
//! and which rule decided; the precedence between configured principals, identity facts,
//! console sessions and user agents; how the person behind a human call is named; and, when
//! the public corpora are present, that every real record attributes under a known rule.

mod common;

use common::{corpora, corpus_documents, events_dir, for_each_call, read, record};
use driftguard_core::attribution::{
    Actor, ActorKind, AttributionConfig, Attributor, Channel, BUILTIN_RULES, FALLBACK_RULE,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What a user sees of a decision: class, channel, rule id, person and tool.
type Seen = (ActorKind, Channel, String, Option<String>, Option<String>);

fn seen(a: &Actor) -> Seen {
    (a.kind, a.channel, a.rule.clone(), a.human.clone(), a.tool.clone())
}

/// The expectation for one call.
fn want(kind: ActorKind, channel: Channel, rule: &str, human: Option<&str>, tool: Option<&str>) -> Seen {
    (
        kind,
        channel,
        rule.to_owned(),
        human.map(str::to_owned),
        tool.map(str::to_owned),
    )
}

/// Attributes every API call in a document.
fn actors(bytes: &[u8], attributor: &Attributor) -> Vec<Actor> {
    let mut out = Vec::new();
    let errors = for_each_call(bytes, "attribution-test", &mut |call| {
        out.push(attributor.attribute(call))
    });
    assert_eq!(errors, 0, "the document decodes cleanly");
    out
}

/// The one actor of a single-call document.
fn actor(doc: &Value, attributor: &Attributor) -> Actor {
    let mut all = actors(doc.to_string().as_bytes(), attributor);
    assert_eq!(all.len(), 1, "one call in {doc}");
    all.remove(0)
}

/// Attributes the calls of a sample file with no configured principals and checks each.
fn check_sample(file: &str, expected: &[Seen]) {
    let got: Vec<Seen> = actors(&read(&events_dir().join(file)), &Attributor::default())
        .iter()
        .map(seen)
        .collect();
    assert_eq!(got, expected, "{file}");
}

#[test]
fn sample_events_attribute_as_their_names_say() {
    use ActorKind::*;
    let alice = Some("alice@example.com");
    let console = want(Human, Channel::Console, "session.console-credential", alice, None);
    let cli = want(Human, Channel::Cli, "agent.aws-cli", Some("bob"), None);
    let cloudshell = want(Human, Channel::CloudShell, "session.cloudshell", Some("carol"), None);
    let terraform = want(Iac, Channel::Iac, "agent.terraform", None, Some("Terraform"));
    let table: &[(&str, Vec<Seen>)] = &[
        (
            "cloudtrail/ec2-authorize-security-group-ingress.access-denied.json",
            vec![cloudshell.clone()],
        ),
        (
            "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
            vec![want(
                Automation,
                Channel::Automation,
                "agent.cloud-custodian",
                None,
                Some("Cloud Custodian"),
            )],
        ),
        (
            "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
            vec![console.clone()],
        ),
        ("cloudtrail/ec2-create-tags.cloudshell.json", vec![cloudshell]),
        ("cloudtrail/ec2-describe-instances.cli-user.json", vec![cli.clone()]),
        (
            "cloudtrail/ec2-modify-instance-attribute.cli-user.json",
            vec![cli.clone()],
        ),
        (
            "cloudtrail/ec2-revoke-security-group-ingress.terraform.json",
            vec![terraform.clone()],
        ),
        (
            "cloudtrail/ec2-terminate-instances.autoscaling-service.json",
            vec![want(
                AwsService,
                Channel::Service,
                "identity.service-linked-role",
                None,
                None,
            )],
        ),
        (
            "cloudtrail/iam-put-role-policy.sdk-script.json",
            vec![want(Human, Channel::Sdk, "agent.sdk", Some("etl-nightly"), None)],
        ),
        (
            "cloudtrail/lambda-update-function-configuration.console-sso.json",
            vec![console.clone()],
        ),
        ("cloudtrail/s3-create-bucket.cli-user.json", vec![cli.clone()]),
        (
            "cloudtrail/s3-put-bucket-public-access-block.console-sso.json",
            vec![console.clone()],
        ),
        ("cloudtrail/s3-put-bucket-versioning.cli-user.json", vec![cli.clone()]),
        (
            "cloudtrail/signin-console-login.console-sso.json",
            vec![want(Human, Channel::Console, "agent.console", alice, None)],
        ),
        ("sqs/batch.two-records.json", vec![cli.clone(), cli]),
        (
            "cloudtrail-logs/123456789012_CloudTrail_eu-west-1_20261120T0955Z_3mVv0nFWkqLzA1Yb.json.gz",
            vec![
                terraform.clone(),
                terraform.clone(),
                console,
                terraform.clone(),
                terraform.clone(),
                terraform,
            ],
        ),
    ];
    for (file, expected) in table {
        check_sample(file, expected);
    }
    let covered = common::files(&events_dir().join("cloudtrail"), &|p| common::is_event_file(p)).len();
    assert_eq!(covered, table.len() - 2, "every events/cloudtrail sample has a row");
}

#[test]
fn actors_carry_principal_role_address_and_agent() {
    let a = actor(
        &sample("ec2-revoke-security-group-ingress.terraform.json", json!({})),
        &Attributor::default(),
    );
    assert_eq!(
        a.principal.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/github-actions-terraform/GitHubActions")
    );
    assert_eq!(
        a.role.as_deref(),
        Some("arn:aws:iam::123456789012:role/github-actions-terraform")
    );
    assert_eq!(a.source_ip.as_deref(), Some("192.0.2.41"));
    assert!(a.user_agent.as_deref().is_some_and(|ua| ua.contains("Terraform/1.9.8")));
    let user = actor(
        &sample("s3-create-bucket.cli-user.json", json!({})),
        &Attributor::default(),
    );
    assert_eq!(
        (user.principal.as_deref(), user.role),
        (Some("arn:aws:iam::123456789012:user/bob"), None)
    );
}

/// A sample event from `events/cloudtrail`, with `patch` deep-merged into its `detail`.
fn sample(file: &str, patch: Value) -> Value {
    let mut doc: Value =
        serde_json::from_slice(&read(&events_dir().join("cloudtrail").join(file))).expect("sample is JSON");
    merge(&mut doc["detail"], patch);
    doc
}

fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// An attributor configured the way an operator writes it (JSON form of the config file).
fn configured(principals: Value) -> Attributor {
    let config: AttributionConfig =
        serde_json::from_value(json!({ "principals": principals })).expect("valid attribution config");
    Attributor::new(&config)
}

/// Attributes `doc` with `attributor` and checks class, channel, rule and tool.
fn check(
    label: &str,
    doc: &Value,
    attributor: &Attributor,
    kind: ActorKind,
    channel: Channel,
    rule: &str,
    tool: Option<&str>,
) {
    let a = actor(doc, attributor);
    assert_eq!(
        (a.kind, a.channel, a.rule.as_str(), a.tool.as_deref()),
        (kind, channel, rule, tool),
        "{label}"
    );
}

const CLI_AGENT: &str = "aws-cli/2.22.12 md/awscrt#0.23.4 ua/2.1 os/linux#6.1 md/arch#x86_64 lang/python#3.12.6";

#[test]
fn configured_principals_come_first() {
    use ActorKind::*;
    let gha = configured(
        json!([{ "id": "gha", "role_arn": "arn:aws:iam::*:role/github-actions-*", "kind": "iac", "tool": "Terraform" }]),
    );
    let tf_by_cli = sample(
        "ec2-revoke-security-group-ingress.terraform.json",
        json!({ "userAgent": CLI_AGENT }),
    );
    check(
        "role glob beats the CLI agent",
        &tf_by_cli,
        &gha,
        Iac,
        Channel::Iac,
        "gha",
        Some("Terraform"),
    );
    check(
        "without it the agent decides",
        &tf_by_cli,
        &Attributor::default(),
        Human,
        Channel::Cli,
        "agent.aws-cli",
        None,
    );
    let console = json!({ "sessionCredentialFromConsole": "true" });
    check(
        "role glob beats a console session",
        &sample("ec2-revoke-security-group-ingress.terraform.json", console),
        &gha,
        Iac,
        Channel::Iac,
        "gha",
        Some("Terraform"),
    );
    let other_role = sample("ec2-authorize-security-group-ingress.console-sso.json", json!({}));
    check(
        "a role the glob misses falls through",
        &other_role,
        &gha,
        Human,
        Channel::Console,
        "session.console-credential",
        None,
    );

    let oidc = configured(json!([
        { "id": "gitlab", "oidc_provider": "*gitlab.example.com" },
        { "oidc_provider": "*token.actions.githubusercontent.com", "kind": "automation", "tool": "GitHub Actions" }
    ]));
    check(
        "OIDC provider glob, default id by position",
        &sample("ec2-revoke-security-group-ingress.terraform.json", json!({})),
        &oidc,
        Automation,
        Channel::Automation,
        "principal.1",
        Some("GitHub Actions"),
    );
    let both = configured(json!([{ "id": "both", "role_arn": "*:role/github-actions-*", "session_name": "Nightly*" }]));
    check(
        "every set pattern must match",
        &sample("ec2-revoke-security-group-ingress.terraform.json", json!({})),
        &both,
        Iac,
        Channel::Iac,
        "agent.terraform",
        Some("Terraform"),
    );
}

#[test]
fn attribution_config_rejects_unknown_fields() {
    let typo = json!({ "principals": [{ "role": "arn:aws:iam::*:role/ci" }] });
    assert!(
        serde_json::from_value::<AttributionConfig>(typo).is_err(),
        "a misspelt key is an error, not ignored"
    );
    let defaulted: AttributionConfig =
        serde_json::from_value(json!({ "principals": [{ "role_arn": "x" }] })).expect("kind defaults");
    assert_eq!(defaulted.principals[0].kind, ActorKind::Iac);
}

#[test]
fn built_in_precedence() {
    use ActorKind::*;
    let none = Attributor::default();
    let cfn_console = sample(
        "ec2-authorize-security-group-ingress.console-sso.json",
        json!({ "userIdentity": { "invokedBy": "cloudformation.amazonaws.com" }, "sessionCredentialFromConsole": true }),
    );
    check(
        "invokedBy CloudFormation beats a console session",
        &cfn_console,
        &none,
        Iac,
        Channel::Iac,
        "identity.cloudformation",
        Some("CloudFormation"),
    );
    let cfn_ip = sample(
        "s3-create-bucket.cli-user.json",
        json!({ "sourceIPAddress": "cloudformation.amazonaws.com" }),
    );
    check(
        "CloudFormation as source address beats the CLI agent",
        &cfn_ip,
        &none,
        Iac,
        Channel::Iac,
        "identity.cloudformation",
        Some("CloudFormation"),
    );
    for agent in [
        CLI_AGENT,
        "Boto3/1.35.76 md/Botocore#1.35.76 Botocore/1.35.76",
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.8",
    ] {
        let doc = sample(
            "ec2-authorize-security-group-ingress.console-sso.json",
            json!({ "userAgent": agent }),
        );
        check(
            &format!("console session beats {agent}"),
            &doc,
            &none,
            Human,
            Channel::Console,
            "session.console-credential",
            None,
        );
    }
    let shell = sample("ec2-create-tags.cloudshell.json", json!({}));
    check(
        "CloudShell on console credentials",
        &shell,
        &none,
        Human,
        Channel::CloudShell,
        "session.cloudshell",
        None,
    );
    let shell_no_flag = sample(
        "ec2-create-tags.cloudshell.json",
        json!({ "sessionCredentialFromConsole": null }),
    );
    check(
        "CloudShell agent alone",
        &shell_no_flag,
        &none,
        Human,
        Channel::CloudShell,
        "agent.cloudshell",
        None,
    );
    let slr = sample(
        "ec2-terminate-instances.autoscaling-service.json",
        json!({ "userIdentity": { "invokedBy": null }, "sourceIPAddress": "198.51.100.9", "userAgent": CLI_AGENT }),
    );
    check(
        "service-linked role beats the agent",
        &slr,
        &none,
        AwsService,
        Channel::Service,
        "identity.service-linked-role",
        None,
    );
    let service = record(
        "ec2.amazonaws.com",
        "CreateTags",
        json!({ "userIdentity": { "type": "AWSService", "invokedBy": "config.amazonaws.com" }, "userAgent": CLI_AGENT }),
    );
    check(
        "AWSService identity",
        &service,
        &none,
        AwsService,
        Channel::Service,
        "identity.aws-service",
        None,
    );
}

#[test]
fn cdk_execution_role_is_cdk() {
    let role = "cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1";
    let doc = record(
        "s3.amazonaws.com",
        "PutBucketPolicy",
        json!({
            "userIdentity": {
                "type": "AssumedRole",
                "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/AWSCloudFormation"),
                "accountId": "123456789012",
                "sessionContext": { "sessionIssuer": { "type": "Role", "arn": format!("arn:aws:iam::123456789012:role/{role}"), "userName": role } }
            },
            "userAgent": "aws-sdk-java/1.12.779 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.13",
            "sourceIPAddress": "203.0.113.7"
        }),
    );
    check(
        "CDK exec role",
        &doc,
        &Attributor::default(),
        ActorKind::Iac,
        Channel::Iac,
        "identity.cdk-exec-role",
        Some("CDK"),
    );
}

#[test]
fn user_agents_name_the_tool() {
    use ActorKind::*;
    let table: &[(&str, ActorKind, Channel, &str, Option<&str>)] = &[
        ("APN/1.0 HashiCorp/1.0 OpenTofu/1.8.5 (+https://opentofu.org) terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6", Iac, Channel::Iac, "agent.opentofu", Some("OpenTofu")),
        ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6", Iac, Channel::Iac, "agent.terraform", Some("Terraform")),
        ("aws-sdk-go/1.44.157 (go1.19.3; darwin; arm64) HashiCorp-terraform-exec/0.17.3", Iac, Channel::Iac, "agent.terraform", Some("Terraform")),
        ("APN/1.0 Pulumi/1.0 pulumi-aws/6.56.1 aws-sdk-go-v2/1.32.2 os/linux lang/go#1.22.7", Iac, Channel::Iac, "agent.pulumi", Some("Pulumi")),
        ("crossplane-provider-aws/v0.47.0 aws-sdk-go/1.44.0 (go1.21; linux; amd64)", Iac, Channel::Iac, "agent.crossplane", Some("Crossplane")),
        ("upbound/provider-aws-ec2/v1.14.0 APN/1.0 HashiCorp/1.0 Terraform/1.5.7 terraform-provider-aws/5.31.0", Iac, Channel::Iac, "agent.crossplane", Some("Crossplane")),
        ("Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 lang/python#3.12.3 Botocore/1.34.84 aws-sam-cli/1.115.0", Iac, Channel::Iac, "agent.sam", Some("SAM")),
        ("aws-sdk-js/2.1659.0 linux/v20.15.0 promise aws-cdk/2.150.0", Iac, Channel::Iac, "agent.cdk", Some("CDK")),
        ("cloudformation.amazonaws.com", Iac, Channel::Iac, "agent.cloudformation", Some("CloudFormation")),
        ("Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux lang/python#3.12.7 Botocore/1.35.76", Human, Channel::Sdk, "agent.sdk", None),
        ("aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)", Human, Channel::Sdk, "agent.sdk", None),
        ("[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023]", Human, Channel::Cli, "agent.aws-cli", None),
        ("console.amazonaws.com", Human, Channel::Console, "agent.console", None),
        ("c7n/0.9.40 Botocore/1.35.0", Automation, Channel::Automation, "agent.cloud-custodian", Some("Cloud Custodian")),
        ("aws-sdk-nodejs/2.1500.0 linux/v18.19.0 exec-env/AWS_Lambda_nodejs18.x", Automation, Channel::Automation, "agent.lambda-function", Some("Lambda function")),
        ("aws-sdk-go/1.44.260 (go1.20.4; linux; amd64) amazon-ssm-agent/3.2.1297.0", Automation, Channel::Automation, "agent.ssm-agent", Some("SSM Agent")),
        // The remediation marker from a role that is not DriftGuard's is anyone's user agent.
        ("aws-sdk-rust/1.3.0 os/linux lang/rust/1.85.0 app/driftguard-remediation-dg-1500731b7ee4b0bc", Human, Channel::Sdk, "agent.sdk", None),
        ("AWS Internal", AwsService, Channel::Service, "agent.aws-internal", None),
        ("curl/8.4.0", Automation, Channel::Other, FALLBACK_RULE, None),
    ];
    let none = Attributor::default();
    for (agent, kind, channel, rule, tool) in table {
        let doc = record(
            "ec2.amazonaws.com",
            "CreateTags",
            json!({ "userAgent": agent, "sourceIPAddress": "198.51.100.23" }),
        );
        check(agent, &doc, &none, *kind, *channel, rule, *tool);
        let a = actor(&doc, &none);
        let person = (*kind == Human).then_some("bob");
        assert_eq!(a.human.as_deref(), person, "{agent}: only humans are named");
    }
    let no_agent = record("ec2.amazonaws.com", "CreateTags", json!({}));
    check(
        "no agent at all",
        &no_agent,
        &none,
        Automation,
        Channel::Other,
        FALLBACK_RULE,
        None,
    );
}

/// The person named for a CLI call made under `identity` (plus `session`, merged into
/// `userIdentity.sessionContext`).
fn check_human(label: &str, identity: Value, want: Option<&str>) {
    let doc = record(
        "ec2.amazonaws.com",
        "CreateTags",
        json!({ "userIdentity": identity, "userAgent": CLI_AGENT }),
    );
    let a = actor(&doc, &Attributor::default());
    assert_eq!((a.kind, a.human.as_deref()), (ActorKind::Human, want), "{label}");
}

fn assumed(role: &str, session: &str, context: Value) -> Value {
    let mut id = json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/{session}"),
        "accountId": "123456789012",
        "sessionContext": { "sessionIssuer": { "type": "Role", "arn": format!("arn:aws:iam::123456789012:role/{role}"), "userName": role } }
    });
    merge(&mut id["sessionContext"], context);
    id
}

#[test]
fn the_person_behind_a_human_call() {
    check_human(
        "IAM user",
        json!({ "type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "accountId": "123456789012", "userName": "bob" }),
        Some("bob"),
    );
    check_human(
        "SSO session",
        assumed(
            "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
            "alice@example.com",
            json!({}),
        ),
        Some("alice@example.com"),
    );
    check_human(
        "role session name",
        assumed("ops-admin", "carol", json!({})),
        Some("carol"),
    );
    check_human(
        "sourceIdentity wins over the session name",
        assumed("ops-admin", "i-0abc1234", json!({ "sourceIdentity": "dave" })),
        Some("dave"),
    );
    check_human(
        "root",
        json!({ "type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012" }),
        Some("root"),
    );
    check_human(
        "federated user",
        json!({ "type": "FederatedUser", "arn": "arn:aws:sts::123456789012:federated-user/erin", "accountId": "123456789012" }),
        Some("erin"),
    );
    check_human(
        "Identity Center user",
        json!({ "type": "IdentityCenterUser", "accountId": "123456789012", "onBehalfOf": { "userId": "94482488-3041-7026-18f3-be45837cd0e4" } }),
        Some("94482488-3041-7026-18f3-be45837cd0e4"),
    );
    check_human(
        "nobody to name",
        json!({ "type": "Unknown", "accountId": "123456789012" }),
        None,
    );
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn public_corpora_attribute_under_known_rules() {
    let root = corpora("public_corpora_attribute_under_known_rules");
    let known: Vec<&str> = BUILTIN_RULES.iter().map(|r| r.id).chain([FALLBACK_RULE]).collect();
    let attributor = Attributor::default();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut terraform = Vec::new();
    for doc in corpus_documents(&root) {
        let attributed = std::panic::catch_unwind(|| {
            let mut decisions = Vec::new();
            for_each_call(&doc.bytes, &doc.origin, &mut |call| {
                decisions.push((
                    attributor.attribute(call),
                    call.user_agent.as_deref().unwrap_or("").to_owned(),
                ));
            });
            decisions
        });
        let decisions = attributed.unwrap_or_else(|_| panic!("{}: attribution panicked", doc.origin));
        for (a, agent) in decisions {
            assert!(
                !a.rule.is_empty() && known.contains(&a.rule.as_str()),
                "{}: rule {:?}",
                doc.origin,
                a.rule
            );
            *by_rule.entry(a.rule.clone()).or_default() += 1;
            if agent.contains("Terraform/") {
                terraform.push((doc.origin.clone(), a.kind, a.rule));
            }
        }
    }
    println!("corpora attribution by rule: {by_rule:#?}");
    let total: usize = by_rule.values().sum();
    assert!(total >= 400, "only {total} corpus calls attributed");
    assert!(!terraform.is_empty(), "the corpora hold Terraform calls");
    for (origin, kind, rule) in &terraform {
        assert_eq!(*kind, ActorKind::Iac, "{origin}: Terraform agent attributed by {rule}");
    }
    println!("{} Terraform calls, all IaC", terraform.len());
}

/// A call by `role` (an assumed-role session) with this user agent.
fn by_role(role: &str, agent: &str) -> Value {
    record(
        "ec2.amazonaws.com",
        "RevokeSecurityGroupIngress",
        json!({
            "userAgent": agent,
            "sourceIPAddress": "3.250.1.20",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": format!("{}/session", role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")),
                "accountId": "123456789012",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": "123456789012"}}
            }
        }),
    )
}

#[test]
fn the_remediation_marker_counts_only_from_a_remediation_role() {
    let config: driftguard_core::attribution::AttributionConfig = serde_json::from_value(json!({
        "remediation_roles": ["arn:aws:iam::*:role/driftguard-remediate"]
    }))
    .expect("config");
    let attributor = Attributor::new(&config);
    let marked = "aws-sdk-rust/1.3.0 os/linux lang/rust/1.85.0 app/driftguard-remediation-dg-1500731b7ee4b0bc";
    let ours = actor(
        &by_role("arn:aws:iam::123456789012:role/driftguard-remediate", marked),
        &attributor,
    );
    assert_eq!(ours.rule, driftguard_core::attribution::REMEDIATION_RULE);
    assert_eq!(ours.tool.as_deref(), Some("DriftGuard remediation"));
    assert_eq!(
        driftguard_core::attribution::remediated_finding(marked),
        Some("dg-1500731b7ee4b0bc")
    );
    // The same marker from another role, or the remediation role without it, is not DriftGuard's.
    let other = actor(
        &by_role("arn:aws:iam::123456789012:role/ops-admin", marked),
        &attributor,
    );
    assert_ne!(other.rule, driftguard_core::attribution::REMEDIATION_RULE);
    let unmarked = actor(
        &by_role(
            "arn:aws:iam::123456789012:role/driftguard-remediate",
            "aws-sdk-rust/1.3.0 os/linux",
        ),
        &attributor,
    );
    assert_ne!(unmarked.rule, driftguard_core::attribution::REMEDIATION_RULE);
    assert_eq!(
        driftguard_core::attribution::remediated_finding("app/driftguard-remediation-"),
        None
    );
}

#[test]
fn a_remembered_decision_is_the_one_a_fresh_attributor_makes() {
    // One attributor judges calls that differ from the one before in a single fact, twice over:
    // the second round is decided from what it remembers, and every answer must be the one a
    // fresh attributor gives.
    let user = json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "userName": "bob"});
    let role = json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1/s",
        "sessionContext": {"sessionIssuer": {"userName": "cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"}}});
    let variants = [
        json!({"userAgent": "console.amazonaws.com", "userIdentity": user}),
        json!({"userAgent": "console.amazonaws.com", "userIdentity": user, "sessionCredentialFromConsole": "true"}),
        json!({"userAgent": "aws-cli/2.15.0", "userIdentity": user, "sessionCredentialFromConsole": "true"}),
        json!({"userAgent": "aws-cli/2.15.0", "userIdentity": user}),
        json!({"userAgent": "aws-cli/2.15.0", "userIdentity": user, "sourceIPAddress": "cloudformation.amazonaws.com"}),
        json!({"userAgent": "aws-cli/2.15.0", "userIdentity": {"type": "IAMUser", "invokedBy": "cloudformation.amazonaws.com"}}),
        json!({"userAgent": "aws-cli/2.15.0", "userIdentity": role}),
        json!({"userAgent": "APN/1.0 Terraform/1.9.8", "userIdentity": user}),
        json!({"userAgent": "APN/1.0 OpenTofu/1.8.5", "userIdentity": user}),
        json!({"userAgent": "APN/1.0 OPENTOFU/1.8.5", "userIdentity": user}),
        json!({"userAgent": "AWS Internal", "userIdentity": user}),
        json!({"userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}}),
    ];
    let shared = Attributor::default();
    let mut rules = std::collections::BTreeSet::new();
    for round in 0..2 {
        for v in &variants {
            let doc = record("ec2.amazonaws.com", "CreateTags", v.clone());
            let remembered = actor(&doc, &shared);
            assert_eq!(
                seen(&remembered),
                seen(&actor(&doc, &Attributor::default())),
                "round {round}: {v}"
            );
            rules.insert(remembered.rule);
        }
    }
    assert!(
        rules.len() >= 8,
        "the variants are decided by different rules: {rules:?}"
    );
}
