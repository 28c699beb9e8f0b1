//! Keeping the declared state fresh: what a newly written state file is (its [`Revision`]:
//! lineage, serial, one digest per resource instance), whether it may replace the revision on
//! record ([`judge`]: an older serial never overwrites a newer one), and what it added, changed
//! and removed ([`delta`]).
//!
//! The rules follow Terraform's own: within one lineage the serial only grows, so a write with a
//! lower serial is an old state arriving late (an out-of-order notification, a restored
//! backup) and is refused; the same serial with different content is a conflict and is refused
//! too. A new lineage is a state started over (or migrated) under the same key: S3 holds it and
//! the next plan reads it, so it is accepted, and said so.

use crate::iac::inventory::{Declared, Inventory};
use crate::util::fnv::Fnv;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::Hasher;

/// One resource instance as the record keeps it: enough to find it and to know it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDigest {
    /// Terraform type.
    pub tf_type: String,
    /// The `id` attribute, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `arn` attribute, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// FNV-1a of the declared attributes (sensitive values already redacted), as 16 hex digits.
    pub digest: String,
}

impl ResourceDigest {
    /// The digest of one declaration.
    pub fn of(d: &Declared) -> Self {
        // `serde_json::Map` keeps keys sorted, so the text is canonical.
        let text = serde_json::Value::Object(d.attributes.clone()).to_string();
        let mut h = Fnv::default();
        h.write(text.as_bytes());
        ResourceDigest {
            tf_type: d.tf_type.clone(),
            id: d.str_attr("id").map(str::to_owned),
            arn: d.str_attr("arn").map(str::to_owned),
            digest: format!("{:016x}", h.finish()),
        }
    }
}

/// A state file as written: where, which lineage and serial, and what it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// `s3://bucket/key`.
    pub origin: String,
    /// `lineage`.
    pub lineage: Option<String>,
    /// `serial`.
    pub serial: Option<u64>,
    /// `terraform_version`.
    pub terraform_version: Option<String>,
    /// The S3 ETag of the object read.
    pub etag: String,
    /// The S3 version id, in a versioned bucket.
    pub version_id: Option<String>,
    /// Every managed resource instance, by address.
    pub resources: BTreeMap<String, ResourceDigest>,
}

impl Revision {
    /// The revision of the state `origin` in `inventory` (loaded from one object), or `None`
    /// when the inventory holds no state of that origin.
    pub fn of(inventory: &Inventory, origin: &str, etag: &str, version_id: Option<&str>) -> Option<Self> {
        let index = inventory.states().iter().position(|s| s.origin == origin)?;
        let info = &inventory.states()[index];
        let resources = inventory
            .resources_in(index)
            .map(|d| (d.address.clone(), ResourceDigest::of(&d)))
            .collect();
        Some(Revision {
            origin: origin.to_owned(),
            lineage: info.lineage.clone(),
            serial: info.serial,
            terraform_version: info.terraform_version.clone(),
            etag: etag.to_owned(),
            version_id: version_id.map(str::to_owned),
            resources,
        })
    }

    /// What the record keeps of this revision.
    pub fn recorded(&self) -> Recorded {
        Recorded {
            lineage: self.lineage.clone(),
            serial: self.serial,
            etag: self.etag.clone(),
            version_id: self.version_id.clone(),
            resources: self.resources.len(),
        }
    }
}

/// The revision on record for one state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// `lineage`.
    pub lineage: Option<String>,
    /// `serial`.
    pub serial: Option<u64>,
    /// The ETag of the object it was read from.
    pub etag: String,
    /// Its S3 version id, in a versioned bucket: readers fetch exactly this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// How many resource instances it declares.
    pub resources: usize,
}

/// Whether a newly written revision replaces the one on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing on record yet.
    First,
    /// Same lineage, higher serial.
    Newer {
        /// The serial on record.
        was: u64,
    },
    /// A different lineage: the state was started over or migrated under this key.
    NewLineage {
        /// The lineage on record.
        was: Option<String>,
    },
    /// The revision on record, again (a repeated notification, a retry): nothing changes.
    Same,
    /// Same lineage, lower serial: an old state arriving late. Refused.
    Older {
        /// The serial on record.
        recorded: u64,
        /// The serial written.
        written: u64,
    },
    /// Same lineage and serial, different content. Refused.
    Conflict {
        /// The serial both carry.
        serial: u64,
    },
    /// No serial to order by, and different content: accepted, since S3 holds it.
    Unordered,
}

impl Verdict {
    /// Whether the revision replaces the record.
    pub fn accepts(&self) -> bool {
        matches!(
            self,
            Verdict::First | Verdict::Newer { .. } | Verdict::NewLineage { .. } | Verdict::Unordered
        )
    }

    /// A short name, for logs and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::First => "first",
            Verdict::Newer { .. } => "newer",
            Verdict::NewLineage { .. } => "new_lineage",
            Verdict::Same => "same",
            Verdict::Older { .. } => "older",
            Verdict::Conflict { .. } => "conflict",
            Verdict::Unordered => "unordered",
        }
    }
}

/// Judges a written revision against the record.
pub fn judge(recorded: Option<&Recorded>, written: &Revision) -> Verdict {
    let Some(rec) = recorded else {
        return Verdict::First;
    };
    if rec.etag == written.etag && rec.lineage == written.lineage && rec.serial == written.serial {
        return Verdict::Same;
    }
    if rec.lineage != written.lineage {
        return Verdict::NewLineage {
            was: rec.lineage.clone(),
        };
    }
    match (rec.serial, written.serial) {
        (Some(was), Some(now)) if now > was => Verdict::Newer { was },
        (Some(recorded), Some(written)) if written < recorded => Verdict::Older { recorded, written },
        (Some(serial), Some(_)) => Verdict::Conflict { serial },
        _ => Verdict::Unordered,
    }
}

/// What a revision added, changed and removed, by address, against the digests on record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// Declared now, not before.
    pub added: Vec<String>,
    /// Declared before and now, with different attributes.
    pub changed: Vec<String>,
    /// Declared before, not now.
    pub removed: Vec<String>,
}

impl Delta {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Compares the digests on record (address → digest) with a revision.
pub fn delta(before: &BTreeMap<String, String>, after: &Revision) -> Delta {
    let mut out = Delta::default();
    for (address, now) in &after.resources {
        match before.get(address) {
            None => out.added.push(address.clone()),
            Some(was) if *was != now.digest => out.changed.push(address.clone()),
            Some(_) => {}
        }
    }
    out.removed = before
        .keys()
        .filter(|a| !after.resources.contains_key(*a))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(lineage: &str, serial: u64, bucket_acl: &str) -> Vec<u8> {
        json!({
            "version": 4, "terraform_version": "1.9.8", "serial": serial, "lineage": lineage,
            "resources": [
                {"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "instances": [
                    {"attributes": {"id": "acme-logs", "arn": "arn:aws:s3:::acme-logs", "acl": bucket_acl}}]},
                {"mode": "managed", "type": "aws_sqs_queue", "name": "jobs", "instances": [
                    {"index_key": 0, "attributes": {"id": "https://sqs/jobs-0", "name": "jobs-0"}},
                    {"index_key": 1, "attributes": {"id": "https://sqs/jobs-1", "name": "jobs-1"}}]},
                {"mode": "data", "type": "aws_caller_identity", "name": "me", "instances": [{"attributes": {}}]}
            ]
        })
        .to_string()
        .into_bytes()
    }

    fn revision(bytes: &[u8], etag: &str) -> Revision {
        let mut inv = Inventory::new();
        inv.add_state("s3://tf/prod.tfstate", bytes).expect("loads");
        Revision::of(&inv, "s3://tf/prod.tfstate", etag, None).expect("the state is there")
    }

    #[test]
    fn a_revision_names_each_managed_instance_with_a_digest_of_its_attributes() {
        let r = revision(&state("L1", 7, "private"), "e1");
        assert_eq!((r.lineage.as_deref(), r.serial), (Some("L1"), Some(7)));
        let addresses: Vec<&str> = r.resources.keys().map(String::as_str).collect();
        assert_eq!(
            addresses,
            ["aws_s3_bucket.logs", "aws_sqs_queue.jobs[0]", "aws_sqs_queue.jobs[1]"]
        );
        let bucket = &r.resources["aws_s3_bucket.logs"];
        assert_eq!(bucket.arn.as_deref(), Some("arn:aws:s3:::acme-logs"));
        let again = revision(&state("L1", 8, "private"), "e2");
        assert_eq!(
            again.resources["aws_s3_bucket.logs"].digest, bucket.digest,
            "same attributes, same digest"
        );
        let changed = revision(&state("L1", 8, "public-read"), "e2");
        assert_ne!(changed.resources["aws_s3_bucket.logs"].digest, bucket.digest);
    }

    #[test]
    fn an_older_serial_or_a_conflicting_one_is_refused_and_a_repeat_changes_nothing() {
        let on_record = revision(&state("L1", 7, "private"), "e7").recorded();
        let judged = |lineage: &str, serial: u64, etag: &str| {
            judge(Some(&on_record), &revision(&state(lineage, serial, "private"), etag))
        };
        assert_eq!(judge(None, &revision(&state("L1", 7, "private"), "e7")), Verdict::First);
        assert_eq!(judged("L1", 8, "e8"), Verdict::Newer { was: 7 });
        assert_eq!(
            judged("L1", 6, "e6"),
            Verdict::Older {
                recorded: 7,
                written: 6
            }
        );
        assert_eq!(judged("L1", 7, "other"), Verdict::Conflict { serial: 7 });
        assert_eq!(judged("L1", 7, "e7"), Verdict::Same);
        assert_eq!(judged("L2", 1, "e1"), Verdict::NewLineage { was: Some("L1".into()) });
        let accepted: Vec<bool> = [
            judged("L1", 8, "e8"),
            judged("L1", 6, "e6"),
            judged("L1", 7, "x"),
            judged("L1", 7, "e7"),
            judged("L2", 1, "e"),
        ]
        .iter()
        .map(Verdict::accepts)
        .collect();
        assert_eq!(accepted, [true, false, false, false, true]);
    }

    #[test]
    fn the_delta_lists_what_was_added_changed_and_removed() {
        let before: BTreeMap<String, String> = revision(&state("L1", 7, "private"), "e7")
            .resources
            .into_iter()
            .map(|(a, d)| (a, d.digest))
            .filter(|(a, _)| a != "aws_sqs_queue.jobs[1]")
            .chain([("aws_sns_topic.gone".to_owned(), "0".repeat(16))])
            .collect();
        let after = revision(&state("L1", 8, "public-read"), "e8");
        let d = delta(&before, &after);
        assert_eq!(d.added, ["aws_sqs_queue.jobs[1]"]);
        assert_eq!(d.changed, ["aws_s3_bucket.logs"]);
        assert_eq!(d.removed, ["aws_sns_topic.gone"]);
        let unchanged: BTreeMap<String, String> = after
            .resources
            .iter()
            .map(|(a, r)| (a.clone(), r.digest.clone()))
            .collect();
        assert!(delta(&unchanged, &after).is_empty());
    }
}
