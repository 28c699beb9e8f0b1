//! The resource catalog: which resource a mutating CloudTrail call touches.
//!
//! The catalog is a table ([`ENTRIES`]) keyed on `(eventSource, eventName)`. Each entry names the
//! resource type (CloudFormation / AWS Config style), the Terraform types that declare such a
//! resource, what the call does to it, and where the resource id lives in the record. One
//! interpreter ([`Catalog::resolve`]) reads the table; nothing here is special-cased per API.

mod table;

pub use table::ENTRIES;

/// What a call does to the resource it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Creates the resource.
    Create,
    /// Changes the resource's configuration (including its policies and rules).
    Update,
    /// Deletes the resource.
    Delete,
    /// Changes only the resource's tags.
    Tag,
    /// Reaches into the resource (runs a command, opens a shell session, pushes an SSH key)
    /// without changing anything its declaration holds.
    Access,
}

/// Where a resource id is found in a CloudTrail record.
///
/// Paths are dot-separated keys; a numeric segment indexes an array (`instancesSet.items.0.instanceId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPath {
    /// A path inside `requestParameters`.
    Request(&'static str),
    /// A path inside `responseElements`.
    Response(&'static str),
    /// The ARN of the first `resources[]` element whose `type` equals this value.
    Resources(&'static str),
}

/// One row of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// CloudTrail `eventSource`, e.g. `ec2.amazonaws.com`.
    pub source: &'static str,
    /// CloudTrail `eventName`, exactly as recorded (including suffixes such as `20150331v2`).
    pub name: &'static str,
    /// Resource type, CloudFormation / AWS Config style, e.g. `AWS::EC2::SecurityGroup`.
    pub resource_type: &'static str,
    /// Terraform resource types that declare this resource (first is the primary one).
    pub terraform: &'static [&'static str],
    /// What the call does to the resource.
    pub op: Op,
    /// Where the resource id lives, tried in order; the first path that yields a string wins.
    pub id: &'static [IdPath],
}

use crate::input::record::ApiCall;
use crate::util::fnv::FnvBuild;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// The resource type of EC2 tag calls, resolved from the id's prefix (see [`EC2_ID_PREFIXES`]).
pub const EC2_TAGGED: &str = "AWS::EC2::Resource";

/// EC2 id prefixes → (resource type, Terraform types): how `CreateTags` on `i-...` becomes an instance.
pub static EC2_ID_PREFIXES: &[(&str, &str, &[&str])] = &[
    ("i-", "AWS::EC2::Instance", &["aws_instance"]),
    ("sg-", "AWS::EC2::SecurityGroup", &["aws_security_group"]),
    ("vpc-", "AWS::EC2::VPC", &["aws_vpc"]),
    ("subnet-", "AWS::EC2::Subnet", &["aws_subnet"]),
    ("rtb-", "AWS::EC2::RouteTable", &["aws_route_table"]),
    ("acl-", "AWS::EC2::NetworkAcl", &["aws_network_acl"]),
    ("igw-", "AWS::EC2::InternetGateway", &["aws_internet_gateway"]),
    ("nat-", "AWS::EC2::NatGateway", &["aws_nat_gateway"]),
    ("vol-", "AWS::EC2::Volume", &["aws_ebs_volume"]),
    ("eipalloc-", "AWS::EC2::EIP", &["aws_eip"]),
    ("ami-", "AWS::EC2::Image", &["aws_ami"]),
    ("snap-", "AWS::EC2::Snapshot", &["aws_ebs_snapshot"]),
    ("eni-", "AWS::EC2::NetworkInterface", &["aws_network_interface"]),
    ("lt-", "AWS::EC2::LaunchTemplate", &["aws_launch_template"]),
    ("tgw-", "AWS::EC2::TransitGateway", &["aws_ec2_transit_gateway"]),
    ("vpce-", "AWS::EC2::VPCEndpoint", &["aws_vpc_endpoint"]),
    (
        "pcx-",
        "AWS::EC2::VPCPeeringConnection",
        &["aws_vpc_peering_connection"],
    ),
    ("dopt-", "AWS::EC2::DHCPOptions", &["aws_vpc_dhcp_options"]),
];

/// The resource a call touches, as the catalog reads it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The catalog row that matched.
    pub entry: &'static Entry,
    /// Resource type (resolved from the id for EC2 tag calls).
    pub resource_type: &'static str,
    /// Terraform types that can declare it.
    pub terraform: &'static [&'static str],
    /// The id (or ARN, or name) found in the record.
    pub id: Cow<'a, str>,
}

/// Why the catalog could not name a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No row for this `(eventSource, eventName)`.
    UnknownCall,
    /// The row exists but none of its id paths yielded a value.
    NoId,
}

/// The catalog, indexed for lookups by `(eventSource, eventName)`.
#[derive(Debug)]
pub struct Catalog {
    index: HashMap<(&'static str, &'static str), &'static Entry, FnvBuild>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// Indexes [`ENTRIES`].
    pub fn new() -> Self {
        Catalog {
            index: ENTRIES.iter().map(|e| ((e.source, e.name), e)).collect(),
        }
    }

    /// The row for a call, if the catalog knows it.
    pub fn entry(&self, source: &str, name: &str) -> Option<&'static Entry> {
        self.index.get(&(source, name)).copied()
    }

    /// Every Terraform type some row names.
    pub fn terraform_types(&self) -> std::collections::BTreeSet<&'static str> {
        let mut types: std::collections::BTreeSet<_> =
            ENTRIES.iter().flat_map(|e| e.terraform.iter().copied()).collect();
        types.extend(EC2_ID_PREFIXES.iter().flat_map(|(_, _, tf)| tf.iter().copied()));
        types
    }

    /// Terraform types that declare resources of a CloudFormation / Config type, primary first.
    pub fn terraform_for(&self, resource_type: &str) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        let rows = ENTRIES
            .iter()
            .filter(|e| e.resource_type == resource_type)
            .map(|e| e.terraform);
        let prefixed = EC2_ID_PREFIXES
            .iter()
            .filter(|(_, t, _)| *t == resource_type)
            .map(|(_, _, tf)| *tf);
        for t in prefixed.chain(rows).flatten() {
            if !out.contains(t) {
                out.push(t);
            }
        }
        out
    }

    /// The resource `call` touches (the first, for a call naming several).
    pub fn resolve<'a>(&self, call: &ApiCall<'a>) -> Result<Target<'a>, Miss> {
        let entry = self.entry(&call.source, &call.name).ok_or(Miss::UnknownCall)?;
        let id = entry
            .id
            .iter()
            .find_map(|path| extract(call, *path))
            .ok_or(Miss::NoId)?;
        Ok(Self::target(entry, id))
    }

    /// Every resource `call` touches: a call that names a list (`CreateTags` on several
    /// resources, `TerminateInstances` on several instances, `SendCommand` on several
    /// instances) gives one target per element, in order, each once.
    pub fn resolve_all<'a>(&self, call: &ApiCall<'a>) -> Result<Vec<Target<'a>>, Miss> {
        let entry = self.entry(&call.source, &call.name).ok_or(Miss::UnknownCall)?;
        let (path, first) = entry
            .id
            .iter()
            .find_map(|path| Some((*path, extract(call, *path)?)))
            .ok_or(Miss::NoId)?;
        let mut ids = vec![first];
        // A path through element 0 of a list reads every element of it, in one scan.
        if let Some((raw, segments, at)) = list_path(call, path) {
            let every: Vec<&str> = segments
                .iter()
                .enumerate()
                .map(|(n, s)| if n == at { "*" } else { *s })
                .collect();
            for id in crate::input::json_path::lookup_all_str(raw, &every.join(".")) {
                if ids.len() >= MAX_TARGETS {
                    break;
                }
                if !id.is_empty() && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids.into_iter().map(|id| Self::target(entry, id)).collect())
    }

    fn target<'a>(entry: &'static Entry, id: Cow<'a, str>) -> Target<'a> {
        if entry.resource_type == EC2_TAGGED {
            let (resource_type, terraform) = EC2_ID_PREFIXES
                .iter()
                .find(|(prefix, _, _)| id.starts_with(prefix))
                .map_or((EC2_TAGGED, &[][..]), |(_, t, tf)| (*t, *tf));
            return Target {
                entry,
                resource_type,
                terraform,
                id,
            };
        }
        Target {
            entry,
            resource_type: entry.resource_type,
            terraform: entry.terraform,
            id,
        }
    }
}

/// The most resources one call is read for (a larger list is cut there).
pub const MAX_TARGETS: usize = 1000;

/// For a request or response path through element `0` of a list (`instancesSet.items.0.instanceId`):
/// the raw JSON it reads, its segments and the position of that `0`.
fn list_path<'a>(call: &ApiCall<'a>, path: IdPath) -> Option<(&'a RawValue, Vec<&'static str>, usize)> {
    let (raw, p) = match path {
        IdPath::Request(p) => (call.request?, p),
        IdPath::Response(p) => (call.response?, p),
        IdPath::Resources(_) => return None,
    };
    // Most id paths name no list: decide that without allocating.
    if !p.split('.').any(|s| s == "0") {
        return None;
    }
    let segments: Vec<&'static str> = p.split('.').collect();
    let at = segments.iter().position(|s| *s == "0")?;
    // The common case names one resource: when the id's key (`"instanceId"`) appears only once in
    // the text, there is no second element to parse for (a text search, not a JSON walk).
    if let Some(key) = segments.last().filter(|k| !k.bytes().all(|b| b.is_ascii_digit())) {
        let quoted = format!("\"{key}\"");
        raw.get().matches(quoted.as_str()).nth(1)?;
    }
    Some((raw, segments, at))
}

fn extract<'a>(call: &ApiCall<'a>, path: IdPath) -> Option<Cow<'a, str>> {
    let found = match path {
        IdPath::Request(p) => crate::input::json_path::lookup_str(call.request?, p),
        IdPath::Response(p) => crate::input::json_path::lookup_str(call.response?, p),
        IdPath::Resources(wanted) => {
            #[derive(Deserialize)]
            struct Res<'r> {
                #[serde(
                    borrow,
                    rename = "ARN",
                    default,
                    deserialize_with = "crate::input::record::borrowed_str"
                )]
                arn: Option<Cow<'r, str>>,
                #[serde(
                    borrow,
                    rename = "type",
                    default,
                    deserialize_with = "crate::input::record::borrowed_str"
                )]
                kind: Option<Cow<'r, str>>,
            }
            let list: Vec<Res<'a>> = serde_json::from_str(call.resources?.get()).ok()?;
            list.into_iter()
                .find(|r| r.kind.as_deref() == Some(wanted))
                .and_then(|r| r.arn)
        }
    };
    found.filter(|s| !s.is_empty())
}
