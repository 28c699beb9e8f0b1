//! The function's configuration, from environment variables read once at init. Secret values
//! are held as [`Secret`] (never printed); references to them are resolved by `App::build`.

use driftguard_core::env::{invalid, Env};
use driftguard_core::interaction::{ActionPolicy, Origin};
use driftguard_core::secret::Secret;

/// Configuration of the slack-actions function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_TABLE`: the DynamoDB table (findings, decisions, seen requests).
    pub table: String,
    /// `DRIFTGUARD_EVENT_BUS`: where `Remediation Requested` goes.
    pub event_bus: String,
    /// `DRIFTGUARD_SLACK_SIGNING_SECRET`: the app's signing secret, for local runs.
    pub signing_secret: Option<Secret>,
    /// `DRIFTGUARD_SLACK_SIGNING_SECRET_REF`: Secrets Manager / SSM reference to it.
    pub signing_secret_ref: Option<String>,
    /// `DRIFTGUARD_SLACK_BOT_TOKEN`: a bot token (to resolve user groups), for local runs.
    pub bot_token: Option<Secret>,
    /// `DRIFTGUARD_SLACK_BOT_TOKEN_REF`: reference to the bot token.
    pub bot_token_ref: Option<String>,
    /// `DRIFTGUARD_SLACK_API_BASE` (default `https://slack.com/api/`).
    pub api_base: String,
    /// `DRIFTGUARD_SLACK_ALLOW`: who may take each action, as JSON
    /// (`{"revert": {"users": [...], "groups": [...]}, "reapply": ..., "accept": ..., "acknowledge": ..., "approve": ..., "not_drift": ...}`; `approve` is the Approve button on a
    /// remediation's approval prompt).
    pub policy: ActionPolicy,
    /// `DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX` (default `https://hooks.slack.com/`): answers go
    /// only to `response_url`s under it.
    pub response_url_prefix: String,
    /// `DRIFTGUARD_SLACK_TEAM_ID` (`T…`) and `DRIFTGUARD_SLACK_APP_ID` (`A…`): clicks naming
    /// another workspace or app are refused.
    pub origin: Origin,
}

pub use driftguard_core::env::EnvError as ConfigError;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let get = |name: &str| env.optional(name);
        let signing_secret = get("DRIFTGUARD_SLACK_SIGNING_SECRET").map(Secret::new);
        let signing_secret_ref = get("DRIFTGUARD_SLACK_SIGNING_SECRET_REF");
        if signing_secret.is_none() && signing_secret_ref.is_none() {
            return Err(ConfigError::Missing("DRIFTGUARD_SLACK_SIGNING_SECRET(_REF)"));
        }
        let policy: ActionPolicy = env
            .json("DRIFTGUARD_SLACK_ALLOW")?
            .ok_or(ConfigError::Missing("DRIFTGUARD_SLACK_ALLOW"))?;
        let bot_token = get("DRIFTGUARD_SLACK_BOT_TOKEN").map(Secret::new);
        let bot_token_ref = get("DRIFTGUARD_SLACK_BOT_TOKEN_REF");
        policy
            .validate(bot_token.is_some() || bot_token_ref.is_some())
            .map_err(|why| invalid("DRIFTGUARD_SLACK_ALLOW", why))?;
        let id = |name: &'static str, first: char| -> Result<String, ConfigError> {
            let v = env.required(name)?.trim().to_owned();
            if v.starts_with(first) && v.len() > 1 && v.chars().all(|c| c.is_ascii_alphanumeric()) {
                Ok(v)
            } else {
                Err(invalid(name, format!("{v:?} is not a Slack id starting with {first}")))
            }
        };
        let origin = Origin {
            team_id: id("DRIFTGUARD_SLACK_TEAM_ID", 'T')?,
            api_app_id: id("DRIFTGUARD_SLACK_APP_ID", 'A')?,
        };
        let prefix = get("DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX").unwrap_or_else(|| "https://hooks.slack.com/".into());
        if !(prefix.starts_with("https://") || prefix.starts_with("http://")) || !prefix.ends_with('/') {
            return Err(ConfigError::Invalid {
                name: "DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX",
                why: format!("{prefix:?} is not an http(s) URL prefix ending in /"),
            });
        }
        Ok(Config {
            table: env.required("DRIFTGUARD_TABLE")?,
            event_bus: env.required("DRIFTGUARD_EVENT_BUS")?,
            signing_secret,
            signing_secret_ref,
            bot_token,
            bot_token_ref,
            api_base: get("DRIFTGUARD_SLACK_API_BASE").unwrap_or_else(|| driftguard_slack::DEFAULT_API_BASE.to_owned()),
            policy,
            response_url_prefix: prefix,
            origin,
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

    const BASE: &[(&str, &str)] = &[
        ("DRIFTGUARD_TABLE", "t"),
        ("DRIFTGUARD_EVENT_BUS", "b"),
        ("DRIFTGUARD_SLACK_SIGNING_SECRET", "signing-secret-value"),
        ("DRIFTGUARD_SLACK_ALLOW", r#"{"acknowledge":{"users":["*"]}}"#),
        ("DRIFTGUARD_SLACK_TEAM_ID", "T0DRIFT00"),
        ("DRIFTGUARD_SLACK_APP_ID", "A0GUARD00"),
    ];

    #[test]
    fn reads_every_variable_and_never_prints_secrets() {
        let c = config(BASE).expect("valid");
        assert_eq!(c.policy.acknowledge.users, vec!["*"]);
        assert_eq!(c.response_url_prefix, "https://hooks.slack.com/");
        assert_eq!(
            (c.origin.team_id.as_str(), c.origin.api_app_id.as_str()),
            ("T0DRIFT00", "A0GUARD00")
        );
        assert!(!format!("{c:?}").contains("signing-secret-value"));
    }

    #[test]
    fn names_what_is_wrong() {
        let with = |extra: &[(&str, &str)]| {
            let mut vars: Vec<(&str, &str)> = BASE.to_vec();
            vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
            vars.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
            config(&vars).expect_err("invalid").to_string()
        };
        assert!(with(&[("DRIFTGUARD_SLACK_SIGNING_SECRET", "")]).contains("DRIFTGUARD_SLACK_SIGNING_SECRET"));
        assert!(with(&[("DRIFTGUARD_SLACK_ALLOW", "")]).contains("DRIFTGUARD_SLACK_ALLOW"));
        assert!(with(&[("DRIFTGUARD_SLACK_ALLOW", r#"{"revrt":{}}"#)]).contains("DRIFTGUARD_SLACK_ALLOW"));
        assert!(with(&[("DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX", "ftp://x/")]).contains("RESPONSE_URL_PREFIX"));
        assert!(with(&[("DRIFTGUARD_SLACK_TEAM_ID", "")]).contains("DRIFTGUARD_SLACK_TEAM_ID"));
        assert!(with(&[("DRIFTGUARD_SLACK_APP_ID", "T0DRIFT00")]).contains("not a Slack id starting with A"));
    }

    /// A policy that would silently refuse everyone is refused at start, naming the action.
    #[test]
    fn group_lists_need_real_group_ids_and_a_bot_token() {
        let with = |allow: &str, token: Option<&str>| {
            let mut vars: Vec<(&str, &str)> = BASE.to_vec();
            vars.retain(|(k, _)| *k != "DRIFTGUARD_SLACK_ALLOW");
            vars.push(("DRIFTGUARD_SLACK_ALLOW", allow));
            if let Some(t) = token {
                vars.push(("DRIFTGUARD_SLACK_BOT_TOKEN", t));
            }
            config(&vars).map(|_| ()).map_err(|e| e.to_string())
        };
        let star = with(r#"{"revert":{"groups":["*"]}}"#, Some("xoxb-1")).expect_err("groups: [*]");
        assert!(
            star.contains("DRIFTGUARD_SLACK_ALLOW") && star.contains("revert.groups holds \"*\""),
            "{star}"
        );
        let no_bot = with(r#"{"reapply":{"groups":["S0SRE"]}}"#, None).expect_err("groups without a bot token");
        assert!(no_bot.contains("reapply.groups needs a bot token"), "{no_bot}");
        assert_eq!(with(r#"{"reapply":{"groups":["S0SRE"]}}"#, Some("xoxb-1")), Ok(()));
        assert_eq!(with(r#"{"revert":{"users":["*"]}}"#, None), Ok(()));
    }
}
