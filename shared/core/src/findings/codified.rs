//! Drift written into the code: when a state file is rewritten, which open findings the new
//! declaration now agrees with. Someone changed a resource by hand, then changed the Terraform
//! to match and applied: the apply makes no API call (there is nothing left to change), so only
//! the new state says the drift is now intended. Such findings are resolved as codified.
//!
//! A drift finding is codified when every drifted attribute's new declared value equals what
//! the finding found (compared as the diff compares them: policies canonically, numbers and
//! booleans as their text, lists as sets). When a new declared value cannot be compared with
//! the found one (security-group rules found as rule texts and declared as blocks, say) the
//! finding stays open and is counted as undecided: the sweep compares the live resource with
//! the new declaration and resolves it if it is back in line. An unmanaged finding is codified
//! when the new state declares its resource (it was imported).

use crate::drift::diff::{normalise_policy, value_at};
use crate::findings::finding::{Finding, FindingKind, IacChange, Status};
use crate::iac::catalog::Catalog;
use crate::iac::inventory::{Declared, Inventory};
use crate::time::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// What the new declaration says about one open finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Codified {
    /// The declaration now holds what the finding found.
    Yes,
    /// It still declares something else.
    No,
    /// It cannot be told from the declaration alone.
    Undecided,
}

/// Judges one open finding against the declarations of the state `origin` in `inventory`.
/// Findings of other states (or of no state) are [`Codified::No`].
pub fn judge(finding: &Finding, inventory: &Inventory, origin: &str, catalog: &Catalog) -> Codified {
    if finding.status != Status::Open {
        return Codified::No;
    }
    match finding.kind {
        FindingKind::Drift => drift(finding, inventory, origin),
        FindingKind::Unmanaged => {
            let types = catalog.terraform_for(&finding.resource.resource_type);
            let ids = [Some(finding.resource.id.as_str()), finding.resource.arn.as_deref()];
            let declared = ids
                .into_iter()
                .flatten()
                .flat_map(|id| inventory.find(&types, id))
                .any(|d| inventory.state_origin(&d) == origin);
            if declared {
                Codified::Yes
            } else {
                Codified::No
            }
        }
        FindingKind::Missing | FindingKind::Access => Codified::No,
    }
}

fn drift(finding: &Finding, inventory: &Inventory, origin: &str) -> Codified {
    let Some(owner) = finding.owner.as_ref().filter(|o| o.state == origin) else {
        return Codified::No;
    };
    let drifted: Vec<_> = finding.changes.iter().filter(|c| c.drifted).collect();
    if drifted.is_empty() {
        return Codified::Undecided;
    }
    let mut verdict = Codified::Yes;
    for change in drifted {
        let address = change.declared_in.as_deref().unwrap_or(&owner.address);
        let Some(declared) = declaration(inventory, origin, address) else {
            return Codified::Undecided;
        };
        let now = attribute(&declared, &change.attribute);
        match agrees(now.as_ref().unwrap_or(&Value::Null), &change.found) {
            Some(true) => {}
            Some(false) => return Codified::No,
            None => verdict = Codified::Undecided,
        }
    }
    verdict
}

fn declaration(inventory: &Inventory, origin: &str, address: &str) -> Option<Declared> {
    inventory.declaration(origin, address)
}

/// The declared value at an attribute path as findings name it (`acl`, `versioning.0.enabled`,
/// `tags.Owner`).
fn attribute(d: &Declared, path: &str) -> Option<Value> {
    let (first, rest) = path.split_once('.').map_or((path, None), |(f, r)| (f, Some(r)));
    let v = d.attributes.get(first)?;
    match rest {
        None => Some(v.clone()),
        Some(rest) => value_at(v, rest).cloned(),
    }
}

/// Whether a declared value equals a found one, or `None` when their shapes cannot be compared.
fn agrees(declared: &Value, found: &Value) -> Option<bool> {
    match (declared, found) {
        (Value::Null, Value::Null) => Some(true),
        (Value::Null, _) | (_, Value::Null) => Some(false),
        (Value::Array(d), Value::Array(f)) => {
            if d.iter().any(Value::is_object) != f.iter().any(Value::is_object) {
                return None;
            }
            let mut d: Vec<String> = d.iter().map(|v| text(&normalise_policy(v))).collect();
            let mut f: Vec<String> = f.iter().map(|v| text(&normalise_policy(v))).collect();
            d.sort();
            d.dedup();
            f.sort();
            f.dedup();
            Some(d == f)
        }
        (Value::Array(_), _) | (_, Value::Array(_)) => None,
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            let (d, f) = (normalise_policy(declared), normalise_policy(found));
            if d.is_object() != f.is_object() {
                return None;
            }
            Some(d == f)
        }
        (Value::String(d), Value::String(f)) if looks_like_document(d) || looks_like_document(f) => {
            Some(normalise_policy(declared) == normalise_policy(found))
        }
        _ => Some(text(declared) == text(found)),
    }
}

fn looks_like_document(s: &str) -> bool {
    s.trim_start().starts_with('{') || s.starts_with("%7B")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The IaC change that resolves one codified finding: it settles that finding alone, at the
/// time the state was written, named after the state's revision.
pub fn resolution(finding: &Finding, origin: &str, serial: Option<u64>, time: Timestamp) -> IacChange {
    let revision = serial.map_or_else(String::new, |s| format!("@{s}"));
    IacChange {
        resource_key: finding.resource.key(),
        event_id: format!("codified:{origin}{revision}:{}", finding.id),
        time,
        by: format!(
            "codified in {origin}{}",
            serial.map_or_else(String::new, |s| format!(" (serial {s})"))
        ),
        restores: Vec::new(),
        finding: Some(finding.id.clone()),
        baseline: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::diff::AttributeChange;
    use crate::drift::score::Severity;
    use crate::findings::conformance::sample_finding;
    use crate::findings::finding::IacOwner;
    use serde_json::json;

    const ORIGIN: &str = "s3://tf/prod.tfstate";

    fn inventory(acl: &str, policy: &str, extra: bool) -> Inventory {
        let mut resources = vec![
            json!({"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "instances": [
                {"attributes": {"id": "acme-logs", "arn": "arn:aws:s3:::acme-logs", "acl": acl,
                                "versioning": [{"enabled": true}], "tags": {"Owner": "web"}}}]}),
            json!({"mode": "managed", "type": "aws_s3_bucket_policy", "name": "logs", "instances": [
                {"attributes": {"id": "acme-logs", "bucket": "acme-logs", "policy": policy}}]}),
        ];
        if extra {
            resources.push(
                json!({"mode": "managed", "type": "aws_s3_bucket", "name": "scratch", "instances": [
                {"attributes": {"id": "acme-scratch", "arn": "arn:aws:s3:::acme-scratch"}}]}),
            );
        }
        let state = json!({"version": 4, "serial": 9, "lineage": "L", "resources": resources});
        let mut inv = Inventory::new();
        inv.add_state(ORIGIN, state.to_string().as_bytes()).expect("loads");
        inv
    }

    fn finding(kind: FindingKind, id: &str, changes: Vec<AttributeChange>) -> Finding {
        let mut f = sample_finding(&format!("e-{id}"), id, 1_790_000_000, Severity::Major);
        f.kind = kind;
        f.resource.resource_type = "AWS::S3::Bucket".into();
        f.changes = changes;
        if kind == FindingKind::Drift {
            f.owner = Some(IacOwner {
                state: ORIGIN.into(),
                address: "aws_s3_bucket.logs".into(),
                related: Vec::new(),
                stack: None,
            });
        }
        f
    }

    fn change(attribute: &str, declared_in: &str, expected: Value, found: Value) -> AttributeChange {
        AttributeChange {
            attribute: attribute.into(),
            declared_in: Some(declared_in.into()),
            drifted: expected != found,
            expected,
            found,
        }
    }

    const PRIVATE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-logs/*"}]}"#;

    #[test]
    fn a_drift_the_new_declaration_holds_is_codified_and_one_it_does_not_stays_open() {
        let catalog = Catalog::new();
        let acl = finding(
            FindingKind::Drift,
            "acme-logs",
            vec![change(
                "acl",
                "aws_s3_bucket.logs",
                json!("private"),
                json!("public-read"),
            )],
        );
        assert_eq!(
            judge(&acl, &inventory("public-read", PRIVATE_POLICY, false), ORIGIN, &catalog),
            Codified::Yes
        );
        assert_eq!(
            judge(&acl, &inventory("private", PRIVATE_POLICY, false), ORIGIN, &catalog),
            Codified::No
        );
        assert_eq!(
            judge(
                &acl,
                &inventory("public-read", PRIVATE_POLICY, false),
                "s3://tf/other.tfstate",
                &catalog
            ),
            Codified::No,
            "another state's rewrite says nothing about it"
        );
    }

    #[test]
    fn policies_compare_canonically_and_nested_paths_and_tags_are_read() {
        let catalog = Catalog::new();
        // The same document, reordered and with a one-element list, as a string.
        let found = json!({"Statement": [{"Action": ["s3:*"], "Resource": "arn:aws:s3:::acme-logs/*", "Principal": "*", "Effect": "Deny"}], "Version": "2012-10-17"});
        let f = finding(
            FindingKind::Drift,
            "acme-logs",
            vec![
                change("policy", "aws_s3_bucket_policy.logs", json!(null), found),
                change("versioning.0.enabled", "aws_s3_bucket.logs", json!(false), json!(true)),
                change("tags.Owner", "aws_s3_bucket.logs", json!("ops"), json!("web")),
            ],
        );
        assert_eq!(
            judge(&f, &inventory("private", PRIVATE_POLICY, false), ORIGIN, &catalog),
            Codified::Yes
        );
        let other_policy = PRIVATE_POLICY.replace("Deny", "Allow");
        assert_eq!(
            judge(&f, &inventory("private", &other_policy, false), ORIGIN, &catalog),
            Codified::No
        );
    }

    #[test]
    fn rules_found_as_text_against_declared_blocks_are_left_to_the_sweep() {
        let catalog = Catalog::new();
        let mut inv = Inventory::new();
        let state = json!({"version": 4, "serial": 3, "lineage": "L", "resources": [
            {"mode": "managed", "type": "aws_security_group", "name": "web", "instances": [
                {"attributes": {"id": "sg-1", "ingress": [{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}]}}]}]});
        inv.add_state(ORIGIN, state.to_string().as_bytes()).expect("loads");
        let mut f = finding(
            FindingKind::Drift,
            "sg-1",
            vec![change(
                "ingress",
                "aws_security_group.web",
                json!([]),
                json!(["tcp 22 0.0.0.0/0"]),
            )],
        );
        f.owner.as_mut().expect("owner").address = "aws_security_group.web".into();
        assert_eq!(judge(&f, &inv, ORIGIN, &catalog), Codified::Undecided);
    }

    #[test]
    fn an_unmanaged_resource_the_state_now_declares_was_imported() {
        let catalog = Catalog::new();
        let f = finding(FindingKind::Unmanaged, "acme-scratch", Vec::new());
        assert_eq!(
            judge(&f, &inventory("private", PRIVATE_POLICY, true), ORIGIN, &catalog),
            Codified::Yes
        );
        assert_eq!(
            judge(&f, &inventory("private", PRIVATE_POLICY, false), ORIGIN, &catalog),
            Codified::No
        );
    }

    #[test]
    fn the_resolution_settles_that_finding_alone_named_after_the_revision() {
        let f = finding(
            FindingKind::Drift,
            "acme-logs",
            vec![change(
                "acl",
                "aws_s3_bucket.logs",
                json!("private"),
                json!("public-read"),
            )],
        );
        let mut other = f.clone();
        other.id = "f-other".into();
        let at = Timestamp(f.call.time.0 + 60_000);
        let iac = resolution(&f, ORIGIN, Some(9), at);
        assert_eq!(iac.event_id, format!("codified:{ORIGIN}@9:{}", f.id));
        assert_eq!(iac.by, format!("codified in {ORIGIN} (serial 9)"));
        let (mut mine, mut theirs) = (f.clone(), other);
        assert!(mine.resolve_with(&iac));
        assert_eq!(mine.status, Status::Resolved);
        assert!(!theirs.resolve_with(&iac), "another finding on the resource stays open");
    }
}
