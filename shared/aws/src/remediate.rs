//! Reverts on real AWS APIs: [`Remediator`] reads the live values core's planner asks for
//! ([`Read`]) and makes the calls of a [`Plan`] ([`Call`]), with EC2, S3, IAM and Lambda clients
//! whose user agent carries the DriftGuard remediation marker, so that the CloudTrail records of
//! its calls are attributed to DriftGuard and resolve the finding instead of raising new drift.
//!
//! [`session_for`] gives the SDK configuration for a finding (its region, the marker, the member
//! account's remediation role); [`plan_revert`] and [`execute`] are the code the remediate
//! function and the CLI share.

use crate::error::{classify, AwsError};
use aws_sdk_ec2::types as ec2;
use aws_sdk_iam::types as iam;
use aws_sdk_s3::types as s3;
use driftguard_core::finding::Finding;
use driftguard_core::remediation::audit::Step;
use driftguard_core::remediation::plan::{
    self, Call, Direction, Holder, Live, Peer, Plan, Read, Refusal, SgRule, Shared,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The user-agent application name of remediation calls for a finding:
/// `driftguard-remediation-<finding id>`. Ingest recognises it (with the remediation role) in
/// CloudTrail's `userAgent` as `app/driftguard-remediation-dg-…`.
pub fn marker(finding_id: &str) -> String {
    format!("{}{finding_id}", driftguard_core::attribution::REMEDIATION_APP_PREFIX)
}

/// The clients a revert uses, for one account and region.
#[derive(Debug, Clone)]
pub struct Remediator {
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
}

impl Remediator {
    /// Clients from a configuration (credentials and region of the finding's account; see
    /// [`session_for`]). `path_style` addresses S3 buckets in the path (for local endpoints).
    pub fn new(aws: &aws_config::SdkConfig, path_style: bool) -> Remediator {
        Remediator {
            ec2: aws_sdk_ec2::Client::new(aws),
            s3: crate::s3_client(aws, path_style),
            iam: aws_sdk_iam::Client::new(aws),
            lambda: aws_sdk_lambda::Client::new(aws),
        }
    }

    /// Reads one live value into `live`, in the findings' forms.
    pub async fn read(&self, read: &Read, live: &mut Live) -> Result<(), AwsError> {
        match read {
            Read::SecurityGroupRules { group_id } => {
                let out = self
                    .ec2
                    .describe_security_groups()
                    .group_ids(group_id)
                    .send()
                    .await
                    .map_err(|e| classify("EC2", "DescribeSecurityGroups", e).about(group_id))?;
                let group = out.security_groups().first();
                for (direction, perms) in [
                    (Direction::Ingress, group.map(|g| g.ip_permissions())),
                    (Direction::Egress, group.map(|g| g.ip_permissions_egress())),
                ] {
                    let mut texts: Vec<String> = perms.unwrap_or_default().iter().flat_map(rule_texts).collect();
                    texts.sort();
                    texts.dedup();
                    live.insert(
                        direction.as_str().into(),
                        Value::Array(texts.into_iter().map(Value::from).collect()),
                    );
                }
            }
            Read::PublicAccessBlock { bucket } => {
                let config = match self.s3.get_public_access_block().bucket(bucket).send().await {
                    Ok(out) => out.public_access_block_configuration().cloned(),
                    Err(e) if code_of(&e) == Some("NoSuchPublicAccessBlockConfiguration") => None,
                    Err(e) => return Err(classify("S3", "GetPublicAccessBlock", e).about(bucket)),
                };
                let c = config.unwrap_or_else(|| s3::PublicAccessBlockConfiguration::builder().build());
                for (k, v) in [
                    ("block_public_acls", c.block_public_acls()),
                    ("ignore_public_acls", c.ignore_public_acls()),
                    ("block_public_policy", c.block_public_policy()),
                    ("restrict_public_buckets", c.restrict_public_buckets()),
                ] {
                    live.insert(k.into(), Value::Bool(v.unwrap_or(false)));
                }
            }
            Read::BucketPolicy { bucket } => {
                let policy = match self.s3.get_bucket_policy().bucket(bucket).send().await {
                    Ok(out) => out.policy().map(Value::from).unwrap_or(Value::Null),
                    Err(e) if code_of(&e) == Some("NoSuchBucketPolicy") => Value::Null,
                    Err(e) => return Err(classify("S3", "GetBucketPolicy", e).about(bucket)),
                };
                live.insert("policy".into(), policy);
            }
            Read::BucketVersioning { bucket } => {
                let out = self
                    .s3
                    .get_bucket_versioning()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| classify("S3", "GetBucketVersioning", e).about(bucket))?;
                live.insert(
                    "versioning_configuration.0.status".into(),
                    out.status().map_or(Value::Null, |s| Value::from(s.as_str())),
                );
            }
            Read::BucketEncryption { bucket } => {
                let rule = match self.s3.get_bucket_encryption().bucket(bucket).send().await {
                    Ok(out) => out
                        .server_side_encryption_configuration()
                        .and_then(|c| c.rules().first())
                        .and_then(|r| r.apply_server_side_encryption_by_default())
                        .cloned(),
                    Err(e) if code_of(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => None,
                    Err(e) => return Err(classify("S3", "GetBucketEncryption", e).about(bucket)),
                };
                let prefix = "rule.0.apply_server_side_encryption_by_default.0.";
                live.insert(
                    format!("{prefix}sse_algorithm"),
                    rule.as_ref()
                        .map_or(Value::Null, |r| Value::from(r.sse_algorithm().as_str())),
                );
                live.insert(
                    format!("{prefix}kms_master_key_id"),
                    rule.as_ref()
                        .and_then(|r| r.kms_master_key_id())
                        .map_or(Value::Null, Value::from),
                );
            }
            Read::TrustPolicy { role } => {
                let out = self
                    .iam
                    .get_role()
                    .role_name(role)
                    .send()
                    .await
                    .map_err(|e| classify("IAM", "GetRole", e).about(role))?;
                let doc = out.role().and_then(|r| r.assume_role_policy_document());
                live.insert("assume_role_policy".into(), doc.map_or(Value::Null, Value::from));
            }
            Read::InlinePolicy {
                holder,
                principal,
                name,
            } => {
                let doc = match holder {
                    Holder::Role => match self
                        .iam
                        .get_role_policy()
                        .role_name(principal)
                        .policy_name(name)
                        .send()
                        .await
                    {
                        Ok(out) => Some(out.policy_document().to_owned()),
                        Err(e) if code_of(&e) == Some("NoSuchEntity") => None,
                        Err(e) => return Err(classify("IAM", "GetRolePolicy", e).about(principal)),
                    },
                    Holder::User => match self
                        .iam
                        .get_user_policy()
                        .user_name(principal)
                        .policy_name(name)
                        .send()
                        .await
                    {
                        Ok(out) => Some(out.policy_document().to_owned()),
                        Err(e) if code_of(&e) == Some("NoSuchEntity") => None,
                        Err(e) => return Err(classify("IAM", "GetUserPolicy", e).about(principal)),
                    },
                };
                live.insert(format!("inline_policy.{name}"), doc.map_or(Value::Null, Value::from));
            }
            Read::ManagedPolicies { holder, principal } => {
                let mut arns = Vec::new();
                let mut marker: Option<String> = None;
                loop {
                    let (page, next) = match holder {
                        Holder::Role => {
                            let out = self
                                .iam
                                .list_attached_role_policies()
                                .role_name(principal)
                                .set_marker(marker.clone())
                                .send()
                                .await
                                .map_err(|e| classify("IAM", "ListAttachedRolePolicies", e).about(principal))?;
                            (attached(out.attached_policies()), out.marker().map(str::to_owned))
                        }
                        Holder::User => {
                            let out = self
                                .iam
                                .list_attached_user_policies()
                                .user_name(principal)
                                .set_marker(marker.clone())
                                .send()
                                .await
                                .map_err(|e| classify("IAM", "ListAttachedUserPolicies", e).about(principal))?;
                            (attached(out.attached_policies()), out.marker().map(str::to_owned))
                        }
                    };
                    arns.extend(page);
                    match next {
                        Some(m) if !m.is_empty() => marker = Some(m),
                        _ => break,
                    }
                }
                arns.sort();
                live.insert(
                    "managed_policy_arns".into(),
                    Value::Array(arns.into_iter().map(Value::from).collect()),
                );
            }
            Read::Ec2Tags { resource } => {
                let out = self
                    .ec2
                    .describe_tags()
                    .filters(ec2::Filter::builder().name("resource-id").values(resource).build())
                    .send()
                    .await
                    .map_err(|e| classify("EC2", "DescribeTags", e).about(resource))?;
                for t in out.tags() {
                    if let Some(k) = t.key() {
                        live.insert(format!("tags.{k}"), Value::from(t.value().unwrap_or("")));
                    }
                }
            }
            Read::Ec2Sharing { what, id } => {
                let mut shared: Vec<String> = match what {
                    Shared::Snapshot => {
                        let out = self
                            .ec2
                            .describe_snapshot_attribute()
                            .snapshot_id(id)
                            .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
                            .send()
                            .await
                            .map_err(|e| classify("EC2", "DescribeSnapshotAttribute", e).about(id))?;
                        out.create_volume_permissions()
                            .iter()
                            .filter_map(|p| {
                                p.user_id()
                                    .map(str::to_owned)
                                    .or_else(|| p.group().map(|g| g.as_str().to_owned()))
                            })
                            .collect()
                    }
                    Shared::Image => {
                        let out = self
                            .ec2
                            .describe_image_attribute()
                            .image_id(id)
                            .attribute(ec2::ImageAttributeName::LaunchPermission)
                            .send()
                            .await
                            .map_err(|e| classify("EC2", "DescribeImageAttribute", e).about(id))?;
                        out.launch_permissions()
                            .iter()
                            .filter_map(|p| {
                                p.user_id()
                                    .map(str::to_owned)
                                    .or_else(|| p.group().map(|g| g.as_str().to_owned()))
                            })
                            .collect()
                    }
                };
                shared.sort();
                let attribute = match what {
                    Shared::Snapshot => "create_volume_permission",
                    Shared::Image => "launch_permission",
                };
                live.insert(
                    attribute.into(),
                    Value::Array(shared.into_iter().map(Value::from).collect()),
                );
            }
            Read::LambdaPermissions { function } => {
                let policy = match self.lambda.get_policy().function_name(function).send().await {
                    Ok(out) => out.policy().map(str::to_owned),
                    Err(e) if code_of(&e) == Some("ResourceNotFoundException") => None,
                    Err(e) => return Err(classify("Lambda", "GetPolicy", e).about(function)),
                };
                live.insert("permissions".into(), Value::Array(statements(policy.as_deref())));
            }
            Read::AccessKeys { user } => {
                let out = self
                    .iam
                    .list_access_keys()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(|e| classify("IAM", "ListAccessKeys", e).about(user))?;
                let mut active = Vec::new();
                for k in out.access_key_metadata() {
                    let (Some(id), Some(status)) = (k.access_key_id(), k.status()) else {
                        continue;
                    };
                    if *status == iam::StatusType::Active {
                        active.push(Value::from(id));
                    }
                    live.insert(format!("access_keys.{id}.status"), Value::from(status.as_str()));
                }
                live.insert("access_keys".into(), Value::Array(active));
            }
        }
        Ok(())
    }

    /// Makes one call.
    pub async fn call(&self, call: &Call) -> Result<(), AwsError> {
        match call {
            Call::RevokeSecurityGroupRules {
                group_id,
                direction,
                rules,
            } => {
                let perms = Some(rules.iter().map(permission).collect());
                match direction {
                    Direction::Ingress => self
                        .ec2
                        .revoke_security_group_ingress()
                        .group_id(group_id)
                        .set_ip_permissions(perms)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| classify("EC2", "RevokeSecurityGroupIngress", e)),
                    Direction::Egress => self
                        .ec2
                        .revoke_security_group_egress()
                        .group_id(group_id)
                        .set_ip_permissions(perms)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| classify("EC2", "RevokeSecurityGroupEgress", e)),
                }
            }
            Call::AuthorizeSecurityGroupRules {
                group_id,
                direction,
                rules,
            } => {
                let perms = Some(rules.iter().map(permission).collect());
                match direction {
                    Direction::Ingress => self
                        .ec2
                        .authorize_security_group_ingress()
                        .group_id(group_id)
                        .set_ip_permissions(perms)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| classify("EC2", "AuthorizeSecurityGroupIngress", e)),
                    Direction::Egress => self
                        .ec2
                        .authorize_security_group_egress()
                        .group_id(group_id)
                        .set_ip_permissions(perms)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| classify("EC2", "AuthorizeSecurityGroupEgress", e)),
                }
            }
            Call::PutPublicAccessBlock {
                bucket,
                block_public_acls,
                ignore_public_acls,
                block_public_policy,
                restrict_public_buckets,
            } => self
                .s3
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    s3::PublicAccessBlockConfiguration::builder()
                        .block_public_acls(*block_public_acls)
                        .ignore_public_acls(*ignore_public_acls)
                        .block_public_policy(*block_public_policy)
                        .restrict_public_buckets(*restrict_public_buckets)
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("S3", "PutPublicAccessBlock", e)),
            Call::PutBucketPolicy { bucket, policy } => self
                .s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("S3", "PutBucketPolicy", e)),
            Call::DeleteBucketPolicy { bucket } => self
                .s3
                .delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("S3", "DeleteBucketPolicy", e)),
            Call::PutBucketVersioning { bucket, status } => self
                .s3
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    s3::VersioningConfiguration::builder()
                        .status(s3::BucketVersioningStatus::from(status.as_str()))
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("S3", "PutBucketVersioning", e)),
            Call::PutBucketEncryption {
                bucket,
                sse_algorithm,
                kms_master_key_id,
            } => {
                let default = s3::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3::ServerSideEncryption::from(sse_algorithm.as_str()))
                    .set_kms_master_key_id(kms_master_key_id.clone())
                    .build()
                    .map_err(|e| invalid("S3", "PutBucketEncryption", e))?;
                let config = s3::ServerSideEncryptionConfiguration::builder()
                    .rules(
                        s3::ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            .build(),
                    )
                    .build()
                    .map_err(|e| invalid("S3", "PutBucketEncryption", e))?;
                self.s3
                    .put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(config)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| classify("S3", "PutBucketEncryption", e))
            }
            Call::UpdateAssumeRolePolicy { role, policy } => self
                .iam
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(policy)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "UpdateAssumeRolePolicy", e)),
            Call::PutInlinePolicy {
                holder: Holder::Role,
                principal,
                name,
                policy,
            } => self
                .iam
                .put_role_policy()
                .role_name(principal)
                .policy_name(name)
                .policy_document(policy)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "PutRolePolicy", e)),
            Call::PutInlinePolicy {
                holder: Holder::User,
                principal,
                name,
                policy,
            } => self
                .iam
                .put_user_policy()
                .user_name(principal)
                .policy_name(name)
                .policy_document(policy)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "PutUserPolicy", e)),
            Call::DeleteInlinePolicy {
                holder: Holder::Role,
                principal,
                name,
            } => self
                .iam
                .delete_role_policy()
                .role_name(principal)
                .policy_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "DeleteRolePolicy", e)),
            Call::DeleteInlinePolicy {
                holder: Holder::User,
                principal,
                name,
            } => self
                .iam
                .delete_user_policy()
                .user_name(principal)
                .policy_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "DeleteUserPolicy", e)),
            Call::AttachPolicy {
                holder: Holder::Role,
                principal,
                policy_arn,
            } => self
                .iam
                .attach_role_policy()
                .role_name(principal)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "AttachRolePolicy", e)),
            Call::AttachPolicy {
                holder: Holder::User,
                principal,
                policy_arn,
            } => self
                .iam
                .attach_user_policy()
                .user_name(principal)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "AttachUserPolicy", e)),
            Call::DetachPolicy {
                holder: Holder::Role,
                principal,
                policy_arn,
            } => self
                .iam
                .detach_role_policy()
                .role_name(principal)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "DetachRolePolicy", e)),
            Call::DetachPolicy {
                holder: Holder::User,
                principal,
                policy_arn,
            } => self
                .iam
                .detach_user_policy()
                .user_name(principal)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "DetachUserPolicy", e)),
            Call::CreateTags { resource, tags } => self
                .ec2
                .create_tags()
                .resources(resource)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| ec2::Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("EC2", "CreateTags", e)),
            Call::DeleteTags { resource, keys } => self
                .ec2
                .delete_tags()
                .resources(resource)
                .set_tags(Some(keys.iter().map(|k| ec2::Tag::builder().key(k).build()).collect()))
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("EC2", "DeleteTags", e)),
            Call::ModifySharing { what, id, remove, add } => match what {
                Shared::Snapshot => {
                    // The operation-type form (`OperationType`, `UserId.N`, `UserGroup.N`): every
                    // EC2 endpoint, moto's included, reads it the same way.
                    for (operation, who) in [(ec2::OperationType::Remove, remove), (ec2::OperationType::Add, add)] {
                        if who.is_empty() {
                            continue;
                        }
                        let (groups, users): (Vec<String>, Vec<String>) = who.iter().cloned().partition(|w| w == "all");
                        self.ec2
                            .modify_snapshot_attribute()
                            .snapshot_id(id)
                            .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
                            .operation_type(operation)
                            .set_user_ids(Some(users).filter(|u| !u.is_empty()))
                            .set_group_names(Some(groups).filter(|g| !g.is_empty()))
                            .send()
                            .await
                            .map_err(|e| classify("EC2", "ModifySnapshotAttribute", e))?;
                    }
                    Ok(())
                }
                Shared::Image => {
                    let perm = |who: &String| {
                        if who == "all" {
                            ec2::LaunchPermission::builder()
                                .group(ec2::PermissionGroup::All)
                                .build()
                        } else {
                            ec2::LaunchPermission::builder().user_id(who).build()
                        }
                    };
                    self.ec2
                        .modify_image_attribute()
                        .image_id(id)
                        .launch_permission(
                            ec2::LaunchPermissionModifications::builder()
                                .set_remove(Some(remove.iter().map(perm).collect()).filter(|v: &Vec<_>| !v.is_empty()))
                                .set_add(Some(add.iter().map(perm).collect()).filter(|v: &Vec<_>| !v.is_empty()))
                                .build(),
                        )
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| classify("EC2", "ModifyImageAttribute", e))
                }
            },
            Call::RemovePermission { function, statement_id } => self
                .lambda
                .remove_permission()
                .function_name(function)
                .statement_id(statement_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("Lambda", "RemovePermission", e)),
            Call::UpdateAccessKey {
                user,
                access_key_id,
                status,
            } => self
                .iam
                .update_access_key()
                .user_name(user)
                .access_key_id(access_key_id)
                .status(iam::StatusType::from(status.as_str()))
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("IAM", "UpdateAccessKey", e)),
        }
    }
}

fn code_of<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

fn invalid(service: &'static str, operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Call {
        service,
        operation,
        code: "construction".into(),
        message: e.to_string(),
        retry: crate::Retry::NotRetryable,
    }
}

fn attached(policies: &[iam::AttachedPolicy]) -> Vec<String> {
    policies
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect()
}

/// The rule texts of one EC2 permission (one per peer).
fn rule_texts(p: &ec2::IpPermission) -> Vec<String> {
    let proto = p.ip_protocol().unwrap_or("-1");
    let (from, to) = (p.from_port().map(i64::from), p.to_port().map(i64::from));
    let peers = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
        .chain(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
        .chain(p.prefix_list_ids().iter().filter_map(|l| l.prefix_list_id()));
    peers
        .map(|peer| driftguard_core::diff::rule_text(proto, from, to, peer))
        .collect()
}

/// The EC2 permission of one rule.
fn permission(rule: &SgRule) -> ec2::IpPermission {
    let b = ec2::IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port.and_then(|p| i32::try_from(p).ok()))
        .set_to_port(rule.to_port.and_then(|p| i32::try_from(p).ok()));
    match &rule.peer {
        Peer::Ipv4(c) => b.ip_ranges(ec2::IpRange::builder().cidr_ip(c).build()),
        Peer::Ipv6(c) => b.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(c).build()),
        Peer::Group(g) => b.user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(g).build()),
        Peer::PrefixList(l) => b.prefix_list_ids(ec2::PrefixListId::builder().prefix_list_id(l).build()),
    }
    .build()
}

/// A function policy's statements as `<statement id>: <principal>`.
fn statements(policy: Option<&str>) -> Vec<Value> {
    let doc: Value = policy.and_then(|p| serde_json::from_str(p).ok()).unwrap_or(Value::Null);
    let mut out: Vec<String> = doc
        .get("Statement")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let sid = s.get("Sid")?.as_str()?;
            let principal = match s.get("Principal") {
                Some(Value::String(p)) => p.clone(),
                Some(Value::Object(m)) => m
                    .values()
                    .next()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            Some(driftguard_core::diff::permission_entry(sid, &principal))
        })
        .collect();
    out.sort();
    out.into_iter().map(Value::from).collect()
}

/// What [`plan_revert`] gives: the plan, or why there is none.
pub type Planned = Result<Plan, Refusal>;

/// Reads what the planner needs and plans the revert of a finding.
pub async fn plan_revert(remediator: &Remediator, finding: &Finding) -> Result<(Planned, Live), AwsError> {
    let reads = match plan::reads(finding) {
        Ok(r) => r,
        Err(refusal) => return Ok((Err(refusal), Live::new())),
    };
    let mut live = Live::new();
    for read in &reads {
        remediator.read(read, &mut live).await?;
    }
    Ok((plan::revert(finding, &live), live))
}

/// How an execution went: the trail steps, in order, and whether every call was accepted and
/// the values read back are the planned ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// `Called` per call, then `Verified`.
    pub steps: Vec<Step>,
    /// Every call succeeded and the values read back match the plan.
    pub ok: bool,
    /// The first error, when a call failed.
    pub error: Option<String>,
}

/// Makes the plan's calls in order, stopping at the first that fails, then reads the values back.
pub async fn execute(remediator: &Remediator, finding: &Finding, plan: &Plan) -> Execution {
    let mut steps = Vec::new();
    for call in &plan.calls {
        match remediator.call(call).await {
            Ok(()) => steps.push(Step::Called {
                call: call.clone(),
                ok: true,
                error: None,
            }),
            Err(e) => {
                let error = e.to_string();
                steps.push(Step::Called {
                    call: call.clone(),
                    ok: false,
                    error: Some(error.clone()),
                });
                return Execution {
                    steps,
                    ok: false,
                    error: Some(error),
                };
            }
        }
    }
    // Read back what the plan changed.
    let mut live = Live::new();
    let mut error = None;
    for read in plan::reads(finding).unwrap_or_default() {
        if let Err(e) = remediator.read(&read, &mut live).await {
            error = Some(format!("reading the result back failed: {e}"));
        }
    }
    let after: BTreeMap<String, Value> = plan
        .after
        .keys()
        .map(|k| (k.clone(), live.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    let matches = error.is_none() && plan::matches_after(plan, &after);
    steps.push(Step::Verified { after, matches });
    Execution {
        steps,
        ok: matches,
        error: error.or_else(|| (!matches).then(|| "the values read back differ from the plan".to_owned())),
    }
}

/// Why no session could be had in a finding's account.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The marker is not a valid user-agent application name.
    #[error("the remediation marker {0:?} is not a valid user-agent application name")]
    Marker(String),
    /// The member account's remediation role could not be assumed.
    #[error(
        "remediation is not enabled in account {account}: DriftGuard could not assume {role} ({source}). \
         Deploy infra/spoke.yaml in that account with EnableRemediation=true to allow it"
    )]
    NotEnabled {
        /// The account.
        account: String,
        /// The role ARN.
        role: String,
        /// What STS said.
        source: AwsError,
    },
}

/// The SDK configuration for remediating a finding: its region, the remediation marker as the
/// user-agent application name, and, for a finding in another account than `own_account`, the
/// credentials of that account's remediation role (`member_role`, assumed through STS with the
/// finding id as session name). Without the role there, remediation in that account is refused.
pub async fn session_for(
    base: &aws_config::SdkConfig,
    own_account: &str,
    member_role: &str,
    finding: &Finding,
) -> Result<aws_config::SdkConfig, SessionError> {
    let name = marker(&finding.id);
    let app = aws_config::AppName::new(name.clone()).map_err(|_| SessionError::Marker(name))?;
    let mut builder = base.to_builder();
    builder.set_app_name(Some(app));
    if !finding.resource.region.is_empty() {
        builder.set_region(Some(aws_config::Region::new(finding.resource.region.clone())));
    }
    let account = finding.resource.account.as_str();
    if account.is_empty() || account == own_account {
        return Ok(builder.build());
    }
    let role = format!("arn:aws:iam::{account}:role/{member_role}");
    let sts = aws_sdk_sts::Client::new(base);
    let assumed = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name(format!("driftguard-{}", finding.id))
        .duration_seconds(900)
        .send()
        .await
        .map_err(|e| SessionError::NotEnabled {
            account: account.to_owned(),
            role: role.clone(),
            source: classify("STS", "AssumeRole", e),
        })?;
    let Some(c) = assumed.credentials() else {
        return Err(SessionError::NotEnabled {
            account: account.to_owned(),
            role,
            source: AwsError::Corrupt {
                key: "AssumeRole".into(),
                message: "the answer holds no credentials".into(),
            },
        });
    };
    let credentials = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "driftguard-remediation-role",
    );
    builder.set_credentials_provider(Some(aws_sdk_sts::config::SharedCredentialsProvider::new(credentials)));
    Ok(builder.build())
}

/// The account the function runs in (STS GetCallerIdentity).
pub async fn own_account(base: &aws_config::SdkConfig) -> Result<String, AwsError> {
    let out = aws_sdk_sts::Client::new(base)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("STS", "GetCallerIdentity", e))?;
    Ok(out.account().unwrap_or_default().to_owned())
}

/// Whether the kill switch is on: the SSM parameter's value is `on`, `true`, `1` or `stop`
/// (any case). A missing parameter is off; any other failure to read it is an error, and the
/// caller refuses to execute (fail closed).
pub async fn kill_switch(aws: &aws_config::SdkConfig, parameter: &str) -> Result<bool, AwsError> {
    match aws_sdk_ssm::Client::new(aws)
        .get_parameter()
        .name(parameter)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .parameter()
            .and_then(|p| p.value())
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "on" | "true" | "1" | "stop"))),
        Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok(false),
        Err(e) => Err(classify("SSM", "GetParameter", e).about(parameter)),
    }
}
