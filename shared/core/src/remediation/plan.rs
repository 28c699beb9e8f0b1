//! The revert planner: a finding, the live values an adapter read, and the table of inverse calls
//! give a plan (the exact calls, with their parameters and the IAM actions they need) or a refusal
//! that says why.
//!
//! A revert restores the value IaC declares, not merely the one before the change. It acts only on
//! what the finding changed: for a set-valued attribute (security-group rules, shared accounts,
//! attached policies) the items the change added are taken away and the items it removed are put
//! back; other live items are left alone. Before planning, the live value must still be what the
//! finding found: a value changed again since, or already back to the declared one, is refused.
//!
//! [`REVERTS`] is the one table of what can be reverted: (resource type, attribute) → the inverse,
//! the IAM actions its calls need. [`reads`] says what to read, [`revert`] plans from what was read;
//! the adapters do the reading and the calling.

use crate::drift::diff::normalise_policy;
use crate::findings::finding::{Finding, FindingKind, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Live values as the adapter read them, keyed by the attribute names findings use
/// (`ingress`, `policy`, `tags.Owner`, `access_keys`, ...). Values use the findings' forms:
/// rule texts from [`crate::diff::rule_text`], policy documents as text or JSON, account lists.
pub type Live = Map<String, Value>;

/// An IAM principal that holds policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// A role.
    Role,
    /// A user.
    User,
}

/// An EC2 object that can be shared with other accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shared {
    /// An EBS snapshot (`createVolumePermission`).
    Snapshot,
    /// An AMI (`launchPermission`).
    Image,
}

/// A security-group rule direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

impl Direction {
    /// `ingress` or `egress`, as findings name the attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// How a (resource type, attribute) is put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inverse {
    /// Revoke the rules the change added, authorise the ones it removed.
    SgRules(Direction),
    /// Put the declared public access block (all four settings).
    PublicAccessBlock,
    /// Put the declared bucket policy, or delete it when none is declared.
    BucketPolicy,
    /// Put the declared versioning status.
    BucketVersioning,
    /// Put the declared default encryption.
    BucketEncryption,
    /// Put the declared trust policy.
    TrustPolicy,
    /// Put the declared inline policy, or delete it when none is declared.
    InlinePolicy(Holder),
    /// Detach the managed policies the change attached, attach the ones it detached.
    ManagedPolicies(Holder),
    /// Put declared EC2 tags back, delete the undeclared ones the change set.
    Ec2Tags,
    /// Remove the accounts (or `all`) the change shared with, add back the declared ones it removed.
    Ec2Sharing(Shared),
    /// Remove the statements added by hand to a function's resource policy.
    LambdaPermissions,
    /// Deactivate the access keys created by hand (never delete: deactivating is reversible).
    AccessKeys,
    /// Put a declared key's status back (or deactivate a key no declaration holds).
    AccessKeyStatus,
    /// Not reverted in place: the change needs a stop or a replacement.
    NeedsReapply,
}

/// Which attributes a row covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// Exactly this attribute.
    Exact(&'static str),
    /// Every attribute with this prefix (`tags.`, `inline_policy.`).
    Prefix(&'static str),
}

impl Attr {
    fn matches(self, attribute: &str) -> bool {
        match self {
            Attr::Exact(a) => attribute == a,
            Attr::Prefix(p) => attribute.starts_with(p) && attribute.len() > p.len(),
        }
    }
}

/// One row of [`REVERTS`].
#[derive(Debug, Clone, Copy)]
pub struct RevertRow {
    /// The resource type (`AWS::EC2::SecurityGroup`); a trailing `*` matches a prefix.
    pub resource_type: &'static str,
    /// The attribute.
    pub attribute: Attr,
    /// How it is put back.
    pub inverse: Inverse,
    /// The IAM actions reading and putting back need (granted to the remediation role).
    pub actions: &'static [&'static str],
}

impl RevertRow {
    fn covers(&self, resource_type: &str) -> bool {
        match self.resource_type.strip_suffix('*') {
            Some(prefix) => resource_type.starts_with(prefix),
            None => resource_type == self.resource_type,
        }
    }

    fn matches(&self, resource_type: &str, attribute: &str) -> bool {
        self.covers(resource_type) && self.attribute.matches(attribute)
    }

    /// Changes with the same key are put back by one call: the four public-access-block settings
    /// are one `PutPublicAccessBlock`, the algorithm and key one `PutBucketEncryption`.
    fn key(&self) -> &'static str {
        match (self.inverse, self.attribute) {
            (Inverse::PublicAccessBlock, _) => "public_access_block",
            (Inverse::BucketEncryption, _) => "server_side_encryption",
            (_, Attr::Exact(a) | Attr::Prefix(a)) => a,
        }
    }
}

const fn row(
    resource_type: &'static str,
    attribute: Attr,
    inverse: Inverse,
    actions: &'static [&'static str],
) -> RevertRow {
    RevertRow {
        resource_type,
        attribute,
        inverse,
        actions,
    }
}

use Attr::{Exact, Prefix};

const PAB: &[&str] = &["s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"];
const ENCRYPTION: &[&str] = &["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"];
const VERSIONING: &[&str] = &["s3:GetBucketVersioning", "s3:PutBucketVersioning"];
const EC2_TAGS: &[&str] = &["ec2:DescribeTags", "ec2:CreateTags", "ec2:DeleteTags"];

/// What DriftGuard can revert, and the IAM actions each needs. A (type, attribute) not here is
/// refused with "not supported"; [`Inverse::NeedsReapply`] rows are refused with "use reapply".
pub static REVERTS: &[RevertRow] = &[
    row(
        "AWS::EC2::SecurityGroup",
        Exact("ingress"),
        Inverse::SgRules(Direction::Ingress),
        &[
            "ec2:DescribeSecurityGroups",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
        ],
    ),
    row(
        "AWS::EC2::SecurityGroup",
        Exact("egress"),
        Inverse::SgRules(Direction::Egress),
        &[
            "ec2:DescribeSecurityGroups",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupEgress",
        ],
    ),
    row(
        "AWS::S3::Bucket",
        Exact("block_public_acls"),
        Inverse::PublicAccessBlock,
        PAB,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("ignore_public_acls"),
        Inverse::PublicAccessBlock,
        PAB,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("block_public_policy"),
        Inverse::PublicAccessBlock,
        PAB,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("restrict_public_buckets"),
        Inverse::PublicAccessBlock,
        PAB,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("policy"),
        Inverse::BucketPolicy,
        &["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
    ),
    row(
        "AWS::S3::Bucket",
        Exact("versioning_configuration.0.status"),
        Inverse::BucketVersioning,
        VERSIONING,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("rule.0.apply_server_side_encryption_by_default.0.sse_algorithm"),
        Inverse::BucketEncryption,
        ENCRYPTION,
    ),
    row(
        "AWS::S3::Bucket",
        Exact("rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id"),
        Inverse::BucketEncryption,
        ENCRYPTION,
    ),
    row(
        "AWS::IAM::Role",
        Exact("assume_role_policy"),
        Inverse::TrustPolicy,
        &["iam:GetRole", "iam:UpdateAssumeRolePolicy"],
    ),
    row(
        "AWS::IAM::Role",
        Prefix("inline_policy."),
        Inverse::InlinePolicy(Holder::Role),
        &["iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
    ),
    row(
        "AWS::IAM::User",
        Prefix("inline_policy."),
        Inverse::InlinePolicy(Holder::User),
        &["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
    ),
    row(
        "AWS::IAM::Role",
        Exact("managed_policy_arns"),
        Inverse::ManagedPolicies(Holder::Role),
        &[
            "iam:ListAttachedRolePolicies",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
        ],
    ),
    row(
        "AWS::IAM::User",
        Exact("managed_policy_arns"),
        Inverse::ManagedPolicies(Holder::User),
        &[
            "iam:ListAttachedUserPolicies",
            "iam:AttachUserPolicy",
            "iam:DetachUserPolicy",
        ],
    ),
    row("AWS::EC2::*", Prefix("tags."), Inverse::Ec2Tags, EC2_TAGS),
    row(
        "AWS::EC2::Snapshot",
        Exact("create_volume_permission"),
        Inverse::Ec2Sharing(Shared::Snapshot),
        &["ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute"],
    ),
    row(
        "AWS::EC2::Image",
        Exact("launch_permission"),
        Inverse::Ec2Sharing(Shared::Image),
        &["ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute"],
    ),
    row(
        "AWS::Lambda::Function",
        Exact("permissions"),
        Inverse::LambdaPermissions,
        &["lambda:GetPolicy", "lambda:RemovePermission"],
    ),
    row(
        "AWS::IAM::User",
        Exact("access_keys"),
        Inverse::AccessKeys,
        &["iam:ListAccessKeys", "iam:UpdateAccessKey"],
    ),
    row(
        "AWS::IAM::User",
        Prefix("access_keys."),
        Inverse::AccessKeyStatus,
        &["iam:ListAccessKeys", "iam:UpdateAccessKey"],
    ),
    row("AWS::EC2::Instance", Exact("instance_type"), Inverse::NeedsReapply, &[]),
    row(
        "AWS::RDS::DBInstance",
        Exact("engine_version"),
        Inverse::NeedsReapply,
        &[],
    ),
    row(
        "AWS::RDS::DBInstance",
        Exact("instance_class"),
        Inverse::NeedsReapply,
        &[],
    ),
    row(
        "AWS::RDS::DBCluster",
        Exact("engine_version"),
        Inverse::NeedsReapply,
        &[],
    ),
];

/// The row that reverts `attribute` on a resource of `resource_type`.
pub fn row_for(resource_type: &str, attribute: &str) -> Option<&'static RevertRow> {
    REVERTS.iter().find(|r| r.matches(resource_type, attribute))
}

/// Every IAM action the rows of these resource types need (`*` for all rows), sorted: what the
/// remediation role is granted.
pub fn actions_for(resource_types: &[&str]) -> Vec<&'static str> {
    let all = resource_types.contains(&"*");
    let set: BTreeSet<&'static str> = REVERTS
        .iter()
        .filter(|r| all || resource_types.iter().any(|t| r.covers(t)))
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    set.into_iter().collect()
}

/// A live read an adapter makes before planning. Each answers the attributes it names in the
/// [`Live`] map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "read", rename_all = "snake_case")]
pub enum Read {
    /// `ingress` / `egress` as rule texts (DescribeSecurityGroups).
    SecurityGroupRules {
        /// The group id.
        group_id: String,
    },
    /// The four public-access-block settings (absent block: all false).
    PublicAccessBlock {
        /// The bucket.
        bucket: String,
    },
    /// `policy` (the text, `null` when the bucket has none).
    BucketPolicy {
        /// The bucket.
        bucket: String,
    },
    /// `versioning_configuration.0.status` (`null` when never set).
    BucketVersioning {
        /// The bucket.
        bucket: String,
    },
    /// The default encryption's algorithm and key.
    BucketEncryption {
        /// The bucket.
        bucket: String,
    },
    /// `assume_role_policy`.
    TrustPolicy {
        /// The role name.
        role: String,
    },
    /// `inline_policy.<name>` (`null` when absent).
    InlinePolicy {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
        /// The policy name.
        name: String,
    },
    /// `managed_policy_arns`.
    ManagedPolicies {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
    },
    /// Every `tags.<key>` of an EC2 resource.
    Ec2Tags {
        /// The resource id.
        resource: String,
    },
    /// `create_volume_permission` / `launch_permission`: accounts (and `all`) shared with.
    Ec2Sharing {
        /// Snapshot or image.
        what: Shared,
        /// Its id.
        id: String,
    },
    /// `permissions` as `<statement id>: <principal>`.
    LambdaPermissions {
        /// The function name or ARN.
        function: String,
    },
    /// `access_keys` (the ids of the user's active keys) and every `access_keys.<id>.status`.
    AccessKeys {
        /// The user name.
        user: String,
    },
}

/// One call a plan makes. Serialised in the audit trail and the dry-run plan exactly as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum Call {
    /// `ec2:RevokeSecurityGroupIngress` / `Egress`.
    RevokeSecurityGroupRules {
        /// The group.
        group_id: String,
        /// Inbound or outbound.
        direction: Direction,
        /// The rules, as rule texts.
        rules: Vec<SgRule>,
    },
    /// `ec2:AuthorizeSecurityGroupIngress` / `Egress`.
    AuthorizeSecurityGroupRules {
        /// The group.
        group_id: String,
        /// Inbound or outbound.
        direction: Direction,
        /// The rules.
        rules: Vec<SgRule>,
    },
    /// `s3:PutBucketPublicAccessBlock`.
    PutPublicAccessBlock {
        /// The bucket.
        bucket: String,
        /// `BlockPublicAcls`.
        block_public_acls: bool,
        /// `IgnorePublicAcls`.
        ignore_public_acls: bool,
        /// `BlockPublicPolicy`.
        block_public_policy: bool,
        /// `RestrictPublicBuckets`.
        restrict_public_buckets: bool,
    },
    /// `s3:PutBucketPolicy`.
    PutBucketPolicy {
        /// The bucket.
        bucket: String,
        /// The declared policy document.
        policy: String,
    },
    /// `s3:DeleteBucketPolicy`.
    DeleteBucketPolicy {
        /// The bucket.
        bucket: String,
    },
    /// `s3:PutBucketVersioning`.
    PutBucketVersioning {
        /// The bucket.
        bucket: String,
        /// `Enabled` or `Suspended`.
        status: String,
    },
    /// `s3:PutBucketEncryption`.
    PutBucketEncryption {
        /// The bucket.
        bucket: String,
        /// `AES256`, `aws:kms`, `aws:kms:dsse`.
        sse_algorithm: String,
        /// The KMS key, for `aws:kms`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_master_key_id: Option<String>,
    },
    /// `iam:UpdateAssumeRolePolicy`.
    UpdateAssumeRolePolicy {
        /// The role name.
        role: String,
        /// The declared trust policy.
        policy: String,
    },
    /// `iam:PutRolePolicy` / `iam:PutUserPolicy`.
    PutInlinePolicy {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
        /// The policy name.
        name: String,
        /// The declared document.
        policy: String,
    },
    /// `iam:DeleteRolePolicy` / `iam:DeleteUserPolicy`.
    DeleteInlinePolicy {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
        /// The policy name.
        name: String,
    },
    /// `iam:AttachRolePolicy` / `iam:AttachUserPolicy`.
    AttachPolicy {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
        /// The managed policy.
        policy_arn: String,
    },
    /// `iam:DetachRolePolicy` / `iam:DetachUserPolicy`.
    DetachPolicy {
        /// Role or user.
        holder: Holder,
        /// Its name.
        principal: String,
        /// The managed policy.
        policy_arn: String,
    },
    /// `ec2:CreateTags`.
    CreateTags {
        /// The resource id.
        resource: String,
        /// Key → value.
        tags: BTreeMap<String, String>,
    },
    /// `ec2:DeleteTags`.
    DeleteTags {
        /// The resource id.
        resource: String,
        /// The keys.
        keys: Vec<String>,
    },
    /// `ec2:ModifySnapshotAttribute` / `ec2:ModifyImageAttribute`.
    ModifySharing {
        /// Snapshot or image.
        what: Shared,
        /// Its id.
        id: String,
        /// Accounts (or `all`) to stop sharing with.
        remove: Vec<String>,
        /// Accounts (or `all`) to share with again.
        add: Vec<String>,
    },
    /// `lambda:RemovePermission`.
    RemovePermission {
        /// The function.
        function: String,
        /// The statement.
        statement_id: String,
    },
    /// `iam:UpdateAccessKey`.
    UpdateAccessKey {
        /// The user.
        user: String,
        /// The key id (not a secret).
        access_key_id: String,
        /// `Active` or `Inactive`.
        status: String,
    },
}

impl Call {
    /// The IAM action the call needs (`ec2:RevokeSecurityGroupIngress`).
    pub fn iam_action(&self) -> &'static str {
        use Direction::*;
        use Holder::*;
        match self {
            Call::RevokeSecurityGroupRules { direction: Ingress, .. } => "ec2:RevokeSecurityGroupIngress",
            Call::RevokeSecurityGroupRules { direction: Egress, .. } => "ec2:RevokeSecurityGroupEgress",
            Call::AuthorizeSecurityGroupRules { direction: Ingress, .. } => "ec2:AuthorizeSecurityGroupIngress",
            Call::AuthorizeSecurityGroupRules { direction: Egress, .. } => "ec2:AuthorizeSecurityGroupEgress",
            Call::PutPublicAccessBlock { .. } => "s3:PutBucketPublicAccessBlock",
            Call::PutBucketPolicy { .. } => "s3:PutBucketPolicy",
            Call::DeleteBucketPolicy { .. } => "s3:DeleteBucketPolicy",
            Call::PutBucketVersioning { .. } => "s3:PutBucketVersioning",
            Call::PutBucketEncryption { .. } => "s3:PutEncryptionConfiguration",
            Call::UpdateAssumeRolePolicy { .. } => "iam:UpdateAssumeRolePolicy",
            Call::PutInlinePolicy { holder: Role, .. } => "iam:PutRolePolicy",
            Call::PutInlinePolicy { holder: User, .. } => "iam:PutUserPolicy",
            Call::DeleteInlinePolicy { holder: Role, .. } => "iam:DeleteRolePolicy",
            Call::DeleteInlinePolicy { holder: User, .. } => "iam:DeleteUserPolicy",
            Call::AttachPolicy { holder: Role, .. } => "iam:AttachRolePolicy",
            Call::AttachPolicy { holder: User, .. } => "iam:AttachUserPolicy",
            Call::DetachPolicy { holder: Role, .. } => "iam:DetachRolePolicy",
            Call::DetachPolicy { holder: User, .. } => "iam:DetachUserPolicy",
            Call::CreateTags { .. } => "ec2:CreateTags",
            Call::DeleteTags { .. } => "ec2:DeleteTags",
            Call::ModifySharing {
                what: Shared::Snapshot, ..
            } => "ec2:ModifySnapshotAttribute",
            Call::ModifySharing {
                what: Shared::Image, ..
            } => "ec2:ModifyImageAttribute",
            Call::RemovePermission { .. } => "lambda:RemovePermission",
            Call::UpdateAccessKey { .. } => "iam:UpdateAccessKey",
        }
    }
}

/// A security-group rule, parsed from its text (`tcp 22 0.0.0.0/0`, `all * sg-0abc`,
/// `tcp 1024-2048 ::/0`, `icmp 8--1 10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SgRule {
    /// `tcp`, `udp`, `icmp`, `-1` (all) or a protocol number.
    pub protocol: String,
    /// First port (ICMP type); absent for all traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i64>,
    /// Last port (ICMP code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i64>,
    /// Who: an IPv4 or IPv6 CIDR, a security group or a prefix list.
    pub peer: Peer,
}

/// The other side of a security-group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// `CidrIp`.
    Ipv4(String),
    /// `CidrIpv6`.
    Ipv6(String),
    /// `UserIdGroupPairs[].GroupId`.
    Group(String),
    /// `PrefixListIds[].PrefixListId`.
    PrefixList(String),
}

impl SgRule {
    /// Parses a rule text as findings write it.
    pub fn parse(text: &str) -> Option<SgRule> {
        let mut parts = text.split(' ');
        let (proto, ports, peer) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || peer.is_empty() {
            return None;
        }
        let (from_port, to_port) = match ports {
            "*" => (None, None),
            p => {
                // A leading '-' belongs to the first number (ICMP -1).
                let split = p.char_indices().skip(1).find(|(_, c)| *c == '-').map(|(i, _)| i);
                let (a, b) = match split {
                    Some(i) => (&p[..i], &p[i + 1..]),
                    None => (p, p),
                };
                (Some(a.parse().ok()?), Some(b.parse().ok()?))
            }
        };
        let protocol = if proto == "all" { "-1" } else { proto }.to_owned();
        let peer = if peer.starts_with("sg-") {
            Peer::Group(peer.to_owned())
        } else if peer.starts_with("pl-") {
            Peer::PrefixList(peer.to_owned())
        } else if peer.contains(':') {
            Peer::Ipv6(peer.to_owned())
        } else if peer.contains('.') {
            Peer::Ipv4(peer.to_owned())
        } else {
            return None;
        };
        Some(SgRule {
            protocol,
            from_port,
            to_port,
            peer,
        })
    }
}

/// Why a revert was not planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// The finding is resolved already.
    NotOpen,
    /// Only drift findings (a managed resource changed by hand) are reverted.
    NotDrift {
        /// The finding's kind.
        kind: FindingKind,
    },
    /// No attribute of the finding was compared, so there is no declared value to put back.
    NothingCompared,
    /// No row of [`REVERTS`] covers this attribute.
    Unsupported {
        /// The resource type.
        resource_type: String,
        /// The attribute.
        attribute: String,
    },
    /// The change needs a stop or a replacement: re-apply IaC instead.
    NeedsReapply {
        /// The attribute.
        attribute: String,
    },
    /// IaC declares no value the revert could put back.
    NotDeclared {
        /// The attribute.
        attribute: String,
    },
    /// The live value is no longer what the finding found: it changed again since.
    Stale {
        /// The attribute.
        attribute: String,
        /// What the finding found.
        found: Value,
        /// What is live now.
        live: Value,
    },
    /// The live value already equals the declared one.
    AlreadyFixed,
    /// A value the revert needs is not in the finding (a rule or an id it cannot parse).
    Unreadable {
        /// The attribute.
        attribute: String,
        /// What could not be read.
        value: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotOpen => write!(f, "the finding is already resolved: nothing to revert"),
            Refusal::NotDrift { kind } => write!(
                f,
                "only drift findings are reverted; this one is {}: re-apply IaC or accept it",
                kind.as_str()
            ),
            Refusal::NothingCompared => write!(
                f,
                "DriftGuard did not compare any attribute of this change with IaC, so it has no declared value to put back: use reapply"
            ),
            Refusal::Unsupported {
                resource_type,
                attribute,
            } => write!(
                f,
                "reverting {attribute} on {resource_type} is not supported: use reapply"
            ),
            Refusal::NeedsReapply { attribute } => write!(
                f,
                "{attribute} cannot be changed in place (it needs a stop or a replacement): use reapply"
            ),
            Refusal::NotDeclared { attribute } => {
                write!(f, "IaC declares no value for {attribute} to put back: use reapply or accept")
            }
            Refusal::Stale {
                attribute,
                found,
                live,
            } => write!(
                f,
                "{attribute} changed again since the finding: it found {found}, it is now {live}; nothing was done: look at the newer change, or use reapply to restore what IaC declares"
            ),
            Refusal::AlreadyFixed => write!(f, "the resource already has the declared values: nothing to revert"),
            Refusal::Unreadable { attribute, value } => {
                write!(
                    f,
                    "cannot revert {attribute}: {value:?} is not a value DriftGuard can put back: use reapply"
                )
            }
        }
    }
}

/// A planned revert: the calls to make, what was live before and what will be after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The finding.
    pub finding_id: String,
    /// The account the calls go to.
    pub account: String,
    /// The region.
    pub region: String,
    /// The calls, in order.
    pub calls: Vec<Call>,
    /// Live values of the attributes the plan changes, as read.
    pub before: BTreeMap<String, Value>,
    /// The values they will have.
    pub after: BTreeMap<String, Value>,
}

impl Plan {
    /// The IAM actions the calls need, sorted and unique.
    pub fn actions(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self.calls.iter().map(Call::iam_action).collect();
        set.into_iter().collect()
    }
}

/// The drifted changes of a finding with their rows, or why it cannot be reverted.
fn rows_of(finding: &Finding) -> Result<Vec<(&'static RevertRow, &crate::diff::AttributeChange)>, Refusal> {
    if finding.status != Status::Open {
        return Err(Refusal::NotOpen);
    }
    if finding.kind != FindingKind::Drift {
        return Err(Refusal::NotDrift { kind: finding.kind });
    }
    let drifted: Vec<_> = finding.changes.iter().filter(|c| c.drifted).collect();
    if drifted.is_empty() {
        return Err(Refusal::NothingCompared);
    }
    drifted
        .into_iter()
        .map(|c| {
            let row = row_for(&finding.resource.resource_type, &c.attribute).ok_or_else(|| Refusal::Unsupported {
                resource_type: finding.resource.resource_type.clone(),
                attribute: c.attribute.clone(),
            })?;
            if row.inverse == Inverse::NeedsReapply {
                return Err(Refusal::NeedsReapply {
                    attribute: c.attribute.clone(),
                });
            }
            Ok((row, c))
        })
        .collect()
}

/// The name a resource id gives an IAM principal or a bucket: the last path segment of an ARN.
fn name_of(id: &str) -> String {
    if id.starts_with("arn:") {
        let resource = id.splitn(6, ':').nth(5).unwrap_or(id);
        resource.rsplit('/').next().unwrap_or(resource).to_owned()
    } else {
        id.to_owned()
    }
}

/// The live values a finding implies: each compared attribute as the finding found it. A dry run
/// that may not read the resource plans against these, and says so.
pub fn as_found(finding: &Finding) -> Live {
    finding
        .changes
        .iter()
        .map(|c| (c.attribute.clone(), c.found.clone()))
        .collect()
}

/// What to read before planning a revert of this finding, or why it cannot be reverted at all.
pub fn reads(finding: &Finding) -> Result<Vec<Read>, Refusal> {
    let id = name_of(&finding.resource.id);
    let mut out: Vec<Read> = Vec::new();
    for (row, change) in rows_of(finding)? {
        let read = match row.inverse {
            Inverse::SgRules(_) => Read::SecurityGroupRules { group_id: id.clone() },
            Inverse::PublicAccessBlock => Read::PublicAccessBlock { bucket: id.clone() },
            Inverse::BucketPolicy => Read::BucketPolicy { bucket: id.clone() },
            Inverse::BucketVersioning => Read::BucketVersioning { bucket: id.clone() },
            Inverse::BucketEncryption => Read::BucketEncryption { bucket: id.clone() },
            Inverse::TrustPolicy => Read::TrustPolicy { role: id.clone() },
            Inverse::InlinePolicy(holder) => Read::InlinePolicy {
                holder,
                principal: id.clone(),
                name: suffix(change, row).to_owned(),
            },
            Inverse::ManagedPolicies(holder) => Read::ManagedPolicies {
                holder,
                principal: id.clone(),
            },
            Inverse::Ec2Tags => Read::Ec2Tags { resource: id.clone() },
            Inverse::Ec2Sharing(what) => Read::Ec2Sharing { what, id: id.clone() },
            Inverse::LambdaPermissions => Read::LambdaPermissions {
                function: finding.resource.id.clone(),
            },
            Inverse::AccessKeys | Inverse::AccessKeyStatus => Read::AccessKeys { user: id.clone() },
            Inverse::NeedsReapply => continue,
        };
        if !out.contains(&read) {
            out.push(read);
        }
    }
    Ok(out)
}

/// The part of an attribute after a prefix row's prefix (`inline_policy.<name>` → `<name>`).
fn suffix<'c>(change: &'c crate::diff::AttributeChange, row: &RevertRow) -> &'c str {
    match row.attribute {
        Attr::Prefix(p) => change.attribute.strip_prefix(p).unwrap_or(&change.attribute),
        Attr::Exact(_) => &change.attribute,
    }
}

/// Where a live value stands against the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Still what the finding found: revert it.
    AsFound,
    /// Back to the declared value.
    Fixed,
    /// Something else.
    Changed,
}

fn same(a: &Value, b: &Value, policy: bool) -> bool {
    if policy {
        normalise_policy(a) == normalise_policy(b)
    } else {
        a == b || (a.is_null() && b.as_str() == Some("")) || (b.is_null() && a.as_str() == Some(""))
    }
}

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => BTreeSet::new(),
    }
}

/// What a set-valued change added and removed.
fn delta(change: &crate::diff::AttributeChange) -> (BTreeSet<String>, BTreeSet<String>) {
    let (expected, found) = (strings(&change.expected), strings(&change.found));
    (
        found.difference(&expected).cloned().collect(),
        expected.difference(&found).cloned().collect(),
    )
}

/// The key of a set item a revert compares by (a Lambda statement by its id).
fn item_key(inverse: Inverse, item: &str) -> &str {
    match inverse {
        Inverse::LambdaPermissions => item.split(": ").next().unwrap_or(item),
        _ => item,
    }
}

fn set_standing(inverse: Inverse, added: &BTreeSet<String>, removed: &BTreeSet<String>, live: &Value) -> Standing {
    let live: BTreeSet<&str> = match live {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| item_key(inverse, s))
            .collect(),
        _ => BTreeSet::new(),
    };
    let has = |x: &String| live.contains(item_key(inverse, x));
    if added.iter().all(has) && !removed.iter().any(has) {
        Standing::AsFound
    } else if !added.iter().any(has) && removed.iter().all(has) {
        Standing::Fixed
    } else {
        Standing::Changed
    }
}

fn is_set(inverse: Inverse) -> bool {
    matches!(
        inverse,
        Inverse::SgRules(_)
            | Inverse::ManagedPolicies(_)
            | Inverse::Ec2Sharing(_)
            | Inverse::LambdaPermissions
            | Inverse::AccessKeys
    )
}

fn is_policy(inverse: Inverse) -> bool {
    matches!(
        inverse,
        Inverse::BucketPolicy | Inverse::TrustPolicy | Inverse::InlinePolicy(_)
    )
}

/// Plans the revert of a finding from the live values read for it ([`reads`]).
pub fn revert(finding: &Finding, live: &Live) -> Result<Plan, Refusal> {
    let rows = rows_of(finding)?;
    let id = name_of(&finding.resource.id);
    let mut plan = Plan {
        finding_id: finding.id.clone(),
        account: finding.resource.account.clone(),
        region: finding.resource.region.clone(),
        calls: Vec::new(),
        before: BTreeMap::new(),
        after: BTreeMap::new(),
    };
    // First: every attribute must still be as found, or already fixed.
    let mut to_fix = Vec::new();
    for (row, change) in &rows {
        let now = live.get(&change.attribute).cloned().unwrap_or(Value::Null);
        let standing = if is_set(row.inverse) {
            let (added, removed) = delta(change);
            set_standing(row.inverse, &added, &removed, &now)
        } else if row.inverse == Inverse::AccessKeyStatus && change.expected.as_str() == Some("absent") {
            // A key no declaration holds: deactivated (or gone) counts as fixed.
            match now.as_str() {
                Some("Inactive") | Some("absent") | None => Standing::Fixed,
                _ if same(&now, &change.found, false) => Standing::AsFound,
                _ => Standing::Changed,
            }
        } else {
            let policy = is_policy(row.inverse);
            if same(&now, &change.found, policy) {
                Standing::AsFound
            } else if same(&now, &change.expected, policy) {
                Standing::Fixed
            } else {
                Standing::Changed
            }
        };
        match standing {
            Standing::Changed => {
                return Err(Refusal::Stale {
                    attribute: change.attribute.clone(),
                    found: change.found.clone(),
                    live: now,
                })
            }
            Standing::Fixed => {}
            Standing::AsFound => {
                plan.before.insert(change.attribute.clone(), now);
                to_fix.push((*row, *change));
            }
        }
    }
    if to_fix.is_empty() {
        return Err(Refusal::AlreadyFixed);
    }
    // Then the calls, one group per row (the public access block's four settings are one call).
    let mut done: BTreeSet<(&'static str, &'static str)> = BTreeSet::new();
    for (row, change) in &to_fix {
        plan.after
            .insert(change.attribute.clone(), after_value(row.inverse, change, live));
        let group = (row.resource_type, row.key());
        if matches!(row.inverse, Inverse::PublicAccessBlock | Inverse::BucketEncryption) && !done.insert(group) {
            continue;
        }
        plan.calls.extend(inverse_calls(row, change, &id, finding, live)?);
    }
    Ok(plan)
}

/// Whether values read back after the calls are the plan's `after` (policies compared as
/// documents, lists as sets).
pub fn matches_after(plan: &Plan, read_back: &BTreeMap<String, Value>) -> bool {
    plan.after.iter().all(|(attribute, want)| {
        let got = read_back.get(attribute).unwrap_or(&Value::Null);
        match (want, got) {
            (Value::Array(_), _) => strings(want) == strings(got),
            _ if attribute == "policy"
                || attribute == "assume_role_policy"
                || attribute.starts_with("inline_policy.") =>
            {
                same(got, want, true)
            }
            _ => same(got, want, false),
        }
    })
}

/// The value an attribute has once the plan ran.
fn after_value(inverse: Inverse, change: &crate::diff::AttributeChange, live: &Live) -> Value {
    if !is_set(inverse) {
        return match inverse {
            Inverse::AccessKeyStatus if change.expected.as_str() == Some("absent") => Value::from("Inactive"),
            _ => change.expected.clone(),
        };
    }
    let (added, removed) = delta(change);
    let mut now = strings(live.get(&change.attribute).unwrap_or(&Value::Null));
    now.retain(|x| !added.iter().any(|a| item_key(inverse, a) == item_key(inverse, x)));
    now.extend(removed);
    Value::Array(now.into_iter().map(Value::from).collect())
}

fn declared_text(change: &crate::diff::AttributeChange) -> Result<String, Refusal> {
    match &change.expected {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Null => Err(Refusal::NotDeclared {
            attribute: change.attribute.clone(),
        }),
        other => Ok(other.to_string()),
    }
}

fn declared_bool(finding: &Finding, attribute: &str, live: &Live) -> Result<bool, Refusal> {
    let change = finding.changes.iter().find(|c| c.attribute == attribute);
    let value = match change {
        Some(c) => c.expected.clone(),
        // A setting the change did not touch keeps its live value.
        None => live.get(attribute).cloned().unwrap_or(Value::Bool(false)),
    };
    match value {
        Value::Bool(b) => Ok(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
            Ok(s.eq_ignore_ascii_case("true"))
        }
        Value::Null => Err(Refusal::NotDeclared {
            attribute: attribute.to_owned(),
        }),
        other => Err(Refusal::Unreadable {
            attribute: attribute.to_owned(),
            value: other.to_string(),
        }),
    }
}

fn policy_text(change: &crate::diff::AttributeChange) -> Result<Option<String>, Refusal> {
    match &change.expected {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        doc @ Value::Object(_) => Ok(Some(doc.to_string())),
        other => Err(Refusal::Unreadable {
            attribute: change.attribute.clone(),
            value: other.to_string(),
        }),
    }
}

fn rules(change: &crate::diff::AttributeChange, items: &BTreeSet<String>) -> Result<Vec<SgRule>, Refusal> {
    items
        .iter()
        .map(|t| {
            SgRule::parse(t).ok_or_else(|| Refusal::Unreadable {
                attribute: change.attribute.clone(),
                value: t.clone(),
            })
        })
        .collect()
}

fn inverse_calls(
    row: &RevertRow,
    change: &crate::diff::AttributeChange,
    id: &str,
    finding: &Finding,
    live: &Live,
) -> Result<Vec<Call>, Refusal> {
    let (added, removed) = delta(change);
    let mut calls = Vec::new();
    match row.inverse {
        Inverse::SgRules(direction) => {
            if !added.is_empty() {
                calls.push(Call::RevokeSecurityGroupRules {
                    group_id: id.to_owned(),
                    direction,
                    rules: rules(change, &added)?,
                });
            }
            if !removed.is_empty() {
                calls.push(Call::AuthorizeSecurityGroupRules {
                    group_id: id.to_owned(),
                    direction,
                    rules: rules(change, &removed)?,
                });
            }
        }
        Inverse::PublicAccessBlock => calls.push(Call::PutPublicAccessBlock {
            bucket: id.to_owned(),
            block_public_acls: declared_bool(finding, "block_public_acls", live)?,
            ignore_public_acls: declared_bool(finding, "ignore_public_acls", live)?,
            block_public_policy: declared_bool(finding, "block_public_policy", live)?,
            restrict_public_buckets: declared_bool(finding, "restrict_public_buckets", live)?,
        }),
        Inverse::BucketPolicy => calls.push(match policy_text(change)? {
            Some(policy) => Call::PutBucketPolicy {
                bucket: id.to_owned(),
                policy,
            },
            None => Call::DeleteBucketPolicy { bucket: id.to_owned() },
        }),
        Inverse::BucketVersioning => calls.push(Call::PutBucketVersioning {
            bucket: id.to_owned(),
            status: declared_text(change)?,
        }),
        Inverse::BucketEncryption => {
            const ALGORITHM: &str = "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm";
            const KEY: &str = "rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id";
            // The declared value as the finding holds it (`Some(None)`: declared empty).
            let declared = |attribute: &str| {
                finding
                    .changes
                    .iter()
                    .find(|c| c.attribute == attribute)
                    .map(|c| c.expected.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            };
            // Live values are what the change left, never the declared ones: a KMS algorithm whose
            // declared key the finding does not hold is refused, not put back with another key.
            let sse_algorithm = declared(ALGORITHM).flatten().ok_or_else(|| Refusal::NotDeclared {
                attribute: ALGORITHM.to_owned(),
            })?;
            let kms_master_key_id = if sse_algorithm.starts_with("aws:kms") {
                declared(KEY).ok_or_else(|| Refusal::NotDeclared {
                    attribute: KEY.to_owned(),
                })?
            } else {
                None
            };
            calls.push(Call::PutBucketEncryption {
                bucket: id.to_owned(),
                kms_master_key_id,
                sse_algorithm,
            });
        }
        Inverse::TrustPolicy => calls.push(Call::UpdateAssumeRolePolicy {
            role: id.to_owned(),
            policy: policy_text(change)?.ok_or_else(|| Refusal::NotDeclared {
                attribute: change.attribute.clone(),
            })?,
        }),
        Inverse::InlinePolicy(holder) => {
            let name = suffix(change, row).to_owned();
            calls.push(match policy_text(change)? {
                Some(policy) => Call::PutInlinePolicy {
                    holder,
                    principal: id.to_owned(),
                    name,
                    policy,
                },
                None => Call::DeleteInlinePolicy {
                    holder,
                    principal: id.to_owned(),
                    name,
                },
            });
        }
        Inverse::ManagedPolicies(holder) => {
            calls.extend(added.iter().map(|arn| Call::DetachPolicy {
                holder,
                principal: id.to_owned(),
                policy_arn: arn.clone(),
            }));
            calls.extend(removed.iter().map(|arn| Call::AttachPolicy {
                holder,
                principal: id.to_owned(),
                policy_arn: arn.clone(),
            }));
        }
        Inverse::Ec2Tags => {
            let key = suffix(change, row).to_owned();
            calls.push(match &change.expected {
                Value::Null => Call::DeleteTags {
                    resource: id.to_owned(),
                    keys: vec![key],
                },
                v => Call::CreateTags {
                    resource: id.to_owned(),
                    tags: BTreeMap::from([(key, v.as_str().map_or_else(|| v.to_string(), str::to_owned))]),
                },
            });
        }
        Inverse::Ec2Sharing(what) => calls.push(Call::ModifySharing {
            what,
            id: id.to_owned(),
            remove: added.into_iter().collect(),
            add: removed.into_iter().collect(),
        }),
        Inverse::LambdaPermissions => {
            if !removed.is_empty() {
                // A declared statement removed by hand carries conditions the finding does not hold.
                return Err(Refusal::Unsupported {
                    resource_type: finding.resource.resource_type.clone(),
                    attribute: format!("{} (a declared statement removed by hand)", change.attribute),
                });
            }
            calls.extend(added.iter().map(|entry| Call::RemovePermission {
                function: finding.resource.id.clone(),
                statement_id: item_key(Inverse::LambdaPermissions, entry).to_owned(),
            }));
        }
        Inverse::AccessKeys => {
            if !removed.is_empty() {
                // A deleted key cannot be brought back: its secret is gone.
                return Err(Refusal::NeedsReapply {
                    attribute: change.attribute.clone(),
                });
            }
            calls.extend(added.iter().map(|key| Call::UpdateAccessKey {
                user: id.to_owned(),
                access_key_id: key.clone(),
                status: "Inactive".into(),
            }));
        }
        Inverse::AccessKeyStatus => {
            let key = change
                .attribute
                .strip_prefix("access_keys.")
                .and_then(|k| k.strip_suffix(".status"))
                .ok_or_else(|| Refusal::Unsupported {
                    resource_type: finding.resource.resource_type.clone(),
                    attribute: change.attribute.clone(),
                })?;
            let status = match change.expected.as_str() {
                Some("Active") => "Active",
                _ => "Inactive",
            };
            calls.push(Call::UpdateAccessKey {
                user: id.to_owned(),
                access_key_id: key.to_owned(),
                status: status.into(),
            });
        }
        Inverse::NeedsReapply => {
            return Err(Refusal::NeedsReapply {
                attribute: change.attribute.clone(),
            })
        }
    }
    Ok(calls)
}

/// The calls, for people: `ec2:RevokeSecurityGroupIngress on sg-… (tcp 22 0.0.0.0/0)`.
pub fn describe(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| {
            let params = serde_json::to_value(c).unwrap_or(Value::Null);
            let target = [
                "group_id",
                "bucket",
                "role",
                "principal",
                "resource",
                "id",
                "function",
                "user",
            ]
            .iter()
            .find_map(|k| params.get(*k).and_then(Value::as_str))
            .unwrap_or("");
            let detail = match c {
                Call::RevokeSecurityGroupRules { rules, .. } | Call::AuthorizeSecurityGroupRules { rules, .. } => rules
                    .iter()
                    .map(|r| {
                        let peer = serde_json::to_value(&r.peer).unwrap_or(Value::Null);
                        let peer = peer
                            .as_object()
                            .and_then(|m| m.values().next())
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned();
                        crate::drift::diff::rule_text(&r.protocol, r.from_port, r.to_port, &peer)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                Call::ModifySharing { remove, add, .. } => format!("remove {remove:?}, add {add:?}"),
                Call::UpdateAccessKey {
                    access_key_id, status, ..
                } => format!("{access_key_id} → {status}"),
                Call::RemovePermission { statement_id, .. } => statement_id.clone(),
                Call::AttachPolicy { policy_arn, .. } | Call::DetachPolicy { policy_arn, .. } => policy_arn.clone(),
                _ => String::new(),
            };
            if detail.is_empty() {
                format!("{} on {target}", c.iam_action())
            } else {
                format!("{} on {target} ({detail})", c.iam_action())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_are_described_for_people_with_their_target_and_detail() {
        let revoke = Call::RevokeSecurityGroupRules {
            group_id: "sg-0123456789abcdef0".into(),
            direction: Direction::Ingress,
            rules: vec![SgRule::parse("tcp 22 0.0.0.0/0").expect("rule")],
        };
        let key = Call::UpdateAccessKey {
            user: "ci-deploy".into(),
            access_key_id: "AKIAEXAMPLE000000001".into(),
            status: "Inactive".into(),
        };
        assert_eq!(
            describe(&[revoke, key]),
            "ec2:RevokeSecurityGroupIngress on sg-0123456789abcdef0 (tcp 22 0.0.0.0/0); \
             iam:UpdateAccessKey on ci-deploy (AKIAEXAMPLE000000001 → Inactive)"
        );
    }

    #[test]
    fn rule_texts_parse_into_the_parameters_ec2_takes() {
        let r = SgRule::parse("tcp 22 0.0.0.0/0").expect("parses");
        assert_eq!(
            (r.protocol.as_str(), r.from_port, r.to_port),
            ("tcp", Some(22), Some(22))
        );
        assert_eq!(r.peer, Peer::Ipv4("0.0.0.0/0".into()));
        let r = SgRule::parse("tcp 1024-2048 ::/0").expect("parses");
        assert_eq!(
            (r.from_port, r.to_port, r.peer),
            (Some(1024), Some(2048), Peer::Ipv6("::/0".into()))
        );
        let r = SgRule::parse("all * sg-0fedcba9876543210").expect("parses");
        assert_eq!((r.protocol.as_str(), r.from_port), ("-1", None));
        assert_eq!(r.peer, Peer::Group("sg-0fedcba9876543210".into()));
        let r = SgRule::parse("icmp -1 10.0.0.0/8").expect("parses");
        assert_eq!((r.from_port, r.to_port), (Some(-1), Some(-1)));
        let r = SgRule::parse("icmp 8--1 pl-12345678").expect("parses");
        assert_eq!((r.from_port, r.to_port), (Some(8), Some(-1)));
        assert_eq!(r.peer, Peer::PrefixList("pl-12345678".into()));
        for bad in [
            "",
            "tcp 22",
            "tcp x 0.0.0.0/0",
            "tcp 22 nowhere",
            "tcp 22 0.0.0.0/0 extra",
        ] {
            assert_eq!(SgRule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_parsed_rule_prints_back_to_its_text() {
        for text in [
            "tcp 22 0.0.0.0/0",
            "udp 53 10.0.0.0/8",
            "all * ::/0",
            "tcp 8000-8080 sg-1",
        ] {
            let r = SgRule::parse(text).expect("parses");
            let again = crate::diff::rule_text(
                &r.protocol,
                r.from_port,
                r.to_port,
                match &r.peer {
                    Peer::Ipv4(p) | Peer::Ipv6(p) | Peer::Group(p) | Peer::PrefixList(p) => p,
                },
            );
            assert_eq!(again, text);
        }
    }

    #[test]
    fn rows_name_their_actions_and_cover_each_call_they_plan() {
        let actions = actions_for(&["*"]);
        for call_action in [
            "ec2:RevokeSecurityGroupIngress",
            "s3:PutBucketPublicAccessBlock",
            "iam:UpdateAssumeRolePolicy",
            "ec2:ModifySnapshotAttribute",
            "lambda:RemovePermission",
            "iam:UpdateAccessKey",
        ] {
            assert!(actions.contains(&call_action), "{call_action} in {actions:?}");
        }
        assert!(actions_for(&["AWS::S3::Bucket"]).iter().all(|a| a.starts_with("s3:")));
        assert_eq!(name_of("arn:aws:iam::123456789012:role/app/deployer"), "deployer");
        assert_eq!(name_of("my-bucket"), "my-bucket");
        assert_eq!(
            row_for("AWS::EC2::Instance", "tags.Owner").map(|r| r.inverse),
            Some(Inverse::Ec2Tags)
        );
        assert!(row_for("AWS::EC2::Instance", "tags.").is_none());
        let _ = json!({});
    }
}
