//! Fault injection between the AWS adapters and moto: throttling and 5xx are retried with
//! backoff, refused EventBridge entries are retried, and failures that persist are reported as
//! retryable errors rather than lost.

use driftguard_aws::{AwsError, DynamoStore, EventBridgePublisher, Retry};
use driftguard_core::conformance::sample_finding;
use driftguard_core::ports::{Change, DriftEvent, EventPublisher, FindingStore};
use driftguard_core::score::Severity;
use driftguard_tests::fault::{Fault, FaultProxy, Rule};
use driftguard_tests::stack::{sdk_config, Stack, BUS, TABLE};

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
