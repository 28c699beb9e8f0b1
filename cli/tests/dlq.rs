//! `driftguard dlq redrive` run exactly as the deployed stack prints it: `infra/template.yaml`
//! translated as `sam deploy` translates it and created on moto, a dead letter of each shape put
//! in its consumer's queue (the ingest queue's own, through its redrive policy; a rule's delivery
//! failure, with the attributes EventBridge adds; Lambda's on-failure record of an asynchronous
//! invocation), then each `<queue>Redrive` output run as a command. Queues are moto's; Lambda's
//! `Invoke` goes to a loopback stand-in (moto runs functions in Docker) through the SDK's
//! service-specific endpoint variable, `AWS_ENDPOINT_URL_LAMBDA`, which records each invocation.

use driftguard_tests::deployed::{self, Queue};
use driftguard_tests::moto::MotoServer;
use driftguard_tests::runtime_api::ACCOUNT_ID;
use driftguard_tests::slack_receiver::{Reply, SlackReceiver};
use driftguard_tests::stack::{sdk_config, workspace};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Output;

mod common;

use common::text;

const REGION: &str = "eu-west-1";

/// A sample event of `events/`.
fn sample(path: &str) -> Value {
    let text = std::fs::read_to_string(workspace().join("events").join(path)).expect("sample event");
    serde_json::from_str(&text).expect("sample event is JSON")
}

/// Lambda's on-failure destination record of an asynchronous invocation of `function` with
/// `event` that failed every retry (core's sample, its function and request replaced).
fn failed_invocation(function: &str, event: &Value) -> Value {
    let path = workspace().join("shared/core/tests/data/dead_letter/on-failure-destination.json");
    let text = std::fs::read_to_string(path).expect("the on-failure sample");
    let mut record: Value = serde_json::from_str(&text).expect("the on-failure sample is JSON");
    record["requestContext"]["functionArn"] = json!(format!("{function}:$LATEST"));
    record["requestPayload"] = event.clone();
    record
}

/// Puts `body` in `queue` as EventBridge puts an event its rule could not deliver to `target`.
async fn rule_dead_letter(sdk: &aws_config::SdkConfig, queue: &str, body: &Value, rule: &str, target: &str) {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let attribute = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .expect("attribute")
    };
    aws_sdk_sqs::Client::new(sdk)
        .send_message()
        .queue_url(queue)
        .message_body(body.to_string())
        .message_attributes("RULE_ARN", attribute(rule))
        .message_attributes("TARGET_ARN", attribute(target))
        .message_attributes("ERROR_CODE", attribute("SQS.AccessDeniedException"))
        .message_attributes("ERROR_MESSAGE", attribute("Access to the resource is denied"))
        .message_attributes("EXHAUSTED_RETRY_CONDITION", attribute("MaximumRetryAttempts"))
        .message_attributes("RETRY_ATTEMPTS", attribute("10"))
        .send()
        .await
        .expect("a rule's dead letter");
}

async fn put_message(sdk: &aws_config::SdkConfig, queue: &str, body: &Value) {
    aws_sdk_sqs::Client::new(sdk)
        .send_message()
        .queue_url(queue)
        .message_body(body.to_string())
        .send()
        .await
        .expect("a dead letter");
}

/// Every message body `queue` holds (received, then made visible again).
async fn bodies(sdk: &aws_config::SdkConfig, queue: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let got = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive");
    got.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap_or("null")).expect("a JSON body"))
        .collect()
}

/// `driftguard` with the words of a printed command (the first must be `driftguard`), against
/// moto, Lambda's calls to `lambda`.
fn run_printed(command: &str, moto: &str, lambda: &str) -> Output {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"driftguard"), "{command}");
    common::command(&words[1..])
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda)
        .env("AWS_REGION", REGION)
        .output()
        .expect("run driftguard")
}

/// The invocations the Lambda stand-in received, as (function, invocation type, payload).
fn invocations(lambda: &SlackReceiver) -> Vec<(String, String, Value)> {
    lambda
        .requests()
        .iter()
        .filter_map(|r| {
            let function = r
                .path
                .strip_prefix("/2015-03-31/functions/")?
                .strip_suffix("/invocations")?
                .replace("%3A", ":");
            Some((
                function,
                r.header("x-amz-invocation-type")
                    .unwrap_or("RequestResponse")
                    .to_owned(),
                r.json.clone().unwrap_or(Value::Null),
            ))
        })
        .collect()
}

#[test]
fn each_printed_redrive_command_moves_its_dead_letters_back_to_their_consumer() {
    let test = "each_printed_redrive_command_moves_its_dead_letters_back_to_their_consumer";
    let Some(moto) = MotoServer::start_or_skip(test) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sdk = rt.block_on(sdk_config(&moto.endpoint()));
    let mut parameters: BTreeMap<String, String> = [
        ("StateLocations", "s3://acme-tfstate/live/"),
        (
            "SlackWebhookUrlSecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/slack-webhook-AbCdEf",
        ),
        ("SecurityHub", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let Some(mut template) = deployed::translate_or_skip(
        test,
        &workspace().join("infra/template.yaml"),
        &parameters,
        "driftguard",
    ) else {
        return;
    };
    deployed::for_moto(&mut template, &mut parameters);
    rt.block_on(deployed::upload_code(&sdk, &template)).expect("code");
    let stack = rt
        .block_on(deployed::create_stack(
            &sdk,
            "driftguard",
            &serde_json::to_string(&template).expect("JSON"),
            &parameters,
        ))
        .expect("the stack");
    // moto's EventBridge fails a PutEvents that matches a Lambda target (and matches schedule
    // rules to every event): the functions are the stand-in's here anyway.
    rt.block_on(deployed::remove_lambda_targets(&sdk, &stack))
        .expect("remove the Lambda targets");
    let queue: Queue = rt
        .block_on(deployed::queue(&sdk, stack.output("QueueUrl")))
        .expect("the queue");
    let arn = |function: &str| {
        rt.block_on(deployed::function(&sdk, stack.physical(function)))
            .expect("the function")
            .arn
    };
    let (notify, remediate, securityhub) = (
        arn("NotifySlackFunction"),
        arn("RemediateFunction"),
        arn("SecurityHubFunction"),
    );
    let url = |name: &str| stack.output(&format!("{name}Url")).to_owned();
    let rule_arn = |rule: &str| format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{}", stack.physical(rule));

    // The ingest queue's own dead letter: a change ingest failed five times.
    let change = sample("cloudtrail/ec2-authorize-security-group-ingress.console-sso.json");
    rt.block_on(deployed::put_event(&sdk, "default", &change))
        .expect("put the change");
    assert_eq!(rt.block_on(deployed::fail_every_receive(&sdk, &queue)), Ok(5));
    // The default bus rule's delivery failure of another change.
    let other = sample("cloudtrail/ec2-modify-instance-attribute.cli-user.json");
    rt.block_on(rule_dead_letter(
        &sdk,
        &url("DefaultBusRuleDeadLetterQueue"),
        &other,
        &rule_arn("DefaultBusRule"),
        &queue.arn,
    ));
    // notify-slack gave up on a Drift Detected; next to it, a record of remediate's that was put
    // in the wrong queue (it must stay where it is).
    let drift = sample("driftguard/drift-detected.console-sg.json");
    let request = sample("driftguard/remediation-requested.revert.json");
    rt.block_on(put_message(
        &sdk,
        &url("NotifySlackFailedInvocationsQueue"),
        &failed_invocation(&notify, &drift),
    ));
    rt.block_on(put_message(
        &sdk,
        &url("NotifySlackFailedInvocationsQueue"),
        &failed_invocation(&remediate, &request),
    ));
    // remediate's rule could not deliver a request; securityhub gave up on a drift event.
    rt.block_on(rule_dead_letter(
        &sdk,
        &url("RemediateRuleDeadLetterQueue"),
        &request,
        &rule_arn("RemediateFunctionRemediationEvents"),
        &remediate,
    ));
    rt.block_on(put_message(
        &sdk,
        &url("SecurityHubFailedInvocationsQueue"),
        &failed_invocation(&securityhub, &drift),
    ));

    // Lambda: the functions take asynchronous invocations (202), but securityhub is gone.
    let lambda = SlackReceiver::start();
    let path = |function: &str| format!("/2015-03-31/functions/{}/invocations", function.replace(':', "%3A"));
    for function in [&notify, &remediate] {
        lambda.script(&path(function), (0..3).map(|_| Reply::text(202, "")));
    }
    let not_found = Reply::json(
        404,
        &json!({"Type": "User", "message": format!("Function not found: {securityhub}")}),
    )
    .with_header("x-amzn-ErrorType", "ResourceNotFoundException");
    lambda.script(&path(&securityhub), (0..5).map(|_| not_found.clone()));

    let printed = |name: &str| stack.output(&format!("{name}Redrive")).to_owned();
    let run = |name: &str, extra: &[&str]| {
        let command = format!("{} {}", printed(name), extra.join(" "));
        let out = run_printed(&command, &moto.endpoint(), &lambda.url(""));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    // A dry run first: counted, nothing moved.
    let (status, stdout, stderr) = run("IngestDeadLetterQueue", &["--dry-run"]);
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("1 received, 1 would re-send, 0 deleted, 0 left, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        rt.block_on(deployed::queue_depth(&sdk, &url("IngestDeadLetterQueue"))),
        Ok(1)
    );

    // The ingest queue's dead letter and the rule's go back to the ingest queue, as the rule
    // delivers them.
    for name in ["IngestDeadLetterQueue", "DefaultBusRuleDeadLetterQueue"] {
        let (status, stdout, stderr) = run(name, &[]);
        assert_eq!(status, Some(0), "{name}: {stdout}{stderr}");
        assert!(
            stdout.contains("1 received, 1 re-sent, 1 deleted, 0 left, 0 failed"),
            "{name}: {stdout}"
        );
        assert_eq!(rt.block_on(deployed::queue_depth(&sdk, &url(name))), Ok(0), "{name}");
    }
    let back = rt.block_on(bodies(&sdk, &queue.url));
    assert_eq!(back.len(), 2, "{back:#?}");
    assert!(
        back.iter()
            .any(|b| b["detail"] == change["detail"] && b["source"] == change["source"]),
        "the failed change, as the rule delivered it: {back:#?}"
    );
    assert!(back.contains(&other), "the undelivered change, untouched: {back:#?}");

    // notify-slack is invoked asynchronously with the event it was given; remediate's record
    // stays in notify-slack's queue (exit status 2, the message named).
    let (status, stdout, _) = run("NotifySlackFailedInvocationsQueue", &[]);
    assert_eq!(status, Some(2), "{stdout}");
    assert!(
        stdout.contains("2 received, 1 re-sent, 1 deleted, 1 left, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("it goes back to {remediate}, not here")),
        "{stdout}"
    );
    assert_eq!(
        rt.block_on(bodies(&sdk, &url("NotifySlackFailedInvocationsQueue"))),
        vec![failed_invocation(&remediate, &request)],
        "left where it was, visible again"
    );
    // remediate's rule dead letter: remediate is invoked with the request.
    let (status, stdout, _) = run("RemediateRuleDeadLetterQueue", &[]);
    assert_eq!(status, Some(0), "{stdout}");
    assert!(stdout.contains("1 received, 1 re-sent, 1 deleted"), "{stdout}");
    assert_eq!(
        invocations(&lambda),
        vec![
            (notify.clone(), "Event".to_owned(), drift.clone()),
            (remediate.clone(), "Event".to_owned(), request.clone()),
        ]
    );

    // Lambda refuses securityhub's invocation: nothing is deleted, the failure is named.
    let (status, stdout, _) = run("SecurityHubFailedInvocationsQueue", &[]);
    assert_eq!(status, Some(2), "{stdout}");
    assert!(
        stdout.contains("1 received, 0 re-sent, 0 deleted, 0 left, 1 failed")
            && stdout.contains("ResourceNotFoundException"),
        "{stdout}"
    );
    assert_eq!(
        rt.block_on(deployed::queue_depth(&sdk, &url("SecurityHubFailedInvocationsQueue"))),
        Ok(1),
        "a message that was not re-sent is never deleted"
    );
}

#[test]
fn a_redrive_names_what_it_cannot_take() {
    for (args, want) in [
        (
            vec![
                "dlq",
                "redrive",
                "--from",
                "dlq",
                "--to",
                "https://sqs.eu-west-1.amazonaws.com/1/q",
            ],
            "--from dlq: expected the dead-letter queue's URL",
        ),
        (
            vec![
                "dlq",
                "redrive",
                "--from",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
                "--to",
                "arn:aws:sqs:eu-west-1:123456789012:q",
            ],
            "give the queue's URL (the stack's QueueUrl output), not its ARN",
        ),
        (
            vec![
                "dlq",
                "redrive",
                "--from",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
                "--to",
                "driftguard-NotifySlackFunction-AbC",
            ],
            "expected a queue URL",
        ),
    ] {
        let out = common::driftguard(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(want), "{args:?}: {}", text(&out.stderr));
    }
}
