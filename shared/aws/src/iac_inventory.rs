//! The declared state as the table keeps it, written by the iac-sync function and read by
//! ingest: one record per state file (the revision on record), one item per declared resource
//! instance, and an inventory version that goes up with every accepted revision.
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | state record | `IAC#STATES` | `<s3://bucket/key>` | `doc` (the [`Recorded`] revision as JSON), `serial`, `etag`, `synced_at` |
//! | inventory version | `IAC#VERSION` | `VERSION` | `version` (goes up by one per accepted revision or removed state), `updated_at` |
//! | declared resource | `INV#<s3://bucket/key>` | `<address>` | `tf_type`, `id`, `arn`, `digest`, `serial` |
//!
//! A revision is recorded with its version bump in one `TransactWriteItems` call, conditional on
//! the record it was judged against (its ETag, or its absence): two writers racing on one state
//! cannot both win, and the loser judges again against the winner's record. The resource items
//! follow (`PutItem` / `DeleteItem`, sixteen at a time); writing them is idempotent, so a retry after a failure part-way
//! puts them right.

use crate::error::{classify, AwsError};
use crate::item::{self, build_err, get_n, get_s, n, now_secs, s, Item};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use driftguard_core::sync::{Delta, Recorded, Revision};
use std::collections::BTreeMap;

/// The partition of state records.
pub const STATES_PK: &str = "IAC#STATES";
/// The inventory version's key.
pub const VERSION_PK: &str = "IAC#VERSION";

/// The declared state on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoInventory {
    client: Client,
    table: String,
}

impl DynamoInventory {
    /// The inventory on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoInventory {
            client,
            table: table.into(),
        }
    }

    /// The inventory version, `None` before any revision was recorded (read strongly
    /// consistent: one `GetItem`).
    pub async fn version(&self) -> Result<Option<u64>, AwsError> {
        let got = item::get(&self.client, &self.table, VERSION_PK, "VERSION").await?;
        Ok(got.and_then(|i| get_n(&i, "version")).map(|v| v.max(0) as u64))
    }

    /// The revision on record for one state file.
    pub async fn recorded(&self, origin: &str) -> Result<Option<Recorded>, AwsError> {
        item::get(&self.client, &self.table, STATES_PK, origin)
            .await?
            .map(|i| decode(origin, &i))
            .transpose()
    }

    /// Every state file on record, in key order.
    pub async fn states(&self) -> Result<Vec<(String, Recorded)>, AwsError> {
        let mut out = Vec::new();
        for i in self.query(STATES_PK).await? {
            let origin = get_s(&i, "sk").unwrap_or_default().to_owned();
            let recorded = decode(&origin, &i)?;
            out.push((origin, recorded));
        }
        Ok(out)
    }

    /// The digests on record for one state file's resources, by address.
    pub async fn digests(&self, origin: &str) -> Result<BTreeMap<String, String>, AwsError> {
        Ok(self
            .query(&format!("INV#{origin}"))
            .await?
            .iter()
            .filter_map(|i| {
                Some((
                    get_s(i, "sk")?.to_owned(),
                    get_s(i, "digest").unwrap_or_default().to_owned(),
                ))
            })
            .collect())
    }

    /// Records `revision` in place of `prior` (the record it was judged against) and bumps the
    /// version, in one transaction. `Ok(false)` when the record is no longer `prior` (another
    /// writer got there first): read it again and judge again.
    pub async fn record(&self, revision: &Revision, prior: Option<&Recorded>) -> Result<bool, AwsError> {
        let recorded = revision.recorded();
        let doc = serde_json::to_string(&recorded).map_err(|e| build_err("TransactWriteItems", e))?;
        let mut put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(STATES_PK))
            .item("sk", s(&revision.origin))
            .item("doc", s(doc))
            .item("etag", s(&revision.etag))
            .item("synced_at", n(now_secs()));
        if let Some(serial) = revision.serial {
            put = put.item("serial", n(serial as i64));
        }
        put = match prior {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(p) => put
                .condition_expression("etag = :prior")
                .expression_attribute_values(":prior", s(&p.etag)),
        };
        let put = put.build().map_err(|e| build_err("TransactWriteItems", e))?;
        self.transact(TransactWriteItem::builder().put(put).build()).await
    }

    /// Forgets a state file that was deleted: its record goes with a version bump (conditional
    /// on the record judged, like [`DynamoInventory::record`]), then its resource items.
    pub async fn forget(&self, origin: &str, prior: &Recorded) -> Result<bool, AwsError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(STATES_PK))
            .key("sk", s(origin))
            .condition_expression("etag = :prior")
            .expression_attribute_values(":prior", s(&prior.etag))
            .build()
            .map_err(|e| build_err("TransactWriteItems", e))?;
        if !self
            .transact(TransactWriteItem::builder().delete(delete).build())
            .await?
        {
            return Ok(false);
        }
        let removed: Vec<String> = self.digests(origin).await?.into_keys().collect();
        self.write_resources(
            origin,
            None,
            &BTreeMap::new(),
            &Delta {
                removed,
                ..Delta::default()
            },
        )
        .await?;
        Ok(true)
    }

    /// Writes a revision's resource items: puts what was added or changed, deletes what was
    /// removed.
    pub async fn apply_delta(&self, revision: &Revision, delta: &Delta) -> Result<(), AwsError> {
        let resources = revision.resources.iter().map(|(a, d)| (a.clone(), d.clone())).collect();
        self.write_resources(&revision.origin, revision.serial, &resources, delta)
            .await
    }

    async fn write_resources(
        &self,
        origin: &str,
        serial: Option<u64>,
        resources: &BTreeMap<String, driftguard_core::sync::ResourceDigest>,
        delta: &Delta,
    ) -> Result<(), AwsError> {
        let pk = format!("INV#{origin}");
        let mut writes = Vec::with_capacity(delta.added.len() + delta.changed.len() + delta.removed.len());
        for address in delta.added.iter().chain(&delta.changed) {
            let Some(r) = resources.get(address) else { continue };
            let mut it = Item::from([
                ("pk".into(), s(&pk)),
                ("sk".into(), s(address)),
                ("tf_type".into(), s(&r.tf_type)),
                ("digest".into(), s(&r.digest)),
            ]);
            for (name, v) in [("id", &r.id), ("arn", &r.arn)] {
                if let Some(v) = v {
                    it.insert(name.into(), s(v));
                }
            }
            if let Some(serial) = serial {
                it.insert("serial".into(), n(serial as i64));
            }
            writes.push(Write::Put(it));
        }
        writes.extend(delta.removed.iter().map(|a| Write::Delete(a.clone())));
        // One PutItem / DeleteItem per item, WRITERS at a time: item writes can be limited to
        // the INV# keys by IAM, batch writes cannot (infra/README.md, "Trust model").
        let mut pending = writes.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < WRITERS {
                let Some(write) = pending.next() else { break };
                let (client, table, pk) = (self.client.clone(), self.table.clone(), pk.clone());
                running.spawn(async move { write.send(&client, &table, &pk).await });
            }
            match running.join_next().await {
                Some(Ok(result)) => result?,
                Some(Err(e)) => {
                    return Err(AwsError::Call {
                        service: "DynamoDB",
                        operation: "PutItem",
                        code: "task".into(),
                        message: e.to_string(),
                        retry: crate::Retry::Retryable,
                    })
                }
                None => return Ok(()),
            }
        }
    }

    /// Runs `write` with the version bump in one transaction; `Ok(false)` when its condition
    /// failed.
    async fn transact(&self, write: TransactWriteItem) -> Result<bool, AwsError> {
        let bump = Update::builder()
            .table_name(&self.table)
            .key("pk", s(VERSION_PK))
            .key("sk", s("VERSION"))
            .update_expression("ADD version :one SET updated_at = :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_secs()))
            .build()
            .map_err(|e| build_err("TransactWriteItems", e))?;
        let bump = TransactWriteItem::builder().update(bump).build();
        item::transact(&self.client, vec![write, bump], "the inventory version").await
    }

    async fn query(&self, pk: &str) -> Result<Vec<Item>, AwsError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("DynamoDB", "Query", e))?;
            out.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }
}

/// How many resource item writes run at once.
const WRITERS: usize = 16;

/// One resource item write.
enum Write {
    Put(Item),
    Delete(String),
}

impl Write {
    async fn send(self, client: &Client, table: &str, pk: &str) -> Result<(), AwsError> {
        match self {
            Write::Put(it) => client
                .put_item()
                .table_name(table)
                .set_item(Some(it))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DynamoDB", "PutItem", e)),
            Write::Delete(address) => client
                .delete_item()
                .table_name(table)
                .key("pk", s(pk))
                .key("sk", s(address))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DynamoDB", "DeleteItem", e)),
        }
    }
}

fn decode(origin: &str, i: &Item) -> Result<Recorded, AwsError> {
    let doc = get_s(i, "doc").unwrap_or_default();
    serde_json::from_str(doc).map_err(|e| AwsError::Corrupt {
        key: format!("{STATES_PK} / {origin}"),
        message: e.to_string(),
    })
}
