//! The compiled remediate Lambda, run as Lambda runs it (Runtime API on loopback), against moto's
//! EC2, S3, IAM, STS, SSM, DynamoDB and EventBridge (through a recording proxy, so the test sees
//! the user agent every call carried) and a loopback HTTP receiver standing in for GitHub and a
//! CI webhook.
//!
//! The world: resources created by hand-made changes on moto (an SSH rule opened on a security
//! group, a bucket's public access block turned off and its policy replaced, a role's trust policy
//! widened, a snapshot shared with another account, an access key created on a managed user), a
//! Terraform state declaring them, and the findings core's pipeline makes of the CloudTrail
//! records of those changes, stored in the table. Then requests go through the function and the
//! test looks at AWS afterwards through the SDK.

use aws_sdk_ec2::types as ec2;
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::finding::{Finding, Status};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_tests::fault::FaultProxy;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi, REGION};
use driftguard_tests::slack_receiver::{Reply, SlackReceiver};
use driftguard_tests::stack::{Stack, BUS, TABLE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "acme-remediate-data";
const ROLE: &str = "orders-api";
const USER: &str = "ci-deploy";
/// The pipeline token a re-apply reads from Secrets Manager (never logged).
const GITHUB_TOKEN: &str = "ghp_test0000000000000000000000000000000000";
const OTHER_ACCOUNT: &str = "444455556666";
const KILL_SWITCH: &str = "/driftguard/remediation/kill-switch";
/// The role the remediation runs as in this test world (moto's caller is a user; ingest is told
/// this role is DriftGuard's).
const REMEDIATION_ROLE: &str = "arn:aws:iam::123456789012:role/driftguard-remediate";

fn declared_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]})
}

fn widened_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{OTHER_ACCOUNT}:root")}, "Action": "sts:AssumeRole"}
    ]})
}

fn declared_bucket_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    }]})
}

fn public_bucket_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{BUCKET}/*")
    }]})
}

/// What the hand-made changes created on moto.
struct World {
    group: String,
    snapshot: String,
    key: String,
    findings: Vec<Finding>,
}

impl World {
    fn finding(&self, attribute_prefix: &str) -> &Finding {
        self.findings
            .iter()
            .find(|f| {
                f.changes
                    .iter()
                    .any(|c| c.drifted && c.attribute.starts_with(attribute_prefix))
            })
            .unwrap_or_else(|| panic!("no finding on {attribute_prefix}"))
    }
}

fn resource(tf_type: &str, name: &str, attributes: Value) -> Value {
    json!({
        "mode": "managed", "type": tf_type, "name": name,
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}]
    })
}

/// The Terraform state declaring the world as it should be.
fn state(group: &str, snapshot: &str) -> Vec<u8> {
    let rule = |port: i64| {
        json!({"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": port, "ipv6_cidr_blocks": [],
               "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": false, "to_port": port})
    };
    let doc = json!({
        "version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "5f0c9d1e-2b3a-4c5d-8e7f-a1b2c3d4e5f6",
        "outputs": {},
        "resources": [
            resource("aws_security_group", "web", json!({
                "id": group, "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}"),
                "name": "web", "description": "web", "vpc_id": "vpc-00000000",
                "ingress": [rule(443)], "egress": [], "tags": {"Environment": "prod"}, "tags_all": {"Environment": "prod"}
            })),
            resource("aws_s3_bucket", "data", json!({
                "id": BUCKET, "bucket": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}"), "tags": {"Environment": "prod"}
            })),
            resource("aws_s3_bucket_public_access_block", "data", json!({
                "id": BUCKET, "bucket": BUCKET, "block_public_acls": true, "block_public_policy": true,
                "ignore_public_acls": true, "restrict_public_buckets": true
            })),
            resource("aws_s3_bucket_policy", "data", json!({
                "id": BUCKET, "bucket": BUCKET, "policy": declared_bucket_policy().to_string()
            })),
            resource("aws_iam_role", "orders", json!({
                "id": ROLE, "name": ROLE, "arn": format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}"),
                "assume_role_policy": declared_trust().to_string(), "managed_policy_arns": [], "inline_policy": []
            })),
            resource("aws_ebs_snapshot", "nightly", json!({
                "id": snapshot, "arn": format!("arn:aws:ec2:{REGION}::snapshot/{snapshot}"),
                "owner_id": ACCOUNT, "volume_id": "vol-0f1e2d3c4b5a69788", "tags": {"Name": "nightly"}
            })),
            resource("aws_iam_user", "ci", json!({
                "id": USER, "name": USER, "arn": format!("arn:aws:iam::{ACCOUNT}:user/{USER}"), "path": "/"
            })),
        ]
    });
    serde_json::to_vec(&doc).expect("state JSON")
}

/// A CloudTrail record of a call by alice through the AWS CLI.
fn record(event_id: &str, minute: u32, source: &str, name: &str, request: Value, response: Value) -> Value {
    let region = if source == "iam.amazonaws.com" {
        "us-east-1"
    } else {
        REGION
    };
    json!({
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "IAMUser", "principalId": "AIDAEXAMPLEALICE00001",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/alice"), "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"
        },
        "eventTime": format!("2026-11-30T10:{minute:02}:00Z"),
        "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.22.12 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
        "requestParameters": request, "responseElements": response,
        "requestID": format!("req-{event_id}"), "eventID": event_id,
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management"
    })
}

/// The findings core's pipeline makes of `records` against the world's state.
fn findings_of(pipeline: &Pipeline, records: &[Value]) -> Vec<Finding> {
    let document = serde_json::to_vec(&json!({"Records": records})).expect("JSON");
    let mut out = Vec::new();
    decode(
        &document,
        "hand-made changes",
        &mut |_: &Position, item: Result<Item<'_>, _>| {
            pipeline.evaluate_each(&item.expect("decodes"), &mut |e| {
                if let Outcome::Finding(f) = e.outcome {
                    out.push(*f);
                }
            });
        },
    );
    out
}

fn pipeline(group: &str, snapshot: &str, config: &AttributionConfig) -> Pipeline {
    let mut inventory = Inventory::new();
    inventory
        .add_state("s3://acme-tf-states/prod/app.tfstate", &state(group, snapshot))
        .expect("state loads");
    Pipeline::new(config, inventory)
}

/// Makes the hand-made changes on moto and stores their findings.
async fn build_world(stack: &Stack) -> World {
    let sdk = &stack.sdk;
    let ec2c = aws_sdk_ec2::Client::new(sdk);
    let s3 = driftguard_aws::s3_client(sdk, true);
    let iam = aws_sdk_iam::Client::new(sdk);

    let group = ec2c
        .create_security_group()
        .group_name("web")
        .description("web")
        .send()
        .await
        .expect("security group")
        .group_id
        .expect("group id");
    let ingress = |port: i32| {
        ec2::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(ec2::IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    };
    for port in [443, 22] {
        ec2c.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(ingress(port))
            .send()
            .await
            .expect("ingress");
    }
    let volume = ec2c
        .create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(8)
        .send()
        .await
        .expect("volume")
        .volume_id
        .expect("volume id");
    let snapshot = ec2c
        .create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .expect("snapshot")
        .snapshot_id
        .expect("snapshot id");
    ec2c.modify_snapshot_attribute()
        .snapshot_id(&snapshot)
        .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(ec2::OperationType::Add)
        .user_ids(OTHER_ACCOUNT)
        .send()
        .await
        .expect("share the snapshot");

    s3.create_bucket()
        .bucket(BUCKET)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    s3.put_public_access_block()
        .bucket(BUCKET)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(false)
                .ignore_public_acls(false)
                .block_public_policy(false)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .expect("public access block off");
    s3.put_bucket_policy()
        .bucket(BUCKET)
        .policy(public_bucket_policy().to_string())
        .send()
        .await
        .expect("bucket policy");

    iam.create_role()
        .role_name(ROLE)
        .assume_role_policy_document(widened_trust().to_string())
        .send()
        .await
        .expect("role");
    iam.create_user().user_name(USER).send().await.expect("user");
    let key = iam
        .create_access_key()
        .user_name(USER)
        .send()
        .await
        .expect("access key")
        .access_key
        .map(|k| k.access_key_id)
        .expect("key id");

    let perms = json!({"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]});
    let records = [
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c01",
            1,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": group, "ipPermissions": perms}),
            json!({"requestId": "r1", "_return": true}),
        ),
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c02",
            2,
            "s3.amazonaws.com",
            "PutBucketPublicAccessBlock",
            json!({"bucketName": BUCKET, "Host": format!("{BUCKET}.s3.{REGION}.amazonaws.com"), "publicAccessBlock": "",
                   "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                     "BlockPublicAcls": false, "IgnorePublicAcls": false, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}}),
            Value::Null,
        ),
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c03",
            3,
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"bucketName": BUCKET, "Host": format!("{BUCKET}.s3.{REGION}.amazonaws.com"), "policy": "", "bucketPolicy": public_bucket_policy()}),
            Value::Null,
        ),
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c04",
            4,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            json!({"roleName": ROLE, "policyDocument": widened_trust().to_string()}),
            Value::Null,
        ),
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c05",
            5,
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": snapshot, "attributeType": "CREATE_VOLUME_PERMISSION",
                   "createVolumePermission": {"add": {"items": [{"userId": OTHER_ACCOUNT}]}}}),
            json!({"requestId": "r5", "_return": true}),
        ),
        record(
            "0a10d948-2ac6-465c-ab05-178f67a41c06",
            6,
            "iam.amazonaws.com",
            "CreateAccessKey",
            json!({"userName": USER}),
            json!({"accessKey": {"accessKeyId": key, "status": "Active", "userName": USER, "createDate": "Nov 30, 2026 10:06:00 AM"}}),
        ),
    ];
    let findings = findings_of(&pipeline(&group, &snapshot, &AttributionConfig::default()), &records);
    assert_eq!(
        findings.len(),
        records.len(),
        "one finding per hand-made change: {findings:#?}"
    );
    let changes: Vec<Change> = findings.iter().cloned().map(|f| Change::Finding(Box::new(f))).collect();
    stack.store().apply(&changes).await.expect("store the findings");
    World {
        group,
        snapshot,
        key,
        findings,
    }
}

struct Remediate {
    stack: Stack,
    proxy: FaultProxy,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    world: World,
    /// (action, milliseconds) per invocation.
    timings: Vec<(String, u128)>,
}

impl Remediate {
    /// moto with the world built, the recording proxy and the compiled function; `None` when
    /// moto is not installed.
    fn start(test: &str, policy: Value, extra_env: &[(&str, String)]) -> Option<Remediate> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        let world = rt.block_on(build_world(&stack));
        let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-remediate"));
        let api = RuntimeApi::start_named("driftguard-remediate");
        let mut env: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), proxy.endpoint()),
            ("DRIFTGUARD_TABLE".into(), TABLE.into()),
            ("DRIFTGUARD_EVENT_BUS".into(), BUS.into()),
            ("DRIFTGUARD_S3_PATH_STYLE".into(), "true".into()),
            ("DRIFTGUARD_KILL_SWITCH_PARAMETER".into(), KILL_SWITCH.into()),
            ("DRIFTGUARD_REMEDIATION_POLICY".into(), policy.to_string()),
            ("RUST_LOG".into(), "info".into()),
        ];
        for (k, v) in extra_env {
            env.retain(|(key, _)| key != k);
            env.push(((*k).into(), v.clone()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Remediate {
            stack,
            proxy,
            lambda,
            rt,
            world,
            timings: Vec::new(),
        })
    }

    fn event(detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0", "id": "7d1c3a52-0b4e-4f6a-9c2d-3e4f5a6b7c8d", "detail-type": detail_type,
            "source": "driftguard", "account": ACCOUNT, "time": "2026-11-30T10:30:00Z", "region": REGION,
            "resources": [], "detail": detail
        })
    }

    fn request(f: &Finding, action: &str, user: &str) -> Value {
        Self::event(
            "Remediation Requested",
            json!({
                "schema_version": 1, "finding_id": f.id, "action": action,
                "requested_by": {"source": "slack", "user": user},
                "requested_at": "2026-11-30T10:30:00Z", "dry_run": false
            }),
        )
    }

    fn respond(&mut self, label: &str, event: &Value) -> Value {
        let started = Instant::now();
        let result = self.lambda.invoke(event.to_string().as_bytes(), TIMEOUT);
        self.timings.push((label.to_owned(), started.elapsed().as_millis()));
        match result {
            Invocation::Response(v) => v,
            other => panic!(
                "expected a response, got {other:?}\nfunction logs:\n{}",
                self.lambda.logs()
            ),
        }
    }

    fn ask(&mut self, finding: &Finding, action: &str, user: &str) -> Value {
        let event = Self::request(finding, action, user);
        self.respond(action, &event)
    }

    fn ingress(&self) -> Vec<String> {
        let out = self
            .rt
            .block_on(
                aws_sdk_ec2::Client::new(&self.stack.sdk)
                    .describe_security_groups()
                    .group_ids(&self.world.group)
                    .send(),
            )
            .expect("describe");
        let mut rules: Vec<String> = out
            .security_groups()
            .iter()
            .flat_map(|g| g.ip_permissions())
            .flat_map(|p| {
                p.ip_ranges()
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            p.ip_protocol().unwrap_or(""),
                            p.from_port().unwrap_or(-1),
                            r.cidr_ip().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        rules.sort();
        rules
    }

    fn events(&self) -> Vec<Value> {
        self.rt.block_on(self.stack.drain_events())
    }

    fn stored(&self, id: &str) -> Finding {
        self.rt
            .block_on(self.stack.store().get(id))
            .expect("get")
            .expect("stored")
    }

    fn trail_steps(&self, finding_id: &str) -> Vec<String> {
        let out = self
            .rt
            .block_on(
                aws_sdk_dynamodb::Client::new(&self.stack.sdk)
                    .query()
                    .table_name(TABLE)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :t)")
                    .expression_attribute_values(
                        ":pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("REMEDIATION#{finding_id}")),
                    )
                    .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::S("TRAIL#".into()))
                    .send(),
            )
            .expect("query the trail");
        out.items()
            .iter()
            .filter_map(|i| i.get("doc").and_then(|d| d.as_s().ok()))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|d| d["step"].as_str().map(str::to_owned))
            .collect()
    }

    fn print_timings(&self) {
        let mut by: std::collections::BTreeMap<&str, Vec<u128>> = std::collections::BTreeMap::new();
        for (label, ms) in &self.timings {
            by.entry(label).or_default().push(*ms);
        }
        for (label, mut ms) in by {
            ms.sort_unstable();
            eprintln!(
                "request-to-result on moto, {label}: median {} ms, max {} ms over {}",
                ms[ms.len() / 2],
                ms[ms.len() - 1],
                ms.len()
            );
        }
    }
}

fn status(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

fn enabled() -> Value {
    json!({"revert": ["*"], "hourly_cap": 50})
}

#[test]
fn reverts_put_the_declared_values_back() {
    let Some(mut r) = Remediate::start("reverts_put_the_declared_values_back", enabled(), &[]) else {
        return;
    };
    let ids: Vec<Finding> = r.world.findings.clone();
    for f in &ids {
        let out = r.ask(f, "revert", "U0ALICE");
        assert_eq!(status(&out), "completed", "{}: {out:#}\n{}", f.summary, r.lambda.logs());
    }
    let (sdk, world) = (&r.stack.sdk, &r.world);
    // The SSH rule is gone, the declared HTTPS rule stays.
    assert_eq!(r.ingress(), ["tcp 443 0.0.0.0/0"]);
    let s3 = driftguard_aws::s3_client(sdk, true);
    let pab =
        r.rt.block_on(s3.get_public_access_block().bucket(BUCKET).send())
            .expect("public access block")
            .public_access_block_configuration
            .expect("configuration");
    assert_eq!(
        (
            pab.block_public_acls,
            pab.ignore_public_acls,
            pab.block_public_policy,
            pab.restrict_public_buckets
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let policy =
        r.rt.block_on(s3.get_bucket_policy().bucket(BUCKET).send())
            .expect("policy")
            .policy
            .expect("text");
    // The declared document, as a document (the finding holds it in canonical form).
    assert_eq!(
        driftguard_core::diff::normalise_policy(&Value::String(policy)),
        driftguard_core::diff::normalise_policy(&declared_bucket_policy())
    );
    let iam = aws_sdk_iam::Client::new(sdk);
    let trust =
        r.rt.block_on(iam.get_role().role_name(ROLE).send())
            .expect("role")
            .role
            .expect("role")
            .assume_role_policy_document
            .expect("trust");
    assert_eq!(
        driftguard_core::diff::normalise_policy(&Value::String(trust)),
        driftguard_core::diff::normalise_policy(&declared_trust())
    );
    let shared =
        r.rt.block_on(
            aws_sdk_ec2::Client::new(sdk)
                .describe_snapshot_attribute()
                .snapshot_id(&world.snapshot)
                .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
                .send(),
        )
        .expect("snapshot attribute");
    assert!(shared.create_volume_permissions().is_empty(), "{shared:?}");
    let keys =
        r.rt.block_on(iam.list_access_keys().user_name(USER).send())
            .expect("keys");
    let key = keys
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(world.key.as_str()))
        .expect("the key still exists");
    assert_eq!(
        key.status(),
        Some(&aws_sdk_iam::types::StatusType::Inactive),
        "deactivated, not deleted"
    );

    // Every result was published, and the trail holds each step.
    let events = r.events();
    let completed = events
        .iter()
        .filter(|e| e["detail-type"] == "Remediation Completed")
        .count();
    assert_eq!(completed, ids.len(), "{events:#?}");
    let sg = world.finding("ingress");
    let steps = r.trail_steps(&sg.id);
    for step in ["requested", "gated", "planned", "called", "verified", "finished"] {
        assert!(steps.iter().any(|s| s == step), "{step} in {steps:?}");
    }
    // Every AWS call of the reverts carried the remediation marker with its finding id.
    let marked: Vec<_> = r
        .proxy
        .requests()
        .into_iter()
        .filter(|q| q.user_agent.contains("app/driftguard-remediation-dg-"))
        .collect();
    assert!(
        marked
            .iter()
            .any(|q| q.body.contains("RevokeSecurityGroupIngress") && q.user_agent.contains(&sg.id)),
        "{marked:#?}"
    );
    r.print_timings();
}

/// The CloudTrail records of the revert calls the proxy saw: user agent as sent, the remediation
/// role as the caller, parameters as CloudTrail writes them.
fn revert_records(r: &Remediate, world: &World) -> Vec<Value> {
    let ua_for = |needle: &str| {
        r.proxy
            .requests()
            .into_iter()
            .find(|q| {
                q.user_agent.contains("driftguard-remediation-")
                    && (q.body.contains(needle) || q.target.contains(needle))
            })
            .map(|q| q.user_agent)
            .unwrap_or_else(|| panic!("no marked request for {needle}"))
    };
    let identity = json!({
        "type": "AssumedRole", "principalId": "AROAEXAMPLEREMEDIATE:driftguard-remediate",
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/driftguard-remediate/driftguard-remediate"),
        "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLEREMEDIATE",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEREMEDIATE",
            "arn": REMEDIATION_ROLE, "accountId": ACCOUNT, "userName": "driftguard-remediate"},
            "attributes": {"creationDate": "2026-11-30T10:29:00Z", "mfaAuthenticated": "false"}},
        "invokedBy": null
    });
    let mut out = Vec::new();
    let mut push = |n: u32, source: &str, name: &str, needle: &str, request: Value| {
        let mut rec = record(
            &format!("5e0c8f3a-7b1d-4e2f-9a6c-0d1e2f3a4b{n:02}"),
            31,
            source,
            name,
            request,
            Value::Null,
        );
        rec["userIdentity"] = identity.clone();
        rec["userAgent"] = Value::String(ua_for(needle));
        rec["sourceIPAddress"] = Value::String("3.250.1.20".into());
        out.push(rec);
    };
    push(
        1,
        "ec2.amazonaws.com",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        json!({"groupId": world.group, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}),
    );
    push(
        2,
        "s3.amazonaws.com",
        "PutBucketPublicAccessBlock",
        "publicAccessBlock",
        json!({"bucketName": BUCKET, "Host": format!("{BUCKET}.s3.{REGION}.amazonaws.com"), "publicAccessBlock": "", "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
    );
    push(
        3,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        "?policy",
        json!({"bucketName": BUCKET, "Host": format!("{BUCKET}.s3.{REGION}.amazonaws.com"), "policy": "", "bucketPolicy": declared_bucket_policy()}),
    );
    push(
        4,
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        "UpdateAssumeRolePolicy",
        json!({"roleName": ROLE, "policyDocument": declared_trust().to_string()}),
    );
    push(
        5,
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        "ModifySnapshotAttribute",
        json!({"snapshotId": world.snapshot, "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"remove": {"items": [{"userId": OTHER_ACCOUNT}]}}}),
    );
    push(
        6,
        "iam.amazonaws.com",
        "UpdateAccessKey",
        "UpdateAccessKey",
        json!({"userName": USER, "accessKeyId": world.key, "status": "Inactive"}),
    );
    out
}

#[test]
fn a_reverts_own_calls_fed_back_through_ingest_resolve_its_finding_and_raise_none() {
    let Some(mut r) = Remediate::start("a_reverts_own_calls_fed_back", enabled(), &[]) else {
        return;
    };
    let findings = r.world.findings.clone();
    for f in &findings {
        let out = r.ask(f, "revert", "U0ALICE");
        assert_eq!(status(&out), "completed", "{out:#}");
    }
    let records = revert_records(&r, &r.world);
    // The same pipeline and service step the ingest function runs, told which role is DriftGuard's.
    let config = AttributionConfig {
        remediation_roles: vec!["arn:aws:iam::*:role/driftguard-remediate".into()],
        ..AttributionConfig::default()
    };
    let pipeline = pipeline(&r.world.group, &r.world.snapshot, &config);
    let (store, publisher) = (r.stack.store(), r.stack.publisher());
    let document = serde_json::to_vec(&json!({"Records": records})).expect("JSON");
    let mut evaluated = Vec::new();
    decode(
        &document,
        "revert calls",
        &mut |_: &Position, item: Result<Item<'_>, _>| {
            let item = item.expect("decodes");
            if let Item::Api { call, .. } = &item {
                let mut evaluations = Vec::new();
                pipeline.evaluate_each(&item, &mut |e| evaluations.push(e));
                evaluated.push((call.event_id.to_string(), evaluations));
            }
        },
    );
    for (event_id, evaluations) in &evaluated {
        for e in evaluations {
            assert!(matches!(e.outcome, Outcome::Iac(_)), "{event_id}: {:?}", e.outcome);
        }
        let changes: Vec<Change> = evaluations
            .iter()
            .filter_map(|e| match &e.outcome {
                Outcome::Iac(c) => Some(Change::Iac(c.clone())),
                _ => None,
            })
            .collect();
        r.rt.block_on(driftguard_core::service::handle_changes(
            &store, &publisher, event_id, &changes,
        ))
        .expect("ingest");
    }
    for f in &findings {
        let stored = r.stored(&f.id);
        assert_eq!(stored.status, Status::Resolved, "{}", f.summary);
        assert_eq!(
            stored.resolution.as_ref().map(|x| x.by.as_str()),
            Some(format!("DriftGuard remediation of {}", f.id).as_str())
        );
    }
    let all =
        r.rt.block_on(store.list(&driftguard_core::ports::Query::default()))
            .expect("list");
    assert_eq!(all.len(), findings.len(), "the reverts raised no finding of their own");
    let resolved = r
        .events()
        .iter()
        .filter(|e| e["detail-type"] == "Drift Resolved")
        .count();
    assert_eq!(resolved, findings.len());
}

#[test]
fn stale_and_already_fixed_findings_are_refused_with_their_reasons() {
    let Some(mut r) = Remediate::start("stale_and_already_fixed", enabled(), &[]) else {
        return;
    };
    let (sdk, group) = (r.stack.sdk.clone(), r.world.group.clone());
    // Someone closed the SSH rule by hand already.
    r.rt.block_on(
        aws_sdk_ec2::Client::new(&sdk)
            .revoke_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                ec2::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(ec2::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send(),
    )
    .expect("revoke by hand");
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "failed");
    assert!(message(&out).contains("already has the declared values"), "{out:#}");
    // Someone changed the trust policy again since the finding.
    let third = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    r.rt.block_on(
        aws_sdk_iam::Client::new(&sdk)
            .update_assume_role_policy()
            .role_name(ROLE)
            .policy_document(third.to_string())
            .send(),
    )
    .expect("update");
    let trust = r.world.finding("assume_role_policy").clone();
    let out = r.ask(&trust, "revert", "U0ALICE");
    assert_eq!(status(&out), "failed");
    assert!(
        message(&out).contains("assume_role_policy changed again since the finding"),
        "{out:#}"
    );
    // Neither touched anything: the third trust policy is still there.
    let now =
        r.rt.block_on(aws_sdk_iam::Client::new(&sdk).get_role().role_name(ROLE).send())
            .expect("role")
            .role
            .expect("role")
            .assume_role_policy_document
            .expect("doc");
    assert_eq!(
        driftguard_core::diff::normalise_policy(&Value::String(now)),
        driftguard_core::diff::normalise_policy(&third)
    );
    let failed: Vec<Value> = r
        .events()
        .into_iter()
        .filter(|e| e["detail-type"] == "Remediation Failed")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
}

#[test]
fn a_dry_run_changes_nothing_and_publishes_the_exact_plan() {
    // The default policy: nothing is enabled.
    let Some(mut r) = Remediate::start("a_dry_run_changes_nothing", json!({}), &[]) else {
        return;
    };
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "dry_run", "{out:#}");
    assert_eq!(
        out["calls"],
        json!([{"call": "RevokeSecurityGroupRules", "group_id": r.world.group, "direction": "ingress",
                "rules": [{"protocol": "tcp", "from_port": 22, "to_port": 22, "peer": {"ipv4": "0.0.0.0/0"}}]}])
    );
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "nothing changed"
    );
    let mutating = r
        .proxy
        .requests()
        .into_iter()
        .filter(|q| q.body.contains("Action=RevokeSecurityGroupIngress"))
        .count();
    assert_eq!(mutating, 0);
    let events = r.events();
    let result = events
        .iter()
        .find(|e| e["detail-type"] == "Remediation Completed")
        .expect("the dry run's result");
    assert_eq!(result["detail"]["dry_run"], json!(true));
    assert_eq!(result["detail"]["calls"], out["calls"]);
    assert!(
        result["detail"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("ec2:RevokeSecurityGroupIngress"),
        "{result:#}"
    );

    // The role of a type not enabled may not even read it: the dry run still shows the plan,
    // computed from what the finding found, and says so.
    r.proxy.add(driftguard_tests::fault::Rule {
        operation: "",
        times: 10,
        fault: driftguard_tests::fault::Fault::Respond {
            status: "403 Forbidden",
            content_type: "text/xml;charset=UTF-8",
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>5c8a2b1e-0d3f-4a6b-9c7e-1f2a3b4c5d6e</RequestID></Response>".into(),
        },
    });
    let out = r.ask(&sg, "revert", "U0BOB");
    r.print_timings();
    assert_eq!(status(&out), "dry_run", "{out:#}");
    assert_eq!(out["calls"][0]["call"], "RevokeSecurityGroupRules");
    assert!(
        message(&out).contains("the plan assumes the resource is still as the finding found it"),
        "{out:#}"
    );
}

/// #17 item 4: with `ShadowMode=true` a revert that is enabled, needs no approval and is under
/// the cap still changes nothing: it is planned against the live group and published as a dry
/// run saying why.
#[test]
fn shadow_mode_plans_every_request_and_executes_none() {
    let Some(mut r) = Remediate::start("shadow_mode", enabled(), &[("DRIFTGUARD_SHADOW_MODE", "true".into())]) else {
        return;
    };
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "dry_run", "{out:#}");
    assert!(message(&out).contains("shadow mode"), "{out:#}");
    assert_eq!(
        out["calls"][0]["call"], "RevokeSecurityGroupRules",
        "the plan is still made"
    );
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "nothing changed"
    );
    let result = r
        .events()
        .into_iter()
        .find(|e| e["detail-type"] == "Remediation Completed")
        .expect("the dry run's result");
    assert_eq!(result["detail"]["dry_run"], json!(true));
}

#[test]
fn approvals_are_awaited_and_the_last_one_executes() {
    let policy = json!({"revert": ["*"], "approvals": [{"min_severity": "major", "required": 2}], "approvers": ["U0BOB", "U0CAROL", "U0ALICE"]});
    let Some(mut r) = Remediate::start("approvals_are_awaited", policy, &[]) else {
        return;
    };
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "awaiting_approval", "{out:#}");
    let request_id = out["request_id"].as_str().expect("request id").to_owned();
    // notify-slack hears of the wait: the prompt it posts carries the plan and the request.
    let waiting = |r: &Remediate| -> Vec<Value> {
        r.events()
            .into_iter()
            .filter(|e| e["detail-type"] == "Remediation Awaiting Approval")
            .map(|e| e["detail"].clone())
            .collect()
    };
    let first = waiting(&r);
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(
        (&first[0]["request_id"], &first[0]["required"], &first[0]["approved_by"]),
        (&json!(request_id), &json!(2), &json!([]))
    );
    assert_eq!(first[0]["requested_by"]["user"], "U0ALICE");
    assert_eq!(
        first[0]["calls"][0]["call"], "RevokeSecurityGroupRules",
        "{:#}",
        first[0]
    );
    let approve = |who: &str| {
        Remediate::event(
            "Remediation Approved",
            json!({"schema_version": 1, "finding_id": sg.id, "request_id": request_id, "approver": who, "at": "2026-11-30T10:31:00Z"}),
        )
    };
    // The requester's own approval does not count; nor does someone off the list.
    let out = r.respond("approve", &approve("U0ALICE"));
    assert_eq!(status(&out), "awaiting_approval", "{out:#}");
    let out = r.respond("approve", &approve("U0MALLORY"));
    assert_eq!(status(&out), "refused");
    let out = r.respond("approve", &approve("U0BOB"));
    assert_eq!(status(&out), "awaiting_approval");
    assert!(message(&out).contains("1 of 2"), "{out:#}");
    let counts: Vec<Value> = waiting(&r).iter().map(|d| d["approved_by"].clone()).collect();
    assert!(
        counts.contains(&json!(["U0BOB"])),
        "the prompt is told of Bob's approval: {counts:?}"
    );
    let out = r.respond("approve", &approve("U0BOB"));
    assert!(message(&out).contains("1 of 2"), "one person counts once: {out:#}");
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "nothing before the last approval"
    );
    let out = r.respond("approve", &approve("U0CAROL"));
    assert_eq!(status(&out), "completed", "{out:#}");
    assert_eq!(r.ingress(), ["tcp 443 0.0.0.0/0"]);
    let steps = r.trail_steps(&sg.id);
    assert_eq!(steps.iter().filter(|s| *s == "approved").count(), 3, "{steps:?}");
    // A redelivered request changes nothing now.
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "duplicate");
}

#[test]
fn the_hourly_cap_and_the_kill_switch_refuse() {
    let Some(mut r) = Remediate::start(
        "the_hourly_cap_and_the_kill_switch",
        json!({"revert": ["*"], "hourly_cap": 1}),
        &[],
    ) else {
        return;
    };
    let (sg, pab) = (
        r.world.finding("ingress").clone(),
        r.world.finding("block_public").clone(),
    );
    assert_eq!(status(&r.ask(&sg, "revert", "U0ALICE")), "completed");
    let out = r.ask(&pab, "revert", "U0ALICE");
    assert_eq!(status(&out), "failed");
    assert!(message(&out).contains("cap of 1"), "{out:#}");

    let Some(mut r) = Remediate::start("the_kill_switch", enabled(), &[]) else {
        return;
    };
    r.rt.block_on(
        aws_sdk_ssm::Client::new(&r.stack.sdk)
            .put_parameter()
            .name(KILL_SWITCH)
            .value("on")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .expect("kill switch on");
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "revert", "U0ALICE");
    assert_eq!(status(&out), "failed");
    assert!(message(&out).contains("kill switch"), "{out:#}");
    assert_eq!(r.ingress(), ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"]);
}

#[test]
fn a_redelivered_request_executes_once() {
    let Some(mut r) = Remediate::start("a_redelivered_request_executes_once", enabled(), &[]) else {
        return;
    };
    let sg = r.world.finding("ingress").clone();
    assert_eq!(status(&r.ask(&sg, "revert", "U0ALICE")), "completed");
    assert_eq!(status(&r.ask(&sg, "revert", "U0ALICE")), "duplicate");
    let revokes = r
        .proxy
        .requests()
        .into_iter()
        .filter(|q| q.body.contains("Action=RevokeSecurityGroupIngress"))
        .count();
    assert_eq!(revokes, 1);
}

#[test]
fn a_reapply_dispatches_the_workflow_and_signs_the_webhook() {
    let receiver = SlackReceiver::start();
    let dispatch = "/repos/acme/platform/actions/workflows/apply.yml/dispatches";
    receiver.script(dispatch, [Reply::json(200, &json!({"workflow_run_id": 4242, "run_url": "https://api.github.com/repos/acme/platform/actions/runs/4242", "html_url": "https://github.com/acme/platform/actions/runs/4242"}))]);
    receiver.script("/hooks/apply", [Reply::text(202, "queued")]);
    let routes = json!([
        {"state": "s3://acme-tf-states/prod/app.tfstate", "kind": "github_workflow", "repository": "acme/platform",
         "workflow": "apply.yml", "ref": "main", "token": "driftguard/github", "api_url": receiver.url("")},
    ]);
    let policy = json!({"revert": [], "reapply": true});
    let Some(mut r) = Remediate::start(
        "a_reapply_dispatches",
        policy.clone(),
        &[("DRIFTGUARD_REMEDIATION_PIPELINES", routes.to_string())],
    ) else {
        return;
    };
    r.rt.block_on(
        aws_sdk_secretsmanager_client(&r.stack.sdk)
            .create_secret()
            .name("driftguard/github")
            .secret_string(GITHUB_TOKEN)
            .send(),
    )
    .expect("secret");
    r.lambda.never_logs(GITHUB_TOKEN);
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "reapply", "U0ALICE");
    assert_eq!(status(&out), "completed", "{out:#}\n{}", r.lambda.logs());
    assert_eq!(
        out["run_url"],
        json!("https://github.com/acme/platform/actions/runs/4242")
    );
    let sent = receiver.requests_to(dispatch);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer ghp_test0000000000000000000000000000000000")
    );
    let body = sent[0].json.clone().expect("JSON body");
    assert_eq!(body["ref"], "main");
    assert_eq!(body["inputs"]["resource_address"], "aws_security_group.web");
    assert_eq!(body["inputs"]["finding_id"], json!(sg.id));
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "a re-apply changes nothing itself"
    );

    r.print_timings();

    // The same through a signed webhook.
    let hook = json!([{"state": "s3://acme-tf-states/*", "kind": "webhook", "url": receiver.url("/hooks/apply"), "secret": "/driftguard/ci-webhook"}]);
    let Some(mut r) = Remediate::start(
        "a_reapply_signs_the_webhook",
        policy,
        &[("DRIFTGUARD_REMEDIATION_PIPELINES", hook.to_string())],
    ) else {
        return;
    };
    let secret = "whsec-7c1e0d9a4b3f2e6d";
    r.rt.block_on(
        aws_sdk_ssm::Client::new(&r.stack.sdk)
            .put_parameter()
            .name("/driftguard/ci-webhook")
            .value(secret)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .expect("webhook secret");
    let pab = r.world.finding("block_public").clone();
    let out = r.ask(&pab, "reapply", "U0ALICE");
    assert_eq!(status(&out), "completed", "{out:#}\n{}", r.lambda.logs());
    let hooks = receiver.requests_to("/hooks/apply");
    assert_eq!(hooks.len(), 1);
    let h = &hooks[0];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    driftguard_core::remediation::verify_webhook(
        secret.as_bytes(),
        h.header(driftguard_core::remediation::TIMESTAMP_HEADER),
        &h.body,
        h.header(driftguard_core::remediation::SIGNATURE_HEADER),
        now,
        300,
    )
    .expect("the signature verifies with the secret");
    assert!(driftguard_core::remediation::verify_webhook(
        b"another secret",
        h.header(driftguard_core::remediation::TIMESTAMP_HEADER),
        &h.body,
        h.header(driftguard_core::remediation::SIGNATURE_HEADER),
        now,
        300,
    )
    .is_err());
    assert_eq!(h.json.as_ref().map(|j| j["finding_id"].clone()), Some(json!(pab.id)));
    r.print_timings();
}

fn aws_sdk_secretsmanager_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}

#[test]
fn an_accepted_change_closes_its_finding_and_does_not_alert_again() {
    let Some(mut r) = Remediate::start("an_accepted_change", json!({"accept": true}), &[]) else {
        return;
    };
    let sg = r.world.finding("ingress").clone();
    let out = r.ask(&sg, "accept", "U0ALICE");
    assert_eq!(status(&out), "completed", "{out:#}\n{}", r.lambda.logs());
    let hcl = out["hcl"].as_str().expect("HCL for an ingress rule");
    assert!(hcl.contains("from_port") && hcl.contains("22"), "{hcl}");
    let stored = r.stored(&sg.id);
    assert_eq!(stored.status, Status::Resolved);
    assert_eq!(
        stored.resolution.map(|x| x.by),
        Some("accepted by U0ALICE in DriftGuard".to_owned())
    );
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "accepting changes nothing in AWS"
    );
    // The same change made again later is stored resolved by the baseline: no new alert.
    let perms = json!({"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]});
    let again = record(
        "0a10d948-2ac6-465c-ab05-178f67a41c99",
        45,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": r.world.group, "ipPermissions": perms}),
        json!({"requestId": "r9", "_return": true}),
    );
    let later = findings_of(
        &pipeline(&r.world.group, &r.world.snapshot, &AttributionConfig::default()),
        &[again],
    );
    assert_eq!(later.len(), 1);
    r.events();
    let (store, publisher) = (r.stack.store(), r.stack.publisher());
    let change = Change::Finding(Box::new(later[0].clone()));
    r.rt.block_on(driftguard_core::service::handle_change(
        &store, &publisher, "again", &change,
    ))
    .expect("ingest");
    assert_eq!(r.stored(&later[0].id).status, Status::Resolved);
    let detected = r
        .events()
        .iter()
        .filter(|e| e["detail-type"] == "Drift Detected")
        .count();
    assert_eq!(detected, 0, "the accepted change does not alert again");
    r.print_timings();
}

#[test]
fn a_member_account_without_the_remediation_role_is_refused_with_how_to_enable_it() {
    let Some(mut r) = Remediate::start("a_member_account_without_the_role", enabled(), &[]) else {
        return;
    };
    // The same change, seen in a member account (forwarded by its spoke).
    let mut member = r.world.finding("ingress").clone();
    member.id = "dg-00000000000000aa".into();
    member.resource.account = "210987654321".into();
    r.rt.block_on(r.stack.store().apply(&[Change::Finding(Box::new(member.clone()))]))
        .expect("store");
    // One request first, so the function's start-up calls are behind it.
    let pab = r.world.finding("block_public").clone();
    assert_eq!(status(&r.ask(&pab, "revert", "U0ALICE")), "completed");
    // STS refuses the role, as it does where the spoke's remediation role is not deployed.
    r.proxy.add(driftguard_tests::fault::Rule {
        operation: "",
        times: 1,
        fault: driftguard_tests::fault::Fault::Respond {
            status: "403 Forbidden",
            content_type: "text/xml",
            body: "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/driftguard-remediate/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/DriftGuardRemediation</Message></Error><RequestId>6c1f0a3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f</RequestId></ErrorResponse>".into(),
        },
    });
    let out = r.ask(&member, "revert", "U0ALICE");
    assert_eq!(status(&out), "failed", "{out:#}");
    let said = message(&out);
    assert!(
        said.contains("remediation is not enabled in account 210987654321"),
        "{said}"
    );
    assert!(
        said.contains("arn:aws:iam::210987654321:role/DriftGuardRemediation"),
        "{said}"
    );
    assert!(said.contains("EnableRemediation=true"), "{said}");
    let assumed = r
        .proxy
        .requests()
        .into_iter()
        .filter(|q| q.body.contains("Action=AssumeRole"))
        .count();
    assert_eq!(assumed, 1, "the member account's role was asked for, once");
    assert_eq!(
        r.ingress(),
        ["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"],
        "nothing was touched"
    );
}
