//! Secrets by reference, read once at init: a Secrets Manager secret (name or ARN) or an SSM
//! SecureString parameter (name or ARN). Values come back as [`Secret`], which never prints.
//!
//! | reference | read with |
//! |---|---|
//! | `arn:aws:secretsmanager:…`, `secretsmanager:<name>`, or a bare name | `GetSecretValue` (`SecretString`) |
//! | `arn:aws:ssm:…:parameter/<path>`, `ssm:<name>`, or a name starting with `/` | `GetParameter` with decryption |
//!
//! `<reference>#<field>` reads one field of a secret holding a JSON object (for example one
//! Secrets Manager secret with `bot_token` and `signing_secret`).

use crate::error::{classify_body, AwsError, Body, Retry};
use driftguard_core::secret::Secret;

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Secrets Manager, by name or ARN.
    SecretsManager(String),
    /// SSM Parameter Store, by parameter name.
    Parameter(String),
}

impl SecretRef {
    /// Reads a reference (see the module table); the `#field` suffix is returned apart.
    pub fn parse(reference: &str) -> (SecretRef, Option<String>) {
        let reference = reference.trim();
        let (base, field) = match reference.rsplit_once('#') {
            Some((base, field)) if !field.is_empty() && !field.contains('/') => (base, Some(field.to_owned())),
            _ => (reference, None),
        };
        let parsed = if let Some(name) = base.strip_prefix("ssm:") {
            SecretRef::Parameter(name.to_owned())
        } else if let Some(name) = base.strip_prefix("secretsmanager:") {
            SecretRef::SecretsManager(name.to_owned())
        } else if base.starts_with("arn:") && base.split(':').nth(2) == Some("ssm") {
            // arn:aws:ssm:region:account:parameter/a/b names `/a/b`; parameter/name names `name`.
            let rest = base.split_once(":parameter/").map_or("", |(_, r)| r);
            let name = if rest.contains('/') {
                format!("/{rest}")
            } else {
                rest.to_owned()
            };
            SecretRef::Parameter(name)
        } else if base.starts_with('/') {
            SecretRef::Parameter(base.to_owned())
        } else {
            SecretRef::SecretsManager(base.to_owned())
        };
        (parsed, field)
    }
}

fn not_found(what: &str, why: &str) -> AwsError {
    AwsError::Call {
        service: "secrets",
        operation: "read",
        code: "InvalidSecret".into(),
        message: format!("{what}: {why}"),
        retry: Retry::NotRetryable,
    }
}

/// Reads the secret a reference names. Errors name the reference, never the value: nothing of a
/// failed response (its body, its error message) is formatted into them.
pub async fn read_secret(aws: &aws_config::SdkConfig, reference: &str) -> Result<Secret, AwsError> {
    let (location, field) = SecretRef::parse(reference);
    let raw = match &location {
        SecretRef::SecretsManager(id) => aws_sdk_secretsmanager::Client::new(aws)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| classify_body("SecretsManager", "GetSecretValue", e, Body::Secret))?
            .secret_string
            .ok_or_else(|| not_found(id, "the secret has no SecretString"))?,
        SecretRef::Parameter(name) => aws_sdk_ssm::Client::new(aws)
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| classify_body("SSM", "GetParameter", e, Body::Secret))?
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| not_found(name, "the parameter has no value"))?,
    };
    let value = match &field {
        None => raw,
        Some(field) => serde_json::from_str::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| v.get(field).and_then(|f| f.as_str()).map(str::to_owned))
            .ok_or_else(|| not_found(reference, &format!("no string field {field:?} in a JSON secret")))?,
    };
    let secret = Secret::new(value);
    if secret.is_empty() {
        return Err(not_found(reference, "the value is empty"));
    }
    Ok(secret)
}

/// A secret from the environment for local runs (`plain`), else from a reference (`reference`):
/// the first one set wins; `Ok(None)` when neither is.
pub async fn secret_from(
    aws: &aws_config::SdkConfig,
    plain: Option<String>,
    reference: Option<String>,
) -> Result<Option<Secret>, AwsError> {
    if let Some(v) = plain.filter(|v| !v.trim().is_empty()) {
        return Ok(Some(Secret::new(v)));
    }
    match reference.filter(|v| !v.trim().is_empty()) {
        Some(r) => read_secret(aws, &r).await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::SecretRef;

    #[test]
    fn references_name_their_store() {
        let p = |r: &str| SecretRef::parse(r);
        assert_eq!(
            p("arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/slack-AbCdEf"),
            (
                SecretRef::SecretsManager(
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/slack-AbCdEf".into()
                ),
                None
            )
        );
        assert_eq!(
            p("driftguard/slack#bot_token"),
            (
                SecretRef::SecretsManager("driftguard/slack".into()),
                Some("bot_token".into())
            )
        );
        assert_eq!(
            p("arn:aws:ssm:eu-west-1:123456789012:parameter/driftguard/slack/token"),
            (SecretRef::Parameter("/driftguard/slack/token".into()), None)
        );
        assert_eq!(
            p("arn:aws:ssm:eu-west-1:123456789012:parameter/token"),
            (SecretRef::Parameter("token".into()), None)
        );
        assert_eq!(
            p("/driftguard/signing"),
            (SecretRef::Parameter("/driftguard/signing".into()), None)
        );
        assert_eq!(p("ssm:plain-name"), (SecretRef::Parameter("plain-name".into()), None));
    }
}
