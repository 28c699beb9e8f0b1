//! GitHub credentials: a token (a fine-grained or classic personal access token, an installation
//! token), or a GitHub App's private key, from which [`app_jwt`] mints the RS256 JSON Web Token
//! that the client exchanges for an installation token.
//!
//! An App secret is JSON: `{"app_id": 123456 (or the client id "Iv23…"), "installation_id":
//! 987654, "private_key": "-----BEGIN RSA PRIVATE KEY-----\n…"}`; the key is the PEM file GitHub
//! hands out (PKCS#1), or PKCS#8 (`BEGIN PRIVATE KEY`).

use crate::error::PipelineError;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;

/// How long before `exp` counts from now: GitHub refuses a JWT that expires more than ten
/// minutes ahead, so nine.
const JWT_LIFETIME_SECS: i64 = 9 * 60;
/// `iat` is set this far in the past, against clock drift (as GitHub recommends).
const JWT_BACKDATE_SECS: i64 = 60;

/// A GitHub credential, read from a secret's value.
pub(crate) enum Credential {
    /// Sent as `Authorization: Bearer <token>`.
    Token(String),
    /// Exchanged for an installation token first.
    App(Box<AppKey>),
}

/// A GitHub App's key and the installation to act as.
pub(crate) struct AppKey {
    /// The JWT issuer: the App id (a number) or its client id (a string).
    pub(crate) issuer: Value,
    /// The installation whose token is minted.
    pub(crate) installation_id: u64,
    key: RsaKeyPair,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKey")
            .field("issuer", &self.issuer)
            .field("installation_id", &self.installation_id)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSecret {
    app_id: Value,
    installation_id: Value,
    private_key: String,
}

impl Credential {
    /// Reads a secret: JSON (an object) is an App key, anything else a token. Errors name what is
    /// wrong and never quote the secret.
    pub(crate) fn parse(secret: &str) -> Result<Credential, PipelineError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(PipelineError::Credential("the secret is empty".into()));
        }
        if !secret.starts_with('{') {
            if !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(PipelineError::Credential(
                    "the token has characters an HTTP header cannot carry".into(),
                ));
            }
            return Ok(Credential::Token(secret.to_owned()));
        }
        let app: AppSecret = serde_json::from_str(secret).map_err(|e| {
            // Category and position only: serde's message can quote the secret.
            PipelineError::Credential(format!(
                "the secret is JSON but not a GitHub App key {{\"app_id\", \"installation_id\", \
                 \"private_key\"}} ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let issuer = match app.app_id {
            Value::Number(n) if n.is_u64() => Value::Number(n),
            Value::String(s) if !s.trim().is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Value::String(s)
            }
            _ => {
                return Err(PipelineError::Credential(
                    "`app_id` must be the App id (a number) or its client id".into(),
                ))
            }
        };
        let installation_id = match &app.installation_id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| PipelineError::Credential("`installation_id` must be a number".into()))?;
        let key = private_key(&app.private_key)?;
        Ok(Credential::App(Box::new(AppKey {
            issuer,
            installation_id,
            key,
        })))
    }
}

fn private_key(pem: &str) -> Result<RsaKeyPair, PipelineError> {
    // A key pasted into JSON by hand sometimes keeps `\n` as two characters.
    let pem = pem.replace("\\n", "\n");
    let (label, der) = pem_der(&pem).map_err(|why| PipelineError::Credential(format!("`private_key` {why}")))?;
    let parsed = match label.as_str() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        _ => {
            return Err(PipelineError::Credential(format!(
                "`private_key` is a PEM {label:?}, not an RSA private key"
            )))
        }
    };
    parsed.map_err(|e| PipelineError::Credential(format!("`private_key` is not a usable RSA key ({e})")))
}

/// The label and the decoded contents of the first PEM block in `text` (text around it, such
/// as a comment, is ignored).
pub(crate) fn pem_der(text: &str) -> Result<(String, Vec<u8>), &'static str> {
    let start = text.find("-----BEGIN ").ok_or("has no -----BEGIN line")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----").ok_or("has a malformed -----BEGIN line")?;
    let end_line = format!("-----END {label}-----");
    let end = rest.find(&end_line).ok_or("has no matching -----END line")?;
    let body = &rest[..end];
    if body.contains(':') {
        return Err("is encrypted (has PEM headers); GitHub keys are not");
    }
    let der = base64_decode(body)?;
    Ok((label.to_owned(), der))
}

/// Standard base64 (RFC 4648 §4), whitespace ignored, padding optional.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err("is not base64"),
        };
        if padding > 0 {
            return Err("is not base64 (data after padding)");
        }
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Left-over bits are the zero padding of the last group: 0, 2 or 4 of them.
    if bits >= 6 || padding > 2 || acc != 0 {
        return Err("is not base64 (truncated)");
    }
    Ok(out)
}

/// Base64url without padding (RFC 4648 §5), as JWTs use.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The JWT a GitHub App authenticates as: RS256, `iat` a minute before `now_unix`, `exp` nine
/// minutes after, `iss` the App.
pub(crate) fn app_jwt(app: &AppKey, now_unix: i64) -> Result<String, PipelineError> {
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    let claims = json!({
        "iat": now_unix - JWT_BACKDATE_SECS,
        "exp": now_unix + JWT_LIFETIME_SECS,
        "iss": app.issuer,
    });
    let signing_input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let mut signature = vec![0; app.key.public().modulus_len()];
    app.key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| PipelineError::Credential("signing the App JWT failed".into()))?;
    Ok(format!("{signing_input}.{}", base64url(&signature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        // RFC 4648 §10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(encoded).as_deref(), Ok(plain.as_bytes()), "{encoded}");
            assert_eq!(base64url(plain.as_bytes()), encoded.trim_end_matches('='), "{plain}");
        }
        assert_eq!(base64_decode("Zm9v\nYmFy\r\n"), Ok(b"foobar".to_vec()));
        assert_eq!(base64url(&[0xfb, 0xff, 0xfe]), "-__-");
        assert_eq!(base64_decode("+//+"), Ok(vec![0xfb, 0xff, 0xfe]));
        for bad in ["Zm9v!", "Zg==Zg", "Z", "Zh==", "Zm9=Yg"] {
            assert!(base64_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pem_blocks_are_found_and_checked() {
        let pem = "comment\n-----BEGIN RSA PRIVATE KEY-----\nZm9v\nYmFy\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(pem_der(pem), Ok(("RSA PRIVATE KEY".to_owned(), b"foobar".to_vec())));
        assert!(pem_der("Zm9v").is_err());
        assert!(pem_der("-----BEGIN RSA PRIVATE KEY-----\nZm9v\n-----END PRIVATE KEY-----").is_err());
        assert!(pem_der(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nZm9v\n-----END RSA PRIVATE KEY-----"
        )
        .is_err());
    }

    #[test]
    fn credentials_are_read_and_errors_do_not_quote_them() {
        assert!(matches!(Credential::parse(" ghp_abc\n"), Ok(Credential::Token(t)) if t == "ghp_abc"));
        for (secret, expected) in [
            ("", "empty"),
            ("ghp_a b", "characters an HTTP header cannot carry"),
            (r#"{"app_id": 1, "installation_id": 2}"#, "not a GitHub App key"),
            (r#"{"token": "ghp_SECRET"}"#, "not a GitHub App key"),
            (
                r#"{"app_id": -1, "installation_id": 2, "private_key": "x"}"#,
                "`app_id` must be",
            ),
            (
                r#"{"app_id": 1, "installation_id": "two", "private_key": "x"}"#,
                "`installation_id` must be a number",
            ),
            (
                r#"{"app_id": 1, "installation_id": 2, "private_key": "SECRETKEY"}"#,
                "has no -----BEGIN line",
            ),
            (
                "{\"app_id\": 1, \"installation_id\": 2, \"private_key\": \"-----BEGIN RSA PRIVATE KEY-----\\nU0VDUkVU\\n-----END RSA PRIVATE KEY-----\"}",
                "not a usable RSA key",
            ),
            (
                "{\"app_id\": 1, \"installation_id\": 2, \"private_key\": \"-----BEGIN CERTIFICATE-----\\nU0VDUkVU\\n-----END CERTIFICATE-----\"}",
                "not an RSA private key",
            ),
        ] {
            let Err(error) = Credential::parse(secret) else {
                panic!("{secret} was accepted");
            };
            let text = error.to_string();
            assert!(text.contains(expected), "{secret}: {text}");
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!error.is_retryable());
        }
    }
}
