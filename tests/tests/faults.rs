//! Fault injection between the AWS adapters and moto: throttling and 5xx are retried with
//! backoff, refused EventBridge entries are retried, and failures that persist are reported as
//! retryable errors rather than lost.

use driftguard_aws::{AwsError, DynamoStore, EventBridgePublisher, Retry};
use driftguard_core::conformance::sample_finding;
use driftguard_core::ports::{Change, DriftEvent, EventPublisher, FindingStore};
use driftguard_core::score::Severity;
use driftguard_tests::fault::{Fault, FaultProxy, Rule};
use driftguard_tests::stack::{sdk_config, sdk_config_without_retries, Stack, BUS, TABLE};

const DYNAMO_THROTTLE: &str = "com.amazonaws.dynamodb.v20120810#ThrottlingException";
const DYNAMO_500: &str = "com.amazonaws.dynamodb.v20120810#InternalServerError";

async fn store_through(stack: &Stack, rules: Vec<Rule>) -> (DynamoStore, FaultProxy) {
    let proxy = FaultProxy::start(&stack.moto.endpoint(), rules);
    let sdk = sdk_config(&proxy.endpoint()).await;
    (DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), TABLE), proxy)
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn dynamodb_throttling_and_server_errors_are_retried() {
    let Some(stack) = Stack::start("dynamodb_throttling_and_server_errors_are_retried").await else {
        return;
    };
    let rules = vec![
        Rule {
            operation: "PutItem",
            times: 2,
            fault: Fault::Throttle(DYNAMO_THROTTLE),
        },
        Rule {
            operation: "GetItem",
            times: 1,
            fault: Fault::ServerError(DYNAMO_500),
        },
    ];
    let (store, proxy) = store_through(&stack, rules).await;
    let f = sample_finding("ev-retry", "sg-retry", 10, Severity::Major);
    let transitions = store
        .apply(&[Change::Finding(Box::new(f.clone()))])
        .await
        .expect("succeeds after retries");
    assert_eq!(transitions.len(), 1);
    assert_eq!((proxy.injected("PutItem"), proxy.injected("GetItem")), (2, 1));
    assert!(proxy.seen("PutItem") >= 3, "the throttled write was sent again");
    assert_eq!(stack.store().get(&f.id).await.expect("get"), Some(f));
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn persistent_throttling_is_a_retryable_error() {
    let Some(stack) = Stack::start("persistent_throttling_is_a_retryable_error").await else {
        return;
    };
    let rules = vec![Rule {
        operation: "PutItem",
        times: usize::MAX,
        fault: Fault::Throttle(DYNAMO_THROTTLE),
    }];
    let (store, proxy) = store_through(&stack, rules).await;
    let f = sample_finding("ev-throttled", "sg-throttled", 10, Severity::Major);
    let err = store
        .apply(&[Change::Finding(Box::new(f))])
        .await
        .expect_err("gives up");
    assert_eq!(err.retry(), Retry::Retryable, "{err}");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert!(proxy.seen("PutItem") >= 2, "the SDK retried before giving up");
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn refused_eventbridge_entries_are_retried_then_reported() {
    let Some(stack) = Stack::start("refused_eventbridge_entries_are_retried_then_reported").await else {
        return;
    };
    let finding = sample_finding("ev-pub", "sg-pub", 10, Severity::Critical);
    let transitions = stack
        .store()
        .apply(&[Change::Finding(Box::new(finding))])
        .await
        .expect("apply");
    let events: Vec<DriftEvent> = transitions.into_iter().map(DriftEvent::from).collect();

    // Refused twice, then accepted: delivered once.
    let proxy = FaultProxy::start(
        &stack.moto.endpoint(),
        vec![Rule {
            operation: "PutEvents",
            times: 2,
            fault: Fault::PutEventsAllFailed,
        }],
    );
    let publisher = EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk_config(&proxy.endpoint()).await),
        BUS,
    );
    assert_eq!(publisher.publish(&events).await.expect("published after retries"), 1);
    assert_eq!(proxy.seen("PutEvents"), 3);
    assert_eq!(stack.drain_events().await.len(), 1);

    // Refused every time: reported with the event's key, retryable.
    let proxy = FaultProxy::start(
        &stack.moto.endpoint(),
        vec![Rule {
            operation: "PutEvents",
            times: usize::MAX,
            fault: Fault::PutEventsAllFailed,
        }],
    );
    let publisher = EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk_config(&proxy.endpoint()).await),
        BUS,
    );
    let err = publisher.publish(&events).await.expect_err("reported");
    assert!(
        matches!(&err, AwsError::PublishRejected { failed } if failed[0].starts_with(&events[0].key)),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Retryable);
    assert!(stack.drain_events().await.is_empty());
}

/// A proxy that answers every request for `operation` with `fault` (nothing is forwarded: the
/// upstream is a closed port).
fn answering(operation: &'static str, fault: Fault) -> FaultProxy {
    FaultProxy::start(
        "http://127.0.0.1:9",
        vec![Rule {
            operation,
            times: usize::MAX,
            fault,
        }],
    )
}

fn json_answer(status: &'static str, body: serde_json::Value) -> Fault {
    Fault::Respond {
        status,
        content_type: "application/x-amz-json-1.1",
        body: body.to_string(),
    }
}

/// S3's error document (the S3 API reference's `Error` shape, with one of its listed codes).
fn s3_error(status: &'static str, code: &str, message: &str) -> Fault {
    Fault::Respond {
        status,
        content_type: "application/xml",
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>dGVzdA==</HostId></Error>"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_s3_and_secrets_manager_errors_and_any_5xx_are_retryable() {
    let cases: Vec<(&str, Fault)> = vec![
        (
            "InternalError",
            s3_error(
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
        ),
        (
            "RequestTimeout",
            s3_error(
                "400 Bad Request",
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period.",
            ),
        ),
    ];
    for (code, fault) in cases {
        let proxy = answering("", fault);
        let s3 = driftguard_aws::s3_client(&sdk_config_without_retries(&proxy.endpoint()).await, true);
        let err = driftguard_aws::get_object(&s3, "acme-tfstate", "env/prod/network.tfstate")
            .await
            .expect_err("the fault is answered");
        assert_eq!(err.retry(), Retry::Retryable, "S3 {code}: {err}");
        assert!(err.to_string().contains(code), "{err}");
    }

    for (status, code) in [
        ("500 Internal Server Error", "InternalServiceError"),
        ("503 Service Unavailable", "ServiceUnavailableException"),
    ] {
        let proxy = answering(
            "GetSecretValue",
            json_answer(status, serde_json::json!({"__type": code, "message": "try again"})),
        );
        let sdk = sdk_config_without_retries(&proxy.endpoint()).await;
        let err = driftguard_aws::read_secret(&sdk, "driftguard/slack")
            .await
            .expect_err("the fault is answered");
        assert_eq!(err.retry(), Retry::Retryable, "Secrets Manager {code}: {err}");
        assert!(err.to_string().contains(code), "{err}");
    }

    // A 5xx with a code DriftGuard has never heard of.
    let proxy = answering(
        "GetItem",
        Fault::Respond {
            status: "502 Bad Gateway",
            content_type: "application/x-amz-json-1.0",
            body: serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#SomethingNew", "message": "new"})
                .to_string(),
        },
    );
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config_without_retries(&proxy.endpoint()).await),
        TABLE,
    );
    let err = store.get("dg-0000000000000000").await.expect_err("502");
    assert_eq!(err.retry(), Retry::Retryable, "{err}");
}

const MARKER: &str = "MARKER-s3cr3t-7f3a91";

#[tokio::test(flavor = "multi_thread")]
async fn secret_bearing_responses_never_reach_error_text() {
    let secrets_manager = [
        // A reply that does not parse (VersionStages must be a list) but holds the secret.
        json_answer(
            "200 OK",
            serde_json::json!({
                "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/slack-AbCdEf",
                "Name": "driftguard/slack",
                "SecretString": MARKER,
                "VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
                "VersionStages": "AWSCURRENT"
            }),
        ),
        // An error whose message echoes it.
        json_answer(
            "400 Bad Request",
            serde_json::json!({"__type": "InvalidRequestException", "message": format!("bad value {MARKER}")}),
        ),
    ];
    for fault in secrets_manager {
        let proxy = answering("GetSecretValue", fault);
        let sdk = sdk_config_without_retries(&proxy.endpoint()).await;
        let err = driftguard_aws::read_secret(&sdk, "driftguard/slack")
            .await
            .expect_err("the reply is refused");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(MARKER), "the secret leaked into the error: {text}");
            assert!(text.contains("GetSecretValue"), "the error names the call: {text}");
        }
    }
    // SSM: a parameter whose Version is not a number.
    let proxy = answering(
        "GetParameter",
        json_answer(
            "200 OK",
            serde_json::json!({"Parameter": {
                "ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter/driftguard/slack/token",
                "Name": "/driftguard/slack/token",
                "Type": "SecureString",
                "Value": MARKER,
                "Version": "one"
            }}),
        ),
    );
    let sdk = sdk_config_without_retries(&proxy.endpoint()).await;
    let err = driftguard_aws::read_secret(&sdk, "/driftguard/slack/token")
        .await
        .expect_err("the reply is refused");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(MARKER), "the secret leaked into the error: {text}");
        assert!(text.contains("GetParameter"), "{text}");
    }
}

/// A finding write cancelled because another transaction held the item is retryable (the
/// DynamoDB API reference's `TransactionCanceledException` with a `TransactionConflict` reason).
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_conflict_is_retryable() {
    let proxy = answering(
        "TransactWriteItems",
        Fault::Respond {
            status: "400 Bad Request",
            content_type: "application/x-amz-json-1.0",
            body: serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
                "CancellationReasons": [
                    {"Code": "None"},
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                ]
            })
            .to_string(),
        },
    );
    proxy.add(Rule {
        operation: "GetItem",
        times: usize::MAX,
        fault: Fault::Respond {
            status: "200 OK",
            content_type: "application/x-amz-json-1.0",
            body: "{}".into(),
        },
    });
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config_without_retries(&proxy.endpoint()).await),
        TABLE,
    );
    let f = sample_finding("ev-conflict", "sg-conflict", 10, Severity::Major);
    let err = store
        .apply(&[Change::Finding(Box::new(f))])
        .await
        .expect_err("the write is cancelled");
    assert_eq!(err.retry(), Retry::Retryable, "{err}");
}
