//! The DriftGuard configuration file: one TOML document holding what outgrows an environment
//! variable — the declared principals, the ignore rules and the Slack routes. The CLI reads it
//! with `--config FILE`, the functions from the location `DRIFTGUARD_CONFIG` names (an SSM
//! parameter or an S3 object), and `driftguard config validate FILE` runs the very checks a
//! function runs at start.
//!
//! ```toml
//! remediation_roles = ["arn:aws:iam::*:role/driftguard-remediate*"]
//! ignore = [
//!   "aws_s3_bucket app-logs tags.CostCenter",
//! ]
//!
//! [[principals]]
//! id = "gha-terraform"
//! role_arn = "arn:aws:iam::*:role/github-actions-terraform"
//! tool = "Terraform"
//!
//! [[slack.routes]]
//! channel = "C0123456789"
//! severity = ["critical"]
//! ```
//!
//! Every problem is reported with the line it is on: a configuration pushed by hand is wrong
//! somewhere specific, and the person fixing it needs to know where.

use crate::attribution::{AttributionConfig, PrincipalRule};
use crate::ignore::IgnoreRules;
use crate::notify::Route;
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

/// The largest configuration read (bytes): far beyond any real one, small enough that a wrong
/// object named as the configuration is refused before it is parsed.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// A checked configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigFile {
    /// Principals and remediation roles, for attribution.
    pub attribution: AttributionConfig,
    /// The ignore rules the file lists, one per entry (without the built-in rules).
    pub ignore: Vec<String>,
    /// Slack routes, first match wins (empty: the functions' environment decides).
    pub routes: Vec<Route>,
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line (0 when the problem is the whole file, e.g. its size).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Why a configuration was refused: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (a path, `ssm:NAME`, `s3://…`).
    pub origin: String,
    /// At least one.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match p.line {
                0 => write!(f, "{}: {}", self.origin, p.message)?,
                line => write!(f, "{}:{line}:{}: {}", self.origin, p.column, p.message)?,
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    principals: Vec<Spanned<PrincipalRule>>,
    #[serde(default)]
    remediation_roles: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    slack: Option<RawSlack>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    #[serde(default)]
    routes: Vec<Spanned<Route>>,
}

impl ConfigFile {
    /// Reads and checks `text`, read from `origin`.
    pub fn parse(origin: &str, text: &str) -> Result<Self, ConfigError> {
        let refuse = |problems: Vec<Problem>| ConfigError {
            origin: origin.to_owned(),
            problems,
        };
        if text.len() > MAX_CONFIG_BYTES {
            return Err(refuse(vec![Problem {
                line: 0,
                column: 0,
                message: format!(
                    "{} bytes: a configuration is at most {MAX_CONFIG_BYTES} bytes",
                    text.len()
                ),
            }]));
        }
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            // The parser gives some errors (a control character in a comment) no message.
            let message = match e.message().trim_end() {
                "" => "not valid TOML here (a control character, or a value cut short)".to_owned(),
                m => m.to_owned(),
            };
            refuse(vec![problem(text, at, message)])
        })?;
        let mut problems = Vec::new();
        let mut principals = Vec::new();
        for (i, rule) in raw.principals.into_iter().enumerate() {
            let at = rule.span().start;
            let rule = rule.into_inner();
            let patterns = [&rule.role_arn, &rule.oidc_provider, &rule.session_name];
            if patterns
                .iter()
                .all(|p| p.as_deref().is_none_or(|s| s.trim().is_empty()))
            {
                problems.push(problem(
                    text,
                    at,
                    format!(
                        "principal {} sets no pattern (role_arn, oidc_provider or session_name), so it would claim every call",
                        rule.id.clone().unwrap_or_else(|| format!("#{}", i + 1))
                    ),
                ));
            }
            principals.push(rule);
        }
        let mut remediation_roles = Vec::new();
        for role in raw.remediation_roles {
            if role.get_ref().trim().is_empty() || role.get_ref().trim() == "*" {
                problems.push(problem(
                    text,
                    role.span().start,
                    "a remediation role must name roles: an empty or `*` pattern would let any caller pass as DriftGuard"
                        .into(),
                ));
            }
            remediation_roles.push(role.into_inner());
        }
        let mut ignore = Vec::new();
        for rule in raw.ignore {
            let at = rule.span().start;
            let line = rule.into_inner();
            if let Err(e) = IgnoreRules::with_file("ignore", &line) {
                problems.push(problem(text, at, format!("ignore rule {:?}: {}", line, e.message)));
            } else if line.lines().count() > 1 {
                problems.push(problem(text, at, "one ignore rule per entry".into()));
            }
            ignore.push(line);
        }
        let mut routes = Vec::new();
        for route in raw.slack.map(|s| s.routes).unwrap_or_default() {
            let at = route.span().start;
            let route = route.into_inner();
            if route.channel.trim().is_empty() {
                problems.push(problem(text, at, "a Slack route needs a channel".into()));
            }
            routes.push(route);
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(refuse(problems));
        }
        Ok(ConfigFile {
            attribution: AttributionConfig {
                principals,
                remediation_roles,
            },
            ignore,
            routes,
        })
    }

    /// The environment's attribution and ignore rules with this file's added: principals and
    /// remediation roles after theirs, ignore rules after theirs (a later rule wins, so the
    /// file's decide where both match).
    pub fn added_to(
        &self,
        origin: &str,
        attribution: &AttributionConfig,
        ignore: &IgnoreRules,
    ) -> (AttributionConfig, IgnoreRules) {
        (
            attribution.clone().followed_by(&self.attribution),
            ignore.clone().extended(&self.ignore_rules(origin)),
        )
    }

    /// The built-in ignore rules followed by the file's, each named `<origin>:<entry>`.
    pub fn ignore_rules(&self, origin: &str) -> IgnoreRules {
        // Every entry was checked by `parse`, so this cannot fail; an empty set is the fallback.
        IgnoreRules::with_file(origin, &self.ignore.join("\n")).unwrap_or_else(|_| IgnoreRules::builtin())
    }
}

/// The attribution and ignore rules the environment gives, read the same way by every function
/// and by the CLI: `DRIFTGUARD_IAC_PRINCIPALS` (a JSON array of `[[principals]]` tables),
/// `DRIFTGUARD_REMEDIATION_ROLES` (comma-separated globs on role ARNs) and
/// `DRIFTGUARD_IGNORE_RULES` (`.driftignore` lines, separated by newlines or `;`; the built-in
/// rules always apply). The configuration file's are added to these ([`ConfigFile::added_to`]).
pub fn settings_from_env(
    env: &crate::env::Env<impl Fn(&str) -> Option<String>>,
) -> Result<(AttributionConfig, IgnoreRules), crate::env::EnvError> {
    let principals: Vec<PrincipalRule> = env.json("DRIFTGUARD_IAC_PRINCIPALS")?.unwrap_or_default();
    let remediation_roles = env
        .optional("DRIFTGUARD_REMEDIATION_ROLES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let ignore_text = env
        .optional("DRIFTGUARD_IGNORE_RULES")
        .unwrap_or_default()
        .replace(';', "\n");
    let ignore = IgnoreRules::with_file("DRIFTGUARD_IGNORE_RULES", &ignore_text)
        .map_err(|e| crate::env::invalid("DRIFTGUARD_IGNORE_RULES", e))?;
    Ok((
        AttributionConfig {
            principals,
            remediation_roles,
        },
        ignore,
    ))
}

/// A problem at byte offset `at` of `text`.
fn problem(text: &str, at: usize, message: String) -> Problem {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Problem { line, column, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::ActorKind;
    use crate::score::Severity;

    const GOOD: &str = r#"# DriftGuard configuration
remediation_roles = ["arn:aws:iam::*:role/driftguard-remediate*"]
ignore = [
  "aws_s3_bucket app-logs tags.CostCenter",
  "!aws_s3_bucket app-logs tags.Owner",
]

[[principals]]
id = "gha-terraform"
role_arn = "arn:aws:iam::*:role/github-actions-terraform"
tool = "Terraform"

[[principals]]
id = "custodian"
role_arn = "arn:aws:iam::*:role/cloud-custodian"
kind = "automation"

[[slack.routes]]
channel = "C0CRITICAL"
severity = ["critical"]
"#;

    fn problems(text: &str) -> Vec<(usize, String)> {
        let e = ConfigFile::parse("driftguard.toml", text).expect_err("refused");
        e.problems.into_iter().map(|p| (p.line, p.message)).collect()
    }

    #[test]
    fn a_whole_configuration_is_read() {
        let c = ConfigFile::parse("driftguard.toml", GOOD).expect("valid");
        assert_eq!(c.attribution.principals.len(), 2);
        assert_eq!(c.attribution.principals[1].kind, ActorKind::Automation);
        assert_eq!(c.attribution.remediation_roles.len(), 1);
        assert_eq!(c.ignore.len(), 2);
        let rules = c.ignore_rules("ssm:/dg");
        assert_eq!(rules.rules().len(), crate::ignore::BUILTIN.len() + 2);
        assert_eq!(c.routes[0].severity, vec![Severity::Critical]);
        assert_eq!(ConfigFile::parse("empty", "").expect("valid"), ConfigFile::default());
        let env = AttributionConfig {
            principals: Vec::new(),
            remediation_roles: vec!["arn:aws:iam::1:role/dg".into()],
        };
        let env_ignore = IgnoreRules::with_file("env", "aws_s3_bucket app-logs tags.Owner").expect("rule");
        let (attribution, ignore) = c.added_to("ssm:/dg", &env, &env_ignore);
        assert_eq!(attribution.principals.len(), 2);
        assert_eq!(attribution.remediation_roles.len(), 2, "the environment's first");
        assert_eq!(attribution.remediation_roles[0], "arn:aws:iam::1:role/dg");
        let texts: Vec<&str> = ignore.rules().iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts[texts.len() - 3..],
            [
                "aws_s3_bucket app-logs tags.Owner",
                "aws_s3_bucket app-logs tags.CostCenter",
                "!aws_s3_bucket app-logs tags.Owner"
            ],
            "the file's rules after the environment's: its re-include wins"
        );
    }

    #[test]
    fn each_kind_of_mistake_names_its_line() {
        // TOML syntax.
        let p = problems("ignore = [\n  \"aws_s3_bucket a\",\n  oops\n]\n");
        assert_eq!(p[0].0, 3, "{p:?}");
        // A key nothing reads (a typo).
        let p = problems("[[principals]]\nid = \"x\"\nrole_arm = \"arn:aws:iam::*:role/x\"\n");
        assert_eq!(p[0].0, 3, "{p:?}");
        assert!(p[0].1.contains("role_arm"), "{p:?}");
        // A value of the wrong kind.
        let p = problems("\n[[principals]]\nrole_arn = \"r\"\nkind = \"robot\"\n");
        assert_eq!(p[0].0, 4, "{p:?}");
        assert!(p[0].1.contains("robot"), "{p:?}");
        // A principal that would claim every call.
        let p = problems("[[principals]]\nrole_arn = \"arn:x\"\n\n[[principals]]\nid = \"all\"\ntool = \"T\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, 4, "the second principal's table: {p:?}");
        assert!(p[0].1.contains("principal all sets no pattern"), "{p:?}");
        // A malformed ignore rule, among good ones.
        let p = problems("ignore = [\n  \"aws_s3_bucket a\",\n  \"aws_s3_bucket\",\n]\n");
        assert_eq!(
            p,
            vec![(
                3,
                "ignore rule \"aws_s3_bucket\": expected `<type> <id> [<attribute>]`".to_owned()
            )]
        );
        // A remediation role pattern that would trust anyone.
        let p = problems("remediation_roles = [\"*\"]\n");
        assert_eq!(p[0].0, 1, "{p:?}");
        // A Slack route without a channel, and one with an unknown severity.
        let p = problems("[[slack.routes]]\nchannel = \"\"\n");
        assert_eq!(p[0].0, 1, "the route's table: {p:?}");
        let p = problems("[[slack.routes]]\nchannel = \"C1\"\nseverity = [\"urgent\"]\n");
        assert_eq!(p[0].0, 3, "{p:?}");
        assert!(p[0].1.contains("urgent"), "{p:?}");
    }

    #[test]
    fn every_problem_is_reported_at_once_and_printed_with_its_place() {
        let e = ConfigFile::parse(
            "ssm:/driftguard/config",
            "ignore = [\"x\"]\n[[principals]]\nid = \"p\"\n",
        )
        .expect_err("two problems");
        assert_eq!(e.problems.len(), 2);
        let shown = e.to_string();
        assert!(shown.starts_with("ssm:/driftguard/config:1:"), "{shown}");
        assert!(
            shown.contains("ssm:/driftguard/config:2:1: principal p sets no pattern"),
            "{shown}"
        );
        let big = "#".repeat(MAX_CONFIG_BYTES + 1);
        let e = ConfigFile::parse("s3://b/k", &big).expect_err("too big");
        assert!(e.to_string().contains("at most"), "{e}");
    }
}
