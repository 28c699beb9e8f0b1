//! The IaC inventory: what Terraform / OpenTofu state (format 4) declares.
//!
//! Several state files load into one inventory. Each managed resource instance keeps its state
//! file and address (`module.network.aws_subnet.private[0]`, `aws_sqs_queue.jobs["orders"]`) and
//! is indexed by ARN, and per Terraform type by id and by its naming attributes. Data sources are
//! skipped. Sensitive values are replaced with [`REDACTED`] on load, so nothing downstream can
//! print them.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What sensitive attribute values are replaced with.
pub const REDACTED: &str = "(sensitive)";

/// The most resources and resource instances one state file may declare (data sources
/// included). A loaded instance costs about 1.6 KB at least, whatever its size in the file, so
/// this bounds a state's memory (about 160 MB) where the document limit alone would let a 64 MB
/// state of minimal resources grow eight-fold; a larger state is refused while it is read,
/// before it is all in memory. Split such a state.
pub const MAX_STATE_INSTANCES: usize = 100_000;

/// Attributes that name a resource, indexed per type besides `id`: a CloudTrail call may name
/// the resource (or, for rule / policy / attachment resources, the parent) by any of them.
pub static KEY_ATTRIBUTES: &[&str] = &[
    "id",
    "name",
    "bucket",
    "function_name",
    "identifier",
    "cluster_identifier",
    "security_group_id",
    "role",
    "user",
    "group",
    "queue_url",
    "topic_arn",
    "key_id",
    "route_table_id",
    "network_acl_id",
    "zone_id",
    "rest_api_id",
    "log_group_name",
    "alarm_name",
    "load_balancer_arn",
    "target_group_arn",
    "listener_arn",
    "snapshot_id",
    "image_id",
    "db_snapshot_identifier",
    "db_cluster_snapshot_identifier",
    "db_instance_identifier",
    "db_cluster_identifier",
];

/// Naming attributes indexed for one Terraform type only: a child that names its parent by an
/// attribute too generic to index everywhere (`username` is also an RDS master user name).
pub static TYPE_KEY_ATTRIBUTES: &[(&str, &str)] = &[
    ("aws_iam_user_ssh_key", "username"),
    ("aws_iam_service_specific_credential", "user_name"),
    ("aws_iam_virtual_mfa_device", "user_name"),
    ("aws_ram_resource_association", "resource_share_arn"),
    ("aws_ram_principal_association", "resource_share_arn"),
];

/// Attribute names that are always redacted, even in states written before Terraform recorded
/// `sensitive_attributes`.
/// They are redacted at any depth (`user[0].password` of an MQ broker, say).
pub static ALWAYS_SENSITIVE: &[&str] = &[
    "password",
    "master_password",
    "master_user_password",
    "secret",
    "secret_string",
    "secret_binary",
    "ses_smtp_password_v4",
    "private_key",
    "token",
    "auth_token",
    "encrypted_secret",
    "encrypted_password",
];

/// One state file, as loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateInfo {
    /// Where it came from (path or S3 key).
    pub origin: String,
    /// `terraform_version`.
    pub terraform_version: Option<String>,
    /// `serial`.
    pub serial: Option<u64>,
    /// `lineage`.
    pub lineage: Option<String>,
    /// Managed resource instances read.
    pub resources: usize,
    /// Data sources skipped.
    pub data_sources: usize,
}

/// A managed resource instance declared in a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    /// Index into [`Inventory::states`].
    pub state: usize,
    /// Full address, e.g. `module.network.aws_security_group.web`.
    pub address: String,
    /// Terraform type, e.g. `aws_security_group`.
    pub tf_type: String,
    /// Attributes, with sensitive values redacted.
    pub attributes: Map<String, Value>,
}

impl Declared {
    /// A string attribute.
    pub fn str_attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }
}

/// Why a state file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not JSON, or truncated.
    #[error("{origin}: malformed Terraform state: {source}")]
    Json {
        /// The file.
        origin: String,
        /// The parse error (with line and column).
        source: serde_json::Error,
    },
    /// More resources and instances than [`MAX_STATE_INSTANCES`].
    #[error("{origin}: the state declares more than {limit} resources and instances, the most read from one state file (split the state)")]
    TooManyInstances {
        /// The file.
        origin: String,
        /// The limit.
        limit: usize,
    },
    /// A state format other than 4.
    #[error("{origin}: unsupported Terraform state format version {version} (DriftGuard reads version 4, written by Terraform 0.12+ and OpenTofu)")]
    Version {
        /// The file.
        origin: String,
        /// The version it declares.
        version: u64,
    },
}

#[derive(Deserialize)]
struct RawState {
    version: u64,
    terraform_version: Option<String>,
    serial: Option<u64>,
    lineage: Option<String>,
    #[serde(default, deserialize_with = "counted")]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
struct RawResource {
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    tf_type: String,
    name: String,
    #[serde(default, deserialize_with = "counted")]
    instances: Vec<RawInstance>,
}

#[derive(Deserialize)]
struct RawInstance {
    index_key: Option<Value>,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    sensitive_attributes: Vec<Value>,
}

thread_local! {
    /// Resources and instances the state being read may still declare ([`MAX_STATE_INSTANCES`]
    /// at the start of [`Inventory::add_state`]); `None` once the budget was exceeded.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(Some(MAX_STATE_INSTANCES)) };
}

/// A sequence whose elements each spend one of [`BUDGET`]: reading stops at the first element
/// past it, so a state of a million resources never sits in memory.
fn counted<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct Counted<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Counted<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while BUDGET.get().is_some() {
                let Some(item) = seq.next_element()? else {
                    return Ok(out);
                };
                out.push(item);
                // Read again: an element's own lists (a resource's instances) spent from it too.
                BUDGET.set(BUDGET.get().and_then(|b| b.checked_sub(1)));
            }
            Err(de::Error::custom(format_args!(
                "more than {MAX_STATE_INSTANCES} resources and instances"
            )))
        }
    }
    d.deserialize_seq(Counted(std::marker::PhantomData))
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u64>,
}

/// Everything the loaded states declare, indexed for lookups.
#[derive(Debug, Default)]
pub struct Inventory {
    states: Vec<StateInfo>,
    resources: Vec<Declared>,
    by_arn: HashMap<String, Vec<usize>>,
    by_key: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Per Terraform type, the distinct (account, region) pairs its declarations' ARNs name
    /// (empty where the ARN names none: global resources; S3 buckets use their `region`).
    places: HashMap<String, HashSet<(String, String)>>,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one state file. On error nothing from it is added.
    pub fn add_state(&mut self, origin: &str, bytes: &[u8]) -> Result<&StateInfo, StateError> {
        let json_err = |source| StateError::Json {
            origin: origin.to_owned(),
            source,
        };
        BUDGET.set(Some(MAX_STATE_INSTANCES));
        let parsed = serde_json::from_slice::<RawState>(bytes);
        if BUDGET.replace(Some(MAX_STATE_INSTANCES)).is_none() {
            return Err(StateError::TooManyInstances {
                origin: origin.to_owned(),
                limit: MAX_STATE_INSTANCES,
            });
        }
        let raw: RawState = match parsed {
            Ok(raw) => raw,
            Err(e) => {
                // A v3 state fails the v4 shape; say so rather than "missing field".
                if let Ok(VersionOnly { version: Some(v) }) = serde_json::from_slice(bytes) {
                    if v != 4 {
                        return Err(StateError::Version {
                            origin: origin.to_owned(),
                            version: v,
                        });
                    }
                }
                return Err(json_err(e));
            }
        };
        if raw.version != 4 {
            return Err(StateError::Version {
                origin: origin.to_owned(),
                version: raw.version,
            });
        }
        let state = self.states.len();
        let mut info = StateInfo {
            origin: origin.to_owned(),
            terraform_version: raw.terraform_version,
            serial: raw.serial,
            lineage: raw.lineage,
            resources: 0,
            data_sources: 0,
        };
        for res in raw.resources {
            if res.mode != "managed" {
                info.data_sources += res.instances.len().max(1);
                continue;
            }
            let base = match &res.module {
                Some(m) => format!("{m}.{}.{}", res.tf_type, res.name),
                None => format!("{}.{}", res.tf_type, res.name),
            };
            for inst in res.instances {
                let address = match &inst.index_key {
                    Some(Value::Number(n)) => format!("{base}[{n}]"),
                    Some(Value::String(s)) => format!("{base}[{s:?}]"),
                    _ => base.clone(),
                };
                let mut attributes = inst.attributes;
                redact(&mut attributes, &inst.sensitive_attributes);
                self.index(Declared {
                    state,
                    address,
                    tf_type: res.tf_type.clone(),
                    attributes,
                });
                info.resources += 1;
            }
        }
        self.states.push(info);
        Ok(&self.states[state])
    }

    fn index(&mut self, d: Declared) {
        let i = self.resources.len();
        if let Some(arn) = d.str_attr("arn") {
            self.by_arn.entry(arn.to_owned()).or_default().push(i);
        }
        let keys = self.by_key.entry(d.tf_type.clone()).or_default();
        let own = TYPE_KEY_ATTRIBUTES
            .iter()
            .filter(|(t, _)| *t == d.tf_type)
            .map(|(_, a)| a);
        for attr in KEY_ATTRIBUTES.iter().chain(own) {
            if let Some(v) = d.str_attr(attr).filter(|v| !v.is_empty()) {
                // `i` is the newest index: if it is in the slot (two key attributes with one
                // value), it is last. Searching the whole slot was quadratic in a state of many
                // instances sharing one value.
                let slot = keys.entry(v.to_owned()).or_default();
                if slot.last() != Some(&i) {
                    slot.push(i);
                }
            }
        }
        if let Some(arn) = d.str_attr("arn") {
            let mut parts = arn.split(':').skip(3);
            let (arn_region, account) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let region = if arn_region.is_empty() {
                d.str_attr("region").unwrap_or("")
            } else {
                arn_region
            };
            let place = (account.to_owned(), region.to_owned());
            self.places.entry(d.tf_type.clone()).or_default().insert(place);
        }
        self.resources.push(d);
    }

    /// The state files loaded.
    pub fn states(&self) -> &[StateInfo] {
        &self.states
    }

    /// Every managed resource instance.
    pub fn resources(&self) -> &[Declared] {
        &self.resources
    }

    /// Number of managed resource instances.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True when no state declares anything.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Declarations of `id` (an ARN, id or name) among `tf_types`, primary type first.
    pub fn find(&self, tf_types: &[&str], id: &str) -> Vec<&Declared> {
        let mut out: Vec<usize> = Vec::new();
        if id.starts_with("arn:") {
            if let Some(hits) = self.by_arn.get(id) {
                out.extend(
                    hits.iter()
                        .filter(|&&i| tf_types.contains(&self.resources[i].tf_type.as_str())),
                );
            }
        }
        for t in tf_types {
            if let Some(hits) = self.by_key.get(*t).and_then(|m| m.get(id)) {
                out.extend(hits.iter().filter(|i| !out.contains(i)).copied().collect::<Vec<_>>());
            }
        }
        out.sort_by_key(|&i| tf_types.iter().position(|t| *t == self.resources[i].tf_type));
        out.into_iter().map(|i| &self.resources[i]).collect()
    }

    /// Whether IaC manages a resource of one of `tf_types` in this account and region (global
    /// resources, whose ARNs name no region, count in every region; S3 buckets by their `region`
    /// attribute): what makes a resource
    /// created by hand next to them "unmanaged" rather than out of scope.
    pub fn has_neighbours(&self, tf_types: &[&str], account: &str, region: &str) -> bool {
        tf_types
            .iter()
            .filter_map(|t| self.places.get(*t))
            .flatten()
            .any(|(a, r)| (a.is_empty() || a == account) && (r.is_empty() || r == region))
    }

    /// Resource counts per Terraform type.
    pub fn type_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.resources {
            *counts.entry(r.tf_type.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// The origin of a declaration's state file.
    pub fn state_origin(&self, d: &Declared) -> &str {
        &self.states[d.state].origin
    }
}

/// One state file for [`load_states`]: where it is, its current bytes, and the last version
/// that loaded (if any, and if different).
#[derive(Debug, Clone, Copy)]
pub struct StateSource<'a> {
    /// The file (`s3://bucket/key`).
    pub origin: &'a str,
    /// What it holds now.
    pub current: &'a [u8],
    /// The last version that loaded, kept in case the current one does not.
    pub last_good: Option<&'a [u8]>,
}

/// A state file that did not load.
#[derive(Debug)]
pub struct StateFailure {
    /// Why (names the file).
    pub error: StateError,
    /// Its last good version was loaded in its place.
    pub kept_last_good: bool,
}

/// What [`load_states`] loaded.
#[derive(Debug, Default)]
pub struct LoadedStates {
    /// Every state that loaded (a bad one's last good version included).
    pub inventory: Inventory,
    /// Origins whose current version loaded (callers keep those bytes as the last good).
    pub current_ok: Vec<String>,
    /// The states that did not load.
    pub failed: Vec<StateFailure>,
}

/// Loads several state files into one inventory without letting one bad file blind the rest:
/// each file that fails is reported, its last good version loaded in its place when there is
/// one, and the others load as usual.
pub fn load_states<'a>(sources: impl IntoIterator<Item = StateSource<'a>>) -> LoadedStates {
    let mut out = LoadedStates::default();
    for source in sources {
        match out.inventory.add_state(source.origin, source.current) {
            Ok(_) => out.current_ok.push(source.origin.to_owned()),
            Err(error) => {
                let kept_last_good = source
                    .last_good
                    .is_some_and(|bytes| out.inventory.add_state(source.origin, bytes).is_ok());
                out.failed.push(StateFailure { error, kept_last_good });
            }
        }
    }
    out
}

/// Replaces sensitive values with [`REDACTED`]: every path in `sensitive_attributes` (its first
/// `get_attr` step names the top-level attribute) and every [`ALWAYS_SENSITIVE`] name at any depth.
fn redact(attributes: &mut Map<String, Value>, sensitive: &[Value]) {
    let listed = sensitive.iter().filter_map(|path| {
        let first = path.as_array()?.first()?;
        (first.get("type")?.as_str()? == "get_attr").then(|| first.get("value")?.as_str())?
    });
    for name in listed.map(str::to_owned).collect::<Vec<_>>() {
        if let Some(v) = attributes.get_mut(&name) {
            if !v.is_null() {
                *v = Value::String(REDACTED.to_owned());
            }
        }
    }
    redact_known_names(attributes);
}

fn redact_known_names(map: &mut Map<String, Value>) {
    for (key, v) in map.iter_mut() {
        if ALWAYS_SENSITIVE.contains(&key.as_str()) && !v.is_null() && v.as_str() != Some("") {
            *v = Value::String(REDACTED.to_owned());
            continue;
        }
        match v {
            Value::Object(inner) => redact_known_names(inner),
            Value::Array(items) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(redact_known_names),
            _ => {}
        }
    }
}

/// The tags a resource's declarations carry: `tags`, then what only `tags_all` adds (provider
/// default tags); the primary declaration first; string values only.
pub fn declared_tags(owners: &[&Declared]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for d in owners {
        for field in ["tags", "tags_all"] {
            if let Some(tags) = d.attributes.get(field).and_then(Value::as_object) {
                for (k, v) in tags {
                    if let Some(v) = v.as_str() {
                        out.entry(k.clone()).or_insert_with(|| v.to_owned());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_declarations_of_the_type_in_the_account_and_region() {
        let state = r#"{"version":4,"resources":[
          {"mode":"managed","type":"aws_security_group","name":"web","instances":[{"attributes":{"id":"sg-1","arn":"arn:aws:ec2:eu-west-1:111111111111:security-group/sg-1"}}]},
          {"mode":"managed","type":"aws_iam_role","name":"app","instances":[{"attributes":{"id":"app","arn":"arn:aws:iam::111111111111:role/app"}}]},
          {"mode":"managed","type":"aws_s3_bucket","name":"b","instances":[{"attributes":{"id":"b","arn":"arn:aws:s3:::b","region":"eu-west-1"}}]},
          {"mode":"managed","type":"aws_sqs_queue","name":"q","instances":[{"attributes":{"id":"q"}}]}
        ]}"#;
        let mut inv = Inventory::new();
        inv.add_state("n.tfstate", state.as_bytes()).expect("valid state");
        let sg = ["aws_security_group"];
        assert!(inv.has_neighbours(&sg, "111111111111", "eu-west-1"));
        assert!(!inv.has_neighbours(&sg, "111111111111", "us-east-1"), "another region");
        assert!(!inv.has_neighbours(&sg, "222222222222", "eu-west-1"), "another account");
        assert!(
            !inv.has_neighbours(&["aws_instance"], "111111111111", "eu-west-1"),
            "another type"
        );
        assert!(
            inv.has_neighbours(&["aws_iam_role"], "111111111111", "ap-south-1"),
            "global: any region"
        );
        assert!(
            inv.has_neighbours(&["aws_s3_bucket"], "333333333333", "eu-west-1"),
            "bucket ARNs name no account"
        );
        assert!(
            !inv.has_neighbours(&["aws_s3_bucket"], "111111111111", "us-east-1"),
            "the bucket's region decides"
        );
        assert!(
            !inv.has_neighbours(&["aws_sqs_queue"], "111111111111", "eu-west-1"),
            "no ARN, no place"
        );
    }

    #[test]
    fn secrets_are_redacted_at_any_depth_even_without_sensitive_attributes() {
        let state = r#"{"version":4,"resources":[
          {"mode":"managed","type":"aws_iam_access_key","name":"ci","instances":[{"attributes":{"id":"AKIAEXAMPLE","secret":"s3cr3t-key","ses_smtp_password_v4":"smtp-pw"}}]},
          {"mode":"managed","type":"aws_mq_broker","name":"b","instances":[{"attributes":{"id":"b-1","user":[{"username":"admin","password":"mq-pw"}]}}]}
        ]}"#;
        let mut inv = Inventory::new();
        inv.add_state("old.tfstate", state.as_bytes()).expect("valid state");
        let shown = format!("{inv:?}");
        for secret in ["s3cr3t-key", "smtp-pw", "mq-pw"] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
        assert!(shown.contains("admin"), "non-secret values stay");
    }
}
