//! Terraform states read from S3 (`s3://bucket/prefix/**.tfstate`), cached between invocations
//! and fetched again only when an object's ETag changes.
//!
//! A state is read as soon as it is fetched and only its compact [`StatePart`] is kept, never
//! its bytes: memory follows what the states declare, one object's bytes at a time.
//!
//! One bad state file never blinds the rest: an object that cannot be fetched keeps its cached
//! version, a version that does not parse is replaced by the last version that did (when there
//! is one), and both are reported by name ([`Refresh::unreadable`], [`LoadedStates::failed`]).

use crate::error::{classify, AwsError};
use aws_sdk_s3::Client;
use driftguard_core::inventory::{Inventory, LoadedStates, StateError, StateFailure, StatePart};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A bucket and key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket/prefix` (a trailing `**.tfstate` or `*` glob is accepted and ignored:
    /// every `.tfstate` under the prefix is read).
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches("**.tfstate").trim_end_matches('*');
        (!bucket.is_empty()).then(|| S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// Parses a comma-separated list of locations (blank entries skipped); the error names the
    /// first entry that is not an `s3://bucket/prefix` URL.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|url| Self::parse(url).ok_or_else(|| format!("{url:?} is not an s3://bucket/prefix URL")))
            .collect()
    }
}

#[derive(Debug)]
struct Cached {
    etag: String,
    /// The version fetched, read.
    current: Result<Arc<StatePart>, Arc<StateError>>,
    /// The last version that read, while the current one does not.
    last_good: Option<Arc<StatePart>>,
}

/// What a [`S3States::refresh`] found.
#[derive(Debug, Default)]
pub struct Refresh {
    /// A state was added, changed or removed since the last refresh.
    pub changed: bool,
    /// State objects that were listed but could not be fetched (each error names the object);
    /// their cached version, if any, stays.
    pub unreadable: Vec<AwsError>,
}

/// State files under some S3 locations, with an ETag cache.
#[derive(Debug)]
pub struct S3States {
    client: Client,
    locations: Vec<S3Location>,
    cache: BTreeMap<String, Cached>,
    limit: usize,
    /// The revision on record per state (iac-sync's): ETag and version id.
    pins: BTreeMap<String, Pin>,
}

/// The revision of a state the table has on record: what to read when S3 holds another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Its ETag (without quotes).
    pub etag: String,
    /// Its version id, in a versioned bucket.
    pub version_id: Option<String>,
}

impl S3States {
    /// Reads states under `locations`.
    pub fn new(client: Client, locations: Vec<S3Location>) -> Self {
        S3States {
            client,
            locations,
            cache: BTreeMap::new(),
            limit: driftguard_core::decode::MAX_DOCUMENT_BYTES,
            pins: BTreeMap::new(),
        }
    }

    /// Refuses state objects over `limit` bytes (reported as unreadable, by name).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Pins states to the revisions on record: when S3 holds another object under a pinned key
    /// (an older serial the record refused), the pinned version is read (in a versioned
    /// bucket), or the cached one kept, instead of what S3 holds.
    pub fn set_pins(&mut self, pins: BTreeMap<String, Pin>) {
        self.pins = pins;
    }

    /// Lists the locations and fetches new or changed state files. Fails only when a location
    /// cannot be listed; an object that cannot be fetched is reported in
    /// [`Refresh::unreadable`] and keeps its cached version.
    pub async fn refresh(&mut self) -> Result<Refresh, AwsError> {
        let seen: BTreeMap<String, (String, String, String)> = list_states(&self.client, &self.locations)
            .await?
            .into_iter()
            .map(|o| (o.url, (o.bucket, o.key, o.etag)))
            .collect();
        let mut out = Refresh {
            changed: self.cache.keys().any(|k| !seen.contains_key(k)),
            unreadable: Vec::new(),
        };
        self.cache.retain(|k, _| seen.contains_key(k));
        for (url, (bucket, key, etag)) in seen {
            if self.cache.get(&url).is_some_and(|c| c.etag == etag && !etag.is_empty()) {
                continue;
            }
            let mut version = None;
            if let Some(pin) = self.pins.get(&url).filter(|p| p.etag != etag.trim_matches('"')) {
                let cached_pinned = self
                    .cache
                    .get(&url)
                    .is_some_and(|c| c.etag.trim_matches('"') == pin.etag);
                if cached_pinned || pin.version_id.is_none() && self.cache.contains_key(&url) {
                    tracing::warn!(state = %url, listed = %etag, recorded = %pin.etag,
                        "S3 holds a state the inventory did not accept; keeping the revision on record");
                    continue;
                }
                version = pin.version_id.clone();
            }
            let read = get_object_version_within(&self.client, &bucket, &key, version.as_deref(), self.limit).await;
            let (bytes, fetched_etag) = match read {
                Ok(got) => got,
                Err(e @ AwsError::TooLarge { .. }) => {
                    out.unreadable.push(e);
                    continue;
                }
                Err(e) => {
                    out.unreadable.push(e.about(&url));
                    continue;
                }
            };
            let etag = fetched_etag.unwrap_or(etag);
            let current = StatePart::parse(&url, &bytes).map(Arc::new).map_err(Arc::new);
            drop(bytes);
            match &current {
                Ok(part) => {
                    tracing::info!(state = %url, etag = %etag, resources = part.len(), "Loaded Terraform state")
                }
                Err(e) => {
                    tracing::warn!(state = %url, etag = %etag, error = %e, "Fetched a Terraform state that does not read")
                }
            }
            let last_good = match (&current, self.cache.remove(&url)) {
                (Ok(_), _) | (_, None) => None,
                (Err(_), Some(old)) => old.current.ok().or(old.last_good),
            };
            self.cache.insert(
                url,
                Cached {
                    etag,
                    current,
                    last_good,
                },
            );
            out.changed = true;
        }
        Ok(out)
    }

    /// The inventory of every cached state (origin `s3://bucket/key`); a state whose current
    /// version does not load is named in [`LoadedStates::failed`] and its last good version
    /// stands in for it.
    pub fn inventory(&self) -> LoadedStates {
        let mut out = LoadedStates {
            inventory: Inventory::new(),
            current_ok: Vec::new(),
            failed: Vec::new(),
        };
        for (url, c) in &self.cache {
            match &c.current {
                Ok(part) => {
                    out.inventory.push(Arc::clone(part));
                    out.current_ok.push(url.clone());
                }
                Err(error) => {
                    if let Some(part) = &c.last_good {
                        out.inventory.push(Arc::clone(part));
                    }
                    out.failed.push(StateFailure {
                        error: Arc::clone(error),
                        kept_last_good: c.last_good.is_some(),
                    });
                }
            }
        }
        out
    }

    /// How many state files are cached.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True when no state file is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// One `.tfstate` object, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedState {
    /// `s3://bucket/key`.
    pub url: String,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// ETag, as listed.
    pub etag: String,
    /// Last modified, in milliseconds since the epoch.
    pub modified_ms: Option<i64>,
}

/// Every `.tfstate` object under `locations` (ListObjectsV2, paged). Fails when a location
/// cannot be listed.
pub async fn list_states(client: &Client, locations: &[S3Location]) -> Result<Vec<ListedState>, AwsError> {
    let mut out = Vec::new();
    for loc in locations {
        let mut pages = client
            .list_objects_v2()
            .bucket(&loc.bucket)
            .prefix(&loc.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("S3", "ListObjectsV2", e))?;
            for obj in page.contents() {
                let Some(key) = obj.key().filter(|k| k.ends_with(".tfstate")) else {
                    continue;
                };
                out.push(ListedState {
                    url: format!("s3://{}/{key}", loc.bucket),
                    bucket: loc.bucket.clone(),
                    key: key.to_owned(),
                    etag: obj.e_tag().unwrap_or_default().to_owned(),
                    modified_ms: obj.last_modified().and_then(|t| t.to_millis().ok()),
                });
            }
        }
    }
    Ok(out)
}

/// Whether `key` exists now (`HeadObject`): a deletion event may arrive after the key was
/// written again, and must not forget what is there.
pub async fn object_exists(client: &Client, bucket: &str, key: &str) -> Result<bool, AwsError> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => Ok(false),
        Err(e) => Err(classify("S3", "HeadObject", e)),
    }
}

/// Reads one object whole: its bytes and ETag. Used for state files and for the full
/// notifications AWS Config delivers to S3 when an item is too large for its event.
pub async fn get_object(client: &Client, bucket: &str, key: &str) -> Result<(Vec<u8>, Option<String>), AwsError> {
    get_object_within(client, bucket, key, driftguard_core::decode::MAX_DOCUMENT_BYTES).await
}

/// [`get_object`], refusing an object over `limit` bytes: by its announced length before any
/// byte is read, else as soon as the body grows past the limit ([`AwsError::TooLarge`]).
pub async fn get_object_within(
    client: &Client,
    bucket: &str,
    key: &str,
    limit: usize,
) -> Result<(Vec<u8>, Option<String>), AwsError> {
    get_object_version_within(client, bucket, key, None, limit).await
}

/// [`get_object_within`], of one version of the object when `version_id` is given (in a
/// versioned bucket).
pub async fn get_object_version_within(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    limit: usize,
) -> Result<(Vec<u8>, Option<String>), AwsError> {
    let what = || format!("s3://{bucket}/{key}");
    let mut out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
        .map_err(|e| classify("S3", "GetObject", e))?;
    let announced = out.content_length().and_then(|n| u64::try_from(n).ok());
    if let Some(size) = announced.filter(|&n| n > limit as u64) {
        return Err(AwsError::TooLarge {
            what: what(),
            size,
            limit,
        });
    }
    let etag = out.e_tag().map(str::to_owned);
    let mut bytes = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    loop {
        let chunk = out.body.try_next().await.map_err(|e| AwsError::Call {
            service: "S3",
            operation: "GetObject",
            code: "body".into(),
            message: format!("{}: {e}", what()),
            retry: crate::Retry::Retryable,
        })?;
        let Some(chunk) = chunk else { break };
        if bytes.len() + chunk.len() > limit {
            return Err(AwsError::TooLarge {
                what: what(),
                size: (bytes.len() + chunk.len()) as u64,
                limit,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, etag))
}

#[cfg(test)]
mod tests {
    use super::S3Location;

    #[test]
    fn parses_state_locations() {
        let l = S3Location::parse("s3://acme-tfstate/env/prod/**.tfstate").expect("valid");
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("acme-tfstate", "env/prod/"));
        assert_eq!(S3Location::parse("s3://b").map(|l| l.prefix), Some(String::new()));
        assert_eq!(S3Location::parse("https://b/x"), None);
        assert_eq!(S3Location::parse("s3:///x"), None);
        let list = S3Location::parse_list(" s3://a/x/, ,s3://b ").expect("two locations");
        assert_eq!(list.len(), 2);
        let err = S3Location::parse_list("s3://a/x/, https://b").expect_err("not s3");
        assert!(err.contains("\"https://b\""), "{err}");
    }
}
