//! AWS Config attribute maps, as the drift join uses them: for every mapped resource type a
//! real-shaped configuration item (`tests/data/config_map/items.json`) and the Terraform
//! declarations of the resource (`current.tfstate`, provider v4+ style with split S3 / IAM / SG
//! rule resources and `tags_all`; `legacy.tfstate`, Terraform 0.12 style with inline S3
//! attributes and `aws_security_group_rule`s) agree, and changing one live attribute at a time
//! makes exactly that attribute drift with the declared value expected and the new value found.
//! When the public corpora are present, every mapped configuration path is shown to exist in the
//! real AWS Config items (or the reason it may be absent is stated), and the normalisers read them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{corpora, events_dir, read, workspace};
use driftguard_core::catalog::Catalog;
use driftguard_core::config_map::{
    compare, compared_attributes, config_value, is_service_linked_role, map_for, ConfigNorm, MAPS,
};
use driftguard_core::diff::{normalise_policy, AttributeChange};
use driftguard_core::inventory::{Declared, Inventory};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    workspace().join("shared/core/tests/data/config_map")
}

fn inventory() -> Inventory {
    let mut inv = Inventory::new();
    for name in ["current.tfstate", "legacy.tfstate"] {
        inv.add_state(name, &read(&fixtures().join(name)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    inv
}

fn item(name: &str) -> Value {
    let items: Value = serde_json::from_slice(&read(&fixtures().join("items.json"))).unwrap();
    items.get(name).unwrap_or_else(|| panic!("no item {name}")).clone()
}

/// The declarations of the item's resource, as the join finds them: every Terraform type that can
/// declare the resource type, looked up by the item's name, id and ARN; primary type first.
fn owners(inv: &Inventory, item: &Value) -> Vec<Declared> {
    let rt = item["resourceType"].as_str().unwrap();
    let types = Catalog::new().terraform_for(rt);
    let mut out: Vec<Declared> = Vec::new();
    for key in ["resourceName", "resourceId", "arn", "ARN"] {
        if let Some(id) = item.get(key).and_then(Value::as_str) {
            for d in inv.find(&types, id) {
                if !out.iter().any(|o| o.address == d.address) {
                    out.push(d);
                }
            }
        }
    }
    out.sort_by_key(|d| types.iter().position(|t| *t == d.tf_type));
    out
}

/// A sorted set of texts, as set normalisers return them.
fn set(items: &[&str]) -> Value {
    let s: BTreeSet<&str> = items.iter().copied().collect();
    json!(s.into_iter().collect::<Vec<_>>())
}

fn pol(doc: Value) -> Value {
    normalise_policy(&doc)
}

fn url_encoded(doc: &Value) -> String {
    let text = doc.to_string();
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One live change: JSON pointers set in the item, the attribute that must then be the only one
/// drifted (`None`: nothing may drift), the value found, and optionally the value expected.
struct Mutation {
    set: Vec<(&'static str, Value)>,
    attribute: Option<&'static str>,
    found: Value,
    expected: Option<Value>,
}

fn drift(set: Vec<(&'static str, Value)>, attribute: &'static str, found: Value) -> Mutation {
    Mutation {
        set,
        attribute: Some(attribute),
        found,
        expected: None,
    }
}

fn drift_from(set: Vec<(&'static str, Value)>, attribute: &'static str, expected: Value, found: Value) -> Mutation {
    Mutation {
        set,
        attribute: Some(attribute),
        found,
        expected: Some(expected),
    }
}

fn no_drift(set: Vec<(&'static str, Value)>) -> Mutation {
    Mutation {
        set,
        attribute: None,
        found: Value::Null,
        expected: None,
    }
}

/// Sets `pointer` in `v` (appending when it names the next index of a list).
fn set_pointer(v: &mut Value, pointer: &str, new: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent} in item"));
    match parent {
        Value::Object(m) => {
            m.insert(last.to_owned(), new);
        }
        Value::Array(a) => {
            let i: usize = last.parse().unwrap();
            if i == a.len() {
                a.push(new);
            } else {
                a[i] = new;
            }
        }
        other => panic!("{pointer}: parent is {other}"),
    }
}

/// The item `name` and its declarations agree on exactly `compared` (in table order), with the
/// declaring addresses listed in `declared_in` (attribute, address) where given; then every
/// mutation drifts exactly its attribute.
fn check(name: &str, compared: &[&str], declared_in: &[(&str, &str)], mutations: Vec<Mutation>) {
    let inv = inventory();
    let base = item(name);
    let rt = base["resourceType"].as_str().unwrap();
    let found = owners(&inv, &base);
    let owners: Vec<&Declared> = found.iter().collect();
    assert!(!owners.is_empty(), "{name}: no declarations found");
    let baseline = compare(rt, &base, &owners).unwrap_or_else(|| panic!("{rt} has no map"));
    let attrs: Vec<&str> = baseline.iter().map(|c| c.attribute.as_str()).collect();
    assert_eq!(attrs, compared, "{name}: compared attributes");
    let drifted: Vec<&AttributeChange> = baseline.iter().filter(|c| c.drifted).collect();
    assert!(drifted.is_empty(), "{name}: agreeing item drifted: {drifted:#?}");
    for (attribute, address) in declared_in {
        let c = baseline.iter().find(|c| c.attribute == *attribute).unwrap();
        assert_eq!(
            c.declared_in.as_deref(),
            Some(*address),
            "{name}: {attribute} declared in"
        );
    }
    for m in mutations {
        let mut live = base.clone();
        for (pointer, value) in &m.set {
            set_pointer(&mut live, pointer, value.clone());
        }
        let changes = compare(rt, &live, &owners).unwrap();
        let drifted: Vec<&AttributeChange> = changes.iter().filter(|c| c.drifted).collect();
        let Some(attribute) = m.attribute else {
            assert!(drifted.is_empty(), "{name}: {:?} must not drift: {drifted:#?}", m.set);
            continue;
        };
        assert_eq!(
            drifted.iter().map(|c| c.attribute.as_str()).collect::<Vec<_>>(),
            [attribute],
            "{name}: {:?}",
            m.set
        );
        let before = baseline.iter().find(|c| c.attribute == attribute).unwrap();
        assert_eq!(drifted[0].expected, before.expected, "{name}: {attribute} expected");
        if let Some(expected) = &m.expected {
            assert_eq!(&drifted[0].expected, expected, "{name}: {attribute} expected");
        }
        assert_eq!(drifted[0].found, m.found, "{name}: {attribute} found");
        assert_eq!(drifted[0].declared_in, before.declared_in);
    }
}

#[test]
fn security_group_rules_as_sets_across_inline_and_standalone_rules() {
    let declared = [
        "tcp 22 10.8.0.0/16",
        "tcp 443 0.0.0.0/0",
        "tcp 443 2001:db8::/32",
        "tcp 8080 sg-0a1b2c3d4e5f60001",
        "tcp 9100 sg-0f9e8d7c6b5a40002",
    ];
    let mut opened = declared.to_vec();
    opened.push("tcp 3389 0.0.0.0/0");
    check(
        "security_group",
        &["ingress", "egress", "description", "vpc_id", "tags"],
        &[
            ("ingress", "aws_security_group.web"),
            ("tags", "aws_security_group.web"),
        ],
        vec![
            drift_from(
                vec![(
                    "/configuration/ipPermissions/4",
                    json!({"fromPort": 3389, "ipProtocol": "tcp", "ipv6Ranges": [], "prefixListIds": [], "toPort": 3389,
                           "userIdGroupPairs": [], "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"]}),
                )],
                "ingress",
                set(&declared),
                set(&opened),
            ),
            drift_from(
                vec![
                    ("/configuration/ipPermissionsEgress/0/ipProtocol", json!("tcp")),
                    ("/configuration/ipPermissionsEgress/0/fromPort", json!(443)),
                    ("/configuration/ipPermissionsEgress/0/toPort", json!(443)),
                ],
                "egress",
                set(&["all * 0.0.0.0/0"]),
                set(&["tcp 443 0.0.0.0/0"]),
            ),
            drift(
                vec![(
                    "/configuration/ipPermissions/3/userIdGroupPairs/0/groupId",
                    json!("sg-0badbadbadbad0001"),
                )],
                "ingress",
                set(&[
                    "tcp 22 10.8.0.0/16",
                    "tcp 443 0.0.0.0/0",
                    "tcp 443 2001:db8::/32",
                    "tcp 8080 sg-0a1b2c3d4e5f60001",
                    "tcp 9100 sg-0badbadbadbad0001",
                ]),
            ),
            drift(
                vec![("/configuration/description", json!("Web tier (edited)"))],
                "description",
                json!("Web tier (edited)"),
            ),
            drift_from(
                vec![("/tags/ManagedBy", json!("console"))],
                "tags",
                json!({"ManagedBy": "terraform", "Name": "web"}),
                json!({"ManagedBy": "console", "Name": "web"}),
            ),
            // Rule descriptions, protocol numbers, upper-case IPv6 and host bits do not matter.
            no_drift(vec![
                (
                    "/configuration/ipPermissions/2/ipv4Ranges/0/description",
                    json!("SSH (old VPN)"),
                ),
                ("/configuration/ipPermissions/1/ipProtocol", json!("6")),
                (
                    "/configuration/ipPermissions/1/ipv6Ranges/0/cidrIpv6",
                    json!("2001:DB8:0:0::/32"),
                ),
                (
                    "/configuration/ipPermissions/2/ipv4Ranges/0/cidrIp",
                    json!("10.8.3.4/16"),
                ),
                ("/configuration/ipPermissions/2/ipRanges/0", json!("10.8.0.0/16")),
            ]),
            // Service-managed tags are ignored.
            no_drift(vec![("/tags/aws:cloudformation:stack-name", json!("network"))]),
        ],
    );
}

#[test]
fn security_group_with_legacy_rule_resources() {
    check(
        "security_group_legacy_rules",
        &["ingress", "egress", "description", "vpc_id"],
        &[
            ("ingress", "aws_security_group.legacy"),
            ("egress", "aws_security_group.legacy"),
        ],
        vec![
            drift_from(
                vec![("/configuration/ipPermissions/0/ipRanges/0", json!("0.0.0.0/0"))],
                "ingress",
                set(&["all * sg-0cc8b3c3c2851705a", "tcp 22 10.0.0.0/8"]),
                set(&["all * sg-0cc8b3c3c2851705a", "tcp 22 0.0.0.0/0"]),
            ),
            drift_from(
                vec![("/configuration/ipPermissionsEgress/0/ipv6Ranges", json!([]))],
                "egress",
                set(&["all * 0.0.0.0/0", "all * ::/0"]),
                set(&["all * 0.0.0.0/0"]),
            ),
        ],
    );
}

#[test]
fn s3_bucket_with_split_resources() {
    let declared_policy = pol(
        json!({"Statement":[{"Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":"*","Resource":["arn:aws:s3:::acme-prod-artifacts/*","arn:aws:s3:::acme-prod-artifacts"],"Sid":"DenyInsecureTransport"}],"Version":"2012-10-17"}),
    );
    let public = json!({"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-prod-artifacts/*"}]});
    check(
        "bucket",
        &[
            "public_access_block.block_public_acls",
            "public_access_block.ignore_public_acls",
            "public_access_block.block_public_policy",
            "public_access_block.restrict_public_buckets",
            "policy",
            "versioning",
            "server_side_encryption",
            "logging.target_bucket",
            "tags",
        ],
        &[
            ("policy", "aws_s3_bucket_policy.artifacts"),
            ("versioning", "aws_s3_bucket_versioning.artifacts"),
            (
                "server_side_encryption",
                "aws_s3_bucket_server_side_encryption_configuration.artifacts",
            ),
            ("logging.target_bucket", "aws_s3_bucket_logging.artifacts"),
            ("tags", "aws_s3_bucket.artifacts"),
        ],
        vec![
            drift_from(
                vec![("/supplementaryConfiguration/PublicAccessBlockConfiguration/blockPublicPolicy", json!(false))],
                "public_access_block.block_public_policy",
                json!(true),
                json!(false),
            ),
            drift(
                vec![("/supplementaryConfiguration/PublicAccessBlockConfiguration/blockPublicAcls", json!("false"))],
                "public_access_block.block_public_acls",
                json!(false),
            ),
            drift_from(
                vec![("/supplementaryConfiguration/BucketPolicy/policyText", json!(public.to_string()))],
                "policy",
                declared_policy,
                pol(public.clone()),
            ),
            drift(
                vec![("/supplementaryConfiguration/BucketPolicy/policyText", Value::Null)],
                "policy",
                Value::Null,
            ),
            drift_from(
                vec![("/supplementaryConfiguration/BucketVersioningConfiguration/status", json!("Suspended"))],
                "versioning",
                json!("Enabled"),
                json!("Disabled"),
            ),
            drift_from(
                vec![(
                    "/supplementaryConfiguration/ServerSideEncryptionConfiguration/rules/0/applyServerSideEncryptionByDefault",
                    json!({"sseAlgorithm": "AES256", "kmsMasterKeyID": null}),
                )],
                "server_side_encryption",
                set(&["aws:kms 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"]),
                set(&["AES256"]),
            ),
            drift(
                vec![("/supplementaryConfiguration/BucketLoggingConfiguration/destinationBucketName", Value::Null)],
                "logging.target_bucket",
                Value::Null,
            ),
            drift(
                vec![("/tags/Name", json!("scratch"))],
                "tags",
                json!({"ManagedBy": "terraform", "Name": "scratch"}),
            ),
            // The same policy URL-encoded, with its statement's lists reordered and the action a
            // one-element list: semantically equal.
            no_drift(vec![(
                "/supplementaryConfiguration/BucketPolicy/policyText",
                json!(url_encoded(&json!({"Version":"2012-10-17","Statement":[{"Resource":["arn:aws:s3:::acme-prod-artifacts","arn:aws:s3:::acme-prod-artifacts/*"],"Sid":"DenyInsecureTransport","Principal":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Action":["s3:*"]}]}))),
            )]),
            // Tags delivered as a [{key, value}] list.
            no_drift(vec![(
                "/tags",
                json!([{"key": "Name", "value": "artifacts"}, {"key": "ManagedBy", "value": "terraform"}]),
            )]),
        ],
    );
}

#[test]
fn s3_bucket_with_inline_attributes_and_json_encoded_supplementary_configuration() {
    check(
        "bucket_legacy_json_strings",
        &["policy", "versioning", "server_side_encryption", "tags"],
        &[
            ("policy", "aws_s3_bucket.reports"),
            ("versioning", "aws_s3_bucket.reports"),
        ],
        vec![
            drift_from(
                vec![(
                    "/supplementaryConfiguration/BucketVersioningConfiguration",
                    json!("{\"status\":\"Enabled\",\"isMfaDeleteEnabled\":null}"),
                )],
                "versioning",
                json!("Disabled"),
                json!("Enabled"),
            ),
            drift_from(
                vec![(
                    "/supplementaryConfiguration/ServerSideEncryptionConfiguration",
                    json!("{\"rules\":[{\"applyServerSideEncryptionByDefault\":{\"sseAlgorithm\":\"aws:kms\",\"kmsMasterKeyID\":\"arn:aws:kms:eu-west-3:123456789012:key/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a\"},\"bucketKeyEnabled\":true}]}"),
                )],
                "server_side_encryption",
                set(&["AES256"]),
                set(&["aws:kms 5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"]),
            ),
            drift(
                vec![("/supplementaryConfiguration/BucketPolicy", json!("{\"policyText\":null}"))],
                "policy",
                Value::Null,
            ),
            drift(vec![("/tags/Team", json!("ops"))], "tags", json!({"Team": "ops"})),
        ],
    );
}

#[test]
fn iam_role_with_attachments_and_inline_policies_from_every_declaring_type() {
    let logs = json!({"Statement":[{"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Effect":"Allow","Resource":"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-api:*"}],"Version":"2012-10-17"});
    let queue = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:GetQueueUrl"],"Resource":"arn:aws:sqs:eu-west-1:123456789012:orders"}]});
    let debug = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]});
    let ec2_trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]});
    check(
        "role",
        &[
            "assume_role_policy",
            "managed_policy_arns",
            "inline_policy",
            "permissions_boundary",
            "max_session_duration",
            "path",
            "tags",
        ],
        &[
            ("managed_policy_arns", "aws_iam_role.app_runtime"),
            ("inline_policy", "aws_iam_role.app_runtime"),
        ],
        vec![
            drift_from(
                vec![(
                    "/configuration/attachedManagedPolicies/1",
                    json!({"policyName": "AdministratorAccess", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                )],
                "managed_policy_arns",
                set(&["arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"]),
                set(&[
                    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
                    "arn:aws:iam::aws:policy/AdministratorAccess",
                ]),
            ),
            drift_from(
                vec![(
                    "/configuration/rolePolicyList/2",
                    json!({"policyName": "debug", "policyDocument": url_encoded(&debug)}),
                )],
                "inline_policy",
                json!({"logs": pol(logs.clone()), "queue": pol(queue.clone())}),
                json!({"debug": pol(debug.clone()), "logs": pol(logs.clone()), "queue": pol(queue.clone())}),
            ),
            drift(
                vec![(
                    "/configuration/assumeRolePolicyDocument",
                    json!(url_encoded(&ec2_trust)),
                )],
                "assume_role_policy",
                pol(ec2_trust.clone()),
            ),
            drift(
                vec![("/configuration/permissionsBoundary", Value::Null)],
                "permissions_boundary",
                Value::Null,
            ),
            drift(
                vec![("/configuration/maxSessionDuration", json!(43200))],
                "max_session_duration",
                json!(43200),
            ),
            drift(
                vec![("/tags/Service", json!("billing"))],
                "tags",
                json!({"ManagedBy": "terraform", "Service": "billing"}),
            ),
            // The trust policy as a plain (not URL-encoded) object.
            no_drift(vec![(
                "/configuration/assumeRolePolicyDocument",
                json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["sts:AssumeRole"]}]}),
            )]),
        ],
    );
}

#[test]
fn iam_role_with_inline_blocks_and_an_attachment_resource() {
    let art = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::acme-prod-artifacts/*"}]});
    let wider = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]});
    check(
        "role_legacy_inline_blocks",
        &[
            "assume_role_policy",
            "managed_policy_arns",
            "inline_policy",
            "max_session_duration",
            "path",
            "tags",
        ],
        &[
            ("managed_policy_arns", "aws_iam_role_policy_attachment.ci_readonly"),
            ("inline_policy", "aws_iam_role.ci"),
        ],
        vec![
            drift_from(
                vec![(
                    "/configuration/rolePolicyList/0/policyDocument",
                    json!(url_encoded(&wider)),
                )],
                "inline_policy",
                json!({"artifacts": pol(art)}),
                json!({"artifacts": pol(wider.clone())}),
            ),
            drift(
                vec![("/configuration/attachedManagedPolicies", json!([]))],
                "managed_policy_arns",
                json!([]),
            ),
        ],
    );
}

#[test]
fn service_linked_roles_are_recognised() {
    assert!(is_service_linked_role(&item("service_linked_role")));
    assert!(!is_service_linked_role(&item("role")));
    assert!(!is_service_linked_role(&item("role_legacy_inline_blocks")));
}

#[test]
fn iam_policy_compares_the_default_version() {
    let v1 = json!({"Version":"2012-10-17","Statement":[{"Sid":"Upload","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::acme-prod-artifacts/*"}]});
    check(
        "policy",
        &["policy", "path", "tags"],
        &[("policy", "aws_iam_policy.deploy")],
        vec![
            drift(
                vec![
                    ("/configuration/policyVersionList/0/isDefaultVersion", json!(true)),
                    ("/configuration/policyVersionList/1/isDefaultVersion", json!(false)),
                ],
                "policy",
                pol(v1),
            ),
            drift(
                vec![("/tags/Owner", json!("bob"))],
                "tags",
                json!({"ManagedBy": "terraform", "Owner": "bob"}),
            ),
            // A new non-default version changes nothing.
            no_drift(vec![(
                "/configuration/policyVersionList/2",
                json!({"document": "%7B%7D", "versionId": "v3", "isDefaultVersion": false}),
            )]),
        ],
    );
}

#[test]
fn ec2_instance() {
    check(
        "instance",
        &[
            "instance_type",
            "ami",
            "vpc_security_group_ids",
            "subnet_id",
            "key_name",
            "iam_instance_profile",
            "metadata_options.http_tokens",
            "monitoring",
            "ebs_optimized",
            "source_dest_check",
            "tags",
        ],
        &[],
        vec![
            drift_from(
                vec![("/configuration/instanceType", json!("m5.4xlarge"))],
                "instance_type",
                json!("t3.small"),
                json!("m5.4xlarge"),
            ),
            drift(
                vec![("/configuration/imageId", json!("ami-0d2e3f4a5b6c7d8e9"))],
                "ami",
                json!("ami-0d2e3f4a5b6c7d8e9"),
            ),
            drift(
                vec![(
                    "/configuration/securityGroups/2",
                    json!({"groupName": "default", "groupId": "sg-0d9e0f1a2b3c4d5e6"}),
                )],
                "vpc_security_group_ids",
                set(&["sg-0a1b2c3d4e5f60001", "sg-0d9e0f1a2b3c4d5e6", "sg-0f9e8d7c6b5a40002"]),
            ),
            drift(
                vec![("/configuration/subnetId", json!("subnet-0ee55ff66aa77bb88"))],
                "subnet_id",
                json!("subnet-0ee55ff66aa77bb88"),
            ),
            drift(
                vec![("/configuration/keyName", json!("someones-laptop"))],
                "key_name",
                json!("someones-laptop"),
            ),
            drift(
                vec![(
                    "/configuration/iamInstanceProfile/arn",
                    json!("arn:aws:iam::123456789012:instance-profile/admin"),
                )],
                "iam_instance_profile",
                json!("admin"),
            ),
            drift_from(
                vec![("/configuration/metadataOptions/httpTokens", json!("optional"))],
                "metadata_options.http_tokens",
                json!("required"),
                json!("optional"),
            ),
            drift_from(
                vec![("/configuration/monitoring/state", json!("disabled"))],
                "monitoring",
                json!(true),
                json!(false),
            ),
            drift(
                vec![("/configuration/ebsOptimized", json!(false))],
                "ebs_optimized",
                json!(false),
            ),
            drift(
                vec![("/configuration/sourceDestCheck", json!(false))],
                "source_dest_check",
                json!(false),
            ),
            drift(
                vec![("/tags/Name", json!("app-old"))],
                "tags",
                json!({"ManagedBy": "terraform", "Name": "app-old"}),
            ),
        ],
    );
}

#[test]
fn rds_db_instance() {
    check(
        "db_instance",
        &[
            "instance_class",
            "publicly_accessible",
            "storage_encrypted",
            "kms_key_id",
            "multi_az",
            "backup_retention_period",
            "allocated_storage",
            "deletion_protection",
            "vpc_security_group_ids",
            "tags",
        ],
        &[],
        vec![
            drift(
                vec![("/configuration/dBInstanceClass", json!("db.r6g.4xlarge"))],
                "instance_class",
                json!("db.r6g.4xlarge"),
            ),
            drift_from(
                vec![("/configuration/publiclyAccessible", json!(true))],
                "publicly_accessible",
                json!(false),
                json!(true),
            ),
            drift(
                vec![("/configuration/storageEncrypted", json!(false))],
                "storage_encrypted",
                json!(false),
            ),
            drift(
                vec![(
                    "/configuration/kmsKeyId",
                    json!("arn:aws:kms:eu-west-1:123456789012:key/1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e"),
                )],
                "kms_key_id",
                json!("1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e"),
            ),
            drift(vec![("/configuration/multiAZ", json!(false))], "multi_az", json!(false)),
            drift_from(
                vec![("/configuration/backupRetentionPeriod", json!(1))],
                "backup_retention_period",
                json!(7),
                json!(1),
            ),
            drift(
                vec![("/configuration/allocatedStorage", json!(500))],
                "allocated_storage",
                json!(500),
            ),
            drift(
                vec![("/configuration/deletionProtection", json!(false))],
                "deletion_protection",
                json!(false),
            ),
            drift(
                vec![(
                    "/configuration/vpcSecurityGroups/1",
                    json!({"vpcSecurityGroupId": "sg-0a1b2c3d4e5f60001", "status": "active"}),
                )],
                "vpc_security_group_ids",
                set(&["sg-0a1b2c3d4e5f60001", "sg-0fedcba9876543210"]),
            ),
            drift(
                vec![("/tags/ManagedBy", Value::Null)],
                "tags",
                json!({"ManagedBy": "", "Name": "acme-prod-db"}),
            ),
        ],
    );
}

#[test]
fn lambda_function() {
    check(
        "function",
        // kms_key_arn is "" in the state: not declared, not compared.
        &[
            "runtime",
            "handler",
            "role",
            "memory_size",
            "timeout",
            "vpc_config.security_group_ids",
            "vpc_config.subnet_ids",
            "tracing_config.mode",
            "tags",
        ],
        &[],
        vec![
            drift(
                vec![("/configuration/runtime", json!("nodejs20.x"))],
                "runtime",
                json!("nodejs20.x"),
            ),
            drift(
                vec![("/configuration/handler", json!("index.handler"))],
                "handler",
                json!("index.handler"),
            ),
            drift(
                vec![("/configuration/role", json!("arn:aws:iam::123456789012:role/admin"))],
                "role",
                json!("arn:aws:iam::123456789012:role/admin"),
            ),
            drift_from(
                vec![("/configuration/memorySize", json!(3008))],
                "memory_size",
                json!(256),
                json!(3008),
            ),
            drift(vec![("/configuration/timeout", json!("900"))], "timeout", json!(900)),
            drift(
                vec![(
                    "/configuration/vpcConfig/securityGroupIds/1",
                    json!("sg-0d9e0f1a2b3c4d5e6"),
                )],
                "vpc_config.security_group_ids",
                set(&["sg-0a1b2c3d4e5f60001", "sg-0d9e0f1a2b3c4d5e6"]),
            ),
            drift(
                vec![(
                    "/configuration/vpcConfig/subnetIds",
                    json!(["subnet-0aa11bb22cc33dd44"]),
                )],
                "vpc_config.subnet_ids",
                set(&["subnet-0aa11bb22cc33dd44"]),
            ),
            drift(
                vec![("/configuration/tracingConfig/mode", json!("PassThrough"))],
                "tracing_config.mode",
                json!("PassThrough"),
            ),
            drift(
                vec![("/tags/Service", json!("payments"))],
                "tags",
                json!({"ManagedBy": "terraform", "Service": "payments"}),
            ),
            // Subnet order does not matter; service-managed fields are not compared.
            no_drift(vec![
                (
                    "/configuration/vpcConfig/subnetIds",
                    json!(["subnet-0ee55ff66aa77bb88", "subnet-0aa11bb22cc33dd44"]),
                ),
                (
                    "/configuration/revisionId",
                    json!("0e1d2c3b-4a59-4876-9a5b-6c7d8e9f0a1b"),
                ),
                ("/configuration/lastModified", json!("2026-11-21T08:00:00.000+0000")),
            ]),
        ],
    );
}

#[test]
fn dynamodb_table() {
    check(
        "table",
        &[
            "billing_mode",
            "read_capacity",
            "write_capacity",
            "point_in_time_recovery.enabled",
            "tags",
        ],
        &[],
        vec![
            drift(
                vec![("/configuration/billingModeSummary/billingMode", json!("PROVISIONED"))],
                "billing_mode",
                json!("PROVISIONED"),
            ),
            drift(vec![("/configuration/provisionedThroughput/readCapacityUnits", json!(50))], "read_capacity", json!(50)),
            drift(vec![("/configuration/provisionedThroughput/writeCapacityUnits", json!(50))], "write_capacity", json!(50)),
            drift_from(
                vec![(
                    "/supplementaryConfiguration/ContinuousBackupsDescription/pointInTimeRecoveryDescription/pointInTimeRecoveryStatus",
                    json!("DISABLED"),
                )],
                "point_in_time_recovery.enabled",
                json!(true),
                json!(false),
            ),
            drift(vec![("/tags/Service", json!("x"))], "tags", json!({"ManagedBy": "terraform", "Service": "x"})),
        ],
    );
}

#[test]
fn kms_key() {
    let open = json!({"Version":"2012-10-17","Id":"data-key","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},{"Sid":"Everyone","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]});
    check(
        "key",
        &[
            "policy",
            "is_enabled",
            "key_usage",
            "customer_master_key_spec",
            "multi_region",
            "description",
            "tags",
        ],
        &[],
        vec![
            drift(
                vec![("/supplementaryConfiguration/Policy", json!(open.to_string()))],
                "policy",
                pol(open.clone()),
            ),
            drift_from(
                vec![("/configuration/enabled", json!(false))],
                "is_enabled",
                json!(true),
                json!(false),
            ),
            drift(
                vec![("/configuration/keyUsage", json!("SIGN_VERIFY"))],
                "key_usage",
                json!("SIGN_VERIFY"),
            ),
            drift(
                vec![("/configuration/keySpec", json!("RSA_2048"))],
                "customer_master_key_spec",
                json!("RSA_2048"),
            ),
            drift(
                vec![("/configuration/multiRegion", json!(true))],
                "multi_region",
                json!(true),
            ),
            drift(
                vec![("/configuration/description", json!("temp"))],
                "description",
                json!("temp"),
            ),
            drift(
                vec![("/tags/Name", json!("tmp"))],
                "tags",
                json!({"ManagedBy": "terraform", "Name": "tmp"}),
            ),
        ],
    );
}

#[test]
fn sns_topic() {
    let wide = json!({"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"SNS:Publish","Resource":"arn:aws:sns:eu-west-1:123456789012:platform-alerts"}]});
    check(
        "topic",
        &["policy", "kms_master_key_id", "display_name", "tags"],
        &[],
        vec![
            drift(
                vec![("/configuration/Policy", json!(wide.to_string()))],
                "policy",
                pol(wide.clone()),
            ),
            drift_from(
                vec![("/configuration/KmsMasterKeyId", Value::Null)],
                "kms_master_key_id",
                json!("alias/aws/sns"),
                Value::Null,
            ),
            drift(
                vec![("/configuration/DisplayName", json!("Alerts"))],
                "display_name",
                json!("Alerts"),
            ),
            drift(
                vec![("/tags/Team", json!("sre"))],
                "tags",
                json!({"ManagedBy": "terraform", "Team": "sre"}),
            ),
            // Effective delivery policy is AWS-filled: not compared.
            no_drift(vec![("/configuration/EffectiveDeliveryPolicy", json!("{}"))]),
        ],
    );
}

#[test]
fn sqs_queue() {
    let public = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:eu-west-1:123456789012:orders"}]});
    check(
        "queue",
        // kms_master_key_id is "" in the state: not declared, not compared.
        &[
            "policy",
            "sqs_managed_sse_enabled",
            "visibility_timeout_seconds",
            "message_retention_seconds",
            "max_message_size",
            "delay_seconds",
            "receive_wait_time_seconds",
            "tags",
        ],
        &[("policy", "aws_sqs_queue_policy.orders")],
        vec![
            drift(
                vec![("/configuration/Policy", json!(public.to_string()))],
                "policy",
                pol(public.clone()),
            ),
            drift_from(
                vec![("/configuration/SqsManagedSseEnabled", json!("false"))],
                "sqs_managed_sse_enabled",
                json!(true),
                json!(false),
            ),
            drift(
                vec![("/configuration/VisibilityTimeout", json!(30))],
                "visibility_timeout_seconds",
                json!(30),
            ),
            drift(
                vec![("/configuration/MessageRetentionPeriod", json!("1209600"))],
                "message_retention_seconds",
                json!(1_209_600),
            ),
            drift(
                vec![("/configuration/MaximumMessageSize", json!(1024))],
                "max_message_size",
                json!(1024),
            ),
            drift(
                vec![("/configuration/DelaySeconds", json!(900))],
                "delay_seconds",
                json!(900),
            ),
            drift(
                vec![("/configuration/ReceiveMessageWaitTimeSeconds", json!(0))],
                "receive_wait_time_seconds",
                json!(0),
            ),
            drift(
                vec![("/tags/Queue", json!("x"))],
                "tags",
                json!({"ManagedBy": "terraform", "Queue": "x"}),
            ),
        ],
    );
}

#[test]
fn application_load_balancer() {
    check(
        "load_balancer",
        &[
            "internal",
            "load_balancer_type",
            "security_groups",
            "subnets",
            "enable_deletion_protection",
            "idle_timeout",
            "access_logs.enabled",
            "access_logs.bucket",
            "tags",
        ],
        &[("internal", "aws_lb.public")],
        vec![
            drift_from(
                vec![("/configuration/scheme", json!("internal"))],
                "internal",
                json!("internet-facing"),
                json!("internal"),
            ),
            drift(
                vec![("/configuration/type", json!("network"))],
                "load_balancer_type",
                json!("network"),
            ),
            drift(
                vec![("/configuration/securityGroups/1", json!("sg-0d9e0f1a2b3c4d5e6"))],
                "security_groups",
                set(&["sg-0a1b2c3d4e5f60001", "sg-0d9e0f1a2b3c4d5e6"]),
            ),
            drift(
                vec![(
                    "/configuration/availabilityZones/1/subnetId",
                    json!("subnet-0ff00ff00ff00ff00"),
                )],
                "subnets",
                set(&["subnet-0ee55ff66aa77bb88", "subnet-0ff00ff00ff00ff00"]),
            ),
            drift_from(
                vec![(
                    "/supplementaryConfiguration/LoadBalancerAttributes/3/value",
                    json!("false"),
                )],
                "enable_deletion_protection",
                json!(true),
                json!(false),
            ),
            drift(
                vec![(
                    "/supplementaryConfiguration/LoadBalancerAttributes/1/value",
                    json!("4000"),
                )],
                "idle_timeout",
                json!(4000),
            ),
            drift(
                vec![(
                    "/supplementaryConfiguration/LoadBalancerAttributes/0/value",
                    json!("false"),
                )],
                "access_logs.enabled",
                json!(false),
            ),
            drift(
                vec![("/supplementaryConfiguration/LoadBalancerAttributes/4/value", json!(""))],
                "access_logs.bucket",
                json!(""),
            ),
            drift(
                vec![("/tags/Name", json!("pub"))],
                "tags",
                json!({"ManagedBy": "terraform", "Name": "pub"}),
            ),
        ],
    );
}

#[test]
fn legacy_alb_type() {
    check(
        "load_balancer_legacy_alb",
        &[
            "internal",
            "load_balancer_type",
            "security_groups",
            "subnets",
            "enable_deletion_protection",
            "idle_timeout",
            "tags",
        ],
        &[("internal", "aws_alb.internal")],
        vec![drift_from(
            vec![("/configuration/scheme", json!("internet-facing"))],
            "internal",
            json!("internal"),
            json!("internet-facing"),
        )],
    );
}

#[test]
fn every_map_is_tested_and_well_formed() {
    let tested = [
        "AWS::EC2::SecurityGroup",
        "AWS::S3::Bucket",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::EC2::Instance",
        "AWS::RDS::DBInstance",
        "AWS::Lambda::Function",
        "AWS::DynamoDB::Table",
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ];
    let mapped: Vec<&str> = MAPS.iter().map(|m| m.resource_type).collect();
    assert_eq!(mapped, tested);
    let catalog = Catalog::new();
    for m in MAPS {
        assert!(map_for(m.resource_type).is_some());
        let tf = catalog.terraform_for(m.resource_type);
        for row in m.attributes {
            assert!(
                tf.contains(&row.tf_type),
                "{}: {} is not a Terraform type the catalog names for it ({tf:?})",
                m.resource_type,
                row.tf_type
            );
            assert!(!row.attribute.starts_with("tags_all"), "tags_all is folded into tags");
            // Rows sharing an attribute share the config path and normaliser.
            let first = m.attributes.iter().find(|r| r.attribute == row.attribute).unwrap();
            assert_eq!((first.config_path, first.norm), (row.config_path, row.norm), "{row:?}");
        }
        let n = compared_attributes(m.resource_type).len();
        assert!((3..=13).contains(&n), "{}: {n} attributes", m.resource_type);
    }
    assert_eq!(compare("AWS::Glue::Table", &json!({}), &[]), None);
    assert!(compared_attributes("AWS::Glue::Table").is_empty());
}

#[test]
fn the_sample_security_group_change_shows_the_opened_port() {
    let mut inv = Inventory::new();
    let dir = events_dir().join("terraform");
    inv.add_state("network.tfstate", &read(&dir.join("network.tfstate")))
        .unwrap();
    let event: Value = serde_json::from_slice(&read(
        &events_dir().join("config/security-group.configuration-item-change.json"),
    ))
    .unwrap();
    let item = &event["detail"]["configurationItem"];
    let found = owners(&inv, item);
    let owners: Vec<&Declared> = found.iter().collect();
    let changes = compare("AWS::EC2::SecurityGroup", item, &owners).unwrap();
    let drifted: Vec<_> = changes.iter().filter(|c| c.drifted).collect();
    assert_eq!(drifted.len(), 1, "{drifted:#?}");
    assert_eq!(drifted[0].attribute, "ingress");
    assert_eq!(drifted[0].expected, set(&["tcp 443 0.0.0.0/0"]));
    assert_eq!(drifted[0].found, set(&["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"]));
}

// ---- the public corpus ----

/// The RDK example item for each mapped type (none exists for SQS).
const RDK_ITEMS: &[(&str, &str)] = &[
    ("AWS::EC2::SecurityGroup", "AWS_EC2_SecurityGroup.json"),
    ("AWS::S3::Bucket", "AWS_S3_Bucket.json"),
    ("AWS::IAM::Role", "AWS_IAM_Role.json"),
    ("AWS::IAM::Policy", "AWS_IAM_Policy.json"),
    ("AWS::EC2::Instance", "AWS_EC2_Instance.json"),
    ("AWS::RDS::DBInstance", "AWS_RDS_DBInstance.json"),
    ("AWS::Lambda::Function", "AWS_LAMBDA_FUNCTION.json"),
    ("AWS::DynamoDB::Table", "AWS_DynamoDB_Table.json"),
    ("AWS::KMS::Key", "AWS_KMS_Key.json"),
    ("AWS::SNS::Topic", "AWS_SNS_Topic.json"),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS_ElasticLoadBalancingV2_LoadBalancer.json",
    ),
];

/// Config paths that a real item carries only when the resource has that setting, or that the
/// (older) RDK example predates.
const MAY_BE_ABSENT: &[(&str, &str, &str)] = &[
    (
        "AWS::S3::Bucket",
        "supplementaryConfiguration.PublicAccessBlockConfiguration.",
        "present only when the bucket has a public access block",
    ),
    (
        "AWS::S3::Bucket",
        "supplementaryConfiguration.ServerSideEncryptionConfiguration",
        "present only when default encryption is configured (the 2019 example predates default SSE-S3)",
    ),
    (
        "AWS::IAM::Role",
        "configuration.permissionsBoundary.",
        "present only when the role has a permissions boundary",
    ),
    (
        "AWS::IAM::Role",
        "configuration.maxSessionDuration",
        "the 2016 example predates the field",
    ),
    (
        "AWS::EC2::Instance",
        "configuration.iamInstanceProfile.",
        "present only when the instance has a profile",
    ),
    (
        "AWS::RDS::DBInstance",
        "configuration.deletionProtection",
        "the 2016 example predates the field",
    ),
    (
        "AWS::Lambda::Function",
        "configuration.kmsKeyArn",
        "present only when a customer managed key encrypts the environment",
    ),
    (
        "AWS::SNS::Topic",
        "configuration.KmsMasterKeyId",
        "present only when the topic uses server-side encryption",
    ),
];

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn mapped_paths_exist_in_the_real_config_items() {
    let root = corpora("mapped_paths_exist_in_the_real_config_items");
    let dir = root.join("config-rdk-example-configuration-items");
    for (rt, file) in RDK_ITEMS {
        let mut item: Value = serde_json::from_slice(&read(&dir.join(file))).unwrap();
        if let Value::Array(mut a) = item {
            item = a.remove(0);
        }
        assert_eq!(item["resourceType"].as_str(), Some(*rt), "{file}");
        let map = map_for(rt).unwrap();
        for row in map.attributes {
            let found = config_value(&item, row.config_path);
            let excused = MAY_BE_ABSENT
                .iter()
                .find(|(t, prefix, _)| t == rt && row.config_path.starts_with(prefix));
            match (found, excused) {
                (Some(v), _) => {
                    // The normaliser reads the real value.
                    let n = row.norm.apply(&v, None);
                    assert!(
                        !n.is_null() || v.is_null(),
                        "{file}: {} normalised to null",
                        row.config_path
                    );
                }
                (None, Some((_, _, why))) => println!("{file}: {} absent: {why}", row.config_path),
                (None, None) => panic!("{file}: {} does not resolve", row.config_path),
            }
        }
        // Nothing declared, nothing compared.
        assert_eq!(compare(rt, &item, &[]), Some(Vec::new()));
    }
    // What the normalisers make of a few real values.
    let read_item = |file: &str| -> Value {
        let v: Value = serde_json::from_slice(&read(&dir.join(file))).unwrap();
        match v {
            Value::Array(mut a) => a.remove(0),
            other => other,
        }
    };
    let sg = read_item("AWS_EC2_SecurityGroup.json");
    let ingress = config_value(&sg, "configuration.ipPermissions").unwrap();
    assert_eq!(
        ConfigNorm::SgRules { direction: "ingress" }.apply(&ingress, None),
        set(&["tcp 22 0.0.0.0/0"])
    );
    let egress = config_value(&sg, "configuration.ipPermissionsEgress").unwrap();
    assert_eq!(
        ConfigNorm::SgRules { direction: "egress" }.apply(&egress, None),
        set(&["all * 0.0.0.0/0"])
    );
    let role = read_item("AWS_IAM_Role.json");
    let managed = config_value(&role, "configuration.attachedManagedPolicies").unwrap();
    assert_eq!(
        ConfigNorm::ManagedPolicyArns
            .apply(&managed, None)
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let policy = read_item("AWS_IAM_Policy.json");
    let doc = config_value(&policy, "configuration.policyVersionList[?isDefaultVersion].document").unwrap();
    assert_eq!(
        ConfigNorm::Policy.apply(&doc, None)["Statement"]["Action"],
        json!("elasticloadbalancing:Describe*")
    );
    let bucket = read_item("AWS_S3_Bucket.json");
    let versioning = config_value(
        &bucket,
        "supplementaryConfiguration.BucketVersioningConfiguration.status",
    )
    .unwrap();
    assert_eq!(ConfigNorm::Versioning.apply(&versioning, None), json!("Enabled"));
    let lb = read_item("AWS_ElasticLoadBalancingV2_LoadBalancer.json");
    let subnets = config_value(&lb, "configuration.availabilityZones").unwrap();
    assert_eq!(
        ConfigNorm::IdSet.apply(&subnets, None),
        set(&["subnet-29428871", "subnet-38c20312"])
    );
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn json_encoded_bucket_items_of_cloud_custodian_resolve() {
    let root = corpora("json_encoded_bucket_items_of_cloud_custodian_resolve");
    let dir = root.join("config-cloud-custodian/config-events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("s3") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&read(&path)).unwrap();
        // Bare items, or rule invocation events wrapping one in `invokingEvent` (a JSON string).
        let item = match doc.get("invokingEvent") {
            Some(ev) => config_value(ev, "configurationItem").unwrap(),
            None => doc,
        };
        if item.get("resourceType").and_then(Value::as_str) != Some("AWS::S3::Bucket") {
            continue;
        }
        let status = config_value(&item, "supplementaryConfiguration.BucketVersioningConfiguration.status")
            .unwrap_or_else(|| panic!("{name}: no versioning status"));
        let v = ConfigNorm::Versioning.apply(&status, None);
        assert!(v == json!("Enabled") || v == json!("Disabled"), "{name}: {v}");
        assert!(
            config_value(&item, "supplementaryConfiguration.BucketPolicy").is_some(),
            "{name}"
        );
        assert!(
            ConfigNorm::Tags.apply(item.get("tags").unwrap(), None).is_object(),
            "{name}"
        );
        seen += 1;
    }
    assert!(seen >= 3, "only {seen} bucket items read");
}
