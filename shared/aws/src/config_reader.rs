//! [`ConfigReader`]: AWS Config's view of live resources, for the reconcile sweep.
//!
//! In one account and region, `ListDiscoveredResources` lists a resource type (a page of at
//! most 100, deleted resources included so a deletion is known) and `BatchGetResourceConfig`
//! reads the current configuration items (at most 100 keys per call; keys the service leaves
//! unprocessed are asked again with backoff). Through a configuration aggregator (one named),
//! the same with `ListAggregateDiscoveredResources` (filtered to the account and region) and
//! `BatchGetAggregateResourceConfig`. The items come back in Config's "base" shape, where
//! `configuration` and the `supplementaryConfiguration` values are JSON text and `tags` is
//! absent; they are handed to core as [`ConfigChange`]s with those texts decoded.
//! `GetResourceConfigHistory` (or `GetAggregateResourceConfig`) reads one full item, tags
//! included, when core needs them (see `Sweep::wants_full_item`).

use crate::error::{classify, AwsError, Retry};
use crate::retry::{backoff, MAX_ATTEMPTS};
use aws_sdk_config::types::{AggregateResourceIdentifier, ResourceFilters, ResourceKey, ResourceType};
use driftguard_core::config_item::ConfigChange;
use driftguard_core::sweep::{Listed, Scope};
use driftguard_core::time::Timestamp;
use serde_json::{Map, Value};

/// `ListDiscoveredResources` and `BatchGetResourceConfig` both take at most 100.
pub const MAX_KEYS: usize = 100;

/// One page of Config's inventory listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedPage {
    /// The resources on the page.
    pub resources: Vec<Listed>,
    /// The token of the next page, when there is one.
    pub next_token: Option<String>,
}

/// Items read, and how many calls that took.
#[derive(Debug, Clone, Default)]
pub struct ItemsRead {
    /// The configuration items, as core reads them.
    pub items: Vec<ConfigChange>,
    /// Calls made (unprocessed keys asked again count too).
    pub calls: u64,
    /// Resources Config answered with no item (deleted since the listing, or not recorded).
    pub absent: Vec<String>,
}

/// AWS Config in one scope, directly or through an aggregator.
#[derive(Debug, Clone)]
pub struct ConfigReader {
    client: aws_sdk_config::Client,
    aggregator: Option<String>,
    scope: Scope,
}

fn invalid(operation: &'static str, message: String) -> AwsError {
    AwsError::Call {
        service: "Config",
        operation,
        code: "invalid".into(),
        message,
        retry: Retry::NotRetryable,
    }
}

impl ConfigReader {
    /// A reader of `scope` with the SDK configuration's credentials (a member account's read
    /// role, when the scope is another account and no aggregator is named).
    pub fn new(sdk: &aws_config::SdkConfig, scope: Scope, aggregator: Option<String>) -> ConfigReader {
        let sdk = sdk
            .to_builder()
            .region(aws_config::Region::new(scope.region.clone()))
            .build();
        ConfigReader {
            client: aws_sdk_config::Client::new(&sdk),
            aggregator,
            scope,
        }
    }

    /// The operation names, for counting (`config:<Operation>`).
    pub fn list_operation(&self) -> &'static str {
        if self.aggregator.is_some() {
            "config:ListAggregateDiscoveredResources"
        } else {
            "config:ListDiscoveredResources"
        }
    }

    /// The batch read's operation name, for counting.
    pub fn batch_operation(&self) -> &'static str {
        if self.aggregator.is_some() {
            "config:BatchGetAggregateResourceConfig"
        } else {
            "config:BatchGetResourceConfig"
        }
    }

    /// The full item's operation name, for counting.
    pub fn full_item_operation(&self) -> &'static str {
        if self.aggregator.is_some() {
            "config:GetAggregateResourceConfig"
        } else {
            "config:GetResourceConfigHistory"
        }
    }

    /// One page of the listing of `resource_type`, from `token`.
    pub async fn list(&self, resource_type: &str, token: Option<String>) -> Result<ListedPage, AwsError> {
        let rt = ResourceType::from(resource_type);
        match &self.aggregator {
            None => {
                let out = self
                    .client
                    .list_discovered_resources()
                    .resource_type(rt)
                    .include_deleted_resources(true)
                    .limit(MAX_KEYS as i32)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| classify("Config", "ListDiscoveredResources", e))?;
                Ok(ListedPage {
                    resources: out
                        .resource_identifiers()
                        .iter()
                        .filter_map(|r| {
                            Some(Listed {
                                resource_type: r.resource_type()?.as_str().to_owned(),
                                resource_id: r.resource_id()?.to_owned(),
                                resource_name: r.resource_name().map(str::to_owned),
                                deleted_at: r
                                    .resource_deletion_time()
                                    .map(|t| Timestamp(t.to_millis().unwrap_or(0))),
                            })
                        })
                        .collect(),
                    next_token: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned),
                })
            }
            Some(aggregator) => {
                let filters = ResourceFilters::builder()
                    .account_id(&self.scope.account)
                    .region(&self.scope.region)
                    .build();
                let out = self
                    .client
                    .list_aggregate_discovered_resources()
                    .configuration_aggregator_name(aggregator)
                    .resource_type(rt)
                    .filters(filters)
                    .limit(MAX_KEYS as i32)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| classify("Config", "ListAggregateDiscoveredResources", e))?;
                Ok(ListedPage {
                    resources: out
                        .resource_identifiers()
                        .iter()
                        .map(|r| Listed {
                            resource_type: r.resource_type().as_str().to_owned(),
                            resource_id: r.resource_id().to_owned(),
                            resource_name: r.resource_name().map(str::to_owned),
                            deleted_at: None,
                        })
                        .collect(),
                    next_token: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned),
                })
            }
        }
    }

    /// The current configuration items of `resources` (any number: asked 100 at a time).
    pub async fn items(&self, resources: &[&Listed]) -> Result<ItemsRead, AwsError> {
        let mut read = ItemsRead::default();
        for chunk in resources.chunks(MAX_KEYS) {
            match &self.aggregator {
                None => self.batch(chunk, &mut read).await?,
                Some(aggregator) => self.batch_aggregate(aggregator, chunk, &mut read).await?,
            }
        }
        Ok(read)
    }

    async fn batch(&self, chunk: &[&Listed], read: &mut ItemsRead) -> Result<(), AwsError> {
        let mut pending: Vec<ResourceKey> = chunk
            .iter()
            .map(|l| {
                ResourceKey::builder()
                    .resource_type(ResourceType::from(l.resource_type.as_str()))
                    .resource_id(&l.resource_id)
                    .build()
                    .map_err(|e| invalid("BatchGetResourceConfig", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let wanted: Vec<String> = chunk.iter().map(|l| l.resource_id.clone()).collect();
        let mut got: Vec<String> = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            read.calls += 1;
            let out = self
                .client
                .batch_get_resource_config()
                .set_resource_keys(Some(pending))
                .send()
                .await
                .map_err(|e| classify("Config", "BatchGetResourceConfig", e))?;
            for item in out.base_configuration_items() {
                let change = self.change(BaseItem::from(item))?;
                got.push(change.resource_id.clone());
                read.items.push(change);
            }
            pending = out.unprocessed_resource_keys().to_vec();
            if pending.is_empty() {
                read.absent.extend(wanted.into_iter().filter(|id| !got.contains(id)));
                return Ok(());
            }
            tracing::debug!(unprocessed = pending.len(), attempt, "Retrying unprocessed Config keys");
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::Call {
            service: "Config",
            operation: "BatchGetResourceConfig",
            code: "unprocessed".into(),
            message: format!(
                "{} resource keys left unprocessed after {MAX_ATTEMPTS} attempts",
                pending.len()
            ),
            retry: Retry::Retryable,
        })
    }

    async fn batch_aggregate(&self, aggregator: &str, chunk: &[&Listed], read: &mut ItemsRead) -> Result<(), AwsError> {
        let mut pending: Vec<AggregateResourceIdentifier> = chunk
            .iter()
            .map(|l| {
                AggregateResourceIdentifier::builder()
                    .source_account_id(&self.scope.account)
                    .source_region(&self.scope.region)
                    .resource_id(&l.resource_id)
                    .resource_type(ResourceType::from(l.resource_type.as_str()))
                    .set_resource_name(l.resource_name.clone())
                    .build()
                    .map_err(|e| invalid("BatchGetAggregateResourceConfig", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        for attempt in 0..MAX_ATTEMPTS {
            read.calls += 1;
            let out = self
                .client
                .batch_get_aggregate_resource_config()
                .configuration_aggregator_name(aggregator)
                .set_resource_identifiers(Some(pending))
                .send()
                .await
                .map_err(|e| classify("Config", "BatchGetAggregateResourceConfig", e))?;
            for item in out.base_configuration_items() {
                read.items.push(self.change(BaseItem::from(item))?);
            }
            // An aggregator answers resources it does not hold as unprocessed too: asked
            // again, they come back the same, and are reported absent at the end.
            let unprocessed = out.unprocessed_resource_identifiers().to_vec();
            if unprocessed.is_empty() || attempt + 1 == MAX_ATTEMPTS {
                read.absent
                    .extend(unprocessed.iter().map(|u| u.resource_id().to_owned()));
                return Ok(());
            }
            pending = unprocessed;
            tokio::time::sleep(backoff(attempt)).await;
        }
        Ok(())
    }

    /// One resource's full current item (tags and relationships included), or `None` when
    /// Config holds none.
    pub async fn full_item(&self, change: &ConfigChange) -> Result<Option<ConfigChange>, AwsError> {
        let rt = ResourceType::from(change.resource_type.as_str());
        let item = match &self.aggregator {
            None => {
                let out = self
                    .client
                    .get_resource_config_history()
                    .resource_type(rt)
                    .resource_id(&change.resource_id)
                    .limit(1)
                    .send()
                    .await;
                match out {
                    Ok(out) => out.configuration_items().first().map(BaseItem::from),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_discovered_exception()) =>
                    {
                        None
                    }
                    Err(e) => return Err(classify("Config", "GetResourceConfigHistory", e)),
                }
            }
            Some(aggregator) => {
                let id = AggregateResourceIdentifier::builder()
                    .source_account_id(&change.account)
                    .source_region(&change.region)
                    .resource_id(&change.resource_id)
                    .resource_type(rt)
                    .set_resource_name(change.resource_name.clone())
                    .build()
                    .map_err(|e| invalid("GetAggregateResourceConfig", e.to_string()))?;
                let out = self
                    .client
                    .get_aggregate_resource_config()
                    .configuration_aggregator_name(aggregator)
                    .resource_identifier(id)
                    .send()
                    .await;
                match out {
                    Ok(out) => out.configuration_item().map(BaseItem::from),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_discovered_exception()) =>
                    {
                        None
                    }
                    Err(e) => return Err(classify("Config", "GetAggregateResourceConfig", e)),
                }
            }
        };
        item.map(|i| self.change(i)).transpose()
    }

    /// A base item as core's [`ConfigChange`]: JSON texts decoded, the scope's account and
    /// region where the item leaves them out.
    fn change(&self, item: BaseItem) -> Result<ConfigChange, AwsError> {
        let resource_type = item
            .resource_type
            .ok_or_else(|| invalid("BatchGetResourceConfig", "an item without resourceType".into()))?;
        let resource_id = item.resource_id.ok_or_else(|| {
            invalid(
                "BatchGetResourceConfig",
                format!("a {resource_type} item without resourceId"),
            )
        })?;
        let capture_time = item.capture_time.ok_or_else(|| {
            invalid(
                "BatchGetResourceConfig",
                format!("{resource_type} {resource_id}: no configurationItemCaptureTime"),
            )
        })?;
        let account = item.account.unwrap_or_else(|| self.scope.account.clone());
        let region = item.region.unwrap_or_else(|| self.scope.region.clone());
        let mut json = Map::new();
        json.insert("resourceType".into(), Value::String(resource_type.clone()));
        json.insert("resourceId".into(), Value::String(resource_id.clone()));
        if let Some(name) = &item.resource_name {
            json.insert("resourceName".into(), Value::String(name.clone()));
        }
        if let Some(arn) = &item.arn {
            json.insert("ARN".into(), Value::String(arn.clone()));
        }
        json.insert("awsAccountId".into(), Value::String(account.clone()));
        json.insert("awsRegion".into(), Value::String(region.clone()));
        json.insert(
            "configurationItemCaptureTime".into(),
            Value::String(capture_time.to_string()),
        );
        json.insert("configurationItemStatus".into(), Value::String(item.status.clone()));
        json.insert(
            "configuration".into(),
            item.configuration.as_deref().map_or(Value::Null, decoded),
        );
        let supplementary: Map<String, Value> = item.supplementary.into_iter().map(|(k, v)| (k, decoded(&v))).collect();
        json.insert("supplementaryConfiguration".into(), Value::Object(supplementary));
        if let Some(tags) = item.tags {
            json.insert(
                "tags".into(),
                Value::Object(tags.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
            );
        }
        Ok(ConfigChange {
            message_type: "ReconcileSweep".into(),
            resource_type,
            resource_id,
            resource_name: item.resource_name,
            arn: item.arn,
            account,
            region,
            capture_time,
            status: item.status,
            change_type: None,
            changed_properties: None,
            item: Value::Object(json),
            s3_location: None,
        })
    }
}

/// JSON text decoded, else kept as text.
fn decoded(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The fields of Config's item shapes the sweep reads.
struct BaseItem {
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
    capture_time: Option<Timestamp>,
    status: String,
    configuration: Option<String>,
    supplementary: Vec<(String, String)>,
    tags: Option<Vec<(String, String)>>,
}

fn millis(t: Option<&aws_sdk_config::primitives::DateTime>) -> Option<Timestamp> {
    t.and_then(|t| t.to_millis().ok()).map(Timestamp)
}

impl From<&aws_sdk_config::types::BaseConfigurationItem> for BaseItem {
    fn from(i: &aws_sdk_config::types::BaseConfigurationItem) -> Self {
        BaseItem {
            resource_type: i.resource_type().map(|t| t.as_str().to_owned()),
            resource_id: i.resource_id().map(str::to_owned),
            resource_name: i.resource_name().map(str::to_owned),
            arn: i.arn().map(str::to_owned),
            account: i.account_id().map(str::to_owned),
            region: i.aws_region().map(str::to_owned),
            capture_time: millis(i.configuration_item_capture_time()),
            status: i
                .configuration_item_status()
                .map_or(String::new(), |s| s.as_str().to_owned()),
            configuration: i.configuration().map(str::to_owned),
            supplementary: i
                .supplementary_configuration()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            tags: None,
        }
    }
}

impl From<&aws_sdk_config::types::ConfigurationItem> for BaseItem {
    fn from(i: &aws_sdk_config::types::ConfigurationItem) -> Self {
        BaseItem {
            resource_type: i.resource_type().map(|t| t.as_str().to_owned()),
            resource_id: i.resource_id().map(str::to_owned),
            resource_name: i.resource_name().map(str::to_owned),
            arn: i.arn().map(str::to_owned),
            account: i.account_id().map(str::to_owned),
            region: i.aws_region().map(str::to_owned),
            capture_time: millis(i.configuration_item_capture_time()),
            status: i
                .configuration_item_status()
                .map_or(String::new(), |s| s.as_str().to_owned()),
            configuration: i.configuration().map(str::to_owned),
            supplementary: i
                .supplementary_configuration()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            tags: Some(
                i.tags()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// The SDK configuration for reading a member account: `role_name` there assumed through STS
/// (read only: `infra/spoke.yaml`'s sweep role), in `region`. The own account reads with the
/// function's credentials.
pub async fn read_session(
    base: &aws_config::SdkConfig,
    own_account: &str,
    role_name: Option<&str>,
    scope: &Scope,
) -> Result<aws_config::SdkConfig, AwsError> {
    let mut builder = base.to_builder();
    builder.set_region(Some(aws_config::Region::new(scope.region.clone())));
    if scope.account == own_account || scope.account.is_empty() {
        return Ok(builder.build());
    }
    let Some(role_name) = role_name else {
        return Err(AwsError::Call {
            service: "STS",
            operation: "AssumeRole",
            code: "NotConfigured".into(),
            message: format!(
                "account {} is not this function's and no member read role is configured (DRIFTGUARD_MEMBER_SWEEP_ROLE_NAME, infra/spoke.yaml EnableSweep=true)",
                scope.account
            ),
            retry: Retry::NotRetryable,
        });
    };
    let role = format!("arn:aws:iam::{}:role/{role_name}", scope.account);
    let sts = aws_sdk_sts::Client::new(base);
    let assumed = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("driftguard-reconcile")
        .duration_seconds(900)
        .send()
        .await
        .map_err(|e| classify("STS", "AssumeRole", e).about(&role))?;
    let c = assumed.credentials().ok_or_else(|| AwsError::Corrupt {
        key: "AssumeRole".into(),
        message: format!("{role}: the answer holds no credentials"),
    })?;
    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "driftguard-sweep-role",
    );
    builder.set_credentials_provider(Some(aws_sdk_sts::config::SharedCredentialsProvider::new(creds)));
    Ok(builder.build())
}
