//! The learning stage's [`LearningStore`] on the DriftGuard table, through [`DynamoLedger`]:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | a label | `DECISION#<finding id>` | `LABEL#<source>:<user>` | `verdict`, `at`, `doc` (the label) |
//! | a fitted weights version | `WEIGHTS#likelihood` | `V#<number, 6 digits>` | `doc` (the version, with its fit report) |
//! | the current version | `WEIGHTS#likelihood` | `CURRENT` | `number` (0: the hand-set weights) |
//!
//! Labels sit with the finding's decisions (slack-actions' `DECISION#` prefix); the weights under
//! their own partition, written by `driftguard weights` and read by the functions that score.

use crate::error::{classify, AwsError};
use crate::item::{self, get_n, get_s, n, s, Item};
use crate::ledger::DynamoLedger;
use driftguard_core::label::Label;
use driftguard_core::learn::ports::{version_name, LearningStore, WeightsVersion};
use std::future::Future;

/// The weights' partition (`WEIGHTS#*` in IAM conditions; one model so far: the likelihood).
const WEIGHTS_PK: &str = "WEIGHTS#likelihood";

fn version_sk(number: u32) -> String {
    format!("V#{number:06}")
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, item: &Item) -> Result<T, AwsError> {
    let corrupt = |message: String| AwsError::Corrupt {
        key: key.to_owned(),
        message,
    };
    let text = get_s(item, "doc").ok_or_else(|| corrupt("no doc attribute".into()))?;
    serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))
}

impl DynamoLedger {
    async fn put_label_item(&self, label: &Label) -> Result<(), AwsError> {
        let item = Item::from([
            ("pk".into(), s(format!("DECISION#{}", label.finding_id))),
            ("sk".into(), s(format!("LABEL#{}", label.key()))),
            ("verdict".into(), s(label.verdict.as_str())),
            ("at".into(), n(label.at.0)),
            ("doc".into(), s(serde_json::to_string(label).unwrap_or_default())),
        ]);
        item::put(self.client(), self.table(), item, None, None).await?;
        Ok(())
    }

    async fn label_items(&self, finding_id: &str) -> Result<Vec<Label>, AwsError> {
        let pk = format!("DECISION#{finding_id}");
        let items = self.query(&pk, Some("LABEL#")).await?;
        items.iter().map(|i| decode(&pk, i)).collect()
    }

    /// Every label: a Scan of the table for `LABEL#` sort keys (an offline read, for exports and
    /// fits; it costs the table's size in read units).
    async fn scan_labels(&self) -> Result<Vec<Label>, AwsError> {
        let mut out: Vec<Label> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression("begins_with(sk, :label) AND begins_with(pk, :decision)")
                .expression_attribute_values(":label", s("LABEL#"))
                .expression_attribute_values(":decision", s("DECISION#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("DynamoDB", "Scan", e))?;
            for i in page.items.unwrap_or_default() {
                out.push(decode(get_s(&i, "pk").unwrap_or("label"), &i)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| (&a.finding_id, a.key()).cmp(&(&b.finding_id, b.key())));
        Ok(out)
    }

    async fn versions(&self) -> Result<Vec<WeightsVersion>, AwsError> {
        let items = self.query(WEIGHTS_PK, Some("V#")).await?;
        items.iter().map(|i| decode(WEIGHTS_PK, i)).collect()
    }

    async fn current_number(&self) -> Result<u32, AwsError> {
        let item = item::get(self.client(), self.table(), WEIGHTS_PK, "CURRENT").await?;
        Ok(item.and_then(|i| get_n(&i, "number")).map_or(0, |n| n.max(0) as u32))
    }

    async fn set_current(&self, number: u32) -> Result<(), AwsError> {
        let item = Item::from([
            ("pk".into(), s(WEIGHTS_PK)),
            ("sk".into(), s("CURRENT")),
            ("number".into(), n(i64::from(number))),
        ]);
        item::put(self.client(), self.table(), item, None, None).await?;
        Ok(())
    }

    async fn add_version(&self, mut version: WeightsVersion) -> Result<WeightsVersion, AwsError> {
        // Numbered after the highest stored; created only if that number is free, so two fits at
        // once cannot overwrite each other (the loser takes the next number).
        for _ in 0..8 {
            let last = self.versions().await?.iter().map(|v| v.number).max().unwrap_or(0);
            version.number = last + 1;
            version.weights.version = version_name(version.number);
            let item = Item::from([
                ("pk".into(), s(WEIGHTS_PK)),
                ("sk".into(), s(version_sk(version.number))),
                ("doc".into(), s(serde_json::to_string(&version).unwrap_or_default())),
            ]);
            if item::put(
                self.client(),
                self.table(),
                item,
                Some("attribute_not_exists(pk)"),
                None,
            )
            .await?
            {
                self.set_current(version.number).await?;
                return Ok(version);
            }
        }
        Err(AwsError::Contention("the weights versions".into()))
    }

    async fn current_version(&self) -> Result<Option<WeightsVersion>, AwsError> {
        let number = self.current_number().await?;
        if number == 0 {
            return Ok(None);
        }
        let sk = version_sk(number);
        match item::get(self.client(), self.table(), WEIGHTS_PK, &sk).await? {
            Some(i) => decode(&format!("{WEIGHTS_PK}/{sk}"), &i).map(Some),
            None => Err(AwsError::Corrupt {
                key: format!("{WEIGHTS_PK}/CURRENT"),
                message: format!("names version v{number}, which is not stored"),
            }),
        }
    }

    async fn use_version(&self, number: Option<u32>) -> Result<(), AwsError> {
        if let Some(n) = number {
            if item::get(self.client(), self.table(), WEIGHTS_PK, &version_sk(n))
                .await?
                .is_none()
            {
                return Err(AwsError::Corrupt {
                    key: format!("{WEIGHTS_PK}/{}", version_sk(n)),
                    message: format!("no weights version v{n}"),
                });
            }
        }
        self.set_current(number.unwrap_or(0)).await
    }
}

impl LearningStore for DynamoLedger {
    type Error = AwsError;

    fn put_label(&self, label: &Label) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.put_label_item(label)
    }

    fn labels_of(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Label>, AwsError>> + Send {
        self.label_items(finding_id)
    }

    fn all_labels(&self) -> impl Future<Output = Result<Vec<Label>, AwsError>> + Send {
        self.scan_labels()
    }

    fn add_weights(&self, version: WeightsVersion) -> impl Future<Output = Result<WeightsVersion, AwsError>> + Send {
        self.add_version(version)
    }

    fn current_weights(&self) -> impl Future<Output = Result<Option<WeightsVersion>, AwsError>> + Send {
        self.current_version()
    }

    fn weights_history(&self) -> impl Future<Output = Result<Vec<WeightsVersion>, AwsError>> + Send {
        self.versions()
    }

    fn use_weights(&self, number: Option<u32>) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.use_version(number)
    }
}
