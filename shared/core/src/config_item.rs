//! AWS Config "Config Configuration Item Change" events: decoded into [`ConfigChange`].
//!
//! Full attribute-level handling lands with the Config issue; today the pipeline decodes these,
//! names the resource and counts them.

use crate::time::Timestamp;
use serde::Deserialize;
use serde_json::Value;

/// `detail` of a "Config Configuration Item Change" EventBridge event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDetail {
    message_type: Option<String>,
    configuration_item: Option<RawItem>,
    configuration_item_summary: Option<RawItem>,
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
    configuration: Option<Value>,
    tags: Option<Value>,
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
    /// The resource's configuration, absent for oversized items.
    pub configuration: Option<Value>,
    /// The resource's tags.
    pub tags: Option<Value>,
    /// For oversized items: where in S3 the full item was delivered.
    pub s3_location: Option<String>,
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
}

impl ConfigChange {
    /// Decodes the `detail` object of a "Config Configuration Item Change" event.
    pub fn from_detail(detail: &str) -> Result<Self, ConfigError> {
        let raw: RawDetail = serde_json::from_str(detail)?;
        let message_type = raw.message_type.ok_or(ConfigError::Missing("messageType"))?;
        let item = raw
            .configuration_item
            .or(raw.configuration_item_summary)
            .ok_or(ConfigError::Missing("configurationItem or configurationItemSummary"))?;
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
            configuration: item.configuration,
            tags: item.tags,
            s3_location: raw.s3_delivery_summary.and_then(|s| s.s3_bucket_location),
        })
    }
}
