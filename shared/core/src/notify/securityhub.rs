//! DriftGuard findings as AWS Security Hub findings, sans IO: a `Drift Detected` / `Drift
//! Resolved` event from the DriftGuard bus ([`read_event`]) becomes one finding in the AWS
//! Security Finding Format ([`to_asff`]), which the securityhub function imports with
//! `BatchImportFindings` under the account's default product ARN ([`Product`]).
//!
//! What the mapping promises (every field and limit from the ASFF documentation and the API's
//! model; the constants below name them):
//!
//! - **One Security Hub finding per DriftGuard finding.** `Id` is `driftguard/<finding id>`, so
//!   every revision and the resolution update the same record.
//! - **Later transitions win, whatever order events arrive in.** Security Hub ignores an update
//!   whose `UpdatedAt` is older than the record's. `UpdatedAt` ([`updated_at`]) is the latest time
//!   the finding knows (its call, the Config capture that joined it, its resolution) plus one
//!   millisecond per step of its lifecycle (two per revision, one for the resolution), so each
//!   transition is strictly later than the one before it and a late or repeated event changes
//!   nothing. `CreatedAt` and `FirstObservedAt` are the call's time: on the first revision's
//!   import, the one that creates the record, `CreatedAt` equals `UpdatedAt` as ASFF asks.
//! - **Resolution archives.** `Drift Detected` is `RecordState` `ACTIVE` with `Workflow` `NEW`;
//!   `Drift Resolved` is `ARCHIVED` with `Workflow` `RESOLVED`. Security Hub takes `RecordState`
//!   from every import, but `Workflow` only when the import creates the record (afterwards it is
//!   the analysts', changed through `BatchUpdateFindings`): a resolution archives the finding,
//!   and a finding imported already resolved is also marked `RESOLVED`.
//! - **Severity** ([`severity_label`]): minor → `LOW`, major → `MEDIUM`, critical → `HIGH`; the
//!   native value is `Severity.Original`. Drift is a configuration weakness, what the ASFF
//!   guidance rates `LOW`; DriftGuard's critical is an exposure (an open sensitive port, a public
//!   bucket, a wildcard grant, a managed resource deleted) that must be addressed as a priority
//!   (`HIGH`); ASFF keeps `CRITICAL` for findings whose adversary has completed their objective,
//!   which a drift alone does not show. The drift likelihood is `Confidence` (0–100).
//! - **Within ASFF's limits.** Texts are cut on character boundaries with `…` ([`clip`]); product
//!   fields stay under their count, key and value limits, and a finding that changed more
//!   attributes than fit says how many it shows.
//! - **The account.** With the default product ARN, Security Hub accepts a finding only from the
//!   account its `AwsAccountId` names, so `AwsAccountId` is the importing (central) account; the
//!   drifted resource's own account is in its ARN (`Resources[0].Id`) and in the product field
//!   `DriftGuard/ResourceAccount`.

use crate::findings::finding::{Finding, FindingKind, Status, Transition};
use crate::findings::ports::{DriftEvent, DriftEventKind};
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The ASFF schema version every finding is formatted for.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `Title`: 1 to 256 characters.
pub const TITLE_MAX: usize = 256;
/// `Description`: 1 to 1,024 characters.
pub const DESCRIPTION_MAX: usize = 1024;
/// `Remediation.Recommendation.Text`: 1 to 512 characters.
pub const RECOMMENDATION_MAX: usize = 512;
/// `Id` and `GeneratorId`: 1 to 512 characters.
pub const ID_MAX: usize = 512;
/// `ProductFields` holds at most 50 pairs, and Security Hub adds its own (`aws/securityhub/…`)
/// to them: DriftGuard writes at most this many.
pub const PRODUCT_FIELDS_MAX: usize = 40;
/// A `ProductFields` key: up to 128 characters.
pub const PRODUCT_FIELD_KEY_MAX: usize = 128;
/// A `ProductFields` value: up to 2,048 characters.
pub const PRODUCT_FIELD_VALUE_MAX: usize = 2048;
/// `Resources[].Details.Other` values: fewer than 1,024 characters (keys fewer than 128).
pub const OTHER_VALUE_MAX: usize = 1023;
/// `Severity.Original`: 1 to 64 characters.
pub const SEVERITY_ORIGINAL_MAX: usize = 64;
/// `Resources[].Region`: 1 to 16 characters.
pub const REGION_MAX: usize = 16;
/// The drifted attributes shown as product fields (three fields each, after the count of
/// attributes drifted): with the finding's own fields, within [`PRODUCT_FIELDS_MAX`].
pub const CHANGES_SHOWN: usize = 6;
/// The product-field key prefix.
const PREFIX: &str = "DriftGuard";

/// Where findings are imported: the account's default product ARN,
/// `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The ARN.
    pub arn: String,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// The region whose Security Hub receives the findings.
    pub region: String,
    /// The importing account (the DriftGuard central account).
    pub account: String,
}

impl Product {
    /// The default product ARN of an account in a region.
    pub fn default_for(partition: &str, region: &str, account: &str) -> Product {
        Product {
            arn: format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default"),
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    /// Reads a default product ARN; anything else (another product, a malformed ARN) is
    /// refused with the reason.
    pub fn parse(arn: &str) -> Result<Product, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(format!("{arn:?} is not an ARN"));
        };
        if *prefix != "arn" || *service != "securityhub" || partition.is_empty() || region.is_empty() {
            return Err(format!(
                "{arn:?} is not a Security Hub product ARN (arn:<partition>:securityhub:<region>:<account>:product/<account>/default)"
            ));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{arn:?}: the account {account:?} is not a 12-digit account id"));
        }
        if *resource != format!("product/{account}/default") {
            return Err(format!(
                "{arn:?} is not the account's default product (product/{account}/default): DriftGuard imports its findings as the account's own"
            ));
        }
        Ok(Product::default_for(partition, region, account))
    }
}

/// Why an event cannot become a Security Hub finding: retrying the same event cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not an EventBridge event.
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(String),
    /// Not one of DriftGuard's own events.
    #[error("source {0:?} is not driftguard: only DriftGuard's own events become Security Hub findings")]
    Source(String),
    /// Published in another account than the one importing.
    #[error("account {got:?} is not {want}: only the central account's own events become Security Hub findings")]
    Account {
        /// The event's account.
        got: String,
        /// The importing account.
        want: String,
    },
    /// Not `Drift Detected` / `Drift Resolved`.
    #[error("unexpected detail-type {0:?} (expected Drift Detected or Drift Resolved)")]
    DetailType(String),
    /// The detail is not a DriftGuard drift event.
    #[error("{detail_type} detail: {message}")]
    Detail {
        /// The detail-type.
        detail_type: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// Reads an EventBridge event from the DriftGuard bus: DriftGuard's own source, published in
/// `account` (the importing account), `Drift Detected` or `Drift Resolved` with a version-1
/// detail whose key is the one DriftGuard gives the finding's transition. Every refusal names
/// what was wrong.
pub fn read_event(payload: serde_json::Value, account: &str) -> Result<DriftEvent, EventError> {
    let serde_json::Value::Object(mut envelope) = payload else {
        return Err(EventError::NotAnEvent(format!(
            "the payload is {}, not a JSON object",
            kind_of(&payload)
        )));
    };
    let text = |envelope: &serde_json::Map<String, serde_json::Value>, field: &str| {
        envelope
            .get(field)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| EventError::NotAnEvent(format!("no {field:?} string")))
    };
    let source = text(&envelope, "source")?;
    if source != crate::input::decode::OWN_SOURCE {
        return Err(EventError::Source(source));
    }
    let detail_type = text(&envelope, "detail-type")?;
    let kind = match detail_type.as_str() {
        "Drift Detected" => DriftEventKind::Detected,
        "Drift Resolved" => DriftEventKind::Resolved,
        _ => return Err(EventError::DetailType(detail_type)),
    };
    let got = text(&envelope, "account")?;
    if got != account {
        return Err(EventError::Account {
            got,
            want: account.to_owned(),
        });
    }
    let name = kind.detail_type();
    let bad = |message: String| EventError::Detail {
        detail_type: name,
        message,
    };
    let Some(serde_json::Value::Object(mut detail)) = envelope.remove("detail") else {
        return Err(bad("no detail object".into()));
    };
    match detail.get("schema_version").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(v) => return Err(bad(format!("schema_version {v} is not 1"))),
        None => return Err(bad("no schema_version".into())),
    }
    let key = detail
        .get("key")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad("no key string".into()))?;
    let finding: Finding = match detail.remove("finding") {
        Some(f) => serde_json::from_value(f).map_err(|e| bad(format!("finding: {e}")))?,
        None => return Err(bad("no finding".into())),
    };
    if kind == DriftEventKind::Resolved && finding.status != Status::Resolved {
        return Err(bad(format!(
            "finding {} is {}, not resolved",
            finding.id,
            serde_json::to_value(finding.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )));
    }
    let transition = match kind {
        DriftEventKind::Detected => Transition::Detected(Box::new(finding)),
        DriftEventKind::Resolved => Transition::Resolved(Box::new(finding)),
    };
    let event = DriftEvent::from(transition);
    if event.key != key {
        return Err(bad(format!(
            "key {key:?} is not the finding's transition ({:?})",
            event.key
        )));
    }
    Ok(event)
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// An ASFF finding, as `BatchImportFindings` takes it (the fields DriftGuard fills).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    /// [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// `driftguard/<finding id>`: the same for every transition of a finding.
    pub id: String,
    /// [`Product::arn`].
    pub product_arn: String,
    /// `driftguard/<kind>`: the DriftGuard check that found it.
    pub generator_id: String,
    /// The importing account ([`Product::account`]).
    pub aws_account_id: String,
    /// `Software and Configuration Checks/Infrastructure as Code Drift/<kind>`.
    pub types: Vec<String>,
    /// The call's time.
    pub first_observed_at: String,
    /// The latest change observed: the call, or the Config capture that joined it.
    pub last_observed_at: String,
    /// The call's time.
    pub created_at: String,
    /// [`updated_at`].
    pub updated_at: String,
    /// [`severity_label`] and the native severity.
    pub severity: AsffSeverity,
    /// The drift likelihood, 0–100.
    pub confidence: u8,
    /// What happened to which resource, who did it.
    pub title: String,
    /// The finding's summary.
    pub description: String,
    /// The finding's suggested fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<AsffRemediation>,
    /// DriftGuard's own fields ([`PRODUCT_FIELDS_MAX`] at most).
    pub product_fields: BTreeMap<String, String>,
    /// The drifted resource.
    pub resources: Vec<AsffResource>,
    /// `NEW`, or `RESOLVED` for a resolved finding (taken only when the import creates the
    /// record).
    pub workflow: AsffWorkflow,
    /// `ACTIVE`, or `ARCHIVED` once resolved.
    pub record_state: String,
    /// Severity, types and confidence where a finding provider updates them.
    pub finding_provider_fields: AsffProviderFields,
}

/// `Severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// `LOW`, `MEDIUM`, `HIGH`.
    pub label: String,
    /// DriftGuard's severity (`minor`, `major`, `critical`).
    pub original: String,
}

/// `Remediation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRemediation {
    /// `Recommendation`.
    pub recommendation: AsffRecommendation,
}

/// `Remediation.Recommendation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRecommendation {
    /// Up to [`RECOMMENDATION_MAX`] characters.
    pub text: String,
}

/// One of `Resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// ASFF's name for the type ([`resource_type`]), or `Other`.
    #[serde(rename = "Type")]
    pub resource_type: String,
    /// The ARN, else the id the call names.
    pub id: String,
    /// The partition.
    pub partition: String,
    /// The resource's region.
    pub region: String,
    /// The tags IaC declares on it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `Details.Other`: the CloudFormation type, the IaC declaration.
    pub details: AsffDetails,
}

/// `Resources[].Details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffDetails {
    /// Up to 50 pairs, keys under 128 and values under 1,024 characters.
    pub other: BTreeMap<String, String>,
}

/// `Workflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffWorkflow {
    /// `NEW` or `RESOLVED`.
    pub status: String,
}

/// `FindingProviderFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffProviderFields {
    /// The drift likelihood, 0–100.
    pub confidence: u8,
    /// The same as the top-level severity.
    pub severity: AsffSeverity,
    /// The same as the top-level types.
    pub types: Vec<String>,
}

/// ASFF's severity label for DriftGuard's severity (the module documentation says why).
pub fn severity_label(severity: crate::drift::score::Severity) -> &'static str {
    use crate::drift::score::Severity;
    match severity {
        Severity::Minor => "LOW",
        Severity::Major => "MEDIUM",
        Severity::Critical => "HIGH",
    }
}

/// ASFF's resource type for a CloudFormation type, where ASFF has one (the `Resources[].Type`
/// values with a `Details` object in the ASFF model); `Other` for the rest.
pub fn resource_type(cloudformation_type: &str) -> &'static str {
    RESOURCE_TYPES
        .iter()
        .find(|(cfn, _)| *cfn == cloudformation_type)
        .map_or("Other", |(_, asff)| asff)
}

/// CloudFormation type → ASFF resource type, for the types DriftGuard's catalogue names.
pub const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("AWS::ApiGateway::RestApi", "AwsApiGatewayRestApi"),
    ("AWS::AutoScaling::AutoScalingGroup", "AwsAutoScalingAutoScalingGroup"),
    (
        "AWS::AutoScaling::LaunchConfiguration",
        "AwsAutoScalingLaunchConfiguration",
    ),
    ("AWS::CloudFront::Distribution", "AwsCloudFrontDistribution"),
    ("AWS::CloudTrail::Trail", "AwsCloudTrailTrail"),
    ("AWS::CloudWatch::Alarm", "AwsCloudWatchAlarm"),
    ("AWS::CodeBuild::Project", "AwsCodeBuildProject"),
    ("AWS::DynamoDB::Table", "AwsDynamoDbTable"),
    ("AWS::EC2::EIP", "AwsEc2Eip"),
    ("AWS::EC2::Instance", "AwsEc2Instance"),
    ("AWS::EC2::LaunchTemplate", "AwsEc2LaunchTemplate"),
    ("AWS::EC2::NetworkAcl", "AwsEc2NetworkAcl"),
    ("AWS::EC2::NetworkInterface", "AwsEc2NetworkInterface"),
    ("AWS::EC2::RouteTable", "AwsEc2RouteTable"),
    ("AWS::EC2::SecurityGroup", "AwsEc2SecurityGroup"),
    ("AWS::EC2::Subnet", "AwsEc2Subnet"),
    ("AWS::EC2::TransitGateway", "AwsEc2TransitGateway"),
    ("AWS::EC2::VPC", "AwsEc2Vpc"),
    ("AWS::EC2::VPCPeeringConnection", "AwsEc2VpcPeeringConnection"),
    ("AWS::EC2::Volume", "AwsEc2Volume"),
    ("AWS::ECR::Repository", "AwsEcrRepository"),
    ("AWS::ECS::Cluster", "AwsEcsCluster"),
    ("AWS::ECS::Service", "AwsEcsService"),
    ("AWS::ECS::TaskDefinition", "AwsEcsTaskDefinition"),
    ("AWS::EKS::Cluster", "AwsEksCluster"),
    ("AWS::ElasticLoadBalancing::LoadBalancer", "AwsElbLoadBalancer"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "AwsElbv2LoadBalancer"),
    ("AWS::Elasticsearch::Domain", "AwsElasticsearchDomain"),
    ("AWS::GuardDuty::Detector", "AwsGuardDutyDetector"),
    ("AWS::IAM::Group", "AwsIamGroup"),
    ("AWS::IAM::Policy", "AwsIamPolicy"),
    ("AWS::IAM::Role", "AwsIamRole"),
    ("AWS::IAM::User", "AwsIamUser"),
    ("AWS::KMS::Key", "AwsKmsKey"),
    ("AWS::Lambda::Function", "AwsLambdaFunction"),
    ("AWS::Lambda::LayerVersion", "AwsLambdaLayerVersion"),
    ("AWS::OpenSearchService::Domain", "AwsOpenSearchServiceDomain"),
    ("AWS::RDS::DBCluster", "AwsRdsDbCluster"),
    ("AWS::RDS::DBClusterSnapshot", "AwsRdsDbClusterSnapshot"),
    ("AWS::RDS::DBInstance", "AwsRdsDbInstance"),
    ("AWS::RDS::DBSecurityGroup", "AwsRdsDbSecurityGroup"),
    ("AWS::RDS::DBSnapshot", "AwsRdsDbSnapshot"),
    ("AWS::Redshift::Cluster", "AwsRedshiftCluster"),
    ("AWS::Route53::HostedZone", "AwsRoute53HostedZone"),
    ("AWS::S3::Bucket", "AwsS3Bucket"),
    ("AWS::SNS::Topic", "AwsSnsTopic"),
    ("AWS::SQS::Queue", "AwsSqsQueue"),
    ("AWS::SecretsManager::Secret", "AwsSecretsManagerSecret"),
];

/// The type classifier of a finding kind.
fn kind_type(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Drift => "Manual Change",
        FindingKind::Unmanaged => "Unmanaged Resource",
        FindingKind::Missing => "Deleted Resource",
        FindingKind::Access => "Interactive Access",
    }
}

/// The `Types` of a finding: ASFF's `Software and Configuration Checks` namespace (a defined
/// namespace is required; categories and classifiers are recommended, not required), with
/// DriftGuard's category and the finding's kind.
pub fn types(kind: FindingKind) -> Vec<String> {
    vec![format!(
        "Software and Configuration Checks/Infrastructure as Code Drift/{}",
        kind_type(kind)
    )]
}

/// The latest time a finding knows: its call, the Config capture that joined it, its
/// resolution.
fn latest(f: &Finding) -> Timestamp {
    let mut t = f.call.time;
    if let Some(c) = &f.config {
        t = t.max(c.capture_time);
    }
    if let (Status::Resolved, Some(r)) = (f.status, &f.resolution) {
        t = t.max(r.time);
    }
    t
}

/// `UpdatedAt` of a transition: [`latest`] plus its step in the finding's lifecycle, in
/// milliseconds (two per revision after the first, one more once resolved), so every later
/// transition is strictly later, and an event delivered late or twice is ignored by Security
/// Hub rather than undoing a newer state.
pub fn updated_at(f: &Finding) -> Timestamp {
    let resolved = i64::from(f.status == Status::Resolved);
    let step = 2 * i64::from(f.revision.saturating_sub(1)) + resolved;
    Timestamp(latest(f).0.saturating_add(step.min(999)))
}

/// Cuts `s` to at most `max` characters (never inside one), ending with `…` when cut; blank
/// text (ASFF requires a non-blank character) becomes `fallback`.
pub fn clip(s: &str, max: usize, fallback: &str) -> String {
    let s = if s.trim().is_empty() { fallback } else { s };
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn snake<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn title(f: &Finding) -> String {
    let what = match f.kind {
        FindingKind::Drift => "changed outside IaC",
        FindingKind::Unmanaged => "created outside IaC",
        FindingKind::Missing => "deleted outside IaC",
        FindingKind::Access => "accessed interactively",
    };
    let who = f.who().map(|w| format!(" by {w}")).unwrap_or_default();
    clip(
        &format!(
            "{} {} {what}{who} ({})",
            f.resource.resource_type, f.resource.id, f.call.name
        ),
        TITLE_MAX,
        "DriftGuard finding",
    )
}

fn product_fields(f: &Finding) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |key: String, value: String| {
        if out.len() < PRODUCT_FIELDS_MAX && !value.is_empty() {
            let key = clip(&key, PRODUCT_FIELD_KEY_MAX, PREFIX);
            out.insert(key, clip(&value, PRODUCT_FIELD_VALUE_MAX, "-"));
        }
    };
    let field = |name: &str| format!("{PREFIX}/{name}");
    put(field("FindingId"), f.id.clone());
    put(field("Kind"), f.kind.as_str().to_owned());
    put(field("Status"), snake(f.status));
    put(field("Revision"), f.revision.to_string());
    put(field("Severity"), f.severity.as_str().to_owned());
    put(field("Likelihood"), format!("{:.3}", f.likelihood));
    put(field("ResourceAccount"), f.resource.account.clone());
    put(field("ResourceType"), f.resource.resource_type.clone());
    put(field("Actor"), f.who().unwrap_or("unknown").to_owned());
    put(field("ActorKind"), snake(f.actor.kind));
    put(field("Channel"), snake(f.actor.channel));
    if let Some(p) = &f.actor.principal {
        put(field("Principal"), p.clone());
    }
    put(field("Call"), format!("{} {}", f.call.source, f.call.name));
    put(field("CallEventId"), f.call.event_id.clone());
    put(field("CallTime"), f.call.time.to_string());
    if let Some(o) = &f.owner {
        put(field("IacState"), o.state.clone());
        put(field("IacAddress"), o.address.clone());
    }
    if let Some(r) = &f.resolution {
        put(field("ResolvedBy"), r.by.clone());
        put(field("ResolvedAt"), r.time.to_string());
    }
    let drifted: Vec<_> = f.changes.iter().filter(|c| c.drifted).collect();
    put(
        field("Changes"),
        if drifted.len() > CHANGES_SHOWN {
            format!(
                "{} attributes drifted; the first {CHANGES_SHOWN} are shown",
                drifted.len()
            )
        } else {
            format!("{} attributes drifted", drifted.len())
        },
    );
    for (i, c) in drifted.iter().take(CHANGES_SHOWN).enumerate() {
        let n = i + 1;
        put(field(&format!("Change{n}/Attribute")), c.attribute.clone());
        put(field(&format!("Change{n}/Expected")), plain(&c.expected));
        put(field(&format!("Change{n}/Found")), plain(&c.found));
    }
    out
}

fn resource(f: &Finding, product: &Product) -> AsffResource {
    let r = &f.resource;
    let mut other = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            other.insert(key.to_owned(), clip(value, OTHER_VALUE_MAX, "-"));
        }
    };
    put("CloudFormationType", &r.resource_type);
    put("ResourceId", &r.id);
    put("Account", &r.account);
    if let Some(o) = &f.owner {
        put("IacState", &o.state);
        put("IacAddress", &o.address);
        if let Some(s) = &o.stack {
            put("Stack", &s.name);
        }
    }
    let region = if r.region.is_empty() || r.region.chars().count() > REGION_MAX {
        product.region.clone()
    } else {
        r.region.clone()
    };
    AsffResource {
        resource_type: resource_type(&r.resource_type).to_owned(),
        id: r
            .arn
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| clip(&r.id, usize::MAX, "unknown")),
        partition: product.partition.clone(),
        region,
        // AWS tag limits (keys up to 128 characters, values up to 256): IaC declared them on a
        // real resource, so they fit; anything else is left out rather than fail the import.
        tags: f
            .tags
            .iter()
            .filter(|(k, v)| (1..=128).contains(&k.chars().count()) && v.chars().count() <= 256)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        details: AsffDetails { other },
    }
}

/// The Security Hub finding for a drift event (see the module documentation for what each
/// field holds and why).
pub fn to_asff(event: &DriftEvent, product: &Product) -> AsffFinding {
    let f = &event.finding;
    let resolved = event.kind == DriftEventKind::Resolved || f.status == Status::Resolved;
    let severity = AsffSeverity {
        label: severity_label(f.severity).to_owned(),
        original: clip(f.severity.as_str(), SEVERITY_ORIGINAL_MAX, "unknown"),
    };
    let confidence = (f.likelihood.clamp(0.0, 1.0) * 100.0).round() as u8;
    let types = types(f.kind);
    let last_observed = f
        .config
        .as_ref()
        .map_or(f.call.time, |c| f.call.time.max(c.capture_time));
    AsffFinding {
        schema_version: SCHEMA_VERSION.to_owned(),
        id: clip(&format!("driftguard/{}", f.id), ID_MAX, "driftguard"),
        product_arn: product.arn.clone(),
        generator_id: format!("driftguard/{}", f.kind.as_str()),
        aws_account_id: product.account.clone(),
        types: types.clone(),
        first_observed_at: f.call.time.to_string(),
        last_observed_at: last_observed.to_string(),
        created_at: f.call.time.to_string(),
        updated_at: updated_at(f).to_string(),
        severity: severity.clone(),
        confidence,
        title: title(f),
        description: clip(&f.summary, DESCRIPTION_MAX, "A change DriftGuard found outside IaC."),
        remediation: (!f.fix.trim().is_empty()).then(|| AsffRemediation {
            recommendation: AsffRecommendation {
                text: clip(&f.fix, RECOMMENDATION_MAX, "-"),
            },
        }),
        product_fields: product_fields(f),
        resources: vec![resource(f, product)],
        workflow: AsffWorkflow {
            status: if resolved { "RESOLVED" } else { "NEW" }.to_owned(),
        },
        record_state: if resolved { "ARCHIVED" } else { "ACTIVE" }.to_owned(),
        finding_provider_fields: AsffProviderFields {
            confidence,
            severity,
            types,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ACCOUNT: &str = "123456789012";

    fn sample(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/driftguard")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("JSON")
    }

    fn product() -> Product {
        Product::parse(&format!(
            "arn:aws:securityhub:eu-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
        ))
        .expect("default product")
    }

    fn detected() -> DriftEvent {
        read_event(sample("drift-detected.console-sg.json"), ACCOUNT).expect("the sample reads")
    }

    fn resolved() -> DriftEvent {
        read_event(sample("drift-resolved.terraform-apply.json"), ACCOUNT).expect("the sample reads")
    }

    /// Every ASFF rule the mapping relies on, checked on the JSON as sent.
    fn check_limits(v: &Value) {
        let len = |p: &str| v.pointer(p).and_then(Value::as_str).map_or(0, |s| s.chars().count());
        for (p, max) in [
            ("/Title", TITLE_MAX),
            ("/Description", DESCRIPTION_MAX),
            ("/Id", ID_MAX),
            ("/GeneratorId", ID_MAX),
            ("/Severity/Original", SEVERITY_ORIGINAL_MAX),
        ] {
            assert!((1..=max).contains(&len(p)), "{p}: {} characters", len(p));
            let text = v.pointer(p).and_then(Value::as_str).unwrap_or_default();
            assert!(!text.trim().is_empty(), "{p} must hold a non-blank character");
        }
        assert_eq!(len("/AwsAccountId"), 12);
        assert_eq!(v["SchemaVersion"], SCHEMA_VERSION);
        let fields = v["ProductFields"].as_object().expect("ProductFields");
        assert!(fields.len() <= PRODUCT_FIELDS_MAX, "{} product fields", fields.len());
        for (k, value) in fields {
            assert!(k.chars().count() <= PRODUCT_FIELD_KEY_MAX, "{k}");
            let value = value.as_str().expect("string values");
            assert!(value.chars().count() <= PRODUCT_FIELD_VALUE_MAX, "{k}");
        }
        let resources = v["Resources"].as_array().expect("Resources");
        assert!((1..=32).contains(&resources.len()));
        for r in resources {
            for (k, value) in r["Details"]["Other"].as_object().expect("Other") {
                assert!(k.chars().count() < 128 && value.as_str().expect("string").chars().count() < 1024);
            }
            let region = r["Region"].as_str().expect("Region").chars().count();
            assert!((1..=REGION_MAX).contains(&region));
        }
        let types = v["Types"].as_array().expect("Types");
        assert!(!types.is_empty() && types.len() <= 50);
        for t in types {
            let t = t.as_str().expect("a type");
            assert!(
                [
                    "Software and Configuration Checks",
                    "TTPs",
                    "Effects",
                    "Unusual Behaviors",
                    "Sensitive Data Identifications"
                ]
                .iter()
                .any(|ns| t.starts_with(&format!("{ns}/"))),
                "{t}: a defined namespace"
            );
        }
        for p in ["/CreatedAt", "/UpdatedAt", "/FirstObservedAt", "/LastObservedAt"] {
            let t = v.pointer(p).and_then(Value::as_str).unwrap_or_default();
            assert!(Timestamp::parse(t).is_some() && t.ends_with('Z'), "{p}: {t}");
        }
        let confidence = v["Confidence"].as_u64().expect("Confidence");
        assert!(confidence <= 100);
        assert!(["LOW", "MEDIUM", "HIGH", "CRITICAL", "INFORMATIONAL"]
            .contains(&v["Severity"]["Label"].as_str().unwrap_or_default()));
    }

    #[test]
    fn a_detected_drift_is_an_active_new_finding_on_the_resource() {
        let asff = to_asff(&detected(), &product());
        let v = serde_json::to_value(&asff).expect("JSON");
        check_limits(&v);
        assert_eq!(v["Id"], "driftguard/dg-1500731b7ee4b0bc");
        assert_eq!(
            v["ProductArn"],
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
        assert_eq!(v["GeneratorId"], "driftguard/drift");
        assert_eq!(v["AwsAccountId"], ACCOUNT);
        assert_eq!(
            v["Types"],
            json!(["Software and Configuration Checks/Infrastructure as Code Drift/Manual Change"])
        );
        assert_eq!(v["Severity"], json!({"Label": "HIGH", "Original": "critical"}));
        assert_eq!(v["Confidence"], 99);
        assert_eq!(v["FindingProviderFields"]["Severity"], v["Severity"]);
        assert_eq!(v["FindingProviderFields"]["Types"], v["Types"]);
        assert_eq!(v["RecordState"], "ACTIVE");
        assert_eq!(v["Workflow"]["Status"], "NEW");
        assert_eq!(v["CreatedAt"], "2026-11-20T09:02:17Z");
        assert_eq!(
            v["UpdatedAt"], v["CreatedAt"],
            "on creation, CreatedAt and UpdatedAt are the same"
        );
        assert_eq!(v["FirstObservedAt"], v["CreatedAt"]);
        assert_eq!(
            v["Title"],
            "AWS::EC2::SecurityGroup sg-0123456789abcdef0 changed outside IaC by alice@example.com (AuthorizeSecurityGroupIngress)"
        );
        assert!(v["Description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("alice@example.com called"));
        assert!(v["Remediation"]["Recommendation"]["Text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("To restore the declared state"));
        assert_eq!(
            v["Resources"],
            json!([{
                "Type": "AwsEc2SecurityGroup",
                "Id": "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0",
                "Partition": "aws",
                "Region": "eu-west-1",
                "Details": {"Other": {
                    "Account": "123456789012",
                    "CloudFormationType": "AWS::EC2::SecurityGroup",
                    "IacAddress": "module.network.aws_security_group.web",
                    "IacState": "events/terraform/network.tfstate",
                    "ResourceId": "sg-0123456789abcdef0"
                }}
            }])
        );
        let fields = &v["ProductFields"];
        assert_eq!(fields["DriftGuard/Change1/Attribute"], "ingress");
        assert_eq!(fields["DriftGuard/Change1/Expected"], r#"["tcp 443 0.0.0.0/0"]"#);
        assert_eq!(
            fields["DriftGuard/Change1/Found"],
            r#"["tcp 22 0.0.0.0/0","tcp 443 0.0.0.0/0"]"#
        );
        assert_eq!(fields["DriftGuard/Actor"], "alice@example.com");
        assert_eq!(fields["DriftGuard/ActorKind"], "human");
        assert_eq!(fields["DriftGuard/Channel"], "console");
        assert_eq!(fields["DriftGuard/Likelihood"], "0.989");
        assert_eq!(fields["DriftGuard/ResourceAccount"], ACCOUNT);
        assert_eq!(fields["DriftGuard/Changes"], "1 attributes drifted");
    }

    #[test]
    fn a_resolution_archives_the_same_finding_later() {
        let (d, r) = (to_asff(&detected(), &product()), to_asff(&resolved(), &product()));
        check_limits(&serde_json::to_value(&r).expect("JSON"));
        assert_eq!(d.id, r.id, "the same Security Hub finding");
        assert_eq!(d.created_at, r.created_at, "CreatedAt stays");
        assert_eq!(r.record_state, "ARCHIVED");
        assert_eq!(r.workflow.status, "RESOLVED");
        assert_eq!(
            r.updated_at, "2026-11-20T09:40:27.001Z",
            "the resolution's time, one step on"
        );
        assert!(Timestamp::parse(&r.updated_at) > Timestamp::parse(&d.updated_at));
        assert_eq!(r.product_fields["DriftGuard/ResolvedBy"], "Terraform");
        assert_eq!(r.product_fields["DriftGuard/Status"], "resolved");
    }

    #[test]
    fn every_later_transition_is_strictly_later_whatever_the_clock_says() {
        let mut f = detected().finding;
        let first = updated_at(&f);
        // A join at the same instant: revision 2 is still later.
        f.revision = 2;
        let joined = updated_at(&f);
        assert!(joined > first);
        // A resolution stamped with the very time of the call.
        f.status = Status::Resolved;
        f.resolution = Some(crate::findings::finding::Resolution {
            event_id: "e".into(),
            time: f.call.time,
            by: "Terraform".into(),
        });
        let done = updated_at(&f);
        assert!(done > joined, "{done} after {joined}");
        // An already-resolved first revision: created resolved, later than its detection.
        let mut g = detected().finding;
        let detected_at = updated_at(&g);
        g.status = Status::Resolved;
        g.resolution = Some(crate::findings::finding::Resolution {
            event_id: "e".into(),
            time: g.call.time,
            by: "Terraform".into(),
        });
        assert!(updated_at(&g) > detected_at);
    }

    #[test]
    fn severities_map_to_labels() {
        use crate::drift::score::Severity;
        assert_eq!(severity_label(Severity::Minor), "LOW");
        assert_eq!(severity_label(Severity::Major), "MEDIUM");
        assert_eq!(severity_label(Severity::Critical), "HIGH");
    }

    #[test]
    fn long_texts_and_many_changes_stay_within_the_limits() {
        let mut e = detected();
        // Multi-byte characters where a byte cut would split one.
        e.finding.summary = "é".repeat(3000);
        e.finding.fix = "ß".repeat(700);
        e.finding.resource.id = "ü".repeat(400);
        e.finding.actor.human = Some("ø".repeat(300));
        e.finding.changes = (0..20)
            .map(|i| crate::drift::diff::AttributeChange {
                attribute: format!("tags.{}", "k".repeat(200 + i)),
                declared_in: None,
                expected: json!("x".repeat(5000)),
                found: json!(["€".repeat(3000)]),
                drifted: true,
            })
            .collect();
        let v = serde_json::to_value(to_asff(&e, &product())).expect("JSON");
        check_limits(&v);
        let description = v["Description"].as_str().unwrap_or_default();
        assert_eq!(description.chars().count(), DESCRIPTION_MAX);
        assert!(description.ends_with('…'));
        assert_eq!(
            v["ProductFields"]["DriftGuard/Changes"],
            "20 attributes drifted; the first 6 are shown"
        );
        assert_eq!(
            v["ProductFields"]["DriftGuard/Change1/Found"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .count(),
            PRODUCT_FIELD_VALUE_MAX
        );
        // Blank texts are replaced: ASFF wants a non-blank character.
        e.finding.summary = "  ".into();
        let v = serde_json::to_value(to_asff(&e, &product())).expect("JSON");
        assert_eq!(v["Description"], "A change DriftGuard found outside IaC.");
    }

    #[test]
    fn types_without_an_asff_name_are_other() {
        assert_eq!(resource_type("AWS::S3::Bucket"), "AwsS3Bucket");
        assert_eq!(resource_type("AWS::RDS::DBInstance"), "AwsRdsDbInstance");
        assert_eq!(resource_type("AWS::SSM::Parameter"), "Other");
        let mut e = detected();
        e.finding.resource.resource_type = "AWS::SSM::Parameter".into();
        e.finding.resource.arn = None;
        e.finding.resource.id = "/app/flag".into();
        let v = serde_json::to_value(to_asff(&e, &product())).expect("JSON");
        assert_eq!(v["Resources"][0]["Type"], "Other");
        assert_eq!(v["Resources"][0]["Id"], "/app/flag", "the id when there is no ARN");
        assert_eq!(
            v["Resources"][0]["Details"]["Other"]["CloudFormationType"],
            "AWS::SSM::Parameter"
        );
        // Every row names a type ASFF has and a catalogue type.
        for (cfn, asff) in RESOURCE_TYPES {
            assert!(cfn.starts_with("AWS::") && asff.starts_with("Aws"), "{cfn} {asff}");
        }
    }

    #[test]
    fn the_product_is_the_accounts_default() {
        let p = product();
        assert_eq!(
            (p.partition.as_str(), p.region.as_str(), p.account.as_str()),
            ("aws", "eu-west-1", ACCOUNT)
        );
        assert_eq!(p, Product::default_for("aws", "eu-west-1", ACCOUNT));
        for bad in [
            "",
            "arn:aws:securityhub:eu-west-1:123456789012:product/aws/guardduty",
            "arn:aws:securityhub:eu-west-1:12345:product/12345/default",
            "arn:aws:sqs:eu-west-1:123456789012:product/123456789012/default",
            "arn:aws:securityhub:eu-west-1:123456789012:product/210987654321/default",
        ] {
            assert!(Product::parse(bad).is_err(), "{bad:?}");
        }
        let cn = Product::parse("arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default")
            .expect("China");
        assert_eq!(cn.partition, "aws-cn");
    }

    #[test]
    fn malformed_events_are_refused_by_name() {
        let refuse = |v: Value| read_event(v, ACCOUNT).expect_err("refused").to_string();
        assert!(refuse(json!("hello")).contains("not a JSON object"));
        let mut e = sample("drift-detected.console-sg.json");
        e["source"] = json!("aws.ec2");
        assert!(refuse(e).contains("source \"aws.ec2\" is not driftguard"));
        let mut e = sample("drift-detected.console-sg.json");
        e["account"] = json!("444455556666");
        assert!(refuse(e).contains("account \"444455556666\""));
        let mut e = sample("drift-detected.console-sg.json");
        e["detail-type"] = json!("Remediation Requested");
        assert!(refuse(e).contains("unexpected detail-type \"Remediation Requested\""));
        let mut e = sample("drift-detected.console-sg.json");
        e["detail"]["finding"]
            .as_object_mut()
            .expect("finding")
            .remove("resource");
        let message = refuse(e);
        assert!(
            message.contains("Drift Detected detail: finding: missing field `resource`"),
            "{message}"
        );
        let mut e = sample("drift-detected.console-sg.json");
        e["detail"]["schema_version"] = json!(2);
        assert!(refuse(e).contains("schema_version 2 is not 1"));
        let mut e = sample("drift-detected.console-sg.json");
        e["detail"]["key"] = json!("dg-1500731b7ee4b0bc:resolved");
        assert!(refuse(e).contains("is not the finding's transition"));
        let mut e = sample("drift-resolved.terraform-apply.json");
        e["detail"]["finding"]["status"] = json!("open");
        assert!(refuse(e).contains("is open, not resolved"));
        let mut e = sample("drift-detected.console-sg.json");
        e["detail"]["finding"]["severity"] = json!("apocalyptic");
        assert!(refuse(e).contains("unknown variant `apocalyptic`"));
    }

    #[test]
    fn a_revision_is_read_with_its_key() {
        let mut e = sample("drift-detected.console-sg.json");
        e["detail"]["finding"]["revision"] = json!(2);
        e["detail"]["key"] = json!("dg-1500731b7ee4b0bc:detected:r2");
        let event = read_event(e, ACCOUNT).expect("a revision");
        assert_eq!(event.finding.revision, 2);
        let asff = to_asff(&event, &product());
        assert_eq!(asff.updated_at, "2026-11-20T09:02:17.002Z");
        assert_eq!(asff.record_state, "ACTIVE");
    }
}
