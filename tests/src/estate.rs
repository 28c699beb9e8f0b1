//! An estate for the reconcile sweep on moto's server: S3 buckets and an IAM role declared in one
//! Terraform state (written to the test stack's state bucket), some changed, created or deleted
//! out of band, and as many declared "filler" buckets as a test asks for, to page through.
//! moto's AWS Config answers `ListDiscoveredResources` / `BatchGetResourceConfig` from the S3
//! and IAM backends themselves: no recorder is needed, and what is created is what Config lists.

use crate::runtime_api::{ACCOUNT_ID, REGION};
use crate::stack::BUCKET;
use aws_config::SdkConfig;
use serde_json::{json, Value};

/// Where the estate's state sits in the stack's state bucket.
pub const STATE_PREFIX: &str = "sweep/";
/// The bucket whose policy was changed by hand after apply: drift.
pub const DRIFTED: &str = "app-logs";
/// The bucket whose policy an event (a CloudTrail `PutBucketPolicy`) already reported.
pub const REPORTED: &str = "app-data";
/// The bucket declared and deleted by hand: missing.
pub const DELETED: &str = "app-backup";
/// The bucket created by hand: unmanaged.
pub const HAND_MADE: &str = "hand-made-exports";
/// The declared role.
pub const ROLE: &str = "app-runner";

/// The policy Terraform declares on [`DRIFTED`] and [`REPORTED`].
pub fn declared_policy(bucket: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "ReadOnly", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")}, "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
}

/// The policy someone put instead: anyone may read.
pub fn public_policy(bucket: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Everyone", "Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The filler bucket names.
pub fn fillers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("fill-{i:04}")).collect()
}

fn bucket_resource(name: &str, instance: &str) -> Value {
    json!({"mode": "managed", "type": "aws_s3_bucket", "name": instance, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"id": name, "bucket": name, "arn": format!("arn:aws:s3:::{name}"),
            "region": REGION, "tags": {}, "tags_all": {}}}]})
}

/// The Terraform state of the estate (format 4).
pub fn state(fillers_n: usize) -> Value {
    let mut resources = vec![
        bucket_resource(BUCKET, "states"),
        bucket_resource(DRIFTED, "logs"),
        bucket_resource(REPORTED, "data"),
        bucket_resource(DELETED, "backup"),
    ];
    for (name, instance) in [(DRIFTED, "logs"), (REPORTED, "data")] {
        resources.push(
            json!({"mode": "managed", "type": "aws_s3_bucket_policy", "name": instance,
            "instances": [{"schema_version": 0, "attributes": {"id": name, "bucket": name,
                "policy": declared_policy(name).to_string()}}]}),
        );
    }
    resources.push(json!({"mode": "managed", "type": "aws_iam_role", "name": "runner",
        "instances": [{"schema_version": 0, "attributes": {"id": ROLE, "name": ROLE, "arn": format!("arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}"),
            "assume_role_policy": TRUST, "path": "/", "tags": {}, "tags_all": {}}}]}));
    let fill: Vec<Value> = fillers(fillers_n)
        .iter()
        .map(|name| {
            json!({"attributes": {"id": name, "bucket": name, "arn": format!("arn:aws:s3:::{name}"), "region": REGION, "tags": {}}, "index_key": name})
        })
        .collect();
    if !fill.is_empty() {
        resources.push(json!({"mode": "managed", "type": "aws_s3_bucket", "name": "fill", "instances": fill}));
    }
    json!({"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "3f0c2b8e-sweep", "outputs": {}, "resources": resources})
}

/// Creates the estate on moto: the state object, the declared buckets (policies as declared,
/// then [`DRIFTED`]'s and [`REPORTED`]'s replaced by hand), [`DELETED`] created and deleted,
/// [`HAND_MADE`] created, the role, and `fillers_n` declared buckets.
pub async fn build(sdk: &SdkConfig, fillers_n: usize) -> Result<(), String> {
    let s3 = driftguard_aws::s3_client(sdk, true);
    let err = |what: String| move |e: &dyn std::fmt::Debug| format!("{what}: {e:?}");
    s3.put_object()
        .bucket(BUCKET)
        .key(format!("{STATE_PREFIX}estate.tfstate"))
        .body(state(fillers_n).to_string().into_bytes().into())
        .send()
        .await
        .map_err(|e| err("put state".into())(&e))?;
    let mut names: Vec<String> = vec![DRIFTED.into(), REPORTED.into(), DELETED.into(), HAND_MADE.into()];
    names.extend(fillers(fillers_n));
    for name in &names {
        create_bucket(&s3, name).await?;
    }
    for name in [DRIFTED, REPORTED] {
        put_policy(sdk, name, &public_policy(name)).await?;
    }
    s3.delete_bucket()
        .bucket(DELETED)
        .send()
        .await
        .map_err(|e| err(format!("delete {DELETED}"))(&e))?;
    aws_sdk_iam::Client::new(sdk)
        .create_role()
        .role_name(ROLE)
        .path("/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .map_err(|e| err("create role".into())(&e))?;
    Ok(())
}

async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<(), String> {
    let location = aws_sdk_s3::types::BucketLocationConstraint::from(REGION);
    let config = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(location)
        .build();
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(config)
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("create bucket {name}: {e:?}"))
}

/// Sets a bucket's policy.
pub async fn put_policy(sdk: &SdkConfig, bucket: &str, policy: &Value) -> Result<(), String> {
    driftguard_aws::s3_client(sdk, true)
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("put policy on {bucket}: {e:?}"))
}

/// A CloudTrail record of `PutBucketPolicy` on `bucket` by the IAM user `user` with the AWS CLI,
/// `minutes_ago` before now, in the shape CloudTrail records it.
pub fn put_policy_record(bucket: &str, policy: &Value, user: &str, event_id: &str, minutes_ago: i64) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // Whole seconds, as CloudTrail writes them.
    let time = driftguard_core::time::Timestamp((now - minutes_ago * 60_000) / 1000 * 1000);
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00001", "arn": format!("arn:aws:iam::{ACCOUNT_ID}:user/{user}"),
            "accountId": ACCOUNT_ID, "accessKeyId": "AKIAEXAMPLE00000001", "userName": user},
        "eventTime": time.to_string(),
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy",
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.24",
        "userAgent": "[aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#s3api.put-bucket-policy]",
        "requestParameters": {"bucketName": bucket, "Host": format!("{bucket}.s3.{REGION}.amazonaws.com"), "policy": policy, "bucketPolicy": policy},
        "responseElements": null,
        "requestID": "8M6C1J1Z4T0R5Q9X",
        "eventID": event_id,
        "readOnly": false,
        "resources": [{"accountId": ACCOUNT_ID, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT_ID,
        "eventCategory": "Management",
    })
}

/// moto 5.2.1 writes Config items' `configurationItemCaptureTime` and `resourceCreationTime` as
/// Python `str(datetime)` text (`2026-11-30 19:16:47.123456+00:00`); the API's JSON protocol
/// sends timestamps as epoch seconds, and the SDK reads only those. Puts the answers of
/// `BatchGetResourceConfig` / `GetResourceConfigHistory` (and the aggregate twins) back in the
/// API's shape: see [`crate::fault::FaultProxy::rewrite`].
pub fn config_times_as_epoch_seconds(body: &mut Value) {
    for list in ["baseConfigurationItems", "configurationItems", "BaseConfigurationItems"] {
        if let Some(items) = body.get_mut(list).and_then(Value::as_array_mut) {
            for item in items {
                for field in [
                    "configurationItemCaptureTime",
                    "resourceCreationTime",
                    "configurationItemDeliveryTime",
                ] {
                    let Some(text) = item.get(field).and_then(Value::as_str) else {
                        continue;
                    };
                    let iso = text.replacen(' ', "T", 1);
                    if let Some(t) = driftguard_core::time::Timestamp::parse(&iso) {
                        item[field] = json!(t.0 as f64 / 1000.0);
                    }
                }
            }
        }
    }
}

/// The rewrites a proxy in front of moto needs for the sweep's Config calls.
pub fn config_rewrites() -> Vec<crate::fault::Rewrite> {
    [
        "BatchGetResourceConfig",
        "GetResourceConfigHistory",
        "BatchGetAggregateResourceConfig",
    ]
    .into_iter()
    .map(|operation| crate::fault::Rewrite {
        operation,
        apply: config_times_as_epoch_seconds,
    })
    .collect()
}

/// The estate's CloudTrail history: Terraform applied the declared policy on [`DRIFTED`] a day
/// ago and alice replaced it two hours ago; bob's change on [`REPORTED`] ([`bob_record`]) is the
/// one the event path reports; Terraform deleted [`DELETED`] (nothing by hand).
pub fn history() -> std::collections::HashMap<String, Vec<Value>> {
    let mut terraform = put_policy_record(
        DRIFTED,
        &declared_policy(DRIFTED),
        "terraform",
        "6c1e0d4a-0a5b-4c2e-9f2a-000000000001",
        24 * 60,
    );
    terraform["userAgent"] = json!("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.2 os/linux lang/go#1.22.8 md/GOOS#linux md/GOARCH#amd64 api/s3#1.65.3");
    let alice = put_policy_record(
        DRIFTED,
        &public_policy(DRIFTED),
        "alice",
        "6c1e0d4a-0a5b-4c2e-9f2a-000000000002",
        120,
    );
    let mut deleted_by_terraform = terraform.clone();
    deleted_by_terraform["eventID"] = json!("6c1e0d4a-0a5b-4c2e-9f2a-000000000003");
    deleted_by_terraform["requestParameters"]["bucketName"] = json!(DELETED);
    std::collections::HashMap::from([
        (DRIFTED.to_owned(), vec![terraform, alice]),
        (REPORTED.to_owned(), vec![bob_record()]),
        (DELETED.to_owned(), vec![deleted_by_terraform]),
    ])
}

/// bob's `PutBucketPolicy` on [`REPORTED`] three minutes ago, with the AWS CLI.
pub fn bob_record() -> Value {
    put_policy_record(
        REPORTED,
        &public_policy(REPORTED),
        "bob",
        "6c1e0d4a-0a5b-4c2e-9f2a-0000000000b0",
        3,
    )
}

/// A loopback stand-in for CloudTrail's `LookupEvents` (moto has no event history): it answers
/// each request by its lookup attribute's value (a resource name; `"false"` for the backfill's
/// `ReadOnly` = `false`), within the request's `StartTime` / `EndTime` when given, in the API's
/// wire shape (AWS JSON 1.1:
/// `Events[]` with `EventId`, `EventName`, `ReadOnly`, `EventTime` in epoch seconds,
/// `EventSource`, `Username`, `Resources`, and `CloudTrailEvent` holding the record as text),
/// newest first, and records the resource names asked for.
#[derive(Debug)]
pub struct HistoryStandIn {
    port: u16,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HistoryStandIn {
    /// Starts the stand-in over `history`: resource name → its CloudTrail records (any order).
    pub fn start(history: std::collections::HashMap<String, Vec<Value>>) -> HistoryStandIn {
        use std::io::{BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the history stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (history, shared) = (std::sync::Arc::new(history), asked.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (history, asked) = (history.clone(), shared.clone());
                std::thread::spawn(move || {
                    let Ok(mut writer) = conn.try_clone() else { return };
                    let mut reader = BufReader::new(conn);
                    while let Ok(Some(request)) = crate::runtime_api::read_request(&mut reader, &mut writer) {
                        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                        let name = body["LookupAttributes"][0]["AttributeValue"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned();
                        if let Ok(mut a) = asked.lock() {
                            a.push(name.clone());
                        }
                        let within = |r: &Value| {
                            let at = r["eventTime"]
                                .as_str()
                                .and_then(driftguard_core::time::Timestamp::parse)
                                .map_or(0.0, |t| t.0 as f64 / 1000.0);
                            body["StartTime"].as_f64().is_none_or(|s| at >= s)
                                && body["EndTime"].as_f64().is_none_or(|e| at <= e)
                        };
                        let mut records: Vec<Value> = history
                            .get(&name)
                            .into_iter()
                            .flatten()
                            .filter(|r| within(r))
                            .cloned()
                            .collect();
                        records.sort_by(|a, b| b["eventTime"].as_str().cmp(&a["eventTime"].as_str()));
                        let events: Vec<Value> = records.iter().map(lookup_event).collect();
                        let body = json!({ "Events": events }).to_string();
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: history-stand-in\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if writer.write_all(response.as_bytes()).is_err() || request.wants_close() {
                            return;
                        }
                    }
                });
            }
        });
        HistoryStandIn { port, asked }
    }

    /// The endpoint URL (`AWS_ENDPOINT_URL_CLOUDTRAIL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The resource names asked for, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

/// One record as a `LookupEvents` event.
fn lookup_event(record: &Value) -> Value {
    let seconds = record["eventTime"]
        .as_str()
        .and_then(driftguard_core::time::Timestamp::parse)
        .map_or(0, |t| t.0 / 1000);
    let resources: Vec<Value> = record["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| json!({"ResourceType": r["type"], "ResourceName": r["ARN"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": if record["readOnly"] == json!(true) { "true" } else { "false" },
        "AccessKeyId": record["userIdentity"]["accessKeyId"],
        "EventTime": seconds,
        "EventSource": record["eventSource"],
        "Username": record["userIdentity"]["userName"],
        "Resources": resources,
        "CloudTrailEvent": record.to_string(),
    })
}
