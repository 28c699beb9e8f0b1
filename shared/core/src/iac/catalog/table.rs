//! The catalog's data: one row per mutating CloudTrail management event that DriftGuard maps to
//! a resource.
//!
//! Conventions every row follows:
//!
//! - **Key.** A row is keyed on `(eventSource, eventName)`, never on the name alone: the same name
//!   means different things in different services (`CreateTable` in DynamoDB and Glue,
//!   `CreateCluster` / `DeleteCluster` in ECS, EKS and Redshift, `DeleteTags` in EC2 and Auto
//!   Scaling, `DeleteRule` in ELBv2 and EventBridge, `DeletePolicy` in IAM and Auto Scaling,
//!   `AddPermission` in SNS and SQS, `TagResource` nearly everywhere). Names are spelled exactly
//!   as CloudTrail records them, including Lambda's dated suffixes (`CreateFunction20150331`).
//! - **Resource.** `resource_type` is the CloudFormation / AWS Config type of the resource the
//!   call changes. When the call changes a piece of a resource (a security-group rule, an inline
//!   role policy, a bucket's versioning, a route), the resource is the parent that owns the piece.
//! - **Terraform.** `terraform` names the parent's primary Terraform type first, then the types
//!   that can declare the changed piece on their own (`aws_security_group_rule`,
//!   `aws_iam_role_policy`, `aws_s3_bucket_versioning`, ...).
//! - **Id.** `id` lists where the resource's id sits in the record, most reliable first. For a
//!   create whose id exists only in the response, the `Response` path comes first. Newer EC2 APIs
//!   wrap their parameters (`ModifySecurityGroupRulesRequest.GroupId`,
//!   `CreateNatGatewayResponse.natGateway.natGatewayId`); where CloudTrail records a list as
//!   either one object or an array, both spellings are listed. `Resources(..)` is the last resort,
//!   used only for services known to fill `resources[]` (S3 bucket calls, KMS, DynamoDB).
//! - **Tags.** `CreateTags` / `DeleteTags` in EC2 apply to any EC2 resource; their rows name the
//!   placeholder type `AWS::EC2::Resource` and no Terraform type, and the interpreter derives the
//!   real type from the id's prefix (`sg-`, `i-`, `vpc-`, ...). Other tag-only calls carry the
//!   service's main resource type; where that service tags several types with one call
//!   (ELBv2 `AddTags`, RDS `AddTagsToResource`, Route 53 `ChangeTagsForResource`), the id is an
//!   ARN or id whose form tells the real type.
//!
//! Only mutating calls belong here: no `Describe*`, `Get*`, `List*`, and no calls that change
//! nothing a template declares (reboots, failovers, data-plane reads and writes).

use super::{Entry, IdPath, IdPath::*, Op, Op::*};

/// Builds one row; keeps each row of [`ENTRIES`] on one line.
const fn e(
    source: &'static str,
    name: &'static str,
    resource_type: &'static str,
    terraform: &'static [&'static str],
    op: Op,
    id: &'static [IdPath],
) -> Entry {
    Entry {
        source,
        name,
        resource_type,
        terraform,
        op,
        id,
    }
}

// ---- event sources ----
const EC2: &str = "ec2.amazonaws.com";
const S3: &str = "s3.amazonaws.com";
const IAM: &str = "iam.amazonaws.com";
const LAMBDA: &str = "lambda.amazonaws.com";
const RDS: &str = "rds.amazonaws.com";
const DYNAMODB: &str = "dynamodb.amazonaws.com";
const GLUE: &str = "glue.amazonaws.com";
const ELB: &str = "elasticloadbalancing.amazonaws.com";
const ECS: &str = "ecs.amazonaws.com";
const EKS: &str = "eks.amazonaws.com";
const REDSHIFT: &str = "redshift.amazonaws.com";
const KMS: &str = "kms.amazonaws.com";
const SNS: &str = "sns.amazonaws.com";
const SQS: &str = "sqs.amazonaws.com";
const ROUTE53: &str = "route53.amazonaws.com";
const CLOUDFRONT: &str = "cloudfront.amazonaws.com";
const AUTOSCALING: &str = "autoscaling.amazonaws.com";
const APIGATEWAY: &str = "apigateway.amazonaws.com";
const SECRETS: &str = "secretsmanager.amazonaws.com";
const SSM: &str = "ssm.amazonaws.com";
const INSTANCE_CONNECT: &str = "ec2-instance-connect.amazonaws.com";
const CLOUDWATCH: &str = "monitoring.amazonaws.com";
const LOGS: &str = "logs.amazonaws.com";
const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
const GUARDDUTY: &str = "guardduty.amazonaws.com";
const CONFIG: &str = "config.amazonaws.com";
const ECR: &str = "ecr.amazonaws.com";
const ES: &str = "es.amazonaws.com";
const EFS: &str = "elasticfilesystem.amazonaws.com";
const CODEBUILD: &str = "codebuild.amazonaws.com";
const EVENTS: &str = "events.amazonaws.com";
const RAM: &str = "ram.amazonaws.com";

// ---- resource types ----
const T_SG: &str = "AWS::EC2::SecurityGroup";
const T_EC2_ANY: &str = "AWS::EC2::Resource";
const T_INSTANCE: &str = "AWS::EC2::Instance";
const T_KEY_PAIR: &str = "AWS::EC2::KeyPair";
const T_LAUNCH_TEMPLATE: &str = "AWS::EC2::LaunchTemplate";
const T_VPC: &str = "AWS::EC2::VPC";
const T_IGW: &str = "AWS::EC2::InternetGateway";
const T_SUBNET: &str = "AWS::EC2::Subnet";
const T_ROUTE_TABLE: &str = "AWS::EC2::RouteTable";
const T_NACL: &str = "AWS::EC2::NetworkAcl";
const T_NAT: &str = "AWS::EC2::NatGateway";
const T_VOLUME: &str = "AWS::EC2::Volume";
const T_EIP: &str = "AWS::EC2::EIP";
const T_ENI: &str = "AWS::EC2::NetworkInterface";
const T_VPCE: &str = "AWS::EC2::VPCEndpoint";
const T_PEERING: &str = "AWS::EC2::VPCPeeringConnection";
const T_FLOW_LOG: &str = "AWS::EC2::FlowLog";
const T_TGW: &str = "AWS::EC2::TransitGateway";
const T_TGW_ATTACH: &str = "AWS::EC2::TransitGatewayAttachment";
const T_TM_TARGET: &str = "AWS::EC2::TrafficMirrorTarget";
const T_TM_FILTER: &str = "AWS::EC2::TrafficMirrorFilter";
const T_TM_SESSION: &str = "AWS::EC2::TrafficMirrorSession";
const T_BUCKET: &str = "AWS::S3::Bucket";
const T_ROLE: &str = "AWS::IAM::Role";
const T_USER: &str = "AWS::IAM::User";
const T_GROUP: &str = "AWS::IAM::Group";
const T_POLICY: &str = "AWS::IAM::Policy";
const T_INSTANCE_PROFILE: &str = "AWS::IAM::InstanceProfile";
const T_SAML: &str = "AWS::IAM::SAMLProvider";
const T_OIDC: &str = "AWS::IAM::OIDCProvider";
const T_FUNCTION: &str = "AWS::Lambda::Function";
const T_LAYER: &str = "AWS::Lambda::LayerVersion";
const T_DB_INSTANCE: &str = "AWS::RDS::DBInstance";
const T_DB_CLUSTER: &str = "AWS::RDS::DBCluster";
const T_DB_SNAPSHOT: &str = "AWS::RDS::DBSnapshot";
const T_DB_CLUSTER_SNAPSHOT: &str = "AWS::RDS::DBClusterSnapshot";
const T_EBS_SNAPSHOT: &str = "AWS::EC2::Snapshot";
const T_IMAGE: &str = "AWS::EC2::Image";
const T_DB_PG: &str = "AWS::RDS::DBParameterGroup";
const T_DB_CLUSTER_PG: &str = "AWS::RDS::DBClusterParameterGroup";
const T_DB_SUBNET_GROUP: &str = "AWS::RDS::DBSubnetGroup";
const T_DB_OPTION_GROUP: &str = "AWS::RDS::OptionGroup";
const T_DB_SG: &str = "AWS::RDS::DBSecurityGroup";
const T_TABLE: &str = "AWS::DynamoDB::Table";
const T_GLUE_TABLE: &str = "AWS::Glue::Table";
const T_LB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";
const T_TG: &str = "AWS::ElasticLoadBalancingV2::TargetGroup";
const T_LISTENER: &str = "AWS::ElasticLoadBalancingV2::Listener";
const T_LISTENER_RULE: &str = "AWS::ElasticLoadBalancingV2::ListenerRule";
const T_CLASSIC_LB: &str = "AWS::ElasticLoadBalancing::LoadBalancer";
const T_ECS_CLUSTER: &str = "AWS::ECS::Cluster";
const T_ECS_SERVICE: &str = "AWS::ECS::Service";
const T_TASK_DEF: &str = "AWS::ECS::TaskDefinition";
const T_EKS_CLUSTER: &str = "AWS::EKS::Cluster";
const T_NODEGROUP: &str = "AWS::EKS::Nodegroup";
const T_ADDON: &str = "AWS::EKS::Addon";
const T_REDSHIFT: &str = "AWS::Redshift::Cluster";
const T_KEY: &str = "AWS::KMS::Key";
const T_KEY_ALIAS: &str = "AWS::KMS::Alias";
const T_TOPIC: &str = "AWS::SNS::Topic";
const T_QUEUE: &str = "AWS::SQS::Queue";
const T_ZONE: &str = "AWS::Route53::HostedZone";
const T_HEALTH_CHECK: &str = "AWS::Route53::HealthCheck";
const T_DISTRIBUTION: &str = "AWS::CloudFront::Distribution";
const T_OAI: &str = "AWS::CloudFront::CloudFrontOriginAccessIdentity";
const T_CF_FUNCTION: &str = "AWS::CloudFront::Function";
const T_ASG: &str = "AWS::AutoScaling::AutoScalingGroup";
const T_LAUNCH_CONFIG: &str = "AWS::AutoScaling::LaunchConfiguration";
const T_REST_API: &str = "AWS::ApiGateway::RestApi";
const T_SECRET: &str = "AWS::SecretsManager::Secret";
const T_PARAMETER: &str = "AWS::SSM::Parameter";
const T_DOCUMENT: &str = "AWS::SSM::Document";
const T_ASSOCIATION: &str = "AWS::SSM::Association";
const T_ALARM: &str = "AWS::CloudWatch::Alarm";
const T_COMPOSITE_ALARM: &str = "AWS::CloudWatch::CompositeAlarm";
const T_DASHBOARD: &str = "AWS::CloudWatch::Dashboard";
const T_LOG_GROUP: &str = "AWS::Logs::LogGroup";
const T_TRAIL: &str = "AWS::CloudTrail::Trail";
const T_DETECTOR: &str = "AWS::GuardDuty::Detector";
const T_RECORDER: &str = "AWS::Config::ConfigurationRecorder";
const T_REPOSITORY: &str = "AWS::ECR::Repository";
const T_ES_DOMAIN: &str = "AWS::Elasticsearch::Domain";
const T_OS_DOMAIN: &str = "AWS::OpenSearchService::Domain";
const T_MOUNT_TARGET: &str = "AWS::EFS::MountTarget";
const T_FILE_SYSTEM: &str = "AWS::EFS::FileSystem";
const T_PROJECT: &str = "AWS::CodeBuild::Project";
const T_EVENT_RULE: &str = "AWS::Events::Rule";
const T_RESOURCE_SHARE: &str = "AWS::RAM::ResourceShare";

// ---- Terraform type lists (primary first, then the types that declare a piece separately) ----
const TF_SG: &[&str] = &["aws_security_group"];
const TF_SG_INGRESS: &[&str] = &[
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
];
const TF_SG_EGRESS: &[&str] = &[
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_egress_rule",
];
const TF_SG_ANY_RULE: &[&str] = &[
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
];
const TF_NONE: &[&str] = &[];
const TF_INSTANCE: &[&str] = &["aws_instance"];
const TF_INSTANCE_STATE: &[&str] = &["aws_instance", "aws_ec2_instance_state"];
const TF_KEY_PAIR: &[&str] = &["aws_key_pair"];
const TF_LAUNCH_TEMPLATE: &[&str] = &["aws_launch_template"];
const TF_VPC: &[&str] = &["aws_vpc"];
const TF_VPC_CIDR: &[&str] = &[
    "aws_vpc",
    "aws_vpc_ipv4_cidr_block_association",
    "aws_vpc_ipv6_cidr_block_association",
];
const TF_IGW: &[&str] = &["aws_internet_gateway"];
const TF_IGW_ATTACH: &[&str] = &["aws_internet_gateway", "aws_internet_gateway_attachment"];
const TF_SUBNET: &[&str] = &["aws_subnet"];
const TF_ROUTE_TABLE: &[&str] = &["aws_route_table"];
const TF_ROUTE: &[&str] = &["aws_route_table", "aws_route"];
const TF_RT_ASSOC: &[&str] = &[
    "aws_route_table",
    "aws_route_table_association",
    "aws_main_route_table_association",
];
const TF_NACL: &[&str] = &["aws_network_acl"];
const TF_NACL_RULE: &[&str] = &["aws_network_acl", "aws_network_acl_rule"];
const TF_NACL_ASSOC: &[&str] = &["aws_network_acl", "aws_network_acl_association"];
const TF_NAT: &[&str] = &["aws_nat_gateway"];
const TF_VOLUME: &[&str] = &["aws_ebs_volume"];
const TF_VOLUME_ATTACH: &[&str] = &["aws_ebs_volume", "aws_volume_attachment"];
const TF_EIP: &[&str] = &["aws_eip"];
const TF_EIP_ASSOC: &[&str] = &["aws_eip", "aws_eip_association"];
const TF_ENI: &[&str] = &["aws_network_interface"];
const TF_ENI_ATTR: &[&str] = &["aws_network_interface", "aws_network_interface_sg_attachment"];
const TF_VPCE: &[&str] = &["aws_vpc_endpoint"];
const TF_PEERING: &[&str] = &["aws_vpc_peering_connection"];
const TF_PEERING_ACCEPT: &[&str] = &["aws_vpc_peering_connection", "aws_vpc_peering_connection_accepter"];
const TF_FLOW_LOG: &[&str] = &["aws_flow_log"];
const TF_TGW: &[&str] = &["aws_ec2_transit_gateway"];
const TF_TGW_ATTACH: &[&str] = &["aws_ec2_transit_gateway_vpc_attachment"];
const TF_TM_TARGET: &[&str] = &["aws_ec2_traffic_mirror_target"];
const TF_TM_FILTER: &[&str] = &["aws_ec2_traffic_mirror_filter"];
const TF_TM_FILTER_RULE: &[&str] = &["aws_ec2_traffic_mirror_filter", "aws_ec2_traffic_mirror_filter_rule"];
const TF_TM_SESSION: &[&str] = &["aws_ec2_traffic_mirror_session"];

const TF_BUCKET: &[&str] = &["aws_s3_bucket"];
const TF_BUCKET_POLICY: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_policy"];
const TF_BUCKET_PAB: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_public_access_block"];
const TF_BUCKET_VERSIONING: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_versioning"];
const TF_BUCKET_SSE: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_server_side_encryption_configuration"];
const TF_BUCKET_ACL: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_acl"];
const TF_BUCKET_LIFECYCLE: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_lifecycle_configuration"];
const TF_BUCKET_LOGGING: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_logging"];
const TF_BUCKET_CORS: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_cors_configuration"];
const TF_BUCKET_WEBSITE: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_website_configuration"];
const TF_BUCKET_REPLICATION: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_replication_configuration"];
const TF_BUCKET_OWNERSHIP: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_ownership_controls"];
const TF_BUCKET_NOTIFICATION: &[&str] = &["aws_s3_bucket", "aws_s3_bucket_notification"];

const TF_ROLE: &[&str] = &["aws_iam_role"];
const TF_ROLE_INLINE: &[&str] = &["aws_iam_role", "aws_iam_role_policy"];
const TF_ROLE_ATTACH: &[&str] = &[
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
];
const TF_SERVICE_LINKED_ROLE: &[&str] = &["aws_iam_service_linked_role"];
const TF_USER: &[&str] = &["aws_iam_user"];
const TF_USER_INLINE: &[&str] = &["aws_iam_user", "aws_iam_user_policy"];
const TF_USER_ATTACH: &[&str] = &[
    "aws_iam_user",
    "aws_iam_user_policy_attachment",
    "aws_iam_policy_attachment",
];
const TF_USER_LOGIN: &[&str] = &["aws_iam_user", "aws_iam_user_login_profile"];
const TF_USER_KEY: &[&str] = &["aws_iam_user", "aws_iam_access_key"];
const TF_USER_SSH_KEY: &[&str] = &["aws_iam_user", "aws_iam_user_ssh_key"];
const TF_USER_SERVICE_CREDENTIAL: &[&str] = &["aws_iam_user", "aws_iam_service_specific_credential"];
const TF_USER_MFA: &[&str] = &["aws_iam_user", "aws_iam_virtual_mfa_device"];
const TF_GROUP: &[&str] = &["aws_iam_group"];
const TF_GROUP_INLINE: &[&str] = &["aws_iam_group", "aws_iam_group_policy"];
const TF_GROUP_ATTACH: &[&str] = &[
    "aws_iam_group",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
];
const TF_GROUP_MEMBERS: &[&str] = &[
    "aws_iam_group",
    "aws_iam_group_membership",
    "aws_iam_user_group_membership",
];
const TF_POLICY: &[&str] = &["aws_iam_policy"];
const TF_INSTANCE_PROFILE: &[&str] = &["aws_iam_instance_profile"];
const TF_SAML: &[&str] = &["aws_iam_saml_provider"];
const TF_OIDC: &[&str] = &["aws_iam_openid_connect_provider"];

const TF_FUNCTION: &[&str] = &["aws_lambda_function"];
const TF_FUNCTION_PERMISSION: &[&str] = &["aws_lambda_function", "aws_lambda_permission"];
const TF_FUNCTION_ALIAS: &[&str] = &["aws_lambda_function", "aws_lambda_alias"];
const TF_FUNCTION_ESM: &[&str] = &["aws_lambda_function", "aws_lambda_event_source_mapping"];
const TF_FUNCTION_URL: &[&str] = &["aws_lambda_function", "aws_lambda_function_url"];
const TF_FUNCTION_INVOKE_CONFIG: &[&str] = &["aws_lambda_function", "aws_lambda_function_event_invoke_config"];
const TF_FUNCTION_PROVISIONED: &[&str] = &["aws_lambda_function", "aws_lambda_provisioned_concurrency_config"];
const TF_LAYER: &[&str] = &["aws_lambda_layer_version"];

const TF_DB_INSTANCE: &[&str] = &["aws_db_instance"];
const TF_DB_INSTANCE_ROLE: &[&str] = &["aws_db_instance", "aws_db_instance_role_association"];
const TF_DB_CLUSTER: &[&str] = &["aws_rds_cluster"];
const TF_DB_SNAPSHOT: &[&str] = &["aws_db_snapshot", "aws_db_snapshot_copy"];
const TF_DB_CLUSTER_SNAPSHOT: &[&str] = &["aws_db_cluster_snapshot"];
const TF_EBS_SNAPSHOT: &[&str] = &[
    "aws_ebs_snapshot",
    "aws_ebs_snapshot_copy",
    "aws_snapshot_create_volume_permission",
];
const TF_IMAGE: &[&str] = &[
    "aws_ami",
    "aws_ami_copy",
    "aws_ami_from_instance",
    "aws_ami_launch_permission",
];
const TF_DB_CLUSTER_ROLE: &[&str] = &["aws_rds_cluster", "aws_rds_cluster_role_association"];
const TF_DB_PG: &[&str] = &["aws_db_parameter_group"];
const TF_DB_CLUSTER_PG: &[&str] = &["aws_rds_cluster_parameter_group"];
const TF_DB_SUBNET_GROUP: &[&str] = &["aws_db_subnet_group"];
const TF_DB_OPTION_GROUP: &[&str] = &["aws_db_option_group"];
const TF_DB_SG: &[&str] = &["aws_db_security_group"];

const TF_TABLE: &[&str] = &["aws_dynamodb_table"];
const TF_GLUE_TABLE: &[&str] = &["aws_glue_catalog_table"];

const TF_LB: &[&str] = &["aws_lb", "aws_alb"];
const TF_TG: &[&str] = &["aws_lb_target_group", "aws_alb_target_group"];
const TF_TG_ATTACH: &[&str] = &[
    "aws_lb_target_group",
    "aws_alb_target_group",
    "aws_lb_target_group_attachment",
];
const TF_LISTENER: &[&str] = &["aws_lb_listener", "aws_alb_listener"];
const TF_LISTENER_CERT: &[&str] = &["aws_lb_listener", "aws_alb_listener", "aws_lb_listener_certificate"];
const TF_LISTENER_RULE: &[&str] = &["aws_lb_listener_rule", "aws_alb_listener_rule"];
const TF_CLASSIC_LB: &[&str] = &["aws_elb"];
const TF_CLASSIC_LB_POLICY: &[&str] = &[
    "aws_elb",
    "aws_load_balancer_policy",
    "aws_load_balancer_listener_policy",
];
const TF_CLASSIC_LB_ATTACH: &[&str] = &["aws_elb", "aws_elb_attachment"];

const TF_ECS_CLUSTER: &[&str] = &["aws_ecs_cluster"];
const TF_ECS_CAPACITY: &[&str] = &["aws_ecs_cluster", "aws_ecs_cluster_capacity_providers"];
const TF_ECS_SERVICE: &[&str] = &["aws_ecs_service"];
const TF_TASK_DEF: &[&str] = &["aws_ecs_task_definition"];
const TF_EKS_CLUSTER: &[&str] = &["aws_eks_cluster"];
const TF_NODEGROUP: &[&str] = &["aws_eks_node_group"];
const TF_ADDON: &[&str] = &["aws_eks_addon"];
const TF_REDSHIFT: &[&str] = &["aws_redshift_cluster"];

const TF_KEY: &[&str] = &["aws_kms_key"];
const TF_KEY_POLICY: &[&str] = &["aws_kms_key", "aws_kms_key_policy"];
const TF_KEY_ALIAS: &[&str] = &["aws_kms_alias"];
const TF_TOPIC: &[&str] = &["aws_sns_topic"];
const TF_TOPIC_POLICY: &[&str] = &["aws_sns_topic", "aws_sns_topic_policy"];
const TF_TOPIC_SUBSCRIPTION: &[&str] = &["aws_sns_topic", "aws_sns_topic_subscription"];
const TF_QUEUE: &[&str] = &["aws_sqs_queue"];
const TF_QUEUE_ATTRS: &[&str] = &[
    "aws_sqs_queue",
    "aws_sqs_queue_policy",
    "aws_sqs_queue_redrive_policy",
    "aws_sqs_queue_redrive_allow_policy",
];
const TF_QUEUE_POLICY: &[&str] = &["aws_sqs_queue", "aws_sqs_queue_policy"];

const TF_ZONE: &[&str] = &["aws_route53_zone"];
const TF_ZONE_RECORDS: &[&str] = &["aws_route53_zone", "aws_route53_record"];
const TF_ZONE_VPC: &[&str] = &["aws_route53_zone", "aws_route53_zone_association"];
const TF_HEALTH_CHECK: &[&str] = &["aws_route53_health_check"];
const TF_DISTRIBUTION: &[&str] = &["aws_cloudfront_distribution"];
const TF_OAI: &[&str] = &["aws_cloudfront_origin_access_identity"];
const TF_CF_FUNCTION: &[&str] = &["aws_cloudfront_function"];

const TF_ASG: &[&str] = &["aws_autoscaling_group"];
const TF_ASG_POLICY: &[&str] = &["aws_autoscaling_group", "aws_autoscaling_policy"];
const TF_ASG_HOOK: &[&str] = &["aws_autoscaling_group", "aws_autoscaling_lifecycle_hook"];
const TF_ASG_SCHEDULE: &[&str] = &["aws_autoscaling_group", "aws_autoscaling_schedule"];
const TF_ASG_ATTACH: &[&str] = &["aws_autoscaling_group", "aws_autoscaling_attachment"];
const TF_LAUNCH_CONFIG: &[&str] = &["aws_launch_configuration"];

const TF_REST_API: &[&str] = &["aws_api_gateway_rest_api"];
const TF_REST_API_DEPLOYMENT: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_deployment"];
const TF_REST_API_STAGE: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_stage"];
const TF_REST_API_RESOURCE: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_resource"];
const TF_REST_API_METHOD: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_method"];
const TF_REST_API_INTEGRATION: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_integration"];
const TF_REST_API_AUTHORIZER: &[&str] = &["aws_api_gateway_rest_api", "aws_api_gateway_authorizer"];

const TF_SECRET: &[&str] = &["aws_secretsmanager_secret"];
const TF_SECRET_POLICY: &[&str] = &["aws_secretsmanager_secret", "aws_secretsmanager_secret_policy"];
const TF_SECRET_ROTATION: &[&str] = &["aws_secretsmanager_secret", "aws_secretsmanager_secret_rotation"];
const TF_SECRET_VERSION: &[&str] = &["aws_secretsmanager_secret", "aws_secretsmanager_secret_version"];

const TF_PARAMETER: &[&str] = &["aws_ssm_parameter"];
const TF_DOCUMENT: &[&str] = &["aws_ssm_document"];
const TF_ASSOCIATION: &[&str] = &["aws_ssm_association"];
const TF_ALARM: &[&str] = &["aws_cloudwatch_metric_alarm"];
const TF_ANY_ALARM: &[&str] = &["aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"];
const TF_COMPOSITE_ALARM: &[&str] = &["aws_cloudwatch_composite_alarm"];
const TF_DASHBOARD: &[&str] = &["aws_cloudwatch_dashboard"];
const TF_LOG_GROUP: &[&str] = &["aws_cloudwatch_log_group"];
const TF_LOG_SUBSCRIPTION: &[&str] = &["aws_cloudwatch_log_group", "aws_cloudwatch_log_subscription_filter"];
const TF_LOG_METRIC_FILTER: &[&str] = &["aws_cloudwatch_log_group", "aws_cloudwatch_log_metric_filter"];

const TF_TRAIL: &[&str] = &["aws_cloudtrail"];
const TF_DETECTOR: &[&str] = &["aws_guardduty_detector"];
const TF_RECORDER: &[&str] = &[
    "aws_config_configuration_recorder",
    "aws_config_configuration_recorder_status",
];
const TF_REPOSITORY: &[&str] = &["aws_ecr_repository"];
const TF_REPOSITORY_POLICY: &[&str] = &["aws_ecr_repository", "aws_ecr_repository_policy"];
const TF_REPOSITORY_LIFECYCLE: &[&str] = &["aws_ecr_repository", "aws_ecr_lifecycle_policy"];
const TF_ES_DOMAIN: &[&str] = &["aws_elasticsearch_domain"];
const TF_ES_DOMAIN_POLICY: &[&str] = &["aws_elasticsearch_domain", "aws_elasticsearch_domain_policy"];
const TF_OS_DOMAIN: &[&str] = &["aws_opensearch_domain"];
const TF_OS_DOMAIN_POLICY: &[&str] = &["aws_opensearch_domain", "aws_opensearch_domain_policy"];
const TF_MOUNT_TARGET: &[&str] = &["aws_efs_mount_target"];
const TF_FILE_SYSTEM: &[&str] = &["aws_efs_file_system"];
const TF_FILE_SYSTEM_POLICY: &[&str] = &["aws_efs_file_system", "aws_efs_file_system_policy"];
const TF_PROJECT: &[&str] = &["aws_codebuild_project"];
const TF_EVENT_RULE: &[&str] = &["aws_cloudwatch_event_rule"];
const TF_EVENT_TARGET: &[&str] = &["aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"];
const TF_RESOURCE_SHARE: &[&str] = &[
    "aws_ram_resource_share",
    "aws_ram_resource_association",
    "aws_ram_principal_association",
];

// ---- id paths shared by many rows ----
const ID_GROUP: &[IdPath] = &[Request("groupId")];
const ID_INSTANCES: &[IdPath] = &[
    Request("instancesSet.items.0.instanceId"),
    Response("instancesSet.items.0.instanceId"),
];
const ID_BUCKET: &[IdPath] = &[Request("bucketName"), Resources(T_BUCKET)];
const ID_ROLE: &[IdPath] = &[Request("roleName")];
const ID_USER: &[IdPath] = &[Request("userName")];
const ID_GROUP_NAME: &[IdPath] = &[Request("groupName")];
const ID_POLICY: &[IdPath] = &[Request("policyArn")];
const ID_FUNCTION: &[IdPath] = &[Request("functionName"), Response("functionArn")];
const ID_DB_INSTANCE: &[IdPath] = &[Request("dBInstanceIdentifier"), Response("dBInstanceIdentifier")];
const ID_DB_CLUSTER: &[IdPath] = &[Request("dBClusterIdentifier"), Response("dBClusterIdentifier")];
const ID_TABLE: &[IdPath] = &[Request("tableName"), Resources(T_TABLE)];
const ID_KEY: &[IdPath] = &[Request("keyId"), Resources(T_KEY)];
const ID_ASG: &[IdPath] = &[Request("autoScalingGroupName")];
const ID_REST_API: &[IdPath] = &[Request("restApiId")];
const ID_SECRET: &[IdPath] = &[Request("secretId"), Response("arn"), Response("aRN")];
const ID_LOG_GROUP: &[IdPath] = &[Request("logGroupName")];

/// Every catalogued mutating CloudTrail management event, grouped by service.
#[rustfmt::skip]
pub static ENTRIES: &[Entry] = &[
    // ---- EC2: security groups ----
    e(EC2, "CreateSecurityGroup", T_SG, TF_SG, Create, &[Response("groupId")]),
    e(EC2, "DeleteSecurityGroup", T_SG, TF_SG, Delete, ID_GROUP),
    e(EC2, "AuthorizeSecurityGroupIngress", T_SG, TF_SG_INGRESS, Update, &[Request("groupId"), Response("securityGroupRuleSet.items.0.groupId")]),
    e(EC2, "AuthorizeSecurityGroupEgress", T_SG, TF_SG_EGRESS, Update, &[Request("groupId"), Response("securityGroupRuleSet.items.0.groupId")]),
    e(EC2, "RevokeSecurityGroupIngress", T_SG, TF_SG_INGRESS, Update, ID_GROUP),
    e(EC2, "RevokeSecurityGroupEgress", T_SG, TF_SG_EGRESS, Update, ID_GROUP),
    e(EC2, "ModifySecurityGroupRules", T_SG, TF_SG_ANY_RULE, Update, &[Request("ModifySecurityGroupRulesRequest.GroupId")]),
    e(EC2, "UpdateSecurityGroupRuleDescriptionsIngress", T_SG, TF_SG_INGRESS, Update, ID_GROUP),
    e(EC2, "UpdateSecurityGroupRuleDescriptionsEgress", T_SG, TF_SG_EGRESS, Update, ID_GROUP),

    // ---- EC2: tags (any EC2 resource; the interpreter infers the type from the id prefix) ----
    e(EC2, "CreateTags", T_EC2_ANY, TF_NONE, Tag, &[Request("resourcesSet.items.0.resourceId")]),
    e(EC2, "DeleteTags", T_EC2_ANY, TF_NONE, Tag, &[Request("resourcesSet.items.0.resourceId")]),

    // ---- EC2: instances ----
    e(EC2, "RunInstances", T_INSTANCE, TF_INSTANCE, Create, &[Response("instancesSet.items.0.instanceId")]),
    e(EC2, "TerminateInstances", T_INSTANCE, TF_INSTANCE, Delete, ID_INSTANCES),
    e(EC2, "StopInstances", T_INSTANCE, TF_INSTANCE_STATE, Update, ID_INSTANCES),
    e(EC2, "StartInstances", T_INSTANCE, TF_INSTANCE_STATE, Update, ID_INSTANCES),
    e(EC2, "ModifyInstanceAttribute", T_INSTANCE, TF_INSTANCE, Update, &[Request("instanceId")]),
    e(EC2, "ModifyInstanceMetadataOptions", T_INSTANCE, TF_INSTANCE, Update, &[Request("ModifyInstanceMetadataOptionsRequest.InstanceId")]),
    e(EC2, "AssociateIamInstanceProfile", T_INSTANCE, TF_INSTANCE, Update, &[Request("AssociateIamInstanceProfileRequest.InstanceId"), Response("AssociateIamInstanceProfileResponse.iamInstanceProfileAssociation.instanceId")]),
    e(EC2, "ReplaceIamInstanceProfileAssociation", T_INSTANCE, TF_INSTANCE, Update, &[Response("ReplaceIamInstanceProfileAssociationResponse.iamInstanceProfileAssociation.instanceId")]),
    e(EC2, "DisassociateIamInstanceProfile", T_INSTANCE, TF_INSTANCE, Update, &[Response("DisassociateIamInstanceProfileResponse.iamInstanceProfileAssociation.instanceId")]),

    // ---- EC2: key pairs and launch templates ----
    e(EC2, "CreateKeyPair", T_KEY_PAIR, TF_KEY_PAIR, Create, &[Request("keyName"), Response("keyName")]),
    e(EC2, "ImportKeyPair", T_KEY_PAIR, TF_KEY_PAIR, Create, &[Request("keyName"), Response("keyName")]),
    e(EC2, "DeleteKeyPair", T_KEY_PAIR, TF_KEY_PAIR, Delete, &[Request("keyName")]),
    e(EC2, "CreateLaunchTemplate", T_LAUNCH_TEMPLATE, TF_LAUNCH_TEMPLATE, Create, &[Response("CreateLaunchTemplateResponse.launchTemplate.launchTemplateId")]),
    e(EC2, "CreateLaunchTemplateVersion", T_LAUNCH_TEMPLATE, TF_LAUNCH_TEMPLATE, Update, &[Response("CreateLaunchTemplateVersionResponse.launchTemplateVersion.launchTemplateId"), Request("CreateLaunchTemplateVersionRequest.LaunchTemplateId")]),
    e(EC2, "ModifyLaunchTemplate", T_LAUNCH_TEMPLATE, TF_LAUNCH_TEMPLATE, Update, &[Request("ModifyLaunchTemplateRequest.LaunchTemplateId"), Response("ModifyLaunchTemplateResponse.launchTemplate.launchTemplateId")]),
    e(EC2, "DeleteLaunchTemplate", T_LAUNCH_TEMPLATE, TF_LAUNCH_TEMPLATE, Delete, &[Request("DeleteLaunchTemplateRequest.LaunchTemplateId"), Response("DeleteLaunchTemplateResponse.launchTemplate.launchTemplateId")]),

    // ---- EC2: VPCs ----
    e(EC2, "CreateVpc", T_VPC, TF_VPC, Create, &[Response("vpc.vpcId")]),
    e(EC2, "DeleteVpc", T_VPC, TF_VPC, Delete, &[Request("vpcId")]),
    e(EC2, "ModifyVpcAttribute", T_VPC, TF_VPC, Update, &[Request("vpcId")]),
    e(EC2, "AssociateVpcCidrBlock", T_VPC, TF_VPC_CIDR, Update, &[Request("vpcId"), Response("vpcId")]),
    e(EC2, "DisassociateVpcCidrBlock", T_VPC, TF_VPC_CIDR, Update, &[Response("vpcId")]),

    // ---- EC2: internet gateways ----
    e(EC2, "CreateInternetGateway", T_IGW, TF_IGW, Create, &[Response("internetGateway.internetGatewayId")]),
    e(EC2, "DeleteInternetGateway", T_IGW, TF_IGW, Delete, &[Request("internetGatewayId")]),
    e(EC2, "AttachInternetGateway", T_IGW, TF_IGW_ATTACH, Update, &[Request("internetGatewayId")]),
    e(EC2, "DetachInternetGateway", T_IGW, TF_IGW_ATTACH, Update, &[Request("internetGatewayId")]),

    // ---- EC2: subnets ----
    e(EC2, "CreateSubnet", T_SUBNET, TF_SUBNET, Create, &[Response("subnet.subnetId")]),
    e(EC2, "DeleteSubnet", T_SUBNET, TF_SUBNET, Delete, &[Request("subnetId")]),
    e(EC2, "ModifySubnetAttribute", T_SUBNET, TF_SUBNET, Update, &[Request("subnetId")]),

    // ---- EC2: route tables and routes ----
    e(EC2, "CreateRouteTable", T_ROUTE_TABLE, TF_ROUTE_TABLE, Create, &[Response("routeTable.routeTableId")]),
    e(EC2, "DeleteRouteTable", T_ROUTE_TABLE, TF_ROUTE_TABLE, Delete, &[Request("routeTableId")]),
    e(EC2, "CreateRoute", T_ROUTE_TABLE, TF_ROUTE, Update, &[Request("routeTableId")]),
    e(EC2, "ReplaceRoute", T_ROUTE_TABLE, TF_ROUTE, Update, &[Request("routeTableId")]),
    e(EC2, "DeleteRoute", T_ROUTE_TABLE, TF_ROUTE, Update, &[Request("routeTableId")]),
    e(EC2, "AssociateRouteTable", T_ROUTE_TABLE, TF_RT_ASSOC, Update, &[Request("routeTableId")]),
    e(EC2, "ReplaceRouteTableAssociation", T_ROUTE_TABLE, TF_RT_ASSOC, Update, &[Request("routeTableId")]),

    // ---- EC2: network ACLs and entries ----
    e(EC2, "CreateNetworkAcl", T_NACL, TF_NACL, Create, &[Response("networkAcl.networkAclId")]),
    e(EC2, "DeleteNetworkAcl", T_NACL, TF_NACL, Delete, &[Request("networkAclId")]),
    e(EC2, "CreateNetworkAclEntry", T_NACL, TF_NACL_RULE, Update, &[Request("networkAclId")]),
    e(EC2, "ReplaceNetworkAclEntry", T_NACL, TF_NACL_RULE, Update, &[Request("networkAclId")]),
    e(EC2, "DeleteNetworkAclEntry", T_NACL, TF_NACL_RULE, Update, &[Request("networkAclId")]),
    e(EC2, "ReplaceNetworkAclAssociation", T_NACL, TF_NACL_ASSOC, Update, &[Request("networkAclId")]),

    // ---- EC2: NAT gateways ----
    e(EC2, "CreateNatGateway", T_NAT, TF_NAT, Create, &[Response("CreateNatGatewayResponse.natGateway.natGatewayId")]),
    e(EC2, "DeleteNatGateway", T_NAT, TF_NAT, Delete, &[Response("DeleteNatGatewayResponse.natGatewayId"), Request("DeleteNatGatewayRequest.NatGatewayId")]),

    // ---- EC2: snapshot and image sharing (the permission children count as the parent) ----
    e(EC2, "ModifySnapshotAttribute", T_EBS_SNAPSHOT, TF_EBS_SNAPSHOT, Update, &[Request("snapshotId")]),
    e(EC2, "ModifyImageAttribute", T_IMAGE, TF_IMAGE, Update, &[Request("imageId")]),
    // ---- EC2: EBS volumes ----
    e(EC2, "CreateVolume", T_VOLUME, TF_VOLUME, Create, &[Response("volumeId")]),
    e(EC2, "DeleteVolume", T_VOLUME, TF_VOLUME, Delete, &[Request("volumeId")]),
    e(EC2, "ModifyVolume", T_VOLUME, TF_VOLUME, Update, &[Request("ModifyVolumeRequest.VolumeId")]),
    e(EC2, "AttachVolume", T_VOLUME, TF_VOLUME_ATTACH, Update, &[Request("volumeId"), Response("volumeId")]),
    e(EC2, "DetachVolume", T_VOLUME, TF_VOLUME_ATTACH, Update, &[Request("volumeId"), Response("volumeId")]),

    // ---- EC2: Elastic IPs (publicIp is the id of an EIP addressed without an allocation id) ----
    e(EC2, "AllocateAddress", T_EIP, TF_EIP, Create, &[Response("allocationId"), Response("publicIp")]),
    e(EC2, "ReleaseAddress", T_EIP, TF_EIP, Delete, &[Request("allocationId"), Request("publicIp")]),
    e(EC2, "AssociateAddress", T_EIP, TF_EIP_ASSOC, Update, &[Request("allocationId"), Request("publicIp")]),
    e(EC2, "DisassociateAddress", T_EIP, TF_EIP_ASSOC, Update, &[Request("publicIp")]),

    // ---- EC2: network interfaces ----
    e(EC2, "CreateNetworkInterface", T_ENI, TF_ENI, Create, &[Response("networkInterface.networkInterfaceId")]),
    e(EC2, "DeleteNetworkInterface", T_ENI, TF_ENI, Delete, &[Request("networkInterfaceId")]),
    e(EC2, "ModifyNetworkInterfaceAttribute", T_ENI, TF_ENI_ATTR, Update, &[Request("networkInterfaceId")]),

    // ---- EC2: VPC endpoints and peering ----
    e(EC2, "CreateVpcEndpoint", T_VPCE, TF_VPCE, Create, &[Response("CreateVpcEndpointResponse.vpcEndpoint.vpcEndpointId")]),
    e(EC2, "ModifyVpcEndpoint", T_VPCE, TF_VPCE, Update, &[Request("ModifyVpcEndpointRequest.VpcEndpointId")]),
    e(EC2, "DeleteVpcEndpoints", T_VPCE, TF_VPCE, Delete, &[Request("DeleteVpcEndpointsRequest.VpcEndpointId.content"), Request("DeleteVpcEndpointsRequest.VpcEndpointId.0.content")]),
    e(EC2, "CreateVpcPeeringConnection", T_PEERING, TF_PEERING, Create, &[Response("vpcPeeringConnection.vpcPeeringConnectionId")]),
    e(EC2, "AcceptVpcPeeringConnection", T_PEERING, TF_PEERING_ACCEPT, Update, &[Request("vpcPeeringConnectionId")]),
    e(EC2, "DeleteVpcPeeringConnection", T_PEERING, TF_PEERING, Delete, &[Request("vpcPeeringConnectionId")]),

    // ---- EC2: flow logs ----
    e(EC2, "CreateFlowLogs", T_FLOW_LOG, TF_FLOW_LOG, Create, &[Response("CreateFlowLogsResponse.flowLogIdSet.item"), Response("CreateFlowLogsResponse.flowLogIdSet.item.0")]),
    e(EC2, "DeleteFlowLogs", T_FLOW_LOG, TF_FLOW_LOG, Delete, &[Request("DeleteFlowLogsRequest.FlowLogId.content"), Request("DeleteFlowLogsRequest.FlowLogId.0.content"), Request("flowLogId.0")]),

    // ---- EC2: transit gateways ----
    e(EC2, "CreateTransitGateway", T_TGW, TF_TGW, Create, &[Response("CreateTransitGatewayResponse.transitGateway.transitGatewayId")]),
    e(EC2, "DeleteTransitGateway", T_TGW, TF_TGW, Delete, &[Request("DeleteTransitGatewayRequest.TransitGatewayId")]),
    e(EC2, "DeleteTransitGatewayVpcAttachment", T_TGW_ATTACH, TF_TGW_ATTACH, Delete, &[Request("DelTGwVpcAttachReq.TransitGatewayAttachmentId"), Response("DeleteTransitGatewayVpcAttachmentResponse.transitGatewayVpcAttachment.transitGatewayAttachmentId")]),

    // ---- EC2: traffic mirroring ----
    e(EC2, "CreateTrafficMirrorTarget", T_TM_TARGET, TF_TM_TARGET, Create, &[Response("CreateTrafficMirrorTargetResponse.trafficMirrorTarget.trafficMirrorTargetId")]),
    e(EC2, "DeleteTrafficMirrorTarget", T_TM_TARGET, TF_TM_TARGET, Delete, &[Request("DeleteTrafficMirrorTargetRequest.TrafficMirrorTargetId"), Response("DeleteTrafficMirrorTargetResponse.trafficMirrorTargetId")]),
    e(EC2, "CreateTrafficMirrorFilter", T_TM_FILTER, TF_TM_FILTER, Create, &[Response("CreateTrafficMirrorFilterResponse.trafficMirrorFilter.trafficMirrorFilterId")]),
    e(EC2, "CreateTrafficMirrorFilterRule", T_TM_FILTER, TF_TM_FILTER_RULE, Update, &[Request("CreateTrafficMirrorFilterRuleRequest.TrafficMirrorFilterId"), Response("CreateTrafficMirrorFilterRuleResponse.trafficMirrorFilterRule.trafficMirrorFilterId")]),
    e(EC2, "CreateTrafficMirrorSession", T_TM_SESSION, TF_TM_SESSION, Create, &[Response("CreateTrafficMirrorSessionResponse.trafficMirrorSession.trafficMirrorSessionId")]),
    e(EC2, "ModifyTrafficMirrorSession", T_TM_SESSION, TF_TM_SESSION, Update, &[Request("ModifyTrafficMirrorSessionRequest.TrafficMirrorSessionId"), Response("ModifyTrafficMirrorSessionResponse.trafficMirrorSession.trafficMirrorSessionId")]),

    // ---- S3: buckets and bucket configuration (control plane; requestParameters.bucketName) ----
    e(S3, "CreateBucket", T_BUCKET, TF_BUCKET, Create, ID_BUCKET),
    e(S3, "DeleteBucket", T_BUCKET, TF_BUCKET, Delete, ID_BUCKET),
    e(S3, "PutBucketPolicy", T_BUCKET, TF_BUCKET_POLICY, Update, ID_BUCKET),
    e(S3, "DeleteBucketPolicy", T_BUCKET, TF_BUCKET_POLICY, Update, ID_BUCKET),
    e(S3, "PutBucketPublicAccessBlock", T_BUCKET, TF_BUCKET_PAB, Update, ID_BUCKET),
    e(S3, "DeleteBucketPublicAccessBlock", T_BUCKET, TF_BUCKET_PAB, Update, ID_BUCKET),
    e(S3, "PutBucketVersioning", T_BUCKET, TF_BUCKET_VERSIONING, Update, ID_BUCKET),
    e(S3, "PutBucketEncryption", T_BUCKET, TF_BUCKET_SSE, Update, ID_BUCKET),
    e(S3, "DeleteBucketEncryption", T_BUCKET, TF_BUCKET_SSE, Update, ID_BUCKET),
    e(S3, "PutBucketAcl", T_BUCKET, TF_BUCKET_ACL, Update, ID_BUCKET),
    e(S3, "PutBucketTagging", T_BUCKET, TF_BUCKET, Tag, ID_BUCKET),
    e(S3, "DeleteBucketTagging", T_BUCKET, TF_BUCKET, Tag, ID_BUCKET),
    e(S3, "PutBucketLifecycle", T_BUCKET, TF_BUCKET_LIFECYCLE, Update, ID_BUCKET),
    e(S3, "DeleteBucketLifecycle", T_BUCKET, TF_BUCKET_LIFECYCLE, Update, ID_BUCKET),
    e(S3, "PutBucketLogging", T_BUCKET, TF_BUCKET_LOGGING, Update, ID_BUCKET),
    e(S3, "PutBucketCors", T_BUCKET, TF_BUCKET_CORS, Update, ID_BUCKET),
    e(S3, "DeleteBucketCors", T_BUCKET, TF_BUCKET_CORS, Update, ID_BUCKET),
    e(S3, "PutBucketWebsite", T_BUCKET, TF_BUCKET_WEBSITE, Update, ID_BUCKET),
    e(S3, "DeleteBucketWebsite", T_BUCKET, TF_BUCKET_WEBSITE, Update, ID_BUCKET),
    e(S3, "PutBucketReplication", T_BUCKET, TF_BUCKET_REPLICATION, Update, ID_BUCKET),
    e(S3, "DeleteBucketReplication", T_BUCKET, TF_BUCKET_REPLICATION, Update, ID_BUCKET),
    e(S3, "PutBucketOwnershipControls", T_BUCKET, TF_BUCKET_OWNERSHIP, Update, ID_BUCKET),
    e(S3, "DeleteBucketOwnershipControls", T_BUCKET, TF_BUCKET_OWNERSHIP, Update, ID_BUCKET),
    e(S3, "PutBucketNotification", T_BUCKET, TF_BUCKET_NOTIFICATION, Update, ID_BUCKET),

    // ---- IAM: roles ----
    e(IAM, "CreateRole", T_ROLE, TF_ROLE, Create, &[Request("roleName"), Response("role.roleName")]),
    e(IAM, "DeleteRole", T_ROLE, TF_ROLE, Delete, ID_ROLE),
    e(IAM, "UpdateRole", T_ROLE, TF_ROLE, Update, ID_ROLE),
    e(IAM, "UpdateRoleDescription", T_ROLE, TF_ROLE, Update, ID_ROLE),
    e(IAM, "UpdateAssumeRolePolicy", T_ROLE, TF_ROLE, Update, ID_ROLE),
    e(IAM, "PutRolePolicy", T_ROLE, TF_ROLE_INLINE, Update, ID_ROLE),
    e(IAM, "DeleteRolePolicy", T_ROLE, TF_ROLE_INLINE, Update, ID_ROLE),
    e(IAM, "AttachRolePolicy", T_ROLE, TF_ROLE_ATTACH, Update, ID_ROLE),
    e(IAM, "DetachRolePolicy", T_ROLE, TF_ROLE_ATTACH, Update, ID_ROLE),
    e(IAM, "PutRolePermissionsBoundary", T_ROLE, TF_ROLE, Update, ID_ROLE),
    e(IAM, "DeleteRolePermissionsBoundary", T_ROLE, TF_ROLE, Update, ID_ROLE),
    e(IAM, "TagRole", T_ROLE, TF_ROLE, Tag, ID_ROLE),
    e(IAM, "UntagRole", T_ROLE, TF_ROLE, Tag, ID_ROLE),
    e(IAM, "CreateServiceLinkedRole", T_ROLE, TF_SERVICE_LINKED_ROLE, Create, &[Response("role.roleName")]),
    e(IAM, "DeleteServiceLinkedRole", T_ROLE, TF_SERVICE_LINKED_ROLE, Delete, ID_ROLE),

    // ---- IAM: users, login profiles and access keys ----
    e(IAM, "CreateUser", T_USER, TF_USER, Create, &[Request("userName"), Response("user.userName")]),
    e(IAM, "DeleteUser", T_USER, TF_USER, Delete, ID_USER),
    e(IAM, "UpdateUser", T_USER, TF_USER, Update, ID_USER),
    e(IAM, "TagUser", T_USER, TF_USER, Tag, ID_USER),
    e(IAM, "UntagUser", T_USER, TF_USER, Tag, ID_USER),
    e(IAM, "PutUserPolicy", T_USER, TF_USER_INLINE, Update, ID_USER),
    e(IAM, "DeleteUserPolicy", T_USER, TF_USER_INLINE, Update, ID_USER),
    e(IAM, "AttachUserPolicy", T_USER, TF_USER_ATTACH, Update, ID_USER),
    e(IAM, "DetachUserPolicy", T_USER, TF_USER_ATTACH, Update, ID_USER),
    e(IAM, "PutUserPermissionsBoundary", T_USER, TF_USER, Update, ID_USER),
    e(IAM, "DeleteUserPermissionsBoundary", T_USER, TF_USER, Update, ID_USER),
    e(IAM, "CreateLoginProfile", T_USER, TF_USER_LOGIN, Update, ID_USER),
    e(IAM, "UpdateLoginProfile", T_USER, TF_USER_LOGIN, Update, ID_USER),
    e(IAM, "DeleteLoginProfile", T_USER, TF_USER_LOGIN, Update, ID_USER),
    e(IAM, "CreateAccessKey", T_USER, TF_USER_KEY, Update, &[Request("userName"), Response("accessKey.userName")]),
    e(IAM, "UpdateAccessKey", T_USER, TF_USER_KEY, Update, ID_USER),
    e(IAM, "DeleteAccessKey", T_USER, TF_USER_KEY, Update, ID_USER),
    // SSH keys (CodeCommit), service-specific credentials and MFA devices on a user. CloudTrail
    // spells IAM members with their first letter lower-cased (`SSHPublicKey` → `sSHPublicKey`).
    e(IAM, "UploadSSHPublicKey", T_USER, TF_USER_SSH_KEY, Update, &[Request("userName"), Response("sSHPublicKey.userName")]),
    e(IAM, "UpdateSSHPublicKey", T_USER, TF_USER_SSH_KEY, Update, ID_USER),
    e(IAM, "DeleteSSHPublicKey", T_USER, TF_USER_SSH_KEY, Update, ID_USER),
    e(IAM, "CreateServiceSpecificCredential", T_USER, TF_USER_SERVICE_CREDENTIAL, Update, &[Request("userName"), Response("serviceSpecificCredential.userName")]),
    e(IAM, "UpdateServiceSpecificCredential", T_USER, TF_USER_SERVICE_CREDENTIAL, Update, ID_USER),
    e(IAM, "ResetServiceSpecificCredential", T_USER, TF_USER_SERVICE_CREDENTIAL, Update, &[Request("userName"), Response("serviceSpecificCredential.userName")]),
    e(IAM, "DeleteServiceSpecificCredential", T_USER, TF_USER_SERVICE_CREDENTIAL, Update, ID_USER),
    e(IAM, "EnableMFADevice", T_USER, TF_USER_MFA, Update, ID_USER),
    e(IAM, "DeactivateMFADevice", T_USER, TF_USER_MFA, Update, ID_USER),

    // ---- IAM: groups ----
    e(IAM, "CreateGroup", T_GROUP, TF_GROUP, Create, &[Request("groupName"), Response("group.groupName")]),
    e(IAM, "DeleteGroup", T_GROUP, TF_GROUP, Delete, ID_GROUP_NAME),
    e(IAM, "UpdateGroup", T_GROUP, TF_GROUP, Update, ID_GROUP_NAME),
    e(IAM, "PutGroupPolicy", T_GROUP, TF_GROUP_INLINE, Update, ID_GROUP_NAME),
    e(IAM, "DeleteGroupPolicy", T_GROUP, TF_GROUP_INLINE, Update, ID_GROUP_NAME),
    e(IAM, "AttachGroupPolicy", T_GROUP, TF_GROUP_ATTACH, Update, ID_GROUP_NAME),
    e(IAM, "DetachGroupPolicy", T_GROUP, TF_GROUP_ATTACH, Update, ID_GROUP_NAME),
    e(IAM, "AddUserToGroup", T_GROUP, TF_GROUP_MEMBERS, Update, ID_GROUP_NAME),
    e(IAM, "RemoveUserFromGroup", T_GROUP, TF_GROUP_MEMBERS, Update, ID_GROUP_NAME),

    // ---- IAM: managed policies and policy versions ----
    e(IAM, "CreatePolicy", T_POLICY, TF_POLICY, Create, &[Response("policy.arn")]),
    e(IAM, "DeletePolicy", T_POLICY, TF_POLICY, Delete, ID_POLICY),
    e(IAM, "CreatePolicyVersion", T_POLICY, TF_POLICY, Update, ID_POLICY),
    e(IAM, "DeletePolicyVersion", T_POLICY, TF_POLICY, Update, ID_POLICY),
    e(IAM, "SetDefaultPolicyVersion", T_POLICY, TF_POLICY, Update, ID_POLICY),
    e(IAM, "TagPolicy", T_POLICY, TF_POLICY, Tag, ID_POLICY),
    e(IAM, "UntagPolicy", T_POLICY, TF_POLICY, Tag, ID_POLICY),

    // ---- IAM: instance profiles ----
    e(IAM, "CreateInstanceProfile", T_INSTANCE_PROFILE, TF_INSTANCE_PROFILE, Create, &[Request("instanceProfileName"), Response("instanceProfile.instanceProfileName")]),
    e(IAM, "DeleteInstanceProfile", T_INSTANCE_PROFILE, TF_INSTANCE_PROFILE, Delete, &[Request("instanceProfileName")]),
    e(IAM, "AddRoleToInstanceProfile", T_INSTANCE_PROFILE, TF_INSTANCE_PROFILE, Update, &[Request("instanceProfileName")]),
    e(IAM, "RemoveRoleFromInstanceProfile", T_INSTANCE_PROFILE, TF_INSTANCE_PROFILE, Update, &[Request("instanceProfileName")]),

    // ---- IAM: identity providers ----
    e(IAM, "CreateSAMLProvider", T_SAML, TF_SAML, Create, &[Response("sAMLProviderArn")]),
    e(IAM, "UpdateSAMLProvider", T_SAML, TF_SAML, Update, &[Request("sAMLProviderArn"), Response("sAMLProviderArn")]),
    e(IAM, "DeleteSAMLProvider", T_SAML, TF_SAML, Delete, &[Request("sAMLProviderArn")]),
    e(IAM, "CreateOpenIDConnectProvider", T_OIDC, TF_OIDC, Create, &[Response("openIDConnectProviderArn")]),
    e(IAM, "UpdateOpenIDConnectProviderThumbprint", T_OIDC, TF_OIDC, Update, &[Request("openIDConnectProviderArn")]),
    e(IAM, "DeleteOpenIDConnectProvider", T_OIDC, TF_OIDC, Delete, &[Request("openIDConnectProviderArn")]),

    // ---- Lambda: functions (event names carry the API-version suffix CloudTrail records) ----
    e(LAMBDA, "CreateFunction20150331", T_FUNCTION, TF_FUNCTION, Create, &[Request("functionName"), Response("functionName"), Response("functionArn")]),
    e(LAMBDA, "UpdateFunctionConfiguration20150331v2", T_FUNCTION, TF_FUNCTION, Update, ID_FUNCTION),
    e(LAMBDA, "UpdateFunctionCode20150331v2", T_FUNCTION, TF_FUNCTION, Update, ID_FUNCTION),
    e(LAMBDA, "DeleteFunction20150331", T_FUNCTION, TF_FUNCTION, Delete, &[Request("functionName")]),
    e(LAMBDA, "PublishVersion20150331", T_FUNCTION, TF_FUNCTION, Update, ID_FUNCTION),
    e(LAMBDA, "PutFunctionConcurrency20171031", T_FUNCTION, TF_FUNCTION, Update, &[Request("functionName")]),
    e(LAMBDA, "DeleteFunctionConcurrency20171031", T_FUNCTION, TF_FUNCTION, Update, &[Request("functionName")]),
    e(LAMBDA, "AddPermission20150331v2", T_FUNCTION, TF_FUNCTION_PERMISSION, Update, &[Request("functionName")]),
    e(LAMBDA, "RemovePermission20150331v2", T_FUNCTION, TF_FUNCTION_PERMISSION, Update, &[Request("functionName")]),
    e(LAMBDA, "CreateAlias20150331", T_FUNCTION, TF_FUNCTION_ALIAS, Update, &[Request("functionName")]),
    e(LAMBDA, "UpdateAlias20150331", T_FUNCTION, TF_FUNCTION_ALIAS, Update, &[Request("functionName")]),
    e(LAMBDA, "DeleteAlias20150331", T_FUNCTION, TF_FUNCTION_ALIAS, Update, &[Request("functionName")]),
    e(LAMBDA, "CreateEventSourceMapping20150331", T_FUNCTION, TF_FUNCTION_ESM, Update, ID_FUNCTION),
    e(LAMBDA, "UpdateEventSourceMapping20150331", T_FUNCTION, TF_FUNCTION_ESM, Update, &[Response("functionArn"), Request("functionName")]),
    e(LAMBDA, "DeleteEventSourceMapping20150331", T_FUNCTION, TF_FUNCTION_ESM, Update, &[Response("functionArn")]),
    e(LAMBDA, "CreateFunctionUrlConfig", T_FUNCTION, TF_FUNCTION_URL, Update, &[Request("functionName"), Response("functionArn")]),
    e(LAMBDA, "UpdateFunctionUrlConfig", T_FUNCTION, TF_FUNCTION_URL, Update, &[Request("functionName"), Response("functionArn")]),
    e(LAMBDA, "DeleteFunctionUrlConfig", T_FUNCTION, TF_FUNCTION_URL, Update, &[Request("functionName")]),
    e(LAMBDA, "PutFunctionEventInvokeConfig", T_FUNCTION, TF_FUNCTION_INVOKE_CONFIG, Update, &[Request("functionName"), Response("functionArn")]),
    e(LAMBDA, "PutProvisionedConcurrencyConfig", T_FUNCTION, TF_FUNCTION_PROVISIONED, Update, &[Request("functionName")]),
    e(LAMBDA, "DeleteProvisionedConcurrencyConfig", T_FUNCTION, TF_FUNCTION_PROVISIONED, Update, &[Request("functionName")]),
    e(LAMBDA, "TagResource20170331v2", T_FUNCTION, TF_FUNCTION, Tag, &[Request("resource")]),
    e(LAMBDA, "UntagResource20170331v2", T_FUNCTION, TF_FUNCTION, Tag, &[Request("resource")]),
    e(LAMBDA, "PublishLayerVersion20181031", T_LAYER, TF_LAYER, Create, &[Response("layerVersionArn")]),

    // ---- RDS: DB instances ----
    e(RDS, "CreateDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE, Create, ID_DB_INSTANCE),
    e(RDS, "CreateDBInstanceReadReplica", T_DB_INSTANCE, TF_DB_INSTANCE, Create, ID_DB_INSTANCE),
    e(RDS, "RestoreDBInstanceFromDBSnapshot", T_DB_INSTANCE, TF_DB_INSTANCE, Create, ID_DB_INSTANCE),
    e(RDS, "RestoreDBInstanceToPointInTime", T_DB_INSTANCE, TF_DB_INSTANCE, Create, &[Request("targetDBInstanceIdentifier"), Response("dBInstanceIdentifier")]),
    e(RDS, "ModifyDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE, Update, ID_DB_INSTANCE),
    e(RDS, "DeleteDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE, Delete, ID_DB_INSTANCE),
    e(RDS, "StartDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE, Update, ID_DB_INSTANCE),
    e(RDS, "StopDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE, Update, ID_DB_INSTANCE),
    e(RDS, "PromoteReadReplica", T_DB_INSTANCE, TF_DB_INSTANCE, Update, ID_DB_INSTANCE),
    e(RDS, "AddRoleToDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE_ROLE, Update, ID_DB_INSTANCE),
    e(RDS, "RemoveRoleFromDBInstance", T_DB_INSTANCE, TF_DB_INSTANCE_ROLE, Update, ID_DB_INSTANCE),
    // resourceName is an ARN (`:db:` or `:cluster:`), which tells the real type.
    e(RDS, "AddTagsToResource", T_DB_INSTANCE, TF_DB_INSTANCE, Tag, &[Request("resourceName")]),
    e(RDS, "RemoveTagsFromResource", T_DB_INSTANCE, TF_DB_INSTANCE, Tag, &[Request("resourceName")]),

    // ---- RDS: DB clusters (Aurora; DocumentDB and Neptune also record under rds.amazonaws.com) ----
    e(RDS, "CreateDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER, Create, ID_DB_CLUSTER),
    e(RDS, "RestoreDBClusterFromSnapshot", T_DB_CLUSTER, TF_DB_CLUSTER, Create, ID_DB_CLUSTER),
    e(RDS, "RestoreDBClusterToPointInTime", T_DB_CLUSTER, TF_DB_CLUSTER, Create, ID_DB_CLUSTER),
    e(RDS, "ModifyDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER, Update, ID_DB_CLUSTER),
    e(RDS, "ModifyDBSnapshotAttribute", T_DB_SNAPSHOT, TF_DB_SNAPSHOT, Update, &[Request("dBSnapshotIdentifier")]),
    e(RDS, "ModifyDBClusterSnapshotAttribute", T_DB_CLUSTER_SNAPSHOT, TF_DB_CLUSTER_SNAPSHOT, Update, &[Request("dBClusterSnapshotIdentifier")]),
    e(RDS, "DeleteDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER, Delete, ID_DB_CLUSTER),
    e(RDS, "StartDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER, Update, ID_DB_CLUSTER),
    e(RDS, "StopDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER, Update, ID_DB_CLUSTER),
    e(RDS, "AddRoleToDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER_ROLE, Update, ID_DB_CLUSTER),
    e(RDS, "RemoveRoleFromDBCluster", T_DB_CLUSTER, TF_DB_CLUSTER_ROLE, Update, ID_DB_CLUSTER),

    // ---- RDS: parameter, subnet, option and (EC2-Classic) security groups ----
    e(RDS, "CreateDBParameterGroup", T_DB_PG, TF_DB_PG, Create, &[Request("dBParameterGroupName")]),
    e(RDS, "ModifyDBParameterGroup", T_DB_PG, TF_DB_PG, Update, &[Request("dBParameterGroupName")]),
    e(RDS, "DeleteDBParameterGroup", T_DB_PG, TF_DB_PG, Delete, &[Request("dBParameterGroupName")]),
    e(RDS, "CreateDBClusterParameterGroup", T_DB_CLUSTER_PG, TF_DB_CLUSTER_PG, Create, &[Request("dBClusterParameterGroupName")]),
    e(RDS, "ModifyDBClusterParameterGroup", T_DB_CLUSTER_PG, TF_DB_CLUSTER_PG, Update, &[Request("dBClusterParameterGroupName")]),
    e(RDS, "DeleteDBClusterParameterGroup", T_DB_CLUSTER_PG, TF_DB_CLUSTER_PG, Delete, &[Request("dBClusterParameterGroupName")]),
    e(RDS, "CreateDBSubnetGroup", T_DB_SUBNET_GROUP, TF_DB_SUBNET_GROUP, Create, &[Request("dBSubnetGroupName")]),
    e(RDS, "ModifyDBSubnetGroup", T_DB_SUBNET_GROUP, TF_DB_SUBNET_GROUP, Update, &[Request("dBSubnetGroupName")]),
    e(RDS, "DeleteDBSubnetGroup", T_DB_SUBNET_GROUP, TF_DB_SUBNET_GROUP, Delete, &[Request("dBSubnetGroupName")]),
    e(RDS, "CreateOptionGroup", T_DB_OPTION_GROUP, TF_DB_OPTION_GROUP, Create, &[Request("optionGroupName")]),
    e(RDS, "ModifyOptionGroup", T_DB_OPTION_GROUP, TF_DB_OPTION_GROUP, Update, &[Request("optionGroupName")]),
    e(RDS, "DeleteOptionGroup", T_DB_OPTION_GROUP, TF_DB_OPTION_GROUP, Delete, &[Request("optionGroupName")]),
    e(RDS, "AuthorizeDBSecurityGroupIngress", T_DB_SG, TF_DB_SG, Update, &[Request("dBSecurityGroupName")]),
    e(RDS, "RevokeDBSecurityGroupIngress", T_DB_SG, TF_DB_SG, Update, &[Request("dBSecurityGroupName")]),

    // ---- DynamoDB: tables (CreateTable also exists in Glue, below) ----
    e(DYNAMODB, "CreateTable", T_TABLE, TF_TABLE, Create, &[Request("tableName"), Response("tableDescription.tableName"), Resources(T_TABLE)]),
    e(DYNAMODB, "UpdateTable", T_TABLE, TF_TABLE, Update, ID_TABLE),
    e(DYNAMODB, "DeleteTable", T_TABLE, TF_TABLE, Delete, &[Request("tableName"), Response("tableDescription.tableName"), Resources(T_TABLE)]),
    e(DYNAMODB, "UpdateTimeToLive", T_TABLE, TF_TABLE, Update, ID_TABLE),
    e(DYNAMODB, "UpdateContinuousBackups", T_TABLE, TF_TABLE, Update, ID_TABLE),
    e(DYNAMODB, "TagResource", T_TABLE, TF_TABLE, Tag, &[Request("resourceArn"), Resources(T_TABLE)]),
    e(DYNAMODB, "UntagResource", T_TABLE, TF_TABLE, Tag, &[Request("resourceArn"), Resources(T_TABLE)]),

    // ---- Glue: Data Catalog tables (same names as DynamoDB, different source) ----
    e(GLUE, "CreateTable", T_GLUE_TABLE, TF_GLUE_TABLE, Create, &[Request("tableInput.name")]),
    e(GLUE, "UpdateTable", T_GLUE_TABLE, TF_GLUE_TABLE, Update, &[Request("tableInput.name")]),
    e(GLUE, "DeleteTable", T_GLUE_TABLE, TF_GLUE_TABLE, Delete, &[Request("name")]),

    // ---- ELBv2: load balancers (classic ELB shares the source; its calls carry loadBalancerName) ----
    e(ELB, "CreateLoadBalancer", T_LB, TF_LB, Create, &[Response("loadBalancers.0.loadBalancerArn")]),
    e(ELB, "DeleteLoadBalancer", T_LB, TF_LB, Delete, &[Request("loadBalancerArn")]),
    e(ELB, "ModifyLoadBalancerAttributes", T_LB, TF_LB, Update, &[Request("loadBalancerArn")]),
    e(ELB, "SetSecurityGroups", T_LB, TF_LB, Update, &[Request("loadBalancerArn")]),
    e(ELB, "SetSubnets", T_LB, TF_LB, Update, &[Request("loadBalancerArn")]),
    e(ELB, "SetIpAddressType", T_LB, TF_LB, Update, &[Request("loadBalancerArn")]),
    // resourceArns may name a target group as well; the ARN tells which.
    e(ELB, "AddTags", T_LB, TF_LB, Tag, &[Request("resourceArns.0")]),
    e(ELB, "RemoveTags", T_LB, TF_LB, Tag, &[Request("resourceArns.0")]),

    // ---- ELBv2: target groups ----
    e(ELB, "CreateTargetGroup", T_TG, TF_TG, Create, &[Response("targetGroups.0.targetGroupArn")]),
    e(ELB, "DeleteTargetGroup", T_TG, TF_TG, Delete, &[Request("targetGroupArn")]),
    e(ELB, "ModifyTargetGroup", T_TG, TF_TG, Update, &[Request("targetGroupArn"), Response("targetGroups.0.targetGroupArn")]),
    e(ELB, "ModifyTargetGroupAttributes", T_TG, TF_TG, Update, &[Request("targetGroupArn")]),
    e(ELB, "RegisterTargets", T_TG, TF_TG_ATTACH, Update, &[Request("targetGroupArn")]),
    e(ELB, "DeregisterTargets", T_TG, TF_TG_ATTACH, Update, &[Request("targetGroupArn")]),

    // ---- ELBv2: listeners and listener rules ----
    e(ELB, "CreateListener", T_LISTENER, TF_LISTENER, Create, &[Response("listeners.0.listenerArn")]),
    e(ELB, "ModifyListener", T_LISTENER, TF_LISTENER, Update, &[Request("listenerArn"), Response("listeners.0.listenerArn")]),
    e(ELB, "DeleteListener", T_LISTENER, TF_LISTENER, Delete, &[Request("listenerArn")]),
    e(ELB, "AddListenerCertificates", T_LISTENER, TF_LISTENER_CERT, Update, &[Request("listenerArn")]),
    e(ELB, "RemoveListenerCertificates", T_LISTENER, TF_LISTENER_CERT, Update, &[Request("listenerArn")]),
    e(ELB, "CreateRule", T_LISTENER_RULE, TF_LISTENER_RULE, Create, &[Response("rules.0.ruleArn")]),
    e(ELB, "ModifyRule", T_LISTENER_RULE, TF_LISTENER_RULE, Update, &[Request("ruleArn"), Response("rules.0.ruleArn")]),
    e(ELB, "DeleteRule", T_LISTENER_RULE, TF_LISTENER_RULE, Delete, &[Request("ruleArn")]),
    e(ELB, "SetRulePriorities", T_LISTENER_RULE, TF_LISTENER_RULE, Update, &[Request("rulePriorities.0.ruleArn")]),

    // ---- ELB (classic): calls whose names only the classic API uses ----
    e(ELB, "CreateLoadBalancerPolicy", T_CLASSIC_LB, TF_CLASSIC_LB_POLICY, Update, &[Request("loadBalancerName")]),
    e(ELB, "CreateLoadBalancerListeners", T_CLASSIC_LB, TF_CLASSIC_LB, Update, &[Request("loadBalancerName")]),
    e(ELB, "DeleteLoadBalancerListeners", T_CLASSIC_LB, TF_CLASSIC_LB, Update, &[Request("loadBalancerName")]),
    e(ELB, "RegisterInstancesWithLoadBalancer", T_CLASSIC_LB, TF_CLASSIC_LB_ATTACH, Update, &[Request("loadBalancerName")]),
    e(ELB, "DeregisterInstancesFromLoadBalancer", T_CLASSIC_LB, TF_CLASSIC_LB_ATTACH, Update, &[Request("loadBalancerName")]),

    // ---- ECS: clusters, services and task definitions ----
    e(ECS, "CreateCluster", T_ECS_CLUSTER, TF_ECS_CLUSTER, Create, &[Response("cluster.clusterArn"), Request("clusterName")]),
    e(ECS, "UpdateCluster", T_ECS_CLUSTER, TF_ECS_CLUSTER, Update, &[Request("cluster"), Response("cluster.clusterArn")]),
    e(ECS, "UpdateClusterSettings", T_ECS_CLUSTER, TF_ECS_CLUSTER, Update, &[Request("cluster"), Response("cluster.clusterArn")]),
    e(ECS, "PutClusterCapacityProviders", T_ECS_CLUSTER, TF_ECS_CAPACITY, Update, &[Request("cluster"), Response("cluster.clusterArn")]),
    e(ECS, "DeleteCluster", T_ECS_CLUSTER, TF_ECS_CLUSTER, Delete, &[Response("cluster.clusterArn"), Request("cluster")]),
    e(ECS, "CreateService", T_ECS_SERVICE, TF_ECS_SERVICE, Create, &[Response("service.serviceArn"), Request("serviceName")]),
    e(ECS, "UpdateService", T_ECS_SERVICE, TF_ECS_SERVICE, Update, &[Response("service.serviceArn"), Request("service")]),
    e(ECS, "DeleteService", T_ECS_SERVICE, TF_ECS_SERVICE, Delete, &[Response("service.serviceArn"), Request("service")]),
    e(ECS, "RegisterTaskDefinition", T_TASK_DEF, TF_TASK_DEF, Create, &[Response("taskDefinition.taskDefinitionArn")]),
    e(ECS, "DeregisterTaskDefinition", T_TASK_DEF, TF_TASK_DEF, Delete, &[Response("taskDefinition.taskDefinitionArn"), Request("taskDefinition")]),

    // ---- EKS: clusters, node groups and add-ons ----
    e(EKS, "CreateCluster", T_EKS_CLUSTER, TF_EKS_CLUSTER, Create, &[Request("name"), Request("clusterName"), Response("cluster.name"), Response("cluster.clusterName")]),
    e(EKS, "UpdateClusterConfig", T_EKS_CLUSTER, TF_EKS_CLUSTER, Update, &[Request("name")]),
    e(EKS, "UpdateClusterVersion", T_EKS_CLUSTER, TF_EKS_CLUSTER, Update, &[Request("name")]),
    e(EKS, "DeleteCluster", T_EKS_CLUSTER, TF_EKS_CLUSTER, Delete, &[Request("name"), Response("cluster.name")]),
    e(EKS, "CreateNodegroup", T_NODEGROUP, TF_NODEGROUP, Create, &[Request("nodegroupName"), Response("nodegroup.nodegroupName")]),
    e(EKS, "UpdateNodegroupConfig", T_NODEGROUP, TF_NODEGROUP, Update, &[Request("nodegroupName")]),
    e(EKS, "UpdateNodegroupVersion", T_NODEGROUP, TF_NODEGROUP, Update, &[Request("nodegroupName")]),
    e(EKS, "DeleteNodegroup", T_NODEGROUP, TF_NODEGROUP, Delete, &[Request("nodegroupName"), Response("nodegroup.nodegroupName")]),
    e(EKS, "CreateAddon", T_ADDON, TF_ADDON, Create, &[Request("addonName")]),
    e(EKS, "UpdateAddon", T_ADDON, TF_ADDON, Update, &[Request("addonName")]),
    e(EKS, "DeleteAddon", T_ADDON, TF_ADDON, Delete, &[Request("addonName")]),

    // ---- Redshift: clusters (CreateCluster / DeleteCluster again, keyed by source) ----
    e(REDSHIFT, "CreateCluster", T_REDSHIFT, TF_REDSHIFT, Create, &[Request("clusterIdentifier"), Response("clusterIdentifier")]),
    e(REDSHIFT, "ModifyCluster", T_REDSHIFT, TF_REDSHIFT, Update, &[Request("clusterIdentifier"), Response("clusterIdentifier")]),
    e(REDSHIFT, "DeleteCluster", T_REDSHIFT, TF_REDSHIFT, Delete, &[Request("clusterIdentifier"), Response("clusterIdentifier")]),

    // ---- KMS: keys and aliases ----
    e(KMS, "CreateKey", T_KEY, TF_KEY, Create, &[Response("keyMetadata.arn"), Response("keyMetadata.keyId"), Resources(T_KEY)]),
    e(KMS, "PutKeyPolicy", T_KEY, TF_KEY_POLICY, Update, ID_KEY),
    e(KMS, "EnableKeyRotation", T_KEY, TF_KEY, Update, ID_KEY),
    e(KMS, "DisableKeyRotation", T_KEY, TF_KEY, Update, ID_KEY),
    e(KMS, "EnableKey", T_KEY, TF_KEY, Update, ID_KEY),
    e(KMS, "DisableKey", T_KEY, TF_KEY, Update, ID_KEY),
    e(KMS, "UpdateKeyDescription", T_KEY, TF_KEY, Update, ID_KEY),
    e(KMS, "ScheduleKeyDeletion", T_KEY, TF_KEY, Delete, &[Request("keyId"), Response("keyId"), Resources(T_KEY)]),
    e(KMS, "CancelKeyDeletion", T_KEY, TF_KEY, Update, &[Request("keyId"), Response("keyId"), Resources(T_KEY)]),
    e(KMS, "TagResource", T_KEY, TF_KEY, Tag, ID_KEY),
    e(KMS, "UntagResource", T_KEY, TF_KEY, Tag, ID_KEY),
    e(KMS, "CreateAlias", T_KEY_ALIAS, TF_KEY_ALIAS, Create, &[Request("aliasName")]),
    e(KMS, "UpdateAlias", T_KEY_ALIAS, TF_KEY_ALIAS, Update, &[Request("aliasName")]),
    e(KMS, "DeleteAlias", T_KEY_ALIAS, TF_KEY_ALIAS, Delete, &[Request("aliasName")]),

    // ---- SNS: topics ----
    e(SNS, "CreateTopic", T_TOPIC, TF_TOPIC, Create, &[Response("topicArn")]),
    e(SNS, "DeleteTopic", T_TOPIC, TF_TOPIC, Delete, &[Request("topicArn")]),
    e(SNS, "SetTopicAttributes", T_TOPIC, TF_TOPIC_POLICY, Update, &[Request("topicArn")]),
    e(SNS, "AddPermission", T_TOPIC, TF_TOPIC_POLICY, Update, &[Request("topicArn")]),
    e(SNS, "RemovePermission", T_TOPIC, TF_TOPIC_POLICY, Update, &[Request("topicArn")]),
    e(SNS, "Subscribe", T_TOPIC, TF_TOPIC_SUBSCRIPTION, Update, &[Request("topicArn")]),
    e(SNS, "TagResource", T_TOPIC, TF_TOPIC, Tag, &[Request("resourceArn")]),
    e(SNS, "UntagResource", T_TOPIC, TF_TOPIC, Tag, &[Request("resourceArn")]),

    // ---- SQS: queues ----
    e(SQS, "CreateQueue", T_QUEUE, TF_QUEUE, Create, &[Response("queueUrl")]),
    e(SQS, "DeleteQueue", T_QUEUE, TF_QUEUE, Delete, &[Request("queueUrl")]),
    e(SQS, "SetQueueAttributes", T_QUEUE, TF_QUEUE_ATTRS, Update, &[Request("queueUrl")]),
    e(SQS, "AddPermission", T_QUEUE, TF_QUEUE_POLICY, Update, &[Request("queueUrl")]),
    e(SQS, "RemovePermission", T_QUEUE, TF_QUEUE_POLICY, Update, &[Request("queueUrl")]),
    e(SQS, "TagQueue", T_QUEUE, TF_QUEUE, Tag, &[Request("queueUrl")]),
    e(SQS, "UntagQueue", T_QUEUE, TF_QUEUE, Tag, &[Request("queueUrl")]),

    // ---- Route 53: hosted zones, records and health checks ----
    e(ROUTE53, "CreateHostedZone", T_ZONE, TF_ZONE, Create, &[Response("hostedZone.id")]),
    e(ROUTE53, "DeleteHostedZone", T_ZONE, TF_ZONE, Delete, &[Request("id")]),
    e(ROUTE53, "UpdateHostedZoneComment", T_ZONE, TF_ZONE, Update, &[Request("id")]),
    e(ROUTE53, "ChangeResourceRecordSets", T_ZONE, TF_ZONE_RECORDS, Update, &[Request("hostedZoneId")]),
    e(ROUTE53, "AssociateVPCWithHostedZone", T_ZONE, TF_ZONE_VPC, Update, &[Request("hostedZoneId")]),
    e(ROUTE53, "DisassociateVPCFromHostedZone", T_ZONE, TF_ZONE_VPC, Update, &[Request("hostedZoneId")]),
    // resourceType says hostedzone or healthcheck; the id's form tells which.
    e(ROUTE53, "ChangeTagsForResource", T_ZONE, TF_ZONE, Tag, &[Request("resourceId")]),
    e(ROUTE53, "CreateHealthCheck", T_HEALTH_CHECK, TF_HEALTH_CHECK, Create, &[Response("healthCheck.id")]),
    e(ROUTE53, "UpdateHealthCheck", T_HEALTH_CHECK, TF_HEALTH_CHECK, Update, &[Request("healthCheckId")]),
    e(ROUTE53, "DeleteHealthCheck", T_HEALTH_CHECK, TF_HEALTH_CHECK, Delete, &[Request("healthCheckId")]),

    // ---- CloudFront: distributions, origin access identities and functions ----
    e(CLOUDFRONT, "CreateDistribution", T_DISTRIBUTION, TF_DISTRIBUTION, Create, &[Response("distribution.id")]),
    e(CLOUDFRONT, "CreateDistributionWithTags", T_DISTRIBUTION, TF_DISTRIBUTION, Create, &[Response("distribution.id")]),
    e(CLOUDFRONT, "UpdateDistribution", T_DISTRIBUTION, TF_DISTRIBUTION, Update, &[Request("id"), Response("distribution.id")]),
    e(CLOUDFRONT, "DeleteDistribution", T_DISTRIBUTION, TF_DISTRIBUTION, Delete, &[Request("id")]),
    e(CLOUDFRONT, "TagResource", T_DISTRIBUTION, TF_DISTRIBUTION, Tag, &[Request("resource")]),
    e(CLOUDFRONT, "UntagResource", T_DISTRIBUTION, TF_DISTRIBUTION, Tag, &[Request("resource")]),
    e(CLOUDFRONT, "CreateCloudFrontOriginAccessIdentity", T_OAI, TF_OAI, Create, &[Response("cloudFrontOriginAccessIdentity.id")]),
    e(CLOUDFRONT, "DeleteCloudFrontOriginAccessIdentity", T_OAI, TF_OAI, Delete, &[Request("id")]),
    e(CLOUDFRONT, "CreateFunction", T_CF_FUNCTION, TF_CF_FUNCTION, Create, &[Request("name"), Response("functionSummary.name")]),
    e(CLOUDFRONT, "UpdateFunction", T_CF_FUNCTION, TF_CF_FUNCTION, Update, &[Request("name")]),
    e(CLOUDFRONT, "DeleteFunction", T_CF_FUNCTION, TF_CF_FUNCTION, Delete, &[Request("name")]),

    // ---- Auto Scaling: groups, policies, hooks, schedules and launch configurations ----
    e(AUTOSCALING, "CreateAutoScalingGroup", T_ASG, TF_ASG, Create, ID_ASG),
    e(AUTOSCALING, "UpdateAutoScalingGroup", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "DeleteAutoScalingGroup", T_ASG, TF_ASG, Delete, ID_ASG),
    e(AUTOSCALING, "SetDesiredCapacity", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "SuspendProcesses", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "ResumeProcesses", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "EnableMetricsCollection", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "DisableMetricsCollection", T_ASG, TF_ASG, Update, ID_ASG),
    e(AUTOSCALING, "PutScalingPolicy", T_ASG, TF_ASG_POLICY, Update, ID_ASG),
    e(AUTOSCALING, "DeletePolicy", T_ASG, TF_ASG_POLICY, Update, ID_ASG),
    e(AUTOSCALING, "PutLifecycleHook", T_ASG, TF_ASG_HOOK, Update, ID_ASG),
    e(AUTOSCALING, "DeleteLifecycleHook", T_ASG, TF_ASG_HOOK, Update, ID_ASG),
    e(AUTOSCALING, "PutScheduledUpdateGroupAction", T_ASG, TF_ASG_SCHEDULE, Update, ID_ASG),
    e(AUTOSCALING, "DeleteScheduledAction", T_ASG, TF_ASG_SCHEDULE, Update, ID_ASG),
    e(AUTOSCALING, "AttachLoadBalancerTargetGroups", T_ASG, TF_ASG_ATTACH, Update, ID_ASG),
    e(AUTOSCALING, "DetachLoadBalancerTargetGroups", T_ASG, TF_ASG_ATTACH, Update, ID_ASG),
    e(AUTOSCALING, "AttachLoadBalancers", T_ASG, TF_ASG_ATTACH, Update, ID_ASG),
    e(AUTOSCALING, "DetachLoadBalancers", T_ASG, TF_ASG_ATTACH, Update, ID_ASG),
    e(AUTOSCALING, "CreateOrUpdateTags", T_ASG, TF_ASG, Tag, &[Request("tags.0.resourceId")]),
    e(AUTOSCALING, "DeleteTags", T_ASG, TF_ASG, Tag, &[Request("tags.0.resourceId")]),
    e(AUTOSCALING, "CreateLaunchConfiguration", T_LAUNCH_CONFIG, TF_LAUNCH_CONFIG, Create, &[Request("launchConfigurationName")]),
    e(AUTOSCALING, "DeleteLaunchConfiguration", T_LAUNCH_CONFIG, TF_LAUNCH_CONFIG, Delete, &[Request("launchConfigurationName")]),

    // ---- API Gateway (REST APIs; stages, resources and methods are pieces of the API) ----
    e(APIGATEWAY, "CreateRestApi", T_REST_API, TF_REST_API, Create, &[Response("id"), Response("restapiUpdate.restApiId")]),
    e(APIGATEWAY, "ImportRestApi", T_REST_API, TF_REST_API, Create, &[Response("id")]),
    e(APIGATEWAY, "PutRestApi", T_REST_API, TF_REST_API, Update, &[Request("restApiId"), Response("id")]),
    e(APIGATEWAY, "UpdateRestApi", T_REST_API, TF_REST_API, Update, &[Request("restApiId"), Response("id")]),
    e(APIGATEWAY, "DeleteRestApi", T_REST_API, TF_REST_API, Delete, ID_REST_API),
    e(APIGATEWAY, "CreateDeployment", T_REST_API, TF_REST_API_DEPLOYMENT, Update, ID_REST_API),
    e(APIGATEWAY, "CreateStage", T_REST_API, TF_REST_API_STAGE, Update, &[Request("restApiId"), Response("self.restApiId")]),
    e(APIGATEWAY, "UpdateStage", T_REST_API, TF_REST_API_STAGE, Update, ID_REST_API),
    e(APIGATEWAY, "DeleteStage", T_REST_API, TF_REST_API_STAGE, Update, ID_REST_API),
    e(APIGATEWAY, "CreateResource", T_REST_API, TF_REST_API_RESOURCE, Update, ID_REST_API),
    e(APIGATEWAY, "DeleteResource", T_REST_API, TF_REST_API_RESOURCE, Update, ID_REST_API),
    e(APIGATEWAY, "PutMethod", T_REST_API, TF_REST_API_METHOD, Update, ID_REST_API),
    e(APIGATEWAY, "DeleteMethod", T_REST_API, TF_REST_API_METHOD, Update, ID_REST_API),
    e(APIGATEWAY, "PutIntegration", T_REST_API, TF_REST_API_INTEGRATION, Update, ID_REST_API),
    e(APIGATEWAY, "CreateAuthorizer", T_REST_API, TF_REST_API_AUTHORIZER, Update, ID_REST_API),
    e(APIGATEWAY, "UpdateAuthorizer", T_REST_API, TF_REST_API_AUTHORIZER, Update, ID_REST_API),
    e(APIGATEWAY, "DeleteAuthorizer", T_REST_API, TF_REST_API_AUTHORIZER, Update, ID_REST_API),
    // resourceArn may point at a stage (`/restapis/<id>/stages/<name>`); it contains the API id.
    e(APIGATEWAY, "TagResource", T_REST_API, TF_REST_API_STAGE, Tag, &[Request("resourceArn")]),
    e(APIGATEWAY, "UntagResource", T_REST_API, TF_REST_API_STAGE, Tag, &[Request("resourceArn")]),

    // ---- Secrets Manager: secrets (responses spell the ARN `arn` or, in older records, `aRN`) ----
    e(SECRETS, "CreateSecret", T_SECRET, TF_SECRET, Create, &[Response("arn"), Response("aRN"), Request("name")]),
    e(SECRETS, "UpdateSecret", T_SECRET, TF_SECRET, Update, ID_SECRET),
    e(SECRETS, "DeleteSecret", T_SECRET, TF_SECRET, Delete, ID_SECRET),
    e(SECRETS, "RestoreSecret", T_SECRET, TF_SECRET, Update, ID_SECRET),
    e(SECRETS, "PutResourcePolicy", T_SECRET, TF_SECRET_POLICY, Update, ID_SECRET),
    e(SECRETS, "DeleteResourcePolicy", T_SECRET, TF_SECRET_POLICY, Update, ID_SECRET),
    e(SECRETS, "RotateSecret", T_SECRET, TF_SECRET_ROTATION, Update, ID_SECRET),
    e(SECRETS, "CancelRotateSecret", T_SECRET, TF_SECRET_ROTATION, Update, ID_SECRET),
    e(SECRETS, "PutSecretValue", T_SECRET, TF_SECRET_VERSION, Update, ID_SECRET),
    e(SECRETS, "TagResource", T_SECRET, TF_SECRET, Tag, &[Request("secretId")]),
    e(SECRETS, "UntagResource", T_SECRET, TF_SECRET, Tag, &[Request("secretId")]),

    // ---- SSM: parameters, documents and associations ----
    // ---- interactive access to instances (no declared attribute changes) ----
    e(SSM, "SendCommand", T_INSTANCE, TF_INSTANCE, Access, &[Request("instanceIds.0"), Request("targets.0.values.0")]),
    e(SSM, "StartSession", T_INSTANCE, TF_INSTANCE, Access, &[Request("target")]),
    e(INSTANCE_CONNECT, "SendSSHPublicKey", T_INSTANCE, TF_INSTANCE, Access, &[Request("instanceId")]),
    e(INSTANCE_CONNECT, "SendSerialConsoleSSHPublicKey", T_INSTANCE, TF_INSTANCE, Access, &[Request("instanceId")]),

    e(SSM, "PutParameter", T_PARAMETER, TF_PARAMETER, Update, &[Request("name")]),
    e(SSM, "DeleteParameter", T_PARAMETER, TF_PARAMETER, Delete, &[Request("name")]),
    e(SSM, "DeleteParameters", T_PARAMETER, TF_PARAMETER, Delete, &[Request("names.0")]),
    e(SSM, "CreateDocument", T_DOCUMENT, TF_DOCUMENT, Create, &[Request("name"), Response("documentDescription.name")]),
    e(SSM, "UpdateDocument", T_DOCUMENT, TF_DOCUMENT, Update, &[Request("name")]),
    e(SSM, "UpdateDocumentDefaultVersion", T_DOCUMENT, TF_DOCUMENT, Update, &[Request("name")]),
    e(SSM, "ModifyDocumentPermission", T_DOCUMENT, TF_DOCUMENT, Update, &[Request("name")]),
    e(SSM, "DeleteDocument", T_DOCUMENT, TF_DOCUMENT, Delete, &[Request("name")]),
    e(SSM, "CreateAssociation", T_ASSOCIATION, TF_ASSOCIATION, Create, &[Response("associationDescription.associationId")]),
    e(SSM, "UpdateAssociation", T_ASSOCIATION, TF_ASSOCIATION, Update, &[Request("associationId")]),
    e(SSM, "DeleteAssociation", T_ASSOCIATION, TF_ASSOCIATION, Delete, &[Request("associationId")]),

    // ---- CloudWatch: alarms and dashboards ----
    e(CLOUDWATCH, "PutMetricAlarm", T_ALARM, TF_ALARM, Update, &[Request("alarmName")]),
    e(CLOUDWATCH, "PutCompositeAlarm", T_COMPOSITE_ALARM, TF_COMPOSITE_ALARM, Update, &[Request("alarmName")]),
    e(CLOUDWATCH, "DeleteAlarms", T_ALARM, TF_ANY_ALARM, Delete, &[Request("alarmNames.0")]),
    e(CLOUDWATCH, "EnableAlarmActions", T_ALARM, TF_ANY_ALARM, Update, &[Request("alarmNames.0")]),
    e(CLOUDWATCH, "DisableAlarmActions", T_ALARM, TF_ANY_ALARM, Update, &[Request("alarmNames.0")]),
    e(CLOUDWATCH, "PutDashboard", T_DASHBOARD, TF_DASHBOARD, Update, &[Request("dashboardName")]),
    e(CLOUDWATCH, "DeleteDashboards", T_DASHBOARD, TF_DASHBOARD, Delete, &[Request("dashboardNames.0")]),

    // ---- CloudWatch Logs: log groups, retention, subscription and metric filters ----
    e(LOGS, "CreateLogGroup", T_LOG_GROUP, TF_LOG_GROUP, Create, ID_LOG_GROUP),
    e(LOGS, "DeleteLogGroup", T_LOG_GROUP, TF_LOG_GROUP, Delete, ID_LOG_GROUP),
    e(LOGS, "PutRetentionPolicy", T_LOG_GROUP, TF_LOG_GROUP, Update, ID_LOG_GROUP),
    e(LOGS, "DeleteRetentionPolicy", T_LOG_GROUP, TF_LOG_GROUP, Update, ID_LOG_GROUP),
    e(LOGS, "AssociateKmsKey", T_LOG_GROUP, TF_LOG_GROUP, Update, ID_LOG_GROUP),
    e(LOGS, "DisassociateKmsKey", T_LOG_GROUP, TF_LOG_GROUP, Update, ID_LOG_GROUP),
    e(LOGS, "PutSubscriptionFilter", T_LOG_GROUP, TF_LOG_SUBSCRIPTION, Update, ID_LOG_GROUP),
    e(LOGS, "DeleteSubscriptionFilter", T_LOG_GROUP, TF_LOG_SUBSCRIPTION, Update, ID_LOG_GROUP),
    e(LOGS, "PutMetricFilter", T_LOG_GROUP, TF_LOG_METRIC_FILTER, Update, ID_LOG_GROUP),
    e(LOGS, "DeleteMetricFilter", T_LOG_GROUP, TF_LOG_METRIC_FILTER, Update, ID_LOG_GROUP),
    e(LOGS, "TagLogGroup", T_LOG_GROUP, TF_LOG_GROUP, Tag, ID_LOG_GROUP),
    e(LOGS, "UntagLogGroup", T_LOG_GROUP, TF_LOG_GROUP, Tag, ID_LOG_GROUP),
    e(LOGS, "TagResource", T_LOG_GROUP, TF_LOG_GROUP, Tag, &[Request("resourceArn")]),
    e(LOGS, "UntagResource", T_LOG_GROUP, TF_LOG_GROUP, Tag, &[Request("resourceArn")]),

    // ---- CloudTrail: trails (`name` may be a name or an ARN) ----
    e(CLOUDTRAIL, "CreateTrail", T_TRAIL, TF_TRAIL, Create, &[Request("name"), Response("trailARN")]),
    e(CLOUDTRAIL, "UpdateTrail", T_TRAIL, TF_TRAIL, Update, &[Request("name"), Response("trailARN")]),
    e(CLOUDTRAIL, "DeleteTrail", T_TRAIL, TF_TRAIL, Delete, &[Request("name")]),
    e(CLOUDTRAIL, "StartLogging", T_TRAIL, TF_TRAIL, Update, &[Request("name")]),
    e(CLOUDTRAIL, "StopLogging", T_TRAIL, TF_TRAIL, Update, &[Request("name")]),
    e(CLOUDTRAIL, "PutEventSelectors", T_TRAIL, TF_TRAIL, Update, &[Request("trailName"), Response("trailARN")]),
    e(CLOUDTRAIL, "PutInsightSelectors", T_TRAIL, TF_TRAIL, Update, &[Request("trailName"), Response("trailARN")]),

    // ---- GuardDuty: detectors ----
    e(GUARDDUTY, "CreateDetector", T_DETECTOR, TF_DETECTOR, Create, &[Response("detectorId")]),
    e(GUARDDUTY, "UpdateDetector", T_DETECTOR, TF_DETECTOR, Update, &[Request("detectorId")]),
    e(GUARDDUTY, "DeleteDetector", T_DETECTOR, TF_DETECTOR, Delete, &[Request("detectorId")]),

    // ---- AWS Config: the configuration recorder ----
    e(CONFIG, "PutConfigurationRecorder", T_RECORDER, TF_RECORDER, Update, &[Request("configurationRecorder.name")]),
    e(CONFIG, "StartConfigurationRecorder", T_RECORDER, TF_RECORDER, Update, &[Request("configurationRecorderName")]),
    e(CONFIG, "StopConfigurationRecorder", T_RECORDER, TF_RECORDER, Update, &[Request("configurationRecorderName")]),
    e(CONFIG, "DeleteConfigurationRecorder", T_RECORDER, TF_RECORDER, Delete, &[Request("configurationRecorderName")]),

    // ---- ECR: repositories ----
    e(ECR, "CreateRepository", T_REPOSITORY, TF_REPOSITORY, Create, &[Request("repositoryName"), Response("repository.repositoryName")]),
    e(ECR, "DeleteRepository", T_REPOSITORY, TF_REPOSITORY, Delete, &[Request("repositoryName"), Response("repository.repositoryName")]),
    e(ECR, "SetRepositoryPolicy", T_REPOSITORY, TF_REPOSITORY_POLICY, Update, &[Request("repositoryName"), Response("repositoryName")]),
    e(ECR, "DeleteRepositoryPolicy", T_REPOSITORY, TF_REPOSITORY_POLICY, Update, &[Request("repositoryName"), Response("repositoryName")]),
    e(ECR, "PutLifecyclePolicy", T_REPOSITORY, TF_REPOSITORY_LIFECYCLE, Update, &[Request("repositoryName"), Response("repositoryName")]),
    e(ECR, "PutImageScanningConfiguration", T_REPOSITORY, TF_REPOSITORY, Update, &[Request("repositoryName"), Response("repositoryName")]),
    e(ECR, "PutImageTagMutability", T_REPOSITORY, TF_REPOSITORY, Update, &[Request("repositoryName"), Response("repositoryName")]),

    // ---- Elasticsearch / OpenSearch Service: domains (same source, two API generations) ----
    e(ES, "CreateElasticsearchDomain", T_ES_DOMAIN, TF_ES_DOMAIN, Create, &[Request("domainName"), Response("domainStatus.domainName")]),
    e(ES, "UpdateElasticsearchDomainConfig", T_ES_DOMAIN, TF_ES_DOMAIN_POLICY, Update, &[Request("domainName")]),
    e(ES, "DeleteElasticsearchDomain", T_ES_DOMAIN, TF_ES_DOMAIN, Delete, &[Request("domainName"), Response("domainStatus.domainName")]),
    e(ES, "CreateDomain", T_OS_DOMAIN, TF_OS_DOMAIN, Create, &[Request("domainName"), Response("domainStatus.domainName")]),
    e(ES, "UpdateDomainConfig", T_OS_DOMAIN, TF_OS_DOMAIN_POLICY, Update, &[Request("domainName")]),
    e(ES, "DeleteDomain", T_OS_DOMAIN, TF_OS_DOMAIN, Delete, &[Request("domainName"), Response("domainStatus.domainName")]),

    // ---- EFS: file systems and mount targets ----
    e(EFS, "CreateFileSystem", T_FILE_SYSTEM, TF_FILE_SYSTEM, Create, &[Response("fileSystemId")]),
    e(EFS, "DeleteFileSystem", T_FILE_SYSTEM, TF_FILE_SYSTEM, Delete, &[Request("fileSystemId")]),
    e(EFS, "PutFileSystemPolicy", T_FILE_SYSTEM, TF_FILE_SYSTEM_POLICY, Update, &[Request("fileSystemId")]),
    e(EFS, "PutLifecycleConfiguration", T_FILE_SYSTEM, TF_FILE_SYSTEM, Update, &[Request("fileSystemId")]),
    e(EFS, "CreateMountTarget", T_MOUNT_TARGET, TF_MOUNT_TARGET, Create, &[Response("mountTargetId")]),
    e(EFS, "ModifyMountTargetSecurityGroups", T_MOUNT_TARGET, TF_MOUNT_TARGET, Update, &[Request("mountTargetId")]),
    e(EFS, "DeleteMountTarget", T_MOUNT_TARGET, TF_MOUNT_TARGET, Delete, &[Request("mountTargetId")]),

    // ---- CodeBuild: projects ----
    e(CODEBUILD, "CreateProject", T_PROJECT, TF_PROJECT, Create, &[Response("project.name"), Request("name")]),
    e(CODEBUILD, "UpdateProject", T_PROJECT, TF_PROJECT, Update, &[Request("name"), Response("project.name")]),
    e(CODEBUILD, "UpdateProjectVisibility", T_PROJECT, TF_PROJECT, Update, &[Request("projectArn")]),
    e(CODEBUILD, "DeleteProject", T_PROJECT, TF_PROJECT, Delete, &[Request("name")]),

    // ---- EventBridge: rules and targets (DeleteRule again, keyed by source) ----
    e(EVENTS, "PutRule", T_EVENT_RULE, TF_EVENT_RULE, Update, &[Request("name"), Response("ruleArn")]),
    e(EVENTS, "DeleteRule", T_EVENT_RULE, TF_EVENT_RULE, Delete, &[Request("name")]),
    e(EVENTS, "EnableRule", T_EVENT_RULE, TF_EVENT_RULE, Update, &[Request("name")]),
    e(EVENTS, "DisableRule", T_EVENT_RULE, TF_EVENT_RULE, Update, &[Request("name")]),
    e(EVENTS, "PutTargets", T_EVENT_RULE, TF_EVENT_TARGET, Update, &[Request("rule")]),
    e(EVENTS, "RemoveTargets", T_EVENT_RULE, TF_EVENT_TARGET, Update, &[Request("rule")]),

    // ---- RAM: resource shares (principals and resources are associations of the share) ----
    e(RAM, "CreateResourceShare", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Create, &[Response("resourceShare.resourceShareArn")]),
    e(RAM, "UpdateResourceShare", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Update, &[Request("resourceShareArn"), Response("resourceShare.resourceShareArn")]),
    e(RAM, "DeleteResourceShare", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Delete, &[Request("resourceShareArn")]),
    e(RAM, "AssociateResourceShare", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Update, &[Request("resourceShareArn"), Response("resourceShareAssociations.0.resourceShareArn")]),
    e(RAM, "DisassociateResourceShare", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Update, &[Request("resourceShareArn"), Response("resourceShareAssociations.0.resourceShareArn")]),
    e(RAM, "AssociateResourceSharePermission", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Update, &[Request("resourceShareArn")]),
    e(RAM, "DisassociateResourceSharePermission", T_RESOURCE_SHARE, TF_RESOURCE_SHARE, Update, &[Request("resourceShareArn")]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique() {
        let mut seen = HashSet::new();
        for entry in ENTRIES {
            assert!(
                seen.insert((entry.source, entry.name)),
                "duplicate key {} {}",
                entry.source,
                entry.name
            );
        }
    }

    #[test]
    fn only_mutating_calls_with_an_id() {
        for entry in ENTRIES {
            for prefix in ["Describe", "Get", "List"] {
                assert!(!entry.name.starts_with(prefix), "read-only call {}", entry.name);
            }
            assert!(!entry.id.is_empty(), "{} has no id path", entry.name);
            assert!(
                entry.resource_type.starts_with("AWS::"),
                "{} has a bad type",
                entry.name
            );
            assert!(
                entry.terraform.iter().all(|t| t.starts_with("aws_")),
                "{} has a bad Terraform type",
                entry.name
            );
        }
    }

    #[test]
    fn covers_at_least_170_calls() {
        assert!(ENTRIES.len() >= 170, "only {} entries", ENTRIES.len());
    }
}
