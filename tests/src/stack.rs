//! A DriftGuard deployment on moto's server: the DynamoDB table, an event bus with a rule that
//! sends DriftGuard's events to an SQS queue, and a bucket holding the sample Terraform states.
//! Everything is reached through the real `aws-sdk-*` clients.

use crate::moto::MotoServer;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use driftguard_aws::{DynamoStore, EventBridgePublisher};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Table, bus, queue and bucket names.
pub const TABLE: &str = "driftguard";
/// The DriftGuard event bus.
pub const BUS: &str = "driftguard";
/// The queue the bus's rule targets.
pub const QUEUE: &str = "driftguard-events";
/// The bucket with Terraform states.
pub const BUCKET: &str = "acme-tfstate";
/// Where the states sit in the bucket.
pub const STATE_PREFIX: &str = "env/prod/";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running moto server with DriftGuard's resources.
#[derive(Debug)]
pub struct Stack {
    /// The server (stopped on drop).
    pub moto: MotoServer,
    /// SDK configuration pointing at it.
    pub sdk: SdkConfig,
    /// The queue receiving DriftGuard's events.
    pub queue_url: String,
}

/// SDK configuration for a local endpoint with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(crate::runtime_api::REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "driftguard-tests"))
        .load()
        .await
}

/// [`sdk_config`] without the SDK's own retries, so one injected failure is one failed call.
pub async fn sdk_config_without_retries(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(crate::runtime_api::REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "driftguard-tests"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

impl Stack {
    /// Starts moto and creates everything; `None` (with a printed reason) when moto is not
    /// installed.
    pub async fn start(test: &str) -> Option<Stack> {
        let moto = MotoServer::start_or_skip(test)?;
        let stack = Self::on(moto)
            .await
            .unwrap_or_else(|e| panic!("creating the test stack on moto: {e}"));
        Some(stack)
    }

    /// Creates everything on a moto server already running; the error names what failed.
    pub async fn on(moto: MotoServer) -> Result<Stack, String> {
        let sdk = sdk_config(&moto.endpoint()).await;
        let queue_url = Self::create(&sdk).await?;
        Ok(Stack { moto, sdk, queue_url })
    }

    async fn create(sdk: &SdkConfig) -> Result<String, String> {
        let err = |what: &str| {
            let what = what.to_owned();
            move |e: &dyn std::fmt::Debug| format!("{what}: {e:?}")
        };
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), TABLE)
            .create_table()
            .await
            .map_err(|e| err("table")(&e))?;
        let events = aws_sdk_eventbridge::Client::new(sdk);
        events
            .create_event_bus()
            .name(BUS)
            .send()
            .await
            .map_err(|e| err("bus")(&e))?;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(QUEUE)
            .send()
            .await
            .map_err(|e| err("queue")(&e))?
            .queue_url
            .unwrap_or_default();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| err("queue attributes")(&e))?;
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        events
            .put_rule()
            .name("driftguard-to-queue")
            .event_bus_name(BUS)
            .event_pattern(r#"{"source":["driftguard"]}"#)
            .send()
            .await
            .map_err(|e| err("rule")(&e))?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .map_err(|e| err("target")(&e))?;
        events
            .put_targets()
            .rule("driftguard-to-queue")
            .event_bus_name(BUS)
            .targets(target)
            .send()
            .await
            .map_err(|e| err("targets")(&e))?;
        let s3 = driftguard_aws::s3_client(sdk, true);
        let location = aws_sdk_s3::types::BucketLocationConstraint::from(crate::runtime_api::REGION);
        let bucket_config = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(location)
            .build();
        s3.create_bucket()
            .bucket(BUCKET)
            .create_bucket_configuration(bucket_config)
            .send()
            .await
            .map_err(|e| err("bucket")(&e))?;
        for name in ["network.tfstate", "data.tfstate"] {
            let bytes =
                std::fs::read(workspace().join("events/terraform").join(name)).map_err(|e| err("state file")(&e))?;
            s3.put_object()
                .bucket(BUCKET)
                .key(format!("{STATE_PREFIX}{name}"))
                .body(bytes.into())
                .send()
                .await
                .map_err(|e| err("put state")(&e))?;
        }
        Ok(queue_url)
    }

    /// The findings store on the table.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), TABLE)
    }

    /// The publisher on the bus.
    pub fn publisher(&self) -> EventBridgePublisher {
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&self.sdk), BUS)
    }

    /// Writes (or overwrites) the SSM `String` parameter `name`, as an operator puts the
    /// configuration file (`DRIFTGUARD_CONFIG=ssm:<name>`).
    pub async fn put_parameter(&self, name: &str, text: &str) {
        aws_sdk_ssm::Client::new(&self.sdk)
            .put_parameter()
            .name(name)
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put the parameter {name}: {e:?}"));
    }

    /// Receives (and deletes) every message the queue holds now: the EventBridge events the
    /// rule delivered, parsed.
    pub async fn drain_events(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive from the queue");
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap_or("null")).expect("queue messages are JSON events"));
                if let Some(handle) = m.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
    }

    /// Environment for the ingest function pointed at this stack.
    pub fn ingest_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.moto.endpoint()),
            ("DRIFTGUARD_TABLE".into(), TABLE.into()),
            ("DRIFTGUARD_EVENT_BUS".into(), BUS.into()),
            (
                "DRIFTGUARD_STATE_LOCATIONS".into(),
                format!("s3://{BUCKET}/{STATE_PREFIX}**.tfstate"),
            ),
            ("DRIFTGUARD_S3_PATH_STYLE".into(), "true".into()),
            ("RUST_LOG".into(), "info".into()),
        ]
    }
}
