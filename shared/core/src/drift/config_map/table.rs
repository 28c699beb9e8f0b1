//! The attribute maps, one per AWS Config resource type.
//!
//! Field names are those of real configuration items (the AWS Config RDK's example items, Cloud
//! Custodian's Config events, and the AWS Config resource schema for `AWS::SQS::Queue`, which has
//! no example item) and of real Terraform states (driftctl's state-reader tests, the project's
//! own `events/terraform`). Rows sharing an attribute are alternatives; split resources come
//! before the deprecated inline attribute of `aws_s3_bucket` (see the module header in `mod.rs`).

use super::{AttributeMap, ConfigNorm, ConfigNorm::*, Mapped};

const fn m(
    attribute: &'static str,
    tf_type: &'static str,
    tf_path: &'static str,
    config_path: &'static str,
    norm: ConfigNorm,
) -> Mapped {
    Mapped {
        attribute,
        tf_type,
        tf_path,
        config_path,
        norm,
    }
}

const INGRESS: ConfigNorm = SgRules { direction: "ingress" };
const EGRESS: ConfigNorm = SgRules { direction: "egress" };

/// Every attribute map.
#[rustfmt::skip]
pub static MAPS: &[AttributeMap] = &[
    AttributeMap { resource_type: "AWS::EC2::SecurityGroup", attributes: &[
        //  attribute     tf_type                                 tf_path      config_path                            norm
        m("ingress",     "aws_security_group",                   "ingress",   "configuration.ipPermissions",         INGRESS),
        m("ingress",     "aws_security_group_rule",              "",          "configuration.ipPermissions",         INGRESS),
        m("ingress",     "aws_vpc_security_group_ingress_rule",  "",          "configuration.ipPermissions",         INGRESS),
        m("egress",      "aws_security_group",                   "egress",    "configuration.ipPermissionsEgress",   EGRESS),
        m("egress",      "aws_security_group_rule",              "",          "configuration.ipPermissionsEgress",   EGRESS),
        m("egress",      "aws_vpc_security_group_egress_rule",   "",          "configuration.ipPermissionsEgress",   EGRESS),
        m("description", "aws_security_group",                   "description", "configuration.description",         Text),
        m("vpc_id",      "aws_security_group",                   "vpc_id",    "configuration.vpcId",                 Text),
        m("tags",        "aws_security_group",                   "tags",      "tags",                                Tags),
    ]},
    AttributeMap { resource_type: "AWS::S3::Bucket", attributes: &[
        //  attribute                                     tf_type                                               tf_path                                      config_path                                                        norm
        m("public_access_block.block_public_acls",       "aws_s3_bucket_public_access_block",                  "block_public_acls",                         "supplementaryConfiguration.PublicAccessBlockConfiguration.blockPublicAcls",       Bool),
        m("public_access_block.ignore_public_acls",      "aws_s3_bucket_public_access_block",                  "ignore_public_acls",                        "supplementaryConfiguration.PublicAccessBlockConfiguration.ignorePublicAcls",      Bool),
        m("public_access_block.block_public_policy",     "aws_s3_bucket_public_access_block",                  "block_public_policy",                       "supplementaryConfiguration.PublicAccessBlockConfiguration.blockPublicPolicy",     Bool),
        m("public_access_block.restrict_public_buckets", "aws_s3_bucket_public_access_block",                  "restrict_public_buckets",                   "supplementaryConfiguration.PublicAccessBlockConfiguration.restrictPublicBuckets", Bool),
        m("policy",                                      "aws_s3_bucket_policy",                               "policy",                                    "supplementaryConfiguration.BucketPolicy.policyText",                              Policy),
        m("policy",                                      "aws_s3_bucket",                                      "policy",                                    "supplementaryConfiguration.BucketPolicy.policyText",                              Policy),
        m("versioning",                                  "aws_s3_bucket_versioning",                           "versioning_configuration.0.status",         "supplementaryConfiguration.BucketVersioningConfiguration.status",                 Versioning),
        m("versioning",                                  "aws_s3_bucket",                                      "versioning.0.enabled",                      "supplementaryConfiguration.BucketVersioningConfiguration.status",                 Versioning),
        m("server_side_encryption",                      "aws_s3_bucket_server_side_encryption_configuration", "rule",                                      "supplementaryConfiguration.ServerSideEncryptionConfiguration",                    Encryption),
        m("server_side_encryption",                      "aws_s3_bucket",                                      "server_side_encryption_configuration.0.rule", "supplementaryConfiguration.ServerSideEncryptionConfiguration",                  Encryption),
        m("logging.target_bucket",                       "aws_s3_bucket_logging",                              "target_bucket",                             "supplementaryConfiguration.BucketLoggingConfiguration.destinationBucketName",     Text),
        m("logging.target_bucket",                       "aws_s3_bucket",                                      "logging.0.target_bucket",                   "supplementaryConfiguration.BucketLoggingConfiguration.destinationBucketName",     Text),
        m("tags",                                        "aws_s3_bucket",                                      "tags",                                      "tags",                                                                            Tags),
    ]},
    AttributeMap { resource_type: "AWS::IAM::Role", attributes: &[
        //  attribute               tf_type                            tf_path                 config_path                                                     norm
        m("assume_role_policy",    "aws_iam_role",                    "assume_role_policy",   "configuration.assumeRolePolicyDocument",                       Policy),
        m("managed_policy_arns",   "aws_iam_role",                    "managed_policy_arns",  "configuration.attachedManagedPolicies",                        ManagedPolicyArns),
        m("managed_policy_arns",   "aws_iam_role_policy_attachment",  "policy_arn",           "configuration.attachedManagedPolicies",                        ManagedPolicyArns),
        m("managed_policy_arns",   "aws_iam_policy_attachment",       "policy_arn",           "configuration.attachedManagedPolicies",                        ManagedPolicyArns),
        m("inline_policy",         "aws_iam_role",                    "inline_policy",        "configuration.rolePolicyList",                                 InlinePolicies),
        m("inline_policy",         "aws_iam_role_policy",             "",                     "configuration.rolePolicyList",                                 InlinePolicies),
        m("permissions_boundary",  "aws_iam_role",                    "permissions_boundary", "configuration.permissionsBoundary.permissionsBoundaryArn",     Text),
        m("max_session_duration",  "aws_iam_role",                    "max_session_duration", "configuration.maxSessionDuration",                             Int),
        m("path",                  "aws_iam_role",                    "path",                 "configuration.path",                                           Text),
        m("tags",                  "aws_iam_role",                    "tags",                 "tags",                                                         Tags),
    ]},
    AttributeMap { resource_type: "AWS::IAM::Policy", attributes: &[
        //  attribute  tf_type           tf_path   config_path                                                  norm
        m("policy",   "aws_iam_policy", "policy", "configuration.policyVersionList[?isDefaultVersion].document", Policy),
        m("path",     "aws_iam_policy", "path",   "configuration.path",                                         Text),
        m("tags",     "aws_iam_policy", "tags",   "tags",                                                       Tags),
    ]},
    AttributeMap { resource_type: "AWS::EC2::Instance", attributes: &[
        //  attribute                      tf_type         tf_path                            config_path                                 norm
        m("instance_type",                "aws_instance", "instance_type",                   "configuration.instanceType",               Text),
        m("ami",                          "aws_instance", "ami",                             "configuration.imageId",                    Text),
        m("vpc_security_group_ids",       "aws_instance", "vpc_security_group_ids",          "configuration.securityGroups",             IdSet),
        m("subnet_id",                    "aws_instance", "subnet_id",                       "configuration.subnetId",                   Text),
        m("key_name",                     "aws_instance", "key_name",                        "configuration.keyName",                    Text),
        m("iam_instance_profile",         "aws_instance", "iam_instance_profile",            "configuration.iamInstanceProfile.arn",     NameFromArn),
        m("metadata_options.http_tokens", "aws_instance", "metadata_options.0.http_tokens",  "configuration.metadataOptions.httpTokens",  Text),
        m("monitoring",                   "aws_instance", "monitoring",                      "configuration.monitoring.state",           EnabledState),
        m("ebs_optimized",                "aws_instance", "ebs_optimized",                   "configuration.ebsOptimized",               Bool),
        m("source_dest_check",            "aws_instance", "source_dest_check",               "configuration.sourceDestCheck",            Bool),
        m("tags",                         "aws_instance", "tags",                            "tags",                                     Tags),
    ]},
    AttributeMap { resource_type: "AWS::RDS::DBInstance", attributes: &[
        //  attribute                 tf_type            tf_path                    config_path                             norm
        m("instance_class",          "aws_db_instance", "instance_class",          "configuration.dBInstanceClass",        Text),
        m("publicly_accessible",     "aws_db_instance", "publicly_accessible",     "configuration.publiclyAccessible",     Bool),
        m("storage_encrypted",       "aws_db_instance", "storage_encrypted",       "configuration.storageEncrypted",       Bool),
        m("kms_key_id",              "aws_db_instance", "kms_key_id",              "configuration.kmsKeyId",               KmsKey),
        m("multi_az",                "aws_db_instance", "multi_az",                "configuration.multiAZ",                Bool),
        m("backup_retention_period", "aws_db_instance", "backup_retention_period", "configuration.backupRetentionPeriod",  Int),
        m("allocated_storage",       "aws_db_instance", "allocated_storage",       "configuration.allocatedStorage",       Int),
        m("deletion_protection",     "aws_db_instance", "deletion_protection",     "configuration.deletionProtection",     Bool),
        m("vpc_security_group_ids",  "aws_db_instance", "vpc_security_group_ids",  "configuration.vpcSecurityGroups",      IdSet),
        m("tags",                    "aws_db_instance", "tags",                    "tags",                                 Tags),
    ]},
    AttributeMap { resource_type: "AWS::Lambda::Function", attributes: &[
        //  attribute                        tf_type                tf_path                            config_path                                norm
        m("runtime",                        "aws_lambda_function", "runtime",                         "configuration.runtime",                   Text),
        m("handler",                        "aws_lambda_function", "handler",                         "configuration.handler",                   Text),
        m("role",                           "aws_lambda_function", "role",                            "configuration.role",                      Text),
        m("memory_size",                    "aws_lambda_function", "memory_size",                     "configuration.memorySize",                Int),
        m("timeout",                        "aws_lambda_function", "timeout",                         "configuration.timeout",                   Int),
        m("vpc_config.security_group_ids",  "aws_lambda_function", "vpc_config.0.security_group_ids", "configuration.vpcConfig.securityGroupIds", IdSet),
        m("vpc_config.subnet_ids",          "aws_lambda_function", "vpc_config.0.subnet_ids",         "configuration.vpcConfig.subnetIds",       IdSet),
        m("tracing_config.mode",            "aws_lambda_function", "tracing_config.0.mode",           "configuration.tracingConfig.mode",        Text),
        m("kms_key_arn",                    "aws_lambda_function", "kms_key_arn",                     "configuration.kmsKeyArn",                 KmsKey),
        m("tags",                           "aws_lambda_function", "tags",                            "tags",                                    Tags),
    ]},
    AttributeMap { resource_type: "AWS::DynamoDB::Table", attributes: &[
        //  attribute                        tf_type               tf_path                            config_path                                                                                      norm
        m("billing_mode",                   "aws_dynamodb_table", "billing_mode",                    "configuration.billingModeSummary.billingMode",                                                  Text),
        m("read_capacity",                  "aws_dynamodb_table", "read_capacity",                   "configuration.provisionedThroughput.readCapacityUnits",                                         Int),
        m("write_capacity",                 "aws_dynamodb_table", "write_capacity",                  "configuration.provisionedThroughput.writeCapacityUnits",                                        Int),
        m("point_in_time_recovery.enabled", "aws_dynamodb_table", "point_in_time_recovery.0.enabled", "supplementaryConfiguration.ContinuousBackupsDescription.pointInTimeRecoveryDescription.pointInTimeRecoveryStatus", EnabledState),
        m("tags",                           "aws_dynamodb_table", "tags",                            "tags",                                                                                          Tags),
    ]},
    AttributeMap { resource_type: "AWS::KMS::Key", attributes: &[
        //  attribute                  tf_type        tf_path                     config_path                          norm
        m("policy",                   "aws_kms_key", "policy",                   "supplementaryConfiguration.Policy", Policy),
        m("is_enabled",               "aws_kms_key", "is_enabled",               "configuration.enabled",             Bool),
        m("key_usage",                "aws_kms_key", "key_usage",                "configuration.keyUsage",            Text),
        m("customer_master_key_spec", "aws_kms_key", "customer_master_key_spec", "configuration.keySpec",             Text),
        m("multi_region",             "aws_kms_key", "multi_region",             "configuration.multiRegion",         Bool),
        m("description",              "aws_kms_key", "description",              "configuration.description",         Text),
        m("tags",                     "aws_kms_key", "tags",                     "tags",                              Tags),
    ]},
    AttributeMap { resource_type: "AWS::SNS::Topic", attributes: &[
        //  attribute           tf_type          tf_path              config_path                       norm
        m("policy",            "aws_sns_topic", "policy",            "configuration.Policy",           Policy),
        m("kms_master_key_id", "aws_sns_topic", "kms_master_key_id", "configuration.KmsMasterKeyId",   KmsKey),
        m("display_name",      "aws_sns_topic", "display_name",      "configuration.DisplayName",      Text),
        m("tags",              "aws_sns_topic", "tags",              "tags",                           Tags),
    ]},
    AttributeMap { resource_type: "AWS::SQS::Queue", attributes: &[
        //  attribute                   tf_type          tf_path                     config_path                                  norm
        m("policy",                    "aws_sqs_queue_policy", "policy",           "configuration.Policy",                      Policy),
        m("policy",                    "aws_sqs_queue", "policy",                    "configuration.Policy",                      Policy),
        m("kms_master_key_id",         "aws_sqs_queue", "kms_master_key_id",         "configuration.KmsMasterKeyId",              KmsKey),
        m("sqs_managed_sse_enabled",   "aws_sqs_queue", "sqs_managed_sse_enabled",   "configuration.SqsManagedSseEnabled",        Bool),
        m("visibility_timeout_seconds","aws_sqs_queue", "visibility_timeout_seconds","configuration.VisibilityTimeout",           Int),
        m("message_retention_seconds", "aws_sqs_queue", "message_retention_seconds", "configuration.MessageRetentionPeriod",      Int),
        m("max_message_size",          "aws_sqs_queue", "max_message_size",          "configuration.MaximumMessageSize",          Int),
        m("delay_seconds",             "aws_sqs_queue", "delay_seconds",             "configuration.DelaySeconds",                Int),
        m("receive_wait_time_seconds", "aws_sqs_queue", "receive_wait_time_seconds", "configuration.ReceiveMessageWaitTimeSeconds", Int),
        m("tags",                      "aws_sqs_queue", "tags",                      "tags",                                      Tags),
    ]},
    AttributeMap { resource_type: "AWS::ElasticLoadBalancingV2::LoadBalancer", attributes: &[
        //  attribute                    tf_type   tf_path                      config_path                                                                   norm
        m("internal",                   "aws_lb", "internal",                  "configuration.scheme",                                                       LbScheme),
        m("internal",                   "aws_alb", "internal",                 "configuration.scheme",                                                       LbScheme),
        m("load_balancer_type",         "aws_lb", "load_balancer_type",        "configuration.type",                                                         Text),
        m("load_balancer_type",         "aws_alb", "load_balancer_type",       "configuration.type",                                                         Text),
        m("security_groups",            "aws_lb", "security_groups",           "configuration.securityGroups",                                               IdSet),
        m("security_groups",            "aws_alb", "security_groups",          "configuration.securityGroups",                                               IdSet),
        m("subnets",                    "aws_lb", "subnets",                   "configuration.availabilityZones",                                            IdSet),
        m("subnets",                    "aws_alb", "subnets",                  "configuration.availabilityZones",                                            IdSet),
        m("enable_deletion_protection", "aws_lb", "enable_deletion_protection", "supplementaryConfiguration.LoadBalancerAttributes[deletion_protection.enabled]", Bool),
        m("enable_deletion_protection", "aws_alb", "enable_deletion_protection", "supplementaryConfiguration.LoadBalancerAttributes[deletion_protection.enabled]", Bool),
        m("idle_timeout",               "aws_lb", "idle_timeout",              "supplementaryConfiguration.LoadBalancerAttributes[idle_timeout.timeout_seconds]", Int),
        m("idle_timeout",               "aws_alb", "idle_timeout",             "supplementaryConfiguration.LoadBalancerAttributes[idle_timeout.timeout_seconds]", Int),
        m("access_logs.enabled",        "aws_lb", "access_logs.0.enabled",     "supplementaryConfiguration.LoadBalancerAttributes[access_logs.s3.enabled]",  Bool),
        m("access_logs.enabled",        "aws_alb", "access_logs.0.enabled",    "supplementaryConfiguration.LoadBalancerAttributes[access_logs.s3.enabled]",  Bool),
        m("access_logs.bucket",         "aws_lb", "access_logs.0.bucket",      "supplementaryConfiguration.LoadBalancerAttributes[access_logs.s3.bucket]",   Text),
        m("access_logs.bucket",         "aws_alb", "access_logs.0.bucket",     "supplementaryConfiguration.LoadBalancerAttributes[access_logs.s3.bucket]",   Text),
        m("tags",                       "aws_lb", "tags",                      "tags",                                                                       Tags),
        m("tags",                       "aws_alb", "tags",                     "tags",                                                                       Tags),
    ]},
];
