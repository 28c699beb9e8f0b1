//! [`DynamoSweeps`]: the reconcile sweep's items on the DriftGuard table, under their own
//! partition-key prefix (`SWEEP#<account>/<region>`), so IAM can scope them:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | a run in progress | `SWEEP#<account>/<region>` | `RUN` | `doc` (core's `Continuation`: the type, Config's `NextToken`, what matched, the counters), `version` |
//! | the last complete run | `SWEEP#<account>/<region>` | `LAST` | `doc` (its `SweepReport`, coverage included), `finished_at` |
//! | the first-deployment backfill | `SWEEP#<account>/<region>` | `BACKFILL` | `doc` (core's `Backfill`: the window, how far it is read, counters) |
//!
//! The run is saved with `version = :v` after every page, so two invocations never both move
//! one run on (the second's save fails, and it stops, saying so).

use crate::error::{classify, AwsError};
use crate::item::{self, get_n, get_s, n, s, Item};
use aws_sdk_dynamodb::Client;
use driftguard_core::sweep::{Backfill, Continuation, Scope, SweepReport};
use std::collections::HashMap;

/// The sweep's continuation and reports on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoSweeps {
    client: Client,
    table: String,
}

fn corrupt(pk: &str, message: impl std::fmt::Display) -> AwsError {
    AwsError::Corrupt {
        key: pk.to_owned(),
        message: message.to_string(),
    }
}

impl DynamoSweeps {
    /// The sweep items on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSweeps {
            client,
            table: table.into(),
        }
    }

    fn pk(scope: &Scope) -> String {
        format!("SWEEP#{}", scope.key())
    }

    /// The run in progress in `scope`, with its version.
    pub async fn load(&self, scope: &Scope) -> Result<Option<(Continuation, i64)>, AwsError> {
        let pk = Self::pk(scope);
        let Some(item) = item::get(&self.client, &self.table, &pk, "RUN").await? else {
            return Ok(None);
        };
        let doc = get_s(&item, "doc").ok_or_else(|| corrupt(&pk, "no doc attribute"))?;
        let run = serde_json::from_str(doc).map_err(|e| corrupt(&pk, e))?;
        Ok(Some((run, get_n(&item, "version").unwrap_or(0))))
    }

    /// Saves the run (created when `expected` is `None`, else only over that version). Returns
    /// the new version, or `None` when another invocation moved the run on meanwhile.
    pub async fn save(
        &self,
        scope: &Scope,
        run: &Continuation,
        expected: Option<i64>,
    ) -> Result<Option<i64>, AwsError> {
        let doc = serde_json::to_string(run).map_err(|e| corrupt(&Self::pk(scope), e))?;
        if doc.len() > 350 * 1024 {
            return Err(corrupt(
                &Self::pk(scope),
                format!(
                    "the run's continuation is {} bytes, over the 350 KB an item holds (too many declarations of {} matched in one run)",
                    doc.len(),
                    run.current_type().unwrap_or("one type")
                ),
            ));
        }
        let version = expected.unwrap_or(0) + 1;
        let item = Item::from([
            ("pk".into(), s(Self::pk(scope))),
            ("sk".into(), s("RUN")),
            ("doc".into(), s(doc)),
            ("version".into(), n(version)),
        ]);
        let saved = match expected {
            None => item::put(&self.client, &self.table, item, Some("attribute_not_exists(pk)"), None).await?,
            Some(v) => {
                item::put(
                    &self.client,
                    &self.table,
                    item,
                    Some("version = :v"),
                    Some(HashMap::from([(":v".to_owned(), n(v))])),
                )
                .await?
            }
        };
        Ok(saved.then_some(version))
    }

    /// Records a complete run's report as the scope's last and removes the run.
    pub async fn finish(&self, scope: &Scope, report: &SweepReport, finished_at: &str) -> Result<(), AwsError> {
        let pk = Self::pk(scope);
        let doc = serde_json::to_string(report).map_err(|e| corrupt(&pk, e))?;
        let item = Item::from([
            ("pk".into(), s(pk.clone())),
            ("sk".into(), s("LAST")),
            ("doc".into(), s(doc)),
            ("finished_at".into(), s(finished_at)),
        ]);
        item::put(&self.client, &self.table, item, None, None).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s("RUN"))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }

    /// The last complete run's report in `scope`.
    pub async fn last(&self, scope: &Scope) -> Result<Option<SweepReport>, AwsError> {
        let pk = Self::pk(scope);
        let Some(item) = item::get(&self.client, &self.table, &pk, "LAST").await? else {
            return Ok(None);
        };
        let doc = get_s(&item, "doc").ok_or_else(|| corrupt(&pk, "no doc attribute"))?;
        serde_json::from_str(doc).map(Some).map_err(|e| corrupt(&pk, e))
    }

    /// The scope's backfill, once begun.
    pub async fn backfill(&self, scope: &Scope) -> Result<Option<Backfill>, AwsError> {
        let pk = Self::pk(scope);
        let Some(item) = item::get(&self.client, &self.table, &pk, "BACKFILL").await? else {
            return Ok(None);
        };
        let doc = get_s(&item, "doc").ok_or_else(|| corrupt(&pk, "no doc attribute"))?;
        serde_json::from_str(doc).map(Some).map_err(|e| corrupt(&pk, e))
    }

    /// Saves the scope's backfill (after every slice read).
    pub async fn save_backfill(&self, scope: &Scope, backfill: &Backfill) -> Result<(), AwsError> {
        let pk = Self::pk(scope);
        let doc = serde_json::to_string(backfill).map_err(|e| corrupt(&pk, e))?;
        let item = Item::from([
            ("pk".into(), s(pk)),
            ("sk".into(), s("BACKFILL")),
            ("doc".into(), s(doc)),
        ]);
        item::put(&self.client, &self.table, item, None, None).await?;
        Ok(())
    }
}
