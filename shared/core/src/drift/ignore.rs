//! Ignore rules: what a team has decided is not drift, from a `.driftignore` file, plus the
//! built-in folding of known noise ([`BUILTIN`]).
//!
//! One rule per line: `<resource type> <resource id> [<attribute path>]`.
//! - The type is a CloudFormation-style type (`AWS::S3::Bucket`) or a Terraform type
//!   (`aws_s3_bucket`); the id is the resource id, name or ARN, or the Terraform address of its
//!   declaration (`module.legacy.*`); the attribute is a path in Terraform terms (`tags.Owner`,
//!   `ingress`, `tags.*`). Each field may use `*` (any run of characters).
//! - Without an attribute the rule ignores the whole resource; with one, only those attributes.
//! - `!` before a rule re-includes what earlier rules ignored; the last matching rule decides,
//!   and the built-in rules come before the file's, so a file can undo them.
//! - `#` starts a comment; blank lines are skipped.
//!
//! Nothing ignored is lost: the pipeline counts every ignored change and names the rule
//! (`driftguard replay --show-ignored` lists them).

use serde::Serialize;

/// Built-in noise folding, in the same syntax: `(rule, why)`.
pub static BUILTIN: &[(&str, &str)] = &[
    (
        "AWS::IAM::Role AWSServiceRoleFor*",
        "service-linked role, managed by its AWS service",
    ),
    (
        "AWS::IAM::Role */aws-service-role/*",
        "service-linked role, managed by its AWS service",
    ),
    ("* * tags_all", "provider default tags: compared as part of tags"),
    ("* * tags_all.*", "provider default tags: compared as part of tags"),
    ("* * tags.aws:*", "aws: tags are set by AWS services, never by IaC"),
];

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Where it came from: `builtin` or `<file>:<line>`.
    pub origin: String,
    /// The rule as written.
    pub text: String,
    /// Why (built-in rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    negate: bool,
    resource_type: String,
    id: String,
    attribute: Option<String>,
}

/// A malformed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: {message}: {text:?}")]
pub struct IgnoreError {
    /// The file.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: &'static str,
    /// The line.
    pub text: String,
}

/// What a rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// CloudFormation-style type.
    pub resource_type: &'a str,
    /// Terraform type of the declaration, when managed.
    pub tf_type: Option<&'a str>,
    /// Resource id as the event names it.
    pub id: &'a str,
    /// ARN, when known.
    pub arn: Option<&'a str>,
    /// Terraform address, when managed.
    pub address: Option<&'a str>,
}

/// The rules in force: built-ins, then a file's.
#[derive(Debug, Clone, Serialize)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl Default for IgnoreRules {
    fn default() -> Self {
        Self::builtin()
    }
}

impl IgnoreRules {
    /// The built-in rules only.
    pub fn builtin() -> Self {
        let rules = BUILTIN
            .iter()
            .filter_map(|(text, why)| {
                let mut r = parse_line("builtin", text)?;
                r.why = Some((*why).to_owned());
                Some(r)
            })
            .collect();
        IgnoreRules { rules }
    }

    /// The built-in rules followed by those in `text` (a `.driftignore` file read from `origin`).
    pub fn with_file(origin: &str, text: &str) -> Result<Self, IgnoreError> {
        let mut out = Self::builtin();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if line.is_empty() {
                continue;
            }
            let err = |message| IgnoreError {
                origin: origin.to_owned(),
                line: i + 1,
                message,
                text: raw.to_owned(),
            };
            let fields = line.trim_start_matches('!').split_whitespace().count();
            if !(2..=3).contains(&fields) {
                return Err(err("expected `<type> <id> [<attribute>]`"));
            }
            if line == "!" {
                return Err(err("`!` needs a rule after it"));
            }
            let rule = parse_line(&format!("{origin}:{}", i + 1), line).ok_or_else(|| err("unreadable rule"))?;
            out.rules.push(rule);
        }
        Ok(out)
    }

    /// These rules followed by `later`'s own (its built-in rules are already here): later
    /// rules win, as further lines of one file would.
    pub fn extended(mut self, later: &IgnoreRules) -> Self {
        self.rules
            .extend(later.rules.iter().filter(|r| r.origin != "builtin").cloned());
        self
    }

    /// All rules, built-ins first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that ignores the whole resource, if any.
    pub fn resource(&self, s: &Subject<'_>) -> Option<&Rule> {
        self.decide(s, None)
    }

    /// The rule that ignores `attribute` of the resource (a whole-resource rule counts), if any.
    pub fn attribute(&self, s: &Subject<'_>, attribute: &str) -> Option<&Rule> {
        self.decide(s, Some(attribute))
    }

    fn decide(&self, s: &Subject<'_>, attribute: Option<&str>) -> Option<&Rule> {
        let hit = self.rules.iter().rev().find(|r| r.matches(s, attribute))?;
        (!hit.negate).then_some(hit)
    }
}

fn parse_line(origin: &str, line: &str) -> Option<Rule> {
    let (negate, body) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, line),
    };
    let mut fields = body.split_whitespace();
    let resource_type = fields.next()?.to_owned();
    let id = fields.next()?.to_owned();
    let attribute = fields.next().map(str::to_owned);
    Some(Rule {
        origin: origin.to_owned(),
        text: line.to_owned(),
        why: None,
        negate,
        resource_type,
        id,
        attribute,
    })
}

impl Rule {
    fn matches(&self, s: &Subject<'_>, attribute: Option<&str>) -> bool {
        // Cheapest first: every event is checked against every rule.
        let attribute_ok = match (&self.attribute, attribute) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(pattern), Some(a)) => glob(pattern, a),
        };
        attribute_ok
            && (glob(&self.resource_type, s.resource_type) || s.tf_type.is_some_and(|t| glob(&self.resource_type, t)))
            && [Some(s.id), s.arn, s.address]
                .into_iter()
                .flatten()
                .any(|candidate| glob(&self.id, candidate))
    }
}

/// `*` matches any run of characters (including none); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A change dropped by a rule, kept for counting and `--show-ignored`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    /// The attribute, or `None` for the whole resource.
    pub attribute: Option<String>,
    /// The rule as written.
    pub rule: String,
    /// `builtin` or `<file>:<line>`.
    pub origin: String,
}

impl Ignored {
    /// Records that `rule` dropped `attribute` (or the whole resource).
    pub fn by(rule: &Rule, attribute: Option<&str>) -> Self {
        Ignored {
            attribute: attribute.map(str::to_owned),
            rule: rule.text.clone(),
            origin: rule.origin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(resource_type: &'a str, id: &'a str, address: Option<&'a str>) -> Subject<'a> {
        Subject {
            resource_type,
            tf_type: address.map(|_| "aws_s3_bucket"),
            id,
            arn: None,
            address,
        }
    }

    #[test]
    fn globs_match_runs_of_characters() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("sg-*", "sg-0123", true),
            ("sg-*", "vpc-1", false),
            ("*logs*", "acme-logs-eu", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("tags.*", "tags.Owner", true),
            ("tags.*", "tags", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn a_file_ignores_resources_and_attributes_and_negation_re_includes() {
        let rules = IgnoreRules::with_file(
            ".driftignore",
            "# temporary buckets\naws_s3_bucket acme-tmp-*\nAWS::S3::Bucket * tags.CostCenter   # finance edits these\n\
             !aws_s3_bucket acme-tmp-keep\nAWS::EC2::SecurityGroup module.legacy.* ingress\n",
        )
        .expect("valid");
        let tmp = subject("AWS::S3::Bucket", "acme-tmp-42", Some("aws_s3_bucket.tmp"));
        assert_eq!(rules.resource(&tmp).map(|r| r.origin.as_str()), Some(".driftignore:2"));
        let keep = subject("AWS::S3::Bucket", "acme-tmp-keep", Some("aws_s3_bucket.keep"));
        assert!(rules.resource(&keep).is_none(), "negated later");
        assert!(
            rules.attribute(&keep, "tags.CostCenter").is_none(),
            "the negation is the last match"
        );
        let logs = subject("AWS::S3::Bucket", "acme-logs", Some("aws_s3_bucket.logs"));
        assert!(rules.resource(&logs).is_none());
        assert_eq!(
            rules.attribute(&logs, "tags.CostCenter").map(|r| r.origin.as_str()),
            Some(".driftignore:3")
        );
        assert!(rules.attribute(&logs, "versioning").is_none());
        let legacy = Subject {
            resource_type: "AWS::EC2::SecurityGroup",
            tf_type: Some("aws_security_group"),
            id: "sg-1",
            arn: None,
            address: Some("module.legacy.aws_security_group.old"),
        };
        assert!(rules.attribute(&legacy, "ingress").is_some(), "matched by address");
        assert!(rules.attribute(&legacy, "egress").is_none());
    }

    #[test]
    fn built_in_rules_fold_known_noise_and_a_file_can_undo_them() {
        let builtin = IgnoreRules::builtin();
        let slr = subject("AWS::IAM::Role", "AWSServiceRoleForAutoScaling", None);
        assert_eq!(
            builtin.resource(&slr).and_then(|r| r.why.as_deref()),
            Some("service-linked role, managed by its AWS service")
        );
        let bucket = subject("AWS::S3::Bucket", "b", None);
        assert!(builtin.attribute(&bucket, "tags_all.Team").is_some());
        assert!(builtin
            .attribute(&bucket, "tags.aws:cloudformation:stack-name")
            .is_some());
        assert!(builtin.attribute(&bucket, "tags.Team").is_none());
        let undo = IgnoreRules::with_file("f", "!* * tags.aws:*").expect("valid");
        assert!(undo.attribute(&bucket, "tags.aws:cloudformation:stack-name").is_none());
    }

    #[test]
    fn malformed_rules_name_their_line() {
        let err = IgnoreRules::with_file(".driftignore", "aws_s3_bucket a\n\njust-one-field\n").expect_err("bad");
        assert_eq!((err.line, err.message), (3, "expected `<type> <id> [<attribute>]`"));
        assert!(err.to_string().starts_with(".driftignore:3: "), "{err}");
        let err = IgnoreRules::with_file("f", "a b c d").expect_err("bad");
        assert_eq!(err.line, 1);
    }
}
