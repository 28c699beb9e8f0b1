//! Terraform states read from S3 (`s3://bucket/prefix/**.tfstate`), cached between invocations
//! and fetched again only when an object's ETag changes.

use crate::error::{classify, AwsError};
use aws_sdk_s3::Client;
use driftguard_core::inventory::{Inventory, StateError};
use std::collections::BTreeMap;

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
}

#[derive(Debug)]
struct Cached {
    etag: String,
    bytes: Vec<u8>,
}

/// State files under some S3 locations, with an ETag cache.
#[derive(Debug)]
pub struct S3States {
    client: Client,
    locations: Vec<S3Location>,
    cache: BTreeMap<String, Cached>,
}

impl S3States {
    /// Reads states under `locations`.
    pub fn new(client: Client, locations: Vec<S3Location>) -> Self {
        S3States {
            client,
            locations,
            cache: BTreeMap::new(),
        }
    }

    /// Lists the locations and fetches new or changed state files. Returns whether anything
    /// changed since the last refresh.
    pub async fn refresh(&mut self) -> Result<bool, AwsError> {
        let mut seen = BTreeMap::new();
        for loc in &self.locations {
            let mut pages = self
                .client
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
                    seen.insert(
                        format!("s3://{}/{key}", loc.bucket),
                        (
                            loc.bucket.clone(),
                            key.to_owned(),
                            obj.e_tag().unwrap_or_default().to_owned(),
                        ),
                    );
                }
            }
        }
        let mut changed = self.cache.keys().any(|k| !seen.contains_key(k));
        self.cache.retain(|k, _| seen.contains_key(k));
        for (url, (bucket, key, etag)) in seen {
            if self.cache.get(&url).is_some_and(|c| c.etag == etag && !etag.is_empty()) {
                continue;
            }
            let (bytes, fetched_etag) = get_object(&self.client, &bucket, &key).await?;
            let etag = fetched_etag.unwrap_or(etag);
            tracing::info!(state = %url, etag = %etag, "Loaded Terraform state");
            self.cache.insert(url, Cached { etag, bytes });
            changed = true;
        }
        Ok(changed)
    }

    /// The inventory of every cached state (origin `s3://bucket/key`).
    pub fn inventory(&self) -> Result<Inventory, StateError> {
        let mut inv = Inventory::new();
        for (url, cached) in &self.cache {
            inv.add_state(url, &cached.bytes)?;
        }
        Ok(inv)
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

/// Reads one object whole: its bytes and ETag. Used for state files and for the full
/// notifications AWS Config delivers to S3 when an item is too large for its event.
pub async fn get_object(client: &Client, bucket: &str, key: &str) -> Result<(Vec<u8>, Option<String>), AwsError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify("S3", "GetObject", e))?;
    let etag = out.e_tag().map(str::to_owned);
    let bytes = out.body.collect().await.map_err(|e| AwsError::Call {
        service: "S3",
        operation: "GetObject",
        code: "body".into(),
        message: e.to_string(),
        retry: crate::Retry::Retryable,
    })?;
    Ok((bytes.into_bytes().to_vec(), etag))
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
    }
}
