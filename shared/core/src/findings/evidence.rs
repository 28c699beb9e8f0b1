//! What AWS Config says about a resource (its evidence, compared with the declaration), and the
//! sides of a join waiting on a resource record: the data a finding and a resource record carry,
//! and the time window within which a Config item is a call's effect. The join itself is
//! [`crate::findings::join`].

use crate::drift::diff::AttributeChange;
use crate::drift::score::Severity;
use crate::input::config_item::ChangeType;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How long after a call its Config item may be captured.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long before a call its Config item may appear to be captured (clock skew).
pub const SKEW_MS: i64 = 60 * 1000;
/// How long (in event time, behind the newest entry) a side waits for the other.
pub const PENDING_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// At most this many pending entries per resource (oldest dropped first).
pub const PENDING_MAX: usize = 64;

/// The `eventSource` of a Config-only finding's call record.
pub const CONFIG_SOURCE: &str = "config.amazonaws.com";

/// What an AWS Config item says about a resource, compared with its IaC declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigEvidence {
    /// The observation's id (`cfg-…`, from the resource and the capture time).
    pub observation: String,
    /// `configurationItemCaptureTime`.
    pub capture_time: Timestamp,
    /// The resource's ARN, as Config names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Created, updated or deleted.
    pub change: ChangeType,
    /// Whether an attribute map compared the live item with the declaration.
    pub compared: bool,
    /// Attributes whose live value differs from IaC: expected (IaC) vs found (live).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drifted: Vec<AttributeChange>,
    /// For types without an attribute map: the properties Config reports changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_properties: Vec<String>,
    /// The severity the live state alone warrants.
    pub severity: Severity,
    /// The weight [`ConfigEvidence::factor`] had in the weights that judged the item (absent in
    /// findings stored before weights were versioned: the hand-set weight then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_weight: Option<f64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity_reasons: Vec<String>,
    /// Who read the item: an item change event, or the reconcile sweep.
    #[serde(default, skip_serializing_if = "Origin::is_event")]
    pub origin: Origin,
    /// For a sweep: the compared attributes whose live value matches the declaration (what a
    /// resource back in line resolves).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_line: Vec<String>,
    /// For a sweep finding: who CloudTrail's event history names as the last writer, or why
    /// nobody is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<LastWriter>,
}

/// How a Config item reached DriftGuard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A "Config Configuration Item Change" event.
    #[default]
    Event,
    /// The reconcile sweep read it (`BatchGetResourceConfig`), or found the declared resource
    /// absent from Config's inventory.
    Sweep,
}

impl Origin {
    /// Whether the item came from an event (the default, not serialised).
    pub fn is_event(&self) -> bool {
        *self == Origin::Event
    }
}

/// What CloudTrail's event history (`LookupEvents` by resource name) says about who last
/// changed a resource a sweep found drifted or missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LastWriter {
    /// The last write not made by IaC (nor by an AWS service) in the history.
    Named {
        /// Who, for display (person, tool or principal).
        who: String,
        /// The attribution rule that decided.
        rule: String,
        /// `eventSource:eventName`.
        call: String,
        /// The CloudTrail `eventID`.
        event_id: String,
        /// `eventTime`.
        time: Timestamp,
    },
    /// The history (the last `days` days) holds no write on the resource by anyone but IaC or
    /// AWS services.
    NobodyNamed {
        /// How far back the history was read.
        days: u32,
        /// Write events read on the resource.
        events: u32,
    },
    /// Not looked up: the run's budget of history calls was spent.
    BudgetSpent,
    /// The lookup failed (the error, for the record).
    LookupFailed {
        /// What went wrong.
        error: String,
    },
}

impl LastWriter {
    /// One sentence for the finding's summary.
    pub fn sentence(&self) -> String {
        match self {
            LastWriter::Named { who, call, time, .. } => {
                format!("CloudTrail's event history names {who} as the last writer ({call} at {time}).")
            }
            LastWriter::NobodyNamed { days, events } => format!(
                "Nobody could be named: CloudTrail's event history of the last {days} days holds {events} write(s) on it, none by hand."
            ),
            LastWriter::BudgetSpent => {
                "Nobody was named: the run's budget of CloudTrail LookupEvents calls was spent before this resource."
                    .to_owned()
            }
            LastWriter::LookupFailed { error } => {
                format!("Nobody could be named: CloudTrail's event history could not be read ({error}).")
            }
        }
    }
}

impl ConfigEvidence {
    /// The likelihood factor this evidence contributes (a row of [`crate::drift::score::WEIGHTS`]).
    pub fn factor(&self) -> &'static str {
        match (self.change, self.compared, self.drifted.is_empty()) {
            (ChangeType::Delete, _, _) => "config.deleted",
            (_, true, false) => "config.confirmed",
            (_, true, true) => "config.matches_iac",
            (_, false, _) => "config.changed_uncompared",
        }
    }

    /// Whether the live state shows drift on its own (a finding should stand without a call).
    pub fn shows_drift(&self) -> bool {
        match self.change {
            ChangeType::Delete | ChangeType::Create => true,
            ChangeType::Update => !self.drifted.is_empty() || (!self.compared && !self.changed_properties.is_empty()),
        }
    }
}

/// Which side of a join an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A manual CloudTrail call (its finding).
    Call,
    /// A Config item change.
    Config,
}

/// One side of a possible join, waiting on the resource record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Call or Config.
    pub side: Side,
    /// Call time or capture time.
    pub time: Timestamp,
    /// The CloudTrail `eventID`, or the observation id.
    pub event: String,
    /// The finding this side produced or joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// The other side's event, once joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<String>,
    /// A Config side's evidence, for a call that arrives later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<ConfigEvidence>,
}

/// Whether a call at `call` and a Config capture at `capture` can be the same change.
pub fn in_window(call: Timestamp, capture: Timestamp) -> bool {
    capture.0 >= call.0 - SKEW_MS && capture.0 <= call.0 + WINDOW_MS
}
