//! The function's configuration, from environment variables read once at init. Secret values
//! are held as [`Secret`] (never printed); references to them are resolved by `App::build`.

use driftguard_aws::{config_from_env, ConfigLocation};
use driftguard_core::env::{invalid, Env};
use driftguard_core::notify::{NotifyPolicy, Route};
use driftguard_core::score::Severity;
use driftguard_core::secret::Secret;

/// Configuration of the notify-slack function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table (findings, and what this function remembers).
    pub table: String,
    /// `DRIFTGUARD_SLACK_BOT_TOKEN`: a bot token, for local runs.
    pub bot_token: Option<Secret>,
    /// `DRIFTGUARD_SLACK_BOT_TOKEN_REF`: Secrets Manager / SSM reference to the bot token.
    pub bot_token_ref: Option<String>,
    /// `DRIFTGUARD_SLACK_WEBHOOK_URL`: an incoming webhook URL, for local runs.
    pub webhook_url: Option<Secret>,
    /// `DRIFTGUARD_SLACK_WEBHOOK_URL_REF`: reference to the webhook URL.
    pub webhook_url_ref: Option<String>,
    /// `DRIFTGUARD_SLACK_API_BASE` (default `https://slack.com/api/`).
    pub api_base: String,
    /// Routing, thresholds, digest and grouping: `DRIFTGUARD_SLACK_CHANNEL`,
    /// `DRIFTGUARD_SLACK_ROUTES`, `DRIFTGUARD_SLACK_MIN_SEVERITY`,
    /// `DRIFTGUARD_SLACK_DIGEST_SEVERITY`, `DRIFTGUARD_SLACK_DIGEST_MAX_ITEMS`,
    /// `DRIFTGUARD_SLACK_DIGEST_MAX_AGE_SECONDS`, `DRIFTGUARD_SLACK_GROUP_WINDOW_SECONDS`.
    pub policy: NotifyPolicy,
    /// `DRIFTGUARD_SHADOW_MODE` (`true` / `false`): shadow mode, every notice planned and logged,
    /// nothing posted.
    pub shadow: bool,
    /// `DRIFTGUARD_CONFIG` and `DRIFTGUARD_CONFIG_REFRESH_SECONDS`: the configuration file, whose
    /// Slack routes come before `DRIFTGUARD_SLACK_ROUTES`', and how often it is read again.
    pub config_file: Option<(ConfigLocation, std::time::Duration)>,
}

pub use driftguard_core::env::EnvError as ConfigError;

fn severity(name: &'static str, v: &str) -> Result<Severity, ConfigError> {
    serde_json::from_value(serde_json::Value::String(v.trim().to_ascii_lowercase()))
        .map_err(|_| invalid(name, format!("{v:?} is not minor, major or critical")))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let get = |name: &str| env.optional(name);
        let number = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            let n = env.number(name, u64::try_from(default).unwrap_or(0))?;
            i64::try_from(n).map_err(|_| invalid(name, format!("{n} is too large")))
        };
        let routes: Vec<Route> = env.json("DRIFTGUARD_SLACK_ROUTES")?.unwrap_or_default();
        let defaults = NotifyPolicy::default();
        let min_severity = match get("DRIFTGUARD_SLACK_MIN_SEVERITY") {
            Some(v) => severity("DRIFTGUARD_SLACK_MIN_SEVERITY", &v)?,
            None => defaults.min_severity,
        };
        let digest_up_to = match get("DRIFTGUARD_SLACK_DIGEST_SEVERITY") {
            Some(v) if v.trim().eq_ignore_ascii_case("none") => None,
            Some(v) => Some(severity("DRIFTGUARD_SLACK_DIGEST_SEVERITY", &v)?),
            None => defaults.digest_up_to,
        };
        let bot_token = get("DRIFTGUARD_SLACK_BOT_TOKEN").map(Secret::new);
        let bot_token_ref = get("DRIFTGUARD_SLACK_BOT_TOKEN_REF");
        let webhook_url = get("DRIFTGUARD_SLACK_WEBHOOK_URL").map(Secret::new);
        let webhook_url_ref = get("DRIFTGUARD_SLACK_WEBHOOK_URL_REF");
        let bot = bot_token.is_some() || bot_token_ref.is_some();
        if !bot && webhook_url.is_none() && webhook_url_ref.is_none() {
            return Err(ConfigError::Missing(
                "DRIFTGUARD_SLACK_BOT_TOKEN(_REF) or DRIFTGUARD_SLACK_WEBHOOK_URL(_REF)",
            ));
        }
        let default_channel = get("DRIFTGUARD_SLACK_CHANNEL").map(|c| c.trim().to_owned());
        if bot && default_channel.is_none() && routes.is_empty() {
            return Err(ConfigError::Missing(
                "DRIFTGUARD_SLACK_CHANNEL (or DRIFTGUARD_SLACK_ROUTES) with a bot token",
            ));
        }
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            bot_token,
            bot_token_ref,
            webhook_url,
            webhook_url_ref,
            api_base: get("DRIFTGUARD_SLACK_API_BASE").unwrap_or_else(|| driftguard_slack::DEFAULT_API_BASE.to_owned()),
            policy: NotifyPolicy {
                // A webhook posts to its own channel: everything goes "there" unless routed.
                default_channel: default_channel.or_else(|| (!bot).then(|| "webhook".to_owned())),
                routes,
                min_severity,
                digest_up_to,
                digest_max_items: number("DRIFTGUARD_SLACK_DIGEST_MAX_ITEMS", defaults.digest_max_items as i64)?.max(1)
                    as usize,
                digest_max_age_seconds: number(
                    "DRIFTGUARD_SLACK_DIGEST_MAX_AGE_SECONDS",
                    defaults.digest_max_age_seconds,
                )?,
                group_window_seconds: number("DRIFTGUARD_SLACK_GROUP_WINDOW_SECONDS", defaults.group_window_seconds)?,
            },
            shadow: env.boolean("DRIFTGUARD_SHADOW_MODE", false)?,
            config_file: config_from_env(&env)?,
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
    fn shadow_mode_is_spelled_out_or_refused() {
        let base = [
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x"),
        ];
        assert!(!config(&base).expect("valid").shadow);
        let on = [base[0], base[1], ("DRIFTGUARD_SHADOW_MODE", "TRUE")];
        assert!(config(&on).expect("valid").shadow);
        let typo = [base[0], base[1], ("DRIFTGUARD_SHADOW_MODE", "yes")];
        let err = config(&typo).expect_err("not true or false");
        assert!(err.to_string().contains("DRIFTGUARD_SHADOW_MODE"), "{err}");
    }

    #[test]
    fn reads_every_variable_and_never_prints_secrets() {
        let c = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_SLACK_BOT_TOKEN", "xoxb-secret-token"),
            ("DRIFTGUARD_SLACK_CHANNEL", "C0DEFAULT"),
            (
                "DRIFTGUARD_SLACK_ROUTES",
                r#"[{"channel":"C0SEC","severity":["critical"]}]"#,
            ),
            ("DRIFTGUARD_SLACK_MIN_SEVERITY", "Major"),
            ("DRIFTGUARD_SLACK_DIGEST_SEVERITY", "none"),
            ("DRIFTGUARD_SLACK_DIGEST_MAX_ITEMS", "5"),
            ("DRIFTGUARD_SLACK_DIGEST_MAX_AGE_SECONDS", "60"),
            ("DRIFTGUARD_SLACK_GROUP_WINDOW_SECONDS", "0"),
            ("DRIFTGUARD_SLACK_API_BASE", "http://127.0.0.1:9/api/"),
        ])
        .expect("valid");
        assert_eq!(c.policy.routes[0].channel, "C0SEC");
        assert_eq!(c.policy.min_severity, Severity::Major);
        assert_eq!(c.policy.digest_up_to, None);
        assert_eq!(
            (
                c.policy.digest_max_items,
                c.policy.digest_max_age_seconds,
                c.policy.group_window_seconds
            ),
            (5, 60, 0)
        );
        assert!(!format!("{c:?}").contains("xoxb-secret-token"));
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |vars: &[(&str, &str)]| config(vars).expect_err("invalid").to_string();
        assert!(err(&[("DRIFTGUARD_TABLE", "t")]).contains("DRIFTGUARD_SLACK_WEBHOOK_URL"));
        assert!(
            err(&[("DRIFTGUARD_TABLE", "t"), ("DRIFTGUARD_SLACK_BOT_TOKEN", "x")]).contains("DRIFTGUARD_SLACK_CHANNEL")
        );
        let routes = err(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/x"),
            ("DRIFTGUARD_SLACK_ROUTES", r#"[{"chanel":"C1"}]"#),
        ]);
        assert!(routes.contains("DRIFTGUARD_SLACK_ROUTES"), "{routes}");
        let severity = err(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/x"),
            ("DRIFTGUARD_SLACK_MIN_SEVERITY", "catastrophic"),
        ]);
        assert!(severity.contains("not minor, major or critical"), "{severity}");
        let webhook = config(&[
            ("DRIFTGUARD_TABLE", "t"),
            ("DRIFTGUARD_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/x"),
        ])
        .expect("a webhook needs no channel");
        assert_eq!(webhook.policy.default_channel.as_deref(), Some("webhook"));
    }
}
