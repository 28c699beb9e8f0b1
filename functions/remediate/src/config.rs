//! The function's configuration, from environment variables read once at init.

use driftguard_core::env::{invalid, Env};
use driftguard_core::remediation::safety::SafetyPolicy;
use driftguard_core::remediation::PipelineRoutes;

pub use driftguard_core::env::EnvError as ConfigError;

/// The role remediate assumes in member accounts unless configured otherwise (infra/spoke.yaml).
pub const DEFAULT_MEMBER_ROLE: &str = "DriftGuardRemediation";

/// Configuration of the remediate function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table (findings, and the remediation records).
    pub table: String,
    /// `DRIFTGUARD_EVENT_BUS`: where results (and `Drift Resolved` of an accepted finding) go.
    pub bus: String,
    /// `DRIFTGUARD_REMEDIATION_POLICY` (JSON): what executes, approvals, the cap, automatic
    /// rules; `DRIFTGUARD_REVERT_RESOURCE_TYPES` (comma-separated resource types, `none`) adds to the
    /// types whose reverts execute. Absent: everything is a dry run. `DRIFTGUARD_SHADOW_MODE`
    /// (`true` / `false`): shadow mode, every request a dry run whatever else is enabled.
    pub policy: SafetyPolicy,
    /// `DRIFTGUARD_KILL_SWITCH_PARAMETER`: the SSM parameter that stops every execution.
    pub kill_switch: Option<String>,
    /// `DRIFTGUARD_REMEDIATION_PIPELINES` (JSON): which pipeline owns which state location.
    pub pipelines: Option<PipelineRoutes>,
    /// `DRIFTGUARD_MEMBER_REMEDIATION_ROLE_NAME`: the remediation role in member accounts.
    pub member_role: String,
    /// `DRIFTGUARD_S3_PATH_STYLE`: address buckets in the path (local endpoints).
    pub path_style: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let mut policy: SafetyPolicy = env.json("DRIFTGUARD_REMEDIATION_POLICY")?.unwrap_or_default();
        // The template grants the remediation role the actions of exactly these types.
        for t in env
            .optional("DRIFTGUARD_REVERT_RESOURCE_TYPES")
            .unwrap_or_default()
            .split(',')
        {
            let t = t.trim();
            if !t.is_empty() && t != "none" && !policy.revert.iter().any(|x| x == t) {
                policy.revert.push(t.to_owned());
            }
        }
        policy
            .validate()
            .map_err(|e| invalid("DRIFTGUARD_REMEDIATION_POLICY", e))?;
        policy.shadow = env.boolean("DRIFTGUARD_SHADOW_MODE", false)?;
        let pipelines = match env.optional("DRIFTGUARD_REMEDIATION_PIPELINES") {
            Some(json) => Some(
                PipelineRoutes::from_json(&json)
                    .map_err(|e| invalid("DRIFTGUARD_REMEDIATION_PIPELINES", e.to_string()))?,
            ),
            None => None,
        };
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            bus: env.required("DRIFTGUARD_EVENT_BUS")?,
            policy,
            kill_switch: env.optional("DRIFTGUARD_KILL_SWITCH_PARAMETER"),
            pipelines,
            member_role: env
                .optional("DRIFTGUARD_MEMBER_REMEDIATION_ROLE_NAME")
                .unwrap_or_else(|| DEFAULT_MEMBER_ROLE.to_owned()),
            path_style: env
                .optional("DRIFTGUARD_S3_PATH_STYLE")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(&[("DRIFTGUARD_TABLE", "t"), ("DRIFTGUARD_EVENT_BUS", "b")]).expect("valid");
        assert!(c.policy.revert.is_empty() && !c.policy.reapply && !c.policy.accept);
        assert_eq!(c.policy.hourly_cap, 10);
        assert_eq!(c.member_role, DEFAULT_MEMBER_ROLE);
        assert!(c.pipelines.is_none() && c.kill_switch.is_none());
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let err = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            (
                "DRIFTGUARD_REMEDIATION_POLICY",
                r#"{"revert":["*"],"approvals":[{"required":2}],"approvers":["U1"]}"#,
            ),
        ])
        .expect_err("two approvers from a list of one");
        assert!(err.to_string().contains("DRIFTGUARD_REMEDIATION_POLICY"), "{err}");
        let err = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_REMEDIATION_POLICY", r#"{"revert":["*"],"typo":1}"#),
        ])
        .expect_err("unknown field");
        assert!(err.to_string().contains("typo"), "{err}");
        let err = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_REMEDIATION_PIPELINES", r#"[{"state":"s3://x/*","kind":"github_workflow","repository":"acme","workflow":"a.yml","ref":"main","token":"t"}]"#),
        ])
        .expect_err("bad repository");
        assert!(err.to_string().contains("DRIFTGUARD_REMEDIATION_PIPELINES"), "{err}");
    }
}
