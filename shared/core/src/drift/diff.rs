//! Attribute-level comparison of a call's request with the declared state.
//!
//! [`DIFF_RULES`] maps a call to one comparison kind; each kind has one interpreter here.
//! Comparisons run only for calls on IaC-managed resources, so the request is parsed into a
//! `serde_json::Value` only then.

use crate::iac::catalog::IdPath;
use crate::iac::inventory::Declared;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// One compared attribute: what IaC declares vs what the call set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// Attribute path in Terraform terms, e.g. `ingress`, `instance_type`, `tags.Owner`.
    pub attribute: String,
    /// The Terraform address whose value is expected.
    pub declared_in: Option<String>,
    /// The declared value (`null` when IaC does not declare it).
    pub expected: Value,
    /// The value after the call.
    pub found: Value,
    /// Whether found differs from expected.
    pub drifted: bool,
}

/// What a call did to one set-valued attribute, item by item, in the attribute's text form
/// (`tcp 22 0.0.0.0/0`, an account id, a policy ARN): how a later manual call that puts the
/// declared items back is known to undo the change a finding reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetDelta {
    /// The attribute, as the change names it.
    pub attribute: String,
    /// Items the call put in.
    pub added: Vec<String>,
    /// Items the call took out.
    pub removed: Vec<String>,
    /// Entries the call took out by key whatever their value, each as the entry text up to and
    /// including its key (`100 ` for a network ACL rule number, `AllowS3: ` for a Lambda
    /// statement, `0.0.0.0/0 via ` for a route).
    pub removed_keys: Vec<String>,
    /// The call replaced the whole set with `added` (a bucket ACL's grants, lifecycle rules).
    pub whole: bool,
}

impl SetDelta {
    fn adding(items: impl IntoIterator<Item = String>) -> Self {
        SetDelta {
            added: items.into_iter().collect(),
            ..Self::default()
        }
    }
    fn removing(items: impl IntoIterator<Item = String>) -> Self {
        SetDelta {
            removed: items.into_iter().collect(),
            ..Self::default()
        }
    }
    /// Adds (`true`) or removes the items.
    fn of(add: bool, items: impl IntoIterator<Item = String>) -> Self {
        if add {
            Self::adding(items)
        } else {
            Self::removing(items)
        }
    }
}

/// A comparison's result: the compared attributes, and for set-valued ones what the call added
/// and removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// The compared attributes.
    pub changes: Vec<AttributeChange>,
    /// One delta per set-valued change, named by its attribute.
    pub deltas: Vec<SetDelta>,
}

impl From<Vec<AttributeChange>> for Comparison {
    fn from(changes: Vec<AttributeChange>) -> Self {
        Comparison {
            changes,
            deltas: Vec::new(),
        }
    }
}

impl Comparison {
    /// One set-valued change and its delta.
    fn set(change: AttributeChange, mut delta: SetDelta) -> Self {
        delta.attribute.clone_from(&change.attribute);
        Comparison {
            changes: vec![change],
            deltas: vec![delta],
        }
    }
}

/// How a value is normalised before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// Compared as text (numbers and booleans rendered).
    Text,
    /// Booleans, from `true` / `"true"`.
    Bool,
    /// Integers, from numbers or numeric strings.
    Int,
    /// A JSON policy document (string, URL-encoded string or object), compared semantically.
    Policy,
}

/// A request field mapped to a state attribute.
#[derive(Debug, Clone, Copy)]
pub struct FieldMap {
    /// Dot path in `requestParameters`.
    pub request: &'static str,
    /// The Terraform type whose attribute holds the declared value.
    pub tf_type: &'static str,
    /// Dot path in that resource's attributes (`versioning_configuration.0.status`).
    pub attribute: &'static str,
    /// Normaliser.
    pub norm: Norm,
}

/// What a call changes, and how to compare it.
#[derive(Debug, Clone, Copy)]
pub enum Compare {
    /// Plain fields.
    Fields(&'static [FieldMap]),
    /// Security group rules added (`true`) or removed, on `ingress` or `egress`.
    SgRules {
        /// `ingress` or `egress`.
        direction: &'static str,
        /// Added (authorize) or removed (revoke).
        add: bool,
    },
    /// EC2 tags set (`true`) or deleted.
    Ec2Tags {
        /// Set or deleted.
        set: bool,
    },
    /// An IAM inline policy put on (or deleted from) a role, user or group, as
    /// `inline_policy.<name>`: declared by a standalone policy resource named like it, or (roles)
    /// in the parent's `inline_policy` blocks.
    InlinePolicy {
        /// The standalone Terraform type (`aws_iam_role_policy`).
        standalone: &'static str,
        /// The parent's Terraform type (`aws_iam_role`).
        parent: &'static str,
        /// The call deletes the policy.
        delete: bool,
    },
    /// A managed policy attached to (or detached from) a role, user or group, as
    /// `managed_policy_arns`: declared by attachment children or the parent's
    /// `managed_policy_arns`.
    PolicyAttachment {
        /// The parent's Terraform type (`aws_iam_role`).
        parent: &'static str,
        /// The attachment's Terraform type (`aws_iam_role_policy_attachment`).
        child: &'static str,
        /// Attached (`true`) or detached.
        add: bool,
    },
    /// A user added to (or removed from) a group, as `users`, declared by
    /// `aws_iam_group_membership`.
    GroupMember {
        /// Added or removed.
        add: bool,
    },
    /// A bucket's ACL (`acl`): a canned ACL, or the grants as `<grantee> <permission>` (groups by
    /// name: `AllUsers`, `AuthenticatedUsers`, `LogDelivery`), declared by `aws_s3_bucket_acl` or
    /// the bucket's `acl`.
    S3Acl,
    /// A bucket's access logging (`logging.target_bucket`; absent when turned off), declared by
    /// `aws_s3_bucket_logging` or the bucket's `logging` block.
    S3Logging,
    /// A bucket's lifecycle rules (`lifecycle_rules`: `<id> <status>[ expire <n>d]`), declared by
    /// `aws_s3_bucket_lifecycle_configuration` or the bucket's `lifecycle_rule` blocks.
    S3Lifecycle {
        /// The call deletes the whole configuration.
        delete: bool,
    },
    /// A call that sets one declared boolean by its name alone (`StopLogging` turns a trail's
    /// `enable_logging` off).
    Flag {
        /// The Terraform type declaring it.
        tf_type: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// The value the call sets.
        value: bool,
    },
    /// A resource policy put or deleted, declared by a standalone policy resource or on the
    /// parent; compared semantically as `policy`.
    ResourcePolicy {
        /// Where the request holds the new policy (`None`: the call deletes it).
        request: Option<&'static str>,
        /// Only when this request field has this value (SNS `attributeName` = `Policy`).
        when: Option<(&'static str, &'static str)>,
        /// The declarations that can hold it, most specific first: (Terraform type, attribute).
        declared: &'static [(&'static str, &'static str)],
    },
    /// Statements of a Lambda function's resource policy, added or removed, against the declared
    /// `aws_lambda_permission` children (`<statement id>: <principal>`).
    LambdaPermission {
        /// Added (`AddPermission`) or removed.
        add: bool,
    },
    /// A Lambda function's new code (`responseElements.codeSha256`) against the declared
    /// `source_code_hash`.
    CodeHash,
    /// A call that sets one declared text attribute by its name alone (`StopInstances` sets
    /// `aws_ec2_instance_state.state` to `stopped`).
    Text {
        /// The Terraform type declaring it.
        tf_type: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// The value the call sets.
        value: &'static str,
    },
    /// IAM roles associated with a database or cluster (`associated_roles`: role ARNs), declared
    /// by role-association children or the cluster's `iam_roles`.
    DbRoles {
        /// The association's Terraform type.
        child: &'static str,
        /// Added or removed.
        add: bool,
    },
    /// Who a snapshot or an image is shared with (accounts, or `all` for public).
    Sharing(Share),
    /// A network ACL entry created, replaced or deleted: `ingress` / `egress` entries as
    /// `<rule no> <action> <protocol> <ports> <cidr>`, declared on `aws_network_acl` or by
    /// `aws_network_acl_rule` children.
    NaclEntry(EntryOp),
    /// A route created, replaced or deleted: `routes` as `<destination> via <target>`, declared on
    /// `aws_route_table` or by `aws_route` children.
    Route(EntryOp),
    /// A subnet associated with a route table (`associations`: subnet ids, declared by
    /// `aws_route_table_association`).
    RouteAssociation,
    /// Credentials on an IAM user: access keys, SSH public keys, service-specific credentials,
    /// MFA devices and the console login profile, declared by children of the user
    /// (`aws_iam_access_key`, `aws_iam_user_ssh_key`, `aws_iam_service_specific_credential`,
    /// `aws_iam_virtual_mfa_device`, `aws_iam_user_login_profile`).
    Credentials(Credential),
    /// Principals (`principals`) and resources (`resource_arns`) associated with (or
    /// disassociated from) a RAM resource share, declared by `aws_ram_principal_association` /
    /// `aws_ram_resource_association` children of the share.
    RamShare {
        /// Associated (`true`) or disassociated.
        add: bool,
    },
}

/// What a call does to one entry of a keyed list (NACL entries by rule number and direction,
/// routes by destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOp {
    /// Adds the entry.
    Create,
    /// Replaces the entry with the same key.
    Replace,
    /// Removes the entry with that key.
    Delete,
}

/// What a credential call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A credential joins the user's set (`CreateAccessKey`, `UploadSSHPublicKey`,
    /// `CreateServiceSpecificCredential`, `EnableMFADevice`).
    Added(CredentialSet),
    /// The credential named by [`CredentialSet::id_at`] leaves the set (`DeleteAccessKey`,
    /// `DeleteSSHPublicKey`, `DeleteServiceSpecificCredential`, `DeactivateMFADevice`).
    Removed(CredentialSet),
    /// `<attribute>.<id>.status` becomes the request's `status` (`UpdateAccessKey`,
    /// `UpdateSSHPublicKey`, `UpdateServiceSpecificCredential`).
    Status(CredentialSet),
    /// `<attribute>.<id>.password` is reset to a new secret (`ResetServiceSpecificCredential`).
    Reset(CredentialSet),
    /// `CreateLoginProfile` (`true`) / `DeleteLoginProfile` (`false`): `login_profile` present or
    /// absent.
    LoginProfile(bool),
    /// `UpdateLoginProfile`: `login_profile.password_reset_required`.
    LoginProfileUpdated,
}

/// One kind of credential a user holds several of, and where calls and declarations name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialSet {
    /// The compared attribute (`access_keys`).
    pub attribute: &'static str,
    /// The Terraform type declaring one credential (`aws_iam_access_key`).
    pub child: &'static str,
    /// The child's attribute holding the credential's id (`id`).
    pub child_id: &'static str,
    /// Where a new credential's id is (`responseElements.accessKey.accessKeyId`).
    pub added_at: IdPath,
    /// The request field naming an existing credential (`accessKeyId`).
    pub id_at: &'static str,
}

/// Access keys (`CreateAccessKey` returns the new key only in `responseElements.accessKey`).
pub const ACCESS_KEYS: CredentialSet = CredentialSet {
    attribute: "access_keys",
    child: "aws_iam_access_key",
    child_id: "id",
    added_at: IdPath::Response("accessKey.accessKeyId"),
    id_at: "accessKeyId",
};

/// SSH public keys for CodeCommit. CloudTrail lower-cases only the first letter of IAM member
/// names, so `SSHPublicKeyId` is recorded as `sSHPublicKeyId` (as EC2 Instance Connect's
/// `SSHPublicKey` is recorded as `sSHPublicKey`).
pub const SSH_KEYS: CredentialSet = CredentialSet {
    attribute: "ssh_public_keys",
    child: "aws_iam_user_ssh_key",
    child_id: "ssh_public_key_id",
    added_at: IdPath::Response("sSHPublicKey.sSHPublicKeyId"),
    id_at: "sSHPublicKeyId",
};

/// Service-specific credentials (CodeCommit, Keyspaces, Bedrock passwords and API keys).
pub const SERVICE_CREDENTIALS: CredentialSet = CredentialSet {
    attribute: "service_specific_credentials",
    child: "aws_iam_service_specific_credential",
    child_id: "service_specific_credential_id",
    added_at: IdPath::Response("serviceSpecificCredential.serviceSpecificCredentialId"),
    id_at: "serviceSpecificCredentialId",
};

/// MFA devices enabled for the user, by serial number (a virtual device's serial number is its
/// ARN), declared by `aws_iam_virtual_mfa_device` whose `user_name` is the user.
pub const MFA_DEVICES: CredentialSet = CredentialSet {
    attribute: "mfa_devices",
    child: "aws_iam_virtual_mfa_device",
    child_id: "arn",
    added_at: IdPath::Request("serialNumber"),
    id_at: "serialNumber",
};

/// How a sharing call names what it adds and removes, and where IaC declares the sharing.
#[derive(Debug, Clone, Copy)]
pub enum Share {
    /// EC2 `ModifySnapshotAttribute` / `ModifyImageAttribute`: `<permission>.add.items` and
    /// `<permission>.remove.items`, each item `{"group": "all"}` or `{"userId": "<account>"}`;
    /// declared by child resources (`aws_snapshot_create_volume_permission`,
    /// `aws_ami_launch_permission`) with `account_id` (or `group`).
    Ec2 {
        /// The request key (`createVolumePermission`, `launchPermission`).
        permission: &'static str,
        /// The compared attribute (`create_volume_permission`, `launch_permission`).
        attribute: &'static str,
        /// The Terraform type of one declared permission.
        child: &'static str,
    },
    /// RDS `ModifyDBSnapshotAttribute` / `ModifyDBClusterSnapshotAttribute` on `restore`:
    /// `valuesToAdd` / `valuesToRemove`; declared as the snapshot's `shared_accounts`.
    Rds,
}

use Norm::*;

const fn f(request: &'static str, tf_type: &'static str, attribute: &'static str, norm: Norm) -> FieldMap {
    FieldMap {
        request,
        tf_type,
        attribute,
        norm,
    }
}

/// Which comparison applies to which call.
pub static DIFF_RULES: &[(&str, &str, Compare)] = &[
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        Compare::SgRules {
            direction: "ingress",
            add: true,
        },
    ),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupEgress",
        Compare::SgRules {
            direction: "egress",
            add: true,
        },
    ),
    (
        "ec2.amazonaws.com",
        "RevokeSecurityGroupIngress",
        Compare::SgRules {
            direction: "ingress",
            add: false,
        },
    ),
    (
        "ec2.amazonaws.com",
        "RevokeSecurityGroupEgress",
        Compare::SgRules {
            direction: "egress",
            add: false,
        },
    ),
    ("ec2.amazonaws.com", "CreateTags", Compare::Ec2Tags { set: true }),
    ("ec2.amazonaws.com", "DeleteTags", Compare::Ec2Tags { set: false }),
    (
        "ec2.amazonaws.com",
        "ModifyInstanceAttribute",
        Compare::Fields(&[
            f("instanceType.value", "aws_instance", "instance_type", Text),
            f(
                "disableApiTermination.value",
                "aws_instance",
                "disable_api_termination",
                Bool,
            ),
            f("disableApiStop.value", "aws_instance", "disable_api_stop", Bool),
            f("sourceDestCheck.value", "aws_instance", "source_dest_check", Bool),
            f("ebsOptimized.value", "aws_instance", "ebs_optimized", Bool),
            f("userData.value", "aws_instance", "user_data_base64", Text),
        ]),
    ),
    (
        "s3.amazonaws.com",
        "PutBucketPublicAccessBlock",
        Compare::Fields(&[
            f(
                "PublicAccessBlockConfiguration.BlockPublicAcls",
                "aws_s3_bucket_public_access_block",
                "block_public_acls",
                Bool,
            ),
            f(
                "PublicAccessBlockConfiguration.IgnorePublicAcls",
                "aws_s3_bucket_public_access_block",
                "ignore_public_acls",
                Bool,
            ),
            f(
                "PublicAccessBlockConfiguration.BlockPublicPolicy",
                "aws_s3_bucket_public_access_block",
                "block_public_policy",
                Bool,
            ),
            f(
                "PublicAccessBlockConfiguration.RestrictPublicBuckets",
                "aws_s3_bucket_public_access_block",
                "restrict_public_buckets",
                Bool,
            ),
        ]),
    ),
    (
        "s3.amazonaws.com",
        "PutBucketVersioning",
        Compare::Fields(&[
            f(
                "VersioningConfiguration.Status",
                "aws_s3_bucket_versioning",
                "versioning_configuration.0.status",
                Text,
            ),
            f(
                "VersioningConfiguration.MfaDelete",
                "aws_s3_bucket_versioning",
                "versioning_configuration.0.mfa_delete",
                Text,
            ),
        ]),
    ),
    (
        "s3.amazonaws.com",
        "PutBucketPolicy",
        Compare::Fields(&[f("bucketPolicy", "aws_s3_bucket_policy", "policy", Policy)]),
    ),
    (
        "iam.amazonaws.com",
        "PutRolePolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_role_policy",
            parent: "aws_iam_role",
            delete: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "DeleteRolePolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_role_policy",
            parent: "aws_iam_role",
            delete: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "PutUserPolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_user_policy",
            parent: "aws_iam_user",
            delete: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "DeleteUserPolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_user_policy",
            parent: "aws_iam_user",
            delete: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "PutGroupPolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_group_policy",
            parent: "aws_iam_group",
            delete: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "DeleteGroupPolicy",
        Compare::InlinePolicy {
            standalone: "aws_iam_group_policy",
            parent: "aws_iam_group",
            delete: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "AttachRolePolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_role",
            child: "aws_iam_role_policy_attachment",
            add: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "DetachRolePolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_role",
            child: "aws_iam_role_policy_attachment",
            add: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "AttachUserPolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_user",
            child: "aws_iam_user_policy_attachment",
            add: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "DetachUserPolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_user",
            child: "aws_iam_user_policy_attachment",
            add: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "AttachGroupPolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_group",
            child: "aws_iam_group_policy_attachment",
            add: true,
        },
    ),
    (
        "iam.amazonaws.com",
        "DetachGroupPolicy",
        Compare::PolicyAttachment {
            parent: "aws_iam_group",
            child: "aws_iam_group_policy_attachment",
            add: false,
        },
    ),
    (
        "iam.amazonaws.com",
        "AddUserToGroup",
        Compare::GroupMember { add: true },
    ),
    (
        "iam.amazonaws.com",
        "RemoveUserFromGroup",
        Compare::GroupMember { add: false },
    ),
    ("s3.amazonaws.com", "PutBucketLogging", Compare::S3Logging),
    ("s3.amazonaws.com", "PutBucketAcl", Compare::S3Acl),
    (
        "s3.amazonaws.com",
        "PutBucketEncryption",
        Compare::Fields(&[
            f(
                "ServerSideEncryptionConfiguration.Rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm",
                "aws_s3_bucket_server_side_encryption_configuration",
                "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm",
                Text,
            ),
            f(
                "ServerSideEncryptionConfiguration.Rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID",
                "aws_s3_bucket_server_side_encryption_configuration",
                "rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id",
                Text,
            ),
        ]),
    ),
    (
        "s3.amazonaws.com",
        "PutBucketLifecycle",
        Compare::S3Lifecycle { delete: false },
    ),
    (
        "s3.amazonaws.com",
        "DeleteBucketLifecycle",
        Compare::S3Lifecycle { delete: true },
    ),
    (
        "rds.amazonaws.com",
        "ModifyDBCluster",
        Compare::Fields(&[
            f("deletionProtection", "aws_rds_cluster", "deletion_protection", Bool),
            f(
                "backupRetentionPeriod",
                "aws_rds_cluster",
                "backup_retention_period",
                Int,
            ),
            f("engineVersion", "aws_rds_cluster", "engine_version", Text),
            f("port", "aws_rds_cluster", "port", Int),
        ]),
    ),
    (
        "codebuild.amazonaws.com",
        "UpdateProjectVisibility",
        Compare::Fields(&[f(
            "projectVisibility",
            "aws_codebuild_project",
            "project_visibility",
            Text,
        )]),
    ),
    (
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        Compare::Fields(&[f("policyDocument", "aws_iam_role", "assume_role_policy", Policy)]),
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration20150331v2",
        Compare::Fields(&[
            f("memorySize", "aws_lambda_function", "memory_size", Int),
            f("timeout", "aws_lambda_function", "timeout", Int),
            f("runtime", "aws_lambda_function", "runtime", Text),
            f("handler", "aws_lambda_function", "handler", Text),
            f("role", "aws_lambda_function", "role", Text),
        ]),
    ),
    (
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        Compare::Sharing(Share::Ec2 {
            permission: "createVolumePermission",
            attribute: "create_volume_permission",
            child: "aws_snapshot_create_volume_permission",
        }),
    ),
    (
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        Compare::Sharing(Share::Ec2 {
            permission: "launchPermission",
            attribute: "launch_permission",
            child: "aws_ami_launch_permission",
        }),
    ),
    (
        "rds.amazonaws.com",
        "ModifyDBSnapshotAttribute",
        Compare::Sharing(Share::Rds),
    ),
    (
        "rds.amazonaws.com",
        "ModifyDBClusterSnapshotAttribute",
        Compare::Sharing(Share::Rds),
    ),
    // Resource policies and permissions.
    (
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        Compare::ResourcePolicy {
            request: None,
            when: None,
            declared: &[("aws_s3_bucket_policy", "policy"), ("aws_s3_bucket", "policy")],
        },
    ),
    (
        "kms.amazonaws.com",
        "PutKeyPolicy",
        Compare::ResourcePolicy {
            request: Some("policy"),
            when: None,
            declared: &[("aws_kms_key_policy", "policy"), ("aws_kms_key", "policy")],
        },
    ),
    (
        "sns.amazonaws.com",
        "SetTopicAttributes",
        Compare::ResourcePolicy {
            request: Some("attributeValue"),
            when: Some(("attributeName", "Policy")),
            declared: &[("aws_sns_topic_policy", "policy"), ("aws_sns_topic", "policy")],
        },
    ),
    (
        "secretsmanager.amazonaws.com",
        "PutResourcePolicy",
        Compare::ResourcePolicy {
            request: Some("resourcePolicy"),
            when: None,
            declared: &[
                ("aws_secretsmanager_secret_policy", "policy"),
                ("aws_secretsmanager_secret", "policy"),
            ],
        },
    ),
    (
        "ecr.amazonaws.com",
        "SetRepositoryPolicy",
        Compare::ResourcePolicy {
            request: Some("policyText"),
            when: None,
            declared: &[("aws_ecr_repository_policy", "policy")],
        },
    ),
    (
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        Compare::LambdaPermission { add: true },
    ),
    (
        "lambda.amazonaws.com",
        "RemovePermission20150331v2",
        Compare::LambdaPermission { add: false },
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        Compare::CodeHash,
    ),
    (
        "lambda.amazonaws.com",
        "CreateFunctionUrlConfig",
        Compare::Fields(&[f("authType", "aws_lambda_function_url", "authorization_type", Text)]),
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionUrlConfig",
        Compare::Fields(&[f("authType", "aws_lambda_function_url", "authorization_type", Text)]),
    ),
    // Network: ACL entries, routes, route table associations.
    (
        "ec2.amazonaws.com",
        "CreateNetworkAclEntry",
        Compare::NaclEntry(EntryOp::Create),
    ),
    (
        "ec2.amazonaws.com",
        "ReplaceNetworkAclEntry",
        Compare::NaclEntry(EntryOp::Replace),
    ),
    (
        "ec2.amazonaws.com",
        "DeleteNetworkAclEntry",
        Compare::NaclEntry(EntryOp::Delete),
    ),
    ("ec2.amazonaws.com", "CreateRoute", Compare::Route(EntryOp::Create)),
    ("ec2.amazonaws.com", "ReplaceRoute", Compare::Route(EntryOp::Replace)),
    ("ec2.amazonaws.com", "DeleteRoute", Compare::Route(EntryOp::Delete)),
    ("ec2.amazonaws.com", "AssociateRouteTable", Compare::RouteAssociation),
    // Runtime state and keys.
    (
        "ec2.amazonaws.com",
        "StopInstances",
        Compare::Text {
            tf_type: "aws_ec2_instance_state",
            attribute: "state",
            value: "stopped",
        },
    ),
    (
        "ec2.amazonaws.com",
        "StartInstances",
        Compare::Text {
            tf_type: "aws_ec2_instance_state",
            attribute: "state",
            value: "running",
        },
    ),
    (
        "kms.amazonaws.com",
        "DisableKey",
        Compare::Flag {
            tf_type: "aws_kms_key",
            attribute: "is_enabled",
            value: false,
        },
    ),
    (
        "kms.amazonaws.com",
        "EnableKey",
        Compare::Flag {
            tf_type: "aws_kms_key",
            attribute: "is_enabled",
            value: true,
        },
    ),
    (
        "rds.amazonaws.com",
        "AddRoleToDBInstance",
        Compare::DbRoles {
            child: "aws_db_instance_role_association",
            add: true,
        },
    ),
    (
        "rds.amazonaws.com",
        "RemoveRoleFromDBInstance",
        Compare::DbRoles {
            child: "aws_db_instance_role_association",
            add: false,
        },
    ),
    (
        "rds.amazonaws.com",
        "AddRoleToDBCluster",
        Compare::DbRoles {
            child: "aws_rds_cluster_role_association",
            add: true,
        },
    ),
    (
        "rds.amazonaws.com",
        "RemoveRoleFromDBCluster",
        Compare::DbRoles {
            child: "aws_rds_cluster_role_association",
            add: false,
        },
    ),
    // Logging and detection.
    (
        "cloudtrail.amazonaws.com",
        "StopLogging",
        Compare::Flag {
            tf_type: "aws_cloudtrail",
            attribute: "enable_logging",
            value: false,
        },
    ),
    (
        "cloudtrail.amazonaws.com",
        "StartLogging",
        Compare::Flag {
            tf_type: "aws_cloudtrail",
            attribute: "enable_logging",
            value: true,
        },
    ),
    (
        "cloudtrail.amazonaws.com",
        "UpdateTrail",
        Compare::Fields(&[
            f("isMultiRegionTrail", "aws_cloudtrail", "is_multi_region_trail", Bool),
            f(
                "includeGlobalServiceEvents",
                "aws_cloudtrail",
                "include_global_service_events",
                Bool,
            ),
            f(
                "enableLogFileValidation",
                "aws_cloudtrail",
                "enable_log_file_validation",
                Bool,
            ),
            f("s3BucketName", "aws_cloudtrail", "s3_bucket_name", Text),
            f("kmsKeyId", "aws_cloudtrail", "kms_key_id", Text),
            f(
                "cloudWatchLogsLogGroupArn",
                "aws_cloudtrail",
                "cloud_watch_logs_group_arn",
                Text,
            ),
        ]),
    ),
    (
        "cloudtrail.amazonaws.com",
        "PutEventSelectors",
        Compare::Fields(&[
            f(
                "eventSelectors.0.includeManagementEvents",
                "aws_cloudtrail",
                "event_selector.0.include_management_events",
                Bool,
            ),
            f(
                "eventSelectors.0.readWriteType",
                "aws_cloudtrail",
                "event_selector.0.read_write_type",
                Text,
            ),
        ]),
    ),
    (
        "guardduty.amazonaws.com",
        "UpdateDetector",
        Compare::Fields(&[
            f("enable", "aws_guardduty_detector", "enable", Bool),
            f(
                "findingPublishingFrequency",
                "aws_guardduty_detector",
                "finding_publishing_frequency",
                Text,
            ),
        ]),
    ),
    (
        "config.amazonaws.com",
        "StopConfigurationRecorder",
        Compare::Flag {
            tf_type: "aws_config_configuration_recorder_status",
            attribute: "is_enabled",
            value: false,
        },
    ),
    (
        "config.amazonaws.com",
        "StartConfigurationRecorder",
        Compare::Flag {
            tf_type: "aws_config_configuration_recorder_status",
            attribute: "is_enabled",
            value: true,
        },
    ),
    // Credentials.
    (
        "iam.amazonaws.com",
        "CreateAccessKey",
        Compare::Credentials(Credential::Added(ACCESS_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "DeleteAccessKey",
        Compare::Credentials(Credential::Removed(ACCESS_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "UpdateAccessKey",
        Compare::Credentials(Credential::Status(ACCESS_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "UploadSSHPublicKey",
        Compare::Credentials(Credential::Added(SSH_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "DeleteSSHPublicKey",
        Compare::Credentials(Credential::Removed(SSH_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "UpdateSSHPublicKey",
        Compare::Credentials(Credential::Status(SSH_KEYS)),
    ),
    (
        "iam.amazonaws.com",
        "CreateServiceSpecificCredential",
        Compare::Credentials(Credential::Added(SERVICE_CREDENTIALS)),
    ),
    (
        "iam.amazonaws.com",
        "DeleteServiceSpecificCredential",
        Compare::Credentials(Credential::Removed(SERVICE_CREDENTIALS)),
    ),
    (
        "iam.amazonaws.com",
        "UpdateServiceSpecificCredential",
        Compare::Credentials(Credential::Status(SERVICE_CREDENTIALS)),
    ),
    (
        "iam.amazonaws.com",
        "ResetServiceSpecificCredential",
        Compare::Credentials(Credential::Reset(SERVICE_CREDENTIALS)),
    ),
    (
        "iam.amazonaws.com",
        "EnableMFADevice",
        Compare::Credentials(Credential::Added(MFA_DEVICES)),
    ),
    (
        "iam.amazonaws.com",
        "DeactivateMFADevice",
        Compare::Credentials(Credential::Removed(MFA_DEVICES)),
    ),
    // RAM resource shares.
    (
        "ram.amazonaws.com",
        "AssociateResourceShare",
        Compare::RamShare { add: true },
    ),
    (
        "ram.amazonaws.com",
        "DisassociateResourceShare",
        Compare::RamShare { add: false },
    ),
    (
        "ram.amazonaws.com",
        "UpdateResourceShare",
        Compare::Fields(&[
            f(
                "allowExternalPrincipals",
                "aws_ram_resource_share",
                "allow_external_principals",
                Bool,
            ),
            f("name", "aws_ram_resource_share", "name", Text),
        ]),
    ),
    (
        "iam.amazonaws.com",
        "CreateLoginProfile",
        Compare::Credentials(Credential::LoginProfile(true)),
    ),
    (
        "iam.amazonaws.com",
        "DeleteLoginProfile",
        Compare::Credentials(Credential::LoginProfile(false)),
    ),
    (
        "iam.amazonaws.com",
        "UpdateLoginProfile",
        Compare::Credentials(Credential::LoginProfileUpdated),
    ),
    (
        "rds.amazonaws.com",
        "ModifyDBInstance",
        Compare::Fields(&[
            f("dBInstanceClass", "aws_db_instance", "instance_class", Text),
            f("deletionProtection", "aws_db_instance", "deletion_protection", Bool),
            f("publiclyAccessible", "aws_db_instance", "publicly_accessible", Bool),
            f(
                "backupRetentionPeriod",
                "aws_db_instance",
                "backup_retention_period",
                Int,
            ),
            f("multiAZ", "aws_db_instance", "multi_az", Bool),
            f("allocatedStorage", "aws_db_instance", "allocated_storage", Int),
            f("engineVersion", "aws_db_instance", "engine_version", Text),
        ]),
    ),
    (
        "sqs.amazonaws.com",
        "SetQueueAttributes",
        Compare::Fields(&[
            f(
                "attributes.VisibilityTimeout",
                "aws_sqs_queue",
                "visibility_timeout_seconds",
                Int,
            ),
            f(
                "attributes.MessageRetentionPeriod",
                "aws_sqs_queue",
                "message_retention_seconds",
                Int,
            ),
            f("attributes.DelaySeconds", "aws_sqs_queue", "delay_seconds", Int),
            f(
                "attributes.MaximumMessageSize",
                "aws_sqs_queue",
                "max_message_size",
                Int,
            ),
            f("attributes.Policy", "aws_sqs_queue", "policy", Policy),
        ]),
    ),
];

/// The comparison for a call, if any.
pub fn rule_for(source: &str, name: &str) -> Option<Compare> {
    DIFF_RULES
        .iter()
        .find(|(s, n, _)| *s == source && *n == name)
        .map(|(_, _, c)| *c)
}

/// Compares a call's request with its declarations. `owners` are the declarations of the
/// resource (primary first); `request` is `requestParameters`.
/// `response` is `responseElements`, read only for comparisons that need it
/// ([`Compare::reads_response`]).
pub fn compare(rule: Compare, request: &Value, response: Option<&Value>, owners: &[&Declared]) -> Comparison {
    match rule {
        Compare::Fields(maps) => fields(maps, request, owners).into(),
        Compare::SgRules { direction, add } => sg_rules(direction, add, request, owners),
        Compare::Ec2Tags { set } => ec2_tags(set, request, owners).into(),
        Compare::InlinePolicy {
            standalone,
            parent,
            delete,
        } => inline_policy(standalone, parent, delete, request, owners).into(),
        Compare::PolicyAttachment { parent, child, add } => policy_attachment(parent, child, add, request, owners),
        Compare::GroupMember { add } => group_member(add, request, owners),
        Compare::S3Logging => s3_logging(request, owners).into(),
        Compare::S3Acl => s3_acl(request, owners),
        Compare::S3Lifecycle { delete } => s3_lifecycle(delete, request, owners),
        Compare::Flag {
            tf_type,
            attribute,
            value,
        } => {
            let owner = owners.iter().copied().find(|d| d.tf_type == tf_type);
            let expected = owner
                .and_then(|d| attribute_at(&d.attributes, attribute))
                .map_or(Value::Null, |v| normalise(v, Norm::Bool));
            vec![change(attribute.to_owned(), owner, expected, Value::Bool(value))].into()
        }
        Compare::ResourcePolicy {
            request: at,
            when,
            declared,
        } => resource_policy(at, when, declared, request, owners).into(),
        Compare::LambdaPermission { add } => lambda_permission(add, request, owners),
        Compare::CodeHash => {
            let Some(found) = response.and_then(|r| r.get("codeSha256")).cloned() else {
                return Comparison::default();
            };
            let function = owners.iter().copied().find(|d| d.tf_type == "aws_lambda_function");
            let expected = function
                .and_then(|d| d.attributes.get("source_code_hash"))
                .filter(|v| v.as_str().is_some_and(|h| !h.is_empty()))
                .cloned()
                .unwrap_or(Value::Null);
            vec![change("source_code_hash".into(), function, expected, found)].into()
        }
        Compare::Text {
            tf_type,
            attribute,
            value,
        } => {
            let owner = owners.iter().copied().find(|d| d.tf_type == tf_type);
            let expected = owner
                .and_then(|d| attribute_at(&d.attributes, attribute))
                .cloned()
                .unwrap_or(Value::Null);
            vec![change(
                attribute.to_owned(),
                owner,
                expected,
                Value::String(value.to_owned()),
            )]
            .into()
        }
        Compare::DbRoles { child, add } => db_roles(child, add, request, owners),
        Compare::Sharing(share) => sharing(share, request, owners),
        Compare::NaclEntry(op) => nacl_entry(op, request, owners),
        Compare::Route(op) => route(op, request, owners),
        Compare::RouteAssociation => route_association(request, owners),
        Compare::Credentials(credential) => credentials(credential, request, response, owners),
        Compare::RamShare { add } => ram_share(add, request, owners),
    }
}

impl Compare {
    /// Whether the comparison reads `responseElements` (a new access key's id exists only there).
    pub fn reads_response(&self) -> bool {
        match self {
            Compare::Credentials(Credential::Added(set)) => matches!(set.added_at, IdPath::Response(_)),
            Compare::CodeHash => true,
            _ => false,
        }
    }
}

/// The text at a dot path.
fn text_at(v: &Value, path: &str) -> Option<String> {
    value_at(v, path).and_then(Value::as_str).map(str::to_owned)
}

/// Compares a credential call with the user's declared credentials.
fn credentials(credential: Credential, request: &Value, response: Option<&Value>, owners: &[&Declared]) -> Comparison {
    let user = owners.iter().copied().find(|d| d.tf_type == "aws_iam_user");
    let declared = |set: &CredentialSet| -> Vec<&Declared> {
        owners
            .iter()
            .copied()
            .filter(|d| d.tf_type == set.child)
            .filter(|d| d.str_attr(set.child_id).is_some_and(|id| !id.is_empty()))
            .collect()
    };
    let profile = owners
        .iter()
        .copied()
        .find(|d| d.tf_type == "aws_iam_user_login_profile");
    match credential {
        Credential::Added(set) | Credential::Removed(set) => {
            let add = matches!(credential, Credential::Added(_));
            let id = match (add, set.added_at) {
                (true, IdPath::Response(path)) => response.and_then(|r| text_at(r, path)),
                (true, IdPath::Request(path)) => text_at(request, path),
                (true, IdPath::Resources(_)) => None,
                (false, _) => text_at(request, set.id_at),
            };
            let Some(id) = id.filter(|id| !id.is_empty()) else {
                return Comparison::default();
            };
            let children = declared(&set);
            let expected: BTreeSet<String> = children
                .iter()
                .filter_map(|d| d.str_attr(set.child_id))
                .map(str::to_owned)
                .collect();
            let mut found = expected.clone();
            if add {
                found.insert(id.clone());
            } else {
                found.remove(&id);
            }
            let declared_in = children
                .iter()
                .copied()
                .find(|d| d.str_attr(set.child_id) == Some(id.as_str()))
                .or_else(|| children.first().copied())
                .or(user);
            Comparison::set(
                change(
                    set.attribute.to_owned(),
                    declared_in,
                    list_value(expected),
                    list_value(found),
                ),
                SetDelta::of(add, [id]),
            )
        }
        Credential::Status(set) => {
            let (Some(id), Some(status)) = (text_at(request, set.id_at), text_at(request, "status")) else {
                return Comparison::default();
            };
            let child = declared(&set)
                .into_iter()
                .find(|d| d.str_attr(set.child_id) == Some(id.as_str()));
            // A credential no declaration holds is hand-made: its expected status is "absent".
            let expected = child.map_or(Value::String("absent".into()), |d| {
                Value::String(d.str_attr("status").unwrap_or("Active").to_owned())
            });
            vec![change(
                format!("{}.{id}.status", set.attribute),
                child.or(user),
                expected,
                Value::String(status),
            )]
            .into()
        }
        Credential::Reset(set) => {
            let Some(id) = text_at(request, set.id_at) else {
                return Comparison::default();
            };
            let child = declared(&set)
                .into_iter()
                .find(|d| d.str_attr(set.child_id) == Some(id.as_str()));
            // The secret itself never shows: the change says a new one replaced the declared one.
            let expected = Value::String(if child.is_some() { "declared" } else { "absent" }.into());
            vec![change(
                format!("{}.{id}.password", set.attribute),
                child.or(user),
                expected,
                Value::String("reset".into()),
            )]
            .into()
        }
        Credential::LoginProfile(present) => {
            let state = |p: bool| Value::String(if p { "present" } else { "absent" }.into());
            vec![change(
                "login_profile".into(),
                profile.or(user),
                state(profile.is_some()),
                state(present),
            )]
            .into()
        }
        Credential::LoginProfileUpdated => {
            let Some(found) = request.get("passwordResetRequired").map(|v| normalise(v, Norm::Bool)) else {
                return Comparison::default();
            };
            let expected = profile
                .and_then(|d| d.attributes.get("password_reset_required"))
                .map_or(Value::Null, |v| normalise(v, Norm::Bool));
            vec![change(
                "login_profile.password_reset_required".into(),
                profile.or(user),
                expected,
                found,
            )]
            .into()
        }
    }
}

/// Principals and resources associated with (or disassociated from) a RAM resource share,
/// against the declared association children. A call may name both lists: one change each.
fn ram_share(add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let share = owners.iter().copied().find(|d| d.tf_type == "aws_ram_resource_share");
    let mut out = Comparison::default();
    for (request_key, attribute, child, child_attr) in [
        ("principals", "principals", "aws_ram_principal_association", "principal"),
        (
            "resourceArns",
            "resource_arns",
            "aws_ram_resource_association",
            "resource_arn",
        ),
    ] {
        let named = strings(request.get(request_key));
        if named.is_empty() {
            continue;
        }
        let children: Vec<&Declared> = owners.iter().copied().filter(|d| d.tf_type == child).collect();
        let expected: BTreeSet<String> = children
            .iter()
            .filter_map(|d| d.str_attr(child_attr))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut found = expected.clone();
        for item in &named {
            if add {
                found.insert(item.clone());
            } else {
                found.remove(item);
            }
        }
        let declared_in = children
            .iter()
            .copied()
            .find(|d| d.str_attr(child_attr).is_some_and(|v| named.iter().any(|n| n == v)))
            .or(share)
            .or_else(|| owners.first().copied());
        let one = Comparison::set(
            change(
                attribute.to_owned(),
                declared_in,
                list_value(expected),
                list_value(found),
            ),
            SetDelta::of(add, named),
        );
        out.changes.extend(one.changes);
        out.deltas.extend(one.deltas);
    }
    out
}

/// The value at a dot path (numeric segments index arrays).
pub fn value_at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

/// The value at a dot path in a resource's attributes (without copying the attribute map).
fn attribute_at<'v>(attributes: &'v serde_json::Map<String, Value>, path: &str) -> Option<&'v Value> {
    let (first, rest) = path.split_once('.').map_or((path, None), |(f, r)| (f, Some(r)));
    let v = attributes.get(first)?;
    rest.map_or(Some(v), |rest| value_at(v, rest))
}

fn change(attribute: String, declared_in: Option<&Declared>, expected: Value, found: Value) -> AttributeChange {
    AttributeChange {
        drifted: expected != found,
        attribute,
        declared_in: declared_in.map(|d| d.address.clone()),
        expected,
        found,
    }
}

fn fields(maps: &[FieldMap], request: &Value, owners: &[&Declared]) -> Vec<AttributeChange> {
    maps.iter()
        .filter_map(|m| {
            let found = normalise(value_at(request, m.request)?, m.norm);
            let owner = owners.iter().find(|d| d.tf_type == m.tf_type).copied();
            let expected = owner.and_then(|d| attribute_at(&d.attributes, m.attribute).cloned());
            let expected = expected.map_or(Value::Null, |v| normalise(&v, m.norm));
            Some(change(m.attribute.to_owned(), owner, expected, found))
        })
        .collect()
}

/// Applies a normaliser.
pub fn normalise(v: &Value, norm: Norm) -> Value {
    match (norm, v) {
        (_, Value::Null) => Value::Null,
        (Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => v.clone(),
        },
        (Int, Value::String(s)) => s.trim().parse::<i64>().map_or_else(|_| v.clone(), Value::from),
        (Int, Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map_or_else(|| v.clone(), |f| Value::from(f as i64)),
        (Text, Value::Number(_) | Value::Bool(_)) => Value::String(v.to_string()),
        (Policy, _) => normalise_policy(v),
        _ => v.clone(),
    }
}

/// A policy document in canonical form: parsed (URL-decoding if needed), every list sorted,
/// and a one-element list replaced by its element, so that `"Action": "s3:*"` equals
/// `"Action": ["s3:*"]` and statement or action order does not matter. Unparseable text is
/// returned as is.
pub fn normalise_policy(v: &Value) -> Value {
    let doc = match v {
        Value::String(s) => match serde_json::from_str::<Value>(s).or_else(|_| serde_json::from_str(&url_decode(s))) {
            Ok(doc) => doc,
            Err(_) => return v.clone(),
        },
        other => other.clone(),
    };
    canonical(doc)
}

fn canonical(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, canonical(v))).collect()),
        Value::Array(a) => {
            let mut a: Vec<Value> = a.into_iter().map(canonical).collect();
            if a.len() == 1 {
                return a.remove(0);
            }
            a.sort_by_cached_key(Value::to_string);
            Value::Array(a)
        }
        other => other,
    }
}

/// Decodes `%XX` escapes and `+` (as AWS Config and some IAM events deliver policies).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- security group rules ----

/// One rule in canonical text form: `tcp 22 0.0.0.0/0`, `tcp 5432 sg-0fedcba9876543210`, `all * 0.0.0.0/0`.
pub fn rule_text(protocol: &str, from: Option<i64>, to: Option<i64>, peer: &str) -> String {
    let proto = match protocol.trim() {
        "-1" | "all" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        other => other,
    };
    let ports = match (proto, from, to) {
        ("all", _, _) => "*".to_owned(),
        (_, Some(a), Some(b)) if a == b => a.to_string(),
        (_, Some(a), Some(b)) => format!("{a}-{b}"),
        _ => "*".to_owned(),
    };
    format!("{proto} {ports} {peer}")
}

fn as_int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `items` lists as CloudTrail writes EC2 sets: `{"items":[...]}` or a bare list.
fn items(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Object(m)) => m
            .get("items")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        Some(Value::Array(a)) => a.iter().collect(),
        _ => Vec::new(),
    }
}

/// Rules in an EC2 request (`ipPermissions.items[]`, or the legacy top-level single rule).
pub fn request_sg_rules(request: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut perms = items(request.get("ipPermissions"));
    if perms.is_empty() && request.get("ipProtocol").is_some() {
        perms.push(request);
    }
    for p in perms {
        let proto = p.get("ipProtocol").and_then(Value::as_str).unwrap_or("-1");
        let (from, to) = (as_int(p.get("fromPort")), as_int(p.get("toPort")));
        let mut peers: Vec<String> = Vec::new();
        peers.extend(
            items(p.get("ipRanges"))
                .iter()
                .filter_map(|r| r.get("cidrIp")?.as_str().map(str::to_owned)),
        );
        peers.extend(
            items(p.get("ipv6Ranges"))
                .iter()
                .filter_map(|r| r.get("cidrIpv6")?.as_str().map(str::to_owned)),
        );
        peers.extend(
            items(p.get("groups"))
                .iter()
                .filter_map(|r| r.get("groupId")?.as_str().map(str::to_owned)),
        );
        peers.extend(
            items(p.get("prefixListIds"))
                .iter()
                .filter_map(|r| r.get("prefixListId")?.as_str().map(str::to_owned)),
        );
        if let Some(c) = p.get("cidrIp").and_then(Value::as_str) {
            peers.push(c.to_owned());
        }
        for peer in peers {
            out.insert(rule_text(proto, from, to, &peer));
        }
    }
    out
}

/// Rules a set of declarations gives a security group in one direction: inline blocks of
/// `aws_security_group`, plus `aws_security_group_rule` and `aws_vpc_security_group_*_rule`.
pub fn declared_sg_rules(direction: &str, owners: &[&Declared]) -> (BTreeSet<String>, Option<String>) {
    let mut out = BTreeSet::new();
    let mut primary = None;
    for d in owners {
        let a = &d.attributes;
        match d.tf_type.as_str() {
            "aws_security_group" => {
                primary.get_or_insert_with(|| d.address.clone());
                for r in a.get(direction).and_then(Value::as_array).into_iter().flatten() {
                    let proto = r.get("protocol").and_then(Value::as_str).unwrap_or("-1");
                    let (from, to) = (as_int(r.get("from_port")), as_int(r.get("to_port")));
                    let mut peers = strings(r.get("cidr_blocks"));
                    peers.extend(strings(r.get("ipv6_cidr_blocks")));
                    peers.extend(strings(r.get("security_groups")));
                    peers.extend(strings(r.get("prefix_list_ids")));
                    if r.get("self").and_then(Value::as_bool) == Some(true) {
                        peers.extend(d.str_attr("id").map(str::to_owned));
                    }
                    out.extend(peers.iter().map(|p| rule_text(proto, from, to, p)));
                }
            }
            "aws_security_group_rule" if d.str_attr("type") == Some(direction) => {
                let proto = d.str_attr("protocol").unwrap_or("-1");
                let (from, to) = (as_int(a.get("from_port")), as_int(a.get("to_port")));
                let mut peers = strings(a.get("cidr_blocks"));
                peers.extend(strings(a.get("ipv6_cidr_blocks")));
                peers.extend(strings(a.get("source_security_group_id")));
                peers.extend(strings(a.get("prefix_list_ids")));
                out.extend(peers.iter().map(|p| rule_text(proto, from, to, p)));
            }
            t if t == format!("aws_vpc_security_group_{direction}_rule") => {
                let proto = d.str_attr("ip_protocol").unwrap_or("-1");
                let (from, to) = (as_int(a.get("from_port")), as_int(a.get("to_port")));
                let peers = [
                    "cidr_ipv4",
                    "cidr_ipv6",
                    "referenced_security_group_id",
                    "prefix_list_id",
                ]
                .iter()
                .filter_map(|k| d.str_attr(k).filter(|s| !s.is_empty()));
                out.extend(peers.map(|p| rule_text(proto, from, to, p)));
            }
            _ => {}
        }
    }
    (out, primary)
}

fn sg_rules(direction: &str, add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let requested = request_sg_rules(request);
    if requested.is_empty() {
        return Comparison::default();
    }
    let (expected, primary) = declared_sg_rules(direction, owners);
    let found: BTreeSet<String> = if add {
        expected.union(&requested).cloned().collect()
    } else {
        expected.difference(&requested).cloned().collect()
    };
    Comparison::set(
        AttributeChange {
            attribute: direction.to_owned(),
            declared_in: primary,
            drifted: expected != found,
            expected: list_value(expected),
            found: list_value(found),
        },
        SetDelta::of(add, requested),
    )
}

// ---- network ACL entries, routes, route table associations ----

/// Replaces, adds or removes the entry whose key (the text before `key_end`) is `key`.
fn apply_entry(expected: &BTreeSet<String>, op: EntryOp, key: &str, entry: Option<String>) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = expected
        .iter()
        .filter(|e| op == EntryOp::Create || entry_key(e) != key)
        .cloned()
        .collect();
    if op != EntryOp::Delete {
        found.extend(entry);
    }
    found
}

/// What an entry call does to the set: a create adds the entry, a replace takes out whatever the
/// key held and adds the entry, a delete takes out whatever the key held (`key` is the entry
/// text up to and including its key).
fn entry_delta(op: EntryOp, key: &str, entry: Option<String>) -> SetDelta {
    SetDelta {
        added: entry.into_iter().collect(),
        removed_keys: if op == EntryOp::Create {
            Vec::new()
        } else {
            vec![key.to_owned()]
        },
        ..SetDelta::default()
    }
}

/// The key of an entry text: its rule number (NACLs) or destination (routes).
fn entry_key(entry: &str) -> &str {
    entry.split(' ').next().unwrap_or("")
}

fn nacl_text(rule_no: i64, action: &str, protocol: &str, from: Option<i64>, to: Option<i64>, cidr: &str) -> String {
    format!(
        "{rule_no} {} {}",
        action.to_ascii_lowercase(),
        rule_text(protocol, from, to, cidr)
    )
}

fn nacl_entry(op: EntryOp, request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(rule_no) = as_int(request.get("ruleNumber")) else {
        return Comparison::default();
    };
    let egress = request.get("egress").is_some_and(|v| v == true || v == "true");
    let direction = if egress { "egress" } else { "ingress" };
    let acl = owners.iter().copied().find(|d| d.tf_type == "aws_network_acl");
    let mut expected = BTreeSet::new();
    if let Some(blocks) = acl.and_then(|d| d.attributes.get(direction)).and_then(Value::as_array) {
        for b in blocks {
            let text = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("");
            let cidr = Some(text("cidr_block"))
                .filter(|c| !c.is_empty())
                .unwrap_or(text("ipv6_cidr_block"));
            if let Some(no) = as_int(b.get("rule_no")) {
                expected.insert(nacl_text(
                    no,
                    text("action"),
                    text("protocol"),
                    as_int(b.get("from_port")),
                    as_int(b.get("to_port")),
                    cidr,
                ));
            }
        }
    }
    let rules: Vec<&Declared> = owners
        .iter()
        .copied()
        .filter(|d| d.tf_type == "aws_network_acl_rule")
        .collect();
    for d in &rules {
        let rule_egress = d.attributes.get("egress").is_some_and(|v| v == true);
        if rule_egress != egress {
            continue;
        }
        let cidr = d
            .str_attr("cidr_block")
            .filter(|c| !c.is_empty())
            .or(d.str_attr("ipv6_cidr_block"))
            .unwrap_or("");
        if let Some(no) = as_int(d.attributes.get("rule_number")) {
            let (from, to) = (
                as_int(d.attributes.get("from_port")),
                as_int(d.attributes.get("to_port")),
            );
            expected.insert(nacl_text(
                no,
                d.str_attr("rule_action").unwrap_or(""),
                d.str_attr("protocol").unwrap_or(""),
                from,
                to,
                cidr,
            ));
        }
    }
    let entry = (op != EntryOp::Delete).then(|| {
        let text = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or("");
        let cidr = Some(text("cidrBlock"))
            .filter(|c| !c.is_empty())
            .unwrap_or(text("ipv6CidrBlock"));
        let ports = request.get("portRange");
        nacl_text(
            rule_no,
            text("ruleAction"),
            text("aclProtocol"),
            as_int(ports.and_then(|p| p.get("from"))),
            as_int(ports.and_then(|p| p.get("to"))),
            cidr,
        )
    });
    let delta = entry_delta(op, &format!("{rule_no} "), entry.clone());
    let found = apply_entry(&expected, op, &rule_no.to_string(), entry);
    let declared_in = rules
        .iter()
        .copied()
        .find(|d| as_int(d.attributes.get("rule_number")) == Some(rule_no))
        .or(acl)
        .or_else(|| owners.first().copied());
    Comparison::set(
        change(
            direction.to_owned(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        delta,
    )
}

/// The route destinations and targets, CloudTrail's request names first, then Terraform's.
const ROUTE_DESTINATIONS: [(&str, &str); 3] = [
    ("destinationCidrBlock", "cidr_block"),
    ("destinationIpv6CidrBlock", "ipv6_cidr_block"),
    ("destinationPrefixListId", "destination_prefix_list_id"),
];
const ROUTE_TARGETS: [(&str, &str); 9] = [
    ("gatewayId", "gateway_id"),
    ("natGatewayId", "nat_gateway_id"),
    ("instanceId", "instance_id"),
    ("networkInterfaceId", "network_interface_id"),
    ("transitGatewayId", "transit_gateway_id"),
    ("vpcPeeringConnectionId", "vpc_peering_connection_id"),
    ("vpcEndpointId", "vpc_endpoint_id"),
    ("egressOnlyInternetGatewayId", "egress_only_gateway_id"),
    ("carrierGatewayId", "carrier_gateway_id"),
];

/// `<destination> via <target>` from a route block (`aws_route_table.route`) or an `aws_route`
/// (whose destination attributes carry a `destination_` prefix).
fn declared_route(attrs: &serde_json::Map<String, Value>) -> Option<String> {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let destination = ROUTE_DESTINATIONS
        .iter()
        .find_map(|(_, tf)| text(tf).or_else(|| text(&format!("destination_{tf}"))))?;
    let target = ROUTE_TARGETS.iter().find_map(|(_, tf)| text(tf)).unwrap_or("local");
    Some(format!("{destination} via {target}"))
}

fn route(op: EntryOp, request: &Value, owners: &[&Declared]) -> Comparison {
    let text = |k: &str| request.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let Some(destination) = ROUTE_DESTINATIONS.iter().find_map(|(req, _)| text(req)) else {
        return Comparison::default();
    };
    let table = owners.iter().copied().find(|d| d.tf_type == "aws_route_table");
    let mut expected = BTreeSet::new();
    if let Some(blocks) = table.and_then(|d| d.attributes.get("route")).and_then(Value::as_array) {
        expected.extend(blocks.iter().filter_map(Value::as_object).filter_map(declared_route));
    }
    let routes: Vec<&Declared> = owners.iter().copied().filter(|d| d.tf_type == "aws_route").collect();
    expected.extend(routes.iter().filter_map(|d| declared_route(&d.attributes)));
    let entry = (op != EntryOp::Delete).then(|| {
        let target = ROUTE_TARGETS.iter().find_map(|(req, _)| text(req)).unwrap_or("local");
        format!("{destination} via {target}")
    });
    let delta = entry_delta(op, &format!("{destination} via "), entry.clone());
    let found = apply_entry(&expected, op, destination, entry);
    let declared_in = routes
        .iter()
        .copied()
        .find(|d| declared_route(&d.attributes).is_some_and(|r| entry_key(&r) == destination))
        .or(table)
        .or_else(|| owners.first().copied());
    Comparison::set(
        change("routes".into(), declared_in, list_value(expected), list_value(found)),
        delta,
    )
}

fn route_association(request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(subnet) = request.get("subnetId").and_then(Value::as_str) else {
        return Comparison::default();
    };
    let associations: Vec<&Declared> = owners
        .iter()
        .copied()
        .filter(|d| d.tf_type == "aws_route_table_association")
        .collect();
    let expected: BTreeSet<String> = associations
        .iter()
        .filter_map(|d| d.str_attr("subnet_id"))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut found = expected.clone();
    found.insert(subnet.to_owned());
    let declared_in = associations.first().copied().or_else(|| owners.first().copied());
    Comparison::set(
        change(
            "associations".into(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        SetDelta::adding([subnet.to_owned()]),
    )
}

// ---- tags ----

fn ec2_tags(set: bool, request: &Value, owners: &[&Declared]) -> Vec<AttributeChange> {
    let owner = owners.first().copied();
    let declared = |key: &str| -> Value {
        owner
            .and_then(|d| {
                d.attributes
                    .get("tags_all")
                    .and_then(|t| t.get(key))
                    .or_else(|| d.attributes.get("tags").and_then(|t| t.get(key)))
            })
            .cloned()
            .unwrap_or(Value::Null)
    };
    items(request.get("tagSet"))
        .into_iter()
        .filter_map(|t| {
            let key = t.get("key")?.as_str()?;
            let found = if set {
                t.get("value").cloned().unwrap_or(Value::String(String::new()))
            } else {
                Value::Null
            };
            Some(change(format!("tags.{key}"), owner, declared(key), found))
        })
        .collect()
}

// ---- IAM inline policies ----

fn inline_policy(
    standalone_type: &str,
    parent_type: &str,
    delete: bool,
    request: &Value,
    owners: &[&Declared],
) -> Vec<AttributeChange> {
    let Some(name) = request.get("policyName").and_then(Value::as_str) else {
        return Vec::new();
    };
    let found = if delete {
        Value::Null
    } else {
        let Some(doc) = request.get("policyDocument") else {
            return Vec::new();
        };
        normalise_policy(doc)
    };
    // The standalone policy (name = policy name) first, then the parent's inline_policy blocks.
    let standalone = owners
        .iter()
        .find(|d| d.tf_type == standalone_type && d.str_attr("name") == Some(name));
    let (declared_in, expected) = match standalone {
        Some(d) => (Some(*d), d.attributes.get("policy").map(normalise_policy)),
        None => {
            let role = owners.iter().find(|d| d.tf_type == parent_type).copied();
            let inline = role
                .and_then(|r| r.attributes.get("inline_policy")?.as_array())
                .and_then(|blocks| {
                    blocks
                        .iter()
                        .find(|b| b.get("name").and_then(Value::as_str) == Some(name))
                })
                .and_then(|b| b.get("policy"))
                .map(normalise_policy);
            (role, inline)
        }
    };
    vec![change(
        format!("inline_policy.{name}"),
        declared_in,
        expected.unwrap_or(Value::Null),
        found,
    )]
}

fn resource_policy(
    at: Option<&str>,
    when: Option<(&str, &str)>,
    declared: &[(&str, &str)],
    request: &Value,
    owners: &[&Declared],
) -> Vec<AttributeChange> {
    if let Some((field, value)) = when {
        if request.get(field).and_then(Value::as_str) != Some(value) {
            return Vec::new();
        }
    }
    let found = match at {
        Some(path) => match value_at(request, path) {
            Some(policy) => normalise_policy(policy),
            None => return Vec::new(),
        },
        None => Value::Null,
    };
    // The most specific declaration that holds a policy; else the parent, expecting none.
    let holder = declared.iter().find_map(|(tf_type, attribute)| {
        let d = owners.iter().copied().find(|d| d.tf_type == *tf_type)?;
        let policy = d
            .attributes
            .get(*attribute)
            .filter(|p| !p.is_null() && p.as_str() != Some(""))?;
        Some((d, normalise_policy(policy)))
    });
    let (declared_in, expected) = match holder {
        Some((d, policy)) => (Some(d), policy),
        None => (owners.first().copied(), Value::Null),
    };
    vec![change("policy".into(), declared_in, expected, found)]
}

/// `<statement id>: <principal>` of a Lambda permission.
pub fn permission_entry(statement: &str, principal: &str) -> String {
    format!("{statement}: {principal}")
}

fn lambda_permission(add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(statement) = request.get("statementId").and_then(Value::as_str) else {
        return Comparison::default();
    };
    let children: Vec<&Declared> = owners
        .iter()
        .copied()
        .filter(|d| d.tf_type == "aws_lambda_permission")
        .collect();
    let expected: BTreeSet<String> = children
        .iter()
        .filter_map(|d| {
            Some(permission_entry(
                d.str_attr("statement_id")?,
                d.str_attr("principal").unwrap_or("?"),
            ))
        })
        .collect();
    let mut found: BTreeSet<String> = expected
        .iter()
        .filter(|e| e.split(": ").next() != Some(statement))
        .cloned()
        .collect();
    let delta = if add {
        let principal = request.get("principal").and_then(Value::as_str).unwrap_or("?");
        let entry = permission_entry(statement, principal);
        found.insert(entry.clone());
        SetDelta::adding([entry])
    } else {
        SetDelta {
            removed_keys: vec![permission_entry(statement, "")],
            ..SetDelta::default()
        }
    };
    let declared_in = children
        .iter()
        .copied()
        .find(|d| d.str_attr("statement_id") == Some(statement))
        .or_else(|| owners.first().copied());
    Comparison::set(
        change(
            "permissions".into(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        delta,
    )
}

/// A set of texts as a JSON list (sorted, since the set is).
fn list_value(set: BTreeSet<String>) -> Value {
    Value::Array(set.into_iter().map(Value::String).collect())
}

fn policy_attachment(parent: &str, child: &str, add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(arn) = request.get("policyArn").and_then(Value::as_str) else {
        return Comparison::default();
    };
    let parent_decl = owners.iter().copied().find(|d| d.tf_type == parent);
    let children: Vec<&Declared> = owners.iter().copied().filter(|d| d.tf_type == child).collect();
    let mut expected: BTreeSet<String> = strings(parent_decl.and_then(|d| d.attributes.get("managed_policy_arns")))
        .into_iter()
        .collect();
    expected.extend(
        children
            .iter()
            .filter_map(|d| d.str_attr("policy_arn"))
            .map(str::to_owned),
    );
    let mut found = expected.clone();
    if add {
        found.insert(arn.to_owned());
    } else {
        found.remove(arn);
    }
    let declared_in = children
        .iter()
        .copied()
        .find(|d| d.str_attr("policy_arn") == Some(arn))
        .or(parent_decl)
        .or_else(|| owners.first().copied());
    Comparison::set(
        change(
            "managed_policy_arns".into(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        SetDelta::of(add, [arn.to_owned()]),
    )
}

fn db_roles(child: &str, add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(role) = request.get("roleArn").and_then(Value::as_str) else {
        return Comparison::default();
    };
    let children: Vec<&Declared> = owners.iter().copied().filter(|d| d.tf_type == child).collect();
    let mut expected: BTreeSet<String> = children
        .iter()
        .filter_map(|d| d.str_attr("role_arn"))
        .map(str::to_owned)
        .collect();
    expected.extend(strings(owners.first().and_then(|d| d.attributes.get("iam_roles"))));
    let mut found = expected.clone();
    if add {
        found.insert(role.to_owned());
    } else {
        found.remove(role);
    }
    let declared_in = children
        .iter()
        .copied()
        .find(|d| d.str_attr("role_arn") == Some(role))
        .or_else(|| owners.first().copied());
    Comparison::set(
        change(
            "associated_roles".into(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        SetDelta::of(add, [role.to_owned()]),
    )
}

fn group_member(add: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let Some(user) = request.get("userName").and_then(Value::as_str) else {
        return Comparison::default();
    };
    let membership = owners.iter().copied().find(|d| d.tf_type == "aws_iam_group_membership");
    let expected: BTreeSet<String> = strings(membership.and_then(|d| d.attributes.get("users")))
        .into_iter()
        .collect();
    let mut found = expected.clone();
    if add {
        found.insert(user.to_owned());
    } else {
        found.remove(user);
    }
    let declared_in = membership.or_else(|| owners.first().copied());
    Comparison::set(
        change("users".into(), declared_in, list_value(expected), list_value(found)),
        SetDelta::of(add, [user.to_owned()]),
    )
}

fn s3_logging(request: &Value, owners: &[&Declared]) -> Vec<AttributeChange> {
    let Some(status) = request.get("BucketLoggingStatus") else {
        return Vec::new();
    };
    let found = value_at(status, "LoggingEnabled.TargetBucket")
        .cloned()
        .unwrap_or(Value::Null);
    let standalone = owners.iter().copied().find(|d| d.tf_type == "aws_s3_bucket_logging");
    let (declared_in, expected) = match standalone {
        Some(d) => (Some(d), d.attributes.get("target_bucket").cloned()),
        None => {
            let bucket = owners.iter().copied().find(|d| d.tf_type == "aws_s3_bucket");
            (
                bucket,
                bucket.and_then(|d| attribute_at(&d.attributes, "logging.0.target_bucket").cloned()),
            )
        }
    };
    let expected = expected.filter(|v| v.as_str() != Some("")).unwrap_or(Value::Null);
    vec![change("logging.target_bucket".into(), declared_in, expected, found)]
}

/// A grantee as the ACL shows it: a group by its name, else the canonical user (`owner` when it
/// is the bucket owner's id, which a request cannot tell; so any id reads `user <id>`).
fn grantee(g: &Value) -> String {
    if let Some(uri) = g.get("URI").or_else(|| g.get("uri")).and_then(Value::as_str) {
        return uri.rsplit('/').next().unwrap_or(uri).to_owned();
    }
    let id = g
        .get("ID")
        .or_else(|| g.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("user {id}")
}

fn s3_acl(request: &Value, owners: &[&Declared]) -> Comparison {
    let canned = value_at(request, "x-amz-acl.0")
        .or_else(|| request.get("x-amz-acl"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let found = match canned {
        Some(acl) => Value::String(acl.to_owned()),
        None => {
            let grants = match value_at(request, "AccessControlPolicy.AccessControlList.Grant") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(one @ Value::Object(_)) => vec![one],
                _ => return Comparison::default(),
            };
            let set: BTreeSet<String> = grants
                .into_iter()
                .filter_map(|g| {
                    let permission = g.get("Permission").and_then(Value::as_str)?;
                    Some(format!("{} {permission}", grantee(g.get("Grantee")?)))
                })
                .collect();
            list_value(set)
        }
    };
    let standalone = owners.iter().copied().find(|d| d.tf_type == "aws_s3_bucket_acl");
    let bucket = owners.iter().copied().find(|d| d.tf_type == "aws_s3_bucket");
    let declared_acl = |d: &Declared| {
        d.str_attr("acl")
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_owned()))
    };
    let (declared_in, expected) = match (standalone, bucket) {
        (Some(d), _) => {
            let grants = attribute_at(&d.attributes, "access_control_policy.0.grant")
                .and_then(Value::as_array)
                .map(|gs| {
                    let set: BTreeSet<String> = gs
                        .iter()
                        .filter_map(|g| {
                            let permission = g.get("permission").and_then(Value::as_str)?;
                            let who = g.get("grantee").and_then(|x| x.get(0)).map(grantee)?;
                            Some(format!("{who} {permission}"))
                        })
                        .collect();
                    list_value(set)
                });
            (Some(d), declared_acl(d).or(grants).unwrap_or(Value::Null))
        }
        (None, Some(b)) => (Some(b), declared_acl(b).unwrap_or(Value::Null)),
        (None, None) => (owners.first().copied(), Value::Null),
    };
    // A request sets the whole ACL: the grants it holds replace any others.
    let delta = found.as_array().map(|grants| SetDelta {
        added: grants.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        whole: true,
        ..SetDelta::default()
    });
    let c = change("acl".into(), declared_in, expected, found);
    match delta {
        Some(delta) => Comparison::set(c, delta),
        None => vec![c].into(),
    }
}

/// `<id> <Enabled|Disabled>[ expire <n>d]`.
fn lifecycle_entry(id: &str, enabled: bool, days: Option<i64>) -> String {
    let status = if enabled { "Enabled" } else { "Disabled" };
    match days {
        Some(d) => format!("{id} {status} expire {d}d"),
        None => format!("{id} {status}"),
    }
}

fn s3_lifecycle(delete: bool, request: &Value, owners: &[&Declared]) -> Comparison {
    let found: BTreeSet<String> = if delete {
        BTreeSet::new()
    } else {
        let rules = match value_at(request, "LifecycleConfiguration.Rule") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Comparison::default(),
        };
        rules
            .into_iter()
            .map(|r| {
                let id = r.get("ID").and_then(Value::as_str).unwrap_or("");
                let enabled = r.get("Status").and_then(Value::as_str) == Some("Enabled");
                lifecycle_entry(id, enabled, as_int(value_at(r, "Expiration.Days")))
            })
            .collect()
    };
    let standalone = owners
        .iter()
        .copied()
        .find(|d| d.tf_type == "aws_s3_bucket_lifecycle_configuration");
    let (declared_in, expected) = match standalone {
        Some(d) => {
            let rules = d
                .attributes
                .get("rule")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let entries = rules.iter().map(|r| {
                let id = r.get("id").and_then(Value::as_str).unwrap_or("");
                let enabled = r.get("status").and_then(Value::as_str) == Some("Enabled");
                lifecycle_entry(id, enabled, as_int(value_at(r, "expiration.0.days")).filter(|d| *d > 0))
            });
            (Some(d), entries.collect())
        }
        None => {
            let bucket = owners.iter().copied().find(|d| d.tf_type == "aws_s3_bucket");
            let rules = bucket
                .and_then(|d| d.attributes.get("lifecycle_rule"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let entries = rules.iter().map(|r| {
                let id = r.get("id").and_then(Value::as_str).unwrap_or("");
                let enabled = r.get("enabled") == Some(&Value::Bool(true));
                lifecycle_entry(id, enabled, as_int(value_at(r, "expiration.0.days")).filter(|d| *d > 0))
            });
            (bucket, entries.collect())
        }
    };
    // A request sets (or deletes) the whole configuration.
    let delta = SetDelta {
        added: found.iter().cloned().collect(),
        whole: true,
        ..SetDelta::default()
    };
    Comparison::set(
        change(
            "lifecycle_rules".into(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        delta,
    )
}

/// The accounts (or `all`) a list of EC2 permission items names (`{"items": [..]}`), each item
/// `{"group": "all"}` or `{"userId": "<account>"}`.
fn ec2_share_items(v: Option<&Value>) -> Vec<String> {
    items(v)
        .into_iter()
        .filter_map(|i| i.get("group").or_else(|| i.get("userId")).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn sharing(share: Share, request: &Value, owners: &[&Declared]) -> Comparison {
    let (attribute, added, removed, declared_in, expected) = match share {
        Share::Ec2 {
            permission,
            attribute,
            child,
        } => {
            let Some(p) = request.get(permission) else {
                return Comparison::default();
            };
            let children: Vec<&Declared> = owners.iter().copied().filter(|d| d.tf_type == child).collect();
            let expected: BTreeSet<String> = children
                .iter()
                .filter_map(|d| d.str_attr("account_id").or_else(|| d.str_attr("group")))
                .map(str::to_owned)
                .collect();
            let declared_in = children.first().copied().or_else(|| owners.first().copied());
            (
                attribute,
                ec2_share_items(p.get("add")),
                ec2_share_items(p.get("remove")),
                declared_in,
                expected,
            )
        }
        Share::Rds => {
            if request.get("attributeName").and_then(Value::as_str) != Some("restore") {
                return Comparison::default();
            }
            let snapshot = owners.first().copied();
            let expected = strings(snapshot.and_then(|d| d.attributes.get("shared_accounts")))
                .into_iter()
                .collect();
            (
                "shared_accounts",
                strings(request.get("valuesToAdd")),
                strings(request.get("valuesToRemove")),
                snapshot,
                expected,
            )
        }
    };
    if added.is_empty() && removed.is_empty() {
        return Comparison::default();
    }
    let mut found = expected.clone();
    found.extend(added.iter().cloned());
    for r in &removed {
        found.remove(r);
    }
    Comparison::set(
        change(
            attribute.to_owned(),
            declared_in,
            list_value(expected),
            list_value(found),
        ),
        SetDelta {
            added,
            removed,
            ..SetDelta::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policies_compare_semantically() {
        let a = json!(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}}"#
        );
        let b = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["*"]}]});
        assert_eq!(normalise_policy(&a), normalise_policy(&b));
        let encoded = json!("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%2C%22s3%3APutObject%22%5D%2C%22Resource%22%3A%22*%22%7D%7D");
        assert_eq!(normalise_policy(&encoded), normalise_policy(&b));
        let c = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]});
        assert_ne!(normalise_policy(&c), normalise_policy(&b));
    }

    #[test]
    fn sg_rule_text_normalises_protocols_and_ports() {
        let req = json!({"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}},{"ipProtocol":"-1","ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}});
        let rules: Vec<String> = request_sg_rules(&req).into_iter().collect();
        assert_eq!(rules, vec!["all * 10.0.0.0/8", "tcp 22 0.0.0.0/0"]);
    }

    #[test]
    fn attribute_paths_reach_nested_values() {
        let attrs = json!({"versioning_configuration": [{"status": "Enabled"}], "instance_type": "t3.micro"});
        let map = attrs.as_object().expect("object");
        assert_eq!(
            attribute_at(map, "versioning_configuration.0.status"),
            Some(&json!("Enabled"))
        );
        assert_eq!(attribute_at(map, "instance_type"), Some(&json!("t3.micro")));
        assert_eq!(attribute_at(map, "versioning_configuration.1.status"), None);
        assert_eq!(attribute_at(map, "missing"), None);
    }

    #[test]
    fn scalar_normalisers() {
        assert_eq!(normalise(&json!("1024"), Norm::Int), json!(1024));
        assert_eq!(normalise(&json!("TRUE"), Norm::Bool), json!(true));
        assert_eq!(normalise(&json!(10), Norm::Text), json!("10"));
    }
}
