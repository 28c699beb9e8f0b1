//! DynamoDB item plumbing shared by the adapters on the DriftGuard table ([`crate::DynamoStore`],
//! [`crate::DynamoLedger`]): attribute constructors and readers, a consistent `GetItem`, and a
//! conditional `PutItem` that reports a failed condition as `Ok(false)`.

use crate::error::{classify, AwsError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// One item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute's value.
pub(crate) fn get_s<'i>(item: &'i Item, name: &str) -> Option<&'i str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute's value.
pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// The item at `pk` / `sk`, read strongly consistent.
pub(crate) async fn get(client: &Client, table: &str, pk: &str, sk: &str) -> Result<Option<Item>, AwsError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify("DynamoDB", "GetItem", e))?;
    Ok(out.item)
}

/// Puts `item`, under `condition` when given; `Ok(false)` when the condition failed. A
/// condition may name the reserved word `state` as `#state`.
pub(crate) async fn put(
    client: &Client,
    table: &str,
    item: Item,
    condition: Option<&str>,
    values: Option<Item>,
) -> Result<bool, AwsError> {
    let names = condition
        .filter(|c| c.contains("#state"))
        .map(|_| HashMap::from([("#state".to_owned(), "state".to_owned())]));
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(classify("DynamoDB", "PutItem", e)),
    }
}

/// A request DriftGuard could not build (a missing required field): not retryable.
pub(crate) fn build_err(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Call {
        service: "DynamoDB",
        operation,
        code: "build".into(),
        message: e.to_string(),
        retry: crate::Retry::NotRetryable,
    }
}

/// Seconds since the epoch.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs `items` as one `TransactWriteItems`: `Ok(true)` when written, `Ok(false)` when a condition
/// failed (the caller re-reads and judges again), [`AwsError::Contention`] naming `what` when a
/// concurrent transaction or throttling cancelled it (retryable), else the classified error.
pub(crate) async fn transact(
    client: &Client,
    items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    what: &str,
) -> Result<bool, AwsError> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    let cancelled_for = |e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, _>, codes: &[&str]| {
        matches!(
            e.as_service_error(),
            Some(TransactWriteItemsError::TransactionCanceledException(c))
                if c.cancellation_reasons().iter().any(|r| r.code().is_some_and(|code| codes.contains(&code)))
        )
    };
    match result {
        Ok(_) => Ok(true),
        Err(e) if cancelled_for(&e, &["ConditionalCheckFailed"]) => Ok(false),
        Err(e)
            if cancelled_for(
                &e,
                &[
                    "TransactionConflict",
                    "ThrottlingError",
                    "ProvisionedThroughputExceeded",
                ],
            ) =>
        {
            Err(AwsError::Contention(what.to_owned()))
        }
        Err(e) => Err(classify("DynamoDB", "TransactWriteItems", e)),
    }
}
