//! Function configuration from environment variables, sans IO: a lookup in (the process
//! environment in a Lambda, a map in tests), typed values or an [`EnvError`] naming the variable
//! out. Blank values count as unset. Every function's `Config::from_lookup` reads through this.

use serde::de::DeserializeOwned;

/// A configuration error: the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// A required variable is missing or empty.
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    /// A variable cannot be read.
    #[error("environment variable {name} is invalid: {why}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// Why.
        why: String,
    },
}

/// Variables renamed so that each concept has one name across template parameters, variables,
/// CLI flags and docs (infra/README.md, "Names"): (new name, old name). The old name is still
/// read when the new one is unset, so a function or shell set up before the rename keeps working.
pub const RENAMED: &[(&str, &str)] = &[
    ("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", "DRIFTGUARD_CFN_DRIFT_CHECKS"),
    ("DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET", "DRIFTGUARD_AWS_CONFIG_BUCKET"),
    (
        "DRIFTGUARD_AWS_CONFIG_AGGREGATOR_NAME",
        "DRIFTGUARD_AWS_CONFIG_AGGREGATOR",
    ),
    ("DRIFTGUARD_REVERT_RESOURCE_TYPES", "DRIFTGUARD_REVERT_TYPES"),
    ("DRIFTGUARD_SHADOW_MODE", "DRIFTGUARD_SHADOW"),
    ("DRIFTGUARD_REMEDIATION_PIPELINES", "DRIFTGUARD_PIPELINES"),
    ("DRIFTGUARD_MEMBER_REMEDIATION_ROLE_NAME", "DRIFTGUARD_MEMBER_ROLE_NAME"),
];

/// Typed reads over a variable lookup.
pub struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Reads through `lookup`.
    pub fn new(lookup: F) -> Self {
        Env { lookup }
    }

    /// The value, when set and not blank; for a renamed variable ([`RENAMED`]), its old name's
    /// value when the new one is unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        let read = |n: &str| (self.lookup)(n).filter(|v| !v.trim().is_empty());
        read(name).or_else(|| {
            RENAMED
                .iter()
                .find(|(new, _)| *new == name)
                .and_then(|(_, old)| read(old))
        })
    }

    /// The value, or [`EnvError::Missing`].
    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing(name))
    }

    /// The value parsed as JSON, when set.
    pub fn json<T: DeserializeOwned>(&self, name: &'static str) -> Result<Option<T>, EnvError> {
        self.optional(name)
            .map(|v| serde_json::from_str(&v).map_err(|e| invalid(name, e)))
            .transpose()
    }

    /// A whole number ≥ 0, or `default` when unset.
    pub fn number(&self, name: &'static str, default: u64) -> Result<u64, EnvError> {
        self.optional(name).map_or(Ok(default), |v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| invalid(name, format!("{v:?} is not a whole number ≥ 0")))
        })
    }

    /// A switch that must be spelled out: `true` or `false` (any case); unset or empty gives
    /// `default`; anything else is an error naming the variable, so a typo never flips a
    /// safety setting silently.
    pub fn boolean(&self, name: &'static str, default: bool) -> Result<bool, EnvError> {
        match self.optional(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(invalid(name, format!("{v:?} is not true or false"))),
        }
    }

    /// `true` when the value is `true` (any case).
    pub fn flag(&self, name: &str) -> bool {
        self.optional(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

/// [`EnvError::Invalid`] for `name`.
pub fn invalid(name: &'static str, why: impl std::fmt::Display) -> EnvError {
    EnvError::Invalid {
        name,
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_variable_is_read_by_its_old_name_when_the_new_one_is_unset() {
        let old_only = Env::new(|name: &str| (name == "DRIFTGUARD_SHADOW").then(|| "true".to_owned()));
        assert_eq!(old_only.boolean("DRIFTGUARD_SHADOW_MODE", false).ok(), Some(true));
        let both = Env::new(|name: &str| match name {
            "DRIFTGUARD_SHADOW" => Some("true".to_owned()),
            "DRIFTGUARD_SHADOW_MODE" => Some("false".to_owned()),
            _ => None,
        });
        assert_eq!(
            both.boolean("DRIFTGUARD_SHADOW_MODE", true).ok(),
            Some(false),
            "the new name wins"
        );
        let typo = Env::new(|name: &str| (name == "DRIFTGUARD_SHADOW").then(|| "yes".to_owned()));
        let err = typo
            .boolean("DRIFTGUARD_SHADOW_MODE", false)
            .expect_err("not a boolean");
        assert!(err.to_string().contains("DRIFTGUARD_SHADOW_MODE"), "{err}");
        for (new, old) in RENAMED {
            assert!(new.starts_with("DRIFTGUARD_") && old.starts_with("DRIFTGUARD_") && new != old);
        }
    }

    #[test]
    fn reads_typed_values_and_names_the_bad_variable() {
        let env = Env::new(|name: &str| {
            match name {
                "A" => Some("  "),
                "N" => Some(" 42 "),
                "BAD_N" => Some("-1"),
                "J" => Some(r#"[1,2]"#),
                "BAD_J" => Some("[1,"),
                "F" => Some("TRUE"),
                "OFF" => Some(" false "),
                "TYPO" => Some("ture"),
                _ => None,
            }
            .map(str::to_owned)
        });
        assert_eq!(env.optional("A"), None, "blank is unset");
        assert!(matches!(env.required("A"), Err(EnvError::Missing("A"))));
        assert_eq!(env.number("N", 7).ok(), Some(42));
        assert_eq!(env.number("UNSET", 7).ok(), Some(7));
        let bad = env.number("BAD_N", 7).expect_err("negative");
        assert_eq!(
            bad.to_string(),
            "environment variable BAD_N is invalid: \"-1\" is not a whole number ≥ 0"
        );
        assert_eq!(env.json::<Vec<u8>>("J").ok().flatten(), Some(vec![1, 2]));
        assert!(env
            .json::<Vec<u8>>("BAD_J")
            .expect_err("truncated")
            .to_string()
            .contains("BAD_J"));
        assert!(env.flag("F") && !env.flag("UNSET"));
        assert_eq!(
            (
                env.boolean("F", false).ok(),
                env.boolean("OFF", true).ok(),
                env.boolean("UNSET", true).ok()
            ),
            (Some(true), Some(false), Some(true))
        );
        assert_eq!(
            env.boolean("TYPO", false).expect_err("a typo").to_string(),
            "environment variable TYPO is invalid: \"ture\" is not true or false"
        );
    }
}
