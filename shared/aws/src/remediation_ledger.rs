//! [`DynamoRemediations`]: what the remediate function remembers, on the findings table
//! (ARCHITECTURE.md, "The DynamoDB table"):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | a request | `REMEDIATION#<finding id>` | `REQUEST#<request id>` | `state` (`claimed` / `awaiting` / `executing` / `done`), `doc` (the request), `at` |
//! | an approval | `REMEDIATION#<finding id>` | `APPROVAL#<request id>#<approver>` | `at` |
//! | a trail entry | `REMEDIATION#<finding id>` | `TRAIL#<ms, 13 digits>#<request id>#<seq, 4 digits>` | `doc` (the [`AuditEntry`]) |
//! | executions in an hour | `REMCAP#<account>#<hour>` | `CAP` | `executed`, `expires_at` (TTL) |
//!
//! A request is claimed with `attribute_not_exists(pk)`, so a redelivered request finds its
//! claim and never executes twice; an approval is created the same way, so one person counts
//! once; the hourly count is raised with a condition that it is under the cap, so two
//! concurrent executions cannot both pass a cap of one.

use crate::error::{classify, AwsError};
use crate::item::{self, get_n, get_s, n, s, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use driftguard_core::interaction::RequestStanding;
use driftguard_core::remediation::audit::AuditEntry;
use driftguard_core::remediation::safety::Approval;
use driftguard_core::remediation::RemediationRequest;
use driftguard_core::time::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Taken by an invocation, not yet decided.
    Claimed,
    /// Waiting for approvals.
    Awaiting,
    /// Calls are being made.
    Executing,
    /// Finished (completed, failed, refused or a dry run).
    Done,
}

impl RequestState {
    fn as_str(self) -> &'static str {
        match self {
            RequestState::Claimed => "claimed",
            RequestState::Awaiting => "awaiting",
            RequestState::Executing => "executing",
            RequestState::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<RequestState> {
        Some(match s {
            "claimed" => RequestState::Claimed,
            "awaiting" => RequestState::Awaiting,
            "executing" => RequestState::Executing,
            "done" => RequestState::Done,
            _ => return None,
        })
    }
}

/// The remediate function's records on the DriftGuard table.
#[derive(Debug)]
pub struct DynamoRemediations {
    client: Client,
    table: String,
    seq: AtomicU32,
}

fn pk(finding_id: &str) -> String {
    format!("REMEDIATION#{finding_id}")
}

fn corrupt(key: &str, message: impl std::fmt::Display) -> AwsError {
    AwsError::Corrupt {
        key: key.to_owned(),
        message: message.to_string(),
    }
}

impl DynamoRemediations {
    /// The records on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRemediations {
            client,
            table: table.into(),
            seq: AtomicU32::new(0),
        }
    }

    /// Claims a request. `Ok(None)` when it is new (now claimed); otherwise the state an earlier
    /// delivery left it in.
    pub async fn claim(
        &self,
        request_id: &str,
        request: &RemediationRequest,
    ) -> Result<Option<RequestState>, AwsError> {
        let key = pk(&request.finding_id);
        let sk = format!("REQUEST#{request_id}");
        let item: Item = HashMap::from([
            ("pk".to_owned(), s(&key)),
            ("sk".to_owned(), s(&sk)),
            ("state".to_owned(), s(RequestState::Claimed.as_str())),
            ("doc".to_owned(), s(serde_json::to_string(request).unwrap_or_default())),
            ("at".to_owned(), s(request.requested_at.to_string())),
        ]);
        if item::put(&self.client, &self.table, item, Some("attribute_not_exists(pk)"), None).await? {
            return Ok(None);
        }
        let existing = item::get(&self.client, &self.table, &key, &sk).await?;
        let state = existing
            .as_ref()
            .and_then(|i| get_s(i, "state"))
            .and_then(RequestState::parse)
            .ok_or_else(|| corrupt(&format!("{key}/{sk}"), "no valid state"))?;
        Ok(Some(state))
    }

    /// Moves a request to `state`.
    pub async fn set_state(&self, finding_id: &str, request_id: &str, state: RequestState) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(finding_id)))
            .key("sk", s(format!("REQUEST#{request_id}")))
            .update_expression("SET #state = :s")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":s", s(state.as_str()))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "UpdateItem", e))?;
        Ok(())
    }

    /// A stored request and its state.
    pub async fn request(
        &self,
        finding_id: &str,
        request_id: &str,
    ) -> Result<Option<(RemediationRequest, RequestState)>, AwsError> {
        let (key, sk) = (pk(finding_id), format!("REQUEST#{request_id}"));
        let Some(found) = item::get(&self.client, &self.table, &key, &sk).await? else {
            return Ok(None);
        };
        let at = format!("{key}/{sk}");
        let doc = get_s(&found, "doc").ok_or_else(|| corrupt(&at, "no doc"))?;
        let request = serde_json::from_str(doc).map_err(|e| corrupt(&at, e))?;
        let state = get_s(&found, "state")
            .and_then(RequestState::parse)
            .ok_or_else(|| corrupt(&at, "no valid state"))?;
        Ok(Some((request, state)))
    }

    /// Where a request stands, as core's Slack checks read it: unknown under this finding,
    /// waiting for approvals (with the request), or anything else, named.
    pub async fn standing(&self, finding_id: &str, request_id: &str) -> Result<RequestStanding, AwsError> {
        Ok(match self.request(finding_id, request_id).await? {
            None => RequestStanding::Unknown,
            Some((request, RequestState::Awaiting)) => RequestStanding::Awaiting(request),
            Some((_, RequestState::Claimed)) => RequestStanding::Other("it is being decided"),
            Some((_, RequestState::Executing)) => RequestStanding::Other("it is running"),
            Some((_, RequestState::Done)) => RequestStanding::Other("it has finished"),
        })
    }

    /// Records an approval; `false` when this person had approved already.
    pub async fn approve(&self, finding_id: &str, request_id: &str, approval: &Approval) -> Result<bool, AwsError> {
        let item: Item = HashMap::from([
            ("pk".to_owned(), s(pk(finding_id))),
            (
                "sk".to_owned(),
                s(format!("APPROVAL#{request_id}#{}", approval.approver)),
            ),
            ("at".to_owned(), s(approval.at.to_string())),
        ]);
        item::put(&self.client, &self.table, item, Some("attribute_not_exists(pk)"), None).await
    }

    async fn query_prefix(&self, finding_id: &str, prefix: &str) -> Result<Vec<Item>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk(finding_id)))
                .expression_attribute_values(":prefix", s(prefix))
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

    /// The approvals of a request, oldest first.
    pub async fn approvals(&self, finding_id: &str, request_id: &str) -> Result<Vec<Approval>, AwsError> {
        let prefix = format!("APPROVAL#{request_id}#");
        let mut out: Vec<Approval> = self
            .query_prefix(finding_id, &prefix)
            .await?
            .iter()
            .filter_map(|i| {
                let approver = get_s(i, "sk")?.strip_prefix(&prefix)?.to_owned();
                let at = Timestamp::parse(get_s(i, "at")?)?;
                Some(Approval { approver, at })
            })
            .collect();
        out.sort_by_key(|a| a.at);
        Ok(out)
    }

    /// Appends an entry to the finding's trail.
    pub async fn append(&self, finding_id: &str, entry: &AuditEntry) -> Result<(), AwsError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) % 10_000;
        let item: Item = HashMap::from([
            ("pk".to_owned(), s(pk(finding_id))),
            (
                "sk".to_owned(),
                s(format!("TRAIL#{:013}#{}#{seq:04}", entry.at.0.max(0), entry.request_id)),
            ),
            ("doc".to_owned(), s(serde_json::to_string(entry).unwrap_or_default())),
        ]);
        item::put(&self.client, &self.table, item, None, None).await.map(drop)
    }

    /// A finding's trail, in order.
    pub async fn trail(&self, finding_id: &str) -> Result<Vec<AuditEntry>, AwsError> {
        self.query_prefix(finding_id, "TRAIL#")
            .await?
            .iter()
            .map(|i| {
                let key = get_s(i, "sk").unwrap_or("TRAIL#?");
                let doc = get_s(i, "doc").ok_or_else(|| corrupt(key, "no doc"))?;
                serde_json::from_str(doc).map_err(|e| corrupt(key, e))
            })
            .collect()
    }

    fn cap_key(account: &str, now: Timestamp) -> String {
        format!("REMCAP#{account}#{}", now.0.div_euclid(3_600_000))
    }

    /// Executions counted in the account this hour.
    pub async fn executed_this_hour(&self, account: &str, now: Timestamp) -> Result<u32, AwsError> {
        let found = item::get(&self.client, &self.table, &Self::cap_key(account, now), "CAP").await?;
        Ok(found
            .and_then(|i| get_n(&i, "executed"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0))
    }

    /// Counts one execution in the account this hour if that stays within `cap`; `false` when
    /// the cap is reached (then nothing may execute).
    pub async fn count_execution(&self, account: &str, now: Timestamp, cap: u32) -> Result<bool, AwsError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(Self::cap_key(account, now)))
            .key("sk", s("CAP"))
            .update_expression("ADD executed :one SET expires_at = :ttl")
            .condition_expression("attribute_not_exists(executed) OR executed < :cap")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cap", n(i64::from(cap)))
            .expression_attribute_values(":ttl", n(now.unix_seconds() + 2 * 3600))
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
            Err(e) => Err(classify("DynamoDB", "UpdateItem", e)),
        }
    }
}
