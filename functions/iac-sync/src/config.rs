//! The function's configuration, from environment variables read once at init.

use driftguard_aws::S3Location;
use driftguard_core::env::{invalid, Env};

pub use driftguard_core::env::EnvError as ConfigError;

/// Configuration of the iac-sync function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table.
    pub table: String,
    /// `DRIFTGUARD_EVENT_BUS`: where `Drift Resolved` goes for codified findings.
    pub event_bus: String,
    /// `DRIFTGUARD_STATE_LOCATIONS`: comma-separated `s3://bucket/prefix`, as ingest's. An
    /// object outside them is not a state DriftGuard reads, whoever says it was written.
    pub states: Vec<S3Location>,
    /// `DRIFTGUARD_S3_PATH_STYLE` (`true` for local S3 endpoints such as moto).
    pub s3_path_style: bool,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MiB, default 256): a state larger than a quarter of
    /// it is refused by name rather than read.
    pub memory_mb: u64,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let states = env
            .optional("DRIFTGUARD_STATE_LOCATIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|url| {
                S3Location::parse(url).ok_or_else(|| {
                    invalid(
                        "DRIFTGUARD_STATE_LOCATIONS",
                        format!("{url:?} is not an s3://bucket/prefix URL"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if states.is_empty() {
            return Err(invalid(
                "DRIFTGUARD_STATE_LOCATIONS",
                "no state location: iac-sync has nothing to keep fresh",
            ));
        }
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            event_bus: env.required("DRIFTGUARD_EVENT_BUS")?,
            states,
            s3_path_style: env.flag("DRIFTGUARD_S3_PATH_STYLE"),
            memory_mb: env.number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 256)?,
        })
    }

    /// The largest state read: a quarter of the function's memory.
    pub fn document_limit(&self) -> usize {
        usize::try_from(self.memory_mb.saturating_mul(1024 * 1024) / 4).unwrap_or(usize::MAX)
    }

    /// Whether `s3://bucket/key` is a state file under one of the configured locations.
    pub fn covers(&self, bucket: &str, key: &str) -> bool {
        key.ends_with(".tfstate")
            && self
                .states
                .iter()
                .any(|l| l.bucket == bucket && key.starts_with(&l.prefix))
    }
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
    fn only_state_files_under_the_configured_locations_are_covered() {
        let c = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_EVENT_BUS", "b"),
            ("DRIFTGUARD_STATE_LOCATIONS", "s3://acme-tfstate/env/, s3://other/"),
        ])
        .expect("valid");
        assert!(c.covers("acme-tfstate", "env/prod/network.tfstate"));
        assert!(c.covers("other", "a/b/c/terraform.tfstate"));
        assert!(
            !c.covers("acme-tfstate", "scratch/network.tfstate"),
            "outside the prefix"
        );
        assert!(
            !c.covers("acme-tfstate", "env/prod/network.tfstate.backup"),
            "not a state"
        );
        assert!(!c.covers("elsewhere", "env/prod/network.tfstate"), "another bucket");
        let err = config(&[("DRIFTGUARD_TABLE", "t"), ("DRIFTGUARD_EVENT_BUS", "b")]).expect_err("no location");
        assert!(err.to_string().contains("DRIFTGUARD_STATE_LOCATIONS"), "{err}");
    }
}
