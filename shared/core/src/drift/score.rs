//! Scoring v1: a drift likelihood as a sum of log-odds per factor, and a severity from rules.
//!
//! Likelihood = sigmoid(prior + Σ weights of the factors present). Every weight is a row of
//! [`WEIGHTS`]; each finding lists the factors that fired and their contributions, so a score can
//! always be explained. Severity starts from the resource type ([`TYPE_SEVERITY`]), is raised by
//! exposure (open ingress on a sensitive port, public bucket, wildcard IAM policy), moved by
//! the environment tag, and held up by floors no environment lowers (a managed resource deleted
//! by hand, a protection turned off: [`PROTECTIONS`]).

use crate::actors::attribution::{ActorKind, Channel};
use crate::drift::diff::AttributeChange;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Minor,
    /// Should be reconciled soon.
    Major,
    /// Security exposure or production risk: act now.
    Critical,
}

impl Severity {
    fn up(self) -> Self {
        match self {
            Severity::Minor => Severity::Major,
            _ => Severity::Critical,
        }
    }
    fn down(self) -> Self {
        match self {
            Severity::Critical => Severity::Major,
            _ => Severity::Minor,
        }
    }
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

/// One factor's contribution to a likelihood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Factor id (a row of [`WEIGHTS`]).
    pub name: String,
    /// Log-odds contribution.
    pub weight: f64,
}

/// The prior log-odds that an out-of-band mutating call is drift.
pub const PRIOR: f64 = -1.0;

/// Factor weights (log-odds). Chosen by hand for v1 and documented in ARCHITECTURE.md; the
/// learning issue replaces them with fitted values.
pub static WEIGHTS: &[(&str, f64)] = &[
    ("actor.human", 2.5),
    ("actor.iac", -4.0),
    ("actor.automation", 0.8),
    ("actor.aws_service", -2.5),
    ("channel.console", 0.5),
    ("channel.cloudshell", 0.5),
    ("channel.cli", 0.3),
    ("resource.iac_managed", 1.5),
    ("resource.unmanaged", -0.8),
    ("diff.confirmed", 1.0),
    ("diff.no_op", -3.0),
    ("op.tag_only", -1.2),
    ("op.delete", 0.5),
    ("actor.unknown", 0.0),
    ("config.confirmed", 1.5),
    ("config.matches_iac", -2.5),
    ("config.deleted", 1.0),
    ("config.changed_uncompared", 0.3),
    ("op.access", -1.5),
];

/// The likelihood a list of factors gives: sigmoid of their sum, to three decimals.
pub fn from_factors(factors: &[Factor]) -> f64 {
    let logit: f64 = factors.iter().map(|f| f.weight).sum();
    let p = 1.0 / (1.0 + (-logit).exp());
    (p * 1000.0).round() / 1000.0
}

/// The hand-set weight of a factor ([`WEIGHTS`]; 0 for a name it does not list).
pub fn weight(name: &str) -> f64 {
    WEIGHTS.iter().find(|(n, _)| *n == name).map_or(0.0, |(_, w)| *w)
}

/// The version name of the hand-set weights.
pub const DEFAULT_WEIGHTS: &str = "default";

/// A set of weights the likelihood is computed with: the hand-set ones ([`PRIOR`], [`WEIGHTS`],
/// version [`DEFAULT_WEIGHTS`]) or a version fitted from labelled findings. Every finding names
/// the version that scored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// `default`, or `v<n>` for the n-th fitted version of an installation.
    pub version: String,
    /// The prior log-odds.
    pub prior: f64,
    /// Factor name → log-odds weight; a factor not listed weighs its hand-set value.
    pub factors: std::collections::BTreeMap<String, f64>,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            version: DEFAULT_WEIGHTS.to_owned(),
            prior: PRIOR,
            factors: WEIGHTS.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect(),
        }
    }
}

impl Weights {
    /// The weight of a factor (`prior` is the prior).
    pub fn weight(&self, name: &str) -> f64 {
        if name == "prior" {
            return self.prior;
        }
        self.factors.get(name).copied().unwrap_or_else(|| weight(name))
    }

    /// A factor with its weight.
    pub fn factor(&self, name: &str) -> Factor {
        Factor {
            name: name.to_owned(),
            weight: self.weight(name),
        }
    }

    /// The likelihood of a set of factor names (the prior included whether named or not).
    pub fn likelihood_of<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> f64 {
        let logit: f64 = self.prior
            + names
                .into_iter()
                .filter(|n| *n != "prior")
                .map(|n| self.weight(n))
                .sum::<f64>();
        1.0 / (1.0 + (-logit).exp())
    }
}

/// What scoring reads about a change.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'e> {
    /// The actor's class.
    pub actor: ActorKind,
    /// The channel.
    pub channel: Channel,
    /// Whether IaC declares the resource.
    pub managed: bool,
    /// What the call does.
    pub op: crate::iac::catalog::Op,
    /// The compared attributes (empty when no comparison applies).
    pub changes: &'e [AttributeChange],
    /// The account the resource lives in (a policy granting another one is critical).
    pub account: &'e str,
}

/// Likelihood in [0, 1] and the factors behind it, with the hand-set weights.
pub fn likelihood(e: &Evidence<'_>) -> (f64, Vec<Factor>) {
    likelihood_with(e, &Weights::default())
}

/// Likelihood in [0, 1] and the factors behind it, with the given weights.
pub fn likelihood_with(e: &Evidence<'_>, weights: &Weights) -> (f64, Vec<Factor>) {
    let mut names: Vec<&'static str> = Vec::new();
    names.push(match e.actor {
        ActorKind::Human => "actor.human",
        ActorKind::Automation => "actor.automation",
        ActorKind::AwsService => "actor.aws_service",
        ActorKind::Iac => "actor.iac",
        ActorKind::Unknown => "actor.unknown",
    });
    match e.channel {
        Channel::Console => names.push("channel.console"),
        Channel::CloudShell => names.push("channel.cloudshell"),
        Channel::Cli => names.push("channel.cli"),
        _ => {}
    }
    names.push(if e.managed {
        "resource.iac_managed"
    } else {
        "resource.unmanaged"
    });
    if !e.changes.is_empty() {
        names.push(if e.changes.iter().any(|c| c.drifted) {
            "diff.confirmed"
        } else {
            "diff.no_op"
        });
    }
    match e.op {
        crate::iac::catalog::Op::Tag => names.push("op.tag_only"),
        crate::iac::catalog::Op::Delete => names.push("op.delete"),
        crate::iac::catalog::Op::Access => names.push("op.access"),
        _ => {}
    }
    let mut factors = vec![weights.factor("prior")];
    factors.extend(names.into_iter().map(|n| weights.factor(n)));
    (from_factors(&factors), factors)
}

/// Base severity per resource type; types not listed are [`Severity::Minor`].
pub static TYPE_SEVERITY: &[(&str, Severity)] = &[
    ("AWS::EC2::SecurityGroup", Severity::Major),
    ("AWS::EC2::NetworkAcl", Severity::Major),
    ("AWS::EC2::RouteTable", Severity::Major),
    ("AWS::EC2::Instance", Severity::Major),
    ("AWS::EC2::VPC", Severity::Major),
    ("AWS::S3::Bucket", Severity::Major),
    ("AWS::IAM::Role", Severity::Major),
    ("AWS::IAM::User", Severity::Major),
    ("AWS::IAM::Policy", Severity::Major),
    ("AWS::IAM::Group", Severity::Major),
    ("AWS::KMS::Key", Severity::Major),
    ("AWS::RDS::DBInstance", Severity::Major),
    ("AWS::RDS::DBCluster", Severity::Major),
    ("AWS::Lambda::Function", Severity::Major),
    ("AWS::DynamoDB::Table", Severity::Major),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", Severity::Major),
    ("AWS::ElasticLoadBalancingV2::Listener", Severity::Major),
    ("AWS::SecretsManager::Secret", Severity::Major),
    ("AWS::RAM::ResourceShare", Severity::Major),
];

/// Canned S3 ACLs that open a bucket beyond its account.
pub static PUBLIC_ACLS: &[&str] = &["public-read", "public-read-write", "authenticated-read"];

/// AWS managed policies that grant (nearly) everything: attaching one by hand is critical.
pub static ADMIN_POLICIES: &[&str] = &["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"];

/// A new lifecycle rule that expires objects within this many days is critical (log and backup
/// buckets emptied by a rule).
pub const SHORT_EXPIRY_DAYS: i64 = 7;

/// Attributes that switch logging or detection on, by the Terraform type declaring them:
/// turning one off by hand is critical.
pub static LOGGING: &[(&str, &str)] = &[
    ("aws_cloudtrail", "enable_logging"),
    ("aws_cloudtrail", "is_multi_region_trail"),
    ("aws_cloudtrail", "include_global_service_events"),
    ("aws_cloudtrail", "enable_log_file_validation"),
    ("aws_cloudtrail", "event_selector.0.include_management_events"),
    ("aws_guardduty_detector", "enable"),
    ("aws_config_configuration_recorder_status", "is_enabled"),
];

/// The Terraform type of the declaration a change names (`module.x.aws_cloudtrail.main` →
/// `aws_cloudtrail`).
fn declared_type(c: &AttributeChange) -> Option<&str> {
    let address = c.declared_in.as_deref()?;
    address.split('.').find(|segment| segment.starts_with("aws_"))
}

/// Ports whose exposure to the internet is critical (`*` means all ports).
pub static SENSITIVE_PORTS: &[&str] = &[
    "*", "22", "3389", "3306", "5432", "1433", "1521", "6379", "9200", "11211", "27017", "2375", "5601",
];

/// Environment tag values that raise (`true`) or lower (`false`) severity.
pub static ENVIRONMENTS: &[(&str, bool)] = &[
    ("prod", true),
    ("production", true),
    ("prd", true),
    ("live", true),
    ("dev", false),
    ("development", false),
    ("sandbox", false),
    ("test", false),
    ("staging", false),
];

/// A protection and how a found value shows it turned off.
#[derive(Debug, Clone, Copy)]
pub struct Protection {
    /// The compared attribute (a Terraform path or a Config map attribute).
    pub attribute: &'static str,
    /// What turning it off means, for the finding's reasons.
    pub what: &'static str,
    /// Whether the found value is "off".
    pub off: fn(&Value) -> bool,
}

fn is_false(v: &Value) -> bool {
    v == &Value::Bool(false)
}

fn suspended(v: &Value) -> bool {
    matches!(v.as_str(), Some("Suspended" | "Disabled")) || is_false(v)
}

fn absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn zero(v: &Value) -> bool {
    v.as_i64() == Some(0)
}

/// Protections whose removal is at least [`Severity::Major`], whatever the environment tag:
/// termination and deletion protection, bucket versioning and MFA delete, encryption, backups, and
/// a key (or anything else declared `is_enabled`) disabled.
pub static PROTECTIONS: &[Protection] = &[
    Protection {
        attribute: "disable_api_termination",
        what: "termination protection removed",
        off: is_false,
    },
    Protection {
        attribute: "deletion_protection",
        what: "deletion protection turned off",
        off: is_false,
    },
    Protection {
        attribute: "enable_deletion_protection",
        what: "deletion protection turned off",
        off: is_false,
    },
    Protection {
        attribute: "versioning_configuration.0.status",
        what: "bucket versioning suspended",
        off: suspended,
    },
    Protection {
        attribute: "versioning.0.enabled",
        what: "bucket versioning suspended",
        off: suspended,
    },
    Protection {
        attribute: "versioning",
        what: "bucket versioning suspended",
        off: suspended,
    },
    Protection {
        attribute: "versioning_configuration.0.mfa_delete",
        what: "MFA delete turned off",
        off: suspended,
    },
    Protection {
        attribute: "server_side_encryption",
        what: "default encryption removed",
        off: absent,
    },
    Protection {
        attribute: "server_side_encryption_configuration.0.rule",
        what: "default encryption removed",
        off: absent,
    },
    Protection {
        attribute: "backup_retention_period",
        what: "automated backups turned off",
        off: zero,
    },
    Protection {
        attribute: "is_enabled",
        what: "disabled",
        off: is_false,
    },
];

/// Set-valued attributes each of whose items is a protection: a declared item taken away turns
/// that protection off (at least [`Severity::Major`]), with what it means.
pub static SET_PROTECTIONS: &[(&str, &str)] = &[("mfa_devices", "MFA device deactivated")];

/// The first protection a change turns off: a drifted attribute of [`PROTECTIONS`] whose found
/// value is off while the declared one is not, or a declared item of a [`SET_PROTECTIONS`]
/// attribute taken away.
pub fn protection_off(changes: &[AttributeChange]) -> Option<String> {
    changes.iter().filter(|c| c.drifted).find_map(|c| {
        let scalar = PROTECTIONS
            .iter()
            .find(|p| p.attribute == c.attribute && (p.off)(&c.found) && !(p.off)(&c.expected))
            .map(|p| format!("{}: {} (at least major)", c.attribute, p.what));
        scalar.or_else(|| {
            let (_, what) = SET_PROTECTIONS.iter().find(|(a, _)| *a == c.attribute)?;
            let gone = new_items(&c.found, &c.expected).into_iter().next()?;
            Some(format!("{}: {what}: {gone} (at least major)", c.attribute))
        })
    })
}

/// The severity of a change and the reasons.
///
/// In order: the resource type's base; tag-only changes are minor; an exposure (open sensitive
/// port, public access block off, wildcard grant) is critical; otherwise unmanaged resources go
/// down and the environment tag moves it. Then the floors, which no environment lowers: a managed
/// resource deleted by hand is critical, a protection turned off ([`PROTECTIONS`]) at least major.
pub fn severity(resource_type: &str, e: &Evidence<'_>, environment: Option<&str>) -> (Severity, Vec<String>) {
    let mut reasons = Vec::new();
    let mut sev = TYPE_SEVERITY
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map_or(Severity::Minor, |(_, s)| *s);
    reasons.push(format!("{resource_type} is {}", sev.as_str()));
    if e.op == crate::iac::catalog::Op::Access {
        reasons.push("interactive access: nothing declared changed".into());
        return (Severity::Minor, reasons);
    }
    if e.op == crate::iac::catalog::Op::Tag {
        sev = Severity::Minor;
        reasons.push("tags only".into());
    }
    if let Some(why) = exposure(e.changes).or_else(|| external_grant(e.changes, e.account)) {
        sev = Severity::Critical;
        reasons.push(why);
    } else if e.op != crate::iac::catalog::Op::Tag {
        if !e.managed {
            sev = sev.down();
            reasons.push("not managed by IaC".into());
        }
        let env = environment.map(str::to_ascii_lowercase);
        match env.as_deref().and_then(|v| ENVIRONMENTS.iter().find(|(n, _)| *n == v)) {
            Some((name, true)) => {
                sev = sev.up();
                reasons.push(format!("environment {name}"));
            }
            Some((name, false)) => {
                sev = sev.down();
                reasons.push(format!("environment {name}"));
            }
            None => {}
        }
        if e.managed && e.op == crate::iac::catalog::Op::Delete {
            sev = Severity::Critical;
            reasons.push("a managed resource deleted by hand".into());
        } else if let Some(why) = protection_off(e.changes) {
            sev = sev.max(Severity::Major);
            reasons.push(why);
        }
    }
    (sev, reasons)
}

/// A change that exposes the resource: open ingress on a sensitive port, a bucket's public
/// access block turned off, a wildcard IAM grant, a snapshot or image shared publicly or with an
/// account IaC does not declare (EC2 and RDS snapshots, AMIs, RAM resource shares, or a share
/// opened to external principals), new credentials on a user (an access key, an SSH key, a
/// service-specific credential or its reset, a console password, a key activated), logging or
/// detection turned down ([`LOGGING`]).
pub fn exposure(changes: &[AttributeChange]) -> Option<String> {
    for c in changes.iter().filter(|c| c.drifted) {
        match c.attribute.as_str() {
            "ingress" => {
                let added = new_items(&c.expected, &c.found);
                for rule in added {
                    // A security-group rule (`tcp 22 0.0.0.0/0`) or a network ACL entry
                    // (`100 allow tcp 22 0.0.0.0/0`; a deny entry exposes nothing).
                    let parts: Vec<&str> = rule.split(' ').collect();
                    let (port, peer) = match parts.as_slice() {
                        [_no, "allow", _proto, port, peer] => (*port, *peer),
                        [_no, _action, _, _, _] => continue,
                        [_proto, port, peer] => (*port, *peer),
                        _ => continue,
                    };
                    let open = peer == "0.0.0.0/0" || peer == "::/0";
                    let sensitive = SENSITIVE_PORTS.contains(&port) || port_range_covers_sensitive(port);
                    if open && sensitive {
                        return Some(format!("ingress {rule} opens a sensitive port to the internet"));
                    }
                }
            }
            a if c.found == Value::Bool(false)
                && [
                    "block_public_acls",
                    "ignore_public_acls",
                    "block_public_policy",
                    "restrict_public_buckets",
                ]
                .contains(&a.trim_start_matches("public_access_block.")) =>
            {
                return Some(format!("S3 public access block {} turned off", c.attribute));
            }
            a if (a == "policy" || a.starts_with("inline_policy.") || a == "assume_role_policy")
                && grants_wildcard(&c.found) =>
            {
                return Some(format!("{a} grants a wildcard action or principal"));
            }
            a if LOGGING.contains(&(declared_type(c).unwrap_or(""), a)) && c.found == false && c.expected == true => {
                return Some(format!("logging reduced: {a} turned off"));
            }
            "event_selector.0.read_write_type" if c.expected == "All" => {
                return Some(format!("logging reduced: the trail records {} events only", c.found));
            }
            "permissions" => {
                for entry in new_items(&c.expected, &c.found) {
                    let principal = entry.rsplit(": ").next().unwrap_or("");
                    if principal == "*" {
                        return Some(format!("permission {entry} lets anyone invoke the function"));
                    }
                    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit())
                        || principal.starts_with("arn:aws:iam::")
                    {
                        return Some(format!("permission {entry} grants another account"));
                    }
                }
            }
            "authorization_type" if c.found == "NONE" => {
                return Some("function URL opened without authentication (NONE)".to_owned());
            }
            "routes" => {
                let internet = |r: &&str| r.starts_with("0.0.0.0/0 via igw-") || r.starts_with("::/0 via igw-");
                let before: Vec<&str> = new_items(&Value::Null, &c.expected);
                if let Some(route) = new_items(&c.expected, &c.found).into_iter().find(internet) {
                    if !before.iter().any(internet) {
                        return Some(format!("route {route} sends the table's subnets to the internet"));
                    }
                }
            }
            "managed_policy_arns" => {
                let admin = new_items(&c.expected, &c.found)
                    .into_iter()
                    .find(|arn| ADMIN_POLICIES.iter().any(|p| arn.ends_with(&format!(":policy/{p}"))));
                if let Some(arn) = admin {
                    return Some(format!("attaches {arn}"));
                }
            }
            "logging.target_bucket" if c.found.is_null() && !c.expected.is_null() => {
                return Some("logging reduced: bucket access logging turned off".to_owned());
            }
            "lifecycle_rules" => {
                for rule in new_items(&c.expected, &c.found) {
                    let days = rule
                        .rsplit_once(" expire ")
                        .and_then(|(_, d)| d.trim_end_matches('d').parse::<i64>().ok());
                    if rule.contains(" Enabled") && days.is_some_and(|d| d <= SHORT_EXPIRY_DAYS) {
                        return Some(format!("lifecycle rule {rule} deletes objects within days"));
                    }
                }
            }
            "acl" => {
                let public = |v: &Value| match v {
                    Value::String(s) => PUBLIC_ACLS.contains(&s.as_str()),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|g| g.starts_with("AllUsers ") || g.starts_with("AuthenticatedUsers ")),
                    _ => false,
                };
                if public(&c.found) && !public(&c.expected) {
                    return Some(format!("bucket ACL made public ({})", c.found));
                }
            }
            "project_visibility" if c.found == "PUBLIC_READ" => {
                return Some("build project made public (PUBLIC_READ)".to_owned());
            }
            "access_keys" => {
                if let Some(key) = new_items(&c.expected, &c.found).first() {
                    return Some(format!("new access key {key} on the user, which IaC does not declare"));
                }
            }
            "ssh_public_keys" => {
                if let Some(key) = new_items(&c.expected, &c.found).first() {
                    return Some(format!(
                        "new SSH public key {key} on the user, which IaC does not declare"
                    ));
                }
            }
            "service_specific_credentials" => {
                if let Some(id) = new_items(&c.expected, &c.found).first() {
                    return Some(format!(
                        "new service-specific credential {id} on the user, which IaC does not declare"
                    ));
                }
            }
            a if a.starts_with("service_specific_credentials.") && a.ends_with(".password") && c.found == "reset" => {
                return Some(format!("{a} reset by hand: a new secret for the user"));
            }
            "principals" => {
                // A RAM share's principals: an account, an IAM role or user, a service, or an
                // organization / OU of the caller's own organization.
                let inside_org = |p: &str| p.starts_with("arn:aws:organizations::");
                if let Some(p) = new_items(&c.expected, &c.found).into_iter().find(|p| !inside_org(p)) {
                    return Some(format!("resource share shared with {p}, which IaC does not declare"));
                }
            }
            "allow_external_principals" if c.found == true && c.expected != true => {
                return Some("resource share opened to principals outside the organization".to_owned());
            }
            "login_profile" if c.found == "present" => {
                return Some("console password (login profile) created by hand".to_owned());
            }
            a if (a.starts_with("access_keys.")
                || a.starts_with("ssh_public_keys.")
                || a.starts_with("service_specific_credentials."))
                && a.ends_with(".status")
                && c.found == "Active" =>
            {
                return Some(format!("{a} activated by hand"));
            }
            "create_volume_permission" | "launch_permission" | "shared_accounts" => {
                if let Some(first) = new_items(&c.expected, &c.found).first() {
                    return Some(
                        if *first == "all" || new_items(&c.expected, &c.found).contains(&"all") {
                            format!("{} made public (shared with all)", c.attribute)
                        } else {
                            format!(
                                "{} shared with account {first}, which IaC does not declare",
                                c.attribute
                            )
                        },
                    );
                }
            }
            "inline_policy" if c.found.as_object().is_some_and(|m| m.values().any(grants_wildcard)) => {
                return Some("inline_policy grants a wildcard action or principal".to_owned());
            }
            _ => {}
        }
    }
    None
}

fn new_items<'v>(expected: &'v Value, found: &'v Value) -> Vec<&'v str> {
    let before: Vec<&str> = expected
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|r| !before.contains(r))
        .collect()
}

fn port_range_covers_sensitive(port: &str) -> bool {
    let Some((a, b)) = port.split_once('-') else {
        return false;
    };
    let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
        return false;
    };
    SENSITIVE_PORTS
        .iter()
        .filter_map(|p| p.parse::<u32>().ok())
        .any(|p| a <= p && p <= b)
}

/// A drifted policy (resource policy, trust policy, inline policy) that newly grants an AWS
/// account other than the resource's own: a principal IaC does not declare.
pub fn external_grant(changes: &[AttributeChange], account: &str) -> Option<String> {
    if account.is_empty() {
        return None;
    }
    changes.iter().filter(|c| c.drifted).find_map(|c| {
        let a = c.attribute.as_str();
        if a != "policy" && a != "assume_role_policy" && !a.starts_with("inline_policy") {
            return None;
        }
        let before = principal_accounts(&c.expected);
        principal_accounts(&c.found)
            .into_iter()
            .find(|p| p != account && !before.contains(p))
            .map(|p| format!("{a} grants account {p}, outside the resource's account"))
    })
}

/// The AWS accounts an allowing policy names as principals (`123456789012`,
/// `arn:aws:iam::123456789012:root`, a role or user ARN), at any depth of an inline-policy map.
fn principal_accounts(policy: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => {
            if let Value::Object(m) = policy {
                for v in m.values() {
                    out.extend(principal_accounts(v));
                }
            }
            return out;
        }
    };
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let aws = match s.get("Principal") {
            Some(Value::Object(m)) => m.get("AWS"),
            Some(p @ Value::String(_)) => Some(p),
            _ => None,
        };
        let names: Vec<&str> = match aws {
            Some(Value::String(p)) => vec![p.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for n in names {
            let id = n
                .strip_prefix("arn:aws:iam::")
                .map_or(n, |rest| rest.split(':').next().unwrap_or(""));
            if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) && !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
    }
    out
}

/// True when an (already normalised) policy allows `*`, `service:*`, or a `*` principal.
fn grants_wildcard(policy: &Value) -> bool {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => return false,
    };
    let any_str = |v: Option<&Value>, pred: &dyn Fn(&str) -> bool| match v {
        Some(Value::String(s)) => pred(s),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(pred),
        Some(Value::Object(m)) => m.values().any(|x| match x {
            Value::String(s) => pred(s),
            Value::Array(a) => a.iter().filter_map(Value::as_str).any(pred),
            _ => false,
        }),
        _ => false,
    };
    statements.iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && (any_str(s.get("Action"), &|a| a == "*" || a.ends_with(":*"))
                || any_str(s.get("Principal"), &|p| p == "*"))
    })
}
