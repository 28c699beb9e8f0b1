//! Codifying accepted drift: the Terraform (HCL) a user adds to the declaration so that the next
//! apply keeps a change made by hand instead of undoing it.
//!
//! Where a compared attribute lives in HCL comes from the tables that compared it: the diff rule
//! of the finding's call ([`DIFF_RULES`]: a plain field's Terraform type and dot path, a resource
//! or inline policy, security-group rules, EC2 tags) or, for a finding AWS Config raised, the
//! resource type's attribute map ([`config_map::MAPS`]). Security-group rules added by hand
//! become blocks in the style the group is declared in (inline `ingress` / `egress`,
//! `aws_security_group_rule` or `aws_vpc_security_group_*_rule`: the provider forbids mixing
//! them); a value becomes `attr = value` (nested blocks for `a.0.b` paths); tags the declared map
//! with the change merged in; a policy `jsonencode({...})` of the document found; a public access
//! block all four settings found. A value whose declaration does not exist yet (a bucket policy
//! on a bucket that declares none) becomes a new resource referring to its parent. Anything else
//! is not codified.
//!
//! The HCL is a fragment to merge into the configuration: each part opens with
//! `# DriftGuard: accept <finding id> — <attributes> on <address>`, then the resource block,
//! formatted as `terraform fmt` does (two-space indent, aligned `=`), strings escaped (`"`, `\`,
//! control characters, and `${` / `%{` so that IAM policy variables stay literal).

use crate::drift::config_map::{self, ConfigNorm};
use crate::drift::diff::{AttributeChange, Compare, Norm, DIFF_RULES};
use crate::findings::finding::{Finding, FindingKind};
use crate::remediation::plan::{Direction, Peer, SgRule};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The HCL that codifies a drift finding's changes in its declaration, or `None` when none of
/// its drifted attributes maps to HCL (or the finding is not drift on a declared resource).
pub fn hcl(finding: &Finding) -> Option<String> {
    if finding.kind != FindingKind::Drift {
        return None;
    }
    let owner = Address::parse(&finding.owner.as_ref()?.address)?;
    let mut parts = Parts::default();
    // The four public-access-block settings are one declaration: all of them, once one drifted.
    let whole_pab = finding
        .changes
        .iter()
        .any(|c| c.drifted && shape(finding, c).is_some_and(|s| s.tf_type() == Some(PAB)));
    for change in &finding.changes {
        let Some(shape) = shape(finding, change) else {
            continue;
        };
        if change.drifted || (whole_pab && shape.tf_type() == Some(PAB)) {
            codify(finding, &owner, change, shape, &mut parts);
        }
    }
    parts.render(&finding.id)
}

const PAB: &str = "aws_s3_bucket_public_access_block";

// ---- what an attribute is in HCL ----

/// How a compared value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string.
    Text,
    /// A boolean.
    Bool,
    /// A number.
    Int,
    /// A list, as found.
    List,
}

/// Where an attribute lives in HCL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape<'a> {
    /// A value at a dot path of a declaration of `tf_type`.
    Value {
        tf_type: &'static str,
        path: &'static str,
        kind: Kind,
    },
    /// A policy document at `path`, declared on `tf_type` (the type a new declaration gets).
    Policy { tf_type: &'static str, path: &'static str },
    /// `inline_policy.<name>` of a role, user or group, declared standalone.
    InlinePolicy { standalone: &'static str, name: &'a str },
    /// Security-group rule texts.
    SgRules(Direction),
    /// One tag (`tags.<key>`).
    Tag(&'a str),
    /// The whole tag map.
    Tags,
}

impl Shape<'_> {
    fn tf_type(&self) -> Option<&'static str> {
        match self {
            Shape::Value { tf_type, .. } | Shape::Policy { tf_type, .. } => Some(tf_type),
            _ => None,
        }
    }
}

fn direction(name: &str) -> Option<Direction> {
    match name {
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        _ => None,
    }
}

/// The shape of a change, from the diff rule of the finding's call, or (a finding AWS Config
/// raised) from the resource type's attribute map.
fn shape<'c>(finding: &Finding, change: &'c AttributeChange) -> Option<Shape<'c>> {
    let attribute = change.attribute.as_str();
    let rule = DIFF_RULES
        .iter()
        .find(|(source, name, _)| *source == finding.call.source && *name == finding.call.name);
    if let Some((_, _, compare)) = rule {
        let value = |tf_type: &'static str, path: &'static str, kind: Kind| Some(Shape::Value { tf_type, path, kind });
        return match *compare {
            Compare::Fields(maps) => {
                let m = maps.iter().find(|m| m.attribute == attribute)?;
                match m.norm {
                    Norm::Text => value(m.tf_type, m.attribute, Kind::Text),
                    Norm::Bool => value(m.tf_type, m.attribute, Kind::Bool),
                    Norm::Int => value(m.tf_type, m.attribute, Kind::Int),
                    Norm::Policy => Some(Shape::Policy {
                        tf_type: m.tf_type,
                        path: m.attribute,
                    }),
                }
            }
            Compare::Flag {
                tf_type, attribute: a, ..
            } if a == attribute => value(tf_type, a, Kind::Bool),
            Compare::Text {
                tf_type, attribute: a, ..
            } if a == attribute => value(tf_type, a, Kind::Text),
            Compare::SgRules { direction: d, .. } if d == attribute => direction(d).map(Shape::SgRules),
            Compare::Ec2Tags { .. } => attribute.strip_prefix("tags.").map(Shape::Tag),
            Compare::ResourcePolicy { declared, .. } if attribute == "policy" => {
                // The declaration that holds it, else the standalone type a new one would be.
                let held = declared_type(change);
                declared
                    .iter()
                    .find(|(t, _)| Some(*t) == held)
                    .or_else(|| declared.first())
                    .map(|&(tf_type, path)| Shape::Policy { tf_type, path })
            }
            Compare::InlinePolicy { standalone, .. } => attribute
                .strip_prefix("inline_policy.")
                .map(|name| Shape::InlinePolicy { standalone, name }),
            _ => None,
        };
    }
    let map = config_map::map_for(&finding.resource.resource_type)?;
    let rows = || map.attributes.iter().filter(|r| r.attribute == attribute);
    let held = declared_type(change);
    let row = rows().find(|r| Some(r.tf_type) == held).or_else(|| rows().next())?;
    let value = |kind: Kind| {
        (!row.tf_path.is_empty()).then_some(Shape::Value {
            tf_type: row.tf_type,
            path: row.tf_path,
            kind,
        })
    };
    match row.norm {
        ConfigNorm::Text => value(Kind::Text),
        ConfigNorm::Bool => value(Kind::Bool),
        ConfigNorm::Int => value(Kind::Int),
        ConfigNorm::IdSet => value(Kind::List),
        ConfigNorm::Policy if !row.tf_path.is_empty() => Some(Shape::Policy {
            tf_type: row.tf_type,
            path: row.tf_path,
        }),
        ConfigNorm::SgRules { direction: d } => direction(d).map(Shape::SgRules),
        ConfigNorm::Tags => Some(Shape::Tags),
        _ => None,
    }
}

fn declared_type(change: &AttributeChange) -> Option<&str> {
    change
        .declared_in
        .as_deref()
        .and_then(Address::parse)
        .map(|a| a.tf_type)
}

// ---- addresses ----

/// A resource address split into its parts: `module.network.aws_security_group.web`,
/// `aws_sqs_queue.jobs["orders"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Address<'a> {
    /// `module.network.` (empty at the root).
    module: &'a str,
    tf_type: &'a str,
    name: &'a str,
    /// `["orders"]` or `[0]` for one instance of a `for_each` / `count` declaration.
    index: &'a str,
}

impl<'a> Address<'a> {
    fn parse(address: &'a str) -> Option<Address<'a>> {
        // Split on the dots outside brackets and quotes.
        let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
        let mut dots = Vec::new();
        for (i, c) in address.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth = depth.checked_sub(1)?,
                '.' if !quoted && depth == 0 => dots.push(i),
                _ => {}
            }
        }
        let (&last, rest) = dots.split_last()?;
        let start = rest.last().map_or(0, |d| d + 1);
        let (tf_type, last_part) = (&address[start..last], &address[last + 1..]);
        let (name, index) = last_part.split_at(last_part.find('[').unwrap_or(last_part.len()));
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        (ok(tf_type) && ok(name)).then_some(Address {
            module: &address[..start],
            tf_type,
            name,
            index,
        })
    }

    /// A reference to one of its attributes, as written in the module that declares it.
    fn reference(&self, attribute: &str) -> String {
        format!("{}.{}{}.{attribute}", self.tf_type, self.name, self.index)
    }
}

/// The argument a child resource names its parent by, and the parent's attribute it takes, for
/// the children a codified value may need to be declared in.
static PARENT_ARGUMENT: &[(&str, &str, &str)] = &[
    ("aws_s3_bucket_public_access_block", "bucket", "id"),
    ("aws_s3_bucket_policy", "bucket", "id"),
    ("aws_s3_bucket_versioning", "bucket", "id"),
    ("aws_s3_bucket_server_side_encryption_configuration", "bucket", "id"),
    ("aws_s3_bucket_logging", "bucket", "id"),
    ("aws_iam_role_policy", "role", "id"),
    ("aws_iam_user_policy", "user", "name"),
    ("aws_iam_group_policy", "group", "name"),
    ("aws_kms_key_policy", "key_id", "id"),
    ("aws_sns_topic_policy", "arn", "arn"),
    ("aws_sqs_queue_policy", "queue_url", "id"),
    ("aws_secretsmanager_secret_policy", "secret_arn", "arn"),
    ("aws_ecr_repository_policy", "repository", "name"),
    ("aws_lambda_function_url", "function_name", "function_name"),
    ("aws_ec2_instance_state", "instance_id", "id"),
];

/// A Terraform name made of `parts` (letters, digits, `_` and `-`; starts with a letter).
fn label(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for c in part.chars() {
            let c = if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' };
            if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
                out.push(c);
            }
        }
        if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    match out.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => out.to_owned(),
        _ => format!("r_{out}"),
    }
}

// ---- codifying one change ----

/// The declaration a value goes into: the one the change names, the resource's own when the
/// value is of its type, else a new child of it.
fn target(owner: &Address<'_>, change: &AttributeChange, tf_type: &str, any_declared: bool) -> Option<Part> {
    if let Some(declared) = change.declared_in.as_deref() {
        let at = Address::parse(declared)?;
        if any_declared || at.tf_type == tf_type {
            return Some(Part::existing(declared, &at));
        }
    }
    if owner.tf_type == tf_type {
        return Some(Part::existing(
            &format!("{}{}.{}{}", owner.module, owner.tf_type, owner.name, owner.index),
            owner,
        ));
    }
    let (_, argument, attribute) = PARENT_ARGUMENT.iter().find(|(child, ..)| *child == tf_type)?;
    let mut part = Part::new(owner, tf_type, &label(&[owner.name]));
    part.body
        .push(Item::Attr((*argument).into(), Expr::Ref(owner.reference(attribute))));
    Some(part)
}

fn codify(finding: &Finding, owner: &Address<'_>, change: &AttributeChange, shape: Shape<'_>, parts: &mut Parts) {
    let attribute = change.attribute.as_str();
    match shape {
        Shape::Value { tf_type, path, kind } => {
            let Some(mut part) = target(owner, change, tf_type, false) else {
                return;
            };
            let Some(path) = block_path(path) else {
                return;
            };
            part.set(&path, Expr::Lit(typed(&change.found, kind)));
            parts.add(part, attribute);
        }
        Shape::Policy { tf_type, path } => {
            let (Some(doc), Some(path)) = (document(&change.found), block_path(path)) else {
                return;
            };
            let Some(mut part) = target(owner, change, tf_type, true) else {
                return;
            };
            part.set(&path, Expr::Json(doc));
            parts.add(part, attribute);
        }
        Shape::InlinePolicy { standalone, name } => {
            let Some(doc) = document(&change.found) else {
                return;
            };
            let declared = change.declared_in.as_deref().and_then(Address::parse);
            let mut part = match declared {
                Some(at) if at.tf_type == standalone => {
                    Part::existing(change.declared_in.as_deref().unwrap_or(""), &at)
                }
                _ => {
                    let Some((_, argument, attr)) = PARENT_ARGUMENT.iter().find(|(c, ..)| *c == standalone) else {
                        return;
                    };
                    let mut part = Part::new(owner, standalone, &label(&[owner.name, name]));
                    part.body.push(Item::Attr("name".into(), Expr::Lit(Value::from(name))));
                    part.body
                        .push(Item::Attr((*argument).into(), Expr::Ref(owner.reference(attr))));
                    part
                }
            };
            part.set(&["policy"], Expr::Json(doc));
            parts.add(part, attribute);
        }
        Shape::Tag(key) => {
            let Some(mut part) = target(owner, change, owner.tf_type, true) else {
                return;
            };
            let mut tags = parts.tags_of(&part.address).unwrap_or_else(|| {
                finding
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect()
            });
            match &change.found {
                Value::Null => tags.remove(key),
                found => tags.insert(key.to_owned(), typed(found, Kind::Text)),
            };
            part.set(&["tags"], Expr::Lit(Value::Object(tags)));
            parts.add(part, attribute);
        }
        Shape::Tags => {
            let Value::Object(found) = &change.found else {
                return;
            };
            let Some(mut part) = target(owner, change, owner.tf_type, true) else {
                return;
            };
            let tags = found.iter().map(|(k, v)| (k.clone(), typed(v, Kind::Text))).collect();
            part.set(&["tags"], Expr::Lit(Value::Object(tags)));
            parts.add(part, attribute);
        }
        Shape::SgRules(direction) => sg_rules(finding, owner, change, direction, parts),
    }
}

/// A dot path as nested block names and the attribute (`versioning_configuration.0.status`);
/// `None` past the first element of a block list.
fn block_path(path: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut segments = path.split('.');
    while let Some(segment) = segments.next() {
        out.push(segment);
        if segment.parse::<u32>().is_ok() {
            return None;
        }
        let mut peek = segments.clone();
        if let Some(index) = peek.next().and_then(|s| s.parse::<u32>().ok()) {
            if index != 0 {
                return None;
            }
            segments = peek;
        }
    }
    Some(out)
}

/// A found value as the attribute's type.
fn typed(found: &Value, kind: Kind) -> Value {
    match (kind, found) {
        (_, Value::Null) => Value::Null,
        (Kind::Text, Value::Number(_) | Value::Bool(_)) => Value::from(found.to_string()),
        (Kind::Bool, Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        (Kind::Bool, Value::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        (Kind::Int, Value::String(s)) => s.trim().parse::<i64>().map_or_else(|_| found.clone(), Value::from),
        _ => found.clone(),
    }
}

/// A policy document found, as an object (`None` for a policy deleted or not JSON). A statement
/// the comparison collapsed from a one-element list is written as a list again.
fn document(found: &Value) -> Option<Value> {
    let mut doc = match found {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    let map = doc.as_object_mut()?;
    if let Some(statement @ Value::Object(_)) = map.get_mut("Statement") {
        *statement = Value::Array(vec![statement.take()]);
    }
    Some(doc)
}

/// Rules added by hand become blocks in the style the group's rules are declared in; rules
/// removed are listed for the user to take out.
fn sg_rules(finding: &Finding, owner: &Address<'_>, change: &AttributeChange, direction: Direction, parts: &mut Parts) {
    let texts = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    let (expected, found) = (texts(&change.expected), texts(&change.found));
    let d = direction.as_str();
    let declared_types: Vec<&str> = change
        .declared_in
        .iter()
        .chain(finding.owner.iter().flat_map(|o| &o.related))
        .filter_map(|a| Address::parse(a))
        .map(|a| a.tf_type)
        .collect();
    let style = if declared_types.iter().any(|t| t.starts_with("aws_vpc_security_group_")) {
        Style::Vpc
    } else if declared_types.contains(&"aws_security_group_rule") {
        Style::Rule
    } else {
        Style::Inline
    };
    let group = if owner.tf_type == "aws_security_group" {
        Expr::Ref(owner.reference("id"))
    } else {
        Expr::Lit(Value::from(finding.resource.id.as_str()))
    };
    let own = |peer: &str| peer == finding.resource.id;
    let owner_address = format!("{}{}.{}{}", owner.module, owner.tf_type, owner.name, owner.index);
    let mut inline = match style {
        Style::Inline => Some(
            target(owner, change, "aws_security_group", false).unwrap_or_else(|| Part::existing(&owner_address, owner)),
        ),
        _ => None,
    };
    for text in found.difference(&expected) {
        let Some(rule) = SgRule::parse(text) else {
            continue;
        };
        let ports = [rule.from_port.unwrap_or(0), rule.to_port.unwrap_or(0)].map(|p| Expr::Lit(Value::from(p)));
        let [from, to] = ports;
        let protocol = Expr::Lit(Value::from(rule.protocol.as_str()));
        let list = |p: &str| Expr::Lit(Value::Array(vec![Value::from(p)]));
        match (&mut inline, style) {
            (Some(part), _) => {
                let mut block = vec![
                    Item::Attr("from_port".into(), from),
                    Item::Attr("to_port".into(), to),
                    Item::Attr("protocol".into(), protocol),
                ];
                block.push(match &rule.peer {
                    Peer::Ipv4(p) => Item::Attr("cidr_blocks".into(), list(p)),
                    Peer::Ipv6(p) => Item::Attr("ipv6_cidr_blocks".into(), list(p)),
                    Peer::Group(g) if own(g) => Item::Attr("self".into(), Expr::Lit(Value::Bool(true))),
                    Peer::Group(g) => Item::Attr("security_groups".into(), list(g)),
                    Peer::PrefixList(p) => Item::Attr("prefix_list_ids".into(), list(p)),
                });
                part.body.push(Item::Block(d.into(), block));
            }
            (None, Style::Rule) => {
                let mut part = Part::new(owner, "aws_security_group_rule", &label(&[owner.name, d, text]));
                part.body.extend([
                    Item::Attr("type".into(), Expr::Lit(Value::from(d))),
                    Item::Attr("security_group_id".into(), group.clone()),
                    Item::Attr("protocol".into(), protocol),
                    Item::Attr("from_port".into(), from),
                    Item::Attr("to_port".into(), to),
                ]);
                part.body.push(match &rule.peer {
                    Peer::Ipv4(p) => Item::Attr("cidr_blocks".into(), list(p)),
                    Peer::Ipv6(p) => Item::Attr("ipv6_cidr_blocks".into(), list(p)),
                    Peer::Group(g) if own(g) => Item::Attr("self".into(), Expr::Lit(Value::Bool(true))),
                    Peer::Group(g) => Item::Attr("source_security_group_id".into(), Expr::Lit(Value::from(g.as_str()))),
                    Peer::PrefixList(p) => Item::Attr("prefix_list_ids".into(), list(p)),
                });
                parts.add(part, d);
            }
            (None, _) => {
                let tf_type = format!("aws_vpc_security_group_{d}_rule");
                let mut part = Part::new(owner, &tf_type, &label(&[owner.name, d, text]));
                part.body.extend([
                    Item::Attr("security_group_id".into(), group.clone()),
                    Item::Attr("ip_protocol".into(), protocol),
                ]);
                // All traffic takes no ports.
                if rule.from_port.is_some() {
                    part.body
                        .extend([Item::Attr("from_port".into(), from), Item::Attr("to_port".into(), to)]);
                }
                let text = |p: &str| Expr::Lit(Value::from(p));
                part.body.push(match &rule.peer {
                    Peer::Ipv4(p) => Item::Attr("cidr_ipv4".into(), text(p)),
                    Peer::Ipv6(p) => Item::Attr("cidr_ipv6".into(), text(p)),
                    Peer::Group(g) if own(g) => Item::Attr("referenced_security_group_id".into(), group.clone()),
                    Peer::Group(g) => Item::Attr("referenced_security_group_id".into(), text(g)),
                    Peer::PrefixList(p) => Item::Attr("prefix_list_id".into(), text(p)),
                });
                parts.add(part, d);
            }
        }
    }
    let removed: Vec<String> = expected
        .difference(&found)
        .map(|text| format!("remove the declared {d} rule {text}, taken away by hand"))
        .collect();
    match inline {
        Some(mut part) => {
            part.notes.extend(removed);
            parts.add(part, d);
        }
        None if !removed.is_empty() => {
            let mut part = Part::existing(&owner_address, owner);
            part.notes.extend(removed);
            parts.add(part, d);
        }
        None => {}
    }
}

/// How a security group's rules are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `ingress` / `egress` blocks of `aws_security_group`.
    Inline,
    /// `aws_security_group_rule` resources.
    Rule,
    /// `aws_vpc_security_group_ingress_rule` / `_egress_rule` resources.
    Vpc,
}

// ---- the HCL written ----

/// An expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A literal: strings escaped, objects as object constructors.
    Lit(Value),
    /// A reference to another resource's attribute (`aws_security_group.web.id`).
    Ref(String),
    /// `jsonencode({...})` of a policy document, its keys in the order policies are read.
    Json(Value),
}

/// One line or block of a body.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// `name = expr`.
    Attr(String, Expr),
    /// `name { ... }`.
    Block(String, Vec<Item>),
}

/// One resource block of the answer, with its header.
#[derive(Debug, Clone)]
struct Part {
    /// Where it is codified (the header's address).
    address: String,
    tf_type: String,
    name: String,
    /// The attributes it codifies, for the header.
    attributes: Vec<String>,
    /// Comment lines under the header.
    notes: Vec<String>,
    /// The resource block's body (none written when empty: notes only).
    body: Vec<Item>,
}

impl Part {
    /// The declaration at `address`.
    fn existing(address: &str, at: &Address<'_>) -> Part {
        let mut notes = Vec::new();
        if !at.index.is_empty() {
            notes.push(format!(
                "{address} is one instance of {}{}.{}: set the value for that instance only",
                at.module, at.tf_type, at.name
            ));
        }
        Part {
            address: address.to_owned(),
            tf_type: at.tf_type.to_owned(),
            name: at.name.to_owned(),
            attributes: Vec::new(),
            notes,
            body: Vec::new(),
        }
    }

    /// A new declaration of `tf_type` named `name` next to the resource's own.
    fn new(owner: &Address<'_>, tf_type: &str, name: &str) -> Part {
        Part {
            address: format!("{}{tf_type}.{name}", owner.module),
            tf_type: tf_type.to_owned(),
            name: name.to_owned(),
            attributes: Vec::new(),
            notes: vec![format!(
                "a new resource, next to {}{}.{}{}",
                owner.module, owner.tf_type, owner.name, owner.index
            )],
            body: Vec::new(),
        }
    }

    /// Sets the attribute at the end of `path`, inside the nested blocks before it.
    fn set(&mut self, path: &[&str], value: Expr) {
        let Some((attribute, blocks)) = path.split_last() else {
            return;
        };
        let mut body = &mut self.body;
        for name in blocks {
            let at = body
                .iter()
                .position(|i| matches!(i, Item::Block(n, _) if n == name))
                .unwrap_or_else(|| {
                    body.push(Item::Block((*name).to_owned(), Vec::new()));
                    body.len() - 1
                });
            let Item::Block(_, inner) = &mut body[at] else {
                return;
            };
            body = inner;
        }
        match body
            .iter_mut()
            .find(|i| matches!(i, Item::Attr(n, _) if n == attribute))
        {
            Some(Item::Attr(_, old)) => *old = value,
            _ => body.push(Item::Attr((*attribute).to_owned(), value)),
        }
    }
}

/// The parts of an answer, one per address, in the order the changes came.
#[derive(Debug, Default)]
struct Parts(Vec<Part>);

impl Parts {
    /// Adds `part` codifying `attribute`, merged into the part of the same address.
    fn add(&mut self, mut part: Part, attribute: &str) {
        let at = match self.0.iter().position(|p| p.address == part.address) {
            Some(at) => {
                let into = &mut self.0[at];
                for note in part.notes.drain(..) {
                    if !into.notes.contains(&note) {
                        into.notes.push(note);
                    }
                }
                for item in part.body.drain(..) {
                    merge(&mut into.body, item);
                }
                at
            }
            None => {
                self.0.push(part);
                self.0.len() - 1
            }
        };
        let attributes = &mut self.0[at].attributes;
        if !attributes.iter().any(|a| a == attribute) {
            attributes.push(attribute.to_owned());
        }
    }

    /// The tags already codified on `address`.
    fn tags_of(&self, address: &str) -> Option<Map<String, Value>> {
        let part = self.0.iter().find(|p| p.address == address)?;
        part.body.iter().find_map(|i| match i {
            Item::Attr(n, Expr::Lit(Value::Object(tags))) if n == "tags" => Some(tags.clone()),
            _ => None,
        })
    }

    fn render(&self, finding_id: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "# DriftGuard: accept {finding_id} — {} on {}",
                part.attributes.join(", "),
                part.address
            );
            for note in &part.notes {
                let _ = writeln!(out, "# {note}");
            }
            if !part.body.is_empty() {
                let _ = write!(out, "resource {} {} ", quote(&part.tf_type), quote(&part.name));
                block(&mut out, &part.body, 0);
                out.push('\n');
            }
        }
        Some(out)
    }
}

/// Merges an item into a body: a nested block of the same name once (its items merged), an
/// attribute replaced; repeatable blocks (`ingress`, `egress`) appended.
fn merge(body: &mut Vec<Item>, item: Item) {
    match item {
        Item::Block(name, items) if name != "ingress" && name != "egress" => {
            match body.iter_mut().find(|i| matches!(i, Item::Block(n, _) if *n == name)) {
                Some(Item::Block(_, inner)) => items.into_iter().for_each(|i| merge(inner, i)),
                _ => body.push(Item::Block(name, items)),
            }
        }
        Item::Attr(name, value) => match body.iter_mut().find(|i| matches!(i, Item::Attr(n, _) if *n == name)) {
            Some(Item::Attr(_, old)) => *old = value,
            _ => body.push(Item::Attr(name, value)),
        },
        block @ Item::Block(..) => body.push(block),
    }
}

const INDENT: &str = "  ";

/// `{`, the body one level in, `}` at `level`.
fn block(out: &mut String, items: &[Item], level: usize) {
    if items.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    let inner = INDENT.repeat(level + 1);
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut after_block = false;
    for item in items {
        match item {
            Item::Attr(name, value) => {
                if after_block {
                    out.push('\n');
                    after_block = false;
                }
                attributes.push((name.clone(), expression(value, level + 1)));
            }
            Item::Block(name, body) => {
                let had = !attributes.is_empty();
                aligned(out, &std::mem::take(&mut attributes), level + 1);
                if had || after_block {
                    out.push('\n');
                }
                let _ = write!(out, "{inner}{name} ");
                block(out, body, level + 1);
                out.push('\n');
                after_block = true;
            }
        }
    }
    aligned(out, &attributes, level + 1);
    out.push_str(&INDENT.repeat(level));
    out.push('}');
}

/// `key = value` lines; the `=` of consecutive one-line entries aligned, as `terraform fmt` does
/// (an entry spanning lines stands alone).
fn aligned(out: &mut String, entries: &[(String, String)], level: usize) {
    let indent = INDENT.repeat(level);
    let mut rest = entries;
    while let Some((first, _)) = rest.split_first() {
        if first.1.contains('\n') {
            let _ = writeln!(out, "{indent}{} = {}", first.0, first.1);
            rest = &rest[1..];
            continue;
        }
        let end = rest.iter().position(|(_, v)| v.contains('\n')).unwrap_or(rest.len());
        let width = rest[..end].iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        for (key, value) in &rest[..end] {
            let _ = writeln!(out, "{indent}{key:<width$} = {value}");
        }
        rest = &rest[end..];
    }
}

fn expression(e: &Expr, level: usize) -> String {
    match e {
        Expr::Lit(v) => literal(v, level, false),
        Expr::Ref(r) => r.clone(),
        Expr::Json(v) => format!("jsonencode({})", literal(v, level, true)),
    }
}

/// The order a policy's keys are read in; other keys follow, sorted.
const POLICY_KEYS: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// A JSON value as an HCL literal whose nested lines sit one level in from `level`.
fn literal(v: &Value, level: usize, policy: bool) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let scalars = items.iter().all(|i| !i.is_array() && !i.is_object());
            let rendered: Vec<String> = items.iter().map(|i| literal(i, level + 1, policy)).collect();
            let one_line = rendered.join(", ");
            if scalars && one_line.chars().count() <= 80 {
                return format!("[{one_line}]");
            }
            let indent = INDENT.repeat(level + 1);
            let mut out = String::from("[\n");
            for item in rendered {
                let _ = writeln!(out, "{indent}{item},");
            }
            out.push_str(&INDENT.repeat(level));
            out.push(']');
            out
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if policy {
                keys.sort_by_key(|k| {
                    (
                        POLICY_KEYS
                            .iter()
                            .position(|p| *p == k.as_str())
                            .unwrap_or(POLICY_KEYS.len()),
                        *k,
                    )
                });
            } else {
                keys.sort();
            }
            let entries: Vec<(String, String)> = keys
                .into_iter()
                .map(|k| (key(k), literal(&map[k], level + 1, policy)))
                .collect();
            let mut out = String::from("{\n");
            aligned(&mut out, &entries, level + 1);
            out.push_str(&INDENT.repeat(level));
            out.push('}');
            out
        }
    }
}

/// An object key: bare when it is an identifier, quoted otherwise (`"aws:SourceArn"`).
fn key(k: &str) -> String {
    let mut chars = k.chars();
    let identifier = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if identifier {
        k.to_owned()
    } else {
        quote(k)
    }
}

/// A quoted HCL string: `"` and `\` escaped, control characters as escapes, and `${` / `%{`
/// doubled so that they are literal text, not interpolation or a template directive.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::finding::{IacOwner, Status};
    use serde_json::json;

    /// The finding of `events/driftguard/drift-detected.console-sg.json`.
    fn console_sg() -> Finding {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/driftguard/drift-detected.console-sg.json"
        );
        let text = std::fs::read_to_string(path).expect("sample event");
        let event: Value = serde_json::from_str(&text).expect("JSON");
        serde_json::from_value(event["detail"]["finding"].clone()).expect("a finding")
    }

    /// The sample finding on `address` (its call `source` / `name`) with these changes.
    fn finding(address: &str, resource_type: &str, call: (&str, &str), changes: Vec<AttributeChange>) -> Finding {
        let mut f = console_sg();
        f.owner = Some(IacOwner {
            state: "events/terraform/data.tfstate".into(),
            address: address.into(),
            related: Vec::new(),
            stack: None,
        });
        f.resource.resource_type = resource_type.into();
        (f.call.source, f.call.name) = (call.0.into(), call.1.into());
        f.changes = changes;
        f
    }

    fn changed(attribute: &str, declared_in: Option<&str>, expected: Value, found: Value) -> AttributeChange {
        AttributeChange {
            attribute: attribute.into(),
            declared_in: declared_in.map(str::to_owned),
            drifted: expected != found,
            expected,
            found,
        }
    }

    /// What `terraform fmt` checks of the shape: brackets balance outside strings, strings end
    /// on their line, no unescaped `${` / `%{` in a string, every line indented by two spaces a
    /// level of braces and brackets (`jsonencode({` opens one).
    fn well_formed(hcl: &str) {
        let (mut depth, mut parens) = (0i64, 0i64);
        for line in hcl.lines() {
            let indent = line.len() - line.trim_start().len();
            assert_eq!(indent % 2, 0, "indent of {line:?} in\n{hcl}");
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (mut quoted, mut escaped) = (false, false);
            let mut chars = line.chars().peekable();
            let mut opened = depth;
            while let Some(c) = chars.next() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    '$' | '%' if quoted => match chars.peek() {
                        Some('{') => panic!("interpolation in a string: {line:?}"),
                        Some(d) if *d == c => {
                            chars.next();
                            chars.next_if_eq(&'{');
                        }
                        _ => {}
                    },
                    '(' if !quoted => parens += 1,
                    ')' if !quoted => parens -= 1,
                    '{' | '[' if !quoted => depth += 1,
                    '}' | ']' if !quoted => {
                        depth -= 1;
                        opened = opened.min(depth);
                    }
                    _ => {}
                }
            }
            assert!(!quoted, "unterminated string: {line:?}");
            assert_eq!(indent as i64, 2 * opened, "indent of {line:?} in\n{hcl}");
            assert!(depth >= 0, "{hcl}");
        }
        assert_eq!((depth, parens), (0, 0), "{hcl}");
    }

    fn codified(f: &Finding) -> String {
        let out = hcl(f).expect("codified");
        well_formed(&out);
        out
    }

    #[test]
    fn an_ingress_rule_opened_in_the_console_becomes_an_ingress_block() {
        assert_eq!(
            codified(&console_sg()),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — ingress on module.network.aws_security_group.web
resource "aws_security_group" "web" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#
        );
    }

    fn with_rules(mut f: Finding, added: &[&str], removed: &[&str]) -> Finding {
        let c = &mut f.changes[0];
        let mut found = vec!["tcp 443 0.0.0.0/0"];
        found.retain(|r| !removed.contains(r));
        found.extend(added);
        c.found = json!(found);
        f
    }

    #[test]
    fn every_peer_kind_and_all_traffic_take_their_own_argument() {
        let f = with_rules(
            console_sg(),
            &[
                "all * 0.0.0.0/0",
                "tcp 443 ::/0",
                "tcp 5432 sg-0fedcba9876543210",
                "tcp 80 sg-0123456789abcdef0",
                "udp 53 pl-12345678",
                "icmp 8--1 10.0.0.0/8",
            ],
            &["tcp 443 0.0.0.0/0"],
        );
        let out = codified(&f);
        for want in [
            "    from_port   = 0\n    to_port     = 0\n    protocol    = \"-1\"\n    cidr_blocks = [\"0.0.0.0/0\"]\n",
            "    ipv6_cidr_blocks = [\"::/0\"]\n",
            "    security_groups = [\"sg-0fedcba9876543210\"]\n",
            "    protocol  = \"tcp\"\n    self      = true\n",
            "    prefix_list_ids = [\"pl-12345678\"]\n",
            "    from_port   = 8\n    to_port     = -1\n    protocol    = \"icmp\"\n",
            "# remove the declared ingress rule tcp 443 0.0.0.0/0, taken away by hand\n",
        ] {
            assert!(out.contains(want), "{want:?} in\n{out}");
        }
        assert_eq!(out.matches("  ingress {").count(), 6, "{out}");
    }

    #[test]
    fn rules_of_a_group_declared_by_rule_resources_become_rule_resources() {
        let mut f = with_rules(console_sg(), &["all * 0.0.0.0/0", "tcp 5432 sg-0fedcba9876543210"], &[]);
        f.owner
            .as_mut()
            .expect("owner")
            .related
            .push("module.network.aws_vpc_security_group_ingress_rule.https".into());
        let out = codified(&f);
        assert!(
            out.contains(
                r#"# DriftGuard: accept dg-1500731b7ee4b0bc — ingress on module.network.aws_vpc_security_group_ingress_rule.web_ingress_all_0_0_0_0_0
# a new resource, next to module.network.aws_security_group.web
resource "aws_vpc_security_group_ingress_rule" "web_ingress_all_0_0_0_0_0" {
  security_group_id = aws_security_group.web.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
"#
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  from_port                    = 5432\n  to_port                      = 5432\n  referenced_security_group_id = \"sg-0fedcba9876543210\"\n"
            ),
            "{out}"
        );
        assert!(!out.contains("ingress {"), "no inline block: {out}");

        // aws_security_group_rule is not mixed with the VPC rule resources either.
        let mut f = with_rules(console_sg(), &["tcp 22 10.0.0.0/8"], &["tcp 443 0.0.0.0/0"]);
        f.owner.as_mut().expect("owner").related = vec!["module.network.aws_security_group_rule.https".into()];
        let out = codified(&f);
        assert!(
            out.contains(
                r#"resource "aws_security_group_rule" "web_ingress_tcp_22_10_0_0_0_8" {
  type              = "ingress"
  security_group_id = aws_security_group.web.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["10.0.0.0/8"]
}
"#
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "on module.network.aws_security_group.web\n# remove the declared ingress rule tcp 443 0.0.0.0/0"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_value_is_set_in_its_declaration() {
        let f = finding(
            "aws_instance.app",
            "AWS::EC2::Instance",
            ("ec2.amazonaws.com", "ModifyInstanceAttribute"),
            vec![
                changed(
                    "instance_type",
                    Some("aws_instance.app"),
                    json!("t3.micro"),
                    json!("t3.large"),
                ),
                changed(
                    "disable_api_termination",
                    Some("aws_instance.app"),
                    json!(true),
                    json!(false),
                ),
                changed("ebs_optimized", Some("aws_instance.app"), json!(true), json!(true)),
            ],
        );
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — instance_type, disable_api_termination on aws_instance.app
resource "aws_instance" "app" {
  instance_type           = "t3.large"
  disable_api_termination = false
}
"#
        );

        // A number, on one instance of a for_each declaration.
        let f = finding(
            "aws_sqs_queue.jobs[\"orders\"]",
            "AWS::SQS::Queue",
            ("sqs.amazonaws.com", "SetQueueAttributes"),
            vec![changed(
                "visibility_timeout_seconds",
                Some("aws_sqs_queue.jobs[\"orders\"]"),
                json!(30),
                json!(120),
            )],
        );
        let out = codified(&f);
        assert!(out.contains("  visibility_timeout_seconds = 120\n"), "{out}");
        assert!(
            out.contains("# aws_sqs_queue.jobs[\"orders\"] is one instance of aws_sqs_queue.jobs"),
            "{out}"
        );
        assert!(out.contains("resource \"aws_sqs_queue\" \"jobs\" {"), "{out}");
    }

    #[test]
    fn a_nested_value_is_written_in_its_blocks() {
        let f = finding(
            "aws_s3_bucket.artifacts",
            "AWS::S3::Bucket",
            ("s3.amazonaws.com", "PutBucketVersioning"),
            vec![changed(
                "versioning_configuration.0.status",
                Some("aws_s3_bucket_versioning.artifacts"),
                json!("Enabled"),
                json!("Suspended"),
            )],
        );
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — versioning_configuration.0.status on aws_s3_bucket_versioning.artifacts
resource "aws_s3_bucket_versioning" "artifacts" {
  versioning_configuration {
    status = "Suspended"
  }
}
"#
        );

        // Not declared at all: a new resource for the bucket.
        let mut f = f;
        f.changes[0].declared_in = None;
        f.changes[0].expected = Value::Null;
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — versioning_configuration.0.status on aws_s3_bucket_versioning.artifacts
# a new resource, next to aws_s3_bucket.artifacts
resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Suspended"
  }
}
"#
        );
    }

    #[test]
    fn a_tag_is_merged_with_the_declared_tags() {
        let mut f = finding(
            "aws_instance.app",
            "AWS::EC2::Instance",
            ("ec2.amazonaws.com", "CreateTags"),
            vec![
                changed("tags.Owner", Some("aws_instance.app"), Value::Null, json!("carol")),
                changed(
                    "tags.cost-centre/team",
                    Some("aws_instance.app"),
                    Value::Null,
                    json!("platform"),
                ),
            ],
        );
        f.tags = [("Environment", "prod"), ("Name", "app")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — tags.Owner, tags.cost-centre/team on aws_instance.app
resource "aws_instance" "app" {
  tags = {
    Environment        = "prod"
    Name               = "app"
    Owner              = "carol"
    "cost-centre/team" = "platform"
  }
}
"#
        );

        // A tag deleted by hand leaves the map.
        f.changes = vec![changed(
            "tags.Name",
            Some("aws_instance.app"),
            json!("app"),
            Value::Null,
        )];
        let out = codified(&f);
        assert!(out.contains("  tags = {\n    Environment = \"prod\"\n  }\n"), "{out}");
    }

    #[test]
    fn a_policy_is_jsonencoded_with_variables_kept_literal() {
        let doc = json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::acme-home/${aws:username}/*",
                "Condition": {"StringLike": {"s3:prefix": "home/%{x}\\\"q\""}}
            }
        });
        let f = finding(
            "aws_iam_role.app_runtime",
            "AWS::IAM::Role",
            ("iam.amazonaws.com", "PutRolePolicy"),
            vec![changed(
                "inline_policy.home",
                Some("aws_iam_role.app_runtime"),
                Value::Null,
                doc,
            )],
        );
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — inline_policy.home on aws_iam_role_policy.app_runtime_home
# a new resource, next to aws_iam_role.app_runtime
resource "aws_iam_role_policy" "app_runtime_home" {
  name = "home"
  role = aws_iam_role.app_runtime.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::acme-home/$${aws:username}/*"
        Condition = {
          StringLike = {
            "s3:prefix" = "home/%%{x}\\\"q\""
          }
        }
      },
    ]
  })
}
"#
        );

        // Declared standalone: the policy of that declaration.
        let mut f = f;
        f.changes[0].declared_in = Some("aws_iam_role_policy.home".into());
        let out = codified(&f);
        assert!(
            out.starts_with("# DriftGuard: accept dg-1500731b7ee4b0bc — inline_policy.home on aws_iam_role_policy.home\nresource \"aws_iam_role_policy\" \"home\" {\n  policy = jsonencode({\n"),
            "{out}"
        );
    }

    #[test]
    fn a_trust_or_resource_policy_goes_where_it_is_declared() {
        let trust = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}
        ]});
        let f = finding(
            "aws_iam_role.app",
            "AWS::IAM::Role",
            ("iam.amazonaws.com", "UpdateAssumeRolePolicy"),
            vec![changed(
                "assume_role_policy",
                Some("aws_iam_role.app"),
                Value::Null,
                trust,
            )],
        );
        let out = codified(&f);
        assert!(
            out.contains("resource \"aws_iam_role\" \"app\" {\n  assume_role_policy = jsonencode({\n"),
            "{out}"
        );
        assert!(
            out.contains("          AWS = \"arn:aws:iam::444455556666:root\"\n"),
            "{out}"
        );

        // A bucket policy where the bucket declares none: a new aws_s3_bucket_policy.
        let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-prod-artifacts/*"}});
        let f = finding(
            "aws_s3_bucket.artifacts",
            "AWS::S3::Bucket",
            ("s3.amazonaws.com", "PutBucketPolicy"),
            vec![changed("policy", None, Value::Null, Value::from(policy.to_string()))],
        );
        let out = codified(&f);
        assert!(
            out.contains("resource \"aws_s3_bucket_policy\" \"artifacts\" {\n  bucket = aws_s3_bucket.artifacts.id\n  policy = jsonencode({\n"),
            "{out}"
        );
        // A deleted policy is not codified here.
        let f = finding(
            "aws_s3_bucket.logs",
            "AWS::S3::Bucket",
            ("s3.amazonaws.com", "DeleteBucketPolicy"),
            vec![changed(
                "policy",
                Some("aws_s3_bucket_policy.logs"),
                json!({"Version": "2012-10-17"}),
                Value::Null,
            )],
        );
        assert_eq!(hcl(&f), None);
    }

    #[test]
    fn a_public_access_block_is_written_whole() {
        let settings = [
            "block_public_acls",
            "ignore_public_acls",
            "block_public_policy",
            "restrict_public_buckets",
        ];
        // Only one setting changed: the block still has all four found values.
        let changes: Vec<AttributeChange> = settings
            .iter()
            .map(|s| {
                let found = *s != "block_public_policy";
                changed(
                    s,
                    Some("aws_s3_bucket_public_access_block.artifacts"),
                    json!(true),
                    json!(found),
                )
            })
            .collect();
        let mut f = finding(
            "aws_s3_bucket.artifacts",
            "AWS::S3::Bucket",
            ("s3.amazonaws.com", "PutBucketPublicAccessBlock"),
            changes,
        );
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets on aws_s3_bucket_public_access_block.artifacts
resource "aws_s3_bucket_public_access_block" "artifacts" {
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = false
  restrict_public_buckets = true
}
"#
        );

        // Not declared: a new block for the bucket.
        for c in &mut f.changes {
            (c.declared_in, c.expected, c.drifted) = (None, Value::Null, true);
        }
        let out = codified(&f);
        assert!(
            out.contains("resource \"aws_s3_bucket_public_access_block\" \"artifacts\" {\n  bucket                  = aws_s3_bucket.artifacts.id\n  block_public_acls       = true\n"),
            "{out}"
        );
    }

    #[test]
    fn a_config_observation_is_codified_from_the_attribute_map() {
        let f = finding(
            "aws_instance.app",
            "AWS::EC2::Instance",
            ("config.amazonaws.com", "ConfigurationItemChange"),
            vec![
                changed(
                    "instance_type",
                    Some("aws_instance.app"),
                    json!("t3.micro"),
                    json!("t3.large"),
                ),
                changed(
                    "metadata_options.http_tokens",
                    Some("aws_instance.app"),
                    json!("required"),
                    json!("optional"),
                ),
                changed(
                    "tags",
                    Some("aws_instance.app"),
                    json!({"Name": "app"}),
                    json!({"Name": "app", "Owner": "carol"}),
                ),
                changed("monitoring", Some("aws_instance.app"), json!(true), json!(false)),
            ],
        );
        assert_eq!(
            codified(&f),
            r#"# DriftGuard: accept dg-1500731b7ee4b0bc — instance_type, metadata_options.http_tokens, tags on aws_instance.app
resource "aws_instance" "app" {
  instance_type = "t3.large"

  metadata_options {
    http_tokens = "optional"
  }

  tags = {
    Name  = "app"
    Owner = "carol"
  }
}
"#
        );
    }

    #[test]
    fn what_has_no_hcl_is_not_codified() {
        let unmapped = [
            (
                "lambda.amazonaws.com",
                "AddPermission20150331v2",
                "AWS::Lambda::Function",
                "permissions",
            ),
            ("iam.amazonaws.com", "CreateAccessKey", "AWS::IAM::User", "access_keys"),
            (
                "ec2.amazonaws.com",
                "ModifySnapshotAttribute",
                "AWS::EC2::Snapshot",
                "create_volume_permission",
            ),
            (
                "ec2.amazonaws.com",
                "CreateNetworkAclEntry",
                "AWS::EC2::NetworkAcl",
                "ingress",
            ),
        ];
        for (source, name, resource_type, attribute) in unmapped {
            let f = finding(
                "aws_lambda_function.api",
                resource_type,
                (source, name),
                vec![changed(attribute, None, json!(["a"]), json!(["a", "b"]))],
            );
            assert_eq!(hcl(&f), None, "{name}");
        }
        let mut f = console_sg();
        f.kind = FindingKind::Unmanaged;
        f.owner = None;
        assert_eq!(hcl(&f), None);
        let mut f = console_sg();
        f.changes[0].drifted = false;
        assert_eq!(hcl(&f), None, "nothing drifted");
        let mut f = console_sg();
        f.status = Status::Resolved;
        assert!(hcl(&f).is_some(), "a resolved finding can still be written down");
    }

    #[test]
    fn strings_are_escaped_and_keys_quoted_when_not_identifiers() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            quote("${aws:username} and %{if x}"),
            r#""$${aws:username} and %%{if x}""#
        );
        assert_eq!(quote("$ {not} 100% $"), r#""$ {not} 100% $""#);
        assert_eq!(quote("line\nnext\ttab\u{1}"), r#""line\nnext\ttab\u0001""#);
        assert_eq!(key("Name"), "Name");
        assert_eq!(key("aws:SourceArn"), r#""aws:SourceArn""#);
        assert_eq!(key("1st"), r#""1st""#);
        assert_eq!(key("${x}"), r#""$${x}""#);
    }

    #[test]
    fn addresses_split_into_module_type_name_and_index() {
        let a = Address::parse("module.network.aws_security_group.web").expect("parses");
        assert_eq!(
            (a.module, a.tf_type, a.name, a.index),
            ("module.network.", "aws_security_group", "web", "")
        );
        let a = Address::parse("module.x[\"a.b\"].aws_sqs_queue.jobs[\"orders.v2\"]").expect("parses");
        assert_eq!(
            (a.module, a.tf_type, a.name, a.index),
            ("module.x[\"a.b\"].", "aws_sqs_queue", "jobs", "[\"orders.v2\"]")
        );
        assert_eq!(a.reference("id"), "aws_sqs_queue.jobs[\"orders.v2\"].id");
        for bad in ["", "web", "aws_instance.", "aws_instance.a]b"] {
            assert_eq!(Address::parse(bad), None, "{bad}");
        }
        assert_eq!(
            label(&["web", "ingress", "tcp 22 0.0.0.0/0"]),
            "web_ingress_tcp_22_0_0_0_0_0"
        );
        assert_eq!(label(&["9lives", "::/0"]), "r_9lives_0");
    }
}
