//! The function's configuration, from environment variables read once at init.

use driftguard_aws::{config_from_env, ConfigLocation, S3Location};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_file::settings_from_env;
use driftguard_core::env::{invalid, Env};
use driftguard_core::ignore::IgnoreRules;
use driftguard_core::sweep::Scope;
use std::time::Duration;

pub use driftguard_core::env::EnvError as ConfigError;

/// Configuration of the reconcile function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table.
    pub table: String,
    /// `DRIFTGUARD_EVENT_BUS`: the bus drift events go to (the same as ingest's).
    pub event_bus: String,
    /// `DRIFTGUARD_STATE_LOCATIONS`: comma-separated `s3://bucket/prefix`; every `.tfstate`
    /// under each is read, as ingest does.
    pub states: Vec<S3Location>,
    /// `DRIFTGUARD_IAC_PRINCIPALS` and `DRIFTGUARD_REMEDIATION_ROLES`: the attribution
    /// configuration, as ingest's (who the history names).
    pub attribution: AttributionConfig,
    /// `DRIFTGUARD_IGNORE_RULES`: the `.driftignore` rules, as ingest's.
    pub ignore: IgnoreRules,
    /// `DRIFTGUARD_S3_PATH_STYLE` (`true` for local S3 endpoints such as moto).
    pub s3_path_style: bool,
    /// `DRIFTGUARD_CONFIG` and `DRIFTGUARD_CONFIG_REFRESH_SECONDS`: the configuration file, as
    /// ingest's (its principals, remediation roles and ignore rules are added to these).
    pub config_file: Option<(ConfigLocation, Duration)>,
    /// `DRIFTGUARD_SWEEP_SCOPES`: comma-separated `<account>/<region>` to sweep; empty: the
    /// function's own account and region.
    pub scopes: Vec<Scope>,
    /// `DRIFTGUARD_AWS_CONFIG_AGGREGATOR_NAME`: read every scope through this configuration aggregator.
    pub aggregator: Option<String>,
    /// `DRIFTGUARD_MEMBER_SWEEP_ROLE_NAME`: without an aggregator, the read-only role assumed in
    /// a member account (infra/spoke.yaml, `EnableSweep=true`); also what CloudTrail's history
    /// of a member account is read with.
    pub member_role: Option<String>,
    /// `DRIFTGUARD_SWEEP_MARGIN_SECONDS` (default 60): an invocation starts no page closer than
    /// this to its deadline; the run is saved and the next invocation goes on.
    pub margin: Duration,
    /// `DRIFTGUARD_SWEEP_LOOKUPS` (default 60): CloudTrail `LookupEvents` calls an invocation
    /// may make to name who changed what the sweep found (0: none).
    pub lookups: u64,
    /// `DRIFTGUARD_BACKFILL_HOURS` (default 24; 0: none): the first time the function meets a
    /// scope, CloudTrail's history of this many hours goes through the pipeline first, an hour
    /// per slice, resumed across invocations, so findings exist from the first day.
    pub backfill_hours: u64,
    /// `DRIFTGUARD_LOOKUP_INTERVAL_MS` (default 500): spacing of those calls (CloudTrail allows
    /// two a second per account and region).
    pub lookup_interval: Duration,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let states = S3Location::parse_list(&env.optional("DRIFTGUARD_STATE_LOCATIONS").unwrap_or_default())
            .map_err(|e| invalid("DRIFTGUARD_STATE_LOCATIONS", e))?;
        let scopes = list(env.optional("DRIFTGUARD_SWEEP_SCOPES"))
            .into_iter()
            .map(|s| match s.split_once('/') {
                Some((account, region))
                    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !region.is_empty() =>
                {
                    Ok(Scope {
                        account: account.to_owned(),
                        region: region.to_owned(),
                    })
                }
                _ => Err(invalid(
                    "DRIFTGUARD_SWEEP_SCOPES",
                    format!("{s:?} is not <12-digit account>/<region>"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (attribution, ignore) = settings_from_env(&env)?;
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            event_bus: env.required("DRIFTGUARD_EVENT_BUS")?,
            states,
            attribution,
            ignore,
            s3_path_style: env.flag("DRIFTGUARD_S3_PATH_STYLE"),
            config_file: config_from_env(&env)?,
            scopes,
            aggregator: env
                .optional("DRIFTGUARD_AWS_CONFIG_AGGREGATOR_NAME")
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty()),
            member_role: env
                .optional("DRIFTGUARD_MEMBER_SWEEP_ROLE_NAME")
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty()),
            margin: Duration::from_secs(env.number("DRIFTGUARD_SWEEP_MARGIN_SECONDS", 60)?),
            lookups: env.number("DRIFTGUARD_SWEEP_LOOKUPS", 60)?,
            backfill_hours: env.number("DRIFTGUARD_BACKFILL_HOURS", 24)?,
            lookup_interval: Duration::from_millis(env.number("DRIFTGUARD_LOOKUP_INTERVAL_MS", 500)?),
        })
    }
}

fn list(v: Option<String>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn scopes_are_account_slash_region_and_a_bad_one_is_named() {
        let base = [("DRIFTGUARD_TABLE", "t"), ("DRIFTGUARD_EVENT_BUS", "b")];
        let c = config(&[
            base[0],
            base[1],
            (
                "DRIFTGUARD_SWEEP_SCOPES",
                "123456789012/eu-west-1, 210987654321/us-east-1",
            ),
        ])
        .expect("valid");
        assert_eq!(c.scopes.len(), 2);
        assert_eq!(c.scopes[1].key(), "210987654321/us-east-1");
        assert_eq!(c.margin, Duration::from_secs(60));
        let err = config(&[base[0], base[1], ("DRIFTGUARD_SWEEP_SCOPES", "eu-west-1")]).expect_err("no account");
        assert!(err.to_string().contains("DRIFTGUARD_SWEEP_SCOPES"), "{err}");
        assert!(err.to_string().contains("\"eu-west-1\""), "{err}");
    }
}
