//! The revert planner on real findings: each supported change is built through the pipeline from
//! a real-shaped CloudTrail call against a Terraform state, then planned against live values as an
//! adapter reads them. A revert makes exactly the inverse calls and ends at the declared value;
//! a live value already declared, changed again since, or not revertible in place is refused with
//! a message that names the attribute and says what to do.

mod common;

use common::evaluate::{self, cli_call, cli_call_by, pipeline_over};
use common::{events_dir, read};
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::{Finding, FindingKind, Status};
use driftguard_core::remediation::plan::{
    self, actions_for, Call, Direction, Holder, Inverse, Live, Peer, Plan, Read, Refusal, SgRule, Shared, REVERTS,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const NETWORK: &str = "events/terraform/network.tfstate";
const DATA: &str = "events/terraform/data.tfstate";
const ACCESS: &str = "shared/core/tests/data/access/app.tfstate";
const POLICIES: &str = "shared/core/tests/data/policies/app.tfstate";
const SHARING: &str = "shared/core/tests/data/sharing/backups.tfstate";
const CREDENTIALS: &str = "shared/core/tests/data/credentials/identity.tfstate";

const GROUP: &str = "sg-0123456789abcdef0";
const DECLARED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const NEW_KEY: &str = "AKIAI44QH8DHBEXAMPLE";

// ---- building findings ----

/// The finding a sample event of `events/cloudtrail/` gives against a state.
fn sample(file: &str, state: &str) -> Finding {
    let document = read(&events_dir().join("cloudtrail").join(file));
    evaluate::finding(evaluate::outcome(&pipeline_over(&[state]), &document))
}

/// The finding bob's CLI call gives against a state.
fn call(state: &str, source: &str, name: &str, request: Value) -> Finding {
    let response = json!({"requestId": "5c8a2b1e-0d3f-4a6b-9c7e-1f2a3b4c5d6e", "_return": true});
    evaluate::finding(evaluate::outcome(
        &pipeline_over(&[state]),
        &cli_call(source, name, request, response),
    ))
}

fn ingress(rules: &[(u16, &str)]) -> Finding {
    let items: Vec<Value> = rules
        .iter()
        .map(|(port, cidr)| json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {}, "ipRanges": {"items": [{"cidrIp": cidr}]}, "ipv6Ranges": {}, "prefixListIds": {}}))
        .collect();
    call(
        NETWORK,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": GROUP, "ipPermissions": {"items": items}}),
    )
}

fn snapshot_shared_with(who: Value) -> Finding {
    call(
        SHARING,
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({
            "snapshotId": "snap-0a1b2c3d4e5f60718",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [who]}}
        }),
    )
}

fn trust_policy_changed() -> Finding {
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}
    ]});
    call(
        ACCESS,
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        json!({"roleName": "orders-api", "policyDocument": trust.to_string()}),
    )
}

/// Default encryption set by hand on `acme-app-data` (declared `aws:kms` with a key).
fn encryption_set(algorithm: &str, key: Option<&str>) -> Finding {
    let mut default = json!({"SSEAlgorithm": algorithm});
    if let Some(key) = key {
        default["KMSMasterKeyID"] = Value::from(key);
    }
    call(
        ACCESS,
        "s3.amazonaws.com",
        "PutBucketEncryption",
        json!({
            "bucketName": "acme-app-data",
            "Host": "acme-app-data.s3.eu-west-1.amazonaws.com",
            "encryption": "",
            "ServerSideEncryptionConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "Rule": {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": false}
            }
        }),
    )
}

fn encryption_changed() -> Finding {
    encryption_set("AES256", None)
}

fn access_key_created() -> Finding {
    let document = cli_call_by(
        "bob",
        "iam.amazonaws.com",
        "CreateAccessKey",
        json!({"userName": "ci-deploy"}),
        json!({"accessKey": {"accessKeyId": NEW_KEY, "status": "Active", "userName": "ci-deploy", "createDate": "Nov 20, 2026 9:58:02 AM"}}),
        json!({"awsRegion": "us-east-1"}),
    );
    evaluate::finding(evaluate::outcome(&pipeline_over(&[CREDENTIALS]), &document))
}

// ---- live values ----

fn drifted(f: &Finding) -> impl Iterator<Item = &AttributeChange> {
    f.changes.iter().filter(|c| c.drifted)
}

/// Live values equal to what the finding found (every compared attribute).
fn as_found(f: &Finding) -> Live {
    f.changes
        .iter()
        .map(|c| (c.attribute.clone(), c.found.clone()))
        .collect()
}

/// Live values equal to the declared ones.
fn as_declared(f: &Finding) -> Live {
    f.changes
        .iter()
        .map(|c| (c.attribute.clone(), c.expected.clone()))
        .collect()
}

/// `live` with `attribute` set to `value`.
fn with(mut live: Live, attribute: &str, value: Value) -> Live {
    live.insert(attribute.to_owned(), value);
    live
}

fn map(live: &Live) -> BTreeMap<String, Value> {
    live.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The plan against live values as found, after checking what every revert must hold: it ends
/// at the declared values (and says so only of them), and once they are live there is nothing to
/// revert.
fn planned(f: &Finding) -> Plan {
    let plan = plan::revert(f, &as_found(f)).unwrap_or_else(|r| panic!("{}: refused: {r}", f.call.name));
    assert_eq!(plan.finding_id, f.id);
    assert_eq!(
        (plan.account.as_str(), plan.region.as_str()),
        ("123456789012", f.resource.region.as_str())
    );
    let declared: BTreeMap<String, Value> = drifted(f).map(|c| (c.attribute.clone(), c.expected.clone())).collect();
    assert_eq!(plan.after, declared, "after holds the declared values");
    let found: BTreeMap<String, Value> = drifted(f).map(|c| (c.attribute.clone(), c.found.clone())).collect();
    assert_eq!(plan.before, found, "before holds the live values as read");
    assert!(plan::matches_after(&plan, &plan.after.clone()));
    assert!(
        !plan::matches_after(&plan, &map(&as_found(f))),
        "the values as found are not the plan's after"
    );
    assert_eq!(plan::revert(f, &as_declared(f)), Err(Refusal::AlreadyFixed));
    plan
}

fn calls(plan: &Plan) -> Value {
    serde_json::to_value(&plan.calls).expect("calls serialise")
}

// ---- one revert per supported change ----

#[test]
fn an_ingress_rule_opened_by_hand_is_revoked_and_nothing_authorised() {
    let f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{
            "call": "RevokeSecurityGroupRules",
            "group_id": GROUP,
            "direction": "ingress",
            "rules": [{"protocol": "tcp", "from_port": 22, "to_port": 22, "peer": {"ipv4": "0.0.0.0/0"}}]
        }])
    );
    assert_eq!(plan.actions(), ["ec2:RevokeSecurityGroupIngress"]);
    assert_eq!(plan.after["ingress"], json!(["tcp 443 0.0.0.0/0"]));
    assert_eq!(
        plan::reads(&f),
        Ok(vec![Read::SecurityGroupRules { group_id: GROUP.into() }])
    );
}

#[test]
fn rules_added_since_by_someone_else_are_left_alone() {
    let f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    let live = json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0", "tcp 8080 10.0.0.0/8"]);
    let plan = plan::revert(&f, &with(as_found(&f), "ingress", live.clone())).expect("planned");
    assert_eq!(plan.before["ingress"], live);
    assert_eq!(
        plan.after["ingress"],
        json!(["tcp 443 0.0.0.0/0", "tcp 8080 10.0.0.0/8"])
    );
    assert_eq!(plan.calls.len(), 1, "{:?}", plan.calls);
}

#[test]
fn the_public_access_block_turned_off_is_put_back_in_one_call() {
    let f = sample("s3-put-bucket-public-access-block.console-sso.json", DATA);
    assert_eq!(drifted(&f).count(), 4);
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{
            "call": "PutPublicAccessBlock",
            "bucket": "acme-prod-artifacts",
            "block_public_acls": true,
            "ignore_public_acls": true,
            "block_public_policy": true,
            "restrict_public_buckets": true
        }])
    );
    assert_eq!(plan.actions(), ["s3:PutBucketPublicAccessBlock"]);
    assert_eq!(
        plan::reads(&f),
        Ok(vec![Read::PublicAccessBlock {
            bucket: "acme-prod-artifacts".into()
        }])
    );

    // One setting already back on: the block is still put whole, with every declared value.
    let live = with(as_found(&f), "block_public_policy", json!(true));
    let plan = plan::revert(&f, &live).expect("planned");
    assert_eq!(calls(&plan), calls(&planned(&f)));
    assert!(!plan.after.contains_key("block_public_policy"), "{:?}", plan.after);
}

#[test]
fn a_bucket_policy_replaced_by_hand_is_put_back_as_declared() {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-access-logs/*"}]});
    let f = call(
        POLICIES,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        json!({"bucketName": "acme-access-logs", "Host": "acme-access-logs.s3.eu-west-1.amazonaws.com", "policy": "", "bucketPolicy": policy}),
    );
    let declared = evaluate::change(&f, "policy").expected.clone();
    assert_eq!(declared["Statement"]["Sid"], "DenyInsecureTransport", "{declared}");
    // S3 returns the policy as text.
    let live = with(as_found(&f), "policy", Value::from(policy.to_string()));
    let plan = plan::revert(&f, &live).expect("planned");
    let [Call::PutBucketPolicy { bucket, policy: put }] = plan.calls.as_slice() else {
        panic!("{:?}", plan.calls);
    };
    assert_eq!(bucket, "acme-access-logs");
    let put: Value = serde_json::from_str(put).expect("the put policy is JSON");
    assert_eq!(
        driftguard_core::diff::normalise_policy(&put),
        declared,
        "the declared document"
    );
    assert_eq!(plan.actions(), ["s3:PutBucketPolicy"]);
    planned(&f);

    // A third policy since: refused, naming both.
    let third = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
    match plan::revert(&f, &with(as_found(&f), "policy", Value::from(third.to_string()))) {
        Err(Refusal::Stale { attribute, found, live }) => {
            assert_eq!(attribute, "policy");
            assert_eq!(found["Statement"]["Sid"], "PublicRead");
            assert_eq!(live, Value::from(third.to_string()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deleted_bucket_policy_is_put_back() {
    let f = call(
        POLICIES,
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        json!({"bucketName": "acme-access-logs", "Host": "acme-access-logs.s3.eu-west-1.amazonaws.com", "policy": ""}),
    );
    let plan = planned(&f);
    let [Call::PutBucketPolicy { bucket, policy }] = plan.calls.as_slice() else {
        panic!("{:?}", plan.calls);
    };
    assert_eq!(bucket, "acme-access-logs");
    assert!(policy.contains("DenyInsecureTransport"), "{policy}");
    assert_eq!(plan.actions(), ["s3:PutBucketPolicy"]);
}

#[test]
fn a_bucket_policy_put_where_none_is_declared_is_deleted() {
    let f = call(
        DATA,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        json!({"bucketName": "acme-prod-artifacts", "Host": "acme-prod-artifacts.s3.eu-west-1.amazonaws.com", "policy": "", "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-prod-artifacts/*"}]}}),
    );
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "DeleteBucketPolicy", "bucket": "acme-prod-artifacts"}])
    );
    assert_eq!(plan.actions(), ["s3:DeleteBucketPolicy"]);
}

#[test]
fn suspended_versioning_is_enabled_again() {
    let f = sample("s3-put-bucket-versioning.cli-user.json", DATA);
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "PutBucketVersioning", "bucket": "acme-prod-artifacts", "status": "Enabled"}])
    );
    assert_eq!(plan.actions(), ["s3:PutBucketVersioning"]);
    assert_eq!(plan.after["versioning_configuration.0.status"], "Enabled");
}

#[test]
fn default_encryption_changed_by_hand_is_put_back_whole_in_one_call() {
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
    // Another key, then another algorithm and key.
    for (algorithm, drifted_attributes) in [("aws:kms", 1), ("aws:kms:dsse", 2)] {
        let f = encryption_set(
            algorithm,
            Some("arn:aws:kms:eu-west-1:123456789012:key/ffffffff-0000-4000-8000-000000000000"),
        );
        assert_eq!(drifted(&f).count(), drifted_attributes, "{:?}", f.changes);
        let plan = planned(&f);
        assert_eq!(
            calls(&plan),
            json!([{"call": "PutBucketEncryption", "bucket": "acme-app-data", "sse_algorithm": "aws:kms", "kms_master_key_id": key}])
        );
        assert_eq!(plan.actions(), ["s3:PutEncryptionConfiguration"]);
        assert_eq!(
            plan::reads(&f),
            Ok(vec![Read::BucketEncryption {
                bucket: "acme-app-data".into()
            }])
        );
    }
}

#[test]
fn a_kms_algorithm_is_not_put_back_without_its_declared_key() {
    // AES256 by hand: the request names no key, so the finding holds no declared key, and the
    // live one is gone. Putting `aws:kms` alone would encrypt with the AWS-managed key instead.
    let f = encryption_changed();
    let key = "rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id";
    let refusal = plan::revert(&f, &with(as_found(&f), key, Value::Null)).expect_err("refused");
    assert_eq!(refusal, Refusal::NotDeclared { attribute: key.into() });
    assert!(refusal.to_string().contains("use reapply"), "{refusal}");
}

#[test]
fn a_trust_policy_changed_by_hand_is_put_back_and_read_back_url_encoded() {
    let f = trust_policy_changed();
    // IAM's GetRole returns the document URL-encoded.
    let found = serde_json::to_string(&evaluate::change(&f, "assume_role_policy").found).expect("JSON");
    let live = with(as_found(&f), "assume_role_policy", Value::from(url_encode(&found)));
    let plan = plan::revert(&f, &live).expect("a URL-encoded live document is the one found");
    let [Call::UpdateAssumeRolePolicy { role, policy }] = plan.calls.as_slice() else {
        panic!("{:?}", plan.calls);
    };
    assert_eq!(role, "orders-api");
    assert!(!policy.contains("444455556666"), "{policy}");
    assert!(policy.contains("lambda.amazonaws.com"), "{policy}");
    assert_eq!(plan.actions(), ["iam:UpdateAssumeRolePolicy"]);
    planned(&f);

    let declared = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    let read_back = BTreeMap::from([("assume_role_policy".to_owned(), Value::from(url_encode(declared)))]);
    assert!(plan::matches_after(&plan, &read_back), "compared as documents");
    let read_back = BTreeMap::from([("assume_role_policy".to_owned(), Value::from(url_encode(&found)))]);
    assert!(!plan::matches_after(&plan, &read_back));
}

#[test]
fn an_inline_role_policy_put_by_hand_is_deleted() {
    let f = sample("iam-put-role-policy.sdk-script.json", DATA);
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "DeleteInlinePolicy", "holder": "role", "principal": "app-runtime", "name": "s3-full"}])
    );
    assert_eq!(plan.actions(), ["iam:DeleteRolePolicy"]);
    assert_eq!(
        plan::reads(&f),
        Ok(vec![Read::InlinePolicy {
            holder: Holder::Role,
            principal: "app-runtime".into(),
            name: "s3-full".into()
        }])
    );
}

#[test]
fn a_declared_inline_user_policy_replaced_by_hand_is_put_back() {
    let f = call(
        ACCESS,
        "iam.amazonaws.com",
        "PutUserPolicy",
        json!({"userName": "bob", "policyName": "deny-billing", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowAll\",\"Effect\":\"Allow\",\"Action\":[\"*\"],\"Resource\":[\"*\"]}]}"}),
    );
    let plan = planned(&f);
    let [Call::PutInlinePolicy {
        holder: Holder::User,
        principal,
        name,
        policy,
    }] = plan.calls.as_slice()
    else {
        panic!("{:?}", plan.calls);
    };
    assert_eq!((principal.as_str(), name.as_str()), ("bob", "deny-billing"));
    assert!(!policy.contains("AllowAll"), "{policy}");
    assert_eq!(plan.actions(), ["iam:PutUserPolicy"]);
}

#[test]
fn a_managed_policy_attached_by_hand_is_detached() {
    let f = call(
        ACCESS,
        "iam.amazonaws.com",
        "AttachRolePolicy",
        json!({"roleName": "orders-api", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "DetachPolicy", "holder": "role", "principal": "orders-api", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}])
    );
    assert_eq!(plan.actions(), ["iam:DetachRolePolicy"]);
}

#[test]
fn an_ec2_tag_set_by_hand_is_deleted_and_a_declared_one_put_back() {
    let f = sample("ec2-create-tags.cloudshell.json", NETWORK);
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "DeleteTags", "resource": "i-0abc1234def567890", "keys": ["Owner"]}])
    );
    assert_eq!(plan.actions(), ["ec2:DeleteTags"]);

    let f = call(
        NETWORK,
        "ec2.amazonaws.com",
        "CreateTags",
        json!({"resourcesSet": {"items": [{"resourceId": "i-0abc1234def567890"}]}, "tagSet": {"items": [{"key": "Name", "value": "scratch"}]}}),
    );
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "CreateTags", "resource": "i-0abc1234def567890", "tags": {"Name": "app"}}])
    );
    assert_eq!(plan.actions(), ["ec2:CreateTags"]);
}

#[test]
fn a_snapshot_shared_with_an_account_or_everyone_stops_being_shared() {
    let f = snapshot_shared_with(json!({"userId": "111122223333"}));
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "ModifySharing", "what": "snapshot", "id": "snap-0a1b2c3d4e5f60718", "remove": ["111122223333"], "add": []}])
    );
    assert_eq!(plan.actions(), ["ec2:ModifySnapshotAttribute"]);

    let f = snapshot_shared_with(json!({"group": "all"}));
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "ModifySharing", "what": "snapshot", "id": "snap-0a1b2c3d4e5f60718", "remove": ["all"], "add": []}])
    );
    assert_eq!(plan.after["create_volume_permission"], json!(["210987654321"]));
}

#[test]
fn a_lambda_permission_added_by_hand_is_removed() {
    let f = call(
        POLICIES,
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        json!({"functionName": "orders-api", "statementId": "public-invoke", "action": "lambda:InvokeFunction", "principal": "*"}),
    );
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "RemovePermission", "function": "orders-api", "statement_id": "public-invoke"}])
    );
    assert_eq!(plan.actions(), ["lambda:RemovePermission"]);
}

#[test]
fn an_access_key_created_on_a_managed_user_is_deactivated_not_deleted() {
    let f = access_key_created();
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "UpdateAccessKey", "user": "ci-deploy", "access_key_id": NEW_KEY, "status": "Inactive"}])
    );
    assert_eq!(plan.actions(), ["iam:UpdateAccessKey"]);
    assert_eq!(plan.after["access_keys"], json!([DECLARED_KEY]));
    assert_eq!(
        plan::reads(&f),
        Ok(vec![Read::AccessKeys {
            user: "ci-deploy".into()
        }])
    );
}

#[test]
fn a_declared_key_deactivated_by_hand_is_activated_again() {
    let document = cli_call_by(
        "bob",
        "iam.amazonaws.com",
        "UpdateAccessKey",
        json!({"userName": "ci-deploy", "accessKeyId": DECLARED_KEY, "status": "Inactive"}),
        Value::Null,
        json!({"awsRegion": "us-east-1"}),
    );
    let f = evaluate::finding(evaluate::outcome(&pipeline_over(&[CREDENTIALS]), &document));
    let plan = planned(&f);
    assert_eq!(
        calls(&plan),
        json!([{"call": "UpdateAccessKey", "user": "ci-deploy", "access_key_id": DECLARED_KEY, "status": "Active"}])
    );
}

// ---- refusals ----

#[test]
fn a_value_changed_again_since_the_finding_is_stale() {
    // Two rules opened in one call; one was revoked since: neither as found nor as declared.
    let f = ingress(&[(22, "0.0.0.0/0"), (3389, "0.0.0.0/0")]);
    let live = json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"]);
    let refusal = plan::revert(&f, &with(as_found(&f), "ingress", live.clone())).expect_err("stale");
    assert_eq!(
        refusal,
        Refusal::Stale {
            attribute: "ingress".into(),
            found: json!(["tcp 22 0.0.0.0/0", "tcp 3389 0.0.0.0/0", "tcp 443 0.0.0.0/0"]),
            live,
        }
    );
    let text = refusal.to_string();
    assert!(
        text.contains("ingress") && text.contains("tcp 3389 0.0.0.0/0"),
        "{text}"
    );

    // A third algorithm since.
    let f = encryption_changed();
    let attribute = "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm";
    let refusal = plan::revert(&f, &with(as_found(&f), attribute, json!("aws:kms:dsse"))).expect_err("stale");
    assert_eq!(
        refusal,
        Refusal::Stale {
            attribute: attribute.into(),
            found: json!("AES256"),
            live: json!("aws:kms:dsse"),
        }
    );
    assert!(refusal.to_string().contains("aws:kms:dsse"), "{refusal}");

    // Versioning switched off altogether is not what was found either.
    let f = sample("s3-put-bucket-versioning.cli-user.json", DATA);
    assert!(matches!(
        plan::revert(
            &f,
            &with(as_found(&f), "versioning_configuration.0.status", Value::Null)
        ),
        Err(Refusal::Stale { .. })
    ));
}

#[test]
fn a_revert_already_done_by_hand_is_refused() {
    let f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    let refusal = plan::revert(&f, &with(Live::new(), "ingress", json!(["tcp 443 0.0.0.0/0"]))).expect_err("fixed");
    assert_eq!(refusal, Refusal::AlreadyFixed);
    assert!(refusal.to_string().contains("nothing to revert"), "{refusal}");

    // A key deactivated since counts as fixed.
    let f = access_key_created();
    let live = with(as_found(&f), "access_keys", json!([DECLARED_KEY]));
    assert_eq!(plan::revert(&f, &live), Err(Refusal::AlreadyFixed));
}

#[test]
fn an_instance_type_change_needs_a_reapply() {
    let f = sample("ec2-modify-instance-attribute.cli-user.json", NETWORK);
    let refusal = plan::revert(&f, &as_found(&f)).expect_err("needs reapply");
    assert_eq!(
        refusal,
        Refusal::NeedsReapply {
            attribute: "instance_type".into()
        }
    );
    assert_eq!(plan::reads(&f), Err(refusal.clone()), "nothing is read");
    let text = refusal.to_string();
    assert!(text.contains("instance_type") && text.contains("use reapply"), "{text}");
}

#[test]
fn an_attribute_without_an_inverse_is_unsupported() {
    let f = sample("lambda-update-function-configuration.console-sso.json", DATA);
    let refusal = plan::revert(&f, &as_found(&f)).expect_err("unsupported");
    assert_eq!(
        refusal,
        Refusal::Unsupported {
            resource_type: "AWS::Lambda::Function".into(),
            attribute: "memory_size".into()
        }
    );
    let text = refusal.to_string();
    assert!(text.contains("memory_size") && text.contains("use reapply"), "{text}");
}

#[test]
fn resolved_and_unmanaged_findings_are_not_reverted() {
    let mut f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    f.status = Status::Resolved;
    assert_eq!(plan::revert(&f, &as_found(&f)), Err(Refusal::NotOpen));
    assert_eq!(plan::reads(&f), Err(Refusal::NotOpen));
    assert!(Refusal::NotOpen.to_string().contains("already resolved"));

    let f = sample("s3-create-bucket.cli-user.json", DATA);
    assert_eq!(f.kind, FindingKind::Unmanaged);
    let refusal = plan::revert(&f, &Live::new()).expect_err("not drift");
    assert_eq!(
        refusal,
        Refusal::NotDrift {
            kind: FindingKind::Unmanaged
        }
    );
    assert!(refusal.to_string().contains("unmanaged"), "{refusal}");
}

#[test]
fn every_refusal_names_its_attribute_and_says_what_to_do() {
    let attribute = "versioning_configuration.0.status";
    for refusal in [
        Refusal::Unsupported {
            resource_type: "AWS::S3::Bucket".into(),
            attribute: attribute.into(),
        },
        Refusal::NeedsReapply {
            attribute: attribute.into(),
        },
        Refusal::NotDeclared {
            attribute: attribute.into(),
        },
        Refusal::Stale {
            attribute: attribute.into(),
            found: json!("Suspended"),
            live: Value::Null,
        },
        Refusal::Unreadable {
            attribute: attribute.into(),
            value: "tcp 22 nowhere".into(),
        },
    ] {
        let text = refusal.to_string();
        assert!(text.contains(attribute), "{text}");
        assert!(text.contains("use reapply"), "{text}");
    }
    for refusal in [
        Refusal::NotDrift {
            kind: FindingKind::Missing,
        },
        Refusal::NothingCompared,
    ] {
        assert!(refusal.to_string().contains("reapply") || refusal.to_string().contains("re-apply"));
    }
}

// ---- the table ----

#[test]
fn every_row_that_reverts_lists_the_actions_it_needs() {
    for row in REVERTS {
        if row.inverse == Inverse::NeedsReapply {
            assert!(row.actions.is_empty(), "{row:?}");
        } else {
            assert!(!row.actions.is_empty(), "{row:?} lists no action");
        }
    }
    // A wildcard type row counts for the types it matches.
    let instance = actions_for(&["AWS::EC2::Instance"]);
    assert!(instance.contains(&"ec2:CreateTags"), "{instance:?}");
    assert!(actions_for(&["AWS::S3::Bucket"]).iter().all(|a| a.starts_with("s3:")));
}

/// One call of every variant (and direction / holder / shared kind).
fn every_call() -> Vec<Call> {
    let rule = SgRule::parse("tcp 22 0.0.0.0/0").expect("rule");
    let mut out = Vec::new();
    for direction in [Direction::Ingress, Direction::Egress] {
        out.push(Call::RevokeSecurityGroupRules {
            group_id: GROUP.into(),
            direction,
            rules: vec![rule.clone()],
        });
        out.push(Call::AuthorizeSecurityGroupRules {
            group_id: GROUP.into(),
            direction,
            rules: vec![rule.clone()],
        });
    }
    for holder in [Holder::Role, Holder::User] {
        let principal = String::from("p");
        out.push(Call::PutInlinePolicy {
            holder,
            principal: principal.clone(),
            name: "n".into(),
            policy: "{}".into(),
        });
        out.push(Call::DeleteInlinePolicy {
            holder,
            principal: principal.clone(),
            name: "n".into(),
        });
        out.push(Call::AttachPolicy {
            holder,
            principal: principal.clone(),
            policy_arn: "arn".into(),
        });
        out.push(Call::DetachPolicy {
            holder,
            principal,
            policy_arn: "arn".into(),
        });
    }
    for what in [Shared::Snapshot, Shared::Image] {
        out.push(Call::ModifySharing {
            what,
            id: "x".into(),
            remove: vec!["all".into()],
            add: vec![],
        });
    }
    let bucket = String::from("b");
    out.extend([
        Call::PutPublicAccessBlock {
            bucket: bucket.clone(),
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        },
        Call::PutBucketPolicy {
            bucket: bucket.clone(),
            policy: "{}".into(),
        },
        Call::DeleteBucketPolicy { bucket: bucket.clone() },
        Call::PutBucketVersioning {
            bucket: bucket.clone(),
            status: "Enabled".into(),
        },
        Call::PutBucketEncryption {
            bucket,
            sse_algorithm: "AES256".into(),
            kms_master_key_id: None,
        },
        Call::UpdateAssumeRolePolicy {
            role: "r".into(),
            policy: "{}".into(),
        },
        Call::CreateTags {
            resource: "i-1".into(),
            tags: BTreeMap::new(),
        },
        Call::DeleteTags {
            resource: "i-1".into(),
            keys: vec![],
        },
        Call::RemovePermission {
            function: "f".into(),
            statement_id: "s".into(),
        },
        Call::UpdateAccessKey {
            user: "u".into(),
            access_key_id: "k".into(),
            status: "Inactive".into(),
        },
    ]);
    out
}

const VARIANTS: usize = 17;

/// The variant of a call, numbered by an exhaustive match: a new variant does not compile here
/// until [`every_call`] and [`VARIANTS`] know it.
fn variant(call: &Call) -> usize {
    match call {
        Call::RevokeSecurityGroupRules { .. } => 0,
        Call::AuthorizeSecurityGroupRules { .. } => 1,
        Call::PutPublicAccessBlock { .. } => 2,
        Call::PutBucketPolicy { .. } => 3,
        Call::DeleteBucketPolicy { .. } => 4,
        Call::PutBucketVersioning { .. } => 5,
        Call::PutBucketEncryption { .. } => 6,
        Call::UpdateAssumeRolePolicy { .. } => 7,
        Call::PutInlinePolicy { .. } => 8,
        Call::DeleteInlinePolicy { .. } => 9,
        Call::AttachPolicy { .. } => 10,
        Call::DetachPolicy { .. } => 11,
        Call::CreateTags { .. } => 12,
        Call::DeleteTags { .. } => 13,
        Call::ModifySharing { .. } => 14,
        Call::RemovePermission { .. } => 15,
        Call::UpdateAccessKey { .. } => 16,
    }
}

#[test]
fn every_call_needs_an_action_the_table_grants() {
    let granted = actions_for(&["*"]);
    let calls = every_call();
    let variants: std::collections::BTreeSet<usize> = calls.iter().map(variant).collect();
    assert_eq!(variants, (0..VARIANTS).collect(), "one call of each variant");
    for c in &calls {
        assert!(
            granted.contains(&c.iam_action()),
            "{} of {c:?} is in no row",
            c.iam_action()
        );
    }
    // And no row grants a write no call makes.
    let made: Vec<&str> = calls.iter().map(Call::iam_action).collect();
    for action in granted {
        let reads = ["Get", "List", "Describe"]
            .iter()
            .any(|v| action.split(':').nth(1).is_some_and(|a| a.starts_with(v)));
        assert!(
            reads || made.contains(&action),
            "{action} is granted but no call makes it"
        );
    }
}

#[test]
fn reads_are_one_per_resource_and_attribute_group() {
    // Four public-access-block settings: one read.
    let f = sample("s3-put-bucket-public-access-block.console-sso.json", DATA);
    assert_eq!(plan::reads(&f).map(|r| r.len()), Ok(1));
    // Ingress and egress of one group: one read.
    let mut f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    let mut egress = f.changes[0].clone();
    egress.attribute = "egress".into();
    f.changes.push(egress);
    assert_eq!(
        plan::reads(&f),
        Ok(vec![Read::SecurityGroupRules { group_id: GROUP.into() }])
    );
    // Two inline policies of one role: one read each.
    let mut f = sample("iam-put-role-policy.sdk-script.json", DATA);
    let mut other = f.changes[0].clone();
    other.attribute = "inline_policy.other".into();
    f.changes.push(other);
    assert_eq!(plan::reads(&f).map(|r| r.len()), Ok(2));
}

#[test]
fn rule_texts_of_every_peer_kind_become_revoke_parameters() {
    let mut f = sample("ec2-authorize-security-group-ingress.console-sso.json", NETWORK);
    let added = ["all * sg-0fedcba9876543210", "tcp 443 ::/0", "udp 53 pl-12345678"];
    let c = &mut f.changes[0];
    let mut found: Vec<Value> = c.expected.as_array().expect("list").clone();
    found.extend(added.iter().map(|r| Value::from(*r)));
    c.found = Value::Array(found);
    let plan = plan::revert(&f, &as_found(&f)).expect("planned");
    let [Call::RevokeSecurityGroupRules { rules, .. }] = plan.calls.as_slice() else {
        panic!("{:?}", plan.calls);
    };
    let peers: Vec<&Peer> = rules.iter().map(|r| &r.peer).collect();
    assert_eq!(
        peers,
        [
            &Peer::Group("sg-0fedcba9876543210".into()),
            &Peer::Ipv6("::/0".into()),
            &Peer::PrefixList("pl-12345678".into())
        ]
    );
}

/// Percent-encodes a document as IAM returns it.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
