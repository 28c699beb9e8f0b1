//! The stack, deployed: `infra/template.yaml` translated as `sam deploy` translates it and created
//! on moto's CloudFormation, a spoke (`infra/spoke.yaml`) created in a member account, and the
//! compiled ingest run with the environment the stack gave its function. CloudTrail events put on
//! the default buses travel the wiring the templates declare (the spoke's forwarding rule, the
//! central bus's and default bus's rules, the queue, the event source mapping) to ingest, whose
//! findings land in the stack's table and whose `Drift Detected` reaches the rules of
//! notify-slack and remediate. A template change that breaks that wiring breaks this test.
//! On the way they fail ingest five times and land in the ingest queue's dead-letter queue, and
//! the redrive command the stack prints (`IngestDeadLetterQueueRedrive`, run through the code
//! `driftguard dlq redrive` runs) moves them back: every consumer's dead-letter queue is checked
//! to exist, unshared, with its command naming its consumer.
//!
//! The states are where an organisation keeps them: two `StateLocations`, the central account's
//! bucket and a member account's bucket encrypted with that account's KMS key (SSE-KMS, its ARN
//! in `StateKmsKeyArns`, the bucket policy naming the stack's roles as infra/README.md says), and
//! the configuration file is in SSM (`ConfigFileParameter`). moto enforces no bucket or key
//! policy: that the policies admit the roles is not tested here, only that ingest, configured by
//! the stack, reads both buckets.
//!
//! moto's gaps are worked around by name (`driftguard_tests::deployed::Workaround`), and the test
//! asserts the exact list it relied on, so a workaround is never taken silently and one that is
//! no longer needed shows. Besides them, three settings point the function at the loopback stand-ins
//! instead of AWS: `AWS_ENDPOINT_URL` (moto), `DRIFTGUARD_S3_PATH_STYLE=true` (moto serves
//! buckets by path) and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (set by Lambda, taken from the
//! deployed function).

use driftguard_core::finding::{Finding, Status};
use driftguard_core::ports::{FindingStore, Query};
use driftguard_tests::deployed::{self, Workaround, SPOKE_ACCOUNT};
use driftguard_tests::moto::MotoServer;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi, ACCOUNT_ID};
use driftguard_tests::stack::{sdk_config, workspace};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const STACK: &str = "driftguard";
const SPOKE_STACK: &str = "driftguard-spoke";
/// The central account's state bucket and where its states are.
const STATE_BUCKET: &str = "acme-tfstate";
const STATE_PREFIX: &str = "env/prod/";
/// The member account's state bucket (SSE-KMS) and where its states are.
const MEMBER_STATE_BUCKET: &str = "acme-data-tfstate";
const MEMBER_STATE_PREFIX: &str = "live/";
/// The configuration file's SSM parameter.
const CONFIG_PARAMETER: &str = "/driftguard/config";
/// The configuration file: bob's instance is left alone (its change is ignored).
const CONFIG_FILE: &str =
    "# DriftGuard configuration (deployed-stack test)\nignore = [\"AWS::EC2::Instance i-0abc1234def567890\"]\n";
const TIMEOUT: Duration = Duration::from_secs(60);

/// What moto needs worked around for this test (asserted, so the list stays true).
const WORKAROUNDS: [Workaround; 4] = [
    Workaround::EventBusRefByName,
    Workaround::ParametersAsCloudFormationPassesThem,
    Workaround::EventSourceMappingPlayedByTheTest,
    Workaround::LambdaTargetsReplacedByQueues,
];

/// A sample CloudTrail event (`events/cloudtrail/<name>`), with `account` in place of the
/// sample account wherever it appears when the change happened in another account.
fn cloudtrail(name: &str, account: &str) -> Value {
    let text = std::fs::read_to_string(workspace().join("events/cloudtrail").join(name)).expect("sample event");
    serde_json::from_str(&text.replace(ACCOUNT_ID, account)).expect("sample event is JSON")
}

/// A sample Terraform state, with `account` in place of the sample account.
fn state(name: &str, account: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(workspace().join("events/terraform").join(name)).expect("sample state");
    text.replace(ACCOUNT_ID, account).into_bytes()
}

#[test]
fn the_deployed_stack_carries_a_member_accounts_change_to_a_finding_and_its_drift_events() {
    let test = "the_deployed_stack_carries_a_member_accounts_change_to_a_finding_and_its_drift_events";
    let Some(moto) = MotoServer::start_or_skip(test) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let central = rt.block_on(sdk_config(&moto.endpoint()));
    let spoke = rt
        .block_on(deployed::account_sdk(&central, SPOKE_ACCOUNT))
        .expect("credentials in the member account");

    // What exists before the stack. The states: the network stack's in the central account's
    // bucket; the data stack's (its resources live in the member account) in that account's
    // bucket, under its own KMS key.
    let member_states = rt
        .block_on(deployed::create_stack(
            &spoke,
            "acme-data-tfstate",
            &member_state_bucket().to_string(),
            &BTreeMap::new(),
        ))
        .expect("the member account's state bucket and key");
    let key_arn = member_states.output("KeyArn").to_owned();
    let member_key = format!("{MEMBER_STATE_PREFIX}data.tfstate");
    rt.block_on(deployed::put_objects(
        &spoke,
        MEMBER_STATE_BUCKET,
        &[(member_key.clone(), state("data.tfstate", SPOKE_ACCOUNT))],
    ))
    .expect("put the member account's state");
    assert_eq!(
        rt.block_on(deployed::object_encryption(&spoke, MEMBER_STATE_BUCKET, &member_key))
            .expect("head the member account's state"),
        (Some("aws:kms".to_owned()), Some(key_arn.clone())),
        "the member account's state is encrypted with its key"
    );
    let network = [(
        format!("{STATE_PREFIX}network.tfstate"),
        state("network.tfstate", ACCOUNT_ID),
    )];
    rt.block_on(deployed::bucket_with(&central, STATE_BUCKET, &network))
        .expect("the central state bucket");
    rt.block_on(deployed::put_parameter(&central, CONFIG_PARAMETER, CONFIG_FILE))
        .expect("put the configuration file");

    let locations = format!("s3://{STATE_BUCKET}/{STATE_PREFIX},s3://{MEMBER_STATE_BUCKET}/{MEMBER_STATE_PREFIX}");
    let mut parameters: BTreeMap<String, String> = [
        ("StateLocations", locations.as_str()),
        ("StateKmsKeyArns", key_arn.as_str()),
        ("ConfigFileParameter", CONFIG_PARAMETER),
        // notify-slack exists only with a Slack secret; it is never read here.
        (
            "SlackWebhookUrlSecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/slack-webhook-AbCdEf",
        ),
        ("ShadowMode", "true"),
        ("RevertResourceTypes", "AWS::EC2::SecurityGroup"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let Some(mut template) =
        deployed::translate_or_skip(test, &workspace().join("infra/template.yaml"), &parameters, STACK)
    else {
        return;
    };
    // The translation wrote ingest's state grants once per location (moto's CloudFormation does
    // not create AWS::IAM::RolePolicy resources, so they are checked here).
    let granted: Vec<String> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(id, r)| id.starts_with("IngestStates") && r["Type"] == "AWS::IAM::RolePolicy")
        .map(|(_, r)| r.to_string())
        .collect();
    let each_location_once = locations.split(',').all(|location| {
        granted
            .iter()
            .filter(|g| g.contains(&format!("\"{location}\"")))
            .count()
            == 1
    });
    assert!(
        granted.len() == 2 && each_location_once,
        "one state grant on ingest's role per location: {granted:#?}"
    );
    let mut used = deployed::for_moto(&mut template, &mut parameters);
    // The code, as `sam package` uploads it.
    rt.block_on(deployed::upload_code(&central, &template))
        .expect("upload the code");

    let stack = rt
        .block_on(deployed::create_stack(
            &central,
            STACK,
            &serde_json::to_string(&template).expect("JSON"),
            &parameters,
        ))
        .expect("the central stack is created");
    // The member account's bucket admits the stack's roles (infra/README.md).
    let roles = [stack.output("IngestRoleArn"), stack.output("IacSyncRoleArn")];
    let policy = member_bucket_policy(&roles);
    rt.block_on(deployed::put_bucket_policy(&spoke, MEMBER_STATE_BUCKET, &policy))
        .expect("the member account's bucket policy");
    let bus_arn = stack.output("EventBusArn").to_owned();
    let spoke_template = std::fs::read_to_string(workspace().join("infra/spoke.yaml")).expect("spoke.yaml");
    let spoke_parameters = BTreeMap::from([("DriftGuardBusArn".to_owned(), bus_arn.clone())]);
    let spoke_stack = rt
        .block_on(deployed::create_stack(
            &spoke,
            SPOKE_STACK,
            &spoke_template,
            &spoke_parameters,
        ))
        .expect("the spoke stack is created in the member account");
    assert!(
        spoke_stack.resources.contains_key("ForwardRule"),
        "{:?}",
        spoke_stack.resources
    );

    // The functions as deployed.
    let function = |logical: &str| {
        rt.block_on(deployed::function(&central, stack.physical(logical)))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let ingest = function("IngestFunction");
    let notify = function("NotifySlackFunction");
    let remediate = function("RemediateFunction");
    let iac_sync = function("IacSyncFunction");
    assert_eq!(
        (
            ingest.environment.get("DRIFTGUARD_TABLE").map(String::as_str),
            ingest.environment.get("DRIFTGUARD_STATE_LOCATIONS").map(String::as_str)
        ),
        (Some(stack.output("TableName")), Some(locations.as_str())),
        "ingest writes to the stack's table and reads both locations: {:?}",
        ingest.environment
    );

    // The event source mapping the stack declares: the queue to ingest, reporting item failures.
    let queue = rt
        .block_on(deployed::queue(&central, stack.output("QueueUrl")))
        .expect("the queue");
    let mapping = rt
        .block_on(deployed::take_over_mapping(
            &central,
            stack.physical("IngestFunctionQueue"),
        ))
        .expect("the event source mapping");
    used.insert(Workaround::EventSourceMappingPlayedByTheTest);
    assert_eq!(
        (
            mapping.source_arn.as_str(),
            mapping.function_arn.as_str(),
            mapping.reports_item_failures
        ),
        (queue.arn.as_str(), ingest.arn.as_str(), true),
        "{mapping:?}"
    );

    // Dead letters: one queue per consumer, each in the outputs with the command that redrives
    // it to that consumer; the ingest rules' targets name their own queue.
    let redrives = [
        ("IngestDeadLetterQueue", queue.url.as_str()),
        ("DefaultBusRuleDeadLetterQueue", queue.url.as_str()),
        ("DriftGuardBusRuleDeadLetterQueue", queue.url.as_str()),
        ("NotifySlackRuleDeadLetterQueue", notify.arn.as_str()),
        ("NotifySlackFailedInvocationsQueue", notify.arn.as_str()),
        ("RemediateRuleDeadLetterQueue", remediate.arn.as_str()),
        ("RemediateFailedInvocationsQueue", remediate.arn.as_str()),
        ("IacSyncRuleDeadLetterQueue", iac_sync.arn.as_str()),
        ("IacSyncFailedInvocationsQueue", iac_sync.arn.as_str()),
    ];
    let mut dead_letter_arns = BTreeMap::new();
    for (name, consumer) in redrives {
        let url = stack.output(&format!("{name}Url"));
        let dlq = rt
            .block_on(deployed::queue(&central, url))
            .unwrap_or_else(|e| panic!("{name} exists: {e}"));
        assert_eq!(
            deployed::printed_redrive(stack.output(&format!("{name}Redrive"))),
            Ok((url.to_owned(), consumer.to_owned())),
            "{name}'s redrive command sends to its consumer"
        );
        dead_letter_arns.insert(name, dlq.arn);
    }
    let distinct: BTreeSet<&String> = dead_letter_arns.values().collect();
    assert_eq!(
        distinct.len(),
        redrives.len(),
        "no queue is shared: {dead_letter_arns:?}"
    );
    let bus = stack.output("EventBusName").to_owned();
    for (rule, on_bus, dlq) in [
        ("DefaultBusRule", "default", "DefaultBusRuleDeadLetterQueue"),
        ("DriftGuardBusRule", bus.as_str(), "DriftGuardBusRuleDeadLetterQueue"),
    ] {
        let targets = rt
            .block_on(deployed::target_dead_letters(&central, on_bus, stack.physical(rule)))
            .expect("the rule's targets");
        assert_eq!(
            targets
                .iter()
                .map(|(_, arn, dead)| (arn.as_str(), dead.as_deref()))
                .collect::<Vec<_>>(),
            [(queue.arn.as_str(), Some(dead_letter_arns[dlq].as_str()))],
            "{rule}"
        );
    }

    // The rules' Lambda targets: each names its function; notify-slack's and remediate's rules
    // are observed through queues instead.
    let removed = rt
        .block_on(deployed::remove_lambda_targets(&central, &stack))
        .expect("the rules' Lambda targets");
    used.insert(Workaround::LambdaTargetsReplacedByQueues);
    let mut observers = BTreeMap::new();
    for (rule, function, dlq) in [
        (
            "NotifySlackFunctionDriftEvents",
            &notify,
            "NotifySlackRuleDeadLetterQueue",
        ),
        (
            "RemediateFunctionRemediationEvents",
            &remediate,
            "RemediateRuleDeadLetterQueue",
        ),
    ] {
        let target = removed
            .iter()
            .find(|t| t.rule_logical_id == rule)
            .unwrap_or_else(|| panic!("{rule} has no Lambda target: {removed:?}"));
        assert_eq!(
            (
                target.bus.as_str(),
                target.function_arn.as_str(),
                target.dead_letter_arn.as_deref()
            ),
            (
                bus.as_str(),
                function.arn.as_str(),
                Some(dead_letter_arns[dlq].as_str())
            ),
            "{rule}"
        );
        let observer = rt
            .block_on(deployed::observe_rule(
                &central,
                &bus,
                &target.rule,
                &format!("observe-{rule}"),
            ))
            .expect("observe the rule");
        observers.insert(rule, observer);
    }

    // The changes: bob resizes an instance and alice opens SSH in the central account (its own
    // default bus); alice resizes a function in the member account (the spoke forwards it).
    let sg = cloudtrail("ec2-authorize-security-group-ingress.console-sso.json", ACCOUNT_ID);
    let instance = cloudtrail("ec2-modify-instance-attribute.cli-user.json", ACCOUNT_ID);
    let lambda = cloudtrail("lambda-update-function-configuration.console-sso.json", SPOKE_ACCOUNT);
    for event in [&sg, &instance] {
        rt.block_on(deployed::put_event(&central, "default", event))
            .expect("put on the central default bus");
    }
    rt.block_on(deployed::put_event(&spoke, "default", &lambda))
        .expect("put on the member account's default bus");

    // Ingest fails them all (a bad deployment, say): after five receives the queue's redrive
    // policy moves them to the ingest queue's dead-letter queue. Once fixed, the command the
    // stack prints moves them back, and the run below handles them as if nothing happened.
    let most_receives = rt
        .block_on(deployed::fail_every_receive(&central, &queue))
        .expect("receive without deleting");
    let ingest_dlq = stack.output("IngestDeadLetterQueueUrl");
    assert_eq!(
        (
            most_receives,
            rt.block_on(deployed::queue_depth(&central, ingest_dlq)),
            rt.block_on(deployed::queue_depth(&central, &queue.url))
        ),
        (5, Ok(3), Ok(0)),
        "maxReceiveCount 5, then the three events are dead letters"
    );
    let report = rt
        .block_on(deployed::redrive_as_printed(
            &central,
            stack.output("IngestDeadLetterQueueRedrive"),
        ))
        .expect("the printed redrive runs");
    assert_eq!(
        (report.received, report.resent, report.deleted, report.complete()),
        (3, 3, 3, true),
        "{report:?}"
    );
    assert_eq!(
        (
            rt.block_on(deployed::queue_depth(&central, ingest_dlq)),
            rt.block_on(deployed::queue_depth(&central, &queue.url))
        ),
        (Ok(0), Ok(3)),
        "the dead letters are back on the ingest queue"
    );

    // The event source mapping's part: batches from the queue to the compiled ingest.
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest"));
    let api = RuntimeApi::start_named(&ingest.name);
    let mut env = ingest.environment.clone();
    env.insert("AWS_ENDPOINT_URL".into(), moto.endpoint());
    env.insert("DRIFTGUARD_S3_PATH_STYLE".into(), "true".into());
    if let Some(memory) = ingest.memory_size {
        env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), memory.to_string());
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut function = LambdaProcess::spawn(&binary, &api, &env);
    let (delivered, answers) = play_event_source_mapping(&rt, &central, &queue, &mapping, &mut function, 3);
    assert_eq!(
        delivered,
        3,
        "the three events reached ingest through the queue and were handled: {answers:?}\n{}",
        function.logs()
    );

    // The findings, in the stack's table.
    let store = driftguard_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&central), stack.output("TableName"));
    let findings: Vec<Finding> = rt.block_on(store.list(&Query::default())).expect("list the findings");
    let by_resource: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.resource.id.as_str(), f)).collect();
    assert_eq!(
        by_resource.keys().copied().collect::<Vec<_>>(),
        ["orders-api", "sg-0123456789abcdef0"],
        "bob's instance is ignored by the configuration file in SSM\n{}",
        function.logs()
    );
    let sg_finding = by_resource["sg-0123456789abcdef0"];
    assert_eq!(
        (
            sg_finding.status,
            sg_finding.owner.as_ref().map(|o| o.state.as_str()),
            sg_finding.resource.account.as_str()
        ),
        (
            Status::Open,
            Some(format!("s3://{STATE_BUCKET}/{STATE_PREFIX}network.tfstate").as_str()),
            ACCOUNT_ID
        )
    );
    let lambda_finding = by_resource["orders-api"];
    assert_eq!(
        (
            lambda_finding.owner.as_ref().map(|o| o.state.as_str()),
            lambda_finding.resource.account.as_str()
        ),
        (
            Some(format!("s3://{MEMBER_STATE_BUCKET}/{member_key}").as_str()),
            SPOKE_ACCOUNT
        ),
        "orders-api is declared only in the member account's state"
    );

    // Drift Detected for both, at notify-slack's rule and at remediate's rule.
    let expected: BTreeSet<String> = findings.iter().map(|f| f.id.clone()).collect();
    for (rule, observer) in &observers {
        let events = rt.block_on(deployed::drain(&central, observer)).expect("drain");
        let detected: BTreeSet<String> = events
            .iter()
            .filter(|e| e["detail-type"] == "Drift Detected" && e["source"] == "driftguard")
            .filter_map(|e| e["detail"]["finding"]["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(detected, expected, "Drift Detected at {rule}: {events:?}");
    }

    let used: Vec<&str> = used.iter().map(|w| w.name()).collect();
    let listed: Vec<&str> = WORKAROUNDS.iter().map(|w| w.name()).collect();
    assert_eq!(used, listed, "the workarounds this test relies on");
}

/// The member account's state bucket: a stack with a KMS key and a bucket encrypting with it.
fn member_state_bucket() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Terraform states of the data stack, encrypted with this account's key",
        "Resources": {
            "StateKey": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "Description": "Terraform states",
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": format!("arn:aws:iam::{SPOKE_ACCOUNT}:root")},
                            "Action": "kms:*",
                            "Resource": "*"
                        }]
                    }
                }
            },
            "StateBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": MEMBER_STATE_BUCKET,
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [{
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": ["StateKey", "Arn"]}
                            }
                        }]
                    }
                }
            }
        },
        "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["StateKey", "Arn"]}}}
    })
}

/// The member account's bucket policy infra/README.md gives ("A state bucket in another account").
fn member_bucket_policy(roles: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DriftGuardReadsStates",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": format!("arn:aws:s3:::{MEMBER_STATE_BUCKET}/{MEMBER_STATE_PREFIX}*"),
            },
            {
                "Sid": "DriftGuardListsStates",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{MEMBER_STATE_BUCKET}"),
                "Condition": {"StringLike": {"s3:prefix": format!("{MEMBER_STATE_PREFIX}*")}},
            },
        ],
    })
}

/// The event source mapping's part ([`Workaround::EventSourceMappingPlayedByTheTest`]): batches
/// of up to its batch size from `queue` to `function`, the handled messages deleted, until the
/// queue is empty once `expected` messages were handled (or five receives found nothing).
/// Returns how many were handled and the function's answers.
fn play_event_source_mapping(
    rt: &tokio::runtime::Runtime,
    sdk: &aws_config::SdkConfig,
    queue: &deployed::Queue,
    mapping: &deployed::Mapping,
    function: &mut LambdaProcess,
    expected: usize,
) -> (usize, Vec<Value>) {
    let mut handled = 0;
    let mut answers = Vec::new();
    let mut empty = 0;
    while empty < 5 {
        let (batch, handles) = rt
            .block_on(deployed::receive_batch(sdk, queue, mapping.batch_size))
            .expect("receive a batch");
        if handles.is_empty() {
            if handled >= expected {
                break;
            }
            empty += 1;
            continue;
        }
        let answer = match function.invoke(&serde_json::to_vec(&batch).expect("JSON"), TIMEOUT) {
            Invocation::Response(answer) => answer,
            other => panic!("ingest did not answer the batch: {other:?}\n{}", function.logs()),
        };
        handled += rt
            .block_on(deployed::acknowledge(sdk, queue, &handles, &answer))
            .expect("delete the handled messages");
        answers.push(answer);
    }
    (handled, answers)
}
