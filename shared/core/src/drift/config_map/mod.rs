//! AWS Config attribute maps: which Terraform attribute corresponds to which path of an AWS Config
//! configuration item, and one interpreter that compares the two.
//!
//! [`MAPS`] (in `table.rs`) is data: per resource type, rows of [`Mapped`] naming the Terraform
//! type and path that declare a value, the configuration-item path that holds the live value, and
//! the [`ConfigNorm`] that puts both in one canonical form. [`compare`] reads the table; nothing
//! here is special-cased per resource type.
//!
//! # Paths
//!
//! `config_path` is a dot path into the configuration item. Three things make it fit real items:
//! - a string met on the way that holds JSON (`supplementaryConfiguration` values, and in some
//!   deliveries `configuration` itself, are JSON encoded, sometimes twice) is decoded and walked;
//! - `name[key]` reads a `[{"key": …, "value": …}]` list by key (ELB `LoadBalancerAttributes`);
//!   the key may contain dots;
//! - `name[?field]` takes the first element of a list whose `field` is `true`
//!   (the default version in an IAM policy's `policyVersionList`).
//!
//! `tf_path` is a dot path in the declaration's attributes (numeric segments index lists); the
//! empty path means the whole declaration (a standalone rule or policy resource is one element of
//! its parent's set).
//!
//! # Several rows, one attribute
//!
//! An attribute may be declared by more than one Terraform type (S3 versioning inline on
//! `aws_s3_bucket` before provider v4, or on `aws_s3_bucket_versioning` after). Rows with the same
//! `attribute` are alternatives. For set-valued normalisers ([`ConfigNorm::is_set`]: rules, id sets,
//! attached policies, inline policies) every declaring row and declaration contributes and the
//! union is compared, so a group's inline rules plus its `aws_security_group_rule`s make one rule
//! set. For the others the first row, in table order, with a declaring declaration wins; split
//! resources are listed first because they are authoritative when both exist.
//!
//! # Noise folded by the maps
//!
//! - **Undeclared is not drift.** Only attributes some declaration declares are compared: a state
//!   value that is absent, `null` or `""` (and, for scalar and block normalisers, an empty list or
//!   object) is what Terraform records when the configuration leaves it unset, so AWS's default
//!   applies and is not reported. For set normalisers an empty set is a declaration ("no rules").
//! - **Tags against `tags_all`.** A `tags` row reads `tags_all` when the declaration has it: the
//!   provider's `default_tags` are declared in IaC too. `tags_all` is never reported on its own.
//! - **`aws:` tags are ignored**: AWS services (CloudFormation, Auto Scaling, …) set them.
//! - **Service-managed fields are not mapped**: timestamps, revision ids, states, ENIs, DNS names,
//!   effective (default-filled) policies. They change without anyone touching the resource.
//! - **Service-linked roles** (path `/aws-service-role/<service>/`) are owned by AWS services; callers fold
//!   them with [`is_service_linked_role`].
//! - **Security group rule descriptions are ignored**: they do not change who can connect, and
//!   consoles rewrite them freely. CIDRs are compared as networks (`10.0.0.5/8` is `10.0.0.0/8`,
//!   IPv6 case and zero compression do not matter), protocols by name (`-1`/`all`, `6`/`tcp`, …).
//! - **Policies compare semantically** ([`crate::drift::diff::normalise_policy`]): URL-encoded or plain,
//!   statement and action order, a string versus a one-element list.
//! - **KMS keys compare by key id**: a key ARN and its bare id are the same key (an alias is kept
//!   as written, since resolving it needs a call).

mod table;

pub use table::MAPS;

use crate::drift::diff::{normalise, normalise_policy, value_at, AttributeChange, Norm};
use crate::iac::inventory::Declared;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// One Terraform attribute mapped to a path in an AWS Config configuration item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    /// Display / ignore path in Terraform terms, e.g. `ingress`, `versioning`, `tags`.
    pub attribute: &'static str,
    /// The Terraform type that declares it (`aws_s3_bucket_versioning` under the provider v4 split).
    pub tf_type: &'static str,
    /// Dot path in that declaration's attributes (`versioning_configuration.0.status`); empty for
    /// the whole declaration.
    pub tf_path: &'static str,
    /// Path in the configuration item (`configuration.ipPermissions`,
    /// `supplementaryConfiguration.BucketVersioningConfiguration.status`, `tags`).
    pub config_path: &'static str,
    /// The normaliser applied to both sides before comparing.
    pub norm: ConfigNorm,
}

/// The attribute map of one resource type.
#[derive(Debug, Clone, Copy)]
pub struct AttributeMap {
    /// AWS Config resource type, e.g. `AWS::S3::Bucket`.
    pub resource_type: &'static str,
    /// Rows; rows sharing an `attribute` are alternatives (see the module header).
    pub attributes: &'static [Mapped],
}

/// How a value is put in canonical form before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigNorm {
    /// Text; numbers and booleans rendered.
    Text,
    /// Booleans, from `true` / `"true"` / `"TRUE"`.
    Bool,
    /// Integers, from numbers or numeric strings.
    Int,
    /// A policy document (object, JSON string, URL-encoded JSON string), compared semantically.
    Policy,
    /// Security group rules in one direction (`ingress` / `egress`), as a set of canonical rule
    /// texts `"<protocol> <ports> <peer>"`, one per peer: `tcp 22 0.0.0.0/0`, `all * sg-0123…`.
    /// Reads Config `ipPermissions` (`ipRanges` strings, `ipv4Ranges`, `ipv6Ranges`,
    /// `userIdGroupPairs`, `prefixListIds`), inline `ingress` / `egress` blocks (with `self`),
    /// `aws_security_group_rule` (of this `type`) and `aws_vpc_security_group_*_rule`.
    /// Descriptions are ignored; CIDRs are normalised to their network.
    SgRules {
        /// `ingress` or `egress`.
        direction: &'static str,
    },
    /// Tags: an object or a `[{key, value}]` list, as an object without `aws:` keys.
    Tags,
    /// A set of ids: strings, or objects holding `groupId`, `vpcSecurityGroupId`, `subnetId`, ….
    IdSet,
    /// Attached managed policy ARNs: `[{policyArn}]`, a list of ARNs, or one `policy_arn`.
    ManagedPolicyArns,
    /// Inline policies as `{name: canonical policy}`: Config `rolePolicyList`
    /// (`policyName`, URL-encoded `policyDocument`), `inline_policy` blocks, `aws_iam_role_policy`.
    InlinePolicies,
    /// S3 versioning as `Enabled` or `Disabled` (Config `Off` / `Suspended`, Terraform
    /// `Suspended` / `Disabled` / `enabled = false` are all "not versioning new objects").
    Versioning,
    /// S3 default encryption as a set of `"<algorithm>[ <kms key id>]"`, from Config
    /// `ServerSideEncryptionConfiguration` or Terraform `rule` blocks.
    Encryption,
    /// `enabled` / `ENABLED` / `disabled` states and booleans, as booleans.
    EnabledState,
    /// A KMS key reference, as the key id when given as a key ARN.
    KmsKey,
    /// A name, or the last `/` segment of an ARN (instance profiles: name vs ARN).
    NameFromArn,
    /// Load balancer scheme: Terraform `internal = true` is `internal`, `false` is `internet-facing`.
    LbScheme,
}

impl ConfigNorm {
    /// True for normalisers whose value is a set assembled from several declarations (and for
    /// which an empty set is a declaration).
    pub fn is_set(self) -> bool {
        matches!(
            self,
            ConfigNorm::SgRules { .. } | ConfigNorm::IdSet | ConfigNorm::ManagedPolicyArns | ConfigNorm::InlinePolicies
        )
    }

    /// Puts `v` (from either side) in canonical form. `owner` is the declaration it was read
    /// from (for security group `self` rules), `None` for the live side.
    pub fn apply(self, v: &Value, owner: Option<&Declared>) -> Value {
        let decoded;
        let v = match (self, v) {
            (ConfigNorm::Policy | ConfigNorm::Text, _) => v,
            (_, Value::String(_)) => {
                decoded = decode_json_text(v);
                &decoded
            }
            _ => v,
        };
        match self {
            ConfigNorm::Text => normalise(v, Norm::Text),
            ConfigNorm::Bool => normalise(v, Norm::Bool),
            ConfigNorm::Int => normalise(v, Norm::Int),
            ConfigNorm::Policy => match v {
                Value::Null => Value::Null,
                Value::String(s) if s.trim().is_empty() => Value::Null,
                _ => normalise_policy(v),
            },
            ConfigNorm::SgRules { direction } => sg_rules(v, direction, owner),
            ConfigNorm::Tags => tags(v),
            ConfigNorm::IdSet | ConfigNorm::ManagedPolicyArns => set_value(ids(v)),
            ConfigNorm::InlinePolicies => inline_policies(v),
            ConfigNorm::Versioning => versioning(v),
            ConfigNorm::Encryption => encryption(v),
            ConfigNorm::EnabledState => enabled_state(v),
            ConfigNorm::KmsKey => match v.as_str() {
                Some(s) => kms_key(s).map_or(Value::Null, Value::String),
                None => v.clone(),
            },
            ConfigNorm::NameFromArn => match v.as_str() {
                Some(s) => Value::String(s.rsplit('/').next().unwrap_or(s).to_owned()),
                None => v.clone(),
            },
            ConfigNorm::LbScheme => match v {
                Value::Bool(true) => Value::String("internal".into()),
                Value::Bool(false) => Value::String("internet-facing".into()),
                Value::String(s) => Value::String(s.to_ascii_lowercase()),
                other => other.clone(),
            },
        }
    }

    /// Whether a state value declares the attribute (see "Undeclared is not drift").
    fn declares(self, v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => self.is_set() || self == ConfigNorm::Tags || !a.is_empty(),
            Value::Object(m) => self.is_set() || self == ConfigNorm::Tags || !m.is_empty(),
            _ => true,
        }
    }
}

/// Every map.
pub fn map_for(resource_type: &str) -> Option<&'static AttributeMap> {
    MAPS.iter().find(|m| m.resource_type == resource_type)
}

/// The attributes compared for a resource type, in table order, each once (for `coverage`).
pub fn compared_attributes(resource_type: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for row in map_for(resource_type).map_or(&[][..], |m| m.attributes) {
        if !out.contains(&row.attribute) {
            out.push(row.attribute);
        }
    }
    out
}

/// True for an IAM service-linked role (path `/aws-service-role/<service>/`): AWS services own these.
pub fn is_service_linked_role(item: &Value) -> bool {
    let path = config_value(item, "configuration.path");
    let arn = item.get("ARN").or_else(|| item.get("arn")).and_then(Value::as_str);
    path.as_ref()
        .and_then(Value::as_str)
        .is_some_and(|p| p.starts_with("/aws-service-role/"))
        || arn.is_some_and(|a| a.contains(":role/aws-service-role/"))
}

/// Compares a Config configuration item (the `configurationItem` object exactly as delivered,
/// with `configuration`, `supplementaryConfiguration`, `tags`; values inside may be JSON encoded
/// as strings) with the declarations of the resource (primary first, then related ones such as
/// `aws_s3_bucket_versioning` / `aws_iam_role_policy` / `aws_security_group_rule`, as
/// `Inventory::find` returns them).
///
/// Returns `None` when the type has no map. Compares only attributes some declaration declares;
/// every compared attribute is returned with `drifted` set, `expected` = normalised declared value,
/// `found` = normalised live value, `declared_in` = the declaring address.
pub fn compare(resource_type: &str, item: &Value, owners: &[&Declared]) -> Option<Vec<AttributeChange>> {
    let map = map_for(resource_type)?;
    let mut out = Vec::new();
    for attribute in compared_attributes(resource_type) {
        let rows: Vec<&Mapped> = map.attributes.iter().filter(|r| r.attribute == attribute).collect();
        if let Some(change) = compare_attribute(&rows, item, owners) {
            out.push(change);
        }
    }
    Some(out)
}

/// One attribute: its alternative rows, the live item, the declarations.
fn compare_attribute(rows: &[&Mapped], item: &Value, owners: &[&Declared]) -> Option<AttributeChange> {
    let first = rows.first()?;
    let (expected, declared_in, row) = if first.norm.is_set() {
        let mut union: Option<Value> = None;
        let mut declared_in: Option<&Declared> = None;
        for row in rows {
            for owner in owners.iter().filter(|d| d.tf_type == row.tf_type) {
                let Some(v) = declared_value(owner, row) else { continue };
                union = Some(match union {
                    None => v,
                    Some(acc) => merge_sets(acc, v),
                });
                declared_in = declared_in.or(Some(owner));
            }
        }
        (union?, declared_in?, *first)
    } else {
        rows.iter().find_map(|row| {
            owners
                .iter()
                .filter(|d| d.tf_type == row.tf_type)
                .find_map(|owner| declared_value(owner, row).map(|v| (v, *owner, *row)))
        })?
    };
    let live = config_value(item, row.config_path).unwrap_or(Value::Null);
    let found = row.norm.apply(&live, None);
    Some(AttributeChange {
        attribute: row.attribute.to_owned(),
        declared_in: Some(declared_in.address.clone()),
        drifted: expected != found,
        expected,
        found,
    })
}

/// The normalised declared value of a row in one declaration, if the declaration declares it.
fn declared_value(owner: &Declared, row: &Mapped) -> Option<Value> {
    let raw = if row.tf_path.is_empty() {
        Value::Object((*owner.attributes).clone())
    } else {
        let path = match (row.norm, owner.attributes.get("tags_all")) {
            (ConfigNorm::Tags, Some(all)) if row.tf_path == "tags" && !all.is_null() => "tags_all",
            _ => row.tf_path,
        };
        let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
        let top = owner.attributes.get(head)?;
        rest.map_or(Some(top), |rest| value_at(top, rest))?.clone()
    };
    if !row.norm.declares(&raw) {
        return None;
    }
    let v = row.norm.apply(&raw, Some(owner));
    (!v.is_null()).then_some(v)
}

/// Union of two set values (sorted arrays, or objects for inline policies).
fn merge_sets(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => {
            let set: BTreeSet<String> = a
                .into_iter()
                .chain(b)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            set_value(set)
        }
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                a.entry(k).or_insert(v);
            }
            Value::Object(a)
        }
        (a, _) => a,
    }
}

fn set_value(set: BTreeSet<String>) -> Value {
    Value::Array(set.into_iter().map(Value::String).collect())
}

// ---- reading the configuration item ----

/// The value at a configuration-item path (see "Paths" in the module header), or `None` when a
/// segment is missing. Borrows from the item until a JSON-encoded string has to be decoded.
pub fn config_value(item: &Value, path: &str) -> Option<Value> {
    let mut cur: Cow<'_, Value> = Cow::Borrowed(item);
    for seg in segments(path) {
        cur = decoded(cur);
        let (name, selector) = match seg.split_once('[') {
            Some((name, sel)) => (name, Some(sel.strip_suffix(']').unwrap_or(sel))),
            None => (seg, None),
        };
        if !name.is_empty() {
            cur = step(cur, |v| match v {
                Value::Object(m) => m.get(name),
                Value::Array(a) => a.get(name.parse::<usize>().ok()?),
                _ => None,
            })?;
        }
        if let Some(sel) = selector {
            cur = step(decoded(cur), |v| {
                let list = v.as_array()?;
                match sel.strip_prefix('?') {
                    Some(flag) => list.iter().find(|e| e.get(flag).and_then(Value::as_bool) == Some(true)),
                    None => list
                        .iter()
                        .find(|e| e.get("key").or_else(|| e.get("Key")).and_then(Value::as_str) == Some(sel))
                        .and_then(|e| e.get("value").or_else(|| e.get("Value"))),
                }
            })?;
        }
    }
    Some(cur.into_owned())
}

/// Moves one step into `cur`, borrowing when `cur` is borrowed.
fn step<'v>(cur: Cow<'v, Value>, f: impl Fn(&Value) -> Option<&Value>) -> Option<Cow<'v, Value>> {
    match cur {
        Cow::Borrowed(v) => f(v).map(Cow::Borrowed),
        Cow::Owned(v) => f(&v).cloned().map(Cow::Owned),
    }
}

/// `cur`, or the JSON it holds when it is a JSON-encoded string.
fn decoded(cur: Cow<'_, Value>) -> Cow<'_, Value> {
    if cur.is_string() {
        let inner = decode_json_text(&cur);
        if !inner.is_string() || inner != *cur {
            return Cow::Owned(inner);
        }
    }
    cur
}

/// Splits a path on dots outside `[...]`.
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

/// A string holding a JSON object, list or string is decoded (repeatedly: Config sometimes
/// encodes twice); anything else is returned as is.
fn decode_json_text(v: &Value) -> Value {
    let mut cur = v.clone();
    for _ in 0..3 {
        let Value::String(s) = &cur else { break };
        let t = s.trim_start();
        if !(t.starts_with('{') || t.starts_with('[') || t.starts_with('"')) {
            break;
        }
        match serde_json::from_str::<Value>(s) {
            Ok(inner) => cur = inner,
            Err(_) => break,
        }
    }
    cur
}

// ---- normalisers ----

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn tags(v: &Value) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, val: &Value| {
        if !k.starts_with("aws:") {
            out.insert(k.to_owned(), Value::String(text_of(val).unwrap_or_default()));
        }
    };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, val)| put(k, val)),
        Value::Array(a) => {
            for t in a {
                let key = t.get("key").or_else(|| t.get("Key")).and_then(Value::as_str);
                let val = t.get("value").or_else(|| t.get("Value")).unwrap_or(&Value::Null);
                if let Some(key) = key {
                    put(key, val);
                }
            }
        }
        _ => return Value::Null,
    }
    Value::Object(out)
}

/// Keys under which Config and Terraform objects carry an id.
const ID_KEYS: &[&str] = &[
    "groupId",
    "vpcSecurityGroupId",
    "subnetId",
    "subnetIdentifier",
    "policyArn",
    "policy_arn",
];

fn ids(v: &Value) -> BTreeSet<String> {
    let one = |x: &Value| -> Option<String> {
        match x {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(m) => ID_KEYS
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            _ => None,
        }
    };
    match v {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

fn inline_policies(v: &Value) -> Value {
    let one = |x: &Value| -> Option<(String, Value)> {
        let name = x.get("policyName").or_else(|| x.get("name"))?.as_str()?;
        let doc = x.get("policyDocument").or_else(|| x.get("policy"))?;
        (!name.is_empty()).then(|| (name.to_owned(), normalise_policy(doc)))
    };
    let pairs: BTreeMap<String, Value> = match v {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        Value::Object(_) => one(v).into_iter().collect(),
        _ => return Value::Null,
    };
    Value::Object(pairs.into_iter().collect())
}

fn versioning(v: &Value) -> Value {
    let enabled = match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("enabled"),
        Value::Null => false,
        other => return other.clone(),
    };
    Value::String(if enabled { "Enabled" } else { "Disabled" }.into())
}

fn enabled_state(v: &Value) -> Value {
    match v {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "enabled" | "true" => Value::Bool(true),
            "disabled" | "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        other => other.clone(),
    }
}

/// `arn:aws:kms:<region>:<account>:key/<id>` → `<id>`; empty → `None`; anything else as written.
fn kms_key(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Some(match s.strip_prefix("arn:") {
        Some(rest) => rest
            .split_once(":key/")
            .map_or_else(|| s.to_owned(), |(_, id)| id.to_owned()),
        None => s.to_owned(),
    })
}

fn encryption(v: &Value) -> Value {
    // Config: {"rules": [...]} (or the list itself); Terraform: the `rule` block list.
    let rules: Vec<&Value> = match v {
        Value::Object(m) => match m.get("rules") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => vec![v],
        },
        Value::Array(a) => a.iter().collect(),
        _ => return Value::Null,
    };
    let mut out = BTreeSet::new();
    for r in rules {
        let by_default = r
            .get("applyServerSideEncryptionByDefault")
            .or_else(|| r.get("apply_server_side_encryption_by_default"))
            .map(|d| match d {
                Value::Array(a) => a.first().unwrap_or(&Value::Null),
                other => other,
            });
        let Some(d) = by_default else { continue };
        let algorithm = d
            .get("sseAlgorithm")
            .or_else(|| d.get("sse_algorithm"))
            .and_then(Value::as_str);
        let key = d
            .get("kmsMasterKeyID")
            .or_else(|| d.get("kms_master_key_id"))
            .and_then(Value::as_str)
            .and_then(kms_key);
        if let Some(a) = algorithm.filter(|a| !a.is_empty()) {
            out.insert(match key {
                Some(k) => format!("{a} {k}"),
                None => a.to_owned(),
            });
        }
    }
    set_value(out)
}

// ---- security group rules ----

/// A CIDR in canonical form: host bits cleared, IPv6 lower case and compressed.
pub fn canonical_cidr(cidr: &str) -> String {
    let cidr = cidr.trim();
    let Some((addr, len)) = cidr.split_once('/') else {
        return cidr.to_ascii_lowercase();
    };
    let Ok(len) = len.parse::<u32>() else {
        return cidr.to_ascii_lowercase();
    };
    if let (Ok(ip), true) = (addr.parse::<Ipv4Addr>(), len <= 32) {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        return format!("{}/{len}", Ipv4Addr::from(u32::from(ip) & mask));
    }
    if let (Ok(ip), true) = (addr.parse::<Ipv6Addr>(), len <= 128) {
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        return format!("{}/{len}", Ipv6Addr::from(u128::from(ip) & mask));
    }
    cidr.to_ascii_lowercase()
}

fn protocol(p: &str) -> String {
    match p.trim().to_ascii_lowercase().as_str() {
        "-1" | "all" => "all".into(),
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        other => other.into(),
    }
}

fn port(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn rule(proto: &str, from: Option<i64>, to: Option<i64>, peer: &str) -> String {
    let proto = protocol(proto);
    let ports = match (proto.as_str(), from, to) {
        ("all", _, _) => "*".to_owned(),
        (_, Some(a), Some(b)) if a == b => a.to_string(),
        (_, Some(a), Some(b)) => format!("{a}-{b}"),
        (_, Some(a), None) | (_, None, Some(a)) => a.to_string(),
        _ => "*".to_owned(),
    };
    let peer = if peer.contains('/') && !peer.starts_with("sg-") && peer.contains(['.', ':']) {
        canonical_cidr(peer)
    } else {
        // `account/sg-…` (cross-account) names the same group as `sg-…`.
        peer.rsplit('/').next().unwrap_or(peer).to_owned()
    };
    format!("{proto} {ports} {peer}")
}

fn strs(v: Option<&Value>, key: Option<&str>) -> Vec<String> {
    let one = |x: &Value| match (x, key) {
        (Value::String(s), _) => Some(s.clone()),
        (Value::Object(m), Some(k)) => m.get(k).and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(one).filter(|s| !s.is_empty()).collect(),
        Some(x @ Value::String(s)) if !s.is_empty() => one(x).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn sg_rules(v: &Value, direction: &str, owner: Option<&Declared>) -> Value {
    let mut out = BTreeSet::new();
    let own_id = owner.and_then(|d| d.str_attr("security_group_id").or_else(|| d.str_attr("id")));
    match v {
        // Config `ipPermissions` / `ipPermissionsEgress`, or inline Terraform blocks.
        Value::Array(list) => {
            for p in list {
                if let Some(proto) = p.get("ipProtocol").and_then(Value::as_str) {
                    let (from, to) = (port(p.get("fromPort")), port(p.get("toPort")));
                    let mut peers = strs(p.get("ipRanges"), Some("cidrIp"));
                    peers.extend(strs(p.get("ipv4Ranges"), Some("cidrIp")));
                    peers.extend(strs(p.get("ipv6Ranges"), Some("cidrIpv6")));
                    peers.extend(strs(p.get("userIdGroupPairs"), Some("groupId")));
                    peers.extend(strs(p.get("prefixListIds"), Some("prefixListId")));
                    out.extend(peers.iter().map(|peer| rule(proto, from, to, peer)));
                } else if let Some(proto) = p.get("protocol").and_then(Value::as_str) {
                    let (from, to) = (port(p.get("from_port")), port(p.get("to_port")));
                    let mut peers = strs(p.get("cidr_blocks"), None);
                    peers.extend(strs(p.get("ipv6_cidr_blocks"), None));
                    peers.extend(strs(p.get("security_groups"), None));
                    peers.extend(strs(p.get("prefix_list_ids"), None));
                    if p.get("self").and_then(Value::as_bool) == Some(true) {
                        peers.extend(own_id.map(str::to_owned));
                    }
                    out.extend(peers.iter().map(|peer| rule(proto, from, to, peer)));
                }
            }
        }
        // One standalone rule resource (the whole declaration).
        Value::Object(a) => {
            let (from, to) = (port(a.get("from_port")), port(a.get("to_port")));
            if let Some(proto) = a.get("ip_protocol").and_then(Value::as_str) {
                // aws_vpc_security_group_{ingress,egress}_rule: one peer each.
                let peers = [
                    "cidr_ipv4",
                    "cidr_ipv6",
                    "referenced_security_group_id",
                    "prefix_list_id",
                ]
                .iter()
                .filter_map(|k| a.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()));
                out.extend(peers.map(|peer| rule(proto, from, to, peer)));
            } else if let Some(proto) = a.get("protocol").and_then(Value::as_str) {
                // aws_security_group_rule: only rules of this direction belong here.
                if a.get("type").and_then(Value::as_str) != Some(direction) {
                    return Value::Null;
                }
                let mut peers = strs(a.get("cidr_blocks"), None);
                peers.extend(strs(a.get("ipv6_cidr_blocks"), None));
                peers.extend(strs(a.get("source_security_group_id"), None));
                peers.extend(strs(a.get("prefix_list_ids"), None));
                if a.get("self").and_then(Value::as_bool) == Some(true) {
                    peers.extend(own_id.map(str::to_owned));
                }
                out.extend(peers.iter().map(|peer| rule(proto, from, to, peer)));
            } else {
                return Value::Null;
            }
        }
        _ => return Value::Null,
    }
    set_value(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cidrs_compare_as_networks() {
        assert_eq!(canonical_cidr("10.0.0.5/8"), "10.0.0.0/8");
        assert_eq!(canonical_cidr("0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(canonical_cidr("192.168.1.77/32"), "192.168.1.77/32");
        assert_eq!(canonical_cidr("2001:DB8:0:0::1/64"), "2001:db8::/64");
        assert_eq!(canonical_cidr("::/0"), "::/0");
        assert_eq!(canonical_cidr("not-a-cidr"), "not-a-cidr");
    }

    #[test]
    fn paths_decode_json_text_and_select_list_entries() {
        let item = json!({
            "configuration": "{\"name\":\"b\"}",
            "supplementaryConfiguration": {
                "BucketVersioningConfiguration": "{\"status\":\"Off\"}",
                "Twice": "\"{\\\"a\\\":1}\"",
                "LoadBalancerAttributes": [{"key": "deletion_protection.enabled", "value": "true"}],
                "Versions": [{"v": 1, "isDefaultVersion": false}, {"v": 2, "isDefaultVersion": true}]
            }
        });
        assert_eq!(config_value(&item, "configuration.name"), Some(json!("b")));
        assert_eq!(
            config_value(&item, "supplementaryConfiguration.BucketVersioningConfiguration.status"),
            Some(json!("Off"))
        );
        assert_eq!(
            config_value(&item, "supplementaryConfiguration.Twice.a"),
            Some(json!(1))
        );
        assert_eq!(
            config_value(
                &item,
                "supplementaryConfiguration.LoadBalancerAttributes[deletion_protection.enabled]"
            ),
            Some(json!("true"))
        );
        assert_eq!(
            config_value(&item, "supplementaryConfiguration.Versions[?isDefaultVersion].v"),
            Some(json!(2))
        );
        assert_eq!(config_value(&item, "supplementaryConfiguration.Missing"), None);
    }

    #[test]
    fn rule_texts_unify_protocols_ports_and_peers() {
        assert_eq!(rule("6", Some(22), Some(22), "10.1.2.3/16"), "tcp 22 10.1.0.0/16");
        assert_eq!(rule("-1", Some(0), Some(0), "0.0.0.0/0"), "all * 0.0.0.0/0");
        assert_eq!(rule("ALL", None, None, "0.0.0.0/0"), "all * 0.0.0.0/0");
        assert_eq!(
            rule("udp", Some(1000), Some(2000), "pl-12345"),
            "udp 1000-2000 pl-12345"
        );
        assert_eq!(
            rule("tcp", Some(5432), Some(5432), "123456789012/sg-0abc"),
            "tcp 5432 sg-0abc"
        );
    }

    #[test]
    fn scalar_and_block_normalisers() {
        use ConfigNorm::*;
        assert_eq!(Versioning.apply(&json!(true), None), json!("Enabled"));
        assert_eq!(Versioning.apply(&json!("Off"), None), json!("Disabled"));
        assert_eq!(Versioning.apply(&json!("Suspended"), None), json!("Disabled"));
        assert_eq!(EnabledState.apply(&json!("ENABLED"), None), json!(true));
        assert_eq!(EnabledState.apply(&json!(false), None), json!(false));
        assert_eq!(
            KmsKey.apply(&json!("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab"), None),
            json!("1234abcd-12ab")
        );
        assert_eq!(KmsKey.apply(&json!("alias/aws/s3"), None), json!("alias/aws/s3"));
        assert_eq!(
            NameFromArn.apply(&json!("arn:aws:iam::123456789012:instance-profile/app/web"), None),
            json!("web")
        );
        assert_eq!(LbScheme.apply(&json!(false), None), json!("internet-facing"));
        assert_eq!(
            Tags.apply(
                &json!([{"key": "Env", "value": "prod"}, {"key": "aws:cloudformation:stack-name", "value": "x"}]),
                None
            ),
            json!({"Env": "prod"})
        );
        assert_eq!(
            IdSet.apply(
                &json!([{"groupName": "web", "groupId": "sg-2"}, {"groupId": "sg-1"}]),
                None
            ),
            json!(["sg-1", "sg-2"])
        );
        assert_eq!(Policy.apply(&json!(""), None), Value::Null);
    }
}
