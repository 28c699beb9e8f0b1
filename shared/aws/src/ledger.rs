//! [`DynamoLedger`]: what the Slack functions remember, on the findings table (ARCHITECTURE.md,
//! "The DynamoDB table"):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | Slack delivery | `SLACK#<finding id>:<version>` | `DELIVERY` | `state` (`pending` / `done`), `lease_until` (ms), `expires_at` (TTL, 30 days) |
//! | Slack message of a finding | `SLACKMSG#<finding id>` | `MESSAGE` | `channel`, `ts` |
//! | burst group | `SLACKGROUP#<group key>` | `GROUP` | `doc` (channel, ts, findings), `expires_at` (TTL, 1 day) |
//! | digest entry | `DIGEST#<channel>` | `<finding id>:<version>` | `doc`, `queued_at` |
//! | decision on a finding | `DECISION#<finding id>` | `SETTLED` (the one revert, re-apply or accept), `ACK#<user>` or `NOT_DRIFT#<user>` | `action`, `user`, `at`, `published` (its remediation request went out), `doc` |
//! | signed Slack request | `SLACKREQ#v0=<lower-case hex signature>` | `REQUEST` | `expires_at` (TTL) |
//!
//! No Slack item sits under a finding's partition (`FINDING#`), so the Slack functions' roles
//! can be limited to their own key prefixes (`dynamodb:LeadingKeys`) and can never overwrite a
//! finding. Deliveries are claimed with a conditional write (`attribute_not_exists(pk)`, or a
//! pending claim whose lease expired), so two deliveries of one event cannot both post; digest
//! entries and decisions are created once the same way (the first settling decision on a
//! finding wins), and a signature is accepted once.

use crate::error::{classify, AwsError};
use crate::item::{self, get_s, n, s, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use driftguard_core::interaction::{Action, Decision, DecisionLedger, Recorded};
use driftguard_core::notify::{Claim, DigestItem, Group, MessageRef, NotifyLedger, CLAIM_LEASE_SECONDS};
use driftguard_core::time::Timestamp;
use std::collections::HashMap;
use std::future::Future;

/// How long a finished delivery is remembered.
const DELIVERY_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// How long a burst group is kept (far beyond any grouping window).
const GROUP_TTL_SECONDS: i64 = 24 * 3600;

/// The Slack functions' [`NotifyLedger`] and [`DecisionLedger`] on the DriftGuard table.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

fn corrupt(key: &str, message: impl std::fmt::Display) -> AwsError {
    AwsError::Corrupt {
        key: key.to_owned(),
        message: message.to_string(),
    }
}

fn doc<T: serde::de::DeserializeOwned>(key: &str, item: &Item) -> Result<T, AwsError> {
    let text = get_s(item, "doc").ok_or_else(|| corrupt(key, "no doc attribute"))?;
    serde_json::from_str(text).map_err(|e| corrupt(key, e))
}

fn to_doc(value: &impl serde::Serialize) -> AttributeValue {
    s(serde_json::to_string(value).unwrap_or_default())
}

impl DynamoLedger {
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// A ledger on `table` (the table [`crate::DynamoStore`] creates).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Option<(&str, Item)>) -> Result<(), AwsError> {
        let (condition, values) = condition.map_or((None, None), |(c, v)| (Some(c.to_owned()), Some(v)));
        let names: HashMap<String, String> = ["state"]
            .into_iter()
            .filter(|n| condition.as_deref().is_some_and(|c| c.contains(&format!("#{n}"))))
            .map(|n| (format!("#{n}"), n.to_owned()))
            .collect();
        let names = (!names.is_empty()).then_some(names);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DynamoDB", "DeleteItem", e)),
        }
    }

    /// Every item of a partition whose sort key starts with `prefix` (all pages).
    pub(crate) async fn query(&self, pk: &str, prefix: Option<&str>) -> Result<Vec<Item>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut values = HashMap::from([(":pk".to_owned(), s(pk))]);
            let condition = match prefix {
                Some(p) => {
                    values.insert(":prefix".into(), s(p));
                    "pk = :pk AND begins_with(sk, :prefix)"
                }
                None => "pk = :pk",
            };
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("DynamoDB", "Query", e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn begin_claim(&self, key: &str, now: Timestamp) -> Result<Claim, AwsError> {
        let pk = format!("SLACK#{key}");
        let item = Item::from([
            ("pk".into(), s(&pk)),
            ("sk".into(), s("DELIVERY")),
            ("state".into(), s("pending")),
            ("lease_until".into(), n(now.0 + CLAIM_LEASE_SECONDS * 1000)),
            ("expires_at".into(), n(now.unix_seconds() + DELIVERY_TTL_SECONDS)),
        ]);
        let values = Item::from([(":pending".into(), s("pending")), (":now".into(), n(now.0))]);
        if item::put(
            &self.client,
            &self.table,
            item,
            Some("attribute_not_exists(pk) OR (#state = :pending AND lease_until < :now)"),
            Some(values),
        )
        .await?
        {
            return Ok(Claim::Fresh);
        }
        let existing = item::get(&self.client, &self.table, &pk, "DELIVERY").await?;
        Ok(match existing.as_ref().and_then(|i| get_s(i, "state")) {
            Some("done") => Claim::Done,
            _ => Claim::Busy,
        })
    }

    async fn finish_claim(&self, key: &str, now: Timestamp) -> Result<(), AwsError> {
        let item = Item::from([
            ("pk".into(), s(format!("SLACK#{key}"))),
            ("sk".into(), s("DELIVERY")),
            ("state".into(), s("done")),
            ("done_at".into(), s(now.to_string())),
            ("expires_at".into(), n(now.unix_seconds() + DELIVERY_TTL_SECONDS)),
        ]);
        item::put(&self.client, &self.table, item, None, None).await.map(|_| ())
    }

    async fn load_message(&self, finding_id: &str) -> Result<Option<MessageRef>, AwsError> {
        let item = item::get(&self.client, &self.table, &format!("SLACKMSG#{finding_id}"), "MESSAGE").await?;
        Ok(item.and_then(|i| {
            Some(MessageRef {
                channel: get_s(&i, "channel")?.to_owned(),
                ts: get_s(&i, "ts")?.to_owned(),
            })
        }))
    }

    async fn load_group(&self, key: &str) -> Result<Option<Group>, AwsError> {
        let pk = format!("SLACKGROUP#{key}");
        match item::get(&self.client, &self.table, &pk, "GROUP").await? {
            Some(item) => doc(&pk, &item).map(Some),
            None => Ok(None),
        }
    }

    async fn store_group(&self, group: &Group) -> Result<(), AwsError> {
        let item = Item::from([
            ("pk".into(), s(format!("SLACKGROUP#{}", group.key))),
            ("sk".into(), s("GROUP")),
            ("doc".into(), to_doc(group)),
            (
                "expires_at".into(),
                n(group.last_at.unix_seconds().max(now_secs()) + GROUP_TTL_SECONDS),
            ),
        ]);
        item::put(&self.client, &self.table, item, None, None).await.map(|_| ())
    }

    async fn load_queue(&self, channel: &str) -> Result<Vec<DigestItem>, AwsError> {
        let pk = format!("DIGEST#{channel}");
        let mut items: Vec<DigestItem> = self
            .query(&pk, None)
            .await?
            .iter()
            .map(|i| doc(&pk, i))
            .collect::<Result<_, _>>()?;
        items.sort_by(|a, b| (a.queued_at, &a.key).cmp(&(b.queued_at, &b.key)));
        Ok(items)
    }

    async fn remove_queued(&self, channel: &str, keys: &[String]) -> Result<(), AwsError> {
        let pk = format!("DIGEST#{channel}");
        for key in keys {
            self.delete(&pk, key, None).await?;
        }
        Ok(())
    }

    fn decision_item(d: &Decision, published: bool) -> Item {
        Item::from([
            ("pk".into(), s(format!("DECISION#{}", d.finding_id))),
            ("sk".into(), s(decision_sk(d))),
            ("action".into(), s(d.action.as_str())),
            ("user".into(), s(d.by.user.clone())),
            ("at".into(), s(d.at.to_string())),
            ("published".into(), AttributeValue::Bool(published)),
            ("doc".into(), to_doc(d)),
        ])
    }

    async fn record_decision(&self, d: &Decision) -> Result<Recorded, AwsError> {
        let pk = format!("DECISION#{}", d.finding_id);
        let sk = decision_sk(d);
        let item = Self::decision_item(d, d.action.remediation().is_none());
        if item::put(&self.client, &self.table, item, Some("attribute_not_exists(pk)"), None).await? {
            return Ok(Recorded::New);
        }
        // The slot is taken: by this decision (a repeat) or, for a settling one, another.
        let Some(existing) = item::get(&self.client, &self.table, &pk, &sk).await? else {
            return Err(corrupt(&pk, format!("{sk} was refused as existing but cannot be read")));
        };
        let held: Decision = doc(&pk, &existing)?;
        Ok(if held.same_as(d) {
            let published = matches!(existing.get("published"), Some(AttributeValue::Bool(true)));
            Recorded::Repeat { published }
        } else {
            Recorded::Taken(Box::new(held))
        })
    }

    async fn mark_decision_published(&self, d: &Decision) -> Result<(), AwsError> {
        // Rewrites the decision as first recorded (its `at`), now marked published.
        let pk = format!("DECISION#{}", d.finding_id);
        let first: Decision = match item::get(&self.client, &self.table, &pk, &decision_sk(d)).await? {
            Some(existing) => doc(&pk, &existing)?,
            None => d.clone(),
        };
        item::put(&self.client, &self.table, Self::decision_item(&first, true), None, None)
            .await
            .map(|_| ())
    }

    async fn load_decisions(&self, finding_id: &str) -> Result<Vec<Decision>, AwsError> {
        let pk = format!("DECISION#{finding_id}");
        let mut out: Vec<Decision> = self
            .query(&pk, None)
            .await?
            .iter()
            // Labels share the partition (`LABEL#…`, the learning store's); they are not decisions.
            .filter(|i| !get_s(i, "sk").is_some_and(|sk| sk.starts_with("LABEL#")))
            .map(|i| doc(&pk, i))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|d| (d.at, d.key()));
        Ok(out)
    }

    async fn first_request(&self, request: &str, expires: Timestamp) -> Result<bool, AwsError> {
        let item = Item::from([
            ("pk".into(), s(format!("SLACKREQ#{request}"))),
            ("sk".into(), s("REQUEST")),
            ("expires_at".into(), n(expires.unix_seconds())),
        ]);
        // TTL deletion is lazy: an expired record no longer counts.
        let values = Item::from([(":now".into(), n(now_secs()))]);
        item::put(
            &self.client,
            &self.table,
            item,
            Some("attribute_not_exists(pk) OR expires_at < :now"),
            Some(values),
        )
        .await
    }
}

/// A decision's sort key: every settling decision of a finding competes for `SETTLED` (the first
/// wins, atomically); acknowledgements (`ACK#`) and not-drift marks (`NOT_DRIFT#`) are one per
/// user each.
fn decision_sk(d: &Decision) -> String {
    match d.action {
        a if a.settles() => "SETTLED".to_owned(),
        Action::Acknowledge => format!("ACK#{}", d.by.user),
        other => format!("{}#{}", other.as_str().to_ascii_uppercase(), d.by.user),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl NotifyLedger for DynamoLedger {
    type Error = AwsError;

    fn begin(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Claim, AwsError>> + Send {
        self.begin_claim(key, now)
    }

    fn finish(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.finish_claim(key, now)
    }

    fn release(&self, key: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        let pk = format!("SLACK#{key}");
        async move {
            let values = Item::from([(":pending".into(), s("pending"))]);
            self.delete(&pk, "DELIVERY", Some(("#state = :pending", values))).await
        }
    }

    fn message(&self, finding_id: &str) -> impl Future<Output = Result<Option<MessageRef>, AwsError>> + Send {
        self.load_message(finding_id)
    }

    fn save_message(
        &self,
        finding_id: &str,
        message: &MessageRef,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        let item = Item::from([
            ("pk".into(), s(format!("SLACKMSG#{finding_id}"))),
            ("sk".into(), s("MESSAGE")),
            ("channel".into(), s(message.channel.clone())),
            ("ts".into(), s(message.ts.clone())),
        ]);
        async move { item::put(&self.client, &self.table, item, None, None).await.map(|_| ()) }
    }

    fn group(&self, key: &str) -> impl Future<Output = Result<Option<Group>, AwsError>> + Send {
        self.load_group(key)
    }

    fn save_group(&self, group: &Group) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.store_group(group)
    }

    fn enqueue(&self, channel: &str, item: &DigestItem) -> impl Future<Output = Result<(), AwsError>> + Send {
        let record = Item::from([
            ("pk".into(), s(format!("DIGEST#{channel}"))),
            ("sk".into(), s(item.key.clone())),
            ("queued_at".into(), s(item.queued_at.to_string())),
            ("doc".into(), to_doc(item)),
        ]);
        async move {
            item::put(
                &self.client,
                &self.table,
                record,
                Some("attribute_not_exists(pk)"),
                None,
            )
            .await
            .map(|_| ())
        }
    }

    fn queued(&self, channel: &str) -> impl Future<Output = Result<Vec<DigestItem>, AwsError>> + Send {
        self.load_queue(channel)
    }

    fn dequeue(&self, channel: &str, keys: &[String]) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.remove_queued(channel, keys)
    }
}

impl DecisionLedger for DynamoLedger {
    type Error = AwsError;

    fn record(&self, decision: &Decision) -> impl Future<Output = Result<Recorded, AwsError>> + Send {
        self.record_decision(decision)
    }

    fn mark_published(&self, decision: &Decision) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.mark_decision_published(decision)
    }

    fn decisions(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Decision>, AwsError>> + Send {
        self.load_decisions(finding_id)
    }

    fn first_use(&self, request: &str, expires: Timestamp) -> impl Future<Output = Result<bool, AwsError>> + Send {
        self.first_request(request, expires)
    }
}
