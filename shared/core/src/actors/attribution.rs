//! Who made a change: IaC, a human (console / CLI / CloudShell / SDK), an AWS service, or other
//! automation, and the rule that decided.
//!
//! Precedence is fixed and visible in the tables: configured principals (role ARN globs, OIDC
//! providers) first, then [`BUILTIN_RULES`] in order — identity type / invokedBy /
//! sourceIPAddress, then `sessionCredentialFromConsole`, then userAgent patterns. The first rule
//! that matches decides; its id travels with the [`Actor`].

use crate::input::record::ApiCall;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The class of actor behind a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An infrastructure-as-code pipeline (Terraform, OpenTofu, CloudFormation, CDK, SAM, Pulumi, Crossplane).
    Iac,
    /// A person: console, CLI, CloudShell, or an SDK script.
    Human,
    /// An AWS service acting on its own (Auto Scaling, Config, service-linked roles).
    AwsService,
    /// Other automation (Cloud Custodian, Lambda functions, agents, DriftGuard's own remediation).
    Automation,
    /// Not known: AWS Config saw the change and no CloudTrail call has been joined to it (yet).
    Unknown,
}

/// How the change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// AWS Management Console.
    Console,
    /// AWS CLI.
    Cli,
    /// AWS CloudShell.
    CloudShell,
    /// An AWS SDK (a script or program).
    Sdk,
    /// An IaC engine.
    Iac,
    /// An AWS service.
    Service,
    /// A known automation tool.
    Automation,
    /// Nothing identifies the channel.
    Other,
}

/// The attributed actor of one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// The class of actor.
    pub kind: ActorKind,
    /// How the change was made.
    pub channel: Channel,
    /// The tool, when known (`Terraform`, `CloudFormation`, `Cloud Custodian`, ...).
    pub tool: Option<String>,
    /// The calling principal's ARN (`userIdentity.arn`).
    pub principal: Option<String>,
    /// The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`).
    pub role: Option<String>,
    /// The person behind the call, for humans: IAM user, SSO user, session name or sourceIdentity.
    pub human: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// The id of the rule that decided.
    pub rule: String,
}

/// A field of the call that a rule can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `userIdentity.type`.
    IdentityType,
    /// `userIdentity.invokedBy`.
    InvokedBy,
    /// `sourceIPAddress`.
    SourceIp,
    /// `userAgent`.
    UserAgent,
    /// The role name behind an assumed-role session.
    RoleName,
    /// The role ARN behind an assumed-role session.
    RoleArn,
}

/// A test on one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// Equal to.
    Is(&'static str),
    /// Contains.
    Contains(&'static str),
    /// Contains, ignoring ASCII case (the needle must be lower case).
    ContainsNoCase(&'static str),
    /// Starts with.
    StartsWith(&'static str),
    /// Ends with.
    EndsWith(&'static str),
    /// Matches a glob (`*`, `?`).
    Glob(&'static str),
}

/// The condition of a built-in rule.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Any of these field tests holds.
    Any(&'static [(Field, Test)]),
    /// `sessionCredentialFromConsole` is true and, when the list is not empty, any of these tests holds.
    ConsoleSession(&'static [(Field, Test)]),
}

/// One row of the built-in attribution table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id, reported with every decision.
    pub id: &'static str,
    /// When it applies.
    pub when: When,
    /// The actor class it decides.
    pub kind: ActorKind,
    /// The channel it decides.
    pub channel: Channel,
    /// The tool, when the rule names one.
    pub tool: Option<&'static str>,
}

use ActorKind as K;
use Channel as C;
use Field as F;
use Test as T;

const fn rule(id: &'static str, when: When, kind: ActorKind, channel: Channel, tool: Option<&'static str>) -> Rule {
    Rule {
        id,
        when,
        kind,
        channel,
        tool,
    }
}

/// The built-in rules, in precedence order (configured principals come before all of them).
pub static BUILTIN_RULES: &[Rule] = &[
    // Tier 2: identity type, invokedBy, sourceIPAddress.
    rule(
        "identity.cloudformation",
        When::Any(&[
            (F::InvokedBy, T::Is("cloudformation.amazonaws.com")),
            (F::SourceIp, T::Is("cloudformation.amazonaws.com")),
        ]),
        K::Iac,
        C::Iac,
        Some("CloudFormation"),
    ),
    rule(
        "identity.cdk-exec-role",
        When::Any(&[(F::RoleName, T::Glob("cdk-*-cfn-exec-role-*"))]),
        K::Iac,
        C::Iac,
        Some("CDK"),
    ),
    rule(
        "identity.service-linked-role",
        When::Any(&[(F::RoleArn, T::Contains(":role/aws-service-role/"))]),
        K::AwsService,
        C::Service,
        None,
    ),
    rule(
        "identity.aws-service",
        When::Any(&[(F::IdentityType, T::Is("AWSService"))]),
        K::AwsService,
        C::Service,
        None,
    ),
    rule(
        "identity.invoked-by-service",
        When::Any(&[
            (F::InvokedBy, T::EndsWith(".amazonaws.com")),
            (F::InvokedBy, T::Is("AWS Internal")),
        ]),
        K::AwsService,
        C::Service,
        None,
    ),
    rule(
        "identity.service-source-ip",
        When::Any(&[
            (F::SourceIp, T::EndsWith(".amazonaws.com")),
            (F::SourceIp, T::Is("AWS Internal")),
        ]),
        K::AwsService,
        C::Service,
        None,
    ),
    // Tier 3: console sessions.
    // CloudShell runs the CLI on console credentials: the agent tells it apart.
    rule(
        "session.cloudshell",
        When::ConsoleSession(&[(F::UserAgent, T::Contains("exec-env/CloudShell"))]),
        K::Human,
        C::CloudShell,
        None,
    ),
    rule(
        "session.console-credential",
        When::ConsoleSession(&[]),
        K::Human,
        C::Console,
        None,
    ),
    // Tier 4: userAgent patterns, most specific first.
    rule(
        "agent.cloud-custodian",
        When::Any(&[
            (F::UserAgent, T::Contains("CloudCustodian")),
            (F::UserAgent, T::StartsWith("c7n")),
        ]),
        K::Automation,
        C::Automation,
        Some("Cloud Custodian"),
    ),
    rule(
        "agent.pulumi",
        When::Any(&[(F::UserAgent, T::ContainsNoCase("pulumi"))]),
        K::Iac,
        C::Iac,
        Some("Pulumi"),
    ),
    rule(
        "agent.crossplane",
        When::Any(&[
            (F::UserAgent, T::ContainsNoCase("crossplane")),
            (F::UserAgent, T::Contains("upbound/provider-aws")),
        ]),
        K::Iac,
        C::Iac,
        Some("Crossplane"),
    ),
    rule(
        "agent.opentofu",
        When::Any(&[(F::UserAgent, T::ContainsNoCase("opentofu"))]),
        K::Iac,
        C::Iac,
        Some("OpenTofu"),
    ),
    rule(
        "agent.terraform",
        When::Any(&[
            (F::UserAgent, T::Contains("Terraform/")),
            (F::UserAgent, T::Contains("terraform-provider-aws")),
            (F::UserAgent, T::Contains("HashiCorp-terraform-exec")),
        ]),
        K::Iac,
        C::Iac,
        Some("Terraform"),
    ),
    rule(
        "agent.cdk",
        When::Any(&[(F::UserAgent, T::Contains("aws-cdk"))]),
        K::Iac,
        C::Iac,
        Some("CDK"),
    ),
    rule(
        "agent.sam",
        When::Any(&[
            (F::UserAgent, T::ContainsNoCase("aws-sam-cli")),
            (F::UserAgent, T::Contains("AWS_SAM_CLI")),
        ]),
        K::Iac,
        C::Iac,
        Some("SAM"),
    ),
    rule(
        "agent.cloudformation",
        When::Any(&[(F::UserAgent, T::Is("cloudformation.amazonaws.com"))]),
        K::Iac,
        C::Iac,
        Some("CloudFormation"),
    ),
    rule(
        "agent.cloudshell",
        When::Any(&[(F::UserAgent, T::Contains("exec-env/CloudShell"))]),
        K::Human,
        C::CloudShell,
        None,
    ),
    rule(
        "agent.console",
        When::Any(&[
            (F::UserAgent, T::Is("console.amazonaws.com")),
            (F::UserAgent, T::Is("signin.amazonaws.com")),
            (F::UserAgent, T::StartsWith("console.")),
            (F::UserAgent, T::Contains("Console/")),
            (F::UserAgent, T::StartsWith("Mozilla/")),
            (F::UserAgent, T::StartsWith("[Mozilla/")),
        ]),
        K::Human,
        C::Console,
        None,
    ),
    rule(
        "agent.lambda-function",
        When::Any(&[(F::UserAgent, T::Contains("exec-env/AWS_Lambda"))]),
        K::Automation,
        C::Automation,
        Some("Lambda function"),
    ),
    rule(
        "agent.ssm-agent",
        When::Any(&[(F::UserAgent, T::Contains("amazon-ssm-agent"))]),
        K::Automation,
        C::Automation,
        Some("SSM Agent"),
    ),
    rule(
        "agent.aws-cli",
        When::Any(&[
            (F::UserAgent, T::StartsWith("aws-cli/")),
            (F::UserAgent, T::StartsWith("[aws-cli/")),
        ]),
        K::Human,
        C::Cli,
        None,
    ),
    rule(
        "agent.sdk",
        When::Any(&[
            (F::UserAgent, T::Contains("Boto3/")),
            (F::UserAgent, T::Contains("botocore/")),
            (F::UserAgent, T::Contains("aws-sdk-")),
            (F::UserAgent, T::Contains("aws-sdk/")),
        ]),
        K::Human,
        C::Sdk,
        None,
    ),
    rule(
        "agent.aws-internal",
        When::Any(&[
            (F::UserAgent, T::Is("AWS Internal")),
            (F::UserAgent, T::EndsWith(".amazonaws.com")),
        ]),
        K::AwsService,
        C::Service,
        None,
    ),
];

/// The id of the rule that decides when nothing else matches.
pub const FALLBACK_RULE: &str = "fallback.other-automation";

/// A principal the operator declares: its calls are attributed as configured, before any
/// built-in rule. Every set pattern must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalRule {
    /// Rule id reported with decisions (defaults to `principal.<index>`).
    #[serde(default)]
    pub id: Option<String>,
    /// Glob on the role behind the session, or on the caller's ARN for users.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// Glob on `webIdFederationData.federatedProvider` (e.g. `*token.actions.githubusercontent.com`).
    #[serde(default)]
    pub oidc_provider: Option<String>,
    /// Glob on the session name (e.g. `GitHubActions*`).
    #[serde(default)]
    pub session_name: Option<String>,
    /// The class these calls belong to (default `iac`).
    #[serde(default = "default_kind")]
    pub kind: ActorKind,
    /// The tool to report (e.g. `Terraform`).
    #[serde(default)]
    pub tool: Option<String>,
}

fn default_kind() -> ActorKind {
    ActorKind::Iac
}

/// Attribution settings: the operator's declared principals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    /// Declared principals, tried in order before the built-in rules.
    #[serde(default)]
    pub principals: Vec<PrincipalRule>,
    /// Globs on the roles DriftGuard's remediation runs as (the central function's role and the
    /// member accounts' remediation roles). A call carrying the remediation marker in its user
    /// agent counts as DriftGuard's own only from one of these roles: anyone can set a user agent.
    #[serde(default)]
    pub remediation_roles: Vec<String>,
}

impl AttributionConfig {
    /// These principals and remediation roles, then `later`'s (principals are tried in order,
    /// so the earlier source's decide where both match).
    pub fn followed_by(mut self, later: &AttributionConfig) -> Self {
        self.principals.extend(later.principals.iter().cloned());
        self.remediation_roles.extend(later.remediation_roles.iter().cloned());
        self
    }
}

/// The user-agent application name prefix of DriftGuard's remediation calls; the finding id
/// follows (`app/driftguard-remediation-dg-1500731b7ee4b0bc` in CloudTrail's `userAgent`).
pub const REMEDIATION_APP_PREFIX: &str = "driftguard-remediation-";

/// The rule id of a call made by DriftGuard's remediation (marker and role both match).
pub const REMEDIATION_RULE: &str = "driftguard.remediation";

/// The finding a remediation call was made for, from its user agent.
pub fn remediated_finding(user_agent: &str) -> Option<&str> {
    let at = user_agent.find(REMEDIATION_APP_PREFIX)? + REMEDIATION_APP_PREFIX.len();
    let rest = &user_agent[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|id| id.starts_with("dg-") && id.len() > 3)
}

/// The facts of a call that attribution reads.
#[derive(Debug, Default)]
struct Facts<'c> {
    identity_type: &'c str,
    arn: &'c str,
    role_arn: &'c str,
    role_name: &'c str,
    session_name: &'c str,
    invoked_by: &'c str,
    source_ip: &'c str,
    user_agent: &'c str,
    oidc_provider: &'c str,
    /// `user_agent` in ASCII lower case, made the first time a rule asks for it.
    user_agent_lower: std::cell::OnceCell<String>,
}

impl<'c> Facts<'c> {
    fn of(call: &'c ApiCall<'_>) -> Self {
        let id = &call.identity;
        let issuer = id.session_context.as_ref().and_then(|s| s.session_issuer.as_ref());
        let arn = id.arn.as_deref().unwrap_or("");
        let role_arn = issuer.and_then(|i| i.arn.as_deref()).unwrap_or("");
        let assumed = assumed_role_parts(arn);
        let role_name = issuer
            .and_then(|i| i.user_name.as_deref())
            .or_else(|| assumed.map(|(role, _)| role))
            .unwrap_or("");
        Facts {
            identity_type: id.kind.as_deref().unwrap_or(""),
            arn,
            role_arn: if role_arn.is_empty() { arn } else { role_arn },
            role_name,
            session_name: assumed.map(|(_, s)| s).unwrap_or(""),
            invoked_by: id.invoked_by.as_deref().unwrap_or(""),
            source_ip: call.source_ip.as_deref().unwrap_or(""),
            user_agent: call.user_agent.as_deref().unwrap_or(""),
            oidc_provider: id
                .session_context
                .as_ref()
                .and_then(|s| s.web_id_federation_data.as_ref())
                .and_then(|w| w.federated_provider.as_deref())
                .unwrap_or(""),
            user_agent_lower: std::cell::OnceCell::new(),
        }
    }

    /// A field in ASCII lower case (the user agent's computed once per call).
    fn lowered(&self, f: Field) -> Cow<'_, str> {
        match f {
            Field::UserAgent => Cow::Borrowed(
                self.user_agent_lower
                    .get_or_init(|| self.user_agent.to_ascii_lowercase()),
            ),
            other => Cow::Owned(self.field(other).to_ascii_lowercase()),
        }
    }

    fn field(&self, f: Field) -> &'c str {
        match f {
            Field::IdentityType => self.identity_type,
            Field::InvokedBy => self.invoked_by,
            Field::SourceIp => self.source_ip,
            Field::UserAgent => self.user_agent,
            Field::RoleName => self.role_name,
            Field::RoleArn => self.role_arn,
        }
    }
}

/// `arn:aws:sts::123:assumed-role/ROLE/SESSION` → `(ROLE, SESSION)`.
fn assumed_role_parts(arn: &str) -> Option<(&str, &str)> {
    // The resource is the sixth `:`-separated field: split rather than search the whole ARN.
    let resource = arn.splitn(6, ':').nth(5)?;
    resource.strip_prefix("assumed-role/")?.split_once('/')
}

impl Test {
    /// Whether the test holds for `value`; `lowered` gives it in ASCII lower case.
    fn holds<'v>(self, value: &str, lowered: impl FnOnce() -> Cow<'v, str>) -> bool {
        match self {
            Test::Is(s) => value == s,
            Test::Contains(s) => value.contains(s),
            Test::ContainsNoCase(s) => lowered().contains(s),
            Test::StartsWith(s) => value.starts_with(s),
            Test::EndsWith(s) => value.ends_with(s),
            Test::Glob(p) => glob_match(p, value),
        }
    }
}

/// Glob match with `*` (any run, including empty) and `?` (one byte).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((bp, bt)) = backtrack {
            pi = bp + 1;
            ti = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

impl PrincipalRule {
    fn matches(&self, f: &Facts<'_>) -> bool {
        let any_set = self.role_arn.is_some() || self.oidc_provider.is_some() || self.session_name.is_some();
        let ok = |pattern: &Option<String>, value: &str| pattern.as_deref().is_none_or(|p| glob_match(p, value));
        any_set
            && ok(&self.role_arn, f.role_arn)
            && ok(&self.oidc_provider, f.oidc_provider)
            && ok(&self.session_name, f.session_name)
    }
}

/// Attributes calls according to the configured principals and the built-in table.
#[derive(Debug, Clone, Default)]
pub struct Attributor {
    principals: Vec<(String, PrincipalRule)>,
    remediation_roles: Vec<String>,
    /// The built-in table's decisions by the fields its rules read ([`builtin_key`]): CloudTrail
    /// repeats the same principals and user agents, and a scan of the table costs ~25 string
    /// tests. At most [`DECISIONS_KEPT`]; shared by clones.
    decisions: Arc<Mutex<HashMap<Vec<u8>, Option<usize>>>>,
}

/// How many built-in decisions an attributor keeps.
const DECISIONS_KEPT: usize = 1024;

/// What the built-in rules read of a call, length-prefixed so no two calls that differ share a
/// key.
fn builtin_key(call: &ApiCall<'_>, f: &Facts<'_>) -> Vec<u8> {
    let fields = [
        f.identity_type,
        f.invoked_by,
        f.source_ip,
        f.user_agent,
        f.role_name,
        f.role_arn,
    ];
    let mut key = Vec::with_capacity(1 + fields.iter().map(|v| v.len() + 4).sum::<usize>());
    key.push(u8::from(call.from_console));
    for v in fields {
        key.extend_from_slice(&(v.len() as u32).to_le_bytes());
        key.extend_from_slice(v.as_bytes());
    }
    key
}

impl Attributor {
    /// An attributor with the operator's declared principals.
    pub fn new(config: &AttributionConfig) -> Self {
        let principals = config
            .principals
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone().unwrap_or_else(|| format!("principal.{i}")), p.clone()))
            .collect();
        Attributor {
            principals,
            remediation_roles: config.remediation_roles.clone(),
            decisions: Arc::default(),
        }
    }

    /// The first built-in rule that applies to `call`, by its index, remembered.
    fn builtin_rule(&self, call: &ApiCall<'_>, facts: &Facts<'_>) -> Option<&'static Rule> {
        let key = builtin_key(call, facts);
        // A poisoned lock only means another thread panicked mid-insert: the map is still whole.
        let kept = self
            .decisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .copied();
        let index = kept.unwrap_or_else(|| {
            let found = BUILTIN_RULES.iter().position(|r| r.applies(call, facts));
            let mut decisions = self.decisions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if decisions.len() >= DECISIONS_KEPT {
                decisions.clear();
            }
            decisions.insert(key, found);
            found
        });
        index.and_then(|i| BUILTIN_RULES.get(i))
    }

    /// Decides who made `call`.
    pub fn attribute(&self, call: &ApiCall<'_>) -> Actor {
        let facts = Facts::of(call);
        // Cheapest test first: most deployments' calls stop at the role check, and the user
        // agent is scanned only for a call from a remediation role.
        let remediation = !facts.role_arn.is_empty()
            && self.remediation_roles.iter().any(|g| glob_match(g, facts.role_arn))
            && call.user_agent.as_deref().and_then(remediated_finding).is_some();
        let (kind, channel, tool, rule): (ActorKind, Channel, Option<String>, String) = if remediation {
            (
                ActorKind::Automation,
                Channel::Automation,
                Some("DriftGuard remediation".to_owned()),
                REMEDIATION_RULE.to_owned(),
            )
        } else if let Some((id, p)) = self.principals.iter().find(|(_, p)| p.matches(&facts)) {
            let channel = match p.kind {
                ActorKind::Iac => Channel::Iac,
                ActorKind::AwsService => Channel::Service,
                ActorKind::Automation => Channel::Automation,
                ActorKind::Human | ActorKind::Unknown => Channel::Other,
            };
            (p.kind, channel, p.tool.clone(), id.clone())
        } else if let Some(r) = self.builtin_rule(call, &facts) {
            (r.kind, r.channel, r.tool.map(str::to_owned), r.id.to_owned())
        } else {
            (ActorKind::Automation, Channel::Other, None, FALLBACK_RULE.to_owned())
        };
        let human = (kind == ActorKind::Human).then(|| human_behind(call, &facts)).flatten();
        Actor {
            kind,
            channel,
            tool,
            principal: (!facts.arn.is_empty()).then(|| facts.arn.to_owned()),
            role: (!facts.role_arn.is_empty() && facts.role_arn != facts.arn).then(|| facts.role_arn.to_owned()),
            human,
            source_ip: call.source_ip.as_deref().map(str::to_owned),
            user_agent: call.user_agent.as_deref().map(str::to_owned),
            rule,
        }
    }
}

impl Rule {
    fn applies(&self, call: &ApiCall<'_>, f: &Facts<'_>) -> bool {
        let any = |tests: &[(Field, Test)]| {
            tests.iter().any(|(field, test)| {
                let v = f.field(*field);
                !v.is_empty() && test.holds(v, || f.lowered(*field))
            })
        };
        match self.when {
            When::ConsoleSession(tests) => call.from_console && (tests.is_empty() || any(tests)),
            When::Any(tests) => any(tests),
        }
    }
}

/// The person behind a human call: sourceIdentity, the SSO user, the IAM user, or the session name.
fn human_behind(call: &ApiCall<'_>, f: &Facts<'_>) -> Option<String> {
    let id = &call.identity;
    if let Some(src) = id.session_context.as_ref().and_then(|s| s.source_identity.as_deref()) {
        return Some(src.to_owned());
    }
    match f.identity_type {
        "Root" => Some("root".to_owned()),
        "IAMUser" => id.user_name.as_deref().map(str::to_owned),
        "IdentityCenterUser" => id
            .on_behalf_of
            .as_ref()
            .and_then(|o| o.user_id.as_deref())
            .map(str::to_owned),
        "FederatedUser" => f.arn.rsplit_once(":federated-user/").map(|(_, name)| name.to_owned()),
        _ if !f.session_name.is_empty() => Some(f.session_name.to_owned()),
        _ => id.user_name.as_deref().map(str::to_owned),
    }
}

/// The IAM Identity Center permission set behind an `AWSReservedSSO_<set>_<hex>` role, if any.
pub fn sso_permission_set(role_name: &str) -> Option<&str> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    Some(rest.rsplit_once('_').map_or(rest, |(set, _)| set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "arn:aws:iam::*:role/github-*",
            "arn:aws:iam::123456789012:role/github-actions-terraform"
        ));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("arn:*:role/ci", "arn:aws:iam::1:role/ci-2"));
        assert!(glob_match("*ci*", "my-ci-role"));
    }

    #[test]
    fn sso_permission_sets() {
        assert_eq!(
            sso_permission_set("AWSReservedSSO_AdministratorAccess_0123456789abcdef"),
            Some("AdministratorAccess")
        );
        assert_eq!(sso_permission_set("app-runtime"), None);
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = BUILTIN_RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len());
    }
}
