//! The configuration file where a deployment keeps it ([`ConfigLocation`]): an SSM parameter
//! (a `String` up to 8 KB as an advanced parameter, or a `SecureString`) or an S3 object. Read
//! with a version — the parameter's, the object's ETag — so a function re-reads it cheaply and
//! notices a change; and the last configuration that passed its checks is kept in the table
//! ([`LastGoodConfig`]), so a container starting while a bad one is in place runs on the good
//! one instead of on nothing.

use crate::error::{classify, AwsError, Retry};
use crate::item::{self, get_s, n, now_secs, s};
use crate::s3_states::get_object_within;
use crate::S3Client;
use aws_sdk_dynamodb::Client as DynamoClient;
use driftguard_core::config_file::{ConfigFile, MAX_CONFIG_BYTES};
use std::fmt;
use std::time::{Duration, Instant};

/// Where the configuration file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// An SSM parameter, by name.
    Parameter(String),
    /// An S3 object.
    Object {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

impl ConfigLocation {
    /// `s3://bucket/key`, `ssm:NAME`, a parameter name starting with `/`, or a parameter ARN.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("s3://") {
            return match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() && !key.ends_with('/') => {
                    Ok(ConfigLocation::Object {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    })
                }
                _ => Err(format!("{text:?}: expected s3://bucket/key naming one object")),
            };
        }
        let name = if let Some(name) = text.strip_prefix("ssm:") {
            name.to_owned()
        } else if text.starts_with("arn:") && text.split(':').nth(2) == Some("ssm") {
            match text.split_once(":parameter/") {
                Some((_, rest)) if rest.contains('/') => format!("/{rest}"),
                Some((_, rest)) => rest.to_owned(),
                None => return Err(format!("{text:?}: an SSM ARN names a parameter (…:parameter/NAME)")),
            }
        } else if text.starts_with('/') {
            text.to_owned()
        } else {
            return Err(format!(
                "{text:?}: expected s3://bucket/key, ssm:NAME, /parameter/name or an SSM parameter ARN"
            ));
        };
        if name.trim().is_empty() {
            return Err(format!("{text:?}: no parameter name"));
        }
        Ok(ConfigLocation::Parameter(name))
    }
}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigLocation::Parameter(name) => write!(f, "ssm:{name}"),
            ConfigLocation::Object { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// A configuration as read, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The file's text.
    pub text: String,
    /// The parameter's version (`v3`) or the object's ETag: changes whenever the text may have.
    pub version: String,
}

/// Reads the configuration from its location.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    location: ConfigLocation,
    ssm: aws_sdk_ssm::Client,
    s3: S3Client,
}

impl ConfigSource {
    /// A source reading `location` with these clients' settings.
    pub fn new(aws: &aws_config::SdkConfig, s3: S3Client, location: ConfigLocation) -> Self {
        ConfigSource {
            location,
            ssm: aws_sdk_ssm::Client::new(aws),
            s3,
        }
    }

    /// Where it reads.
    pub fn location(&self) -> &ConfigLocation {
        &self.location
    }

    /// The configuration now (one `GetParameter` or `GetObject`).
    pub async fn fetch(&self) -> Result<Fetched, AwsError> {
        let bad = |message: String| AwsError::Call {
            service: "config",
            operation: "read",
            code: "InvalidConfiguration".into(),
            message,
            retry: Retry::NotRetryable,
        };
        match &self.location {
            ConfigLocation::Parameter(name) => {
                let parameter = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| classify("SSM", "GetParameter", e))?
                    .parameter
                    .ok_or_else(|| bad(format!("ssm:{name}: no parameter in the answer")))?;
                Ok(Fetched {
                    text: parameter.value.unwrap_or_default(),
                    version: format!("v{}", parameter.version),
                })
            }
            ConfigLocation::Object { bucket, key } => {
                let (bytes, etag) = get_object_within(&self.s3, bucket, key, MAX_CONFIG_BYTES).await?;
                let text =
                    String::from_utf8(bytes).map_err(|e| bad(format!("s3://{bucket}/{key}: not UTF-8 text ({e})")))?;
                Ok(Fetched {
                    text,
                    version: etag.unwrap_or_default(),
                })
            }
        }
    }
}

/// The last configuration that passed its checks, per location, in the table
/// (`CONFIG#<location>` / `LAST_GOOD`).
#[derive(Debug, Clone)]
pub struct LastGoodConfig {
    client: DynamoClient,
    table: String,
}

/// The partition key prefix of [`LastGoodConfig`]'s items.
pub const CONFIG_PK_PREFIX: &str = "CONFIG#";

impl LastGoodConfig {
    /// On `table`.
    pub fn new(client: DynamoClient, table: &str) -> Self {
        LastGoodConfig {
            client,
            table: table.to_owned(),
        }
    }

    /// The last good configuration of `location`, if one was ever kept.
    pub async fn get(&self, location: &ConfigLocation) -> Result<Option<Fetched>, AwsError> {
        let pk = format!("{CONFIG_PK_PREFIX}{location}");
        let Some(found) = item::get(&self.client, &self.table, &pk, "LAST_GOOD").await? else {
            return Ok(None);
        };
        Ok(Some(Fetched {
            text: get_s(&found, "text").unwrap_or_default().to_owned(),
            version: get_s(&found, "version").unwrap_or_default().to_owned(),
        }))
    }

    /// Keeps `good` as the last good configuration of `location`.
    pub async fn put(&self, location: &ConfigLocation, good: &Fetched) -> Result<(), AwsError> {
        let row = [
            ("pk".to_owned(), s(format!("{CONFIG_PK_PREFIX}{location}"))),
            ("sk".to_owned(), s("LAST_GOOD")),
            ("text".to_owned(), s(good.text.clone())),
            ("version".to_owned(), s(good.version.clone())),
            ("at".to_owned(), n(now_secs())),
        ]
        .into_iter()
        .collect();
        item::put(&self.client, &self.table, row, None, None).await.map(drop)
    }
}

/// `DRIFTGUARD_CONFIG` (a [`ConfigLocation`]) and `DRIFTGUARD_CONFIG_REFRESH_SECONDS` (default
/// 60), as every function reads them.
pub fn config_from_env(
    env: &driftguard_core::env::Env<impl Fn(&str) -> Option<String>>,
) -> Result<Option<(ConfigLocation, Duration)>, driftguard_core::env::EnvError> {
    let Some(text) = env.optional("DRIFTGUARD_CONFIG").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let location = ConfigLocation::parse(&text).map_err(|e| driftguard_core::env::invalid("DRIFTGUARD_CONFIG", e))?;
    let refresh = Duration::from_secs(env.number("DRIFTGUARD_CONFIG_REFRESH_SECONDS", 60)?);
    Ok(Some((location, refresh)))
}

/// A function's configuration file, checked at start and re-read when due.
///
/// A file that fails its checks never replaces the one in use: each problem is logged at error
/// level on its line, and the caller counts it (`rejected`). A file that passes is kept in the
/// table as the last good one, which a container starting while a bad file is in place runs on.
#[derive(Debug)]
pub struct ConfigWatch {
    source: ConfigSource,
    last_good: LastGoodConfig,
    refresh: Duration,
    /// Whether a version that passes is kept as the last good one (the function that writes
    /// `CONFIG#` items; others only read them).
    keep: bool,
    /// The version last read (in use, or refused).
    version: Option<String>,
    /// Whether the version last read was refused.
    refusing: bool,
    checked: Option<Instant>,
}

/// What a check of the configuration file found.
#[derive(Debug)]
pub enum Checked {
    /// Not read: the last read is recent.
    NotDue,
    /// Unchanged, or unreadable for now (logged): the file in use stays.
    Unchanged,
    /// A new version passed its checks and is now the one in use.
    Changed(ConfigFile),
    /// The version at the location fails its checks (logged once per version, each problem on
    /// its line): the one in use stays.
    Rejected,
}

impl ConfigWatch {
    /// Watches `source`, keeping the last good copy with `last_good`, re-read every `refresh`.
    pub fn new(source: ConfigSource, last_good: LastGoodConfig, refresh: Duration) -> Self {
        ConfigWatch {
            source,
            last_good,
            refresh,
            keep: true,
            version: None,
            refusing: false,
            checked: None,
        }
    }

    /// Reads the last good copy but never writes it (another function keeps it).
    pub fn reading_only(mut self) -> Self {
        self.keep = false;
        self
    }

    /// The file at start: the one at the location when it passes, else the last good one
    /// kept (logged at warn level). `Err` says why neither can be used: the function must not
    /// start on nothing.
    pub async fn start(&mut self) -> Result<ConfigFile, AwsError> {
        self.checked = Some(Instant::now());
        let location = self.source.location().to_string();
        let refused = match self.source.fetch().await {
            Ok(fetched) => match self.accept(&fetched).await {
                Ok(file) => return Ok(file),
                Err(why) => why,
            },
            Err(e) => {
                tracing::error!(config = %location, error = %e, "Configuration file unreadable");
                e.to_string()
            }
        };
        let unusable = |message: String| AwsError::Call {
            service: "config",
            operation: "start",
            code: "InvalidConfiguration".into(),
            message,
            retry: Retry::NotRetryable,
        };
        match self.last_good.get(self.source.location()).await? {
            Some(good) => match ConfigFile::parse(&location, &good.text) {
                Ok(file) => {
                    tracing::warn!(config = %location, version = %good.version,
                        "Running on the last good configuration until the file is fixed");
                    self.refusing = true;
                    Ok(file)
                }
                Err(e) => Err(unusable(format!(
                    "{refused}; the last good copy no longer passes either: {e}"
                ))),
            },
            None => Err(unusable(format!(
                "{refused} (no last good configuration kept to fall back on)"
            ))),
        }
    }

    /// Reads the file again when due; see [`Checked`].
    pub async fn check(&mut self) -> Checked {
        if self.checked.is_some_and(|t| t.elapsed() < self.refresh) {
            return Checked::NotDue;
        }
        self.checked = Some(Instant::now());
        match self.source.fetch().await {
            Ok(fetched) if self.version.as_deref() == Some(fetched.version.as_str()) => {
                if self.refusing {
                    Checked::Rejected
                } else {
                    Checked::Unchanged
                }
            }
            Ok(fetched) => match self.accept(&fetched).await {
                Ok(file) => Checked::Changed(file),
                Err(_) => Checked::Rejected,
            },
            Err(e) => {
                tracing::warn!(config = %self.source.location(), error = %e,
                    "Could not read the configuration file; keeping the one in use");
                Checked::Unchanged
            }
        }
    }

    /// Whether the file at the location fails its checks (the last good one is in use).
    pub fn refusing(&self) -> bool {
        self.refusing
    }

    /// Where the file is.
    pub fn location(&self) -> &ConfigLocation {
        self.source.location()
    }

    async fn accept(&mut self, fetched: &Fetched) -> Result<ConfigFile, String> {
        let location = self.source.location().to_string();
        match ConfigFile::parse(&location, &fetched.text) {
            Ok(file) => {
                tracing::info!(config = %location, version = %fetched.version,
                    principals = file.attribution.principals.len(), ignore_rules = file.ignore.len(),
                    routes = file.routes.len(), "Configuration loaded");
                if self.keep {
                    if let Err(e) = self.last_good.put(self.source.location(), fetched).await {
                        tracing::warn!(config = %location, error = %e, "Could not keep the configuration as the last good one");
                    }
                }
                self.version = Some(fetched.version.clone());
                self.refusing = false;
                Ok(file)
            }
            Err(e) => {
                for p in &e.problems {
                    tracing::error!(config = %location, version = %fetched.version, line = p.line, column = p.column,
                        problem = %p.message, "Configuration refused; keeping the one in use");
                }
                // Logged once: later checks of the same version answer `Rejected` quietly.
                self.version = Some(fetched.version.clone());
                self.refusing = true;
                Err(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConfigLocation;

    #[test]
    fn locations_are_parameters_or_objects() {
        let p = |t: &str| ConfigLocation::parse(t);
        assert_eq!(
            p("ssm:/driftguard/config"),
            Ok(ConfigLocation::Parameter("/driftguard/config".into()))
        );
        assert_eq!(
            p("/driftguard/config"),
            Ok(ConfigLocation::Parameter("/driftguard/config".into()))
        );
        assert_eq!(
            p("arn:aws:ssm:eu-west-1:123456789012:parameter/driftguard/config"),
            Ok(ConfigLocation::Parameter("/driftguard/config".into()))
        );
        assert_eq!(
            p("s3://acme-config/driftguard.toml").map(|l| l.to_string()),
            Ok("s3://acme-config/driftguard.toml".into())
        );
        for bad in [
            "s3://bucket",
            "s3://bucket/prefix/",
            "https://x/y",
            "ssm:",
            "driftguard.toml",
        ] {
            assert!(p(bad).is_err(), "{bad} accepted");
        }
    }
}
