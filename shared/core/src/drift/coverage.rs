//! What DriftGuard compares, per resource type, stated honestly: the attributes compared from
//! AWS Config items ([`crate::drift::config_map`]), the attributes compared from CloudTrail requests
//! ([`crate::drift::diff::DIFF_RULES`]), and the types whose changes are only tracked as "changed out
//! of band" (the catalog names the resource, nothing compares its attributes).

use crate::drift::diff::{Compare, Credential, Share, DIFF_RULES};
use crate::iac::catalog::Catalog;
use serde::Serialize;
use std::collections::BTreeMap;

/// Coverage of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeCoverage {
    /// e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// Terraform types that declare it.
    pub terraform: Vec<&'static str>,
    /// Attributes compared on AWS Config items (live state vs IaC).
    pub config_attributes: Vec<&'static str>,
    /// Attributes compared on CloudTrail requests (what the call set vs IaC), with the calls.
    pub call_attributes: Vec<String>,
    /// CloudTrail calls the catalog maps to this type.
    pub calls: usize,
}

impl TypeCoverage {
    /// `compared` when some attribute is compared, else `changed out of band only`.
    pub fn level(&self) -> &'static str {
        if self.config_attributes.is_empty() && self.call_attributes.is_empty() {
            "changed out of band only"
        } else {
            "compared"
        }
    }
}

/// Coverage of every resource type the catalog or the attribute maps know, sorted by type.
pub fn coverage(catalog: &Catalog) -> Vec<TypeCoverage> {
    let mut by_type: BTreeMap<String, TypeCoverage> = BTreeMap::new();
    for entry in crate::iac::catalog::ENTRIES {
        let t = by_type.entry(entry.resource_type.to_owned()).or_default();
        t.calls += 1;
    }
    for map in crate::drift::config_map::MAPS {
        by_type
            .entry(map.resource_type.to_owned())
            .or_default()
            .config_attributes = crate::drift::config_map::compared_attributes(map.resource_type);
    }
    for (source, name, compare) in DIFF_RULES {
        let Some(entry) = catalog.entry(source, name) else {
            continue;
        };
        let attributes: Vec<String> = match compare {
            Compare::Fields(fields) => fields.iter().map(|f| f.attribute.to_owned()).collect(),
            Compare::SgRules { direction, .. } => vec![(*direction).to_owned()],
            Compare::Ec2Tags { .. } => vec!["tags".to_owned()],
            Compare::InlinePolicy { .. } => vec!["inline_policy".to_owned()],
            Compare::PolicyAttachment { .. } => vec!["managed_policy_arns".to_owned()],
            Compare::GroupMember { .. } => vec!["users".to_owned()],
            Compare::S3Logging => vec!["logging.target_bucket".to_owned()],
            Compare::S3Acl => vec!["acl".to_owned()],
            Compare::S3Lifecycle { .. } => vec!["lifecycle_rules".to_owned()],
            Compare::Flag { attribute, .. } | Compare::Text { attribute, .. } => vec![(*attribute).to_owned()],
            Compare::DbRoles { .. } => vec!["associated_roles".to_owned()],
            Compare::ResourcePolicy { .. } => vec!["policy".to_owned()],
            Compare::LambdaPermission { .. } => vec!["permissions".to_owned()],
            Compare::CodeHash => vec!["source_code_hash".to_owned()],
            Compare::NaclEntry(_) => vec!["ingress".to_owned(), "egress".to_owned()],
            Compare::Route(_) => vec!["routes".to_owned()],
            Compare::RouteAssociation => vec!["associations".to_owned()],
            Compare::Sharing(Share::Ec2 { attribute, .. }) => vec![(*attribute).to_owned()],
            Compare::Sharing(Share::Rds) => vec!["shared_accounts".to_owned()],
            Compare::Credentials(
                Credential::Added(set) | Credential::Removed(set) | Credential::Status(set) | Credential::Reset(set),
            ) => vec![set.attribute.to_owned()],
            Compare::Credentials(_) => vec!["login_profile".to_owned()],
            Compare::RamShare { .. } => vec!["principals".to_owned(), "resource_arns".to_owned()],
        };
        let t = by_type.entry(entry.resource_type.to_owned()).or_default();
        for a in attributes {
            let row = format!("{a} ({name})");
            if !t.call_attributes.contains(&row) {
                t.call_attributes.push(row);
            }
        }
    }
    by_type
        .into_iter()
        .map(|(resource_type, mut t)| {
            t.terraform = catalog.terraform_for(&resource_type);
            t.resource_type = resource_type;
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_types_are_compared_and_the_rest_tracked_only() {
        let all = coverage(&Catalog::new());
        let get = |t: &str| all.iter().find(|c| c.resource_type == t).expect(t);
        let sg = get("AWS::EC2::SecurityGroup");
        assert_eq!(sg.level(), "compared");
        assert!(sg.config_attributes.contains(&"ingress"), "{sg:?}");
        assert!(sg
            .call_attributes
            .iter()
            .any(|a| a == "ingress (AuthorizeSecurityGroupIngress)"));
        for map in crate::drift::config_map::MAPS {
            assert_eq!(get(map.resource_type).level(), "compared", "{}", map.resource_type);
        }
        let tracked: Vec<&TypeCoverage> = all.iter().filter(|c| c.level() != "compared").collect();
        assert!(!tracked.is_empty(), "some catalog types are only tracked");
        assert!(tracked.iter().all(|c| c.calls > 0 && c.config_attributes.is_empty()));
        let mut sorted = all.clone();
        sorted.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        assert_eq!(sorted, all);
    }
}
