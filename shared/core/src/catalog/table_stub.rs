//! Temporary stub.
use super::{Entry, IdPath::*, Op::*};
pub static ENTRIES: &[Entry] = &[
    Entry { source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", resource_type: "AWS::EC2::SecurityGroup", terraform: &["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"], op: Update, id: &[Request("groupId")] },
    Entry { source: "ec2.amazonaws.com", name: "RevokeSecurityGroupIngress", resource_type: "AWS::EC2::SecurityGroup", terraform: &["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"], op: Update, id: &[Request("groupId")] },
    Entry { source: "ec2.amazonaws.com", name: "ModifyInstanceAttribute", resource_type: "AWS::EC2::Instance", terraform: &["aws_instance"], op: Update, id: &[Request("instanceId")] },
    Entry { source: "ec2.amazonaws.com", name: "CreateTags", resource_type: "AWS::EC2::Resource", terraform: &[], op: Tag, id: &[Request("resourcesSet.items.0.resourceId")] },
    Entry { source: "s3.amazonaws.com", name: "PutBucketPublicAccessBlock", resource_type: "AWS::S3::Bucket", terraform: &["aws_s3_bucket", "aws_s3_bucket_public_access_block"], op: Update, id: &[Request("bucketName")] },
    Entry { source: "s3.amazonaws.com", name: "CreateBucket", resource_type: "AWS::S3::Bucket", terraform: &["aws_s3_bucket"], op: Create, id: &[Request("bucketName")] },
    Entry { source: "iam.amazonaws.com", name: "PutRolePolicy", resource_type: "AWS::IAM::Role", terraform: &["aws_iam_role", "aws_iam_role_policy"], op: Update, id: &[Request("roleName")] },
];
