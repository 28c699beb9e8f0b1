//! DriftGuard's AWS adapters for core's ports: [`DynamoStore`] (a [`FindingStore`] on one
//! DynamoDB table), [`EventBridgePublisher`] (an [`EventPublisher`] on a custom bus) and
//! [`S3States`] (Terraform states read from S3, cached by ETag), [`DynamoLedger`] (what the Slack
//! functions remember: deliveries, messages, bursts, digests, decisions) and secrets read by
//! reference from Secrets Manager or SSM ([`read_secret`]), and CloudTrail's event history
//! ([`EventHistory`], `LookupEvents`), and AWS Config's view of live resources for the reconcile
//! sweep ([`ConfigReader`]), and the sweep itself, page by page, on any store ([`ScopeSweep`]),
//! the declared state kept fresh in the table ([`DynamoInventory`]), and CloudFormation's stacks
//! ([`CloudFormationStacks`]: who owns a resource, its drift), Security Hub's
//! `BatchImportFindings` ([`SecurityHubImporter`]), and the SDK configuration the functions
//! build their clients from, every call's attempts bounded in time ([`load_sdk_config`]). The
//! publisher also sends `Remediation Requested` (core's `RemediationPublisher`). With the
//! `redrive` feature, dead-letter queues are redriven (`SqsRedrive`, for `driftguard dlq`).
//!
//! [`FindingStore`]: driftguard_core::ports::FindingStore
//! [`EventPublisher`]: driftguard_core::ports::EventPublisher

mod cloudformation;
mod cloudtrail;
mod config_reader;
mod config_source;
mod dynamo;
mod error;
mod eventbridge;
mod iac_inventory;
mod item;
mod lambda;
mod learning;
mod ledger;
#[cfg(feature = "redrive")]
mod redrive;
mod remediate;
mod remediation;
mod remediation_ledger;
mod retry;
mod s3_states;
mod sdk;
mod secrets;
mod securityhub;
mod sweep_driver;
mod sweep_ledger;

pub use cloudformation::{CloudFormationStacks, CLOUDFORMATION_ACTIONS};
pub use cloudtrail::{EventHistory, HistoryPage, LookupFilter, LookupSummary};
pub use config_reader::{read_session, ConfigReader, ItemsRead, ListedPage, MAX_KEYS};
pub use config_source::{
    config_from_env, Checked, ConfigLocation, ConfigSource, ConfigWatch, Fetched, LastGoodConfig, CONFIG_PK_PREFIX,
};
pub use dynamo::{DynamoStore, MAX_FINDING_BYTES};
pub use error::{AwsError, Retry};
pub use eventbridge::{
    detail_json, entry_size, EventBridgePublisher, EVENT_SOURCE, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES,
};
pub use iac_inventory::{DynamoInventory, STATES_PK, VERSION_PK};
pub use lambda::{emit_metrics, start_logging};
pub use ledger::DynamoLedger;
#[cfg(feature = "redrive")]
pub use redrive::{RedriveOptions, RedriveTarget, SqsRedrive, REDRIVE_ATTRIBUTE};
pub use remediate::{
    execute, kill_switch, marker, own_account, plan_revert, session_for, Execution, Planned, Remediator, SessionError,
};
pub use remediation_ledger::{DynamoRemediations, RequestState};
pub use s3_states::{
    get_object, get_object_version_within, get_object_within, list_states, object_exists, ListedState, Pin, Refresh,
    S3Location, S3States,
};
pub use sdk::{load_sdk_config, timeouts, timeouts_from, ATTEMPT_TIMEOUT_VAR, DEFAULT_ATTEMPT_TIMEOUT};
pub use secrets::{read_secret, secret_from, SecretRef};
pub use securityhub::{refusal_retry, to_sdk, Imported, SecurityHubImporter, MAX_IMPORT_BATCH};
pub use sweep_driver::{Lookups, PageDone, ScopeSweep, SweepError};
pub use sweep_ledger::DynamoSweeps;

/// The SDK clients the adapters take, re-exported so functions need no SDK dependency of their own.
pub use aws_sdk_dynamodb::Client as DynamoClient;
/// EventBridge client.
pub use aws_sdk_eventbridge::Client as EventBridgeClient;
/// S3 client.
pub use aws_sdk_s3::Client as S3Client;
/// Security Hub client.
pub use aws_sdk_securityhub::Client as SecurityHubClient;

/// An S3 client; `path_style` addresses buckets in the path (needed for local endpoints such
/// as moto's server, where `bucket.127.0.0.1` does not resolve).
pub fn s3_client(aws: &aws_config::SdkConfig, path_style: bool) -> S3Client {
    S3Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(path_style)
            .build(),
    )
}
