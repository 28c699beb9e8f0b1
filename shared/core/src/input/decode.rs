//! Every input shape a Lambda or a user meets, decoded into domain items.
//!
//! Shapes: an EventBridge event (CloudTrail detail-types, or a Config item change); a CloudTrail
//! log file as delivered to S3 (`{"Records":[...]}`, plain or gzip); an SQS batch whose bodies
//! are EventBridge events; a bare CloudTrail record; a JSON array of any of these.
//!
//! Decoding is a walk that hands each item to a callback, borrowing strings from the input
//! buffer. One bad record yields one error (with its position) and the walk goes on.

use crate::input::bytes::BytesError;
use crate::input::config_item::ConfigChange;
use crate::input::record::{ApiCall, RawRecord, RecordError};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub use crate::input::bytes::{gunzip, gunzip_within, plain, plain_within, MAX_DOCUMENT_BYTES};

/// The EventBridge detail-types that carry a CloudTrail record.
pub const CLOUDTRAIL_DETAIL_TYPES: [&str; 4] = [
    "AWS API Call via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Service Event via CloudTrail",
    "AWS Console Sign In via CloudTrail",
];

/// How deep documents may sit inside documents (a JSON array of documents, an SQS body holding a
/// batch): real inputs use two levels; past this the input is refused, so nesting never grows the
/// call stack without bound.
pub const MAX_NESTING: usize = 8;

/// The largest CloudTrail record read: 64 times EventBridge's 256 KB event limit. A larger record
/// is refused by itself, before it is parsed (its neighbours in a log file still decode), so one
/// record never costs more than this however large the document around it may be.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// `source` of the events DriftGuard publishes.
pub const OWN_SOURCE: &str = "driftguard";

/// The EventBridge detail-type of AWS Config item changes.
pub const CONFIG_DETAIL_TYPE: &str = "Config Configuration Item Change";

/// One decoded input item.
///
/// `Api` stays unboxed although it is the large variant: it is the hot path's item, and boxing
/// it would cost an allocation per event.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Item<'a> {
    /// A CloudTrail record, with the EventBridge detail-type it came under, if any.
    Api {
        /// The call.
        call: ApiCall<'a>,
        /// `detail-type` of the envelope, when it came through EventBridge.
        detail_type: Option<Cow<'a, str>>,
    },
    /// An AWS Config configuration item change.
    Config(Box<ConfigChange>),
    /// An event DriftGuard itself published (`source` `driftguard`), by its detail-type: it
    /// reached the ingest path through a broad rule and is skipped, not an error.
    Own(String),
    /// S3's notification that a Terraform state object was written or deleted (`source`
    /// `aws.s3`, `Object Created` / `Object Deleted`), by its detail-type: the iac-sync
    /// function's input, skipped on the change path, not an error.
    StateObject(String),
}

/// Where an item or an error sits in the input: file, record index, SQS message id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// The file (or other origin) the document came from.
    pub origin: String,
    /// Index in the `Records` array or top-level array, when there is one.
    pub index: Option<usize>,
    /// SQS `messageId`, when the item came in an SQS batch.
    pub message_id: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(i) = self.index {
            write!(f, " record {i}")?;
        }
        if let Some(m) = &self.message_id {
            write!(f, " (SQS message {m})")?;
        }
        Ok(())
    }
}

/// A document or record the decoder could not read.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct DecodeError {
    /// Where it happened.
    pub at: Position,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// What was wrong with the input.
#[derive(Debug, thiserror::Error)]
pub enum DecodeErrorKind {
    /// Gzip framing or data is corrupt.
    #[error("not a valid gzip stream: {0}")]
    Gzip(#[source] std::io::Error),
    /// The document is larger than the limit ([`MAX_DOCUMENT_BYTES`], or the caller's).
    #[error("document is larger than {limit} bytes, the most read into memory at once")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Documents inside documents (arrays of documents, SQS bodies) past [`MAX_NESTING`].
    #[error("documents nested more than {limit} levels deep (arrays of documents, SQS message bodies)")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A CloudTrail record larger than [`MAX_RECORD_BYTES`].
    #[error("CloudTrail record of {bytes} bytes is larger than {limit} bytes, the most read for one record")]
    RecordTooLarge {
        /// The record's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or truncated.
    #[error("malformed JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Valid JSON of a shape DriftGuard does not read.
    #[error("unknown input shape (expected an EventBridge event, a CloudTrail log file, an SQS batch or a CloudTrail record); top-level keys: {0}")]
    UnknownShape(String),
    /// An EventBridge event of a detail-type DriftGuard does not handle.
    #[error("unsupported EventBridge detail-type {detail_type:?} from source {source_name:?}")]
    UnknownDetailType {
        /// `detail-type`.
        detail_type: String,
        /// `source`.
        source_name: String,
    },
    /// A CloudTrail record that cannot be used.
    #[error("invalid CloudTrail record: {0}")]
    Record(#[from] RecordError),
    /// A Config item change that cannot be used.
    #[error("invalid Config item change: {0}")]
    Config(#[from] crate::input::config_item::ConfigError),
}

impl From<BytesError> for DecodeErrorKind {
    fn from(e: BytesError) -> Self {
        match e {
            BytesError::Gzip(e) => DecodeErrorKind::Gzip(e),
            BytesError::TooLarge { limit } => DecodeErrorKind::TooLarge { limit },
        }
    }
}

/// Decodes one document (a file's bytes, a Lambda payload) and hands every item or error to `sink`.
pub fn decode<F>(bytes: &[u8], origin: &str, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    decode_within(bytes, origin, MAX_DOCUMENT_BYTES, sink);
}

/// [`decode`], refusing a document over `limit` bytes (after gunzip) with
/// [`DecodeErrorKind::TooLarge`] before inflating or parsing past it.
pub fn decode_within<F>(bytes: &[u8], origin: &str, limit: usize, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    let at = Position {
        origin: origin.to_owned(),
        ..Position::default()
    };
    match plain_within(bytes, limit) {
        Ok(plain) => decode_json(&plain, at, 0, sink),
        Err(e) => fail(at, e, sink),
    }
}

/// The keys that tell the shapes apart; everything else is skipped unparsed. Values stay raw so
/// that an object of another shape (where `source` is an object, say) is an unknown shape, not
/// "malformed JSON".
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, rename = "Records")]
    records: Option<&'a RawValue>,
    #[serde(borrow, rename = "detail-type")]
    detail_type: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(borrow, rename = "eventVersion")]
    event_version: Option<&'a RawValue>,
    #[serde(borrow, rename = "eventName")]
    event_name: Option<&'a RawValue>,
}

/// A raw value that is a JSON string, as text.
fn raw_str(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw?.get()).ok()
}

#[derive(Deserialize)]
struct SqsMessage<'a> {
    #[serde(borrow, rename = "messageId")]
    message_id: Option<Cow<'a, str>>,
    body: Option<String>,
}

fn fail<F>(at: Position, kind: impl Into<DecodeErrorKind>, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    sink(&at.clone(), Err(DecodeError { at, kind: kind.into() }));
}

fn decode_json<F>(bytes: &[u8], at: Position, depth: usize, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    if depth > MAX_NESTING {
        return fail(at, DecodeErrorKind::TooDeep { limit: MAX_NESTING }, sink);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            let err = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err();
            let kind = match err {
                Some(e) => DecodeErrorKind::Json(e),
                None => DecodeErrorKind::UnknownShape("(input is not UTF-8)".into()),
            };
            return fail(at, kind, sink);
        }
    };
    if text.trim_start().starts_with('[') {
        return decode_array(text, at, depth, sink);
    }
    if decode_log_file(text, &at, sink) {
        return;
    }
    let top: Top<'_> = match serde_json::from_str(text) {
        Ok(top) => top,
        Err(e) => return fail(at, DecodeErrorKind::Json(e), sink),
    };
    if let Some(records) = top.records.filter(|r| r.get().starts_with('[')) {
        decode_records(records.get(), at, depth, sink);
    } else if let (Some(detail_type), Some(detail)) = (raw_str(top.detail_type), top.detail) {
        decode_envelope(detail_type, raw_str(top.source).unwrap_or_default(), detail, at, sink);
    } else if raw_str(top.event_version).is_some() || raw_str(top.event_name).is_some() {
        if let Some(kind) = oversized(text) {
            return fail(at, kind, sink);
        }
        match serde_json::from_str::<RawRecord<'_>>(text) {
            Ok(raw) => emit_record(raw, None, &at, sink),
            Err(e) => fail(at, DecodeErrorKind::Json(e), sink),
        }
    } else {
        fail(at, DecodeErrorKind::UnknownShape(top_keys(text)), sink);
    }
}

/// The common shape, a CloudTrail log file (`{"Records":[...]}` of well-formed records), read
/// in one pass straight into records; false (nothing emitted) for anything else, which the
/// general path then reads: it reads a document twice (its top-level keys, then the records).
fn decode_log_file<F>(text: &str, at: &Position, sink: &mut F) -> bool
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    #[derive(Deserialize)]
    struct LogFile<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<RawRecord<'a>>,
    }
    let opens_with_records = (|| {
        let rest = text.trim_start().strip_prefix('{')?.trim_start();
        let rest = rest.strip_prefix("\"Records\"")?.trim_start();
        Some(rest.strip_prefix(':')?.trim_start().starts_with('['))
    })();
    // Within the record limit, no record in it can be over it.
    if text.len() > MAX_RECORD_BYTES || opens_with_records != Some(true) {
        return false;
    }
    let Ok(file) = serde_json::from_str::<LogFile<'_>>(text) else {
        return false;
    };
    if file
        .records
        .first()
        .is_some_and(|r| r.event_source.as_deref() == Some("aws:sqs"))
    {
        return false;
    }
    let mut pos = at.clone();
    for (i, raw) in file.records.into_iter().enumerate() {
        pos.index = Some(i);
        emit_record(raw, None, &pos, sink);
    }
    true
}

/// [`DecodeErrorKind::RecordTooLarge`] for a record's text over [`MAX_RECORD_BYTES`].
fn oversized(record: &str) -> Option<DecodeErrorKind> {
    (record.len() > MAX_RECORD_BYTES).then_some(DecodeErrorKind::RecordTooLarge {
        bytes: record.len(),
        limit: MAX_RECORD_BYTES,
    })
}

fn top_keys(text: &str) -> String {
    match serde_json::from_str::<std::collections::BTreeMap<&str, serde::de::IgnoredAny>>(text) {
        Ok(map) if map.is_empty() => "(none)".into(),
        Ok(map) => map.keys().copied().collect::<Vec<_>>().join(", "),
        Err(_) => "(not an object)".into(),
    }
}

fn emit_record<'a, F>(raw: RawRecord<'a>, detail_type: Option<Cow<'a, str>>, at: &Position, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    match ApiCall::try_from(raw) {
        Ok(call) => sink(at, Ok(Item::Api { call, detail_type })),
        Err(e) => fail(at.clone(), e, sink),
    }
}

fn decode_envelope<'a, F>(
    detail_type: Cow<'a, str>,
    source: Cow<'a, str>,
    detail: &'a RawValue,
    at: Position,
    sink: &mut F,
) where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    if CLOUDTRAIL_DETAIL_TYPES.contains(&detail_type.as_ref()) {
        if let Some(kind) = oversized(detail.get()) {
            return fail(at, kind, sink);
        }
        match serde_json::from_str::<RawRecord<'_>>(detail.get()) {
            Ok(raw) => emit_record(raw, Some(detail_type), &at, sink),
            Err(e) => fail(at, DecodeErrorKind::Json(e), sink),
        }
    } else if source == OWN_SOURCE {
        sink(&at, Ok(Item::Own(detail_type.into_owned())));
    } else if source == "aws.s3" && matches!(detail_type.as_ref(), "Object Created" | "Object Deleted") {
        sink(&at, Ok(Item::StateObject(detail_type.into_owned())));
    } else if detail_type == CONFIG_DETAIL_TYPE {
        match ConfigChange::from_detail(detail.get()) {
            Ok(change) => sink(&at, Ok(Item::Config(Box::new(change)))),
            Err(e) => fail(at, e, sink),
        }
    } else {
        let kind = DecodeErrorKind::UnknownDetailType {
            detail_type: detail_type.into_owned(),
            source_name: source.into_owned(),
        };
        fail(at, kind, sink);
    }
}

/// A `Records` array: CloudTrail records, or SQS messages whose bodies are documents.
fn decode_records<F>(records: &str, at: Position, depth: usize, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    // Fast path: the whole array is well-formed CloudTrail records, none of them over the record
    // limit (an array within it holds none).
    let fast = records.len() <= MAX_RECORD_BYTES;
    if let Some(all) = fast
        .then(|| serde_json::from_str::<Vec<RawRecord<'_>>>(records).ok())
        .flatten()
    {
        if all.first().is_none_or(|r| r.event_source.as_deref() != Some("aws:sqs")) {
            let mut pos = at;
            for (i, raw) in all.into_iter().enumerate() {
                pos.index = Some(i);
                emit_record(raw, None, &pos, sink);
            }
            return;
        }
    }
    // Slow path: element by element, so one bad record costs only itself.
    let elements: Vec<&RawValue> = match serde_json::from_str(records) {
        Ok(v) => v,
        Err(e) => return fail(at, DecodeErrorKind::Json(e), sink),
    };
    for (i, element) in elements.into_iter().enumerate() {
        let pos = Position {
            index: Some(i),
            ..at.clone()
        };
        decode_element(element.get(), pos, depth, sink);
    }
}

fn decode_element<F>(text: &str, pos: Position, depth: usize, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, rename = "eventSource")]
        event_source: Option<Cow<'a, str>>,
    }
    let probe: Probe<'_> = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return fail(pos, DecodeErrorKind::Json(e), sink),
    };
    if probe.event_source.as_deref() == Some("aws:sqs") {
        match serde_json::from_str::<SqsMessage<'_>>(text) {
            Ok(SqsMessage {
                message_id,
                body: Some(body),
            }) => {
                let pos = Position {
                    message_id: message_id.map(Cow::into_owned),
                    index: pos.index,
                    origin: pos.origin,
                };
                decode_json(body.as_bytes(), pos, depth + 1, sink);
            }
            Ok(_) => fail(pos, RecordError::Missing("body"), sink),
            Err(e) => fail(pos, DecodeErrorKind::Json(e), sink),
        }
    } else if let Some(kind) = oversized(text) {
        fail(pos, kind, sink);
    } else {
        match serde_json::from_str::<RawRecord<'_>>(text) {
            Ok(raw) => emit_record(raw, None, &pos, sink),
            Err(e) => fail(pos, DecodeErrorKind::Json(e), sink),
        }
    }
}

/// A top-level JSON array: each element is a document of its own.
fn decode_array<F>(text: &str, at: Position, depth: usize, sink: &mut F)
where
    F: for<'x> FnMut(&Position, Result<Item<'x>, DecodeError>),
{
    let elements: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return fail(at, DecodeErrorKind::Json(e), sink),
    };
    for (i, element) in elements.into_iter().enumerate() {
        let pos = Position {
            index: Some(i),
            ..at.clone()
        };
        decode_json(element.get().as_bytes(), pos, depth + 1, sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(input: &str) -> Vec<String> {
        let mut errors = Vec::new();
        decode(
            input.as_bytes(),
            "t.json",
            &mut |_: &Position, r: Result<Item<'_>, DecodeError>| {
                if let Err(e) = r {
                    errors.push(e.to_string());
                }
            },
        );
        errors
    }

    #[test]
    fn valid_json_of_another_shape_is_an_unknown_shape_not_malformed() {
        let errors = errors_of(r#"{"source": {"id": "1"}, "type": "event"}"#);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("unknown input shape") && errors[0].contains("top-level keys: source, type"),
            "{}",
            errors[0]
        );
        let records_not_a_list = errors_of(r#"{"Records": "none"}"#);
        assert!(
            records_not_a_list[0].contains("unknown input shape"),
            "{}",
            records_not_a_list[0]
        );
    }
}
