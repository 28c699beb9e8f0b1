//! CloudTrail records: the wire shape (borrowed from the input buffer) and the domain
//! [`ApiCall`] the rest of the pipeline reads.
//!
//! Strings are `Cow<'a, str>`: borrowed unless JSON escapes force a copy, so decoding a log file
//! allocates little. `requestParameters` / `responseElements` stay raw JSON until a rule asks for
//! a path in them (see [`crate::input::json_path`]).

use crate::util::time::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A CloudTrail record exactly as it appears in a log file or an EventBridge `detail`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawRecord<'a> {
    #[serde(borrow, rename = "eventID", default, deserialize_with = "borrowed_str")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub event_time: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "sourceIPAddress", default, deserialize_with = "borrowed_str")]
    pub source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow)]
    pub request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    pub response_elements: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub session_credential_from_console: Option<bool>,
    #[serde(borrow)]
    pub resources: Option<&'a RawValue>,
}

/// The `userIdentity` element.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawIdentity<'a> {
    #[serde(borrow, rename = "type", default, deserialize_with = "borrowed_str")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub session_context: Option<RawSessionContext<'a>>,
    #[serde(borrow)]
    pub on_behalf_of: Option<RawOnBehalfOf<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawSessionContext<'a> {
    #[serde(borrow)]
    pub session_issuer: Option<RawIssuer<'a>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub source_identity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub web_id_federation_data: Option<RawWebId<'a>>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawIssuer<'a> {
    #[serde(borrow, rename = "type", default, deserialize_with = "borrowed_str")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub user_name: Option<Cow<'a, str>>,
}

/// `sessionContext.webIdFederationData`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawWebId<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub federated_provider: Option<Cow<'a, str>>,
}

/// `userIdentity.onBehalfOf` (IAM Identity Center users).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RawOnBehalfOf<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    pub user_id: Option<Cow<'a, str>>,
}

/// A string field, borrowed from the input unless JSON escapes force a copy. serde's `borrow`
/// does not reach through `Option`: a plain `Option<Cow<str>>` field copies every string it
/// reads (13 allocations a record on the bench corpus).
pub(crate) fn borrowed_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Text<'t>(#[serde(borrow)] Cow<'t, str>);
    Ok(Option::<Text<'de>>::deserialize(d)?.map(|t| t.0))
}

/// CloudTrail writes some booleans as strings (`"sessionCredentialFromConsole": "true"`).
/// A visitor rather than an untagged enum, which would buffer every value on the hot path.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean, \"true\"/\"false\", or null")
        }
        fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(Some(b))
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(s.eq_ignore_ascii_case("true")))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// One API call, validated: the fields every later stage relies on are present.
#[derive(Debug)]
pub struct ApiCall<'a> {
    /// CloudTrail `eventID`: the natural key for idempotent writes.
    pub event_id: Cow<'a, str>,
    /// `eventTime`.
    pub time: Timestamp,
    /// `eventSource`, e.g. `ec2.amazonaws.com`.
    pub source: Cow<'a, str>,
    /// `eventName`, e.g. `AuthorizeSecurityGroupIngress`.
    pub name: Cow<'a, str>,
    /// `awsRegion`.
    pub region: Cow<'a, str>,
    /// The account the call acted in (`recipientAccountId`, else the caller's account).
    pub account: Cow<'a, str>,
    /// `sourceIPAddress`.
    pub source_ip: Option<Cow<'a, str>>,
    /// `userAgent`.
    pub user_agent: Option<Cow<'a, str>>,
    /// `userIdentity`.
    pub identity: RawIdentity<'a>,
    /// `requestParameters`.
    pub request: Option<&'a RawValue>,
    /// `responseElements`.
    pub response: Option<&'a RawValue>,
    /// `resources[]`, raw.
    pub resources: Option<&'a RawValue>,
    /// `errorCode`: the call failed.
    pub error_code: Option<Cow<'a, str>>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// `eventType`, e.g. `AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`.
    pub event_type: Option<Cow<'a, str>>,
    /// `sessionCredentialFromConsole`.
    pub from_console: bool,
}

/// A record that lacks a field the pipeline needs, or has one it cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A required field is absent.
    #[error("record has no {0}")]
    Missing(&'static str),
    /// `eventTime` is not an RFC 3339 time.
    #[error("eventTime {0:?} is not an RFC 3339 time")]
    BadTime(String),
}

impl<'a> TryFrom<RawRecord<'a>> for ApiCall<'a> {
    type Error = RecordError;

    fn try_from(r: RawRecord<'a>) -> Result<Self, RecordError> {
        let source = r.event_source.ok_or(RecordError::Missing("eventSource"))?;
        let name = r.event_name.ok_or(RecordError::Missing("eventName"))?;
        let event_id = r.event_id.ok_or(RecordError::Missing("eventID"))?;
        let time_text = r.event_time.ok_or(RecordError::Missing("eventTime"))?;
        let time = Timestamp::parse(&time_text).ok_or_else(|| RecordError::BadTime(time_text.to_string()))?;
        let identity = r.user_identity.unwrap_or_default();
        let account = r
            .recipient_account_id
            .or_else(|| identity.account_id.clone())
            .ok_or(RecordError::Missing("recipientAccountId"))?;
        Ok(ApiCall {
            event_id,
            time,
            source,
            name,
            region: r.aws_region.unwrap_or(Cow::Borrowed("")),
            account,
            source_ip: r.source_ip_address,
            user_agent: r.user_agent,
            identity,
            request: r.request_parameters,
            response: r.response_elements,
            resources: r.resources,
            error_code: r.error_code,
            read_only: r.read_only,
            event_type: r.event_type,
            from_console: r.session_credential_from_console.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RawRecord;
    use std::borrow::Cow;

    #[test]
    fn strings_are_borrowed_from_the_input_unless_escaped() {
        let text = r#"{"eventID":"e-1","eventSource":"ec2.amazonaws.com","userAgent":"aws-cli/2 \"quoted\"",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s",
            "sessionContext":{"sessionIssuer":{"userName":"R"}}},"errorCode":null}"#;
        let r: RawRecord<'_> = serde_json::from_str(text).expect("a record");
        assert!(matches!(r.event_id, Some(Cow::Borrowed("e-1"))));
        assert!(matches!(r.event_source, Some(Cow::Borrowed("ec2.amazonaws.com"))));
        assert!(matches!(r.user_agent.as_ref(), Some(Cow::Owned(ua)) if ua == "aws-cli/2 \"quoted\""));
        let identity = r.user_identity.expect("userIdentity");
        assert!(matches!(identity.arn, Some(Cow::Borrowed(_))));
        let issuer = identity.session_context.and_then(|c| c.session_issuer).expect("issuer");
        assert!(matches!(issuer.user_name, Some(Cow::Borrowed("R"))));
        assert_eq!(r.error_code, None, "null is absent");
        assert_eq!(r.aws_region, None, "a missing field is absent");
    }

    #[test]
    fn a_string_field_holding_another_type_is_an_error() {
        let err = serde_json::from_str::<RawRecord<'_>>(r#"{"eventName":42}"#).expect_err("not a string");
        assert!(err.to_string().contains("string"), "{err}");
    }
}
