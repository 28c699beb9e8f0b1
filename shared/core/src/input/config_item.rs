//! AWS Config configuration item changes ("Config Configuration Item Change" events, and the full
//! notification Config delivers to S3 when an item is too large for the event) decoded into
//! [`ConfigChange`]. The configuration item itself is kept whole as JSON: the attribute maps in
//! [`crate::drift::config_map`] read paths in it.

use crate::util::time::Timestamp;
use serde::Deserialize;
use serde_json::Value;

/// `detail` of a "Config Configuration Item Change" EventBridge event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDetail {
    message_type: Option<String>,
    configuration_item: Option<Value>,
    configuration_item_summary: Option<Value>,
    configuration_item_diff: Option<RawDiff>,
    s3_delivery_summary: Option<RawS3Delivery>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    #[serde(rename = "ARN", alias = "arn")]
    arn: Option<String>,
    aws_account_id: Option<String>,
    aws_region: Option<String>,
    configuration_item_capture_time: Option<String>,
    configuration_item_status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDiff {
    change_type: Option<String>,
    changed_properties: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawS3Delivery {
    s3_bucket_location: Option<String>,
}

/// One configuration item change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigChange {
    /// `ConfigurationItemChangeNotification` or `OversizedConfigurationItemChangeNotification`.
    pub message_type: String,
    /// e.g. `AWS::EC2::SecurityGroup`.
    pub resource_type: String,
    /// e.g. `sg-0123456789abcdef0`.
    pub resource_id: String,
    /// `resourceName`, when Config has one.
    pub resource_name: Option<String>,
    /// `ARN`.
    pub arn: Option<String>,
    /// `awsAccountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// `configurationItemCaptureTime`.
    pub capture_time: Timestamp,
    /// `configurationItemStatus`, e.g. `OK`, `ResourceDeleted`.
    pub status: String,
    /// `configurationItemDiff.changeType`: `CREATE`, `UPDATE` or `DELETE`.
    pub change_type: Option<String>,
    /// `configurationItemDiff.changedProperties`.
    pub changed_properties: Option<Value>,
    /// The whole configuration item (`configuration`, `supplementaryConfiguration`, `tags`, ...);
    /// for an oversized notification, only the summary Config sent (see [`ConfigChange::is_oversized`]).
    pub item: Value,
    /// For oversized items: where in S3 the full notification was delivered (`bucket/key`).
    pub s3_location: Option<String>,
}

/// What Config says happened to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    /// The resource was created (or first recorded).
    Create,
    /// Its configuration changed.
    Update,
    /// It was deleted.
    Delete,
}

/// Why a Config change could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The detail is not valid JSON of the expected shape.
    #[error("invalid Config detail: {0}")]
    Json(#[from] serde_json::Error),
    /// A required field is absent.
    #[error("Config item has no {0}")]
    Missing(&'static str),
    /// The capture time is not a time.
    #[error("configurationItemCaptureTime {0:?} is not an RFC 3339 time")]
    BadTime(String),
    /// An S3-delivered notification whose gzip framing is corrupt or that is too large.
    #[error("delivered Config notification: {0}")]
    Delivered(crate::input::bytes::BytesError),
    /// The S3 location of an oversized item is not `bucket/key`.
    #[error("s3BucketLocation {0:?} is not bucket/key")]
    BadLocation(String),
}

impl ConfigChange {
    /// Decodes the `detail` object of a "Config Configuration Item Change" event (the same shape
    /// as the full notification Config writes to S3 for oversized items).
    pub fn from_detail(detail: &str) -> Result<Self, ConfigError> {
        Self::from_raw(serde_json::from_str(detail)?)
    }

    fn from_raw(raw: RawDetail) -> Result<Self, ConfigError> {
        let message_type = raw.message_type.ok_or(ConfigError::Missing("messageType"))?;
        let item_value = raw
            .configuration_item
            .or(raw.configuration_item_summary)
            .ok_or(ConfigError::Missing("configurationItem or configurationItemSummary"))?;
        let item = RawItem::deserialize(&item_value)?;
        let time_text = item
            .configuration_item_capture_time
            .ok_or(ConfigError::Missing("configurationItemCaptureTime"))?;
        let capture_time = Timestamp::parse(&time_text).ok_or(ConfigError::BadTime(time_text))?;
        let (change_type, changed_properties) = raw
            .configuration_item_diff
            .map(|d| (d.change_type, d.changed_properties))
            .unwrap_or_default();
        Ok(ConfigChange {
            message_type,
            resource_type: item.resource_type.ok_or(ConfigError::Missing("resourceType"))?,
            resource_id: item.resource_id.ok_or(ConfigError::Missing("resourceId"))?,
            resource_name: item.resource_name,
            arn: item.arn,
            account: item.aws_account_id.ok_or(ConfigError::Missing("awsAccountId"))?,
            region: item.aws_region.ok_or(ConfigError::Missing("awsRegion"))?,
            capture_time,
            status: item.configuration_item_status.unwrap_or_default(),
            change_type,
            changed_properties,
            item: item_value,
            s3_location: raw.s3_delivery_summary.and_then(|s| s.s3_bucket_location),
        })
    }

    /// Decodes the full notification Config delivered to S3 for an oversized item (gzip or plain
    /// JSON, detected by magic).
    pub fn from_delivered(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::from_delivered_within(bytes, crate::input::bytes::MAX_DOCUMENT_BYTES)
    }

    /// [`Self::from_delivered`], refusing a notification over `limit` bytes after gunzip.
    pub fn from_delivered_within(bytes: &[u8], limit: usize) -> Result<Self, ConfigError> {
        let json = crate::input::bytes::plain_within(bytes, limit).map_err(ConfigError::Delivered)?;
        Self::from_raw(serde_json::from_slice(&json)?)
    }

    /// Whether this is a summary whose full item must be fetched from [`Self::s3_location`].
    pub fn is_oversized(&self) -> bool {
        self.s3_location.is_some() && self.item.get("configuration").is_none_or(Value::is_null)
    }

    /// The S3 bucket and key of an oversized item's full notification.
    pub fn s3_bucket_key(&self) -> Option<Result<(&str, &str), ConfigError>> {
        let location = self.s3_location.as_deref()?;
        Some(
            location
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| ConfigError::BadLocation(location.to_owned())),
        )
    }

    /// CREATE / UPDATE / DELETE, from the diff, else from the item's status.
    pub fn kind(&self) -> ChangeType {
        match (self.change_type.as_deref(), self.status.as_str()) {
            (Some("DELETE"), _) | (_, "ResourceDeleted" | "ResourceDeletedNotRecorded") => ChangeType::Delete,
            (Some("CREATE"), _) | (_, "ResourceDiscovered") => ChangeType::Create,
            _ => ChangeType::Update,
        }
    }

    /// The property paths Config reports as changed (`Configuration.IpPermissions.1`, ...).
    pub fn changed_property_names(&self) -> Vec<String> {
        self.changed_properties
            .as_ref()
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The idempotency key of this item: resource and capture time.
    pub fn key(&self) -> String {
        format!(
            "config:{}:{}:{}",
            self.resource_type, self.resource_id, self.capture_time
        )
    }

    /// The CloudFormation stack that owns the resource: the `aws:cloudformation:stack-name` tag
    /// CloudFormation puts on what it creates (CDK and SAM deploy through it), as Config records
    /// it: in the item's `tags` map, in `configuration.tags` / `configuration.Tags` as a list of
    /// key / value pairs, or in an S3 bucket's `supplementaryConfiguration`. A resource carrying
    /// only `aws:cloudformation:logical-id` or `aws:cloudformation:stack-id` is a stack's too
    /// (the stack id, an ARN, is returned then).
    pub fn cloudformation_stack(&self) -> Option<&str> {
        CLOUDFORMATION_TAGS
            .iter()
            .find_map(|key| self.tag(key))
            .filter(|s| !s.is_empty())
    }

    /// One tag's value, wherever Config put the item's tags.
    fn tag(&self, key: &str) -> Option<&str> {
        let configuration = self.item.get("configuration");
        let bucket_tags = self
            .item
            .pointer("/supplementaryConfiguration/BucketTaggingConfiguration/tagSets/0/tags");
        tag_in_map(self.item.get("tags"), key)
            .or_else(|| tag_in_list(configuration.and_then(|c| c.get("tags")), key))
            .or_else(|| tag_in_list(configuration.and_then(|c| c.get("Tags")), key))
            .or_else(|| tag_in_map(bucket_tags, key))
    }
}

/// A tag's value in a `{key: value}` map.
fn tag_in_map<'v>(tags: Option<&'v Value>, key: &str) -> Option<&'v str> {
    tags.and_then(|t| t.get(key)).and_then(Value::as_str)
}

/// A tag's value in a list of `{key, value}` (or `{Key, Value}`) pairs.
fn tag_in_list<'v>(tags: Option<&'v Value>, key: &str) -> Option<&'v str> {
    tags.and_then(Value::as_array)?.iter().find_map(|p| {
        let k = p.get("key").or_else(|| p.get("Key")).and_then(Value::as_str)?;
        (k == key)
            .then(|| p.get("value").or_else(|| p.get("Value")).and_then(Value::as_str))
            .flatten()
    })
}

/// The tags CloudFormation puts on a stack's resources, the stack's name first.
pub const CLOUDFORMATION_TAGS: [&str; 3] = [
    CLOUDFORMATION_STACK_TAG,
    "aws:cloudformation:stack-id",
    "aws:cloudformation:logical-id",
];

/// The tag CloudFormation puts on the resources of a stack.
pub const CLOUDFORMATION_STACK_TAG: &str = "aws:cloudformation:stack-name";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn sample_detail() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/config/security-group.configuration-item-change.json"
        );
        let event: Value = serde_json::from_slice(&std::fs::read(path).expect("sample")).expect("json");
        event["detail"].to_string()
    }

    #[test]
    fn a_stack_tag_is_found_wherever_config_puts_tags() {
        let mut change = ConfigChange::from_detail(&sample_detail()).expect("sample");
        let check = |change: &mut ConfigChange, item: Value, want: Option<&str>| {
            change.item = item;
            assert_eq!(change.cloudformation_stack(), want, "{}", change.item);
        };
        check(&mut change, serde_json::json!({"tags": {"team": "web"}}), None);
        check(
            &mut change,
            serde_json::json!({"tags": {"aws:cloudformation:stack-name": "web"}}),
            Some("web"),
        );
        check(
            &mut change,
            serde_json::json!({"configuration": {"tags": [{"key": "aws:cloudformation:logical-id", "value": "WebSg"}]}}),
            Some("WebSg"),
        );
        check(
            &mut change,
            serde_json::json!({"configuration": {"Tags": [{"Key": "aws:cloudformation:stack-id", "Value": "arn:aws:cloudformation:us-east-1:123456789012:stack/web/1"}]}}),
            Some("arn:aws:cloudformation:us-east-1:123456789012:stack/web/1"),
        );
        check(
            &mut change,
            serde_json::json!({"supplementaryConfiguration": {"BucketTaggingConfiguration": {"tagSets": [{"tags": {"aws:cloudformation:stack-name": "data"}}]}}}),
            Some("data"),
        );
        check(
            &mut change,
            serde_json::json!({"tags": {"aws:cloudformation:stack-name": ""}}),
            None,
        );
    }

    #[test]
    fn delivered_notifications_are_read_plain_or_gzipped_and_corrupt_gzip_is_named() {
        let detail = sample_detail();
        let plain = ConfigChange::from_delivered(detail.as_bytes()).expect("plain JSON");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(detail.as_bytes()).expect("gzip");
        let gzipped = gz.finish().expect("gzip");
        assert_eq!(ConfigChange::from_delivered(&gzipped).expect("gzip JSON"), plain);
        assert_eq!(plain.resource_id, "sg-0123456789abcdef0");
        assert!(!plain.is_oversized());
        let err = ConfigChange::from_delivered(&gzipped[..gzipped.len() / 2]).expect_err("truncated");
        assert!(matches!(err, ConfigError::Delivered(_)), "{err}");
        assert!(err.to_string().starts_with("delivered Config notification: "), "{err}");
    }
}
