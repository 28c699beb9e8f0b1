//! The function's configuration, from environment variables read once at init.

use driftguard_aws::{config_from_env, ConfigLocation, S3Location};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_file::settings_from_env;
use driftguard_core::env::{invalid, Env};
use driftguard_core::ignore::IgnoreRules;
use std::time::Duration;

/// Configuration of the ingest function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table.
    pub table: String,
    /// `DRIFTGUARD_EVENT_BUS`: the bus drift events go to.
    pub event_bus: String,
    /// `DRIFTGUARD_STATE_LOCATIONS`: comma-separated `s3://bucket/prefix/**.tfstate`.
    pub states: Vec<S3Location>,
    /// `DRIFTGUARD_IAC_PRINCIPALS`: a JSON array of principal rules.
    pub attribution: AttributionConfig,
    /// `DRIFTGUARD_STATE_REFRESH_SECONDS` (default 30): how often states are checked for changes.
    pub state_refresh: Duration,
    /// `DRIFTGUARD_STATE_LIST_SECONDS` (default 900): while iac-sync's inventory version stands,
    /// a check is one `GetItem`; the state locations are still listed this often, in case a
    /// bucket's notifications never reach iac-sync.
    pub state_list: Duration,
    /// `DRIFTGUARD_S3_PATH_STYLE` (`true` for local S3 endpoints such as moto).
    pub s3_path_style: bool,
    /// `DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET`: the AWS Config delivery bucket; oversized Config items are read
    /// from it. Unset: they are counted as `config_oversized` and not compared.
    pub config_bucket: Option<String>,
    /// `DRIFTGUARD_IGNORE_RULES`: `.driftignore` rules, one per line or separated by `;`
    /// (the built-in rules always apply).
    pub ignore: IgnoreRules,
    /// `DRIFTGUARD_ACCESS_FINDINGS` (`true` unless `false`): interactive access to managed
    /// instances gives `access` findings.
    pub access_findings: bool,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MB, set by Lambda; [`DEFAULT_MEMORY_MB`] for local
    /// runs): the largest document read into memory at once is a quarter of it
    /// ([`Config::document_limit`]).
    pub memory_mb: u64,
    /// `DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS` (default 20): CloudFormation drift checks
    /// (`DetectStackResourceDrift`) one invocation may make for manual changes on stack
    /// resources no Terraform state declares; past it such a change is a finding that says drift
    /// was not checked. `0` turns the CloudFormation lookups off.
    pub cfn_drift_checks: u32,
    /// `DRIFTGUARD_CONFIG`: where the configuration file is (`ssm:NAME`, `/parameter/name`, an
    /// SSM parameter ARN, or `s3://bucket/key`). Its principals, remediation roles and ignore
    /// rules are added to those of the environment.
    pub config_location: Option<ConfigLocation>,
    /// `DRIFTGUARD_CONFIG_REFRESH_SECONDS` (default 60): how often the configuration file is
    /// read again to notice a change.
    pub config_refresh: Duration,
}

/// The memory assumed when `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` is unset: the template's default
/// for the ingest function.
pub const DEFAULT_MEMORY_MB: u64 = 256;

impl Config {
    /// The largest document (an event, a CloudTrail log file after gunzip, a Terraform state,
    /// an oversized Config item) the function reads: a quarter of its memory, leaving room for
    /// what it parses into, the states it holds and the runtime.
    pub fn document_limit(&self) -> usize {
        usize::try_from(self.memory_mb.saturating_mul(1024 * 1024) / 4).unwrap_or(usize::MAX)
    }
}

pub use driftguard_core::env::EnvError as ConfigError;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map). `DRIFTGUARD_REMEDIATION_ROLES` lists,
    /// comma-separated, globs on the roles DriftGuard's remediation runs as: only their calls
    /// carrying the remediation marker count as DriftGuard's own.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let states = S3Location::parse_list(&env.optional("DRIFTGUARD_STATE_LOCATIONS").unwrap_or_default())
            .map_err(|e| invalid("DRIFTGUARD_STATE_LOCATIONS", e))?;
        let (attribution, ignore) = settings_from_env(&env)?;
        let config_file = config_from_env(&env)?;
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            event_bus: env.required("DRIFTGUARD_EVENT_BUS")?,
            states,
            attribution,
            state_refresh: Duration::from_secs(env.number("DRIFTGUARD_STATE_REFRESH_SECONDS", 30)?),
            state_list: Duration::from_secs(env.number("DRIFTGUARD_STATE_LIST_SECONDS", 900)?),
            s3_path_style: env.flag("DRIFTGUARD_S3_PATH_STYLE"),
            config_bucket: env
                .optional("DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET")
                .map(|b| b.trim().to_owned()),
            ignore,
            access_findings: match env
                .optional("DRIFTGUARD_ACCESS_FINDINGS")
                .map(|v| v.trim().to_ascii_lowercase())
            {
                None => true,
                Some(v) if v.is_empty() || v == "true" => true,
                Some(v) if v == "false" => false,
                Some(v) => {
                    return Err(invalid(
                        "DRIFTGUARD_ACCESS_FINDINGS",
                        format!("{v:?} is not true or false"),
                    ))
                }
            },
            cfn_drift_checks: u32::try_from(env.number("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", 20)?)
                .map_err(|_| invalid("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", "more than a u32 holds"))?,
            config_location: config_file.as_ref().map(|(location, _)| location.clone()),
            config_refresh: config_file.map_or(Duration::from_secs(60), |(_, refresh)| refresh),
            memory_mb: match env.number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_MB)? {
                0 => return Err(invalid("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0 MB")),
                mb => mb,
            },
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
    fn reads_every_variable() {
        let c = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_STATE_LOCATIONS", "s3://st/prod/**.tfstate, s3://st2"),
            (
                "DRIFTGUARD_IAC_PRINCIPALS",
                r#"[{"id":"gha","role_arn":"arn:aws:iam::*:role/gha-*","tool":"Terraform"}]"#,
            ),
            ("DRIFTGUARD_STATE_REFRESH_SECONDS", "5"),
        ])
        .expect("valid");
        assert_eq!((c.table.as_str(), c.event_bus.as_str()), ("t", "b"));
        assert_eq!(c.states.len(), 2);
        assert_eq!(c.attribution.principals[0].id.as_deref(), Some("gha"));
        assert_eq!(c.state_refresh, Duration::from_secs(5));
        assert_eq!(c.document_limit(), 64 << 20, "a quarter of the default 256 MB");
        let big = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048"),
        ])
        .expect("valid");
        assert_eq!(big.document_limit(), 512 << 20);
        assert!(c.access_findings, "access findings are on by default");
        let quiet = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_ACCESS_FINDINGS", "False"),
        ])
        .expect("valid");
        assert!(!quiet.access_findings);
        let wrong = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_ACCESS_FINDINGS", "off"),
        ])
        .expect_err("not a boolean");
        assert!(wrong.to_string().contains("DRIFTGUARD_ACCESS_FINDINGS"), "{wrong}");
    }

    #[test]
    fn names_what_is_wrong() {
        let missing = config(&[("DRIFTGUARD_EVENT_BUS", "b")]).expect_err("no table");
        assert_eq!(missing.to_string(), "environment variable DRIFTGUARD_TABLE is required");
        let bad = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_STATE_LOCATIONS", "https://x"),
        ])
        .expect_err("bad url");
        assert!(bad.to_string().contains("DRIFTGUARD_STATE_LOCATIONS"), "{bad}");
        let json = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_IAC_PRINCIPALS", "[{"),
        ])
        .expect_err("bad json");
        assert!(json.to_string().contains("DRIFTGUARD_IAC_PRINCIPALS"), "{json}");
        let location = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_CONFIG", "driftguard.toml"),
        ])
        .expect_err("not a location");
        assert!(location.to_string().contains("DRIFTGUARD_CONFIG"), "{location}");
    }

    #[test]
    fn the_cloudformation_drift_budget_defaults_to_twenty_and_is_a_number() {
        let base = [("DRIFTGUARD_TABLE", "t"), ("DRIFTGUARD_EVENT_BUS", "b")];
        assert_eq!(config(&base).expect("valid").cfn_drift_checks, 20);
        let off = config(&[base[0], base[1], ("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", "0")]).expect("valid");
        assert_eq!(off.cfn_drift_checks, 0);
        let wrong =
            config(&[base[0], base[1], ("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", "lots")]).expect_err("not a number");
        assert!(
            wrong.to_string().contains("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS"),
            "{wrong}"
        );
    }
}
