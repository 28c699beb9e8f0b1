//! [`EventHistory`]: CloudTrail's 90-day management-event history (`LookupEvents`), read page by
//! page at the API's pace. It feeds the backfill (the write calls of a time window, through the
//! same pipeline as the live events) and, later, the sweep's "who did it" (the calls naming one
//! resource).
//!
//! `LookupEvents` allows two requests per second per account and region: calls are spaced by
//! [`EventHistory::with_interval`] (500 ms by default), and throttling the SDK sees is retried by
//! its standard backoff. Each event's `CloudTrailEvent` is the record itself, as JSON text; a page
//! is handed over as those texts, and one unreadable event does not hide the others.

use crate::error::{classify, AwsError, Retry};
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use driftguard_core::time::Timestamp;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// `LookupEvents`' own ceiling on events per page.
pub const MAX_PAGE: i32 = 50;

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFilter {
    /// Write calls only (`ReadOnly` = `false`): the backfill.
    Writes,
    /// Every call naming one resource (`ResourceName`): who changed it.
    Resource(String),
    /// One event (`EventId`): `explain --event-id`.
    EventId(String),
}

/// One page of history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The page's number, from 1.
    pub number: usize,
    /// The records (`CloudTrailEvent`, JSON text), newest first as the API returns them.
    pub records: Vec<String>,
    /// Events whose record the API left out, by `EventId`.
    pub without_record: Vec<String>,
}

/// What a lookup read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupSummary {
    /// Pages read.
    pub pages: usize,
    /// Events read.
    pub events: usize,
    /// Whether the caller stopped before the last page.
    pub stopped_early: bool,
}

/// CloudTrail's event history in one account and region.
#[derive(Debug, Clone)]
pub struct EventHistory {
    client: aws_sdk_cloudtrail::Client,
    interval: Duration,
}

impl EventHistory {
    /// A reader with the SDK configuration's credentials, region and endpoint.
    pub fn new(sdk: &aws_config::SdkConfig) -> EventHistory {
        EventHistory {
            client: aws_sdk_cloudtrail::Client::new(sdk),
            interval: Duration::from_millis(500),
        }
    }

    /// Spaces calls by at least `interval` (the API allows two per second).
    pub fn with_interval(mut self, interval: Duration) -> EventHistory {
        self.interval = interval;
        self
    }

    /// Reads the events from `start` to `end` that `filter` selects, a page at a time, handing
    /// each page to `each`, which may stop the walk (`ControlFlow::Break`).
    pub async fn lookup(
        &self,
        filter: &LookupFilter,
        start: Timestamp,
        end: Timestamp,
        mut each: impl FnMut(HistoryPage) -> ControlFlow<()>,
    ) -> Result<LookupSummary, AwsError> {
        let (key, value) = match filter {
            LookupFilter::Writes => (LookupAttributeKey::ReadOnly, "false"),
            LookupFilter::Resource(name) => (LookupAttributeKey::ResourceName, name.as_str()),
            LookupFilter::EventId(id) => (LookupAttributeKey::EventId, id.as_str()),
        };
        let attribute = LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .map_err(|e| AwsError::Call {
                service: "CloudTrail",
                operation: "LookupEvents",
                code: "invalid".into(),
                message: e.to_string(),
                retry: Retry::NotRetryable,
            })?;
        let mut summary = LookupSummary::default();
        let mut token: Option<String> = None;
        let mut last_call: Option<Instant> = None;
        loop {
            let wait = wait_before(last_call, Instant::now(), self.interval);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            last_call = Some(Instant::now());
            let out = self
                .client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(DateTime::from_millis(start.0))
                .end_time(DateTime::from_millis(end.0))
                .max_results(MAX_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("CloudTrail", "LookupEvents", e))?;
            summary.pages += 1;
            summary.events += out.events().len();
            let mut page = HistoryPage {
                number: summary.pages,
                ..HistoryPage::default()
            };
            for event in out.events() {
                match event.cloud_trail_event() {
                    Some(record) => page.records.push(record.to_owned()),
                    None => page
                        .without_record
                        .push(event.event_id().unwrap_or("(no EventId)").to_owned()),
                }
            }
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if each(page).is_break() {
                summary.stopped_early = token.is_some();
                return Ok(summary);
            }
            if token.is_none() {
                return Ok(summary);
            }
        }
    }
}

/// How long to wait before a call so that calls are at least `interval` apart, given when the
/// last one started.
fn wait_before(last: Option<Instant>, now: Instant, interval: Duration) -> Duration {
    last.map_or(Duration::ZERO, |at| {
        interval.saturating_sub(now.saturating_duration_since(at))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_spaced_by_the_interval() {
        let t0 = Instant::now();
        let interval = Duration::from_millis(500);
        assert_eq!(
            wait_before(None, t0, interval),
            Duration::ZERO,
            "the first call goes at once"
        );
        assert_eq!(wait_before(Some(t0), t0, interval), interval);
        assert_eq!(
            wait_before(Some(t0), t0 + Duration::from_millis(200), interval),
            Duration::from_millis(300)
        );
        assert_eq!(
            wait_before(Some(t0), t0 + Duration::from_secs(2), interval),
            Duration::ZERO
        );
    }
}
