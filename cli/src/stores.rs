//! Where `findings list|show` read: the embedded store (`--store PATH`, the default) or the
//! deployed stack's DynamoDB table (`--store dynamodb://TABLE`), through the same `FindingStore`
//! port, so "why was this (not) flagged?" is asked the same way locally and in production.

use crate::FindingsStoreArg;
use anyhow::{bail, Context, Result};
use driftguard_aws::{DynamoClient, DynamoLedger, DynamoRemediations, DynamoStore};
use driftguard_core::finding::Finding;
use driftguard_core::label::Label;
use driftguard_core::learn::ports::{LearningStore, WeightsVersion};
use driftguard_core::ports::{FindingStore, Query};
use driftguard_core::remediation::audit::AuditEntry;
use driftguard_redb::EmbeddedStore;
use std::path::Path;

/// The scheme of a table location.
const DYNAMODB: &str = "dynamodb://";

/// An open findings store.
pub(crate) enum Findings {
    /// The embedded store's file.
    Embedded { store: EmbeddedStore, path: String },
    /// The deployed table, with its remediation trail.
    Table {
        store: DynamoStore,
        trail: DynamoRemediations,
        learning: DynamoLedger,
        table: String,
        runtime: tokio::runtime::Runtime,
    },
}

/// Opens the store `arg` names; an embedded store must exist (nothing is created by reading).
pub(crate) fn open(arg: &FindingsStoreArg) -> Result<Findings> {
    let Some(table) = arg.location.strip_prefix(DYNAMODB) else {
        if arg.region.is_some() || arg.profile.is_some() || arg.endpoint_url.is_some() {
            bail!("--region, --profile and --endpoint-url apply to --store dynamodb://TABLE only");
        }
        let path = Path::new(&arg.location);
        if !path.exists() {
            bail!(
                "no store at {} (run `driftguard replay` first, or pass --store PATH or dynamodb://TABLE)",
                path.display()
            );
        }
        let store = EmbeddedStore::open(path).with_context(|| format!("opening store {}", path.display()))?;
        return Ok(Findings::Embedded {
            store,
            path: arg.location.clone(),
        });
    };
    let valid = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        bail!(
            "{:?} is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)",
            table
        );
    }
    let runtime = crate::aws::runtime()?;
    let sdk = runtime.block_on(crate::aws::sdk(crate::aws::AwsFlags {
        region: arg.region.as_deref(),
        profile: arg.profile.as_deref(),
        endpoint_url: arg.endpoint_url.as_deref(),
    }));
    let client = DynamoClient::new(&sdk);
    Ok(Findings::Table {
        store: DynamoStore::new(client.clone(), table),
        trail: DynamoRemediations::new(client.clone(), table),
        learning: DynamoLedger::new(client, table),
        table: table.to_owned(),
        runtime,
    })
}

impl Findings {
    /// How the store is named in messages.
    pub(crate) fn name(&self) -> String {
        match self {
            Findings::Embedded { path, .. } => format!("the store at {path}"),
            Findings::Table { table, .. } => format!("table {table}"),
        }
    }

    /// Findings matching `query`, newest first.
    pub(crate) fn list(&self, query: &Query) -> Result<Vec<Finding>> {
        match self {
            Findings::Embedded { store, .. } => Ok(pollster::block_on(store.list(query))?),
            Findings::Table {
                store, table, runtime, ..
            } => runtime
                .block_on(store.list(query))
                .with_context(|| format!("listing findings in table {table}")),
        }
    }

    /// One finding.
    pub(crate) fn get(&self, id: &str) -> Result<Option<Finding>> {
        match self {
            Findings::Embedded { store, .. } => Ok(pollster::block_on(store.get(id))?),
            Findings::Table {
                store, table, runtime, ..
            } => runtime
                .block_on(store.get(id))
                .with_context(|| format!("reading finding {id} from table {table}")),
        }
    }

    /// The remediation trail of a finding.
    pub(crate) fn trail(&self, id: &str) -> Result<Vec<AuditEntry>> {
        match self {
            Findings::Embedded { store, .. } => Ok(store.trail(id)?),
            Findings::Table {
                trail, table, runtime, ..
            } => runtime
                .block_on(trail.trail(id))
                .with_context(|| format!("reading the remediation trail of {id} from table {table}")),
        }
    }

    /// Runs a learning-store call on whichever store this is.
    fn learning<'s, T, E1, E2, F1, F2>(
        &'s self,
        what: &str,
        embedded: impl FnOnce(&'s EmbeddedStore) -> F1,
        table: impl FnOnce(&'s DynamoLedger) -> F2,
    ) -> Result<T>
    where
        F1: std::future::Future<Output = Result<T, E1>>,
        F2: std::future::Future<Output = Result<T, E2>>,
        E1: std::error::Error + Send + Sync + 'static,
        E2: std::error::Error + Send + Sync + 'static,
    {
        match self {
            Findings::Embedded { store, .. } => Ok(pollster::block_on(embedded(store))?),
            Findings::Table {
                learning,
                table: name,
                runtime,
                ..
            } => runtime
                .block_on(table(learning))
                .with_context(|| format!("{what} in table {name}")),
        }
    }

    /// Records a label.
    pub(crate) fn put_label(&self, label: &Label) -> Result<()> {
        self.learning("writing a label", |s| s.put_label(label), |t| t.put_label(label))
    }

    /// Every label.
    pub(crate) fn all_labels(&self) -> Result<Vec<Label>> {
        self.learning("reading labels", |s| s.all_labels(), |t| t.all_labels())
    }

    /// Stores a fitted version and makes it current.
    pub(crate) fn add_weights(&self, version: WeightsVersion) -> Result<WeightsVersion> {
        let copy = version.clone();
        self.learning("storing weights", |s| s.add_weights(version), |t| t.add_weights(copy))
    }

    /// The current weights version (`None`: the hand-set weights).
    pub(crate) fn current_weights(&self) -> Result<Option<WeightsVersion>> {
        self.learning(
            "reading the current weights",
            |s| s.current_weights(),
            |t| t.current_weights(),
        )
    }

    /// Every fitted version.
    pub(crate) fn weights_history(&self) -> Result<Vec<WeightsVersion>> {
        self.learning(
            "reading the weights versions",
            |s| s.weights_history(),
            |t| t.weights_history(),
        )
    }

    /// Makes a version current (`None`: the hand-set weights).
    pub(crate) fn use_weights(&self, number: Option<u32>) -> Result<()> {
        self.learning(
            "choosing the weights",
            |s| s.use_weights(number),
            |t| t.use_weights(number),
        )
    }
}
