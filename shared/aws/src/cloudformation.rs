//! [`CloudFormationStacks`]: core's [`StackOwnership`] port on CloudFormation's API.
//!
//! Which stack owns a resource is `DescribeStackResources` with `PhysicalResourceId` (the API
//! answers the resources of the stack it belongs to; the one with that physical id is taken),
//! and a `ValidationError` "Stack for <id> does not exist" means no stack does. Answers are
//! cached per physical id for a TTL, negative ones too, so a burst of console edits on one
//! resource asks once. Drift is `DetectStackResourceDrift` on that one resource: the API checks
//! it while the request waits and answers the result (unlike `DetectStackDrift`, which starts an
//! asynchronous detection to poll), so it is never cached: each manual change gets a fresh check.
//!
//! Calls are spaced by [`CloudFormationStacks::with_interval`] (CloudFormation's API is
//! throttled per account and region; the SDK's standard backoff retries what throttling is left)
//! and counted ([`CloudFormationStacks::calls`]).

use crate::error::{classify, AwsError};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use driftguard_core::stack::{
    DifferenceType, DriftStatus, PropertyDifference, StackOwnership, StackResource, StackResourceDrift,
};
use driftguard_core::time::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The IAM actions [`CloudFormationStacks`] calls (the ingest role grants them; a test checks).
pub const CLOUDFORMATION_ACTIONS: [&str; 2] = [
    "cloudformation:DescribeStackResources",
    "cloudformation:DetectStackResourceDrift",
];

/// The most physical ids the cache remembers; past it, expired answers go first, then all.
const MAX_CACHED: usize = 10_000;

/// CloudFormation in one account and region.
#[derive(Debug)]
pub struct CloudFormationStacks {
    client: aws_sdk_cloudformation::Client,
    ttl: Duration,
    interval: Duration,
    cache: Mutex<HashMap<String, (Option<StackResource>, Instant)>>,
    last_call: tokio::sync::Mutex<Option<Instant>>,
    describes: AtomicU64,
    detects: AtomicU64,
}

impl CloudFormationStacks {
    /// A client with the SDK configuration's credentials, region and endpoint; owners cached for
    /// 15 minutes, calls spaced by 100 ms.
    pub fn new(sdk: &aws_config::SdkConfig) -> CloudFormationStacks {
        CloudFormationStacks {
            client: aws_sdk_cloudformation::Client::new(sdk),
            ttl: Duration::from_secs(900),
            interval: Duration::from_millis(100),
            cache: Mutex::new(HashMap::new()),
            last_call: tokio::sync::Mutex::new(None),
            describes: AtomicU64::new(0),
            detects: AtomicU64::new(0),
        }
    }

    /// How long an owner answer (or "no stack") is kept.
    pub fn with_ttl(mut self, ttl: Duration) -> CloudFormationStacks {
        self.ttl = ttl;
        self
    }

    /// Spaces calls by at least `interval`.
    pub fn with_interval(mut self, interval: Duration) -> CloudFormationStacks {
        self.interval = interval;
        self
    }

    /// Calls made so far: (`DescribeStackResources`, `DetectStackResourceDrift`).
    pub fn calls(&self) -> (u64, u64) {
        (
            self.describes.load(Ordering::Relaxed),
            self.detects.load(Ordering::Relaxed),
        )
    }

    async fn pace(&self) {
        let mut last = self.last_call.lock().await;
        if let Some(at) = *last {
            let wait = self.interval.saturating_sub(at.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        *last = Some(Instant::now());
    }

    fn cached(&self, physical_id: &str) -> Option<Option<StackResource>> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(physical_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(owner, _)| owner.clone())
    }

    fn remember(&self, physical_id: &str, owner: Option<StackResource>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                let ttl = self.ttl;
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(physical_id.to_owned(), (owner, Instant::now()));
        }
    }

    async fn describe(&self, physical_id: &str) -> Result<Option<StackResource>, AwsError> {
        self.pace().await;
        self.describes.fetch_add(1, Ordering::Relaxed);
        let out = match self
            .client
            .describe_stack_resources()
            .physical_resource_id(physical_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_no_stack(&e) => return Ok(None),
            Err(e) => return Err(classify("CloudFormation", "DescribeStackResources", e).about(physical_id)),
        };
        let resources = out.stack_resources();
        let found = resources
            .iter()
            .find(|r| r.physical_resource_id() == Some(physical_id))
            .or_else(|| resources.first().filter(|_| resources.len() == 1));
        Ok(found.map(|r| StackResource {
            stack_name: r.stack_name().unwrap_or_default().to_owned(),
            stack_id: r.stack_id().unwrap_or_default().to_owned(),
            logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
            physical_id: r.physical_resource_id().unwrap_or(physical_id).to_owned(),
            resource_type: r.resource_type().unwrap_or_default().to_owned(),
        }))
    }

    async fn detect(&self, resource: &StackResource) -> Result<StackResourceDrift, AwsError> {
        self.pace().await;
        self.detects.fetch_add(1, Ordering::Relaxed);
        let stack = if resource.stack_id.is_empty() {
            &resource.stack_name
        } else {
            &resource.stack_id
        };
        let out = self
            .client
            .detect_stack_resource_drift()
            .stack_name(stack)
            .logical_resource_id(&resource.logical_id)
            .send()
            .await
            .map_err(|e| {
                classify("CloudFormation", "DetectStackResourceDrift", e)
                    .about(&format!("{} in {}", resource.logical_id, resource.stack_name))
            })?;
        let drift = out.stack_resource_drift().ok_or_else(|| AwsError::Call {
            service: "CloudFormation",
            operation: "DetectStackResourceDrift",
            code: "NoDrift".into(),
            message: format!("no StackResourceDrift in the answer for {}", resource.logical_id),
            retry: crate::Retry::NotRetryable,
        })?;
        Ok(StackResourceDrift {
            status: DriftStatus::from_wire(drift.stack_resource_drift_status().map_or("(none)", |s| s.as_str())),
            differences: drift
                .property_differences()
                .iter()
                .map(|d| PropertyDifference {
                    path: d.property_path().unwrap_or_default().to_owned(),
                    expected: d.expected_value().map(str::to_owned),
                    actual: d.actual_value().map(str::to_owned),
                    kind: DifferenceType::from_wire(d.difference_type().map_or("(none)", |k| k.as_str())),
                })
                .collect(),
            checked_at: drift
                .timestamp()
                .and_then(|t| t.fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime).ok())
                .and_then(|t| Timestamp::parse(&t)),
        })
    }
}

/// Whether an error is CloudFormation saying no stack holds the physical id.
fn is_no_stack<E: ProvideErrorMetadata>(
    e: &aws_sdk_cloudformation::error::SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>,
) -> bool {
    let aws_sdk_cloudformation::error::SdkError::ServiceError(s) = e else {
        return false;
    };
    s.err().code() == Some("ValidationError") && s.err().message().is_some_and(|m| m.contains("does not exist"))
}

impl StackOwnership for CloudFormationStacks {
    type Error = AwsError;

    async fn stack_of(&self, physical_id: &str) -> Result<Option<StackResource>, AwsError> {
        if let Some(owner) = self.cached(physical_id) {
            return Ok(owner);
        }
        let owner = self.describe(physical_id).await?;
        self.remember(physical_id, owner.clone());
        Ok(owner)
    }

    async fn detect_drift(&self, resource: &StackResource) -> Result<StackResourceDrift, AwsError> {
        self.detect(resource).await
    }
}
