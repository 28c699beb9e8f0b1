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
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

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
    /// at the start of [`StatePart::parse`]); `None` once the budget was exceeded.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(Some(MAX_STATE_INSTANCES)) };
}

/// Spends one of [`BUDGET`]; false once it is exhausted.
fn spend() -> bool {
    BUDGET.set(BUDGET.get().and_then(|b| b.checked_sub(1)));
    BUDGET.get().is_some()
}

fn over_budget<E: de::Error>() -> E {
    E::custom(format_args!("more than {MAX_STATE_INSTANCES} resources and instances"))
}

/// A sequence whose elements each spend one of [`BUDGET`]: reading stops at the first element
/// past it, so a resource of a million instances never sits in memory.
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
                spend();
            }
            Err(over_budget())
        }
    }
    d.deserialize_seq(Counted(std::marker::PhantomData))
}

/// A resource instance as kept: its address, its type (an index into [`StatePart::types`]) and
/// its redacted attributes as compact JSON text, parsed again only when a lookup returns it.
/// Text costs a tenth of the parsed tree: an estate of 200,000 resources fits a 256 MB function.
#[derive(Debug)]
struct Stored {
    address: Box<str>,
    tf_type: u32,
    attributes: Box<str>,
}

/// One state file, read and kept compact: what [`Inventory`] is made of. Parts are shared
/// ([`Arc`]) between inventories, so rebuilding after one state changed reads that state alone.
#[derive(Debug)]
pub struct StatePart {
    info: StateInfo,
    types: Vec<Box<str>>,
    resources: Vec<Stored>,
    /// The index entries of this state: ([`key_hash`], resource).
    keys: Vec<(u64, u32)>,
    /// (type, account, region) that the declarations' ARNs name.
    places: Vec<(u32, Box<str>, Box<str>)>,
}

/// What an index entry is keyed by: a type (or `ARN_SPACE`) and a value.
fn key_hash(space: &str, value: &str) -> u64 {
    crate::util::fnv::hash_parts(&[space, value])
}

/// The index space of ARNs (no Terraform type starts with a NUL).
const ARN_SPACE: &str = "\0arn";

impl StatePart {
    /// Reads one state file. Resources are converted one at a time as they are read, so a
    /// state's parsed tree is never all in memory at once.
    pub fn parse(origin: &str, bytes: &[u8]) -> Result<Self, StateError> {
        let mut builder = PartBuilder {
            part: StatePart {
                info: StateInfo {
                    origin: origin.to_owned(),
                    terraform_version: None,
                    serial: None,
                    lineage: None,
                    resources: 0,
                    data_sources: 0,
                },
                types: Vec::new(),
                resources: Vec::new(),
                keys: Vec::new(),
                places: Vec::new(),
            },
            type_ids: HashMap::new(),
            places: BTreeSet::new(),
            version: None,
        };
        BUDGET.set(Some(MAX_STATE_INSTANCES));
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = de::DeserializeSeed::deserialize(&mut builder, &mut de).and_then(|()| de.end());
        let exhausted = BUDGET.replace(Some(MAX_STATE_INSTANCES)).is_none();
        if let Some(version) = builder.version.filter(|v| *v != 4) {
            return Err(StateError::Version {
                origin: origin.to_owned(),
                version,
            });
        }
        if exhausted {
            return Err(StateError::TooManyInstances {
                origin: origin.to_owned(),
                limit: MAX_STATE_INSTANCES,
            });
        }
        parsed.map_err(|source| StateError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        let mut part = builder.part;
        part.places = builder.places.into_iter().collect();
        part.resources.shrink_to_fit();
        part.keys.shrink_to_fit();
        Ok(part)
    }

    /// The state file's description.
    pub fn info(&self) -> &StateInfo {
        &self.info
    }

    /// Managed resource instances it declares.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True when it declares no managed resource.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The bytes its declarations hold (text, addresses and index entries), for sizing.
    pub fn heap_bytes(&self) -> usize {
        self.resources
            .iter()
            .map(|r| r.address.len() + r.attributes.len() + std::mem::size_of::<Stored>())
            .sum::<usize>()
            + self.keys.len() * std::mem::size_of::<(u64, u32)>()
    }

    fn declared(&self, state: usize, i: usize) -> Option<Declared> {
        let r = self.resources.get(i)?;
        Some(Declared {
            state,
            address: r.address.to_string(),
            tf_type: self.tf_type(r).to_owned(),
            // The text was written from a map on load: it parses back to the same map.
            attributes: serde_json::from_str(&r.attributes).unwrap_or_default(),
        })
    }

    fn tf_type(&self, r: &Stored) -> &str {
        self.types.get(r.tf_type as usize).map_or("", |t| t)
    }
}

struct PartBuilder {
    part: StatePart,
    type_ids: HashMap<String, u32>,
    places: BTreeSet<(u32, Box<str>, Box<str>)>,
    version: Option<u64>,
}

impl PartBuilder {
    fn add(&mut self, res: RawResource) {
        if res.mode != "managed" {
            self.part.info.data_sources += res.instances.len().max(1);
            return;
        }
        let next = self.part.types.len() as u32;
        let type_id = *self.type_ids.entry(res.tf_type.clone()).or_insert_with(|| {
            self.part.types.push(res.tf_type.clone().into_boxed_str());
            next
        });
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
            let i = self.part.resources.len() as u32;
            self.index(&res.tf_type, type_id, &attributes, i);
            self.part.resources.push(Stored {
                address: address.into_boxed_str(),
                tf_type: type_id,
                attributes: Value::Object(attributes).to_string().into_boxed_str(),
            });
            self.part.info.resources += 1;
        }
    }

    fn index(&mut self, tf_type: &str, type_id: u32, attributes: &Map<String, Value>, i: u32) {
        let str_attr = |name: &str| attributes.get(name).and_then(Value::as_str);
        let arn = str_attr("arn");
        if let Some(arn) = arn.filter(|a| a.starts_with("arn:")) {
            self.part.keys.push((key_hash(ARN_SPACE, arn), i));
        }
        let own = TYPE_KEY_ATTRIBUTES
            .iter()
            .filter(|(t, _)| *t == tf_type)
            .map(|(_, a)| a);
        let mut values: Vec<&str> = Vec::new();
        for attr in KEY_ATTRIBUTES.iter().chain(own) {
            if let Some(v) = str_attr(attr).filter(|v| !v.is_empty() && !values.contains(v)) {
                values.push(v);
                self.part.keys.push((key_hash(tf_type, v), i));
            }
        }
        if let Some(arn) = arn {
            let mut parts = arn.split(':').skip(3);
            let (arn_region, account) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let region = if arn_region.is_empty() {
                str_attr("region").unwrap_or("")
            } else {
                arn_region
            };
            self.places.insert((type_id, account.into(), region.into()));
        }
    }
}

impl<'de> de::DeserializeSeed<'de> for &mut PartBuilder {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut PartBuilder {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Terraform state object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut version_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    let v: u64 = map.next_value()?;
                    self.version = Some(v);
                    version_seen = true;
                    if v != 4 {
                        // Another format: its resources are not read as version 4's.
                        return Err(de::Error::custom(format_args!("state format version {v}")));
                    }
                }
                "terraform_version" => self.part.info.terraform_version = map.next_value()?,
                "serial" => self.part.info.serial = map.next_value()?,
                "lineage" => self.part.info.lineage = map.next_value()?,
                "resources" => map.next_value_seed(Resources(self))?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if !version_seen {
            return Err(de::Error::missing_field("version"));
        }
        Ok(())
    }
}

/// The `resources` list, each resource converted and dropped as soon as it is read.
struct Resources<'b>(&'b mut PartBuilder);

impl<'de> de::DeserializeSeed<'de> for Resources<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Resources<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while BUDGET.get().is_some() {
            let Some(res) = seq.next_element::<RawResource>()? else {
                return Ok(());
            };
            if !spend() {
                break;
            }
            self.0.add(res);
        }
        Err(over_budget())
    }
}

/// Where a declaration is: (part << 32) | resource.
type Loc = u64;

/// An index slot: most keys name one declaration.
#[derive(Debug, Clone)]
enum Slot {
    One(Loc),
    Many(Vec<Loc>),
}

impl Slot {
    fn locs(&self) -> &[Loc] {
        match self {
            Slot::One(l) => std::slice::from_ref(l),
            Slot::Many(v) => v,
        }
    }
}

/// Everything the loaded states declare, indexed for lookups: compact per state file
/// ([`StatePart`]), declarations parsed back into [`Declared`] only when a lookup returns them.
#[derive(Debug, Default)]
pub struct Inventory {
    parts: Vec<Arc<StatePart>>,
    states: Vec<StateInfo>,
    /// [`key_hash`] of (type or ARN space, value) → declarations; a lookup checks the value,
    /// so a hash collision costs a parse, never a wrong answer.
    index: HashMap<u64, Slot>,
    /// Per Terraform type, the distinct (account, region) pairs its declarations' ARNs name
    /// (empty where the ARN names none: global resources; S3 buckets use their `region`).
    places: HashMap<String, HashSet<(String, String)>>,
    len: usize,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// An inventory of parts already read (shared with the inventories they are also in).
    pub fn from_parts(parts: impl IntoIterator<Item = Arc<StatePart>>) -> Self {
        let mut inventory = Self::new();
        for part in parts {
            inventory.push(part);
        }
        inventory
    }

    /// Loads one state file. On error nothing from it is added.
    pub fn add_state(&mut self, origin: &str, bytes: &[u8]) -> Result<&StateInfo, StateError> {
        let part = StatePart::parse(origin, bytes)?;
        self.push(Arc::new(part));
        Ok(&self.states[self.states.len() - 1])
    }

    /// Adds a part read before.
    pub fn push(&mut self, part: Arc<StatePart>) {
        let p = self.parts.len() as u64;
        for &(hash, i) in &part.keys {
            let loc = p << 32 | u64::from(i);
            match self.index.entry(hash) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Slot::One(loc));
                }
                std::collections::hash_map::Entry::Occupied(mut e) => match e.get_mut() {
                    Slot::One(first) => {
                        let first = *first;
                        e.insert(Slot::Many(vec![first, loc]));
                    }
                    Slot::Many(v) => v.push(loc),
                },
            }
        }
        for (t, account, region) in &part.places {
            if let Some(tf_type) = part.types.get(*t as usize) {
                self.places
                    .entry(tf_type.to_string())
                    .or_default()
                    .insert((account.to_string(), region.to_string()));
            }
        }
        self.len += part.resources.len();
        self.states.push(part.info.clone());
        self.parts.push(part);
    }

    /// The parts, in load order.
    pub fn parts(&self) -> &[Arc<StatePart>] {
        &self.parts
    }

    /// The state files loaded.
    pub fn states(&self) -> &[StateInfo] {
        &self.states
    }

    /// Every managed resource instance, parsed one at a time, in load order.
    pub fn resources(&self) -> impl Iterator<Item = Declared> + '_ {
        self.parts
            .iter()
            .enumerate()
            .flat_map(|(p, part)| (0..part.resources.len()).filter_map(move |i| part.declared(p, i)))
    }

    /// The resource instances one state file declares ([`Declared::state`] `state`).
    pub fn resources_in(&self, state: usize) -> impl Iterator<Item = Declared> + '_ {
        let part = self.parts.get(state);
        (0..part.map_or(0, |p| p.resources.len())).filter_map(move |i| part?.declared(state, i))
    }

    /// The resource instances of one Terraform type (only those are parsed).
    pub fn resources_of_type<'a>(&'a self, tf_type: &'a str) -> impl Iterator<Item = Declared> + 'a {
        self.parts.iter().enumerate().flat_map(move |(p, part)| {
            part.resources
                .iter()
                .enumerate()
                .filter(move |(_, r)| part.tf_type(r) == tf_type)
                .filter_map(move |(i, _)| part.declared(p, i))
        })
    }

    /// The declaration at `address` in the state `origin`.
    pub fn declaration(&self, origin: &str, address: &str) -> Option<Declared> {
        self.parts.iter().enumerate().find_map(|(p, part)| {
            if part.info.origin != origin {
                return None;
            }
            let i = part.resources.iter().position(|r| &*r.address == address)?;
            part.declared(p, i)
        })
    }

    /// Number of managed resource instances.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no state declares anything.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn at(&self, loc: Loc) -> Option<Declared> {
        let p = (loc >> 32) as usize;
        self.parts.get(p)?.declared(p, (loc & u64::from(u32::MAX)) as usize)
    }

    fn candidates(&self, space: &str, value: &str) -> &[Loc] {
        self.index.get(&key_hash(space, value)).map_or(&[], Slot::locs)
    }

    /// Declarations of `id` (an ARN, id or name) among `tf_types`, primary type first.
    pub fn find(&self, tf_types: &[&str], id: &str) -> Vec<Declared> {
        let mut seen: Vec<Loc> = Vec::new();
        let mut out: Vec<Declared> = Vec::new();
        if id.starts_with("arn:") {
            for &loc in self.candidates(ARN_SPACE, id) {
                if let Some(d) = self.at(loc) {
                    if tf_types.contains(&d.tf_type.as_str()) && d.str_attr("arn") == Some(id) {
                        seen.push(loc);
                        out.push(d);
                    }
                }
            }
        }
        for t in tf_types {
            for &loc in self.candidates(t, id) {
                if seen.contains(&loc) {
                    continue;
                }
                let Some(d) = self.at(loc) else { continue };
                let own = TYPE_KEY_ATTRIBUTES
                    .iter()
                    .filter(|(ty, _)| *ty == d.tf_type)
                    .map(|(_, a)| a);
                let names_it = KEY_ATTRIBUTES.iter().chain(own).any(|a| d.str_attr(a) == Some(id));
                if d.tf_type == *t && names_it {
                    seen.push(loc);
                    out.push(d);
                }
            }
        }
        out.sort_by_key(|d| tf_types.iter().position(|t| *t == d.tf_type));
        out
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
        for part in &self.parts {
            for r in &part.resources {
                *counts.entry(part.tf_type(r)).or_insert(0) += 1;
            }
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
#[derive(Debug, Clone)]
pub struct StateFailure {
    /// Why (names the file).
    pub error: Arc<StateError>,
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
                out.failed.push(StateFailure {
                    error: Arc::new(error),
                    kept_last_good,
                });
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
